//! `--function NAME`: a complete Python function through the binary. Every table row's
//! function is run against finite differences in tests/numpy.rs; here the command line: the
//! printed text, the refusals (exit code 2 and what to do), and a dimension that only a
//! constant has, passed by keyword.

use std::process::Command;

/// Runs `nabla ARGS` with a cleared environment: (exit code, stdout, stderr).
fn nabla(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_nabla"))
        .args(args)
        .env_clear()
        .output()
        .expect("nabla runs");
    let text = |b: Vec<u8>| String::from_utf8(b).expect("UTF-8");
    let code = output.status.code().expect("an exit code, not a signal");
    (code, text(output.stdout), text(output.stderr))
}

#[test]
fn function_takes_its_dimensions_from_its_arguments() {
    let (code, out, err) = nabla(&[
        "diff",
        "X: R^(m x n); sum(X*v) + norm2(X*w - y)^2",
        "--wrt",
        "X",
        "--format",
        "numpy",
        "--function",
        "gradient",
    ]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        "import numpy as np\n\n\ndef gradient(X, v, w, y):\n    m = X.shape[0]\n    return 2 * w @ (X @ w - y).T + v @ np.ones((1, m))\n"
    );
}

#[test]
fn function_binds_only_the_dimensions_it_names() {
    let (code, out, _) = nabla(&[
        "diff",
        "norm2(X*w - y)^2",
        "--wrt",
        "w",
        "--format",
        "numpy",
        "--function",
        "g",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "import numpy as np\n\n\ndef g(X, w, y):\n    return 2 * (X @ w - y).T @ X\n"
    );
}

#[test]
fn function_keeps_shared_subexpressions_as_locals() {
    let input = "x: R^n; W1: R^(n x n); b1: R^n; W2: R^(n x n); b2: R^n; W3: R^(n x n); b3: R^n; sum(tanh(W3*tanh(W2*tanh(W1*x + b1) + b2) + b3))";
    let (code, out, _) = nabla(&[
        "diff",
        input,
        "--wrt",
        "W1",
        "--format",
        "torch",
        "--function",
        "g",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("import torch\n\n\ndef g(x, W1, b1, W2, b2, W3, b3):\n    t1 = "),
        "{out}"
    );
    assert!(
        out.lines().last().unwrap().starts_with("    return "),
        "{out}"
    );
}

#[test]
fn function_needs_a_python_format() {
    for format in ["text", "latex", "json", "markdown"] {
        let (code, out, err) = nabla(&[
            "diff",
            "x'*x",
            "--wrt",
            "x",
            "--format",
            format,
            "--function",
            "f",
        ]);
        assert_eq!((code, out.as_str()), (2, ""), "{format}");
        assert!(
            err.contains("a function is printed in Python: NumPy or PyTorch"),
            "{err}"
        );
        assert!(
            err.contains("use --format numpy or --format torch with --function"),
            "{err}"
        );
    }
}

#[test]
fn function_name_must_be_a_python_identifier() {
    for name in ["lambda", "2f", "grad-f", "np"] {
        let (code, out, err) = nabla(&[
            "diff",
            "x'*x",
            "--wrt",
            "x",
            "--format",
            "numpy",
            "--function",
            name,
        ]);
        assert_eq!((code, out.as_str()), (2, ""), "{name}");
        assert!(
            err.contains(&format!("`{name}` cannot name a Python function")),
            "{err}"
        );
    }
}

#[test]
fn function_cannot_go_with_steps_or_batch() {
    let (code, _, err) = nabla(&["diff", "x'*x", "--wrt", "x", "--steps", "--function", "f"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = nabla(&["diff", "--batch", "-", "--function", "f"]);
    assert_eq!(code, 2, "{err}");
}

/// `ones(k)` gives the derivative a dimension that no argument has: the caller passes it.
#[test]
fn dimension_of_a_constant_alone_is_a_keyword_parameter() {
    let (code, function, _) = nabla(&[
        "diff",
        "x'*x*(ones(k)'*ones(k))",
        "--wrt",
        "x",
        "--format",
        "numpy",
        "--function",
        "f",
    ]);
    assert_eq!(code, 0);
    assert!(function.contains("def f(x, *, k):"), "{function}");
    let script = format!(
        "{function}\nx = np.array([[1.0], [-2.0], [0.5]])\nassert np.allclose(f(x, k=4), 8 * x.T), f(x, k=4)\nprint('ok')\n"
    );
    let run = Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3 runs");
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "ok\n",
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}
