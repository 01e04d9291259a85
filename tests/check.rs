//! `--check` rejects wrong derivatives: each case swaps the right answer for a plausible wrong
//! one (a textbook slip) and the check must fail, in every kind of comparison it makes.

use nabla::check::CheckOptions;
use nabla::{Derivative, Layout, Options};

/// The derivative of `input` by `wrt` with its expression replaced by `wrong`.
fn with_answer(input: &str, wrt: &str, second: Option<&str>, wrong: &str) -> Derivative {
    let options = Options {
        layout: Layout::Numerator,
        second: second.map(String::from),
    };
    let right = nabla::diff(input, wrt, &options).expect("derives");
    let text = format!("{}{wrong}", right.input.declarations());
    let expr = nabla::read(&text).expect("the wrong answer reads").expr;
    assert_eq!(
        expr.shape, right.expr.shape,
        "{wrong} has the derivative's shape"
    );
    Derivative { expr, ..right }
}

#[test]
fn the_check_rejects_wrong_derivatives() {
    let cases = [
        // Gradient of a quadratic form without the transpose term.
        ("x'*A*x", "x", None, "x'*A"),
        // Least squares without the factor 2.
        ("norm2(X*w - y)^2", "w", None, "(X*w - y)'*X"),
        // A gradient by a matrix in the wrong layout.
        ("A: R^(n x n); X: R^(n x n); tr(A*X)", "X", None, "A'"),
        // A symmetric variable: 2G - diag(G), the known error, instead of (G + G')/2.
        (
            "X: R^(n x n) sym; tr(A*X)",
            "X",
            None,
            "A + A' - diag(diag(A))",
        ),
        // Vec form: A ⊗ B' for B' ⊗ A.
        (
            "A: R^(n x n); X: R^(n x n); B: R^(n x n); A*X*B",
            "X",
            None,
            "kron(A, B')",
        ),
        // Vec form by a symmetric variable, without the commutation.
        ("S: R^(n x n) sym; S*S", "S", None, "2*kron(eye(n), S)"),
        // A Hessian missing a term.
        ("x'*A*x", "x", Some("x"), "A"),
        // A Hessian by a matrix with the Kronecker factors swapped.
        (
            "X: R^(m x n); A: R^(m x m); tr(X'*A*X)",
            "X",
            Some("X"),
            "kron(A + A', eye(n))",
        ),
    ];
    for (input, wrt, second, wrong) in cases {
        let d = with_answer(input, wrt, second, wrong);
        let report = d.check(CheckOptions::default());
        assert!(
            !report.passed(),
            "{input} by {wrt}: `{wrong}` passed: {report}"
        );
    }
}
