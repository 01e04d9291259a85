//! The command line: `nabla diff`, `nabla hessian`, `nabla rules`, `nabla completions`,
//! `nabla man`. A thin layer over the library; the clap definition is the one place every flag
//! is documented, and help, man page and completions are generated from it.

mod batch;
mod usage;

use crate::check::{CheckOptions, CheckReport};
use crate::reference::{self, TableFormat};
use crate::{Format, Layout, Options};
use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::io::Read;
use std::path::Path;

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
  nabla diff \"-sum(y.*log(p))\" --wrt p            (an input may start with a minus)
  nabla diff \"logdet(X)\" --wrt X --format latex   X^{-1}
  nabla hessian \"x'*A*x\" --wrt x                  A + A'
  nabla diff \"A*X*B\" --wrt X                      kron(B', A)   (vec form)
  nabla diff problem.nabla --wrt x                (the input read from a file)
  echo \"sum(exp(x))\" | nabla diff - --wrt x --format numpy

Exit codes: 0 success; 1 no derivative of that kind, or --check found it wrong; 2 bad input or
usage; 3 an internal error (a bug in nabla); 4 --check found no point in the domain to compare at.";

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
    /// The second derivative (the Hessian): `nabla diff --order 2`.
    #[command(after_help = LANGUAGE)]
    Hessian(DiffArgs),
    /// Print the identity table of rules/ as a reference.
    Rules {
        /// The format of the table.
        #[arg(long, value_enum, default_value_t = TableArg::Text)]
        format: TableArg,
    },
    /// Print a shell completion script: `nabla completions bash > /etc/bash_completion.d/nabla`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the man page (roff): `nabla man > nabla.1; man ./nabla.1`; `nabla man diff` the
    /// page of `nabla diff`, with its options.
    Man {
        /// The subcommand whose page to print (`diff`, `hessian`, `rules`, `completions`, `man`).
        command: Option<String>,
    },
}

/// The arguments of `diff` and `hessian`. Which of them cannot go together, and why, is in
/// `usage.rs` (clap would only say that they cannot).
#[derive(Args, Debug)]
struct DiffArgs {
    /// The input: declarations, definitions, then the expression. It may start with a minus
    /// ("-sum(y.*log(p))"); `-` reads standard input; a path ending in `.nabla` reads that
    /// file.
    #[arg(allow_hyphen_values = true)]
    input: Option<String>,
    /// Read the input from FILE (`-` for standard input) instead of INPUT.
    #[arg(long, value_name = "FILE")]
    file: Option<String>,
    /// The variable to differentiate by; a second --wrt asks for the mixed second derivative.
    #[arg(long, num_args = 1, value_name = "VARIABLE")]
    wrt: Vec<String>,
    /// Differentiate every line of FILE (`-` for standard input): the variable (`x`, or `x,y`
    /// for a second derivative), a tab, the input. One result per line, in order (Markdown:
    /// one block per problem); a line that fails prints `error: ...` and the batch goes on.
    /// Runs on all cores. Not with INPUT, --file, --wrt or --steps.
    #[arg(long, value_name = "FILE")]
    batch: Option<String>,
    /// 1 for the derivative, 2 for the second derivative (the Hessian) [default: 1; hessian: 2].
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
    order: Option<u8>,
    /// The output format (with --steps: text, unicode, latex, markdown or json).
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    format: FormatArg,
    /// The layout: numerator (f's shape first) or denominator (shaped like the variable).
    #[arg(long, value_enum, default_value_t = LayoutArg::Numerator)]
    layout: LayoutArg,
    /// After printing, compare with central finite differences at random points: one line on
    /// standard error (in the object with --format json); exit 1 if off, 4 if no point in the
    /// domain was found.
    #[arg(long)]
    check: bool,
    /// Print the derivation step by step: the intermediate quantities, the differential of each
    /// by a named rule, the identification and the simplifications. In text, unicode, LaTeX,
    /// Markdown or JSON (an array of steps). First derivatives only; not with --batch.
    #[arg(long)]
    steps: bool,
    /// Print a complete Python function `def NAME(...)` returning the derivative, its
    /// dimensions read from its arguments' shapes (with --format numpy or torch).
    #[arg(long, value_name = "NAME")]
    function: Option<String>,
    /// State the reading of every name after the result: `# where x: R^n, b: R` (a comment,
    /// in text and Python), `where x ∈ ℝⁿ, b ∈ ℝ` (unicode), a `\text{where}` line (LaTeX).
    #[arg(long = "where")]
    where_: bool,
    /// Seed of the random points of --check [default: 1].
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// How many random points --check compares at [default: 3].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1000))]
    draws: Option<u16>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
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

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// Exit code of an input nabla cannot use, or of options that cannot go together.
const USAGE: i32 = 2;

/// Runs the command line; returns the exit code (see `LANGUAGE`).
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e)
            if e.use_stderr()
                && e.kind() != ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            eprint!("nabla: {}", clap_message(&e));
            return USAGE;
        }
        Err(e) => {
            // --help and --version, or the help for a bare `nabla`.
            let _ = e.print();
            return if e.use_stderr() { USAGE } else { 0 };
        }
    };
    match cli.command {
        Command::Diff(args) => diff(args, false),
        Command::Hessian(args) => diff(args, true),
        Command::Rules { format } => {
            out(&reference::rules_table(match format {
                TableArg::Text => TableFormat::Text,
                TableArg::Markdown => TableFormat::Markdown,
                TableArg::Latex => TableFormat::Latex,
            }));
            0
        }
        Command::Completions { shell } => completions(shell),
        Command::Man { command } => man(command.as_deref()),
    }
}

/// `nabla completions SHELL`: the completion script, generated from the clap definition.
fn completions(shell: Shell) -> i32 {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "nabla", &mut script);
    out(&String::from_utf8_lossy(&script));
    0
}

/// `nabla man [COMMAND]`: the man page in roff, generated from the clap definition: of nabla,
/// or of one of its subcommands (`nabla-diff(1)`).
fn man(command: Option<&str>) -> i32 {
    let root = Cli::command();
    let page_of = match command {
        None => root,
        Some(name) => match root.find_subcommand(name) {
            Some(sub) if name != "help" => (sub.clone())
                .display_name(format!("nabla-{name}"))
                .bin_name(format!("nabla {name}")),
            _ => {
                let names: Vec<&str> = (root.get_subcommands())
                    .map(|c| c.get_name())
                    .filter(|n| *n != "help")
                    .collect();
                eprintln!(
                    "nabla: no page for `{name}`: the subcommands are {}",
                    names.join(", ")
                );
                return USAGE;
            }
        },
    };
    let mut page = Vec::new();
    let source = format!("nabla {}", env!("CARGO_PKG_VERSION"));
    match clap_mangen::Man::new(page_of)
        .source(source)
        .render(&mut page)
    {
        Ok(()) => {
            out(&String::from_utf8_lossy(&page));
            0
        }
        Err(e) => {
            eprintln!("nabla: cannot write the man page: {e}");
            USAGE
        }
    }
}

/// clap's message without its `error: ` (nabla's own name goes first, as in every other error)
/// and without its tip to pass a value after `--`: an input may start with a minus as it is,
/// and after `--` every option would be taken for input.
fn clap_message(e: &clap::Error) -> String {
    let message = e.render().to_string();
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    let tip = |line: &str| line.trim_start().starts_with("tip: to pass '");
    let lines: Vec<&str> = message.split('\n').filter(|l| !tip(l)).collect();
    lines.join("\n").replace("\n\n\n", "\n\n")
}

/// What `diff` and `hessian` were asked, once the arguments are known to go together.
struct Request {
    /// The input text.
    input: String,
    /// The variable.
    wrt: String,
    /// The second variable of a second derivative.
    second: Option<String>,
    layout: Layout,
    format: FormatArg,
    /// The data of `--check`, when asked.
    check: Option<CheckOptions>,
    /// The input argument, when it was taken as an expression but also names a file.
    also_a_file: Option<String>,
    /// `--function NAME`: the derivative as a Python function of that name.
    function: Option<String>,
    /// `--where`: the reading of the names after the result.
    where_: bool,
}

fn diff(args: DiffArgs, hessian: bool) -> i32 {
    if let Err(message) = usage::validate(&args, hessian) {
        eprintln!("nabla: {message}");
        return USAGE;
    }
    let defaults = CheckOptions::default();
    let check = args.check.then_some(CheckOptions {
        draws: args.draws.map_or(defaults.draws, usize::from),
        seed: args.seed.unwrap_or(defaults.seed),
    });
    let order = args.order.unwrap_or(if hessian { 2 } else { 1 });
    if let Some(path) = &args.batch {
        return batch::batch(path, &args, order, check);
    }
    let input = match read_input(&args) {
        Ok(input) => input,
        Err(code) => return code,
    };
    let second = match (order, args.wrt.get(1)) {
        (_, Some(y)) => Some(y.clone()),
        (2, None) => Some(args.wrt[0].clone()),
        _ => None,
    };
    let request = Request {
        input,
        wrt: args.wrt[0].clone(),
        second,
        layout: layout(args.layout),
        format: args.format,
        check,
        also_a_file: (args.input.as_ref())
            .filter(|i| args.file.is_none() && !names_a_file(i) && Path::new(i).is_file())
            .cloned(),
        function: args.function.clone(),
        where_: args.where_,
    };
    if args.steps {
        steps(&request)
    } else {
        derivative(&request)
    }
}

/// The input: INPUT, a `.nabla` file named by INPUT, `--file FILE`, or standard input for `-`.
fn read_input(args: &DiffArgs) -> Result<String, i32> {
    match (&args.file, &args.input) {
        (Some(path), _) => read_file(path),
        (None, Some(input)) if names_a_file(input) => read_file(input),
        (None, Some(input)) => Ok(input.clone()),
        (None, None) => {
            eprintln!("nabla: no input: give INPUT, --file FILE or --batch FILE");
            Err(USAGE)
        }
    }
}

/// Whether INPUT names where the input is, rather than being it: `-` or a `.nabla` path.
fn names_a_file(input: &str) -> bool {
    input == "-" || input.ends_with(".nabla")
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
            Err(USAGE)
        }
    }
}

/// The derivative in the asked format, and the check when asked.
fn derivative(request: &Request) -> i32 {
    let options = Options {
        layout: request.layout,
        second: request.second.clone(),
    };
    let input = &request.input;
    let run = crate::with_deep_stack(|| match crate::diff(input, &request.wrt, &options) {
        Ok(d) => {
            for note in d.notes() {
                eprintln!("note: {note}");
            }
            let report = request.check.map(|options| d.check(options));
            if let Some(name) = &request.function {
                match d.python_function(name, python(request.format)) {
                    Ok(function) => out(&function),
                    Err(e) => return report_error(&e, request),
                }
                return check_outcome(report.as_ref(), request.format, "");
            }
            match request.format {
                FormatArg::Json => out(&format!("{}\n", d.json(report.as_ref()))),
                FormatArg::Markdown => out(&d.markdown()),
                other => {
                    out(&format!("{}\n", d.format(format(other))));
                    if request.where_ {
                        out(&format!("{}\n", d.reading(format(other))));
                    }
                    if let Some(note) = d.vec_form_note(false) {
                        eprintln!("note: {note}");
                    }
                }
            }
            check_outcome(report.as_ref(), request.format, "")
        }
        Err(e) => report_error(&e, request),
    });
    run.unwrap_or_else(|e| {
        eprintln!("nabla: {e}");
        e.exit_code()
    })
}

/// The exit code of a check, with its line on standard error unless it is in the JSON output;
/// `prefix` names the batch line.
fn check_outcome(report: Option<&CheckReport>, format: FormatArg, prefix: &str) -> i32 {
    let Some(report) = report else { return 0 };
    if format != FormatArg::Json {
        eprintln!("{prefix}{report}");
    }
    report.verdict().exit_code()
}

/// `--steps`: the derivation step by step, in the asked format, and the check when asked.
fn steps(request: &Request) -> i32 {
    let input = &request.input;
    let run = crate::with_deep_stack(|| {
        let d = crate::derivation(input, &request.wrt, request.layout)?;
        let report = (request.check)
            .map(|options| crate::check::check(&d.input, d.wrt, &d.derivative, d.layout, options));
        Ok::<_, crate::Error>((d, report))
    });
    match run.and_then(|result| result) {
        Ok((d, report)) => {
            out(&match request.format {
                FormatArg::Latex => d.latex(),
                FormatArg::Markdown => d.markdown(),
                FormatArg::Unicode => d.unicode(),
                FormatArg::Json => {
                    let mut steps = d.json();
                    if let (Some(report), serde_json::Value::Array(steps)) = (&report, &mut steps) {
                        let mut check = report.to_json();
                        check["step"] = "check".into();
                        steps.push(check);
                    }
                    format!("{steps}\n")
                }
                FormatArg::Text | FormatArg::Numpy | FormatArg::Torch => d.text(),
            });
            check_outcome(report.as_ref(), request.format, "")
        }
        Err(e) => report_error(&e, request),
    }
}

/// Prints an error about the input, with a note when the input argument also names a file
/// (`nabla diff problem.txt`: only `.nabla` files are read without `--file`); its exit code.
fn report_error(e: &crate::Error, request: &Request) -> i32 {
    eprintln!("{}", e.report(&request.input, "nabla", color()));
    if let Some(path) = &request.also_a_file {
        eprintln!(
            "note: `{path}` was read as an expression, and it is also a file: to read the file, \
             give `--file {path}`"
        );
    }
    e.exit_code()
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
            std::process::exit(USAGE);
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

fn format(arg: FormatArg) -> Format {
    match arg {
        FormatArg::Text => Format::Text,
        FormatArg::Unicode => Format::Unicode,
        FormatArg::Latex | FormatArg::Markdown | FormatArg::Json => Format::Latex,
        FormatArg::Numpy => Format::Numpy,
        FormatArg::Torch => Format::Torch,
    }
}

/// The Python format of `--function`; any other format is refused by the library.
fn python(arg: FormatArg) -> Format {
    match arg {
        FormatArg::Torch => Format::Torch,
        FormatArg::Numpy => Format::Numpy,
        _ => Format::Text,
    }
}
