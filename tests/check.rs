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

/// The counts of a check of the right derivative of `input` by `x`.
fn check_of(input: &str, x: &str, draws: usize) -> nabla::check::CheckReport {
    let d = nabla::diff(input, x, &Options::default()).expect("derives");
    d.check(CheckOptions { draws, seed: 1 })
}

#[test]
fn the_check_finds_points_in_domains_away_from_zero() {
    // Regression: `sqrt(x - 3)` found no point (`check FAILED: 0 random points`) and
    // `log(1 - x'*x)` compared 2 of 3 points.
    for (input, x) in [
        ("sqrt(x - 3)", "x"),
        ("log(1 - x'*x)", "x"),
        ("sqrt(-3 - x)", "x"),
        ("log(x'*x - 900)", "x"),
        ("log(0.01 - x'*x)", "x"),
        ("sum(log(x - 1000))", "x"),
        ("sqrt(x - 3) + log(5 - x)", "x"),
        ("sqrt(a - 2) + sqrt(2.5 - a)", "a"),
        ("log(x'*y - 7)", "y"),
        ("X: R^(n x n); logdet(X - 20*eye(n))", "X"),
    ] {
        for draws in [1, 3, 10] {
            let report = check_of(input, x, draws);
            assert!(report.passed(), "{input}: {report}");
            assert_eq!(
                (report.compared, report.requested),
                (draws, draws),
                "{input}: {report}"
            );
        }
    }
}

#[test]
fn a_check_without_a_point_in_the_domain_says_so() {
    let report = check_of("log(-exp(x))", "x", 3);
    assert_eq!(report.verdict(), nabla::check::Verdict::NoPoints);
    assert_eq!(report.verdict().exit_code(), 4);
    assert_eq!(report.compared, 0);
    assert!(report.outside_domain > 0, "{report}");
    assert!(!report.to_string().contains("FAILED"), "{report}");
}

#[test]
fn a_wrong_derivative_still_fails_with_its_counts() {
    let d = with_answer("sqrt(x - 3)", "x", None, "diag(1./sqrt(x - 3))");
    let report = d.check(CheckOptions::default());
    assert_eq!(report.verdict(), nabla::check::Verdict::Failed);
    assert_eq!(report.compared, 3, "{report}");
    assert!(
        report
            .to_string()
            .starts_with("check FAILED: 3 points compared"),
        "{report}"
    );
}
