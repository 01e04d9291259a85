//! The command line: `nabla diff EXPR --wrt VAR`.

use crate::check::CheckOptions;
use crate::{Format, Layout, Options};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Read;

const LANGUAGE: &str = "\
The language:
  declarations   A: R^(n x n) sym; x: R^n; c: R      (properties: sym, spd, diag)
  definitions    r = X*w - y
  default names  a-g scalars, h-z column vectors, A-Z matrices (sizes inferred)
  operators      + - * /  ^ (scalar or integer matrix power)  ' or ^T (transpose)
                 .* ./ .^ (elementwise; also ⊙)
  functions      exp log sin cos tan tanh sigmoid relu step abs sign sqrt
                 sum norm1 norm2 tr det logdet inv diag eye(n) ones(n) zeros(m, n)

Examples:
  nabla diff \"x'*A*x\" --wrt x                     x'*(A + A')
  nabla diff \"norm2(X*w - y)^2\" --wrt w           2*(X*w - y)'*X
  nabla diff \"logdet(X)\" --wrt X --format latex   X^{-1}
  echo \"sum(exp(x))\" | nabla diff - --wrt x --format numpy";

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
    Diff {
        /// The input: declarations, definitions, then the expression; `-` reads standard input.
        input: String,
        /// The variable to differentiate by.
        #[arg(long)]
        wrt: String,
        /// The output format.
        #[arg(long, value_enum, default_value_t = FormatArg::Text)]
        format: FormatArg,
        /// The layout: numerator (f's shape first) or denominator (shaped like the variable).
        #[arg(long, value_enum, default_value_t = LayoutArg::Numerator)]
        layout: LayoutArg,
        /// After printing, compare with central finite differences at random points (exit 1 if off).
        #[arg(long)]
        check: bool,
        /// Seed of the random points of --check.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// How many random points --check tries.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=1000))]
        draws: u16,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    Text,
    Unicode,
    Latex,
    Numpy,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LayoutArg {
    Numerator,
    Denominator,
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
        Command::Diff {
            input,
            wrt,
            format,
            layout,
            check,
            seed,
            draws,
        } => {
            let check = check.then_some(CheckOptions {
                draws: draws.into(),
                seed,
            });
            diff(input, &wrt, format, layout, check)
        }
    }
}

fn diff(
    input: String,
    wrt: &str,
    format: FormatArg,
    layout: LayoutArg,
    check: Option<CheckOptions>,
) -> i32 {
    let input = if input == "-" {
        let mut buf = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut buf) {
            eprintln!("nabla: cannot read standard input: {e}");
            return 2;
        }
        buf
    } else {
        input
    };
    let layout = match layout {
        LayoutArg::Numerator => Layout::Numerator,
        LayoutArg::Denominator => Layout::Denominator,
    };
    let format = match format {
        FormatArg::Text => Format::Text,
        FormatArg::Unicode => Format::Unicode,
        FormatArg::Latex => Format::Latex,
        FormatArg::Numpy => Format::Numpy,
    };
    crate::with_deep_stack(|| match crate::diff(&input, wrt, &Options { layout }) {
        Ok(d) => {
            println!("{}", d.format(format));
            let Some(options) = check else { return 0 };
            let report = d.check(options);
            eprintln!("{report}");
            if report.passed() { 0 } else { 1 }
        }
        Err(e) => {
            eprintln!("nabla: {}", e.render(&input));
            e.exit_code()
        }
    })
}
