//! How nabla reads undeclared names (issue 10, item 1): each name takes the shape its uses
//! require; where the conventions decide and another reading fits, a note on standard error
//! says so; uses that want different shapes are an error naming both; `--where` states the
//! reading. Each case runs the binary and checks the output, the note and the exit code.

use std::process::{Command, Output};

fn nabla(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nabla"))
        .args(args)
        .env_clear()
        .output()
        .expect("cannot start the nabla binary")
}

/// The first line of standard output, standard error, and the exit code of `diff INPUT --wrt X`
/// with `extra` arguments.
fn diff(input: &str, wrt: &str, extra: &[&str]) -> (String, String, i32) {
    let mut args = vec!["diff", input, "--wrt", wrt];
    args.extend(extra);
    let run = nabla(&args);
    let stdout = String::from_utf8(run.stdout).unwrap();
    let stderr = String::from_utf8(run.stderr).unwrap();
    (stdout, stderr, run.status.code().unwrap_or(-1))
}

/// Asserts the derivative, that no note was printed, and exit code 0.
fn quiet(input: &str, wrt: &str, expected: &str) {
    let (out, err, code) = diff(input, wrt, &[]);
    assert_eq!(
        (out.trim(), err.as_str(), code),
        (expected, "", 0),
        "{input}"
    );
}

/// Asserts the derivative, exit code 0, and a note naming `name` that contains `says`.
fn noted(input: &str, wrt: &str, expected: &str, name: &str, says: &str) {
    let (out, err, code) = diff(input, wrt, &[]);
    assert_eq!((out.trim(), code), (expected, 0), "{input}\n{err}");
    assert!(
        err.starts_with("note: ") && err.contains(&format!("`{name}`")) && err.contains(says),
        "{input}: the note does not name `{name}` with {says:?}:\n{err}"
    );
}

#[test]
fn ridge_regression_reads_lambda_as_a_scalar() {
    quiet(
        "norm2(X*w - y)^2 + lambda*norm2(w)^2",
        "w",
        "2*(lambda*w' + (X*w - y)'*X)",
    );
    quiet(
        "norm2(X*w - y)^2 + λ*norm2(w)^2",
        "w",
        "2*(λ*w' + (X*w - y)'*X)",
    );
}

#[test]
fn a_transposed_name_is_a_vector() {
    quiet("A: R^(n x n) sym; 1/2*x'*A*x - b'*x", "x", "(A*x - b)'");
}

#[test]
fn the_cookbook_bilinear_form_reads_a_and_b_as_vectors() {
    quiet("a'*X*b", "X", "b*a'");
    let (out, _, code) = diff("a'*X*b", "X", &["--where"]);
    assert_eq!(code, 0);
    assert_eq!(out, "b*a'\n# where a: R^n, X: R^(n x m), b: R^m\n");
}

#[test]
fn greek_names_follow_statistics_and_ml_notes() {
    quiet("θ'*x", "θ", "x'");
    quiet("theta'*x", "theta", "x'");
    quiet("norm2(x - mu)^2", "mu", "2*(mu - x)'");
    quiet("alpha*norm2(w)^2", "w", "2*alpha*w'");
    quiet(
        "exp(-sigma*norm2(x)^2)",
        "sigma",
        "-norm2(x)^2*exp(-sigma*norm2(x)^2)",
    );
    noted(
        "beta*x",
        "x",
        "beta*eye(n)",
        "beta",
        "declare `beta: R^n` for a vector",
    );
}

#[test]
fn a_name_that_scales_an_array_is_a_scalar() {
    quiet("t*A", "t", "A");
    quiet("X*w*c", "w", "c*X");
    // Between two vector names the scalar is the one written first, with a note.
    noted("s*x", "x", "s*eye(n)", "s", "declare `s: R^n` and `x: R`");
    // A column times a name: the name scales it.
    noted("A*x*y", "x", "y*A", "y", "declare `y: R` to say so");
}

#[test]
fn tr_and_inv_of_a_vector_name_read_it_as_a_matrix_with_a_note() {
    noted("tr(x)", "x", "eye(n)", "x", "read as a square matrix");
    let (out, err, code) = diff("inv(x)", "x", &[]);
    assert_eq!((out.trim(), code), ("-kron(inv(x'), inv(x))", 0));
    assert!(err.contains("note: `x` is read as a square matrix, as `inv(x)` needs one"));
    assert!(err.contains("declare `x: R` for a scalar"), "{err}");
}

#[test]
fn a_power_of_a_vector_name_reads_it_as_a_scalar_with_the_elementwise_rewrite() {
    noted("x^2", "x", "2*x", "x", "write `x.^2`");
}

#[test]
fn a_scalar_broadcast_over_a_conventional_vector_is_noted() {
    noted(
        "l*norm2(w)^2 + norm2(X*w - y)^2",
        "w",
        "2*(l*w' + ones(n)*(X*w - y)'*X)",
        "l",
        "declare `l: R` if it is a scalar",
    );
    // A column y*theta'*x is an array only by y's convention.
    noted(
        "y*theta'*x - log(1 + exp(theta'*x))",
        "theta",
        "(y - sigmoid(theta'*x)*ones(n))*x'",
        "y",
        "declare `y: R` if it is a scalar",
    );
    quiet(
        "y: R; y*theta'*x - log(1 + exp(theta'*x))",
        "theta",
        "(y - sigmoid(theta'*x))*x'",
    );
    // A sum around it says the name is an array: nothing to note.
    quiet("sum(log(1 + exp(v)))", "v", "sigmoid(v)'");
}

#[test]
fn a_divisor_named_like_a_dimension_is_that_dimension() {
    noted(
        "sum(x)/n",
        "x",
        "ones(n)'/n",
        "n",
        "read as the dimension n",
    );
    quiet("x: R^n; sum(x)/n", "x", "ones(n)'/n");
    // It names the first unknown dimension: the samples of X, as in notes dividing by m.
    let (out, err, code) = diff("(y - X*theta)'*(y - X*theta)/(2*m)", "theta", &["--where"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "(X*theta - y)'*X/m\n# where y: R^m, X: R^(m x n), theta: R^n\n"
    );
    assert!(
        err.contains("`m` is read as the dimension m of `y: R^m`, `X: R^(m x n)`"),
        "{err}"
    );
    quiet("x: R^k; 1/k*x'*x", "x", "2*x'/k");
}

#[test]
fn two_uses_that_want_different_shapes_are_an_error_naming_both() {
    let (out, err, code) = diff("x'*x + x^2", "x", &[]);
    assert_eq!((out.as_str(), code), ("", 2));
    assert!(
        err.contains("`x` is used as a scalar and as an array"),
        "{err}"
    );
    assert!(
        err.contains("an array in `x'`") && err.contains("a scalar in `x^2`"),
        "{err}"
    );
    let (_, err, code) = diff("x + y'", "x", &[]);
    assert_eq!(code, 2);
    assert!(err.contains("`x` is read as a vector"), "{err}");
    assert!(err.contains("declare `x: R` for a scalar"), "{err}");
    let (_, err, code) = diff("x: R^n; sum(x)/m", "x", &[]);
    assert_eq!(code, 2);
    assert!(err.contains("no array has a dimension m"), "{err}");
}

#[test]
fn the_reading_is_stated_in_every_format() {
    let input = "A: R^(n x n) sym; 1/2*x'*A*x - b'*x";
    let reading = |format: &str| {
        let (out, _, code) = diff(input, "x", &["--where", "--format", format]);
        assert_eq!(code, 0);
        out.lines().last().unwrap().to_string()
    };
    assert_eq!(reading("text"), "# where A: R^(n x n) sym, x: R^n, b: R^n");
    assert_eq!(reading("unicode"), "where A ∈ ℝⁿˣⁿ, x ∈ ℝⁿ, b ∈ ℝⁿ");
    assert_eq!(
        reading("latex"),
        "\\text{where } A \\in \\mathbb{R}^{n \\times n},\\ x \\in \\mathbb{R}^{n},\\ b \\in \\mathbb{R}^{n}"
    );
    assert_eq!(reading("numpy"), "# where A: (n, n), x: (n, 1), b: (n, 1)");
    let (markdown, _, _) = diff(input, "x", &["--format", "markdown"]);
    assert!(markdown.contains("where $A \\in \\mathbb{R}^{n \\times n}$, $x \\in \\mathbb{R}^{n}$, $b \\in \\mathbb{R}^{n}$"), "{markdown}");
    let (json, _, _) = diff("beta*x", "x", &["--format", "json"]);
    assert!(
        json.contains(r#""where":"where beta ∈ ℝ, x ∈ ℝⁿ""#),
        "{json}"
    );
    assert!(
        json.contains(r#""notes":["`beta` is read as a scalar"#),
        "{json}"
    );
}

#[test]
fn the_text_reading_is_a_comment_so_the_output_parses_back() {
    let (out, _, code) = diff("a'*X*b", "X", &["--where"]);
    assert_eq!(code, 0);
    let typed = nabla::read(&format!("a: R^n; X: R^(n x m); b: R^m; {out}")).unwrap();
    assert_eq!(nabla::print::to_text(&typed.expr), "b*a'");
}

#[test]
fn the_library_returns_the_notes() {
    let d = nabla::diff("tr(x)", "x", &nabla::Options::default()).unwrap();
    assert_eq!(d.notes().len(), 1);
    assert!(d.notes()[0].starts_with("`x` is read as a square matrix"));
    let d = nabla::diff("x'*A*x", "x", &nabla::Options::default()).unwrap();
    assert!(d.notes().is_empty());
}

#[test]
fn the_readme_lists_the_greek_conventions() {
    let readme = include_str!("../README.md");
    assert!(
        readme.contains(&nabla::names::greek_table()),
        "README's table of Greek names differs from src/names.rs:\n{}",
        nabla::names::greek_table()
    );
}
