//! The notations people type (issue 10, item 2): NumPy's `@` and `.T`, norms in bars, the
//! aliases, comments, the new functions; and every refused notation answered with the exact
//! rewrite that works. Each case runs the binary and checks the output and the exit code.

use std::process::{Command, Output};

fn nabla(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nabla"))
        .args(args)
        .env_clear()
        .output()
        .expect("cannot start the nabla binary")
}

/// Standard output, standard error and the exit code of `diff INPUT --wrt X`.
fn diff(input: &str, wrt: &str) -> (String, String, i32) {
    let run = nabla(&["diff", input, "--wrt", wrt]);
    let stdout = String::from_utf8(run.stdout).unwrap();
    let stderr = String::from_utf8(run.stderr).unwrap();
    (stdout, stderr, run.status.code().unwrap_or(-1))
}

fn gives(input: &str, wrt: &str, expected: &str) {
    let (out, err, code) = diff(input, wrt);
    assert_eq!((out.trim(), code), (expected, 0), "{input}\n{err}");
}

/// Asserts exit code 2, nothing on standard output, and the rewrite in the help.
fn refused(input: &str, wrt: &str, rewrite: &str) {
    let (out, err, code) = diff(input, wrt);
    assert_eq!((out.as_str(), code), ("", 2), "{input}\n{err}");
    assert!(
        err.contains(&format!("did you mean `{rewrite}`?")),
        "{input}: no `did you mean {rewrite}`:\n{err}"
    );
    assert!(
        err.contains("^") || err.contains('|'),
        "{input}: no caret\n{err}"
    );
}

#[test]
fn numpy_matmul_and_transpose() {
    gives("x.T @ A @ x", "x", "x'*(A + A')");
    gives(
        "X: R^(m x n); (X @ w - y).T @ (X @ w - y)",
        "w",
        "2*(X*w - y)'*X",
    );
}

#[test]
fn norms_in_bars() {
    gives("||x||", "x", "x'/norm2(x)");
    gives("||x||^2", "x", "2*x'");
    gives("||X*w - y||^2", "w", "2*(X*w - y)'*X");
    gives("||x||_1", "x", "sign(x)'");
    gives("||x||_2^2", "x", "2*x'");
    gives("||X||_F^2", "X", "2*X'");
    gives("‖x‖^2", "x", "2*x'");
}

#[test]
fn transpose_trace_and_inverse_are_aliases() {
    gives("transpose(x)*A*x", "x", "x'*(A + A')");
    gives("trace(A*X)", "X", "A");
    gives("inverse(X)", "X", "-kron(inv(X'), inv(X))");
    gives("x^\\top*A*x", "x", "x'*(A + A')");
    gives("x^(T)*A*x", "x", "x'*(A + A')");
    gives("x²", "x", "2*x");
}

#[test]
fn comments_run_to_the_end_of_the_line() {
    gives(
        "# least squares\nX: R^(m x n) # the data\nnorm2(X*w - y)^2 # the loss",
        "w",
        "2*(X*w - y)'*X",
    );
    gives(
        "x'*A*x # a quadratic form; A need not be symmetric",
        "x",
        "x'*(A + A')",
    );
}

#[test]
fn dimensions_as_numbers() {
    gives("x: R^n; sum(x)/n", "x", "ones(n)'/n");
    gives("X: R^(m x n); norm2(X*w - y)^2/m", "w", "2*(X*w - y)'*X/m");
}

#[test]
fn the_new_functions() {
    gives("z: R^k; logsumexp(z)", "z", "softmax(z)'");
    gives(
        "z: R^k; y: R^k; logsumexp(z) - y'*z",
        "z",
        "(softmax(z) - y)'",
    );
    gives(
        "z: R^k; softmax(z)",
        "z",
        "diag(softmax(z)) - softmax(z)*softmax(z)'",
    );
    gives("mean(x)", "x", "ones(n)'/n");
    gives("X: R^(m x n); mean((X*w - y).^2)", "w", "2*(X*w - y)'*X/m");
    gives("x: R^n; y: R^n; sum(max(x, y))", "x", "step(x - y)'");
    gives("x: R^n; y: R^n; sum(min(x, y))", "x", "step(y - x)'");
    gives("sum(max(x, 0))", "x", "step(x)'");
}

#[test]
fn the_new_functions_check_against_finite_differences() {
    for (input, wrt) in [
        ("z: R^k; softmax(z)", "z"),
        ("z: R^k; logsumexp(2*z)", "z"),
        ("X: R^(m x n); mean(exp(X))", "X"),
        ("X: R^(m x n); y: R^m; sum(max(1 - y.*(X*w), 0))", "w"),
        ("x: R^n; y: R^n; min(x, 2*y)", "y"),
    ] {
        let run = nabla(&["diff", input, "--wrt", wrt, "--check"]);
        let stderr = String::from_utf8(run.stderr).unwrap();
        assert_eq!(run.status.code(), Some(0), "{input}\n{stderr}");
        assert!(stderr.starts_with("check ok"), "{input}\n{stderr}");
    }
}

#[test]
fn refused_notations_come_with_the_rewrite_that_works() {
    refused("x**2", "x", "x^2");
    refused("(x - y)**2", "x", "(x - y)^2");
    refused("np.dot(a, b)", "a", "a'*b");
    refused("np.linalg.norm(x - y)", "x", "norm2(x - y)");
    refused("torch.exp(x)", "x", "exp(x)");
    refused("norm(x)", "x", "norm2(x)");
    refused("dot(x, y)", "x", "x'*y");
    refused("outer(x, y)", "x", "x*y'");
    refused("x^TAx", "x", "x'*A*x");
    refused("A\\b", "b", "inv(A)*b");
    refused("max(x)", "x", "logsumexp(x)");
    refused("x'x", "x", "x'*x");
    refused("2x", "x", "2*x");
    refused("np.maximum(x, 0)", "x", "max(x, 0)");
    refused("norm2(x)**2", "x", "norm2(x)^2");
    refused("x.transpose()*A*x", "x", "x'");
    refused("A.dot(x)", "x", "A*x");
    refused("x.dot(y)", "x", "x'*y");
    refused("X.mean()", "X", "mean(X)");
}

#[test]
fn help_lists_every_new_notation_and_function() {
    let help = String::from_utf8(nabla(&["diff", "--help"]).stdout).unwrap();
    for word in [
        "@",
        ".T",
        "||x||",
        "||x||_1",
        "||X||_F",
        "transpose",
        "trace",
        "inverse",
        "softmax",
        "logsumexp",
        "mean",
        "max(u, v)",
        "min(u, v)",
        "sum(x)/n",
        "#",
        "--where",
        "lambda",
        "theta",
    ] {
        assert!(help.contains(word), "--help does not mention {word}");
    }
}
