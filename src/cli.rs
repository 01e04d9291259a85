//! The command line: `nabla diff`, `nabla hessian`, `nabla rules`. A thin layer over the library.

use crate::check::CheckOptions;
use crate::reference::{self, TableFormat};
use crate::{Format, Layout, Options};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::Read;

const LANGUAGE: &str = "\
The language:
  declarations   A: R^(n x n) sym; x: R^n; c: R      (properties: sym, spd, diag)
  definitions    r = X*w - y
  default names  a name takes the shape its uses need (x' a vector, t*A a scalar,
                 tr(x) a matrix); else a-g scalars, h-z column vectors, A-Z matrices,
                 Greek as in ML notes (lambda, alpha, sigma scalars; theta, mu vectors),
                 with a note on stderr where another reading fits; --where states it
  dimensions     a dimension is a number: sum(x)/n, 1/n*x'*x
  comments       # to the end of the line
  operators      + - * /  ^ (scalar or integer matrix power)  ' or ^T (transpose)
                 .* ./ .^ (elementwise; also ⊙); NumPy's @ and .T
  norms          ||x|| ||x||^2 ||x||_1 ||X||_F (norm2, norm1)
  functions      exp log sin cos tan tanh sigmoid relu step abs sign sqrt
                 sum mean norm1 norm2 tr det logdet inv diag vec kron(A, B)
                 softmax logsumexp (of vectors), max(u, v) min(u, v) (entry by entry)
                 transpose(A) trace(A) inverse(A) (aliases of A' tr inv)
                 eye(n) ones(n) zeros(m, n) commutation(m, n)
  refused        x**2, np.dot(a, b), A.dot(x), norm(x), A\\b: the error gives the
                 rewrite that works (did you mean `x^2`?)

Examples:
  nabla diff \"x'*A*x\" --wrt x                     x'*(A + A')
  nabla diff \"norm2(X*w - y)^2\" --wrt w           2*(X*w - y)'*X
  nabla diff \"logdet(X)\" --wrt X --format latex   X^{-1}
  nabla hessian \"x'*A*x\" --wrt x                  A + A'
  nabla diff \"A*X*B\" --wrt X                     kron(B', A)   (vec form)
  echo \"sum(exp(x))\" | nabla diff - --wrt x --format numpy

Exit codes: 0 success, 1 no derivative of that kind (or --check failed), 2 bad input or usage.";

/// Symbolic matrix calculus: derivatives of expressions over scalars, vectors and matrices.
#[derive(Parser, Debug)]
#[command(name = "nabla", version, after_help = LANGUAGE)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Differentiate an expression.
    #[command(after_help = LANGUAGE)]
    Diff(DiffArgs),
    /// The second derivative: `nabla diff --order 2`.
    #[command(after_help = LANGUAGE)]
    Hessian(DiffArgs),
    /// Print the identity table of rules/ as a reference.
    Rules {
        /// The format of the table.
        #[arg(long, value_enum, default_value_t = TableArg::Text)]
        format: TableArg,
    },
}

#[derive(Args, Debug)]
struct DiffArgs {
    /// The input: declarations, definitions, then the expression; `-` reads standard input.
    #[arg(required_unless_present = "batch")]
    input: Option<String>,
    /// The variable to differentiate by; a second --wrt asks for the mixed second derivative.
    #[arg(long, required_unless_present = "batch", num_args = 1)]
    wrt: Vec<String>,
    /// Differentiate every line of FILE (`-` for standard input): the variable (`x`, or `x,y`
    /// for a second derivative), a tab, the input. One result per line, in order; a line that
    /// fails prints `error: ...` and the batch goes on. Runs on all cores.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["input", "wrt", "check"])]
    batch: Option<String>,
    /// 1 for the derivative, 2 for the second derivative (the Hessian).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    order: u8,
    /// The output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    format: FormatArg,
    /// The layout: numerator (f's shape first) or denominator (shaped like the variable).
    #[arg(long, value_enum, default_value_t = LayoutArg::Numerator)]
    layout: LayoutArg,
    /// After printing, compare with central finite differences at random points (exit 1 if off).
    #[arg(long)]
    check: bool,
    /// Print the derivation step by step: the intermediate quantities, the differential of each
    /// by a named rule, the identification and the simplifications (Markdown with LaTeX for
    /// --format latex or markdown, plain text otherwise).
    #[arg(long, conflicts_with_all = ["order", "batch"])]
    steps: bool,
    /// State the reading of every name after the result: `# where x: R^n, b: R` (a comment,
    /// in text and Python), `where x ∈ ℝⁿ, b ∈ ℝ` (unicode), a `\text{where}` line (LaTeX).
    #[arg(long = "where")]
    where_: bool,
    /// Seed of the random points of --check.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How many random points --check tries.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=1000))]
    draws: u16,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    /// The input language (parses back).
    Text,
    /// Mathematical unicode.
    Unicode,
    /// LaTeX.
    Latex,
    /// NumPy (2-D arrays).
    Numpy,
    /// PyTorch (2-D tensors).
    Torch,
    /// A Markdown block: the equation in display LaTeX with the shapes.
    Markdown,
    /// One JSON object: the input, the variables, the layout, the derivative in every format,
    /// and the check when --check is given.
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LayoutArg {
    Numerator,
    Denominator,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TableArg {
    Text,
    Markdown,
    Latex,
}

/// Runs the command line; returns the exit code (0 ok, 1 not derivable, 2 bad input or usage).
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match cli.command {
        Command::Diff(args) => diff(args),
        Command::Hessian(args) => diff(DiffArgs { order: 2, ..args }),
        Command::Rules { format } => {
            out(&reference::rules_table(match format {
                TableArg::Text => TableFormat::Text,
                TableArg::Markdown => TableFormat::Markdown,
                TableArg::Latex => TableFormat::Latex,
            }));
            0
        }
    }
}

fn read_input(input: String) -> Result<String, i32> {
    if input != "-" {
        return Ok(input);
    }
    read_file("-")
}

/// The contents of a file, or of standard input for `-`.
fn read_file(path: &str) -> Result<String, i32> {
    let mut buf = String::new();
    let read = if path == "-" {
        std::io::stdin().read_to_string(&mut buf).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|text| buf = text)
    };
    match read {
        Ok(_) => Ok(buf),
        Err(e) => {
            eprintln!(
                "nabla: cannot read {}: {e}",
                if path == "-" { "standard input" } else { path }
            );
            Err(2)
        }
    }
}

fn diff(args: DiffArgs) -> i32 {
    if let Some(path) = &args.batch {
        return batch(path, &args);
    }
    let input = match read_input(args.input.clone().unwrap_or_default()) {
        Ok(input) => input,
        Err(code) => return code,
    };
    if args.wrt.len() > 2 {
        eprintln!("nabla: --wrt names at most two variables (a mixed second derivative)");
        return 2;
    }
    let second = match (args.order, args.wrt.get(1)) {
        (_, Some(y)) => Some(y.clone()),
        (2, None) => Some(args.wrt[0].clone()),
        _ => None,
    };
    if args.steps {
        return steps(&input, &args);
    }
    let options = Options {
        layout: layout(args.layout),
        second,
    };
    let check = args.check.then_some(CheckOptions {
        draws: args.draws.into(),
        seed: args.seed,
    });
    let run = crate::with_deep_stack(|| match crate::diff(&input, &args.wrt[0], &options) {
        Ok(d) => {
            for note in d.notes() {
                eprintln!("note: {note}");
            }
            if let FormatArg::Json = args.format {
                let report = check.map(|options| d.check(options));
                out(&format!("{}\n", d.json(report.as_ref())));
                return match report {
                    Some(report) if !report.passed() => 1,
                    _ => 0,
                };
            }
            match args.format {
                FormatArg::Markdown => out(&d.markdown()),
                other => {
                    out(&format!("{}\n", d.format(format(other))));
                    if args.where_ {
                        out(&format!("{}\n", d.reading(format(other))));
                    }
                    if let Some(note) = d.vec_form_note(false) {
                        eprintln!("note: {note}");
                    }
                }
            }
            let Some(options) = check else { return 0 };
            let report = d.check(options);
            eprintln!("{report}");
            if report.passed() { 0 } else { 1 }
        }
        Err(e) => {
            eprintln!("{}", e.report(&input, "nabla", color()));
            e.exit_code()
        }
    });
    run.unwrap_or_else(|e| {
        eprintln!("nabla: {e}");
        e.exit_code()
    })
}

/// With `--order 2`, a problem by `x` alone is the Hessian by `x`.
fn second_by_order(mut problem: crate::Problem, order: u8) -> crate::Problem {
    if order == 2 && !problem.wrt.contains(',') {
        problem.wrt = format!("{0},{0}", problem.wrt);
    }
    problem
}

/// `--steps`: the derivation step by step.
fn steps(input: &str, args: &DiffArgs) -> i32 {
    if args.wrt.len() > 1 {
        eprintln!("nabla: --steps derives first derivatives: give one --wrt");
        return 2;
    }
    match crate::derivation(input, &args.wrt[0], layout(args.layout)) {
        Ok(d) => {
            match args.format {
                FormatArg::Latex | FormatArg::Markdown => out(&d.markdown()),
                _ => out(&d.text()),
            }
            0
        }
        Err(e) => {
            eprintln!("{}", e.report(input, "nabla", color()));
            e.exit_code()
        }
    }
}

/// Writes to standard output; a closed pipe (`nabla ... | head`) ends nabla quietly, as it
/// would end any filter.
fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("nabla: cannot write the output: {e}");
            std::process::exit(2);
        }
        std::process::exit(0);
    }
}

/// Colors in diagnostics only on a terminal, and never when NO_COLOR is set.
fn color() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn layout(arg: LayoutArg) -> Layout {
    match arg {
        LayoutArg::Numerator => Layout::Numerator,
        LayoutArg::Denominator => Layout::Denominator,
    }
}

/// `--batch`: every line a problem; results in order, one line each; the exit code is the
/// worst of the lines'.
fn batch(path: &str, args: &DiffArgs) -> i32 {
    let text = match read_file(path) {
        Ok(text) => text,
        Err(code) => return code,
    };
    let lines: Vec<&str> = text.lines().collect();
    let problems: Vec<(usize, crate::Result<crate::Problem>)> = (lines.iter().enumerate())
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| {
            (
                i,
                crate::Problem::from_line(l).map(|p| second_by_order(p, args.order)),
            )
        })
        .collect();
    let valid: Vec<crate::Problem> = problems
        .iter()
        .filter_map(|(_, p)| p.as_ref().ok().cloned())
        .collect();
    let options = Options {
        layout: layout(args.layout),
        second: None,
    };
    let mut results = crate::diff_batch(&valid, &options).into_iter();
    let mut worst = 0;
    let mut outcomes: Vec<Option<crate::Result<crate::Derivative>>> =
        (0..lines.len()).map(|_| None).collect();
    for (i, problem) in problems {
        let outcome = problem.and_then(|_| results.next().expect("one result per problem"));
        outcomes[i] = Some(outcome);
    }
    for (i, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            None => out("\n"),
            Some(Ok(d)) if matches!(args.format, FormatArg::Json) => {
                out(&format!("{}\n", d.json(None)))
            }
            Some(Ok(d)) => out(&format!(
                "{}\n",
                d.format(format(args.format)).replace('\n', "; ")
            )),
            Some(Err(e)) => {
                if let FormatArg::Json = args.format {
                    out(&format!(
                        "{}\n",
                        serde_json::json!({ "error": e.to_string() })
                    ));
                } else {
                    out(&format!("error: {e}\n"));
                }
                let source = lines[i]
                    .split_once('\t')
                    .map_or(lines[i], |(_, input)| input);
                eprintln!(
                    "{}",
                    e.report(source, &format!("nabla: line {}", i + 1), color())
                );
                worst = worst.max(e.exit_code());
            }
        }
    }
    worst
}

fn format(arg: FormatArg) -> Format {
    match arg {
        FormatArg::Text => Format::Text,
        FormatArg::Unicode => Format::Unicode,
        FormatArg::Latex | FormatArg::Markdown | FormatArg::Json => Format::Latex,
        FormatArg::Numpy => Format::Numpy,
        FormatArg::Torch => Format::Torch,
    }
}
