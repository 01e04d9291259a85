//! The input language: every declaration form, operator and function parses to the expected
//! expression (shown by the text printer), with exact numbers and unified shapes.

fn text(input: &str) -> String {
    let typed = nabla::read(input).unwrap_or_else(|e| panic!("{}", e.render(input)));
    nabla::print::to_text(&typed.expr)
}

fn shapes(input: &str) -> Vec<String> {
    let typed = nabla::read(input).unwrap_or_else(|e| panic!("{}", e.render(input)));
    typed.variables.iter().map(|v| v.to_string()).collect()
}

#[test]
fn declarations_in_every_form() {
    assert_eq!(
        shapes("a: R; x: R^n; A: R^(m x n); x'*x + a"),
        ["a: R", "x: R^n", "A: R^(m x n)"]
    );
    assert_eq!(shapes("A: R^(m × n); tr(A'*A)"), ["A: R^(m x n)"]);
    assert_eq!(shapes("A: R^{m,n}; sum(A)"), ["A: R^(m x n)"]);
    assert_eq!(shapes("A: ℝ^(3 x 3) sym; tr(A)"), ["A: R^(3 x 3) sym"]);
    assert_eq!(
        shapes("S: R^(n x n) spd, diag; tr(S)"),
        ["S: R^(n x n) spd diag"]
    );
}

#[test]
fn default_names_and_inferred_dimensions() {
    assert_eq!(shapes("x'*A*x"), ["x: R^n", "A: R^(n x n)"]);
    assert_eq!(shapes("a*x + b"), ["a: R", "x: R^n", "b: R^n"]);
    assert_eq!(shapes("b: R; a*x + b"), ["b: R", "a: R", "x: R^n"]);
    assert_eq!(shapes("A*B*x"), ["A: R^(n x m)", "B: R^(m x p)", "x: R^p"]);
}

#[test]
fn every_operator() {
    let cases = [
        ("x'*A*x", "x'*A*x"),
        ("x^T*A*x", "x'*A*x"),
        ("xᵀ*A*x", "x'*A*x"),
        ("x.*y", "x.*y"),
        ("x ⊙ y", "x.*y"),
        ("x./y", "x./y"),
        ("x.^2", "x.^2"),
        ("a^2", "a^2"),
        ("A^3", "A^3"),
        ("A^-1 * x", "A^(-1)*x"),
        ("-a*b", "-a*b"),
        ("a*-b", "-a*b"),
        ("a - -b", "a + b"),
        ("1 + exp(x)", "1 + exp(x)"),
        ("x/2", "1/2*x"),
        ("a/b", "a/b"),
        ("(a + b)*c", "(a + b)*c"),
    ];
    for (input, expected) in cases {
        assert_eq!(text(input), expected, "{input}");
    }
}

#[test]
fn every_function() {
    for f in [
        "exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "step", "abs", "sign", "sqrt",
    ] {
        assert_eq!(text(&format!("{f}(x)")), format!("{f}(x)"));
    }
    for (input, expected) in [
        ("sum(x)", "sum(x)"),
        ("norm1(x)", "norm1(x)"),
        ("norm2(x)", "norm2(x)"),
        ("tr(A)", "tr(A)"),
        ("det(A)", "det(A)"),
        ("logdet(A)", "logdet(A)"),
        ("inv(A)*x", "inv(A)*x"),
        ("diag(x)*y", "diag(x)*y"),
        ("diag(A)'*x", "diag(A)'*x"),
        ("eye(n)*x", "x"),
        ("x: R^n; ones(n)'*x", "ones(n)'*x"),
        ("A: R^(m x n); zeros(m, n) + A", "A"),
    ] {
        assert_eq!(text(input), expected, "{input}");
    }
}

#[test]
fn numbers_are_exact() {
    assert_eq!(text("0.5*x"), "1/2*x");
    // Decimals where the number has a short one that reads better than its fraction (a
    // denominator of 2s and 5s that is a multiple of 10 or above 100), read back exactly.
    assert_eq!(text("1e-3*x"), "0.001*x");
    assert_eq!(text("0.044715*x"), "0.044715*x");
    assert_eq!(text("x/10 - x/128"), "0.0921875*x");
    assert_eq!(text("x/8 + x/3"), "11/24*x");
    assert_eq!(text("x/16"), "1/16*x");
    assert_eq!(text("2.5e2*a"), "250*a");
    // A unit fraction of a scalar reads as a quotient.
    assert_eq!(text("(1/3 + 1/6)*a"), "a/2");
}

#[test]
fn definitions_are_substituted_in_order() {
    assert_eq!(text("r = X*w - y; s = r'*r; s/2"), "(X*w - y)'*(X*w - y)/2");
}

#[test]
fn separators_are_semicolons_or_newlines() {
    assert_eq!(text("x: R^n\nA: R^(n x n)\n\nx'*A*x\n"), "x'*A*x");
}
