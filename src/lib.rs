//! nabla: symbolic matrix calculus.
//!
//! ```
//! let d = nabla::diff("x'*A*x", "x", &nabla::Options::default()).unwrap();
//! assert_eq!(d.text(), "x'*(A + A')");
//! ```
#![deny(missing_docs)]

pub mod budget;
pub mod build;
pub mod check;
pub mod cli;
pub mod differentiate;
pub mod error;
pub mod eval;
pub mod expand;
pub mod expr;
pub mod function;
pub mod identify;
pub mod infer;
pub mod lang;
pub mod names;
pub mod parse;
pub mod print;
pub mod rational;
pub mod reference;
pub mod rules;
pub mod shape;
pub mod share;
pub mod simplify;
pub mod steps;
pub mod worker;

pub use error::{Error, Result};
pub use identify::Layout;
pub use print::Format;

use egg::Symbol;
use expr::{Expr, Func, Op};
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

impl Options {
    /// The variable to differentiate by first, and the options, for a problem as the front
    /// ends state it: `wrt` names a variable (`x`), or two for a mixed second derivative
    /// (`x,y`); `order` is 1, or 2 for the second derivative (the Hessian by `x` alone).
    pub fn for_problem(wrt: &str, order: u8, layout: Layout) -> Result<(String, Options)> {
        let (first, second) = match (wrt.split_once(','), order) {
            (Some((x, y)), 1 | 2) => (x.trim(), Some(y.trim().to_string())),
            (None, 1) => (wrt.trim(), None),
            (None, 2) => (wrt.trim(), Some(wrt.trim().to_string())),
            _ => {
                return Err(Error::Option {
                    message: format!("the order is 1 or 2, not {order}"),
                    hint: "ask for the derivative (1) or the second derivative (2)".into(),
                });
            }
        };
        Ok((first.to_string(), Options { layout, second }))
    }
}

impl std::str::FromStr for Layout {
    type Err = Error;

    /// `numerator` or `denominator`.
    fn from_str(name: &str) -> Result<Layout> {
        match name {
            "numerator" => Ok(Layout::Numerator),
            "denominator" => Ok(Layout::Denominator),
            _ => Err(Error::Option {
                message: format!("`{name}` is not a layout"),
                hint: "the layouts are numerator and denominator".into(),
            }),
        }
    }
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

/// `e` with every size that no variable's shape has (`m` from the input's `eye(m)`) written
/// `tr(eye(m))`: the text reads back with the input's declarations, where a bare `m` would be a
/// new variable.
fn sizes_read_back(
    e: &Expr,
    named: &impl Fn(Symbol) -> bool,
    memo: &mut rustc_hash::FxHashMap<Expr, Expr>,
) -> Expr {
    if let Some(done) = memo.get(e) {
        return done.clone();
    }
    let written = match e.op {
        Op::Size(shape::Dim::Sym(d)) if !named(d) => Expr::node(
            Op::Call(Func::Tr),
            vec![Expr::eye(shape::Dim::Sym(d))],
            shape::Shape::SCALAR,
        ),
        _ if e.args.is_empty() => e.clone(),
        _ => {
            let args: Vec<Expr> = e
                .args
                .iter()
                .map(|a| sizes_read_back(a, named, memo))
                .collect();
            if args.iter().zip(&e.args).all(|(a, b)| a == b) {
                e.clone()
            } else {
                Expr::node(e.op.clone(), args, e.shape)
            }
        }
    };
    memo.insert(e.clone(), written.clone());
    written
}

impl Derivative {
    /// How the input's names were read where the expression left a choice (`note: ...` on
    /// the command line): the name, the reading, and the declaration that gives the other.
    pub fn notes(&self) -> &[String] {
        &self.input.notes
    }

    /// The reading of every variable, "where x ∈ ℝⁿ, A ∈ ℝⁿˣⁿ, b ∈ ℝ", in a format: a comment
    /// `# where x: R^n, ...` in text (so the output still parses back) and in Python, a
    /// `\text{where}` line in LaTeX, and the sentence in unicode.
    pub fn reading(&self, format: Format) -> String {
        print::reading(&self.input.variables, format)
    }

    /// The derivative in the input language.
    pub fn text(&self) -> String {
        self.format(Format::Text)
    }

    /// The derivative in a given format, with repeated subexpressions named once (`t1 = ...`).
    pub fn format(&self, format: Format) -> String {
        self.printed(|| self.format_here(format))
    }

    /// `print` on the calling thread when the derivative and the input are shallow enough for
    /// any thread's stack (handing the work to a deep-stack worker costs more than printing a
    /// small result), else on a worker.
    fn printed<T: Send>(&self, print: impl FnOnce() -> T + Send) -> T {
        if self.expr.depth().max(self.input.expr.depth()) <= SHALLOW {
            return print();
        }
        deep(print)
    }

    fn format_here(&self, format: Format) -> String {
        let x = print::latex_name(self.wrt.as_str());
        let label = match &self.second {
            _ if self.is_vec_form() => self.left_side("f"),
            None => format!("\\frac{{\\partial f}}{{\\partial {x}}}"),
            Some((_, y)) if *y == self.wrt => format!("\\frac{{\\partial^2 f}}{{\\partial {x}^2}}"),
            Some((_, y)) => format!(
                "\\frac{{\\partial^2 f}}{{\\partial {x}\\,\\partial {}}}",
                print::latex_name(y.as_str())
            ),
        };
        let mut shared = self.shared();
        if format == Format::Text {
            let named = |d: Symbol| {
                (self.input.variables.iter())
                    .flat_map(|v| [v.shape.rows, v.shape.cols])
                    .any(|side| side.factors().contains(&shape::Dim::Sym(d)))
            };
            let readable = |e: &Expr| sizes_read_back(e, &named, &mut Default::default());
            shared.body = readable(&shared.body);
            for (_, value) in &mut shared.definitions {
                *value = readable(value);
            }
        }
        print::print_shared(&shared, format, &label)
    }

    /// The derivative as a complete Python function `def name(...)` over the variables, in
    /// NumPy or PyTorch: see [`function::python_function`].
    pub fn python_function(&self, name: &str, format: Format) -> Result<String> {
        deep(|| function::python_function(self, name, format))
    }

    /// The derivation step by step (`--steps`), for a first derivative; a second derivative
    /// is [`Error::Option`].
    pub fn steps(&self) -> Result<steps::Derivation> {
        if self.second.is_some() {
            return Err(Error::Option {
                message: "the steps are written out for first derivatives".into(),
                hint: "ask for the steps of the derivative of order 1".into(),
            });
        }
        let x = variable(&self.input, self.wrt.as_str())?;
        with_deep_stack(|| {
            budget::within(budget::TIME_LIMIT, || {
                steps::derivation(&self.input, x, self.layout)
            })
        })?
    }

    /// The derivative in the user's own names (the input's definitions that occur in it,
    /// restated first), with the other repeated subexpressions named, avoiding the input's names.
    pub fn shared(&self) -> share::Shared {
        let mut taken: rustc_hash::FxHashSet<String> = self
            .input
            .variables
            .iter()
            .map(|v| v.name.to_string())
            .collect();
        taken.extend(self.input.dims().iter().map(|d| d.to_string()));
        taken.extend(self.input.definitions.iter().map(|(n, _)| n.clone()));
        share::share_named(&self.expr, &self.input.definitions, &taken)
    }

    /// The shapes of what was differentiated and of the variable it was differentiated by: f
    /// and x, or for a second derivative the gradient by x and the second variable.
    fn shapes(&self) -> (shape::Shape, shape::Shape) {
        let shape_of = |name: Symbol| {
            (self.input.variable(name.as_str())).map_or(shape::Shape::SCALAR, |v| v.shape)
        };
        match &self.second {
            None => (self.input.expr.shape, shape_of(self.wrt)),
            Some((gradient, y)) => (gradient.shape, shape_of(*y)),
        }
    }

    /// Whether the derivative is a Jacobian in vec form, d vec(F) = J d vec(X).
    pub fn is_vec_form(&self) -> bool {
        let (f, x) = self.shapes();
        identify::is_vec_form(f, x)
    }

    /// For a derivative in vec form, the sentence that says what the printed matrix is, in
    /// plain text or in LaTeX; `None` for every other derivative.
    pub fn vec_form_note(&self, latex: bool) -> Option<String> {
        if !self.is_vec_form() {
            return None;
        }
        let (f, x) = self.shapes();
        let (length_f, length_x) = (f.rows.times(f.cols), x.rows.times(x.cols));
        let (of, by) = self.vec_of_by("f", latex);
        let (rows, cols, transposed) = match self.layout {
            Layout::Numerator => (length_f, length_x, ""),
            Layout::Denominator => (length_x, length_f, "ᵀ"),
        };
        let layout = match self.layout {
            Layout::Numerator => "numerator layout",
            Layout::Denominator => "denominator layout",
        };
        Some(if latex {
            let (rows, cols) = (print::latex_dim(rows), print::latex_dim(cols));
            let transposed = if transposed.is_empty() { "" } else { "^\\top" };
            format!(
                "vec form, {layout}: $\\mathrm{{d}}\\operatorname{{vec}}({of}) = J{transposed}\\,\\mathrm{{d}}\\operatorname{{vec}}({by})$ with $J$ the ${rows} \\times {cols}$ matrix above; $\\operatorname{{vec}}$ stacks the columns"
            )
        } else {
            format!(
                "vec form, {layout}: d vec({of}) = J{transposed} d vec({by}), J the printed {} x {} matrix; vec stacks the columns",
                parenthesized(rows),
                parenthesized(cols)
            )
        })
    }

    /// What a vec-form derivative takes the vec of, and by what: `f` by x, or for a second
    /// derivative the gradient of `f` by x, by the second variable; in LaTeX or plain text.
    fn vec_of_by(&self, f: &str, latex: bool) -> (String, String) {
        let name = |s: Symbol| {
            if latex {
                print::latex_name(s.as_str())
            } else {
                s.to_string()
            }
        };
        match (&self.second, latex) {
            (None, _) => (f.to_string(), name(self.wrt)),
            (Some((_, y)), false) => (format!("grad_{} {f}", self.wrt), name(*y)),
            (Some((_, y)), true) => (format!("\\nabla_{{{}}} {f}", name(self.wrt)), name(*y)),
        }
    }

    /// The left side of a vec-form derivative of `f` (LaTeX) in Magnus & Neudecker's notation:
    /// ∂vec(f)/∂vec(X)ᵀ in numerator layout, its transpose ∂vec(f)ᵀ/∂vec(X) in denominator
    /// layout; for a second derivative f is the gradient ∇ₓf.
    fn left_side(&self, f: &str) -> String {
        let (of, by) = self.vec_of_by(f, true);
        let vec = |e: &str| format!("\\operatorname{{vec}}\\left({e}\\right)");
        match self.layout {
            Layout::Numerator => format!(
                "\\frac{{\\partial {}}}{{\\partial {}^\\top}}",
                vec(&of),
                vec(&by)
            ),
            Layout::Denominator => format!(
                "\\frac{{\\partial {}^\\top}}{{\\partial {}}}",
                vec(&of),
                vec(&by)
            ),
        }
    }

    /// The derivative operator in LaTeX: `\frac{\partial}{\partial x}`.
    fn operator(&self) -> String {
        let x = print::latex_name(self.wrt.as_str());
        match &self.second {
            None => format!("\\frac{{\\partial}}{{\\partial {x}}}"),
            Some((_, y)) if *y == self.wrt => format!("\\frac{{\\partial^2}}{{\\partial {x}^2}}"),
            Some((_, y)) => format!(
                "\\frac{{\\partial^2}}{{\\partial {x}\\,\\partial {}}}",
                print::latex_name(y.as_str())
            ),
        }
    }

    /// A Markdown block for notes: the equation in display LaTeX, then the shapes.
    pub fn markdown(&self) -> String {
        self.printed(|| self.markdown_here())
    }

    fn markdown_here(&self) -> String {
        let f = print::print(&self.input.expr, Format::Latex);
        let operator = self.operator();
        let shapes: Vec<String> = (self.input.variables.iter())
            .map(|v| {
                format!(
                    "${} \\in {}$",
                    print::latex_name(v.name.as_str()),
                    latex_shape(v.shape)
                )
            })
            .collect();
        let layout = match self.layout {
            Layout::Numerator => "numerator layout",
            Layout::Denominator => "denominator layout",
        };
        let left = if self.is_vec_form() {
            self.left_side(&f)
        } else {
            format!("{operator}\\left({f}\\right)")
        };
        let equation = print::print_shared(&self.shared(), Format::Latex, &left);
        let equation = if equation.starts_with("\\begin{aligned}") {
            equation
        } else {
            format!("{left} = {equation}")
        };
        let mut vec_form = self
            .vec_form_note(true)
            .map_or(String::new(), |note| format!("\n\nIn {note}."));
        for note in self.notes() {
            vec_form.push_str(&format!("\n\nNote: {note}."));
        }
        format!(
            "$$\n{equation}\n$$\n\nwhere {} ({layout}).{vec_form}\n",
            shapes.join(", ")
        )
    }

    /// The derivative as one JSON object for programs: what was differentiated (`input`,
    /// `wrt`, `second`, `layout`, the `variables` with their types), the derivative's `shape`,
    /// the `vec_form` note (or null), the derivative in every format, and the `check` when one
    /// was run.
    pub fn json(&self, check: Option<&check::CheckReport>) -> String {
        self.printed(|| self.json_here(check))
    }

    fn json_here(&self, check: Option<&check::CheckReport>) -> String {
        use serde_json::json;
        let variables: Vec<serde_json::Value> = (self.input.variables.iter())
            .map(|v| {
                let props = [
                    ("sym", v.props.sym),
                    ("spd", v.props.spd),
                    ("diag", v.props.diag),
                ];
                json!({
                    "name": v.name.as_str(),
                    "type": v.shape.to_string(),
                    "properties": props.iter().filter(|(_, on)| *on).map(|(p, _)| *p).collect::<Vec<_>>(),
                })
            })
            .collect();
        let check = check.map(check::CheckReport::to_json);
        json!({
            "input": format!("{}{}", self.input.declarations(), print::to_text(&self.input.expr)),
            "wrt": self.wrt.as_str(),
            "second": self.second.as_ref().map(|(_, y)| y.as_str()),
            "layout": match self.layout {
                Layout::Numerator => "numerator",
                Layout::Denominator => "denominator",
            },
            "variables": variables,
            "shape": { "rows": self.expr.shape.rows.to_string(), "cols": self.expr.shape.cols.to_string() },
            "vec_form": self.vec_form_note(false),
            "where": self.reading(Format::Unicode),
            "notes": self.notes(),
            "text": self.format_here(Format::Text),
            "unicode": self.format_here(Format::Unicode),
            "latex": self.format_here(Format::Latex),
            "numpy": self.format_here(Format::Numpy),
            "torch": self.format_here(Format::Torch),
            "check": check,
        })
        .to_string()
    }

    /// Compares the derivative with central finite differences at random points; a second
    /// derivative is checked in two steps, the gradient against f and the result against the
    /// gradient.
    pub fn check(&self, options: check::CheckOptions) -> check::CheckReport {
        deep(|| self.check_here(options))
    }

    fn check_here(&self, options: check::CheckOptions) -> check::CheckReport {
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

/// A size for a sentence: `(m*n)` for a product, `n` otherwise.
fn parenthesized(d: shape::Dim) -> String {
    if d.is_product() {
        format!("({d})")
    } else {
        d.to_string()
    }
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

/// Parses and types an input — nabla's own output too, so it accepts deeper nesting and larger
/// expansions than [`diff`] takes as input.
pub fn read(input: &str) -> Result<Typed> {
    with_deep_stack(|| {
        let program = parse::parse_output(input)?;
        infer::infer(&program, input)
    })?
}

/// Parses and types an input to differentiate, within the input limits.
fn read_here(input: &str) -> Result<Typed> {
    let program = parse::parse_program(input)?;
    let typed = infer::infer(&program, input)?;
    infer::check_expanded_size(&typed, &program)?;
    Ok(typed)
}

/// Derivatives at most this deep are printed on the caller's thread: printing recurses once
/// per level, with a small frame each.
const SHALLOW: usize = 64;

/// Runs `work` on a deep-stack worker, passing a panic on as it is (for calls that cannot fail).
fn deep<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    worker::run(work).unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Runs `work` on a worker with a stack deep enough for any input the parser accepts
/// ([`worker`]); a panic (a bug) becomes [`Error::Internal`].
pub fn with_deep_stack<T: Send>(work: impl FnOnce() -> T + Send) -> Result<T> {
    worker::run(work).map_err(Error::from_panic)
}

/// Differentiates `input` by the variable `wrt`.
pub fn diff(input: &str, wrt: &str, options: &Options) -> Result<Derivative> {
    with_deep_stack(|| diff_on_current_thread(input, wrt, options))?
}

/// The derivation of the derivative of `input` by `wrt`, step by step (`--steps`).
pub fn derivation(input: &str, wrt: &str, layout: Layout) -> Result<steps::Derivation> {
    with_deep_stack(|| {
        budget::within(budget::TIME_LIMIT, || {
            let typed = read_here(input)?;
            let x = variable(&typed, wrt)?.clone();
            steps::derivation(&typed, &x, layout)
        })
    })?
}

/// One problem of a batch: the variable (`x`, or `x,y` for a second derivative) and the input.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// The variable, or two separated by a comma.
    pub wrt: String,
    /// The input.
    pub input: String,
}

impl Problem {
    /// Reads a batch line: the variable, a tab, the input.
    pub fn from_line(line: &str) -> Result<Problem> {
        match line.split_once('\t') {
            Some((wrt, input)) => Ok(Problem {
                wrt: wrt.trim().into(),
                input: input.into(),
            }),
            None => Err(Error::Wrt {
                message: "a batch line is the variable, a tab, then the input".into(),
                hint: "write lines like `x<TAB>x'*A*x`".into(),
            }),
        }
    }
}

/// The options of one problem of a batch: its own second variable, or the batch's.
fn batch_options<'p>(problem: &'p Problem, options: &Options) -> (&'p str, Options) {
    let (wrt, second) = match problem.wrt.split_once(',') {
        Some((x, y)) => (x, Some(y.to_string())),
        None => (problem.wrt.as_str(), options.second.clone()),
    };
    let options = Options {
        second,
        ..options.clone()
    };
    (wrt, options)
}

/// Differentiates many problems on all cores; each result is independent of the others, and
/// the results come in the problems' order.
pub fn diff_batch(problems: &[Problem], options: &Options) -> Vec<Result<Derivative>> {
    worker::map(problems, |problem| {
        let (wrt, options) = batch_options(problem, options);
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            diff_on_current_thread(&problem.input, wrt, &options)
        }));
        run.unwrap_or_else(|panic| Err(Error::from_panic(panic)))
    })
}

/// [`diff`] on the calling thread, without the deep stack: for callers that run many small
/// derivations (benchmarks, worker threads with large stacks of their own). Deep inputs need
/// a stack of a few hundred megabytes.
pub fn diff_on_current_thread(input: &str, wrt: &str, options: &Options) -> Result<Derivative> {
    budget::within(budget::TIME_LIMIT, || diff_here(input, wrt, options))
}

fn diff_here(input: &str, wrt: &str, options: &Options) -> Result<Derivative> {
    let typed = read_here(input)?;
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
    let simple = simplify::simplify(&raw, simplify::Limits::default()).0;
    let normal = simplify::tidied(rational::normalize(&simple));
    Ok(simplify::transposes_folded(&normal))
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
    if typed.definitions.iter().any(|(d, _)| d == wrt) {
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
