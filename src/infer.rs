//! Shape inference: turns the syntax tree into a typed [`Expr`], unifying symbolic dimensions
//! across the whole input, applying the default names (a–g scalars, h–z vectors, A–Z matrices)
//! and checking every operation's shapes.

use crate::build;
use crate::error::{Error, Result, Span};
use crate::expr::{Expr, Func, Op, Props};
use crate::names::{self, Kind};
use crate::parse::{BinOp, DimSyntax, Program, Syntax, SyntaxKind};
use crate::shape::{Dim, Shape};
use egg::Symbol;
use num_traits::Signed;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;

mod uses;
use uses::{Evidence, Want, readings};

/// A variable of the input with its shape and properties.
#[derive(Clone, Debug, PartialEq)]
pub struct Variable {
    /// Its name.
    pub name: Symbol,
    /// Its shape.
    pub shape: Shape,
    /// Its declared properties.
    pub props: Props,
}

impl std::fmt::Display for Variable {
    /// The declaration that gives this variable: `A: R^(n x n) sym`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.shape)?;
        for (on, name) in [
            (self.props.sym, "sym"),
            (self.props.spd, "spd"),
            (self.props.diag, "diag"),
        ] {
            if on {
                write!(f, " {name}")?;
            }
        }
        Ok(())
    }
}

/// The typed input: the expression and what it is built from.
#[derive(Clone, Debug)]
pub struct Typed {
    /// The expression, with definitions substituted.
    pub expr: Expr,
    /// Every variable, declared or used, in order of first appearance.
    pub variables: Vec<Variable>,
    /// The definitions (names of intermediate quantities, not variables) and their values.
    pub definitions: Vec<(String, Expr)>,
    /// How undeclared names were read where the expression left a choice: each note names
    /// the name, the reading and the declaration that gives the other one.
    pub notes: Vec<String>,
}

impl Typed {
    /// The variable of a given name.
    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.name.as_str() == name)
    }

    /// Declarations of every variable, `x: R^n; A: R^(n x n) sym; `, so that an expression
    /// over them parses with the same shapes.
    pub fn declarations(&self) -> String {
        self.variables.iter().map(|v| format!("{v}; ")).collect()
    }

    /// Every symbolic dimension, sorted.
    pub fn dims(&self) -> Vec<Symbol> {
        let mut sides: FxHashSet<Dim> = (self.variables.iter())
            .flat_map(|v| [v.shape.rows, v.shape.cols])
            .collect();
        // Sizes that only constants have (`ones(m, n)` beside an n-vector) are dimensions too.
        expression_sides(&self.expr, &mut FxHashSet::default(), &mut sides);
        let mut dims: Vec<Symbol> = (sides.into_iter())
            .flat_map(Dim::factors)
            .filter_map(|d| match d {
                Dim::Sym(s) => Some(s),
                Dim::Lit(_) => None,
            })
            .collect();
        dims.sort_by_key(|s| s.as_str().to_string());
        dims.dedup();
        dims
    }
}

/// A dimension during unification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UDim {
    Known(Dim),
    Var(usize),
}

type UShape = (UDim, UDim);

const SCALAR: UShape = (UDim::Known(Dim::ONE), UDim::Known(Dim::ONE));

/// Infers the shapes of a parsed input.
///
/// An undeclared a–g name added to (or subtracted from) an array is taken as a bias of that
/// array's shape, as in `tanh(W*x + b)`; declare it `b: R` for a broadcast scalar.
///
/// An undeclared name takes the shape its uses require: a transposed name or one multiplied
/// on the right of an array is a vector, a name that scales an array or is raised to a power
/// is a scalar, the argument of tr, det, logdet or inv a matrix, a divisor among n, m, p, q,
/// k a dimension. Where nothing decides, the conventions of [`names`] do; a note says so
/// where the other reading fits as well. Uses that want different shapes are an error.
pub fn infer(program: &Program, src: &str) -> Result<Typed> {
    let mut evidence: Vec<Evidence> = Vec::new();
    // Each pass reads the names as the evidence so far says; evidence only accumulates, so
    // the readings settle within a few passes. A pass that fails may fail for a reading its
    // own uses have since corrected.
    let mut kinds = readings(&evidence)?;
    let mut pass = Err(Error::Internal {
        message: "no inference pass ran".into(),
    });
    for _ in 0..4 {
        let seen;
        (pass, seen) = infer_with(program, src, FxHashSet::default(), kinds.clone());
        for fact in seen {
            if !evidence
                .iter()
                .any(|e| e.name == fact.name && e.want == fact.want)
            {
                evidence.push(fact);
            }
        }
        let settled = readings(&evidence)?;
        if settled == kinds {
            break;
        }
        kinds = settled;
    }
    let (typed, biases) = pass?;
    if biases.is_empty() {
        return Ok(typed);
    }
    // Scalars that only ever meet arrays in sums are biases of those arrays' shapes.
    let (with_biases, _) = infer_with(program, src, biases, kinds);
    Ok(with_biases.map_or(typed, |(t, _)| t))
}

/// One inference pass with the names in `biases` taken as arrays and the names in `kinds`
/// read as given; also returns the default scalars that met an array in a sum and the
/// evidence the uses gave.
fn infer_with(
    program: &Program,
    src: &str,
    biases: FxHashSet<String>,
    kinds: FxHashMap<String, Kind>,
) -> (Result<(Typed, FxHashSet<String>)>, Vec<Evidence>) {
    let mut cx = Inference {
        src,
        biases,
        kinds,
        ..Default::default()
    };
    let typed = cx.run(program, src);
    (typed, cx.evidence)
}

impl Inference<'_> {
    /// Declarations, definitions, then the body; the typed input and the biases found.
    fn run(&mut self, program: &Program, src: &str) -> Result<(Typed, FxHashSet<String>)> {
        let cx = self;
        for decl in &program.decls {
            cx.declare(decl)?;
        }
        // A name that sizes a constant anywhere (`eye(m)`) is that dimension everywhere, also
        // where it is used as a number before the constant (`m*x + ... + sum(eye(m))`).
        let bodies = program.defs.iter().map(|d| &d.value).chain(&program.body);
        bodies.for_each(|e| constant_sizes(e, &mut cx.declared_dims));
        let mut values = Vec::new();
        for def in &program.defs {
            let declared = program.decls.iter().any(|d| d.name == def.name);
            if cx.defs.contains_key(&def.name) || declared {
                return Err(Error::Syntax {
                    message: format!("`{}` is defined twice", def.name),
                    span: def.span,
                    hint: "give each definition its own name".into(),
                });
            }
            if cx.vars.contains_key(&def.name) {
                return Err(Error::Syntax {
                    message: format!("`{}` is used before its definition", def.name),
                    span: def.span,
                    hint: "define a name before the lines that use it".into(),
                });
            }
            let shape = cx.shape(&def.value)?;
            cx.defs.insert(def.name.clone(), shape);
            values.push(def);
        }
        let Some(body) = &program.body else {
            return Err(Error::Syntax {
                message: "there is no expression to differentiate".into(),
                span: Span::new(src.len(), src.len() + 1),
                hint: "end the input with an expression, as in `x: R^n; x'*x`".into(),
            });
        };
        cx.shape(body)?;
        // A name is a bias only when every use of it is a term added to an array.
        let found = (cx.uses.iter())
            .filter(|(_, (all, added))| all == added)
            .map(|(n, _)| n.clone())
            .collect();
        Ok((cx.finish(values, body)?, found))
    }
}

#[derive(Default)]
struct Inference<'s> {
    src: &'s str,
    parent: Vec<usize>,
    bound: Vec<Option<Dim>>,
    vars: FxHashMap<String, (UShape, Props)>,
    order: Vec<String>,
    defs: FxHashMap<String, UShape>,
    /// The shapes of `eye`, `ones`, `zeros` and `commutation` calls, by span.
    constants: FxHashMap<(usize, usize), UShape>,
    /// Sizes that are products of sizes not yet known (the length of vec(X), the sides of
    /// A ⊗ B): the product, its factors, and where it was asked for.
    products: Vec<(UDim, UDim, UDim, Span)>,
    /// Undeclared a–g names to take as arrays (biases).
    biases: FxHashSet<String>,
    /// Undeclared names given the scalar default.
    default_scalars: FxHashSet<String>,
    /// How often each undeclared name is used, and how often as a term added to an array.
    uses: FxHashMap<String, (usize, usize)>,
    /// The readings evidence gave undeclared names in earlier passes.
    kinds: FxHashMap<String, Kind>,
    /// What the uses in this pass say about undeclared names.
    evidence: Vec<Evidence>,
    /// Declared names.
    declared: FxHashSet<String>,
    /// The shape of every node checked, by span.
    node_shapes: FxHashMap<(usize, usize), UShape>,
    /// Dimension names of the declarations.
    declared_dims: FxHashSet<String>,
    /// Names used as dimensions, with their first use.
    dimensions: FxHashMap<String, Span>,
    /// Notes on readings the conventions decided, in order.
    notes: Vec<String>,
    /// The node being checked, and where each dimension became 1 (a vector made a scalar).
    at: Span,
    one_at: FxHashMap<usize, Span>,
    /// Where each undeclared name is first used.
    first_use: FxHashMap<String, Span>,
}

impl Inference<'_> {
    fn fresh(&mut self) -> UDim {
        self.parent.push(self.parent.len());
        self.bound.push(None);
        UDim::Var(self.parent.len() - 1)
    }

    fn root(&mut self, v: usize) -> usize {
        let p = self.parent[v];
        if p == v {
            return v;
        }
        let r = self.root(p);
        self.parent[v] = r;
        r
    }

    fn resolve(&mut self, d: UDim) -> UDim {
        match d {
            UDim::Known(_) => d,
            UDim::Var(v) => {
                let r = self.root(v);
                self.bound[r].map_or(UDim::Var(r), UDim::Known)
            }
        }
    }

    fn is_scalar(&mut self, s: UShape) -> bool {
        self.resolve(s.0) == UDim::Known(Dim::ONE) && self.resolve(s.1) == UDim::Known(Dim::ONE)
    }

    /// Makes two dimensions equal; false when they are different known sizes.
    fn unify_dim(&mut self, a: UDim, b: UDim) -> bool {
        match (self.resolve(a), self.resolve(b)) {
            (x, y) if x == y => true,
            (UDim::Var(x), UDim::Var(y)) => {
                self.parent[x] = y;
                true
            }
            (UDim::Var(x), UDim::Known(d)) | (UDim::Known(d), UDim::Var(x)) => {
                self.bound[x] = Some(d);
                if d == Dim::ONE {
                    self.one_at.insert(x, self.at);
                }
                true
            }
            _ => false,
        }
    }

    fn declare(&mut self, decl: &crate::parse::Decl) -> Result<()> {
        fn size(d: &DimSyntax) -> Dim {
            match d {
                DimSyntax::Lit(n) => Dim::Lit(*n),
                DimSyntax::Name(s) => Dim::Sym(Symbol::from(s.as_str())),
                DimSyntax::Product(factors) => factors.iter().map(size).fold(Dim::ONE, Dim::times),
            }
        }
        fn names_of(d: &DimSyntax, out: &mut FxHashSet<String>) {
            match d {
                DimSyntax::Name(n) => {
                    out.insert(n.clone());
                }
                DimSyntax::Lit(_) => {}
                DimSyntax::Product(factors) => factors.iter().for_each(|f| names_of(f, out)),
            }
        }
        names_of(&decl.dims.0, &mut self.declared_dims);
        names_of(&decl.dims.1, &mut self.declared_dims);
        self.declared.insert(decl.name.clone());
        let dim = |d: &DimSyntax| UDim::Known(size(d));
        let shape = (dim(&decl.dims.0), dim(&decl.dims.1));
        let mut props = Props::default();
        for (prop, span) in &decl.props {
            if shape.0 != shape.1 {
                return Err(Error::Shape {
                    message: format!("`{}` is declared {prop} but is not square", decl.name),
                    span: *span,
                    hint: format!("declare it as R^(n x n) {prop}"),
                });
            }
            match prop.as_str() {
                "sym" => props.sym = true,
                "spd" => props.spd = true,
                _ => props.diag = true,
            }
        }
        if self
            .vars
            .insert(decl.name.clone(), (shape, props))
            .is_some()
        {
            return Err(Error::Syntax {
                message: format!("`{}` is declared twice", decl.name),
                span: decl.span,
                hint: "declare each name once".into(),
            });
        }
        self.order.push(decl.name.clone());
        Ok(())
    }

    /// The reading of an undeclared name: what its uses said in earlier passes, else the
    /// convention of [`names::convention`].
    fn kind(&self, name: &str) -> Kind {
        (self.kinds.get(name).copied()).unwrap_or_else(|| names::convention(name).kind)
    }

    /// The shape of a name used without declaration.
    fn default_shape(&mut self, name: &str) -> UShape {
        if self.biases.contains(name) {
            return (self.fresh(), self.fresh());
        }
        match self.kind(name) {
            Kind::Matrix => (self.fresh(), self.fresh()),
            Kind::Vector => (self.fresh(), UDim::Known(Dim::ONE)),
            Kind::Scalar | Kind::Dimension => {
                self.default_scalars.insert(name.to_string());
                SCALAR
            }
        }
    }

    fn show_dim(&mut self, d: UDim) -> String {
        match self.resolve(d) {
            UDim::Known(d) => d.to_string(),
            UDim::Var(_) => "?".to_string(),
        }
    }

    fn show(&mut self, s: UShape) -> String {
        let d = |cx: &mut Self, d: UDim| match cx.resolve(d) {
            UDim::Known(d) => d.to_string(),
            UDim::Var(_) => "?".to_string(),
        };
        let (r, c) = (d(self, s.0), d(self, s.1));
        match (r.as_str(), c.as_str()) {
            ("1", "1") => "R".into(),
            (_, "1") if r.contains('*') => format!("R^({r} x 1)"),
            (_, "1") => format!("R^{r}"),
            _ => format!("R^({r} x {c})"),
        }
    }

    fn text(&self, span: Span) -> &str {
        self.src.get(span.start..span.end).unwrap_or("?")
    }

    fn mismatch(
        &mut self,
        e: &Syntax,
        a: (&Syntax, UShape),
        b: (&Syntax, UShape),
        hint: String,
    ) -> Error {
        let (sa, sb) = (self.show(a.1), self.show(b.1));
        Error::Shape {
            message: format!(
                "`{}` is {sa} but `{}` is {sb}",
                self.text(a.0.span),
                self.text(b.0.span)
            ),
            span: e.span,
            hint,
        }
    }

    fn shape(&mut self, e: &Syntax) -> Result<UShape> {
        let shape = self.node_shape(e)?;
        self.node_shapes.insert((e.span.start, e.span.end), shape);
        Ok(shape)
    }

    fn node_shape(&mut self, e: &Syntax) -> Result<UShape> {
        match &e.kind {
            SyntaxKind::Num(_) => Ok(SCALAR),
            SyntaxKind::Pat(_) => unreachable!("pattern variables only occur in rules"),
            SyntaxKind::Name(name) => Ok(self.name(name, e.span)?),
            SyntaxKind::Neg(a) => self.shape(a),
            SyntaxKind::T(a) => {
                let (r, c) = self.shape(a)?;
                if self.lowercase_name(a) {
                    self.observe(a, Want::Array, e);
                }
                Ok((c, r))
            }
            SyntaxKind::Bin(op, a, b) => {
                let (sa, sb) = (self.shape(a)?, self.shape(b)?);
                self.at = e.span;
                self.observe_binary(e, *op, (a, sa), (b, sb));
                self.binary(e, *op, (a, sa), (b, sb))
            }
            SyntaxKind::Call(name, name_span, args) => self.call(e, name, *name_span, args),
        }
    }

    fn name(&mut self, name: &str, span: Span) -> Result<UShape> {
        if let Some(s) = self.defs.get(name) {
            return Ok(*s);
        }
        if let Some((s, _)) = self.vars.get(name) {
            if let Some(count) = self.uses.get_mut(name) {
                count.0 += 1;
            }
            return Ok(*s);
        }
        if Func::from_name(name).is_some() || CONSTRUCTORS.contains(&name) || name == "kron" {
            return Err(Error::Syntax {
                message: format!("`{name}` is a function"),
                span,
                hint: format!("call it with an argument: {name}(...)"),
            });
        }
        if self.declared_dims.contains(name) || self.kinds.get(name) == Some(&Kind::Dimension) {
            self.dimensions.entry(name.to_string()).or_insert(span);
            return Ok(SCALAR);
        }
        self.first_use.entry(name.to_string()).or_insert(span);
        self.uses.entry(name.to_string()).or_default().0 += 1;
        let shape = self.default_shape(name);
        self.vars
            .insert(name.to_string(), (shape, Props::default()));
        self.order.push(name.to_string());
        Ok(shape)
    }

    fn binary(
        &mut self,
        e: &Syntax,
        op: BinOp,
        a: (&Syntax, UShape),
        b: (&Syntax, UShape),
    ) -> Result<UShape> {
        let (sa, sb) = (a.1, b.1);
        let (a_scalar, b_scalar) = (self.is_scalar(sa), self.is_scalar(sb));
        match op {
            BinOp::Add | BinOp::Sub | BinOp::Had | BinOp::HDiv | BinOp::HPow => {
                if matches!(op, BinOp::Add | BinOp::Sub) && a_scalar != b_scalar {
                    let (scalar_side, array_side) = if a_scalar { (a.0, b.0) } else { (b.0, a.0) };
                    self.note_broadcast(scalar_side, array_side);
                    if let SyntaxKind::Name(n) = &scalar_side.kind
                        && self.default_scalars.contains(n)
                    {
                        self.uses.entry(n.clone()).or_default().1 += 1;
                    }
                }
                if b_scalar {
                    return Ok(sa);
                }
                if a_scalar {
                    return Ok(sb);
                }
                if self.unify_dim(sa.0, sb.0) && self.unify_dim(sa.1, sb.1) {
                    return Ok(sa);
                }
                let hint = if self.resolve(sa.0) == self.resolve(sb.1)
                    && self.resolve(sa.1) == self.resolve(sb.0)
                {
                    format!("did you mean `{}`?", transposed(self.text(b.0.span)))
                } else {
                    "both sides of an elementwise operation need the same shape (or one a scalar)"
                        .into()
                };
                Err(self.mismatch(e, a, b, hint))
            }
            BinOp::Mul => {
                if a_scalar {
                    return Ok(sb);
                }
                if b_scalar {
                    return Ok(sa);
                }
                if self.unify_dim(sa.1, sb.0) {
                    return Ok((sa.0, sb.1));
                }
                let (ta, tb) = (
                    self.text(a.0.span).to_string(),
                    self.text(b.0.span).to_string(),
                );
                let hint = if self.resolve(sa.0) == self.resolve(sb.0) {
                    format!("did you mean `{}*{tb}`?", transposed(&ta))
                } else if self.resolve(sa.1) == self.resolve(sb.1) {
                    format!("did you mean `{ta}*{}`?", transposed(&tb))
                } else {
                    "in a matrix product the columns on the left must match the rows on the right; use .* for an elementwise product".into()
                };
                let (shown_a, shown_b) = (self.show(sa), self.show(sb));
                let (cols, rows) = (self.show_dim(sa.1), self.show_dim(sb.0));
                Err(Error::Shape {
                    message: format!(
                        "`{ta}` ({shown_a}) has {cols} column(s) but `{tb}` ({shown_b}) has {rows} row(s)"
                    ),
                    span: e.span,
                    hint,
                })
            }
            BinOp::Div => {
                if b_scalar {
                    return Ok(sa);
                }
                let sb = self.show(sb);
                Err(Error::Shape {
                    message: format!(
                        "`/` divides by scalars only, but `{}` is {sb}",
                        self.text(b.0.span)
                    ),
                    span: e.span,
                    hint: "use ./ for elementwise division, or inv(B) for the inverse".into(),
                })
            }
            BinOp::Pow => {
                if !b_scalar {
                    let sb = self.show(sb);
                    return Err(Error::Shape {
                        message: format!(
                            "the exponent `{}` is {sb}, not a scalar",
                            self.text(b.0.span)
                        ),
                        span: e.span,
                        hint: "use .^ for an elementwise power".into(),
                    });
                }
                if a_scalar {
                    return Ok(SCALAR);
                }
                if !is_integer_literal(b.0) {
                    return Err(Error::Shape {
                        message: format!(
                            "`{}` is a matrix; its power needs an integer exponent",
                            self.text(a.0.span)
                        ),
                        span: e.span,
                        hint: "use .^ for an elementwise power".into(),
                    });
                }
                if !self.unify_dim(sa.0, sa.1) {
                    let s = self.show(sa);
                    return Err(Error::Shape {
                        message: format!(
                            "`{}` is {s}, not square, so it has no matrix power",
                            self.text(a.0.span)
                        ),
                        span: e.span,
                        hint: "use .^ for an elementwise power".into(),
                    });
                }
                Ok(sa)
            }
        }
    }

    fn call(&mut self, e: &Syntax, name: &str, name_span: Span, args: &[Syntax]) -> Result<UShape> {
        if CONSTRUCTORS.contains(&name) {
            let shape = self.constant(e, name, args)?;
            self.constants.insert((e.span.start, e.span.end), shape);
            return Ok(shape);
        }
        if name == "kron" {
            return self.kron(e, args);
        }
        if EXTREMA.contains(&name) && args.len() != 1 {
            return self.extremum(e, name, args);
        }
        let Some(f) = Func::from_name(name) else {
            return Err(self.unknown_call(e, name, name_span, args));
        };
        if args.len() != 1 {
            return Err(Error::Syntax {
                message: format!("`{name}` takes one argument, not {}", args.len()),
                span: e.span,
                hint: format!("write {name}(expression)"),
            });
        }
        let s = self.shape(&args[0])?;
        self.at = e.span;
        self.observe_call(e, f, &args[0]);
        if matches!(f, Func::Softmax | Func::Logsumexp)
            && !self.unify_dim(s.1, UDim::Known(Dim::ONE))
        {
            let shown = self.show(s);
            return Err(Error::Shape {
                message: format!(
                    "{name} takes a vector, but `{}` is {shown}",
                    self.text(args[0].span)
                ),
                span: e.span,
                hint: format!(
                    "apply {name} to a vector, such as a column of the matrix: {name}(X*u)"
                ),
            });
        }
        let square = matches!(f, Func::Tr | Func::Det | Func::Logdet | Func::Inv)
            || (f == Func::Diag && self.resolve(s.1) != UDim::Known(Dim::ONE));
        if square && !self.unify_dim(s.0, s.1) {
            let shown = self.show(s);
            return Err(Error::Shape {
                message: format!(
                    "{name} needs a square matrix, but `{}` is {shown}",
                    self.text(args[0].span)
                ),
                span: e.span,
                hint: "tr, det, logdet, inv and diag of a matrix need as many rows as columns"
                    .into(),
            });
        }
        Ok(match f {
            _ if f.is_reduction() => SCALAR,
            Func::Diag if self.is_scalar(s) => SCALAR,
            Func::Diag if self.resolve(s.1) == UDim::Known(Dim::ONE) => (s.0, s.0),
            Func::Diag => (s.0, UDim::Known(Dim::ONE)),
            Func::Vec => (self.product(s.0, s.1, e.span), UDim::Known(Dim::ONE)),
            _ => s,
        })
    }

    /// `max(u, v)` and `min(u, v)`, entry by entry: shapes as in an elementwise operation.
    fn extremum(&mut self, e: &Syntax, name: &str, args: &[Syntax]) -> Result<UShape> {
        let [a, b] = args else {
            return Err(Error::Syntax {
                message: format!("`{name}` takes two arguments, not {}", args.len()),
                span: e.span,
                hint: format!(
                    "write {name}(u, v), the {} of u and v entry by entry",
                    if name == "max" { "larger" } else { "smaller" }
                ),
            });
        };
        let (sa, sb) = (self.shape(a)?, self.shape(b)?);
        self.at = e.span;
        self.binary(e, BinOp::Had, (a, sa), (b, sb))
    }

    /// The error for a call the language does not have: the rewrite that works where there
    /// is one (`dot(a, b)` is `a'*b`, `max(x)` has no derivative everywhere), else the closest
    /// function's name.
    fn unknown_call(&self, e: &Syntax, name: &str, name_span: Span, args: &[Syntax]) -> Error {
        let texts: Vec<&str> = args.iter().map(|a| self.text(a.span)).collect();
        if EXTREMA.contains(&name) {
            return Error::Syntax {
                message: format!(
                    "`{name}` of one argument (its {} entry) is not part of the language",
                    if name == "max" { "largest" } else { "smallest" }
                ),
                span: e.span,
                hint: format!(
                    "{name}(u, v) is entry by entry; for a smooth {name}imum of the entries, did you mean `{}`?",
                    crate::parse::rewrite(name, &texts).unwrap_or_default()
                ),
            };
        }
        // np.dot(a, b), torch.exp(x): the function without its library.
        let function = name.rsplit('.').next().unwrap_or(name);
        let own = Func::from_name(function).is_some()
            || CONSTRUCTORS.contains(&function)
            || EXTREMA.contains(&function)
            || function == "kron";
        let rewrite = crate::parse::rewrite(function, &texts)
            .or_else(|| own.then(|| format!("{function}({})", texts.join(", "))));
        match rewrite {
            Some(rewrite) => Error::UnknownFunction {
                name: name.into(),
                span: name_span,
                hint: format!("did you mean `{rewrite}`?"),
            },
            None => unknown_function(function, name_span),
        }
    }

    /// `kron(A, B)`: (rows A · rows B) × (cols A · cols B).
    fn kron(&mut self, e: &Syntax, args: &[Syntax]) -> Result<UShape> {
        let [a, b] = args else {
            return Err(Error::Syntax {
                message: format!("`kron` takes two arguments, not {}", args.len()),
                span: e.span,
                hint: "write kron(A, B) for the Kronecker product A ⊗ B".into(),
            });
        };
        let (sa, sb) = (self.shape(a)?, self.shape(b)?);
        Ok((
            // Factors in the order of the matrix whose vec this is when A and B are columns:
            // a ⊗ b = vec(b aᵀ).
            self.product(sb.0, sa.0, e.span),
            self.product(sb.1, sa.1, e.span),
        ))
    }

    /// The size a·b: known now, or settled once every size is named.
    /// A known product is kept too: another product of unknown sizes asked to equal it is read
    /// factor by factor (`vec(eye(n))'*vec(P)` makes P square).
    fn product(&mut self, a: UDim, b: UDim, span: Span) -> UDim {
        let p = match (self.resolve(a), self.resolve(b)) {
            (UDim::Known(x), UDim::Known(y)) => UDim::Known(x.times(y)),
            _ => self.fresh(),
        };
        self.products.push((p, a, b, span));
        p
    }

    /// Settles what the products a·b = p force before any unknown size is named: a factor 1
    /// makes p the other factor (vec of a column is the column), a known p and a known factor
    /// give the other factor (p / a), and two products asked to be equal whose factors are
    /// unknown are read as the same shape, factor by factor where the sizes allow (vec(X)ᵀvec(Y)
    /// compares X and Y of one shape). Repeated until nothing changes.
    fn settle_products(&mut self) {
        loop {
            let mut changed = false;
            let products = self.products.clone();
            for (i, &(p, a, b, _)) in products.iter().enumerate() {
                changed |= self.settle_product(p, a, b);
                for &(q, c, d, _) in &products[i + 1..] {
                    let fits = |cx: &mut Self, x: UDim, y: UDim| {
                        let (x, y) = (cx.resolve(x), cx.resolve(y));
                        x == y || matches!(x, UDim::Var(_)) || matches!(y, UDim::Var(_))
                    };
                    if self.resolve(p) == self.resolve(q) && fits(self, a, c) && fits(self, b, d) {
                        changed |= self.unify_changes(a, c) | self.unify_changes(b, d);
                    }
                }
            }
            if !changed {
                return;
            }
        }
    }

    /// What the one product p = a·b forces; whether anything changed.
    fn settle_product(&mut self, p: UDim, a: UDim, b: UDim) -> bool {
        let one = UDim::Known(Dim::ONE);
        match (self.resolve(p), self.resolve(a), self.resolve(b)) {
            (_, UDim::Known(x), UDim::Known(y)) => self.unify_changes(p, UDim::Known(x.times(y))),
            (_, x, other) | (_, other, x) if x == one => self.unify_changes(p, other),
            (UDim::Known(whole), UDim::Known(part), UDim::Var(_)) => {
                quotient(whole, part).is_some_and(|rest| self.unify_changes(b, UDim::Known(rest)))
            }
            (UDim::Known(whole), UDim::Var(_), UDim::Known(part)) => {
                quotient(whole, part).is_some_and(|rest| self.unify_changes(a, UDim::Known(rest)))
            }
            _ => false,
        }
    }

    /// [`Self::unify_dim`], reporting whether the two were not equal before (a failure is left
    /// for the product check in [`Self::finish`] to report with its span).
    fn unify_changes(&mut self, a: UDim, b: UDim) -> bool {
        self.resolve(a) != self.resolve(b) && self.unify_dim(a, b)
    }

    /// `eye(n)`, `ones(n)`, `ones(m, n)`, `zeros(m, n)`, `commutation(m, n)`; with no argument
    /// the shape is inferred.
    fn constant(&mut self, e: &Syntax, name: &str, args: &[Syntax]) -> Result<UShape> {
        let mut dims = Vec::new();
        for arg in args {
            let Some(d) = dimension(arg) else {
                return Err(Error::Syntax {
                    message: format!("the arguments of {name} are dimensions"),
                    span: arg.span,
                    hint: format!(
                        "write {name}(n) or {name}(m, n) with names, numbers or products (m*n)"
                    ),
                });
            };
            // A size named here is a dimension of the input, usable as a number.
            for factor in d.factors() {
                if let Dim::Sym(size) = factor {
                    self.declared_dims.insert(size.to_string());
                }
            }
            dims.push(UDim::Known(d));
        }
        if name == "commutation" {
            return match dims.as_slice() {
                [UDim::Known(m), UDim::Known(n)] => {
                    let size = UDim::Known(m.times(*n));
                    Ok((size, size))
                }
                _ => Err(Error::Syntax {
                    message: "commutation takes two dimensions".into(),
                    span: e.span,
                    hint: "write commutation(m, n): the mn × mn matrix with K vec(A) = vec(A') for A of size m × n".into(),
                }),
            };
        }
        match (name, dims.as_slice()) {
            (_, []) if name == "eye" => {
                let n = self.fresh();
                Ok((n, n))
            }
            (_, []) => Ok((self.fresh(), self.fresh())),
            ("eye", [n]) => Ok((*n, *n)),
            (_, [n]) => Ok((*n, UDim::Known(Dim::ONE))),
            (_, [m, n]) if name != "eye" => Ok((*m, *n)),
            _ => Err(Error::Syntax {
                message: format!(
                    "{name} takes {} dimension(s)",
                    if name == "eye" { "one" } else { "one or two" }
                ),
                span: e.span,
                hint: format!("write {name}(n)"),
            }),
        }
    }

    /// Names the dimensions left unknown and builds the typed expression.
    fn finish(&mut self, defs: Vec<&crate::parse::Def>, body: &Syntax) -> Result<Typed> {
        let mut used: Vec<String> = Vec::new();
        for (s, _) in self.vars.values() {
            for d in [s.0, s.1] {
                if let UDim::Known(Dim::Sym(name)) = d {
                    used.push(name.to_string());
                }
            }
        }
        // Sizes used as numbers (`/(2*m)`) name the unknown dimensions first, in order: the
        // first array's rows are m, as in notes that write X ∈ ℝ^(m×n) and divide by m.
        let mut as_numbers: Vec<(&String, &Span)> = (self.dimensions.iter())
            .filter(|(n, _)| !self.declared_dims.contains(*n))
            .collect();
        as_numbers.sort_by_key(|(_, span)| span.start);
        let as_numbers: Vec<String> = as_numbers.into_iter().map(|(n, _)| n.clone()).collect();
        let mut names = (as_numbers.into_iter())
            .chain(["n", "m", "p", "q", "k", "r", "s", "l", "j"].map(String::from))
            .chain((1..).map(|i| format!("n{i}")))
            .filter(|n| !used.contains(n));
        self.settle_products();
        let mut named: BTreeMap<usize, Dim> = BTreeMap::new();
        let mut fix = |cx: &mut Self, d: UDim| match cx.resolve(d) {
            UDim::Known(d) => d,
            UDim::Var(v) => *named
                .entry(v)
                .or_insert_with(|| Dim::Sym(Symbol::from(names.next().unwrap()))),
        };
        for (p, a, b, span) in std::mem::take(&mut self.products) {
            let (a, b) = (fix(self, a), fix(self, b));
            if !self.unify_dim(p, UDim::Known(a.times(b))) {
                let other = fix(self, p);
                return Err(Error::Shape {
                    message: format!("this has size {} where {other} is needed", a.times(b)),
                    span,
                    hint: "check the sizes of the arguments of vec and kron".into(),
                });
            }
        }
        let order = self.order.clone();
        self.check_no_vector_became_scalar(&order)?;
        let mut variables = Vec::new();
        for name in &order {
            let ((r, c), props) = self.vars[name];
            let shape = Shape::new(fix(self, r), fix(self, c));
            variables.push(Variable {
                name: Symbol::from(name.as_str()),
                shape,
                props,
            });
        }
        self.check_dimensions(&variables)?;
        let notes = self.notes_on_readings(&order, &variables);
        let mut resolved_constants = FxHashMap::default();
        for (k, (r, c)) in self.constants.clone() {
            let known = |cx: &mut Self, d: UDim| match cx.resolve(d) {
                UDim::Known(d) => Some(d),
                UDim::Var(v) => named.get(&v).copied(),
            };
            match (known(self, r), known(self, c)) {
                (Some(r), Some(c)) => resolved_constants.insert(k, Shape::new(r, c)),
                _ => {
                    return Err(Error::Shape {
                        message: "the size of this constant cannot be inferred".into(),
                        span: Span::new(k.0, k.1),
                        hint: "give its dimensions, as in eye(n) or zeros(m, n)".into(),
                    });
                }
            };
        }
        let builder = Builder {
            variables: &variables,
            constants: &resolved_constants,
        };
        let mut values: FxHashMap<String, Expr> = FxHashMap::default();
        for def in &defs {
            let value = builder.build(&def.value, &values);
            values.insert(def.name.clone(), value);
        }
        let expr = builder.build(body, &values);
        // Products of dimensions not yet known can settle in a way that does not fit (a size
        // that must equal itself times another): refuse rather than read it another way.
        if let Some((a, b)) = mismatched_operands(&expr, &mut FxHashSet::default()) {
            return Err(Error::Shape {
                message: format!(
                    "the shapes read for the undeclared names do not fit: `{a}` is {} but `{b}` is {}",
                    a.shape, b.shape
                ),
                span: body.span,
                hint: "declare the names' shapes, as in `b: R^m; B: R^n;`".into(),
            });
        }

        let definitions = defs
            .iter()
            .map(|d| (d.name.clone(), values[&d.name].clone()))
            .collect();
        Ok(Typed {
            expr,
            variables,
            definitions,
            notes,
        })
    }
}

/// The largest expression accepted once definitions are substituted, in nodes: a chain of
/// definitions that each use the previous one twice doubles at every step.
pub const MAX_EXPANDED: u64 = 200_000;

/// Refuses an input that grows past [`MAX_EXPANDED`] nodes when its definitions are substituted.
pub fn check_expanded_size(typed: &Typed, program: &Program) -> Result<()> {
    if crate::expr::tree_size(&typed.expr, &mut FxHashMap::default()) as u64 <= MAX_EXPANDED {
        return Ok(());
    }
    Err(Error::Limit {
        message: format!(
            "with its definitions substituted the expression has more than {MAX_EXPANDED} nodes"
        ),
        span: program.body.as_ref().map_or(Span::default(), |b| b.span),
        hint: "definitions that use each other several times multiply the size; simplify them"
            .into(),
    })
}

/// The source text of an operand, transposed: `A'`, `(A*B)'`.
fn transposed(text: &str) -> String {
    if text.chars().all(|c| c.is_alphanumeric() || c == '_') {
        format!("{text}'")
    } else {
        format!("({text})'")
    }
}

/// Whether `e` is a constant integer such as `3`, `-2` or `3 + 1`.
fn is_integer_literal(e: &Syntax) -> bool {
    constant(e).is_some_and(|n| n.is_integer())
}

/// The value of a constant expression of numbers.
fn constant(e: &Syntax) -> Option<num_rational::BigRational> {
    match &e.kind {
        SyntaxKind::Num(n) => Some(n.clone()),
        SyntaxKind::Neg(a) => Some(-constant(a)?),
        SyntaxKind::Bin(op, a, b) => {
            let (a, b) = (constant(a)?, constant(b)?);
            match op {
                BinOp::Add => Some(a + b),
                BinOp::Sub => Some(a - b),
                BinOp::Mul | BinOp::Had => Some(a * b),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The elementwise maximum and minimum, `max(u, v)` and `min(u, v)`.
const EXTREMA: [&str; 2] = ["max", "min"];

/// The calls whose arguments are dimensions.
const CONSTRUCTORS: [&str; 4] = ["eye", "ones", "zeros", "commutation"];

/// The size `whole / part` when every factor of `part` is a factor of `whole`.
fn quotient(whole: Dim, part: Dim) -> Option<Dim> {
    let mut rest = whole.factors();
    for factor in part.factors() {
        if let Dim::Lit(1) = factor {
            continue;
        }
        let at = rest.iter().position(|&f| f == factor)?;
        rest.remove(at);
    }
    Some(rest.into_iter().fold(Dim::ONE, Dim::times))
}

/// A dimension written as an argument: `n`, `3`, or a product such as `m*n`.
/// Two operands of one operation in `e` whose shapes do not fit it (an elementwise operation on
/// different non-scalar shapes, a product whose inner sizes differ); each shared node once.
fn mismatched_operands(e: &Expr, seen: &mut FxHashSet<Expr>) -> Option<(Expr, Expr)> {
    if e.args.is_empty() || !seen.insert(e.clone()) {
        return None;
    }
    if let [a, b] = e.args.as_slice() {
        let scalar = a.shape.is_scalar() || b.shape.is_scalar();
        let fits = match e.op {
            Op::Add | Op::Sub | Op::Had | Op::HDiv | Op::HPow | Op::Max | Op::Min => {
                scalar || a.shape == b.shape
            }
            Op::Mul => scalar || a.shape.cols == b.shape.rows,
            _ => true,
        };
        if !fits {
            return Some((a.clone(), b.clone()));
        }
    }
    e.args.iter().find_map(|a| mismatched_operands(a, seen))
}

/// The names that size a constant (`eye(n)`, `ones(m, n)`, ...) anywhere in `e`.
fn constant_sizes(e: &Syntax, out: &mut FxHashSet<String>) {
    match &e.kind {
        SyntaxKind::Call(name, _, args) if CONSTRUCTORS.contains(&name.as_str()) => {
            let names = args.iter().filter_map(dimension).flat_map(|d| d.factors());
            out.extend(
                names
                    .filter(|f| matches!(f, Dim::Sym(_)))
                    .map(|f| f.to_string()),
            );
        }
        SyntaxKind::Call(_, _, args) => args.iter().for_each(|a| constant_sizes(a, out)),
        SyntaxKind::Neg(a) | SyntaxKind::T(a) => constant_sizes(a, out),
        SyntaxKind::Bin(_, a, b) => {
            constant_sizes(a, out);
            constant_sizes(b, out);
        }
        SyntaxKind::Num(_) | SyntaxKind::Name(_) | SyntaxKind::Pat(_) => {}
    }
}

fn dimension(arg: &Syntax) -> Option<Dim> {
    match &arg.kind {
        SyntaxKind::Name(n) => Some(Dim::Sym(Symbol::from(n.as_str()))),
        SyntaxKind::Num(n) if n.is_integer() && n.is_positive() => {
            Some(Dim::Lit(n.to_integer().try_into().unwrap_or(u64::MAX)))
        }
        SyntaxKind::Bin(BinOp::Mul, a, b) => Some(dimension(a)?.times(dimension(b)?)),
        _ => None,
    }
}

/// The error for a function name the language lacks, suggesting the closest known one.
pub fn unknown_function(name: &str, span: Span) -> Error {
    let known: Vec<&str> = Func::ALL
        .iter()
        .map(|f| f.name())
        .chain(CONSTRUCTORS)
        .chain(["kron"])
        .chain(EXTREMA)
        .collect();
    let closest = known
        .iter()
        .min_by_key(|k| edit_distance(name, k))
        .filter(|k| edit_distance(name, k) <= 2);
    let hint = match closest {
        Some(k) => format!(
            "did you mean `{k}`? The functions are: {}",
            known.join(", ")
        ),
        None => format!("the functions are: {}", known.join(", ")),
    };
    Error::UnknownFunction {
        name: name.into(),
        span,
        hint,
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Builds typed nodes once every shape is known.
struct Builder<'a> {
    variables: &'a [Variable],
    constants: &'a FxHashMap<(usize, usize), Shape>,
}

impl Builder<'_> {
    fn build(&self, e: &Syntax, defs: &FxHashMap<String, Expr>) -> Expr {
        let go = |x: &Syntax| self.build(x, defs);
        match &e.kind {
            SyntaxKind::Num(n) => Expr::num(n.clone()),
            SyntaxKind::Name(name) => defs.get(name).cloned().unwrap_or_else(|| {
                match self.variables.iter().find(|v| v.name.as_str() == name) {
                    Some(v) => Expr::leaf(Op::Var(v.name, v.props), v.shape),
                    // Neither a definition nor a variable: a dimension used as a number.
                    None => build::size(Dim::Sym(Symbol::from(name.as_str()))),
                }
            }),
            SyntaxKind::Pat(_) => unreachable!("pattern variables only occur in rules"),
            SyntaxKind::Neg(a) => build::neg(go(a)),
            SyntaxKind::T(a) => build::t(go(a)),
            SyntaxKind::Bin(op, a, b) => {
                let op = Op::from(*op);
                build::apply(op, vec![go(a), go(b)])
            }
            SyntaxKind::Call(name, _, args) => match Func::from_name(name) {
                _ if args.len() == 2 && name == "max" => {
                    build::extremum(Op::Max, go(&args[0]), go(&args[1]))
                }
                _ if args.len() == 2 && name == "min" => {
                    build::extremum(Op::Min, go(&args[0]), go(&args[1]))
                }
                Some(f) => build::call(f, go(&args[0])),
                None if name == "kron" => build::kron(go(&args[0]), go(&args[1])),
                None => {
                    let shape = self.constants[&(e.span.start, e.span.end)];
                    let dims: Vec<Dim> = args.iter().filter_map(dimension).collect();
                    match name.as_str() {
                        "commutation" => build::commutation(dims[0], dims[1]),
                        "eye" => Expr::eye(shape.rows),
                        "ones" => Expr::ones(shape),
                        _ => Expr::zero(shape),
                    }
                }
            },
        }
    }
}

/// The sides of every shape in `e` (each shared node visited once), and the dimensions it uses
/// as numbers.
fn expression_sides(e: &Expr, seen: &mut FxHashSet<Expr>, sides: &mut FxHashSet<Dim>) {
    if !seen.insert(e.clone()) {
        return;
    }
    sides.extend([e.shape.rows, e.shape.cols]);
    if let crate::expr::Op::Size(d) = e.op {
        sides.insert(d);
    }
    e.args.iter().for_each(|a| expression_sides(a, seen, sides));
}
