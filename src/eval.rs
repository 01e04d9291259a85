//! A numeric evaluator (nalgebra) for any expression, and random data that respects shapes,
//! properties and the domains of the functions applied.

use crate::expr::{Expr, Func, Op};
use crate::infer::Variable;
use crate::shape::{Dim, Shape};
use egg::Symbol;
use nalgebra::DMatrix;
use num_traits::ToPrimitive;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;

/// A value: every value is a matrix; scalars are 1 × 1.
pub type Value = DMatrix<f64>;

/// Values for the variables (and differentials) and sizes for the symbolic dimensions.
#[derive(Clone, Debug, Default)]
pub struct Point {
    /// Sizes of the symbolic dimensions.
    pub sizes: HashMap<Symbol, usize>,
    /// Values of variables, and of differentials `dX` under the key `X` in `directions`.
    pub values: HashMap<Symbol, Value>,
    /// Values of the differentials `dX`, by variable.
    pub directions: HashMap<Symbol, Value>,
}

impl Point {
    /// The size of a dimension.
    pub fn size(&self, d: Dim) -> usize {
        match d {
            Dim::Lit(n) => n as usize,
            _ if d.is_product() => d.factors().into_iter().map(|f| self.size(f)).product(),
            Dim::Sym(s) => self.sizes.get(&s).copied().unwrap_or(2),
        }
    }

    /// The sizes of a shape.
    pub fn dims(&self, s: Shape) -> (usize, usize) {
        (self.size(s.rows), self.size(s.cols))
    }
}

/// Evaluates `e` at `point`; `None` when a value is missing or the shapes disagree.
pub fn eval(e: &Expr, point: &Point) -> Option<Value> {
    Evaluator {
        point,
        memo: HashMap::new(),
    }
    .eval(e)
}

struct Evaluator<'p> {
    point: &'p Point,
    memo: HashMap<Expr, Value>,
}

impl Evaluator<'_> {
    fn eval(&mut self, e: &Expr) -> Option<Value> {
        let key = e.clone();
        if let Some(v) = self.memo.get(&key) {
            return Some(v.clone());
        }
        let v = self.node(e)?;
        self.memo.insert(key, v.clone());
        Some(v)
    }

    fn node(&mut self, e: &Expr) -> Option<Value> {
        let (r, c) = self.point.dims(e.shape);
        let args = e
            .args
            .iter()
            .map(|a| self.eval(a))
            .collect::<Option<Vec<_>>>()?;
        Some(match &e.op {
            Op::Num(n) => scalar(n.to_f64()?),
            Op::Var(v, _) => self.point.values.get(v)?.clone(),
            Op::Dvar(v) => self.point.directions.get(v)?.clone(),
            Op::Eye => DMatrix::identity(r, c),
            Op::Ones => DMatrix::from_element(r, c, 1.0),
            Op::Zero => DMatrix::zeros(r, c),
            Op::Neg => -&args[0],
            Op::Add => elementwise(&args[0], &args[1], |x, y| x + y)?,
            Op::Sub => elementwise(&args[0], &args[1], |x, y| x - y)?,
            Op::Had => elementwise(&args[0], &args[1], |x, y| x * y)?,
            Op::HDiv => elementwise(&args[0], &args[1], |x, y| x / y)?,
            Op::HPow => elementwise(&args[0], &args[1], f64::powf)?,
            Op::Mul => product(&args[0], &args[1])?,
            Op::Div => args[0].map(|x| x / args[1][(0, 0)]),
            Op::Pow => power(&args[0], &args[1])?,
            Op::T => args[0].transpose(),
            Op::Call(f) => call(*f, &args[0])?,
            Op::Kron => args[0].kronecker(&args[1]),
            Op::Commutation(m, n) => commutation(self.point.size(*m), self.point.size(*n)),
            Op::Size(d) => scalar(self.point.size(*d) as f64),
            Op::Max => elementwise(&args[0], &args[1], |x, y| {
                if x.is_nan() || y.is_nan() {
                    f64::NAN
                } else {
                    x.max(y)
                }
            })?,
            Op::Min => elementwise(&args[0], &args[1], |x, y| {
                if x.is_nan() || y.is_nan() {
                    f64::NAN
                } else {
                    x.min(y)
                }
            })?,
        })
    }
}

/// K(m, n): the permutation with K vec(A) = vec(Aᵀ) for A of size m × n (vec stacks columns,
/// so A[j, i] sits at j + m·i in vec(A) and at i + n·j in vec(Aᵀ)).
fn commutation(m: usize, n: usize) -> Value {
    let mut k = DMatrix::zeros(m * n, m * n);
    for i in 0..n {
        for j in 0..m {
            k[(i + n * j, j + m * i)] = 1.0;
        }
    }
    k
}

fn scalar(x: f64) -> Value {
    DMatrix::from_element(1, 1, x)
}

fn is_scalar(v: &Value) -> bool {
    v.nrows() == 1 && v.ncols() == 1
}

fn elementwise(a: &Value, b: &Value, f: impl Fn(f64, f64) -> f64) -> Option<Value> {
    if is_scalar(a) {
        let x = a[(0, 0)];
        return Some(b.map(|y| f(x, y)));
    }
    if is_scalar(b) {
        let y = b[(0, 0)];
        return Some(a.map(|x| f(x, y)));
    }
    (a.shape() == b.shape()).then(|| a.zip_map(b, f))
}

fn product(a: &Value, b: &Value) -> Option<Value> {
    if is_scalar(a) {
        return Some(b * a[(0, 0)]);
    }
    if is_scalar(b) {
        return Some(a * b[(0, 0)]);
    }
    (a.ncols() == b.nrows()).then(|| a * b)
}

fn power(a: &Value, p: &Value) -> Option<Value> {
    let p = p[(0, 0)];
    if is_scalar(a) {
        return Some(scalar(a[(0, 0)].powf(p)));
    }
    if p.fract() != 0.0 || !a.is_square() {
        return None;
    }
    let base = if p < 0.0 { inverse(a)? } else { a.clone() };
    let mut out = DMatrix::identity(a.nrows(), a.ncols());
    for _ in 0..(p.abs() as usize) {
        out = &out * &base;
    }
    Some(out)
}

/// Whether a square matrix is far enough from singular for its inverse to mean something
/// numerically (condition number below 1e8); near-singular points are outside the domain.
fn well_conditioned(a: &Value) -> bool {
    // nalgebra's SVD panics or never returns on NaN or infinite entries.
    if !a.is_square() || !a.iter().all(|x| x.is_finite()) {
        return false;
    }
    let singular = a.clone().svd(false, false).singular_values;
    let (max, min) = (singular.max(), singular.min());
    min > 0.0 && max / min < 1e8
}

/// The inverse by LU with partial pivoting: nalgebra's `try_inverse` takes cofactors up to
/// 4 x 4, which lose digits when the entries span orders of magnitude (an inverse off by 0.07%
/// at condition number 1e5 made a right derivative fail its check).
fn inverse(a: &Value) -> Option<Value> {
    a.clone().lu().try_inverse()
}

/// The determinant by LU with partial pivoting, for the same reason as [`inverse`].
fn determinant(a: &Value) -> f64 {
    a.clone().lu().determinant()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn call(f: Func, a: &Value) -> Option<Value> {
    let map = |g: fn(f64) -> f64| Some(a.map(g));
    match f {
        Func::Exp => map(f64::exp),
        Func::Log => map(f64::ln),
        Func::Sin => map(f64::sin),
        Func::Cos => map(f64::cos),
        Func::Tan => map(f64::tan),
        Func::Tanh => map(f64::tanh),
        Func::Sigmoid => map(sigmoid),
        // NaN stays NaN (f64::max would drop it), so a value outside a domain, relu(log(-1)),
        // is never taken for data in it.
        Func::Relu => map(|x| if x.is_nan() { x } else { x.max(0.0) }),
        Func::Step => map(|x| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                0.0
            } else if x == 0.0 {
                0.5
            } else {
                x
            }
        }),
        Func::Abs => map(f64::abs),
        Func::Sign => map(|x| if x == 0.0 { 0.0 } else { x.signum() }),
        Func::Sqrt => map(f64::sqrt),
        Func::Sum => Some(scalar(a.sum())),
        Func::Norm1 => Some(scalar(a.iter().map(|x| x.abs()).sum())),
        Func::Norm2 => Some(scalar(a.norm())),
        Func::Tr => a.is_square().then(|| scalar(a.trace())),
        Func::Det => a.is_square().then(|| scalar(determinant(a))),
        Func::Logdet => well_conditioned(a).then(|| scalar(determinant(a).abs().ln())),
        Func::Inv => well_conditioned(a).then(|| inverse(a)).flatten(),
        Func::Vec => Some(DMatrix::from_column_slice(a.len(), 1, a.as_slice())),
        Func::Diag if is_scalar(a) => Some(a.clone()),
        Func::Diag if a.ncols() == 1 => Some(DMatrix::from_diagonal(&a.column(0).into_owned())),
        Func::Diag => Some(DMatrix::from_column_slice(
            a.nrows(),
            1,
            a.diagonal().as_slice(),
        )),
        Func::Softmax => {
            let top = a.max();
            let e = a.map(|x| (x - top).exp());
            Some(&e / e.sum())
        }
        Func::Logsumexp => {
            let top = a.max();
            Some(scalar(top + a.map(|x| (x - top).exp()).sum().ln()))
        }
        Func::Mean => Some(scalar(a.mean())),
    }
}

/// How random data is drawn; later kinds are tried when earlier ones leave a function's domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Draw {
    /// Entries uniform in [-1, 1]; square matrices shifted to be well conditioned.
    Signed,
    /// Entries uniform in [0.5, 1.5]; square matrices symmetric positive definite.
    Positive,
    /// Data of a [`Base`] kind, negated when `negative`, times 10^(`eighths`/8). Variables
    /// declared `spd` stay positive.
    Scaled {
        /// The data drawn before scaling.
        base: Base,
        /// Whether the data is negated.
        negative: bool,
        /// The power of ten the data is multiplied by, in eighths.
        eighths: i8,
    },
}

/// The data a [`Draw::Scaled`] scales.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    /// As [`Draw::Signed`].
    Signed,
    /// Entries uniform in [0.9, 1.1]; square matrices near the identity (diagonal in
    /// [0.9, 1.1], the rest in [-0.05, 0.05]). Scaled, a narrow band at any distance from 0.
    Near,
}

/// The largest scale [`Draw::ladder`] reaches: 10⁴, and 10⁻⁴ the other way.
const LADDER_EIGHTHS: i8 = 32;

impl Draw {
    /// The kinds of data a check tries, in order: data around 0 and positive data first, then
    /// small signed data (for a domain bounded around 0, `log(1 - x'*x)`), then narrow bands
    /// of positive and negative data at every eighth of a decade from 10⁻⁴ to 10⁴, nearest
    /// to 1 first (for a domain away from 0: `sqrt(x - 3)`, `log(5 - x) + sqrt(x - 3)`,
    /// `sqrt(-3 - x)`).
    pub fn ladder() -> Vec<Draw> {
        let scaled = |base, negative, eighths| Draw::Scaled {
            base,
            negative,
            eighths,
        };
        let mut ladder = vec![
            Draw::Signed,
            Draw::Positive,
            scaled(Base::Signed, false, -8),
            scaled(Base::Signed, false, -16),
        ];
        for k in 0..=LADDER_EIGHTHS {
            let eighths = if k == 0 { vec![0] } else { vec![k, -k] };
            for e in eighths {
                ladder.extend([false, true].map(|negative| scaled(Base::Near, negative, e)));
            }
        }
        ladder
    }
}

/// Random values for `variables` (respecting sym, spd and diag) with sizes bound.
pub fn random_point(
    variables: &[Variable],
    sizes: &HashMap<Symbol, usize>,
    draw: Draw,
    rng: &mut StdRng,
) -> Point {
    let mut point = Point {
        sizes: sizes.clone(),
        ..Point::default()
    };
    for v in variables {
        let value = random_value(point.dims(v.shape), v.props, draw, rng);
        point.values.insert(v.name, value);
    }
    point
}

/// One random value of the given size and properties.
pub fn random_value(
    dims: (usize, usize),
    props: crate::expr::Props,
    draw: Draw,
    rng: &mut StdRng,
) -> Value {
    match draw {
        Draw::Signed => around_zero(dims, props, false, rng),
        Draw::Positive => around_zero(dims, props, true, rng),
        Draw::Scaled {
            base,
            negative,
            eighths,
        } => {
            let value = match base {
                Base::Signed => around_zero(dims, props, false, rng),
                Base::Near => near_one(dims, props, rng),
            };
            let factor = 10f64.powf(f64::from(eighths) / 8.0);
            let sign = if negative && !props.spd { -1.0 } else { 1.0 };
            value * (sign * factor)
        }
    }
}

/// Data of [`Draw::Signed`], or of [`Draw::Positive`] when `positive`.
fn around_zero(
    dims: (usize, usize),
    props: crate::expr::Props,
    positive: bool,
    rng: &mut StdRng,
) -> Value {
    let (r, c) = dims;
    let m = DMatrix::from_fn(r, c, |_, _| {
        if positive {
            rng.random_range(0.5..1.5)
        } else {
            rng.random_range(-1.0..1.0)
        }
    });
    if r != c || r == 1 {
        return m;
    }
    let n = r as f64;
    if props.diag {
        return DMatrix::from_diagonal(&m.diagonal().map(|x| x.abs() + 0.5));
    }
    if props.spd || positive {
        return &m * m.transpose() + DMatrix::identity(r, r) * n;
    }
    let shifted = &m + DMatrix::identity(r, r) * (0.5 * n);
    if props.sym {
        (&shifted + shifted.transpose()) * 0.5
    } else {
        shifted
    }
}

/// Data of [`Base::Near`]: entries in [0.9, 1.1], square matrices near the identity
/// (symmetric when the variable is, diagonal when it is).
fn near_one(dims: (usize, usize), props: crate::expr::Props, rng: &mut StdRng) -> Value {
    let (r, c) = dims;
    if r != c || r == 1 {
        return DMatrix::from_fn(r, c, |_, _| rng.random_range(0.9..1.1));
    }
    let m = DMatrix::from_fn(r, c, |i, j| {
        if i == j {
            rng.random_range(0.9..1.1)
        } else if props.diag {
            0.0
        } else {
            rng.random_range(-0.05..0.05)
        }
    });
    if props.sym || props.spd {
        (&m + m.transpose()) * 0.5
    } else {
        m
    }
}

/// A fresh seeded generator.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}
