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

    /// Compares the derivative with central finite differences at random points.
    pub fn check(&self, options: check::CheckOptions) -> check::CheckReport {
        check::check(&self.input, self.wrt, &self.expr, self.layout, options)
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
    let x = variable(&typed, wrt)?;
    let df = differentiate::differential(&typed.expr, x.name)?;
    let raw = identify::identify(&df, typed.expr.shape, x.shape, options.layout)?;
    let (expr, _) = simplify::simplify(&raw, simplify::Limits::default());
    Ok(Derivative {
        wrt: x.name,
        input: typed,
        expr,
        layout: options.layout,
    })
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
