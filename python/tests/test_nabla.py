"""The Python package as its users use it: nabla.diff and what a Derivative offers."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import nabla


def test_the_readme_example_prints_the_textbook_form():
    assert nabla.diff("x'*A*x", wrt="x").latex == r"x^\top \left(A + A^\top\right)"


def test_every_form_is_an_attribute():
    d = nabla.diff("norm2(X*w - y)^2", wrt="w")
    assert d.text == "2*(X*w - y)'*X"
    assert d.unicode == "2(Xw - y)ᵀX"
    assert d.numpy == "2 * (X @ w - y).T @ X"
    assert d.torch == "2 * (X @ w - y).T @ X"
    assert d.variables == ["X", "w", "y"]
    assert str(d) == d.text
    assert '"text":"2*(X*w - y)\'*X"' in d.json


def test_markdown_states_the_reading_of_the_names():
    d = nabla.diff("A: R^(n x n) sym; x: R^n; x'*A*x", wrt="x")
    assert d.text == "2*x'*A"
    assert r"A \in \mathbb{R}^{n \times n}" in d.markdown
    assert d._repr_markdown_() == d.markdown
    assert d._repr_latex_() == "$$" + d.latex + "$$"


def test_layout_and_order():
    assert nabla.diff("x'*A*x", wrt="x", layout="denominator").text == "(A + A')*x"
    assert nabla.diff("x'*A*x", wrt="x", order=2).text == "A + A'"
    assert nabla.diff("x: R^n; y: R^m; x'*A*y", wrt=("x", "y"), order=2).text == "A"
    assert nabla.diff("x: R^n; y: R^m; x'*A*y", wrt="x,y").text == "A"


def test_steps_in_markdown_and_text():
    d = nabla.diff("a = X*w; b = a - y; norm2(b)^2", wrt="w")
    assert "product-rule" in d.steps()
    assert "$$" in d.steps()
    assert d.steps("text").rstrip().endswith("df/dw = 2*(X*w - y)'*X")


def test_steps_of_a_second_derivative_are_refused():
    with pytest.raises(nabla.NablaError) as caught:
        nabla.diff("x'*A*x", wrt="x", order=2).steps()
    assert caught.value.kind == "option"
    assert "first derivatives" in caught.value.message


def test_check_against_finite_differences():
    report = nabla.diff("logdet(X)", wrt="X").check(draws=5, seed=7)
    assert report.passed and bool(report)
    assert report.points == 5 and report.skipped == 0
    assert report.max_error < 1e-5
    assert str(report).startswith("check ok: 5 points compared")


def test_a_syntax_error_carries_its_place():
    source = "x: R^n;\nx'*(A*x"
    with pytest.raises(nabla.NablaError) as caught:
        nabla.diff(source, wrt="x")
    e = caught.value
    assert e.kind == "syntax"
    assert (e.line, e.start) == (2, len(source))
    assert e.column == len("x'*(A*x") + 1
    assert "2 | x'*(A*x" in e.report and "`- here" in e.report
    assert str(e) == e.report
    assert e.hint


def test_a_shape_error_points_at_the_operation_in_characters():
    # Two-byte characters before the place: positions count characters, as Python does.
    source = "θ: R^(2 x 2); x: R^3; θ*x"
    with pytest.raises(nabla.NablaError) as caught:
        nabla.diff(source, wrt="x")
    e = caught.value
    assert e.kind == "shape"
    assert source[e.start : e.end] == "θ*x"
    assert isinstance(e, ValueError)


def test_an_error_without_a_place():
    with pytest.raises(nabla.NablaError) as caught:
        nabla.diff("x'*A*x", wrt="z")
    assert caught.value.kind == "wrt"
    assert caught.value.start is None and caught.value.line is None
    assert "the variables are: x, A" in str(caught.value)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: nabla.diff("x'*x", wrt="x", layout="sideways"), "`sideways` is not a layout"),
        (lambda: nabla.diff("x'*x", wrt="x", order=3), "the order is 1 or 2, not 3"),
        (lambda: nabla.diff("x'*x", wrt="x").function("lambda"), "`lambda` cannot name"),
        (lambda: nabla.diff("x'*x", wrt="x").function(backend="jax"), "not a backend"),
    ],
)
def test_bad_options_are_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def finite_differences(f, args, index, h=1e-6):
    """The numerator-layout derivative of f by args[index] by central differences: for a
    scalar f shaped like the variable transposed, for a scalar variable shaped like f, for a
    vector f by a vector the Jacobian."""
    x = args[index]
    columns = []
    for k in np.ndindex(*x.shape):
        moved = [a.copy() for a in args]
        moved[index][k] += h
        up = f(*moved)
        moved[index][k] -= 2 * h
        columns.append(((up - f(*moved)) / (2 * h), k))
    value = np.atleast_2d(f(*args))
    if value.size == 1:
        out = np.zeros(x.shape[::-1])
        for d, (i, j) in columns:
            out[j, i] = np.asarray(d).item()
        return out
    if x.size == 1:
        return columns[0][0]
    return np.hstack([d for d, _ in columns])


rng = np.random.default_rng(3)
M = rng.standard_normal((4, 3))
SPD = M.T @ M + np.eye(3)

PROBLEMS = [
    # (input, variable, f in NumPy, arguments in the order of d.variables)
    ("norm2(X*w - y)^2", "w", lambda X, w, y: np.sum((X @ w - y) ** 2),
     [rng.standard_normal((4, 3)), rng.standard_normal((3, 1)), rng.standard_normal((4, 1))]),
    ("x'*A*x", "x", lambda x, A: (x.T @ A @ x).item(),
     [rng.standard_normal((3, 1)), rng.standard_normal((3, 3))]),
    ("logdet(X)", "X", lambda X: np.linalg.slogdet(X)[1], [SPD]),
    ("tr(A*X*B)", "X", lambda A, X, B: np.trace(A @ X @ B),
     [rng.standard_normal((2, 4)), rng.standard_normal((4, 3)), rng.standard_normal((3, 2))]),
    ("tanh(W*x + b)", "x", lambda W, x, b: np.tanh(W @ x + b),
     [rng.standard_normal((4, 3)), rng.standard_normal((3, 1)), rng.standard_normal((4, 1))]),
    ("X: R^(m x n); y: R^m; sum(log(1 + exp(-y.*(X*w))))", "w",
     lambda X, y, w: np.sum(np.log(1 + np.exp(-y * (X @ w)))),
     [rng.standard_normal((5, 3)), rng.standard_normal((5, 1)), rng.standard_normal((3, 1))]),
]


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize("source, wrt, f, args", PROBLEMS, ids=[p[0] for p in PROBLEMS])
def test_function_matches_finite_differences(source, wrt, f, args, layout):
    d = nabla.diff(source, wrt=wrt, layout=layout)
    derivative = d.function()
    index = d.variables.index(wrt)
    expected = finite_differences(f, args, index)
    if layout == "denominator":
        expected = expected.T
    got = np.atleast_2d(derivative(*args))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_function_source_binds_dimensions_from_shapes():
    d = nabla.diff("X: R^(m x n); sum(X*v) + norm2(X*w - y)^2", wrt="X")
    source = d.function_source("grad")
    assert "def grad(X, v, w, y):\n    m = X.shape[0]\n" in source
    X, v, w, y = np.ones((4, 3)), np.ones((3, 1)), np.ones((3, 1)), np.zeros((4, 1))
    assert d.function()(X, v, w, y).shape == (3, 4)


def test_the_gil_is_released_while_nabla_works():
    d = nabla.diff("logdet(X) + tr(inv(X)*A)", wrt="X")
    ticks = 0
    done = threading.Event()

    def tick():
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.001)

    ticker = threading.Thread(target=tick)
    ticker.start()
    time.sleep(0.01)
    before = ticks
    start = time.perf_counter()
    d.check(draws=1000)
    elapsed = time.perf_counter() - start
    during = ticks - before
    done.set()
    ticker.join()
    # Holding the GIL, one call lets the ticker run about once; released, about once a ms.
    assert elapsed > 0.05, "the work is long enough to tell"
    assert during >= 10, f"{during} ticks in {elapsed:.3f} s"


def test_threads_get_the_same_answers():
    inputs = ["x'*A*x", "norm2(X*w - y)^2", "logdet(X)", "tr(A*X*B)"] * 8
    wrts = ["x", "w", "X", "X"] * 8
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda p: nabla.diff(p[0], wrt=p[1]).text, zip(inputs, wrts)))
    assert parallel == [nabla.diff(i, wrt=w).text for i, w in zip(inputs, wrts)]


def test_rules_table():
    table = nabla.rules()
    assert table.startswith("## ")
    assert "product-rule" in table
    assert "product-rule:" in nabla.rules("text")
    with pytest.raises(ValueError, match="not a table format"):
        nabla.rules("html")
