//! Identification: from the differential dF (linear in dX) to the derivative's coefficient.
//!
//! - scalar f: reverse accumulation of adjoints over dF gives G with df = ⟨G, dX⟩, the gradient
//!   shaped like X (denominator layout); numerator layout is Gᵀ.
//! - scalar X: dF = D dX, so D is dF at dX = 1.
//! - vector f, vector x: forward identification writes dF = J dx term by term.
//! - any other array f or X: forward identification in vec form, vec(dF) = J vec(dX), with
//!   vec(A dX B) = (Bᵀ ⊗ A) vec(dX) and vec(dXᵀ) = K vec(dX) (Magnus & Neudecker, ch. 2).

use crate::build::{self, add, call, had, mul, neg, sub, t};
use crate::error::{Error, Result};
use crate::expr::{Expr, Func, Op};
use crate::shape::Shape;
use rustc_hash::FxHashMap;

/// The layout of the derivative.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Layout {
    /// f's shape first, the variable's transposed: d(x'Ax)/dx = x'(A + A').
    #[default]
    Numerator,
    /// The transpose: gradients shaped like the variable.
    Denominator,
}

/// The derivative of f (of shape `f`) by X (of shape `x`) from the differential `df`.
pub fn identify(df: &Expr, f: Shape, x: Shape, layout: Layout) -> Result<Expr> {
    let numerator = if f.is_scalar() {
        // By a scalar, dF at dX = 1 is the derivative whatever reshapes the gradient meets.
        match gradient(df, x) {
            Err(_) if x.is_scalar() => at_unit(df),
            g => t(g?),
        }
    } else if x.is_scalar() {
        at_unit(df)
    } else if f.cols.is_one() && x.cols.is_one() {
        jacobian(df, x).or_else(|_| vec_jacobian(df, x))?
    } else if f.rows.is_one() && x.cols.is_one() {
        jacobian(&t(df.clone()), x).or_else(|_| vec_jacobian(df, x))?
    } else {
        vec_jacobian(df, x)?
    };
    Ok(match layout {
        Layout::Denominator if is_vec_form(f, x) => transposed_terms(&numerator),
        Layout::Denominator if transposes_in_denominator(f, x) => t(numerator),
        _ => numerator,
    })
}

/// The derivative of a scalar on the space a structured variable lives in: for a symmetric
/// (or spd) X the symmetric part (G + Gᵀ)/2 of the unconstrained derivative G, the unique
/// symmetric matrix with df = tr(G dX) for every symmetric dX; for a diagonal X its diagonal.
/// Any other derivative is returned as it is.
pub fn restrict(derivative: Expr, f: Shape, x: &crate::infer::Variable) -> Expr {
    if !f.is_scalar() || x.shape.is_scalar() || x.shape.is_column() {
        return derivative;
    }
    if x.props.diag {
        call(Func::Diag, call(Func::Diag, derivative))
    } else if (x.props.sym || x.props.spd)
        && !derivative.is_symmetric()
        && !crate::expand::equals_its_transpose(&derivative)
    {
        // Only a proof may skip the projection: a numeric test at random points says
        // "symmetric" wherever G happens to vanish or a piecewise function hides the
        // asymmetric part. When in doubt, project; the simplifier removes what is redundant.
        build::div(add(derivative.clone(), t(derivative)), Expr::int(2))
    } else {
        derivative
    }
}

/// Whether the denominator layout is the transpose of the numerator layout; the derivative of a
/// matrix by a scalar has the matrix's shape in both.
pub fn transposes_in_denominator(f: Shape, x: Shape) -> bool {
    !(x.is_scalar() && !f.is_scalar() && !f.is_column() && !f.is_row())
}

/// Jᵀ with the transpose taken term by term and factor by factor, down to the Kronecker
/// factors: (B' ⊗ A)ᵀ = B ⊗ Aᵀ.
fn transposed_terms(j: &Expr) -> Expr {
    match j.op {
        Op::Add => add(transposed_terms(j.a()), transposed_terms(j.b())),
        Op::Sub => sub(transposed_terms(j.a()), transposed_terms(j.b())),
        Op::Neg => neg(transposed_terms(j.a())),
        Op::Mul => mul(transposed_terms(j.b()), transposed_terms(j.a())),
        _ => t(j.clone()),
    }
}

/// Whether the derivative of f by X is written in vec form, d vec(F) = J d vec(X): a matrix
/// result, or a derivative by a matrix, other than a scalar's gradient.
pub fn is_vec_form(f: Shape, x: Shape) -> bool {
    let vector = |s: Shape| s.cols.is_one() || s.rows.is_one();
    !(f.is_scalar() || x.is_scalar() || (vector(f) && x.cols.is_one()))
}

/// dF with dX replaced by 1: the derivative by a scalar.
fn at_unit(df: &Expr) -> Expr {
    build::substitute(df, &|e| matches!(e.op, Op::Dvar(_)).then(|| Expr::int(1)))
}

/// The adjoint G of a scalar differential: df = ⟨G, dX⟩ = tr(Gᵀ dX).
fn gradient(df: &Expr, x: Shape) -> Result<Expr> {
    let order = linear_nodes(df);
    let mut seeds: FxHashMap<Expr, Expr> = FxHashMap::default();
    seeds.insert(df.clone(), Expr::int(1));
    let mut total: Option<Expr> = None;
    for node in order.iter().rev() {
        let Some(seed) = seeds.remove(node) else {
            continue;
        };
        if let Op::Dvar(_) = node.op {
            total = Some(match total {
                Some(g) => add(g, seed),
                None => seed,
            });
            continue;
        }
        for (child, adjoint) in adjoints(node, &seed)? {
            let key = child.clone();
            let sum = match seeds.remove(&key) {
                Some(s) => add(s, adjoint),
                None => adjoint,
            };
            seeds.insert(key, sum);
        }
    }
    Ok(total.unwrap_or_else(|| Expr::zero(x)))
}

/// The nodes that contain dX, children before parents.
fn linear_nodes(root: &Expr) -> Vec<Expr> {
    fn visit(e: &Expr, seen: &mut FxHashMap<Expr, bool>, order: &mut Vec<Expr>) -> bool {
        let key = e.clone();
        if let Some(&linear) = seen.get(&key) {
            return linear;
        }
        let mut linear = matches!(e.op, Op::Dvar(_));
        for a in &e.args {
            linear |= visit(a, seen, order);
        }
        seen.insert(key, linear);
        if linear {
            order.push(e.clone());
        }
        linear
    }
    let mut order = Vec::new();
    visit(root, &mut FxHashMap::default(), &mut order);
    order
}

/// ⟨a, s⟩ for arrays of one shape: aᵀs for columns, a sᵀ for rows, tr(aᵀ s) for matrices.
fn inner(a: &Expr, s: &Expr) -> Expr {
    if a.shape.is_scalar() {
        mul(a.clone(), s.clone())
    } else if a.shape.cols.is_one() {
        mul(t(a.clone()), s.clone())
    } else if a.shape.rows.is_one() {
        mul(a.clone(), t(s.clone()))
    } else {
        call(Func::Tr, mul(t(a.clone()), s.clone()))
    }
}

/// Sums the broadcast entries back when a scalar operand met an array.
fn unbroadcast(operand: &Expr, adjoint: Expr) -> Expr {
    if operand.shape.is_scalar() && !adjoint.shape.is_scalar() {
        call(Func::Sum, adjoint)
    } else {
        adjoint
    }
}

/// The adjoint contributions of `node`'s arguments, given the adjoint `s` of `node`.
fn adjoints(node: &Expr, s: &Expr) -> Result<Vec<(Expr, Expr)>> {
    let args = &node.args;
    let lin = |i: usize| args[i].any(&|e| matches!(e.op, Op::Dvar(_)));
    let mut out = Vec::new();
    let mut push = |i: usize, adjoint: Expr| {
        if lin(i) {
            out.push((args[i].clone(), unbroadcast(&args[i], adjoint)));
        }
    };
    match node.op {
        Op::Neg => push(0, neg(s.clone())),
        Op::Add => {
            push(0, s.clone());
            push(1, s.clone());
        }
        Op::Sub => {
            push(0, s.clone());
            push(1, neg(s.clone()));
        }
        Op::Mul => {
            let (a, b) = (&args[0], &args[1]);
            if a.shape.is_scalar() && !b.shape.is_scalar() {
                push(0, inner(b, s));
                push(1, mul(a.clone(), s.clone()));
            } else if b.shape.is_scalar() && !a.shape.is_scalar() {
                push(0, mul(b.clone(), s.clone()));
                push(1, inner(a, s));
            } else {
                push(0, mul(s.clone(), t(b.clone())));
                push(1, mul(t(a.clone()), s.clone()));
            }
        }
        Op::Div => push(0, build::div(s.clone(), args[1].clone())),
        Op::T => push(0, t(s.clone())),
        Op::Had => {
            push(0, had(s.clone(), args[1].clone()));
            push(1, had(args[0].clone(), s.clone()));
        }
        Op::HDiv => push(0, build::hdiv(s.clone(), args[1].clone())),
        Op::Call(Func::Sum) => push(0, mul(s.clone(), Expr::ones(args[0].shape))),
        Op::Call(Func::Mean) => push(0, mean_adjoint(s, args[0].shape)),
        Op::Call(Func::Tr) => push(0, mul(s.clone(), Expr::eye(args[0].shape.rows))),
        Op::Call(Func::Diag) => push(0, call(Func::Diag, s.clone())),
        Op::Call(Func::Vec) => match unvec(s, args[0].shape) {
            Some(reshaped) => push(0, reshaped),
            None => {
                let why = format!("`{s}` reshaped to {}", args[0].shape);
                return Err(no_gradient_through(node, &why));
            }
        },
        // For columns, u ⊗ v = vec(v uᵀ): with W the seed reshaped to v uᵀ's shape,
        // ⟨s, u ⊗ v⟩ = uᵀ Wᵀ v, so u's adjoint is Wᵀ v and v's is W u. Rows are the columns'
        // case transposed: uᵀ ⊗ vᵀ = (u ⊗ v)ᵀ.
        Op::Kron
            if (args[0].shape.is_column() && args[1].shape.is_column())
                || (args[0].shape.is_row() && args[1].shape.is_row()) =>
        {
            let rows = !args[0].shape.is_column();
            let flip = |e: &Expr| if rows { t(e.clone()) } else { e.clone() };
            let (u, v) = (flip(&args[0]), flip(&args[1]));
            let shape = Shape::new(v.shape.rows, u.shape.rows);
            let Some(w) = unvec(&flip(s), shape) else {
                let why = format!("`{s}` reshaped to {shape}");
                return Err(no_gradient_through(node, &why));
            };
            push(0, flip(&mul(t(w.clone()), v)));
            push(1, flip(&mul(w, u)));
        }
        // ⟨C ⊗ D, A ⊗ B⟩ = ⟨C, A⟩⟨D, B⟩: a seed that is a sum of Kronecker products split
        // like A ⊗ B gives A the adjoint Σ⟨D, B⟩C and B the adjoint Σ⟨C, A⟩D.
        Op::Kron => {
            let (a, b) = (&args[0], &args[1]);
            let Some(terms) = kronecker_terms(s, a.shape, b.shape) else {
                let why = "a partial trace (the seed reaching it is no sum of Kronecker products)";
                return Err(no_gradient_through(node, why));
            };
            let total = |of: &dyn Fn(&(Expr, Expr)) -> Expr, shape: Shape| {
                (terms.iter().map(of))
                    .reduce(add)
                    .unwrap_or_else(|| Expr::zero(shape))
            };
            push(0, total(&|(c, d)| mul(inner(b, d), c.clone()), a.shape));
            push(1, total(&|(c, d)| mul(inner(a, c), d.clone()), b.shape));
        }
        _ => unreachable!(
            "{:?} is not linear, so it cannot hold a differential",
            node.op
        ),
    }
    Ok(out)
}

/// `s` as a sum of Kronecker products C ⊗ D with C of shape `left` and D of shape `right`, read
/// from its structure: Kronecker products, identities and ones (I ⊗ I, 1 ⊗ 1), and their sums,
/// scalings, transposes, inverses ((C ⊗ D)⁻¹ = C⁻¹ ⊗ D⁻¹), elementwise products and products
/// ((C ⊗ D)(E ⊗ F) = CE ⊗ DF, each factor split by the other's Kronecker structure).
fn kronecker_terms(s: &Expr, left: Shape, right: Shape) -> Option<Vec<(Expr, Expr)>> {
    let scaled = |terms: Vec<(Expr, Expr)>, by: &dyn Fn(Expr) -> Expr| {
        terms.into_iter().map(|(c, d)| (by(c), d)).collect()
    };
    let go = |e: &Expr| kronecker_terms(e, left, right);
    Some(match &s.op {
        Op::Kron if s.a().shape == left && s.b().shape == right => {
            vec![(s.a().clone(), s.b().clone())]
        }
        Op::Eye if left.is_square() && right.is_square() => {
            vec![(Expr::eye(left.rows), Expr::eye(right.rows))]
        }
        Op::Ones => vec![(Expr::ones(left), Expr::ones(right))],
        Op::Zero => vec![],
        Op::Neg => scaled(go(s.a())?, &neg),
        Op::Add => [go(s.a())?, go(s.b())?].concat(),
        Op::Sub => [go(s.a())?, scaled(go(s.b())?, &neg)].concat(),
        Op::T => (kronecker_terms(s.a(), left.transposed(), right.transposed())?.into_iter())
            .map(|(c, d)| (t(c), t(d)))
            .collect(),
        Op::Call(Func::Inv) => match go(s.a())?.as_slice() {
            [(c, d)] => vec![(call(Func::Inv, c.clone()), call(Func::Inv, d.clone()))],
            _ => return None,
        },
        Op::Mul if s.a().shape.is_scalar() => scaled(go(s.b())?, &|c| mul(s.a().clone(), c)),
        Op::Mul if s.b().shape.is_scalar() => scaled(go(s.a())?, &|c| mul(c, s.b().clone())),
        Op::Div => scaled(go(s.a())?, &|c| build::div(c, s.b().clone())),
        // Entry by entry, Kronecker products with one split multiply factor by factor:
        // (C ⊗ D) ⊙ (E ⊗ F) = (C ⊙ E) ⊗ (D ⊙ F), and so for quotients.
        Op::Had | Op::HDiv if s.a().shape == s.b().shape => {
            let op = |u: &Expr, v: &Expr| build::apply(s.op.clone(), vec![u.clone(), v.clone()]);
            factor_by_factor(&go(s.a())?, &go(s.b())?, &op)
        }
        Op::Mul => {
            let (x, y) = (s.a(), s.b());
            let (inner_left, inner_right) = (kronecker_split(x).map(|(l, r)| (l.cols, r.cols)))
                .or_else(|| kronecker_split(y).map(|(l, r)| (l.rows, r.rows)))?;
            let xs = kronecker_terms(
                x,
                Shape::new(left.rows, inner_left),
                Shape::new(right.rows, inner_right),
            )?;
            let ys = kronecker_terms(
                y,
                Shape::new(inner_left, left.cols),
                Shape::new(inner_right, right.cols),
            )?;
            factor_by_factor(&xs, &ys, &|u, v| mul(u.clone(), v.clone()))
        }
        _ => return None,
    })
}

/// Every term of `xs` with every term of `ys`, combined factor by factor:
/// (C ⊗ D) ∘ (E ⊗ F) = (C ∘ E) ⊗ (D ∘ F).
fn factor_by_factor(
    xs: &[(Expr, Expr)],
    ys: &[(Expr, Expr)],
    op: &dyn Fn(&Expr, &Expr) -> Expr,
) -> Vec<(Expr, Expr)> {
    (xs.iter())
        .flat_map(|(c, d)| ys.iter().map(move |(e, f)| (op(c, e), op(d, f))))
        .collect()
}

/// The shapes of C and D where `e` is built from Kronecker products C ⊗ D.
fn kronecker_split(e: &Expr) -> Option<(Shape, Shape)> {
    match &e.op {
        Op::Kron => Some((e.a().shape, e.b().shape)),
        Op::T => kronecker_split(e.a()).map(|(l, r)| (l.transposed(), r.transposed())),
        Op::Neg | Op::Div | Op::Call(Func::Inv) => kronecker_split(e.a()),
        Op::Add | Op::Sub | Op::Had | Op::HDiv => {
            kronecker_split(e.a()).or_else(|| kronecker_split(e.b()))
        }
        Op::Mul if e.a().shape.is_scalar() => kronecker_split(e.b()),
        Op::Mul if e.b().shape.is_scalar() => kronecker_split(e.a()),
        Op::Mul => {
            let (x, y) = (kronecker_split(e.a())?, kronecker_split(e.b())?);
            Some((
                Shape::new(x.0.rows, y.0.cols),
                Shape::new(x.1.rows, y.1.cols),
            ))
        }
        _ => None,
    }
}

/// The error for a gradient through vec or ⊗ that has no form in the language.
fn no_gradient_through(node: &Expr, why: &str) -> Error {
    Error::Unsupported {
        message: format!(
            "the gradient through `{node}` is {why}, which has no matrix form nabla can write (the language has no reshape)"
        ),
        hint: "differentiate the vec or Kronecker expression itself (its vec-form Jacobian)".into(),
    }
}

/// The matrix W of shape `shape` with vec(W) = `v`, where the column v is written entry by entry
/// from vectorized parts (vec(W), 1, sums, scalings, elementwise operations of them): the
/// adjoint of vec(U) is its seed reshaped to U's shape.
fn unvec(v: &Expr, shape: Shape) -> Option<Expr> {
    let length = shape.rows.times(shape.cols);
    if v.shape.is_scalar() {
        return Some(v.clone());
    }
    if v.shape != Shape::column(length) {
        return None;
    }
    let go = |e: &Expr| unvec(e, shape);
    Some(match &v.op {
        Op::Call(Func::Vec) if v.a().shape == shape => v.a().clone(),
        // vec(b aᵀ) = a ⊗ b for columns a and b.
        Op::Kron
            if v.a().shape.is_column()
                && v.b().shape.is_column()
                && shape == Shape::new(v.b().shape.rows, v.a().shape.rows) =>
        {
            mul(v.b().clone(), t(v.a().clone()))
        }
        _ if shape.cols.is_one() => v.clone(),
        Op::Ones => Expr::ones(shape),
        Op::Zero => Expr::zero(shape),
        Op::Neg => neg(go(v.a())?),
        // A transposed row: (c·vec(W)ᵀ)ᵀ = vec(W)·c, and so on.
        Op::T => go(&transpose_inward(v.a())?)?,
        Op::Add => add(go(v.a())?, go(v.b())?),
        Op::Sub => sub(go(v.a())?, go(v.b())?),
        Op::Div => build::div(go(v.a())?, v.b().clone()),
        Op::Mul if v.a().shape.is_scalar() => mul(v.a().clone(), go(v.b())?),
        Op::Mul if v.b().shape.is_scalar() => mul(go(v.a())?, v.b().clone()),
        // diag(u)·w = u ⊙ w.
        Op::Mul if v.a().op == Op::Call(Func::Diag) => had(go(v.a().a())?, go(v.b())?),
        Op::Had => had(go(v.a())?, go(v.b())?),
        Op::HDiv => build::hdiv(go(v.a())?, go(v.b())?),
        Op::HPow => build::hpow(go(v.a())?, go(v.b())?),
        Op::Call(f) if f.is_elementwise() => call(*f, go(v.a())?),
        _ => return None,
    })
}

/// J with dF = J dx, for a column (or scalar) differential `df` and a column variable of shape `x`.
fn jacobian(df: &Expr, x: Shape) -> Result<Expr> {
    Forward {
        x,
        memo: FxHashMap::default(),
    }
    .jac(df)
}

struct Forward {
    x: Shape,
    memo: FxHashMap<Expr, Expr>,
}

impl Forward {
    fn jac(&mut self, e: &Expr) -> Result<Expr> {
        let key = e.clone();
        if let Some(j) = self.memo.get(&key) {
            return Ok(j.clone());
        }
        let j = self.jac_uncached(e)?;
        self.memo.insert(key, j.clone());
        Ok(j)
    }

    fn linear(e: &Expr) -> bool {
        e.has_dvar()
    }

    fn jac_uncached(&mut self, e: &Expr) -> Result<Expr> {
        if !Self::linear(e) {
            return Ok(Expr::zero(Shape::new(e.shape.rows, self.x.rows)));
        }
        if !(e.shape.cols.is_one()) {
            return Err(self.stuck(e));
        }
        let args = &e.args;
        let ones_for = |scalar: &Expr| {
            // A scalar term broadcast over a column contributes 1·(its row).
            if scalar.shape.is_scalar() && !e.shape.is_scalar() {
                Some(Expr::ones(e.shape))
            } else {
                None
            }
        };
        Ok(match e.op {
            Op::Dvar(_) => Expr::eye(self.x.rows),
            Op::Neg => neg(self.jac(&args[0])?),
            Op::Add | Op::Sub => {
                let mut parts = Vec::new();
                for a in args {
                    let j = self.jac(a)?;
                    parts.push(match ones_for(a) {
                        Some(ones) => mul(ones, j),
                        None => j,
                    });
                }
                let [ja, jb] = [parts[0].clone(), parts[1].clone()];
                if e.op == Op::Add {
                    add(ja, jb)
                } else {
                    sub(ja, jb)
                }
            }
            Op::Mul => self.product(e, &args[0], &args[1])?,
            Op::Div => build::div(self.jac(&args[0])?, args[1].clone()),
            Op::T => {
                let inner = &args[0];
                if inner.shape.is_scalar() {
                    self.jac(inner)?
                } else {
                    let pushed = transpose_inward(inner).ok_or_else(|| self.stuck(e))?;
                    self.jac(&pushed)?
                }
            }
            Op::Had | Op::HDiv => {
                let (lin, other) = if Self::linear(&args[0]) {
                    (&args[0], &args[1])
                } else {
                    (&args[1], &args[0])
                };
                let factor = if e.op == Op::HDiv {
                    build::hdiv(Expr::int(1), other.clone())
                } else {
                    other.clone()
                };
                let j = self.jac(lin)?;
                if factor.shape.is_scalar() || lin.shape.is_scalar() {
                    mul(factor, j)
                } else {
                    mul(call(Func::Diag, factor), j)
                }
            }
            Op::Call(Func::Sum) => sum_rows(self.jac(&args[0])?, args[0].shape),
            Op::Call(Func::Mean) => build::div(
                sum_rows(self.jac(&args[0])?, args[0].shape),
                build::size(args[0].shape.rows.times(args[0].shape.cols)),
            ),
            Op::Call(Func::Tr) => self.jac(&args[0])?,
            Op::Call(Func::Diag) => {
                let pushed = diag_inward(&args[0]).ok_or_else(|| self.stuck(e))?;
                self.jac(&pushed)?
            }
            _ => return Err(self.stuck(e)),
        })
    }

    fn product(&mut self, e: &Expr, a: &Expr, b: &Expr) -> Result<Expr> {
        let (la, lb) = (Self::linear(a), Self::linear(b));
        let mut total: Option<Expr> = None;
        if la {
            let part = if b.shape.is_scalar() || a.shape.is_scalar() {
                mul(b.clone(), self.jac(a)?)
            } else if a.shape.cols.is_one() {
                return Err(self.stuck(e));
            } else if a.shape.rows.is_one() {
                mul(t(b.clone()), self.jac(&t(a.clone()))?)
            } else {
                let pushed = times_right(a, b).ok_or_else(|| self.stuck(e))?;
                self.jac(&pushed)?
            };
            total = Some(part);
        }
        if lb {
            let part = mul(a.clone(), self.jac(b)?);
            total = Some(match total {
                Some(p) => add(p, part),
                None => part,
            });
        }
        Ok(total.expect("a linear product has a linear factor"))
    }

    fn stuck(&self, e: &Expr) -> Error {
        Error::Unsupported {
            message: format!("the Jacobian of `{e}` has no matrix form nabla can write"),
            hint: "differentiate a scalar function of it, or one entry at a time".into(),
        }
    }
}

/// 1ᵀJ, the Jacobian of a sum of entries; 1ᵀdiag(u)M = uᵀM.
/// The adjoint of mean(U) for the seed s: s·1/N, N the number of entries of U.
fn mean_adjoint(s: &Expr, shape: Shape) -> Expr {
    // (s/N)·1 rather than s·1/N: a scalar times ones folds into an elementwise product.
    let count = build::size(shape.rows.times(shape.cols));
    mul(build::div(s.clone(), count), Expr::ones(shape))
}

fn sum_rows(j: Expr, shape: Shape) -> Expr {
    match &j.op {
        Op::Call(Func::Diag) => t(j.a().clone()),
        Op::Mul if j.a().op == Op::Call(Func::Diag) && j.a().a().shape.is_column() => {
            mul(t(j.a().a().clone()), j.b().clone())
        }
        _ => mul(t(Expr::ones(shape)), j),
    }
}

/// (P)ᵀ written with the transpose moved one level in, where that is exact.
fn transpose_inward(p: &Expr) -> Option<Expr> {
    Some(match p.op {
        Op::Mul => mul(t(p.b().clone()), t(p.a().clone())),
        Op::Add => add(t(p.a().clone()), t(p.b().clone())),
        Op::Sub => sub(t(p.a().clone()), t(p.b().clone())),
        Op::Neg => neg(t(p.a().clone())),
        Op::Had => had(t(p.a().clone()), t(p.b().clone())),
        Op::Div => build::div(t(p.a().clone()), p.b().clone()),
        Op::T => p.a().clone(),
        Op::Call(Func::Diag) if p.a().shape.is_column() => p.clone(),
        _ => return None,
    })
}

/// P·b for a matrix P linear in dx and a constant column b, regrouped so that only columns
/// and scalars are linear: (QR)b = Q(Rb), diag(v)b = b ⊙ v, and so on.
fn times_right(p: &Expr, b: &Expr) -> Option<Expr> {
    Some(match p.op {
        Op::Mul => mul(p.a().clone(), mul(p.b().clone(), b.clone())),
        Op::Add | Op::Sub => {
            let [q, r] = spread_terms(p).map(|term| times_right(&term, b));
            if p.op == Op::Add {
                add(q?, r?)
            } else {
                sub(q?, r?)
            }
        }
        Op::Neg => neg(times_right(p.a(), b)?),
        Op::Div => build::div(times_right(p.a(), b)?, p.b().clone()),
        Op::T => times_right(&transpose_inward(p.a())?, b)?,
        Op::Call(Func::Diag) if p.a().shape.is_column() => had(b.clone(), p.a().clone()),
        _ => return None,
    })
}

/// diag(P) for a matrix P linear in dx, where it has a column form: diag(u vᵀ) = u ⊙ v.
fn diag_inward(p: &Expr) -> Option<Expr> {
    Some(match p.op {
        Op::Mul if p.a().shape.is_column() && p.b().shape.is_row() => {
            had(p.a().clone(), t(p.b().clone()))
        }
        Op::Add => add(diag_inward(p.a())?, diag_inward(p.b())?),
        Op::Sub => sub(diag_inward(p.a())?, diag_inward(p.b())?),
        Op::Neg => neg(diag_inward(p.a())?),
        Op::T => diag_inward(p.a())?,
        Op::Call(Func::Diag) if p.a().shape.is_column() => p.a().clone(),
        _ => return None,
    })
}

/// The two terms of a sum or difference, each of the sum's shape: a scalar broadcast over an
/// array is s·1 (M + s = M + s·1), so that a product distributes over it term by term:
/// (M + s)b is Mb + s·1b, never Mb + sb.
fn spread_terms(sum: &Expr) -> [Expr; 2] {
    [sum.a(), sum.b()].map(|term| {
        if term.shape.is_scalar() && !sum.shape.is_scalar() {
            mul(term.clone(), Expr::ones(sum.shape))
        } else {
            term.clone()
        }
    })
}

/// L·J with L multiplied into each term of J, so that Kronecker factors meet and combine by
/// the mixed product (A ⊗ B)(C ⊗ D) = AC ⊗ BD.
fn distribute(left: Expr, j: Expr) -> Expr {
    match j.op {
        // A scalar broadcast over J is no term of it: L(M + s) is LM + s·L1, not LM + sL.
        Op::Add | Op::Sub if j.a().shape != j.b().shape => mul(left, j),
        Op::Add => add(
            distribute(left.clone(), j.a().clone()),
            distribute(left, j.b().clone()),
        ),
        Op::Sub => sub(
            distribute(left.clone(), j.a().clone()),
            distribute(left, j.b().clone()),
        ),
        Op::Neg => neg(distribute(left, j.a().clone())),
        _ => mul(left, j),
    }
}

/// J with vec(dF) = J vec(dX) for a differential `df` linear in dX of shape `x`.
fn vec_jacobian(df: &Expr, x: Shape) -> Result<Expr> {
    VecForward {
        x,
        columns: x.rows.times(x.cols),
        memo: FxHashMap::default(),
    }
    .jac(df)
}

/// Forward identification in vec form: each linear node's J from its arguments'.
struct VecForward {
    /// The shape of X.
    x: Shape,
    /// The length of vec(X).
    columns: crate::shape::Dim,
    memo: FxHashMap<Expr, Expr>,
}

impl VecForward {
    fn jac(&mut self, e: &Expr) -> Result<Expr> {
        if let Some(j) = self.memo.get(e) {
            return Ok(j.clone());
        }
        let j = self.jac_uncached(e)?;
        self.memo.insert(e.clone(), j.clone());
        Ok(j)
    }

    /// The length of vec(e).
    fn length(e: &Expr) -> crate::shape::Dim {
        e.shape.rows.times(e.shape.cols)
    }

    /// J of an operand of `e` as a part of J(e): a scalar broadcast over the array `e` adds to
    /// every entry, vec(1) J.
    fn broadcast(&mut self, e: &Expr, operand: &Expr) -> Result<Expr> {
        let j = self.jac(operand)?;
        Ok(if operand.shape.is_scalar() && !e.shape.is_scalar() {
            mul(Expr::ones(Shape::column(Self::length(e))), j)
        } else {
            j
        })
    }

    fn jac_uncached(&mut self, e: &Expr) -> Result<Expr> {
        if !e.has_dvar() {
            return Ok(Expr::zero(Shape::new(Self::length(e), self.columns)));
        }
        // A scalar s linear in dX is ⟨G, dX⟩ with G its adjoint, so J = vec(G)ᵀ.
        if e.shape.is_scalar() {
            return Ok(t(call(Func::Vec, gradient(e, self.x)?)));
        }
        let args = &e.args;
        Ok(match e.op {
            Op::Dvar(_) => Expr::eye(self.columns),
            Op::Neg => neg(self.jac(&args[0])?),
            Op::Add => add(self.broadcast(e, &args[0])?, self.broadcast(e, &args[1])?),
            Op::Sub => sub(self.broadcast(e, &args[0])?, self.broadcast(e, &args[1])?),
            Op::Div => build::div(self.jac(&args[0])?, args[1].clone()),
            Op::Mul => self.product(&args[0], &args[1])?,
            // vec(Uᵀ) = K vec(U).
            Op::T => {
                let u = &args[0];
                mul(build::commutation(u.shape.rows, u.shape.cols), self.jac(u)?)
            }
            Op::Had | Op::HDiv => {
                let linear = usize::from(!args[0].has_dvar());
                if linear == 1 && e.op == Op::HDiv {
                    return Err(self.stuck(e));
                }
                let factor = match e.op {
                    Op::HDiv => build::hdiv(Expr::int(1), args[1].clone()),
                    _ => args[1 - linear].clone(),
                };
                self.scaled(&factor, &args[linear])?
            }
            Op::Call(Func::Vec) => self.jac(&args[0])?,
            Op::Kron => self.kronecker(&args[0], &args[1])?,
            Op::Call(Func::Diag) => {
                // With M = diag(vec(Iₙ)), the mask of the diagonal in vec form:
                // vec(diag(u)) = M (1ₙ ⊗ Iₙ) u and diag(U) = (1ₙᵀ ⊗ Iₙ) M vec(U).
                let u = &args[0];
                let n = u.shape.rows;
                let mask = call(Func::Diag, call(Func::Vec, Expr::eye(n)));
                let copies = build::kron(Expr::ones(Shape::column(n)), Expr::eye(n));
                if u.shape.is_column() {
                    mul(mask, mul(copies, self.jac(u)?))
                } else {
                    mul(t(copies), mul(mask, self.jac(u)?))
                }
            }
            _ => return Err(self.stuck(e)),
        })
    }

    /// J of `factor ⊙ u` for u linear: a scalar scales; an array factor is diag(vec(factor)),
    /// or vec(factor) itself when u is a scalar broadcast over it.
    fn scaled(&mut self, factor: &Expr, u: &Expr) -> Result<Expr> {
        let j = self.jac(u)?;
        Ok(if factor.shape.is_scalar() {
            mul(factor.clone(), j)
        } else if u.shape.is_scalar() {
            mul(call(Func::Vec, factor.clone()), j)
        } else {
            mul(call(Func::Diag, call(Func::Vec, factor.clone())), j)
        })
    }

    /// J of U·V: vec(dU V) = (Vᵀ ⊗ I) vec(dU), vec(U dV) = (I ⊗ U) vec(dV), and scalings.
    fn product(&mut self, u: &Expr, v: &Expr) -> Result<Expr> {
        let mut parts = Vec::new();
        if u.has_dvar() {
            let left = || build::kron(t(v.clone()), Expr::eye(u.shape.rows));
            parts.push(self.factor(u, v, left)?);
        }
        if v.has_dvar() {
            let left = || build::kron(Expr::eye(v.shape.cols), u.clone());
            parts.push(self.factor(v, u, left)?);
        }
        Ok(parts
            .into_iter()
            .reduce(add)
            .expect("a linear product has a linear factor"))
    }

    /// The part of J of a product from its linear factor `linear`, the other factor `other`
    /// constant: a scalar times an array is vec(array)·J, a scaling keeps J scaled, and a
    /// matrix product is `kronecker()` · J.
    fn factor(
        &mut self,
        linear: &Expr,
        other: &Expr,
        kronecker: impl FnOnce() -> Expr,
    ) -> Result<Expr> {
        let j = self.jac(linear)?;
        Ok(if linear.shape.is_scalar() {
            mul(call(Func::Vec, other.clone()), j)
        } else if other.shape.is_scalar() {
            mul(other.clone(), j)
        } else {
            distribute(kronecker(), j)
        })
    }

    /// J of U ⊗ V (Magnus & Neudecker, theorem 3.10): for U of size m × n and V of size p × q,
    /// vec(U ⊗ V) = (Iₙ ⊗ K(q, m) ⊗ Iₚ)(vec U ⊗ vec V), and vec U ⊗ vec V is
    /// (I ⊗ vec V) vec U = (vec U ⊗ I) vec V.
    fn kronecker(&mut self, u: &Expr, v: &Expr) -> Result<Expr> {
        let (m, n) = (u.shape.rows, u.shape.cols);
        let (p, q) = (v.shape.rows, v.shape.cols);
        let shuffle = build::kron(
            build::kron(Expr::eye(n), build::commutation(q, m)),
            Expr::eye(p),
        );
        let mut parts = Vec::new();
        if u.has_dvar() {
            let spread = build::kron(Expr::eye(Self::length(u)), call(Func::Vec, v.clone()));
            parts.push(mul(spread, self.jac(u)?));
        }
        if v.has_dvar() {
            let spread = build::kron(call(Func::Vec, u.clone()), Expr::eye(Self::length(v)));
            parts.push(mul(spread, self.jac(v)?));
        }
        let sum = (parts.into_iter().reduce(add))
            .expect("a linear Kronecker product has a linear factor");
        Ok(distribute(shuffle, sum))
    }

    fn stuck(&self, e: &Expr) -> Error {
        Error::Unsupported {
            message: format!("the vec-form Jacobian of `{e}` has no matrix form nabla can write"),
            hint: "differentiate a scalar function of it, or one entry at a time".into(),
        }
    }
}
