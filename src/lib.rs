//! nabla: symbolic matrix calculus.
//!
//! ```
//! let d = nabla::diff("x'*A*x", "x", &nabla::Options::default()).unwrap();
//! assert_eq!(d.text(), "x'*(A + A')");
//! ```
#![deny(missing_docs)]

pub mod build;
pub mod check;
pub mod cli;
pub mod differentiate;
pub mod error;
pub mod eval;
pub mod expr;
pub mod identify;
pub mod infer;
pub mod lang;
pub mod parse;
pub mod print;
pub mod reference;
pub mod rules;
pub mod shape;
pub mod simplify;

pub use error::{Error, Result};
pub use identify::Layout;
pub use print::Format;

use egg::Symbol;
use expr::Expr;
use infer::Typed;

/// How to differentiate.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The layout of the result.
    pub layout: Layout,
    /// Differentiate a second time, by this variable: the Hessian when it is the first
    /// variable again, a mixed second derivative otherwise.
    pub second: Option<String>,
}

/// A derivative and what it was taken of.
#[derive(Clone, Debug)]
pub struct Derivative {
    /// The typed input.
    pub input: Typed,
    /// The variable.
    pub wrt: Symbol,
    /// The derivative, simplified.
    pub expr: Expr,
    /// Its layout.
    pub layout: Layout,
    /// For a second derivative: the gradient by `wrt` (denominator layout) that was
    /// differentiated again, and the second variable.
    pub second: Option<(Expr, Symbol)>,
}

impl Derivative {
    /// The derivative in the input language.
    pub fn text(&self) -> String {
        print::print(&self.expr, Format::Text)
    }

    /// The derivative in a given format.
    pub fn format(&self, format: Format) -> String {
        print::print(&self.expr, format)
    }

    /// A Markdown block for notes: the equation in display LaTeX, then the shapes.
    pub fn markdown(&self) -> String {
        let f = print::print(&self.input.expr, Format::Latex);
        let x = latex_name(self.wrt.as_str());
        let operator = match &self.second {
            None => format!("\\frac{{\\partial}}{{\\partial {x}}}"),
            Some((_, y)) if *y == self.wrt => format!("\\frac{{\\partial^2}}{{\\partial {x}^2}}"),
            Some((_, y)) => format!(
                "\\frac{{\\partial^2}}{{\\partial {x}\\,\\partial {}}}",
                latex_name(y.as_str())
            ),
        };
        let shapes: Vec<String> = (self.input.variables.iter())
            .map(|v| {
                format!(
                    "${} \\in {}$",
                    latex_name(v.name.as_str()),
                    latex_shape(v.shape)
                )
            })
            .collect();
        let layout = match self.layout {
            Layout::Numerator => "numerator layout",
            Layout::Denominator => "denominator layout",
        };
        format!(
            "$$\n{operator}\\left({f}\\right) = {}\n$$\n\nwhere {} ({layout}).\n",
            self.format(Format::Latex),
            shapes.join(", ")
        )
    }

    /// Compares the derivative with central finite differences at random points; a second
    /// derivative is checked in two steps, the gradient against f and the result against the
    /// gradient.
    pub fn check(&self, options: check::CheckOptions) -> check::CheckReport {
        let Some((gradient, y)) = &self.second else {
            return check::check(&self.input, self.wrt, &self.expr, self.layout, options);
        };
        let first = check::check(
            &self.input,
            self.wrt,
            gradient,
            Layout::Denominator,
            options,
        );
        let of_gradient = Typed {
            expr: gradient.clone(),
            ..self.input.clone()
        };
        let second = check::check(&of_gradient, *y, &self.expr, self.layout, options);
        first.and(second)
    }
}

fn latex_name(name: &str) -> String {
    let leaf = Expr::leaf(
        expr::Op::Var(Symbol::from(name), expr::Props::default()),
        shape::Shape::SCALAR,
    );
    print::print(&leaf, Format::Latex)
}

fn latex_shape(s: shape::Shape) -> String {
    if s.is_scalar() {
        "\\mathbb{R}".into()
    } else if s.cols.is_one() {
        format!("\\mathbb{{R}}^{{{}}}", s.rows)
    } else {
        format!("\\mathbb{{R}}^{{{} \\times {}}}", s.rows, s.cols)
    }
}

/// Parses and types an input.
pub fn read(input: &str) -> Result<Typed> {
    let program = parse::parse_program(input)?;
    infer::infer(&program, input)
}

/// Stack for one derivation: every stage recurses over the expression tree, whose depth the
/// parser bounds by [`parse::MAX_DEPTH`]; the pages are only committed when touched.
const STACK_BYTES: usize = 512 << 20;

/// Runs `work` on a thread with a stack deep enough for any input the parser accepts.
pub fn with_deep_stack<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .stack_size(STACK_BYTES)
            .spawn_scoped(scope, work);
        match thread.map(|t| t.join()) {
            Ok(Ok(value)) => value,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(e) => panic!("cannot start a thread for the derivation: {e}"),
        }
    })
}

/// Differentiates `input` by the variable `wrt`.
pub fn diff(input: &str, wrt: &str, options: &Options) -> Result<Derivative> {
    with_deep_stack(|| diff_here(input, wrt, options))
}

fn diff_here(input: &str, wrt: &str, options: &Options) -> Result<Derivative> {
    let typed = read(input)?;
    let x = variable(&typed, wrt)?.clone();
    let Some(second) = &options.second else {
        let expr = derivative(&typed.expr, &x, options.layout)?;
        return Ok(Derivative {
            wrt: x.name,
            input: typed,
            expr,
            layout: options.layout,
            second: None,
        });
    };
    let y = variable(&typed, second)?.clone();
    if !typed.expr.shape.is_scalar() {
        return Err(Error::Unsupported {
            message: format!(
                "second derivatives are taken of scalars, and this is {}",
                typed.expr.shape
            ),
            hint: "differentiate a scalar of it, such as sum(...) or u'*f".into(),
        });
    }
    for v in [&x, &y] {
        if !v.shape.cols.is_one() {
            return Err(Error::Unsupported {
                message: format!(
                    "the second derivative by the matrix `{}` ({}) is a tensor of order 4",
                    v.name, v.shape
                ),
                hint: "second derivatives are by scalars and vectors".into(),
            });
        }
    }
    let gradient = derivative(&typed.expr, &x, Layout::Denominator)?;
    let expr = derivative(&gradient, &y, options.layout)?;
    Ok(Derivative {
        wrt: x.name,
        input: typed,
        expr,
        layout: options.layout,
        second: Some((gradient, y.name)),
    })
}

/// The simplified derivative of `f` by `x`.
fn derivative(f: &Expr, x: &infer::Variable, layout: Layout) -> Result<Expr> {
    let df = differentiate::differential(f, x.name)?;
    let raw = identify::identify(&df, f.shape, x.shape, layout)?;
    let raw = identify::restrict(raw, f.shape, x);
    Ok(simplify::simplify(&raw, simplify::Limits::default()).0)
}

/// The variable named by `--wrt`, or an error saying why it is not one.
fn variable<'t>(typed: &'t Typed, wrt: &str) -> Result<&'t infer::Variable> {
    if let Some(v) = typed.variable(wrt) {
        return Ok(v);
    }
    let names: Vec<&str> = typed.variables.iter().map(|v| v.name.as_str()).collect();
    let listed = if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    };
    if typed.definitions.iter().any(|d| d == wrt) {
        return Err(Error::Wrt {
            message: format!("`{wrt}` is a definition, not a variable"),
            hint: format!("differentiate by a variable it is built from: {listed}"),
        });
    }
    Err(Error::Wrt {
        message: format!("the variable `{wrt}` does not occur in the input"),
        hint: format!("the variables are: {listed}"),
    })
}
