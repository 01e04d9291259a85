//! Running printed NumPy or PyTorch code: one Python script holds every case (Python starts
//! once), evaluated at a point, and compared with nabla's own value there. Used by the table's
//! tests (tests/numpy.rs) and the property tests (tests/properties.rs).

use nabla::eval::{self, Draw, Point, Value};
use nabla::print::numpy_name;
use nabla::{Derivative, Format};
use std::collections::HashMap;
use std::fmt::Write;
use std::process::Command;

/// Largest accepted difference, relative to 1 + the largest entry of nabla's value.
pub const TOLERANCE: f64 = 1e-9;

/// Defines `run`, which evaluates one case and prints `index ok rows cols values...` (values in
/// column-major order) or `index error 'message'`; `MODULE` is `np` or `torch`.
pub const PRELUDE: &str = r#"import numpy as np
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
pub struct Case {
    pub id: String,
    /// The printed derivative, NumPy or PyTorch.
    pub code: String,
    pub point: Point,
    pub expected: Value,
    /// Whether the scope binds the dimension names (a function binds its own).
    pub sizes_in_scope: bool,
    /// Largest accepted difference, relative to 1 + the largest expected entry.
    pub tolerance: f64,
}

/// Distinct small sizes for the symbolic dimensions: 2, 3, 4, ... in sorted order, or the
/// reverse (a tall `X: R^(m x n)` needs m >= n for `X'*X` to be invertible).
pub fn sizes(d: &Derivative, reversed: bool) -> HashMap<egg::Symbol, usize> {
    let dims = d.input.dims();
    let count = dims.len();
    (dims.into_iter().enumerate())
        .map(|(i, s)| (s, 2 + if reversed { count - 1 - i } else { i }))
        .collect()
}

/// A random point in the function's domain and the derivative's value there: signed data first, then positive data
/// when the signed point leaves a function's domain (as src/check.rs does), then the same
/// with the sizes reversed.
pub fn evaluate(d: &Derivative, seed: u64) -> Option<(Point, Value)> {
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
pub fn py_string(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}

/// A value as a 2-D NumPy array (or PyTorch tensor) literal, every float exactly.
pub fn py_array(v: &Value, format: Format) -> String {
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
pub fn py_scope(point: &Point, format: Format, sizes: bool) -> String {
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
pub fn script(cases: &[Case], format: Format) -> String {
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
pub enum Outcome {
    Value(Value),
    Error(String),
}

/// Checks that Python 3 with `module` is there: the test fails, not skips, without it.
pub fn require(module: &str) {
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
pub fn run_python(script: &str) -> String {
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
pub fn parse_output(stdout: &str) -> HashMap<usize, Outcome> {
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
pub fn disagreement(c: &Case, outcome: Option<&Outcome>) -> Option<String> {
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
pub fn show(v: &Value) -> String {
    format!("{}x{} {:?}", v.nrows(), v.ncols(), v.as_slice())
}
