//! The `--format numpy` contract, proved by running it: for every row of the classic table
//! (rules/table.txt) in both layouts, the printed NumPy text is evaluated by Python at a random
//! point and must agree with nabla's own evaluation of the derivative.
//!
//! The contract: the text is Python over the declared variable names, the dimension names
//! (bound to ints by the caller) and `np`; zero or more assignment lines, then one line with the
//! derivative. Vectors are 2-D columns `(n, 1)` or rows `(1, n)`; a scalar may be a float or a
//! `(1, 1)` array. Names that are Python keywords (or `np`) take a trailing underscore, as
//! [`nabla::print::numpy_name`] spells them.
//!
//! `--function NAME` is held to finite differences: every table row's printed function is
//! called with the variables alone (its dimensions come from their shapes) and must agree with
//! central differences of the input (src/check.rs), or for a second derivative or a structured
//! variable (whose derivative lives on its space) with nabla's value, which `--check` proves.
//!
//! One script holds every case, so Python starts once.
//!
//! `--format torch` is held to the same contract with PyTorch tensors. PyTorch is too large to
//! install for CI, so its test is ignored there: `pip install torch`, then
//! `cargo test --test numpy -- --ignored`.

mod common;
use common::python::{
    Case, TOLERANCE, disagreement, evaluate, parse_output, require, run_python, script, show,
};
use common::{Row, rows};
use nabla::{Format, Layout};

/// The case of `row` in `layout` printed in `format`, or why it cannot be built.
fn case(row: &Row, layout: Layout, seed: u64, format: Format) -> Result<Case, String> {
    let id = format!("{} ({layout:?})", row.name);
    let d = row
        .diff(layout)
        .map_err(|e| format!("{id}: {}", e.render(&row.input)))?;
    let (point, expected) =
        evaluate(&d, seed).ok_or_else(|| format!("{id}: no point in the domain"))?;
    let code = d.format(format);
    if d.shared().definitions.is_empty() && code.contains('\n') {
        return Err(format!("{id}: one expression expected, got lines:\n{code}"));
    }
    Ok(Case {
        id,
        code,
        point,
        expected,
        sizes_in_scope: true,
        tolerance: TOLERANCE,
    })
}

/// Relative step of the finite differences that a function is compared with.
const STEP: f64 = 1e-3;

/// Largest accepted difference from Richardson-extrapolated central differences with [`STEP`]
/// (their truncation error is of order STEP⁴), relative to 1 + the largest entry.
const DIFFERENCES_TOLERANCE: f64 = 1e-7;

/// The case of `row` in `layout` as a function called with the variables alone, expecting
/// central differences where they apply.
fn function_case(row: &Row, layout: Layout, seed: u64, format: Format) -> Result<Case, String> {
    let id = format!("{} ({layout:?}, function)", row.name);
    let d = row
        .diff(layout)
        .map_err(|e| format!("{id}: {}", e.render(&row.input)))?;
    let (point, value) =
        evaluate(&d, seed).ok_or_else(|| format!("{id}: no point in the domain"))?;
    let structured = (d.input.variable(d.wrt.as_str())).is_some_and(|v| v.props.symmetric());
    let (expected, tolerance) = if d.second.is_some() || structured {
        (value, TOLERANCE)
    } else {
        let differences = nabla::check::finite_difference(&d.input, d.wrt, layout, &point, STEP)
            .ok_or_else(|| format!("{id}: no finite differences at the point"))?;
        (differences, DIFFERENCES_TOLERANCE)
    };
    let function = d
        .python_function("derivative", format)
        .map_err(|e| format!("{id}: {e}"))?;
    Ok(Case {
        id,
        code: format!("{function}\n{}", call(&function)),
        point,
        expected,
        sizes_in_scope: false,
        tolerance,
    })
}

/// The call of a printed function with the scope's names: positional parameters as they are,
/// keyword-only ones (after `*`) as `name=name`.
fn call(function: &str) -> String {
    let header = function
        .lines()
        .find(|l| l.starts_with("def "))
        .expect("a def line");
    let (name, parameters) = header["def ".len()..].split_once('(').expect("parameters");
    let parameters = parameters.trim_end_matches("):");
    let (positional, keyword) = parameters.split_once(", *, ").unwrap_or((parameters, ""));
    let arguments: Vec<String> = (positional.split(", "))
        .map(str::to_string)
        .chain(
            keyword
                .split(", ")
                .filter(|k| !k.is_empty())
                .map(|k| format!("{k}={k}")),
        )
        .collect();
    format!("{name}({})", arguments.join(", "))
}

#[test]
fn numpy_output_evaluates_to_the_derivative() {
    require("numpy");
    every_row_runs(Format::Numpy);
}

#[test]
#[ignore = "needs PyTorch, too large to install for CI: pip install torch, then --ignored"]
fn torch_output_evaluates_to_the_derivative() {
    require("torch");
    every_row_runs(Format::Torch);
}

#[test]
fn numpy_functions_match_finite_differences() {
    require("numpy");
    every_row_runs_with(Format::Numpy, function_case);
}

#[test]
#[ignore = "needs PyTorch, too large to install for CI: pip install torch, then --ignored"]
fn torch_functions_match_finite_differences() {
    require("torch");
    every_row_runs_with(Format::Torch, function_case);
}

/// Every table row in both layouts, printed in `format`, run by Python and compared.
fn every_row_runs(format: Format) {
    every_row_runs_with(format, case)
}

/// Every table row in both layouts, made a case by `case`, run by Python and compared.
fn every_row_runs_with(
    format: Format,
    case: fn(&Row, Layout, u64, Format) -> Result<Case, String>,
) {
    let mut failures = Vec::new();
    let mut cases = Vec::new();
    for (i, row) in rows().iter().enumerate() {
        for (j, layout) in [Layout::Numerator, Layout::Denominator]
            .into_iter()
            .enumerate()
        {
            match case(row, layout, (2 * i + j) as u64, format) {
                Ok(c) => cases.push(c),
                Err(why) => failures.push(why),
            }
        }
    }
    let outcomes = parse_output(&run_python(&script(&cases, format)));
    for (i, c) in cases.iter().enumerate() {
        if let Some(why) = disagreement(c, outcomes.get(&i)) {
            failures.push(format!(
                "{}:\n  code:     {}\n  expected: {}\n  {why}",
                c.id,
                c.code,
                show(&c.expected)
            ));
        }
    }
    println!("{} cases run through python3", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
