//! `--batch`: one problem per line, one result per line in order (in Markdown, one block per
//! problem), every line valid in its format.

use super::{FormatArg, color, format, layout, out};
use crate::check::{CheckOptions, CheckReport};
use crate::{Derivative, Options, Problem};

/// Runs the batch in `path`; the exit code is the most serious of the lines'.
pub(super) fn batch(
    path: &str,
    args: &super::DiffArgs,
    order: u8,
    check: Option<CheckOptions>,
) -> i32 {
    let text = match super::read_file(path) {
        Ok(text) => text,
        Err(code) => return code,
    };
    let lines: Vec<&str> = text.lines().collect();
    let options = Options {
        layout: layout(args.layout),
        second: None,
    };
    let mut worst = 0;
    // Chunk by chunk, so that results stream out in order and the derivatives held at once do
    // not grow with the number of lines; each chunk runs on all workers.
    for (start, chunk) in (0..).step_by(CHUNK).zip(lines.chunks(CHUNK)) {
        let code = print_chunk(start, chunk, order, &options, args, check);
        worst = more_serious(worst, code);
    }
    worst
}

/// Lines derived together: enough to keep every worker busy.
const CHUNK: usize = 256;

/// Derives and prints the lines of one chunk, the first being line `start` (from 0); the most
/// serious exit code of its lines.
fn print_chunk(
    start: usize,
    lines: &[&str],
    order: u8,
    options: &Options,
    args: &super::DiffArgs,
    check: Option<CheckOptions>,
) -> i32 {
    let mut worst = 0;
    for (k, outcome) in outcomes(lines, order, options).into_iter().enumerate() {
        let i = start + k;
        let code = match outcome {
            None if args.format == FormatArg::Markdown => 0,
            None => {
                out("\n");
                0
            }
            Some(Ok(d)) => {
                let report = check.map(|options| d.check(options));
                out(&result(&d, args.format, report.as_ref()));
                super::check_outcome(
                    report.as_ref(),
                    args.format,
                    &format!("nabla: line {}: ", i + 1),
                )
            }
            Some(Err(e)) => {
                out(&error(&e, args.format));
                let source = (lines[k].split_once('\t')).map_or(lines[k], |(_, input)| input);
                eprintln!(
                    "{}",
                    e.report(source, &format!("nabla: line {}", i + 1), color())
                );
                e.exit_code()
            }
        };
        worst = more_serious(worst, code);
    }
    worst
}

/// The outcome of every line: `None` for a blank or comment line.
fn outcomes(
    lines: &[&str],
    order: u8,
    options: &Options,
) -> Vec<Option<crate::Result<Derivative>>> {
    let problems: Vec<(usize, crate::Result<Problem>)> = (lines.iter().enumerate())
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| (i, Problem::from_line(l).map(|p| second_by_order(p, order))))
        .collect();
    let valid: Vec<Problem> = (problems.iter())
        .filter_map(|(_, p)| p.as_ref().ok().cloned())
        .collect();
    let mut results = crate::diff_batch(&valid, options).into_iter();
    let mut outcomes: Vec<Option<crate::Result<Derivative>>> =
        (0..lines.len()).map(|_| None).collect();
    for (i, problem) in problems {
        outcomes[i] = Some(problem.and_then(|_| results.next().expect("one result per problem")));
    }
    outcomes
}

/// With `--order 2`, a problem by `x` alone is the Hessian by `x`.
fn second_by_order(mut problem: Problem, order: u8) -> Problem {
    if order == 2 && !problem.wrt.contains(',') {
        problem.wrt = format!("{0},{0}", problem.wrt);
    }
    problem
}

/// One derivative as its batch output: a line (the lines of shared subexpressions joined as
/// the format allows: `; ` between statements, a space inside a LaTeX `aligned` block), or a
/// Markdown block followed by a blank line.
fn result(d: &Derivative, kind: FormatArg, report: Option<&CheckReport>) -> String {
    match kind {
        FormatArg::Json => format!("{}\n", d.json(report)),
        FormatArg::Markdown => format!("{}\n", d.markdown()),
        FormatArg::Latex => format!("{}\n", d.format(format(kind)).replace('\n', " ")),
        other => format!("{}\n", d.format(format(other)).replace('\n', "; ")),
    }
}

/// A failed line as its batch output.
fn error(e: &crate::Error, format: FormatArg) -> String {
    match format {
        FormatArg::Json => format!("{}\n", serde_json::json!({ "error": e.to_string() })),
        FormatArg::Markdown => format!("error: {e}\n\n"),
        _ => format!("error: {e}\n"),
    }
}

/// The more serious of two exit codes: an internal error, then bad input, then a derivative
/// that cannot be expressed or a failed check, then a check without points, then success.
fn more_serious(a: i32, b: i32) -> i32 {
    let rank = |code: i32| match code {
        0 => 0,
        4 => 1,
        1 => 2,
        2 => 3,
        _ => 4,
    };
    if rank(b) > rank(a) { b } else { a }
}
