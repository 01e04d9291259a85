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
use common::{Row, rows};
use nabla::eval::{self, Draw, Point, Value};
use nabla::print::numpy_name;
use nabla::{Derivative, Format, Layout};
use std::collections::HashMap;
use std::fmt::Write;
use std::process::Command;

/// Largest accepted difference, relative to 1 + the largest entry of nabla's value.
const TOLERANCE: f64 = 1e-9;

/// Defines `run`, which evaluates one case and prints `index ok rows cols values...` (values in
/// column-major order) or `index error 'message'`; `MODULE` is `np` or `torch`.
const PRELUDE: &str = r#"import numpy as np
try:
    import torch
    torch.set_default_dtype(torch.float64)
except ImportError:
    torch = None

def run(index, scope, text):
    lines = text.split("\n")
    scope["np"] = np
    scope["torch"] = torch
    try:
        exec("\n".join(lines[:-1]), scope)
        result = eval(lines[-1], scope)
        if torch is not None and isinstance(result, torch.Tensor):
            result = result.detach().numpy()
        result = np.atleast_2d(np.asarray(result, dtype=float))
        values = [repr(float(v)) for v in result.flatten(order="F")]
        print(index, "ok", result.shape[0], result.shape[1], *values)
    except Exception as e:
        print(index, "error", repr(f"{type(e).__name__}: {e}"))

"#;

/// One derivative at one point, with the value nabla computes there.
struct Case {
    id: String,
    /// The printed derivative, NumPy or PyTorch.
    code: String,
    point: Point,
    expected: Value,
    /// Whether the scope binds the dimension names (a function binds its own).
    sizes_in_scope: bool,
    /// Largest accepted difference, relative to 1 + the largest expected entry.
    tolerance: f64,
}

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

/// Distinct small sizes for the symbolic dimensions: 2, 3, 4, ... in sorted order, or the
/// reverse (a tall `X: R^(m x n)` needs m >= n for `X'*X` to be invertible).
fn sizes(d: &Derivative, reversed: bool) -> HashMap<egg::Symbol, usize> {
    let dims = d.input.dims();
    let count = dims.len();
    (dims.into_iter().enumerate())
        .map(|(i, s)| (s, 2 + if reversed { count - 1 - i } else { i }))
        .collect()
}

/// A random point in the function's domain and the derivative's value there: signed data first, then positive data
/// when the signed point leaves a function's domain (as src/check.rs does), then the same
/// with the sizes reversed.
fn evaluate(d: &Derivative, seed: u64) -> Option<(Point, Value)> {
    let mut rng = eval::rng(seed);
    let tries = [false, true]
        .into_iter()
        .flat_map(|reversed| [Draw::Signed, Draw::Positive].map(|draw| (reversed, draw)));
    for (reversed, draw) in tries {
        let point = eval::random_point(&d.input.variables, &sizes(d, reversed), draw, &mut rng);
        let finite = |v: &Value| v.iter().all(|x| x.is_finite());
        let value = eval::eval(&d.expr, &point).filter(finite);
        // The function too: a derivative such as 1./x is finite where log(x) is not.
        let inside = eval::eval(&d.input.expr, &point).is_some_and(|f| finite(&f));
        if let Some(value) = value.filter(|_| inside) {
            return Some((point, value));
        }
    }
    None
}

/// A Python string literal holding `s`.
fn py_string(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}

/// A value as a 2-D NumPy array (or PyTorch tensor) literal, every float exactly.
fn py_array(v: &Value, format: Format) -> String {
    let rows: Vec<String> = (v.row_iter())
        .map(|r| {
            let entries: Vec<String> = r.iter().map(|x| format!("{x:?}")).collect();
            format!("[{}]", entries.join(", "))
        })
        .collect();
    let constructor = if format == Format::Torch {
        "torch.tensor"
    } else {
        "np.array"
    };
    format!("{constructor}([{}])", rows.join(", "))
}

/// The scope of a case: its dimensions as ints and its variables as arrays, by Python name.
fn py_scope(point: &Point, format: Format, sizes: bool) -> String {
    let mut bindings: Vec<String> = (point.sizes.iter().filter(|_| sizes))
        .map(|(d, n)| format!("{}: {n}", py_string(&numpy_name(d.as_str()))))
        .chain(point.values.iter().map(|(v, value)| {
            format!(
                "{}: {}",
                py_string(&numpy_name(v.as_str())),
                py_array(value, format)
            )
        }))
        .collect();
    bindings.sort();
    format!("{{{}}}", bindings.join(", "))
}

/// One script that runs every case.
fn script(cases: &[Case], format: Format) -> String {
    let mut out = PRELUDE.to_string();
    for (i, c) in cases.iter().enumerate() {
        writeln!(out, "# {}", c.id).unwrap();
        let (scope, text) = (
            py_scope(&c.point, format, c.sizes_in_scope),
            py_string(&c.code),
        );
        writeln!(out, "run({i}, {scope}, {text})").unwrap();
    }
    out
}

/// What Python computed for one case.
#[derive(Debug)]
enum Outcome {
    Value(Value),
    Error(String),
}

/// Checks that Python 3 with `module` is there: the test fails, not skips, without it.
fn require(module: &str) {
    let found = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "this test needs Python 3 with {module}: pip install {module}"
    );
}

/// Runs the script with python3 and returns its standard output.
fn run_python(script: &str) -> String {
    // The tests of this file run at once: each script has its own file.
    static SCRIPTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = SCRIPTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("nabla-numpy-{}-{n}.py", std::process::id()));
    std::fs::write(&path, script).expect("the script is written");
    let output = Command::new("python3").arg(&path).output();
    let _ = std::fs::remove_file(&path);
    let output = output.expect("python3 runs");
    assert!(
        output.status.success(),
        "python3 failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the output is UTF-8")
}

/// The outcomes by case index, from the lines `run` printed.
fn parse_output(stdout: &str) -> HashMap<usize, Outcome> {
    (stdout.lines())
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let index = fields[0].parse().expect("a case index");
            let outcome = match fields[1] {
                "ok" => {
                    let size = |s: &str| s.parse::<usize>().expect("a size");
                    let values: Vec<f64> = (fields[4..].iter())
                        .map(|s| s.parse().expect("a number"))
                        .collect();
                    let (rows, cols) = (size(fields[2]), size(fields[3]));
                    Outcome::Value(Value::from_column_slice(rows, cols, &values))
                }
                _ => Outcome::Error(fields[2..].join(" ")),
            };
            (index, outcome)
        })
        .collect()
}

/// Why Python's outcome disagrees with nabla's value, if it does.
fn disagreement(c: &Case, outcome: Option<&Outcome>) -> Option<String> {
    let actual = match outcome {
        None => return Some("python printed nothing".into()),
        Some(Outcome::Error(message)) => return Some(format!("python raised {message}")),
        Some(Outcome::Value(v)) => v,
    };
    let scale = 1.0 + c.expected.amax();
    let close = actual.shape() == c.expected.shape()
        && (actual - &c.expected).amax() <= c.tolerance * scale;
    (!close).then(|| format!("python gives {}", show(actual)))
}

/// A value with its shape, entries in column-major order.
fn show(v: &Value) -> String {
    format!("{}x{} {:?}", v.nrows(), v.ncols(), v.as_slice())
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
