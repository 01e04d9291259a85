//! What the uses of an undeclared name say about its shape: a transposed name is an array, a
//! name that scales an array a scalar, the argument of tr a square matrix, a divisor named n
//! a dimension. The evidence of every use, the readings it settles, the conflicts between
//! uses, and the notes where a convention decided.

use super::{Inference, UDim, UShape, Variable};
use crate::error::{Error, Result, Span};
use crate::expr::Func;
use crate::names::{self, Kind};
use crate::parse::{BinOp, Syntax, SyntaxKind};
use crate::shape::Dim;
use egg::Symbol;
use rustc_hash::{FxHashMap, FxHashSet};

/// What one use of an undeclared name says about its shape.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Evidence {
    pub(super) name: String,
    pub(super) want: Want,
    /// The use, and how it reads the name, for notes and conflicts: `in x'`.
    pub(super) span: Span,
    pub(super) why: String,
    /// The note to give when this use moves the name away from its convention.
    pub(super) note: Option<String>,
}

/// The shape a use asks of a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Want {
    /// Not a scalar (transposed, multiplied on the right of an array, summed).
    Array,
    /// A scalar (scales an array, raised to a power).
    Scalar,
    /// A square matrix (tr, det, logdet, inv).
    Matrix,
    /// A dimension (a divisor named n, m, p, q or k).
    Dimension,
}

/// The kind each name with evidence is read as, or the error for two uses that disagree.
pub(super) fn readings(evidence: &[Evidence]) -> Result<FxHashMap<String, Kind>> {
    let mut kinds = FxHashMap::default();
    for e in evidence {
        let convention = names::convention(&e.name).kind;
        let kind = match e.want {
            Want::Array if convention == Kind::Scalar => Kind::Vector,
            Want::Array => convention,
            Want::Scalar => Kind::Scalar,
            Want::Matrix => Kind::Matrix,
            Want::Dimension => Kind::Dimension,
        };
        let clash = evidence.iter().find(|other| {
            other.name == e.name && other.span != e.span && !compatible(other.want, e.want)
        });
        if let Some(first) = clash {
            return Err(Error::Conflict {
                message: format!(
                    "`{}` is used as {} and as {}",
                    e.name,
                    wanted(first.want),
                    wanted(e.want)
                ),
                uses: Box::new([
                    (first.span, format!("{} {}", wanted(first.want), first.why)),
                    (e.span, format!("{} {}", wanted(e.want), e.why)),
                ]),
                hint: format!(
                    "declare `{}` with the shape you mean, as in `{}` or `{}`, or use another name for one of them",
                    e.name,
                    Kind::Scalar.declaration(&e.name),
                    Kind::Vector.declaration(&e.name)
                ),
            });
        }
        // A matrix reading wins over an array one (both are arrays).
        if kinds.get(&e.name) != Some(&Kind::Matrix) {
            kinds.insert(e.name.clone(), kind);
        }
    }
    Ok(kinds)
}

pub(super) fn compatible(a: Want, b: Want) -> bool {
    a == b
        || matches!(
            (a, b),
            (Want::Array, Want::Matrix) | (Want::Matrix, Want::Array)
        )
}

pub(super) fn wanted(w: Want) -> &'static str {
    match w {
        Want::Array => "an array",
        Want::Scalar => "a scalar",
        Want::Matrix => "a square matrix",
        Want::Dimension => "a dimension",
    }
}

impl Inference<'_> {
    /// Whether `e` is an undeclared name (not a definition, not a dimension).
    pub(super) fn undeclared<'e>(&self, e: &'e Syntax) -> Option<&'e str> {
        match &e.kind {
            SyntaxKind::Name(n)
                if !self.declared.contains(n)
                    && !self.defs.contains_key(n)
                    && !self.declared_dims.contains(n) =>
            {
                Some(n)
            }
            _ => None,
        }
    }

    /// Records what the use `at` says about the shape of `e`, when `e` is an undeclared name.
    pub(super) fn observe(&mut self, e: &Syntax, want: Want, at: &Syntax) {
        if let Some(name) = self.undeclared(e) {
            self.observe_name(name, want, at);
        }
    }

    /// Records what the use `at` says about the shape of the undeclared name `name`.
    pub(super) fn observe_name(&mut self, name: &str, want: Want, at: &Syntax) {
        let why = format!("in `{}`", self.text(at.span));
        self.evidence.push(Evidence {
            name: name.to_string(),
            want,
            span: at.span,
            why,
            note: None,
        });
    }

    /// [`Self::observe`] with the note to give when the use overrides the name's convention.
    pub(super) fn observe_noted(&mut self, e: &Syntax, want: Want, at: &Syntax, note: String) {
        self.observe(e, want, at);
        if let Some(last) = self.evidence.last_mut()
            && last.span == at.span
        {
            last.note = Some(note);
        }
    }

    /// The undeclared name whose convention makes `e` an array, when it alone does (`l` in
    /// `l*norm2(w)^2`): the name a broadcast may have read wrongly.
    pub(super) fn sole_array_name<'e>(&mut self, e: &'e Syntax) -> Option<&'e str> {
        let scalar = |cx: &mut Self, x: &Syntax| {
            let s = cx.node_shapes.get(&(x.span.start, x.span.end)).copied();
            s.is_some_and(|s| cx.is_scalar(s))
        };
        match &e.kind {
            SyntaxKind::Name(n) => {
                let by_convention = self.undeclared(e).is_some()
                    && !self.kinds.contains_key(n)
                    && !self.biases.contains(n)
                    && names::convention(n).kind == Kind::Vector;
                by_convention.then_some(n.as_str())
            }
            SyntaxKind::Neg(a) | SyntaxKind::T(a) => self.sole_array_name(a),
            SyntaxKind::Call(f, _, args) if args.len() == 1 => {
                let elementwise = Func::from_name(f).is_some_and(Func::is_elementwise);
                if elementwise {
                    self.sole_array_name(&args[0])
                } else {
                    None
                }
            }
            SyntaxKind::Bin(
                BinOp::Mul | BinOp::Div | BinOp::Had | BinOp::HDiv | BinOp::Add | BinOp::Sub,
                a,
                b,
            ) => {
                if scalar(self, a) {
                    self.sole_array_name(b)
                } else if scalar(self, b) {
                    self.sole_array_name(a)
                } else if matches!(e.kind, SyntaxKind::Bin(BinOp::Mul, ..)) {
                    self.leading_column_name(a, b)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// In `u*r*b` with `r` a row and `b` a column (`y*theta'*x`), the name `u` alone makes
    /// the product an array: read as a scalar, `u*(r*b)` is a scalar.
    fn leading_column_name<'e>(&mut self, a: &'e Syntax, b: &'e Syntax) -> Option<&'e str> {
        let dims = |cx: &mut Self, x: &Syntax| {
            let s = cx.node_shapes.get(&(x.span.start, x.span.end)).copied()?;
            Some((cx.resolve(s.0), cx.resolve(s.1)))
        };
        let one = UDim::Known(Dim::ONE);
        let SyntaxKind::Bin(BinOp::Mul, u, row) = &a.kind else {
            return None;
        };
        let (row_rows, _) = dims(self, row)?;
        let (_, b_cols) = dims(self, b)?;
        if row_rows != one || b_cols != one || !matches!(u.kind, SyntaxKind::Name(_)) {
            return None;
        }
        self.sole_array_name(u)
    }

    /// A note when a scalar is broadcast over an array that is one only by a name's
    /// convention: the other reading (the name a scalar) fits as well.
    pub(super) fn note_broadcast(&mut self, scalar_side: &Syntax, array_side: &Syntax) {
        let Some(name) = self.sole_array_name(array_side) else {
            return;
        };
        let note = format!(
            "`{name}` is read as a vector ({}), so the scalar `{}` is broadcast over every entry of `{}`; declare `{}` if it is a scalar",
            names::convention(name).rule,
            self.text(scalar_side.span),
            self.text(array_side.span),
            Kind::Scalar.declaration(name)
        );
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// Whether `e` is an undeclared lowercase name (vectors and scalars by convention).
    pub(super) fn lowercase_name(&self, e: &Syntax) -> bool {
        self.undeclared(e)
            .is_some_and(|n| names::convention(n).kind != Kind::Matrix)
    }

    /// What a binary operation says about undeclared operands: `P*u` with P an array makes u
    /// a vector, `u*P` a scalar, `u^k` a scalar, `/n` a dimension.
    pub(super) fn observe_binary(
        &mut self,
        e: &Syntax,
        op: BinOp,
        a: (&Syntax, UShape),
        b: (&Syntax, UShape),
    ) {
        let one = UDim::Known(Dim::ONE);
        let vector_by_convention = |cx: &Self, x: &Syntax| {
            cx.undeclared(x).is_some_and(|n| {
                names::convention(n).kind == Kind::Vector && !cx.biases.contains(n)
            })
        };
        match op {
            BinOp::Mul => {
                if self.lowercase_name(b.0) && !self.is_scalar(a.1) && self.resolve(a.1.1) != one {
                    self.observe(b.0, Want::Array, e);
                }
                if vector_by_convention(self, a.0)
                    && !self.is_scalar(b.1)
                    && self.resolve(b.1.0) != one
                {
                    // `s*x`, `t*A`: a scalar written first. Between two vector names (`x*t`)
                    // that is a choice, and the note says so.
                    if vector_by_convention(self, b.0) {
                        let (name, other) = (self.text(a.0.span), self.text(b.0.span));
                        let note = format!(
                            "`{name}` is read as a scalar that scales `{other}` in `{}` ({} otherwise); declare `{name}: R^n` and `{other}: R` for a vector scaled by {other}",
                            self.text(e.span),
                            names::convention(name).rule,
                        );
                        self.observe_noted(a.0, Want::Scalar, e, note);
                    } else {
                        self.observe(a.0, Want::Scalar, e);
                    }
                }
                // `(A*x)*t`: a column times a column conforms only if t is a scalar. (For
                // `x*t` the rule above reads x as the scalar, written first as usual.)
                if vector_by_convention(self, b.0)
                    && self.undeclared(a.0).is_none()
                    && !self.is_scalar(a.1)
                    && self.resolve(a.1.1) == one
                {
                    let name = self.text(b.0.span).to_string();
                    let note = format!(
                        "`{name}` is read as a scalar, as `{}` scales a column by it ({} otherwise); declare `{}` to say so",
                        self.text(e.span),
                        names::convention(&name).rule,
                        Kind::Scalar.declaration(&name)
                    );
                    self.observe_noted(b.0, Want::Scalar, e, note);
                }
            }
            BinOp::Pow if self.lowercase_name(a.0) => {
                let name = self.text(a.0.span).to_string();
                let note = format!(
                    "`{name}` is read as a scalar, as `{}` is a power ({} otherwise); for the entries of a vector, write `{name}.^{}`",
                    self.text(e.span),
                    names::convention(&name).rule,
                    crate::parse::grouped(self.text(b.0.span))
                );
                self.observe_noted(a.0, Want::Scalar, e, note);
            }
            BinOp::Div => {
                for factor in factors(b.0) {
                    if let Some(n) = self.undeclared(factor)
                        && names::DIMENSIONS.contains(&n)
                    {
                        let name = n.to_string();
                        let note = format!(
                            "`{name}` is read as the dimension {name}, a number; declare `{name}: R` for a scalar variable"
                        );
                        self.observe_noted(factor, Want::Dimension, e, note);
                    }
                }
            }
            _ => {}
        }
    }

    /// What a function says about an undeclared argument: tr, det, logdet and inv take a
    /// square matrix, sums, norms, means and softmax an array.
    pub(super) fn observe_call(&mut self, e: &Syntax, f: Func, arg: &Syntax) {
        let Some(name) = self.undeclared(arg).map(str::to_string) else {
            // sum(log(1 + exp(v))): the name that alone makes the argument an array is one.
            if matches!(f, Func::Sum | Func::Norm1 | Func::Norm2 | Func::Mean)
                && let Some(name) = self.sole_array_name(arg).map(str::to_string)
            {
                self.observe_name(&name, Want::Array, e);
            }
            return;
        };
        let convention = names::convention(&name);
        match f {
            Func::Tr | Func::Det | Func::Logdet | Func::Inv if convention.kind == Kind::Vector => {
                let note = format!(
                    "`{name}` is read as a square matrix, as `{}` needs one ({} otherwise); declare `{}` for a scalar",
                    self.text(e.span),
                    convention.rule,
                    Kind::Scalar.declaration(&name)
                );
                self.observe_noted(arg, Want::Matrix, e, note);
            }
            Func::Sum
            | Func::Norm1
            | Func::Norm2
            | Func::Mean
            | Func::Softmax
            | Func::Logsumexp
                if convention.kind != Kind::Matrix =>
            {
                self.observe(arg, Want::Array, e);
            }
            _ => {}
        }
    }

    /// Refuses an undeclared vector that a use made a scalar (`(A*x)*y` with `y` read as a
    /// vector): the expression asks a different question than its names say.
    pub(super) fn check_no_vector_became_scalar(&mut self, order: &[String]) -> Result<()> {
        for name in order {
            if self.declared.contains(name) || self.biases.contains(name) {
                continue;
            }
            let ((rows, _), _) = self.vars[name];
            let UDim::Var(v) = rows else { continue };
            if self.kind(name) != Kind::Vector || self.resolve(rows) != UDim::Known(Dim::ONE) {
                continue;
            }
            let root = self.root(v);
            let at = self
                .one_at
                .get(&root)
                .or_else(|| self.one_at.get(&v))
                .copied();
            let first = self.first_use.get(name).copied().unwrap_or_default();
            let why = match self.kinds.get(name) {
                Some(_) => "as its other uses require".to_string(),
                None => format!("as {}", names::convention(name).rule),
            };
            return Err(Error::Conflict {
                message: format!(
                    "`{name}` is read as a vector ({why}), but a use makes it a scalar"
                ),
                uses: Box::new([
                    (first, "read as a vector".into()),
                    (at.unwrap_or(first), "this use needs a scalar".into()),
                ]),
                hint: format!(
                    "declare `{}` for a scalar, or `{}` for a vector and correct the use",
                    Kind::Scalar.declaration(name),
                    Kind::Vector.declaration(name)
                ),
            });
        }
        Ok(())
    }

    /// Refuses a name used as a dimension (`sum(x)/n`) that no array has.
    pub(super) fn check_dimensions(&self, variables: &[Variable]) -> Result<()> {
        let sizes: FxHashSet<String> = (variables.iter())
            .flat_map(|v| [v.shape.rows, v.shape.cols])
            .flat_map(Dim::factors)
            .map(|d| d.to_string())
            .chain(self.declared_dims.iter().cloned())
            .collect();
        let mut used: Vec<(&String, &Span)> = self.dimensions.iter().collect();
        used.sort_by_key(|(_, span)| span.start);
        match used.into_iter().find(|(name, _)| !sizes.contains(*name)) {
            None => Ok(()),
            Some((name, span)) => Err(Error::Shape {
                message: format!(
                    "`{name}` is used as a dimension, but no array has a dimension {name}"
                ),
                span: *span,
                hint: format!(
                    "declare `{name}: R` for a scalar, or give an array that size, as in `x: R^{name}`"
                ),
            }),
        }
    }

    /// The notes on this input's readings: uses that moved a name from its convention, and
    /// names whose convention is ambiguous, in order of first use; then the broadcast notes.
    pub(super) fn notes_on_readings(
        &self,
        order: &[String],
        variables: &[Variable],
    ) -> Vec<String> {
        let mut notes = Vec::new();
        let mut dimensions: Vec<(&String, &Span)> = self.dimensions.iter().collect();
        dimensions.sort_by_key(|(_, span)| span.start);
        for name in order.iter().chain(dimensions.into_iter().map(|(n, _)| n)) {
            if self.declared.contains(name) {
                continue;
            }
            let convention = names::convention(name);
            let kind = self.kind(name);
            let noted = (self.evidence.iter())
                .filter(|e| &e.name == name)
                .find_map(|e| e.note.clone().filter(|_| kind != convention.kind));
            if kind == Kind::Dimension {
                notes.push(dimension_note(name, variables));
            } else if let Some(note) = noted {
                notes.push(note);
            } else if convention.ambiguous && !self.kinds.contains_key(name) {
                let other = if kind == Kind::Scalar {
                    Kind::Vector
                } else {
                    Kind::Scalar
                };
                notes.push(format!(
                    "`{name}` is read as {} ({}); declare `{}` for {}",
                    kind.noun(),
                    convention.rule,
                    other.declaration(name),
                    other.noun()
                ));
            }
        }
        notes.extend(self.notes.iter().cloned());
        notes
    }
}

/// The note on a name read as a dimension: which arrays have it.
pub(super) fn dimension_note(name: &str, variables: &[Variable]) -> String {
    let dim = Dim::Sym(Symbol::from(name));
    let arrays: Vec<String> = (variables.iter())
        .filter(|v| v.shape.rows.factors().contains(&dim) || v.shape.cols.factors().contains(&dim))
        .map(|v| format!("`{v}`"))
        .collect();
    format!(
        "`{name}` is read as the dimension {name} of {}, a number; declare the shapes to give it another meaning, or `{name}: R` for a scalar variable",
        arrays.join(", ")
    )
}

/// The factors of a product of names and numbers, `2*m` (a divisor that may be a dimension);
/// nothing for any other expression.
pub(super) fn factors(e: &Syntax) -> Vec<&Syntax> {
    match &e.kind {
        SyntaxKind::Name(_) => vec![e],
        SyntaxKind::Bin(BinOp::Mul, a, b) => {
            let whole = |x: &Syntax| matches!(x.kind, SyntaxKind::Num(_)) || !factors(x).is_empty();
            if whole(a) && whole(b) {
                factors(a).into_iter().chain(factors(b)).collect()
            } else {
                vec![]
            }
        }
        _ => vec![],
    }
}
