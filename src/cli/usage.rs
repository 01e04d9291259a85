//! Which options of `diff` and `hessian` cannot go together, and why: every pair of flags was
//! audited, and each refusal says what to do instead. clap's own conflicts would only say that
//! two flags cannot go together.

use super::{DiffArgs, FormatArg};

/// An error naming what cannot go together and why, or nothing when the options make sense.
pub(super) fn validate(args: &DiffArgs, hessian: bool) -> Result<(), String> {
    source(args)?;
    variables(args, hessian)?;
    steps(args, hessian)?;
    if args.function.is_some() && (args.batch.is_some() || args.steps) {
        return Err(
            "--function prints one derivative as a Python function: it cannot go with --batch \
             or --steps"
                .into(),
        );
    }
    if !args.check && (args.seed.is_some() || args.draws.is_some()) {
        return Err(
            "--seed and --draws choose the random points of --check: add --check, or drop them"
                .into(),
        );
    }
    Ok(())
}

/// Exactly one of INPUT, --file and --batch; an INPUT that looks like a long option is one.
fn source(args: &DiffArgs) -> Result<(), String> {
    if let Some(option) = (args.input.as_deref()).filter(|i| looks_like_an_option(i)) {
        return Err(format!(
            "unknown option `{option}` (see `nabla diff --help`); an input that negates a \
             negation is written `-(-x)`"
        ));
    }
    match (&args.input, &args.file, &args.batch) {
        (None, None, None) => Err("no input: give INPUT, --file FILE or --batch FILE".into()),
        (Some(_), Some(_), _) => Err(
            "INPUT and --file cannot go together: give the input once, as INPUT or with \
                 --file"
                .into(),
        ),
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => Err(format!(
            "{} cannot go with --batch: --batch reads every problem from its FILE (the \
             variable, a tab, the input on each line)",
            if args.input.is_some() {
                "INPUT"
            } else {
                "--file"
            }
        )),
        _ => Ok(()),
    }
}

/// The variables: --wrt once or twice for one input, never with --batch; an order that
/// agrees with them and with the command.
fn variables(args: &DiffArgs, hessian: bool) -> Result<(), String> {
    if args.batch.is_some() {
        if !args.wrt.is_empty() {
            return Err(
                "--wrt cannot go with --batch: each line of the batch names its own \
                        variable (`x<TAB>x'*A*x`)"
                    .into(),
            );
        }
    } else if args.wrt.is_empty() {
        return Err(
            "no variable: name the variable to differentiate by with --wrt (`--wrt x`)".into(),
        );
    }
    if args.wrt.len() > 2 {
        return Err("--wrt names at most two variables (a mixed second derivative)".into());
    }
    match args.order {
        Some(1) if hessian => Err("`hessian` is the second derivative and --order 1 asks for \
                                   the first: drop --order, or use `nabla diff`"
            .into()),
        Some(1) if args.wrt.len() == 2 => Err("two --wrt ask for a mixed second derivative \
                                               and --order 1 for a first derivative: drop \
                                               --order 1 or the second --wrt"
            .into()),
        _ => Ok(()),
    }
}

/// --steps writes one first derivative, in a format for reading.
fn steps(args: &DiffArgs, hessian: bool) -> Result<(), String> {
    if !args.steps {
        return Ok(());
    }
    if args.batch.is_some() {
        return Err(
            "--steps cannot go with --batch: a derivation takes many lines; run \
                    --steps on one problem at a time"
                .into(),
        );
    }
    if hessian || args.order == Some(2) || args.wrt.len() == 2 {
        return Err(
            "--steps writes out first derivatives only: drop --steps for a second \
                    derivative, or drop --order 2 (or the second --wrt, or use `diff`)"
                .into(),
        );
    }
    if matches!(args.format, FormatArg::Numpy | FormatArg::Torch) {
        return Err(
            "--steps cannot go with --format numpy or torch: a derivation is written \
                    for reading, in text, unicode, latex, markdown or json; drop --steps for \
                    the derivative as code"
                .into(),
        );
    }
    Ok(())
}

/// `--name`: what a mistyped option looks like. An input starts with `--` only as a double
/// negation, which nobody writes without parentheses.
fn looks_like_an_option(input: &str) -> bool {
    input
        .strip_prefix("--")
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_alphabetic()))
}
