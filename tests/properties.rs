//! Property tests over random, well-typed inputs of the whole input language.
//!
//! A shape-indexed generator builds input text (with declarations) from every operator and
//! function of the language (depth up to 6), tracking shapes (scalars, n- and m-vectors, rows,
//! n x n, m x m, m x n, n x m) so that every input types, and picks the variable among those that
//! occur, for every kind of derivative nabla supports. It keeps `log`, `sqrt`, `./`, `/`, `tan`,
//! `exp`, `inv`, `det` and `logdet` inside their domains by construction (`log(exp(u))`,
//! `sqrt(u.^2 + 1)`, `tan(sin(u))`, `inv(U*U' + eye(n))`, ...), except where the checker is
//! meant to redraw data (signed, then positive). Properties:
//!
//! 1. the derivative has the shape of its layout and agrees with central finite differences
//!    (`Derivative::check`) in both layouts; a check that finds no point in the domain is
//!    counted and printed, not failed;
//! 2. the text output parses back with the input's declarations and evaluates to the same
//!    numbers as the derivative;
//! 3. every LaTeX output (input and derivative) renders in KaTeX with `throw_on_error`;
//! 4. simplification never changes the value: the identified, unsimplified derivative and its
//!    simplification (with the default limits, and stopped after fewer rounds) agree at random
//!    points, up to their rounding noise;
//! 5. second derivatives (Hessians, mixed) satisfy 1 to 3;
//! 6. the NumPy output runs and evaluates to the derivative (PyTorch's too, `--ignored`);
//!
//! and in 1, 2 and 6 a gradient by a `sym`, `spd` or `diag` variable lies in its space.
//! A fifth of the inputs leave their names undeclared, for inference to read; a refusal is
//! counted (`undeclared names refused`), every answer must hold every property.
//!
//! and every row of rules/table.txt renders its LaTeX in KaTeX.
//!
//! Known nabla bugs are listed in [`KNOWN_BUGS`], each with a reproduction that
//! `every_known_bug_still_reproduces` keeps honest; the cases they excuse are counted and printed.
//!
//! Runs are deterministic: a fixed seed unless `PROPTEST_RNG_SEED` is set. `PROPTEST_CASES` sets
//! the cases of every property (`PROPTEST_CASES=5000 cargo test --release --test properties`).
//! A failure prints the shrunk input as a command line, with the variable, the layout and the
//! outputs. `PROPERTIES_SURVEY=1` goes on past failures and prints every failing case (unshrunk);
//! the ignored tests `one_input` (every property on one input) and `sample_inputs` (what the
//! generator makes) help to investigate. `--nocapture` shows the counts of every run.

mod common;
use nabla::check::CheckOptions;
use nabla::eval::{self, Draw, Point, Value};
use nabla::expr::Expr;
use nabla::infer::Typed;
use nabla::shape::Shape as NablaShape;
use nabla::{Derivative, Format, Layout, Options};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::{BoxedStrategy, Union, ValueTree};
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Instant;

/// Deepest nesting of the generator (each level is one operator or function).
const MAX_DEPTH: usize = 6;

/// Cases per property in the default (debug) run, a quarter of them for the slower second
/// derivatives; `PROPTEST_CASES` sets the cases of every property.
const DEFAULT_CASES: u32 = 192;

/// The seed of the default run; `PROPTEST_RNG_SEED` overrides.
const SEED: u64 = 0x006e_6162_6c61;

/// A known nabla bug, and how the suite runs around it until it is fixed: the generator leaves
/// out `constructs` (names of the alternatives in [`Table`]), and a failing case that shows the
/// `symptom` is counted under the bug's name instead of failing the test.
/// `every_known_bug_still_reproduces` runs each `repro` and fails once it passes every property:
/// then the bug is fixed, and its entry goes.
struct KnownBug {
    name: &'static str,
    /// The bug, in words (with more reproductions).
    #[allow(dead_code)]
    bug: &'static str,
    /// A minimal failing input and its variable (numerator layout).
    repro: (&'static str, &'static str),
    constructs: &'static [&'static str],
    symptom: Option<fn(&Found) -> bool>,
}

/// What a property found wrong, to match against the symptoms of [`KNOWN_BUGS`] (read by
/// their symptoms, when some are listed).
#[allow(dead_code)]
struct Found<'a> {
    case: &'a Case,
    /// The derivative nabla returned, when it returned one.
    derivative: Option<&'a Derivative>,
    /// The failure in words.
    message: &'a str,
}

const KNOWN_BUGS: &[KnownBug] = &[];

// ---------------------------------------------------------------------------------------------
// Shapes and variables
// ---------------------------------------------------------------------------------------------

/// A dimension of the generated inputs: 1, or one of the two symbolic sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Dim {
    One,
    N,
    M,
}

use Dim::{M, N, One};

impl Dim {
    fn text(self) -> &'static str {
        match self {
            One => "1",
            N => "n",
            M => "m",
        }
    }
}

/// Rows and columns.
type Shape = (Dim, Dim);

const SCALAR: Shape = (One, One);
const SHAPES: [Shape; 9] = [
    (One, One),
    (N, One),
    (M, One),
    (One, N),
    (One, M),
    (N, N),
    (M, M),
    (M, N),
    (N, M),
];

fn is_square(s: Shape) -> bool {
    s.0 == s.1 && s.0 != One
}

fn transposed(s: Shape) -> Shape {
    (s.1, s.0)
}

/// A variable the generator may use, declared in the input when it occurs.
struct Var {
    name: &'static str,
    decl: &'static str,
    shape: Shape,
}

const VARS: &[Var] = &[
    Var {
        name: "a",
        decl: "a: R",
        shape: SCALAR,
    },
    Var {
        name: "b",
        decl: "b: R",
        shape: SCALAR,
    },
    Var {
        name: "c",
        decl: "c: R",
        shape: SCALAR,
    },
    Var {
        name: "x",
        decl: "x: R^n",
        shape: (N, One),
    },
    Var {
        name: "y",
        decl: "y: R^n",
        shape: (N, One),
    },
    Var {
        name: "z",
        decl: "z: R^m",
        shape: (M, One),
    },
    Var {
        name: "A",
        decl: "A: R^(n x n)",
        shape: (N, N),
    },
    Var {
        name: "S",
        decl: "S: R^(n x n) spd",
        shape: (N, N),
    },
    Var {
        name: "P",
        decl: "P: R^(n x n) sym",
        shape: (N, N),
    },
    Var {
        name: "D",
        decl: "D: R^(n x n) diag",
        shape: (N, N),
    },
    Var {
        name: "B",
        decl: "B: R^(m x n)",
        shape: (M, N),
    },
];

/// The variables named in `body`, in the order of [`VARS`].
fn occurring(body: &str) -> Vec<&'static Var> {
    let words: Vec<&str> = body
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .collect();
    VARS.iter().filter(|v| words.contains(&v.name)).collect()
}

// ---------------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------------

type Text = BoxedStrategy<String>;

/// Strategies for one shape at one depth.
#[derive(Clone)]
struct Level {
    /// Any expression.
    any: Text,
    /// An expression whose entries are positive for all data (or for positive data).
    pos: Text,
    /// An expression whose entries lie in [-1.5, 1.5] (for tan).
    bounded: Text,
    /// A square matrix that is invertible for all data (or for most); scalars elsewhere.
    invertible: Text,
}

/// The generator's strategies by depth and shape, built bottom-up so each is built once.
struct Table {
    levels: Vec<HashMap<Shape, Level>>,
}

/// A weighted list of alternatives, each named so that [`KNOWN_BUGS`] can leave it out.
#[derive(Default)]
struct Alternatives(Vec<(u32, Text)>);

impl Alternatives {
    fn add(&mut self, construct: &str, weight: u32, s: Text) {
        if !KNOWN_BUGS
            .iter()
            .any(|bug| bug.constructs.contains(&construct))
        {
            self.0.push((weight, s));
        }
    }

    fn weight(&self) -> u32 {
        self.0.iter().map(|(w, _)| w).sum()
    }

    fn union(self) -> Text {
        assert!(!self.0.is_empty(), "a shape without alternatives");
        Union::new_weighted(self.0).boxed()
    }
}

fn just(s: &str) -> Text {
    Just(s.to_string()).boxed()
}

fn call(f: &'static str, s: &Text) -> Text {
    s.clone().prop_map(move |t| format!("{f}({t})")).boxed()
}

/// A call of two arguments, `max(a, b)`.
fn pair(f: &'static str, a: &Text, b: &Text) -> Text {
    (a.clone(), b.clone())
        .prop_map(move |(a, b)| format!("{f}({a}, {b})"))
        .boxed()
}

fn wrap(s: &Text, before: &'static str, after: &'static str) -> Text {
    s.clone()
        .prop_map(move |t| format!("{before}{t}{after}"))
        .boxed()
}

fn bin(a: &Text, op: &'static str, b: &Text) -> Text {
    (a.clone(), b.clone())
        .prop_map(move |(a, b)| format!("({a} {op} {b})"))
        .boxed()
}

/// `f(a, b)` for a function of two arguments.
fn bin2(f: &'static str, a: &Text, b: &Text) -> Text {
    (a.clone(), b.clone())
        .prop_map(move |(a, b)| format!("{f}({a}, {b})"))
        .boxed()
}

/// The leaves of a shape: variables, transposed variables and constants.
fn leaves(s: Shape) -> Alternatives {
    let mut alts = Alternatives::default();
    for v in VARS {
        if v.shape == s {
            alts.add("variable", 8, just(v.name));
        }
        if transposed(v.shape) == s && v.shape != s {
            alts.add("transposed-variable", 6, just(&format!("{}'", v.name)));
        }
    }
    match s {
        (One, One) => {
            for n in ["2", "3", "1/2", "0.5", "(-1)"] {
                alts.add("number", 1, just(n));
            }
        }
        (r, One) => {
            alts.add("ones", 1, just(&format!("ones({})", r.text())));
            alts.add("zeros", 1, just(&format!("zeros({}, 1)", r.text())));
        }
        (One, c) => alts.add("ones", 1, just(&format!("ones({})'", c.text()))),
        (r, c) if r == c => alts.add("eye", 2, just(&format!("eye({})", r.text()))),
        (r, c) => {
            alts.add(
                "ones",
                1,
                just(&format!("ones({}, {})", r.text(), c.text())),
            );
            alts.add(
                "zeros",
                1,
                just(&format!("zeros({}, {})", r.text(), c.text())),
            );
        }
    }
    alts
}

/// Leaves that are positive for positive data.
fn positive_leaves(s: Shape) -> Alternatives {
    let mut alts = Alternatives::default();
    for v in VARS.iter().filter(|v| v.shape == s) {
        alts.add("positive-data-variable", 1, just(v.name));
    }
    match s {
        (One, One) => {
            alts.add("number", 1, just("2"));
            alts.add("number", 1, just("1/2"));
        }
        (r, One) => alts.add("ones", 1, just(&format!("ones({})", r.text()))),
        (One, c) => alts.add("ones", 1, just(&format!("ones({})'", c.text()))),
        (r, c) => alts.add(
            "ones",
            1,
            just(&format!("ones({}, {})", r.text(), c.text())),
        ),
    }
    alts
}

/// Leaves with entries in [-1.5, 1.5] for all data.
fn bounded_leaves(s: Shape) -> Alternatives {
    let mut alts = Alternatives::default();
    for v in VARS.iter().filter(|v| v.shape.1 == One && v.shape == s) {
        alts.add("variable", 2, just(v.name));
    }
    match s {
        (One, One) => alts.add("number", 1, just("1/2")),
        (r, One) => alts.add("ones", 1, just(&format!("ones({})", r.text()))),
        (One, c) => alts.add("ones", 1, just(&format!("ones({})'", c.text()))),
        (r, c) if r == c => alts.add("eye", 1, just(&format!("eye({})", r.text()))),
        (r, c) => alts.add(
            "ones",
            1,
            just(&format!("ones({}, {})", r.text(), c.text())),
        ),
    }
    alts
}

/// Square matrices invertible for all data (up to conditioning).
fn invertible_leaves(s: Shape) -> Alternatives {
    let mut alts = Alternatives::default();
    if s == SCALAR {
        return positive_leaves(s);
    }
    for v in VARS.iter().filter(|v| v.shape == s) {
        alts.add("variable", 2, just(v.name));
    }
    alts.add("eye", 1, just(&format!("eye({})", s.0.text())));
    alts
}

impl Table {
    fn new(depth: usize) -> Table {
        let mut levels: Vec<HashMap<Shape, Level>> = Vec::new();
        let base = SHAPES
            .iter()
            .map(|&s| {
                let level = Level {
                    any: leaves(s).union(),
                    pos: positive_leaves(s).union(),
                    bounded: bounded_leaves(s).union(),
                    invertible: if is_square(s) || s == SCALAR {
                        invertible_leaves(s).union()
                    } else {
                        just("0")
                    },
                };
                (s, level)
            })
            .collect();
        levels.push(base);
        for _ in 0..depth {
            let below = levels.last().expect("a level");
            let next = SHAPES
                .iter()
                .map(|&s| (s, Table::level(below, s)))
                .collect();
            levels.push(next);
        }
        Table { levels }
    }

    /// Any expression of shape `s` of depth at most `depth`.
    fn any(&self, s: Shape, depth: usize) -> Text {
        self.levels[depth][&s].any.clone()
    }

    /// The strategies for shape `s` one level above `p`.
    fn level(p: &HashMap<Shape, Level>, s: Shape) -> Level {
        let any = |s: Shape| p[&s].any.clone();
        let pos = |s: Shape| p[&s].pos.clone();
        let bounded = |s: Shape| p[&s].bounded.clone();
        let invertible = |s: Shape| p[&s].invertible.clone();
        let e = any(s);
        let scalar = s == SCALAR;
        let mut alts = Alternatives::default();

        // Elementwise functions keep the shape.
        alts.add("neg", 2, wrap(&e, "(-", ")"));
        // exp of a bounded argument: exp of large values (and sin of those) are beyond what
        // finite differences can check.
        alts.add("exp", 1, call("exp", &bounded(s)));
        for f in ["sin", "cos", "tanh", "sigmoid"] {
            alts.add(f, 1, call(f, &e));
        }
        for f in ["relu", "abs", "sign", "step"] {
            alts.add(f, 1, call(f, &e));
        }
        alts.add("tan", 1, call("tan", &bounded(s)));
        alts.add("log", 2, call("log", &pos(s)));
        alts.add("sqrt", 1, call("sqrt", &pos(s)));
        // Sums and elementwise products of one shape.
        alts.add("add", 3, bin(&e, "+", &e));
        alts.add("sub", 3, bin(&e, "-", &e));
        alts.add("hadamard", 2, bin(&e, ".*", &e));
        alts.add("hdiv", 2, bin(&e, "./", &pos(s)));
        alts.add("hpow-const", 1, wrap(&e, "(", " .^ 2)"));
        alts.add("hpow-const", 1, wrap(&e, "(", " .^ 3)"));
        alts.add("hpow-const", 1, wrap(&pos(s), "(", " .^ (1/2))"));
        alts.add("hpow-const", 1, wrap(&pos(s), "(", " .^ (-1))"));
        alts.add("hpow-general", 1, bin(&pos(s), ".^", &e));
        alts.add("max", 1, pair("max", &e, &e));
        alts.add("min", 1, pair("min", &e, &any(SCALAR)));
        if s.1 == One && s.0 != One {
            alts.add("softmax", 1, call("softmax", &e));
        }
        if !scalar {
            alts.add("hpow-general", 1, bin(&pos(s), ".^", &any(SCALAR)));
        }
        // Scaling, division by scalars and broadcasting.
        alts.add("divide", 2, bin(&e, "/", &pos(SCALAR)));
        if !scalar {
            let k = any(SCALAR);
            alts.add("scale", 2, bin(&k, "*", &e));
            alts.add("scale", 1, bin(&e, "*", &k));
            alts.add("broadcast-sum", 1, bin(&e, "+", &k));
            alts.add("broadcast-sum", 1, bin(&k, "+", &e));
            alts.add("broadcast-difference", 1, bin(&k, "-", &e));
            alts.add("broadcast-difference", 1, bin(&e, "-", &k));
            alts.add("broadcast-hadamard", 1, bin(&k, ".*", &e));
            alts.add("broadcast-quotient", 1, bin(&e, "./", &pos(SCALAR)));
            alts.add("broadcast-quotient", 1, bin(&k, "./", &pos(s)));
        }
        // Transposes and matrix products through every inner dimension.
        alts.add("transpose", 2, wrap(&any(transposed(s)), "(", ")'"));
        for k in [One, N, M] {
            let w = if scalar && k == One { 1 } else { 2 };
            alts.add("product", w, bin(&any((s.0, k)), "*", &any((k, s.1))));
        }
        if scalar {
            for t in SHAPES {
                let w = if t == SCALAR { 1 } else { 2 };
                alts.add("sum", w, call("sum", &any(t)));
            }
            for t in [(N, One), (M, One), (One, N), (N, N), (M, N)] {
                alts.add("norm1", 1, call("norm1", &any(t)));
                alts.add("norm2", 1, call("norm2", &any(t)));
                alts.add("norm2-squared", 1, wrap(&any(t), "(norm2(", ")^2)"));
            }
            for t in [(N, One), (M, N)] {
                alts.add("mean", 1, call("mean", &any(t)));
            }
            alts.add("logsumexp", 1, call("logsumexp", &any((N, One))));
            for t in [(N, N), (M, M)] {
                alts.add("tr", 2, call("tr", &any(t)));
                alts.add("det", 1, call("det", &invertible(t)));
                alts.add("logdet", 2, call("logdet", &invertible(t)));
            }
            // Scalars where a matrix can stand: a 1 x 1 inverse, determinant and power.
            alts.add("scalar-inv", 1, call("inv", &pos(s)));
            alts.add("scalar-det", 1, call("det", &e));
            alts.add("scalar-logdet", 1, call("logdet", &pos(s)));
            alts.add("scalar-power", 1, wrap(&pos(s), "(", "^(-2))"));
            // Gradients through vec and kron: inner products of vectorized arrays and the
            // Kronecker product of columns, with broadcasts inside (from `any`).
            for t in [(N, N), (M, N), (N, One)] {
                let inner = (any(t), any(t))
                    .prop_map(|(u, v)| format!("(vec({u})'*vec({v}))"))
                    .boxed();
                alts.add("vec-inner", 1, inner);
            }
            // The gradient of a scalar through a Kronecker product has a matrix form for
            // columns (u ⊗ v = vec(v uᵀ)), and for matrices where the seed is a sum of
            // Kronecker products (⟨C ⊗ D, A ⊗ B⟩ = ⟨C, A⟩⟨D, B⟩): sums, traces, norms,
            // determinants; otherwise it needs a partial trace the language lacks.
            for t in [(N, One), (M, One), (M, N)] {
                alts.add("kron-sum", 1, call("sum", &bin2("kron", &any(t), &any(t))));
            }
            alts.add(
                "kron-matrix",
                1,
                call("tr", &bin2("kron", &any((N, N)), &any((M, M)))),
            );
            alts.add(
                "kron-matrix",
                1,
                call("norm2", &bin2("kron", &any((M, N)), &any((N, N)))),
            );
            alts.add(
                "kron-matrix",
                1,
                call(
                    "logdet",
                    &bin2("kron", &invertible((N, N)), &invertible((M, M))),
                ),
            );
            alts.add(
                "kron-norm",
                1,
                call("norm2", &bin2("kron", &any((N, One)), &any((M, One)))),
            );
            alts.add("scalar-power", 1, wrap(&e, "(", "^2)"));
            alts.add("scalar-power", 1, wrap(&pos(s), "(", "^(1/2))"));
            alts.add("scalar-power", 1, wrap(&pos(s), "(", "^(-1))"));
            // Exponents stay bounded: central differences lose digits on huge values.
            alts.add("general-power", 1, bin(&pos(s), "^", &bounded(s)));
            alts.add("exponential", 1, wrap(&bounded(s), "(2^", ")"));
        }
        if s.1 == One && s.0 != One {
            alts.add("diag-of-matrix", 2, call("diag", &any((s.0, s.0))));
        }
        // kron of a column and a row is their outer product, a matrix of this table's shapes;
        // kron with a scalar scales.
        if s.0 != One && s.1 != One {
            let outer = bin2("kron", &any((s.0, One)), &any((One, s.1)));
            alts.add("kron-outer", 1, outer);
            alts.add("kron-scalar", 1, bin2("kron", &any(SCALAR), &e));
        }
        if s.0 != One && s.1 == One {
            alts.add("vec-of-column", 1, call("vec", &e));
        }
        if is_square(s) {
            alts.add("diag-of-vector", 2, call("diag", &any((s.0, One))));
            alts.add("inv", 4, call("inv", &invertible(s)));
            alts.add("matrix-power", 1, wrap(&e, "(", "^2)"));
            alts.add("matrix-power", 1, wrap(&e, "(", "^3)"));
            alts.add("matrix-power", 1, wrap(&invertible(s), "(", "^(-1))"));
        }
        // About a quarter of the weight goes to leaves, so that inputs stay small; leaves come
        // first, so that failures shrink towards them.
        let mut all = leaves(s);
        let scale = (alts.weight() / 3 / all.weight().max(1)).max(1);
        for (w, _) in &mut all.0 {
            *w *= scale;
        }
        all.0.append(&mut alts.0);
        let alts = all;
        let any_here = alts.union();

        let mut pos_alts = positive_leaves(s);
        for (w, _) in &mut pos_alts.0 {
            *w *= 2;
        }
        pos_alts.add("exp", 3, call("exp", &bounded(s)));
        pos_alts.add("square-plus-one", 2, wrap(&e, "(", " .^ 2 + 1)"));
        pos_alts.add("sigmoid", 1, call("sigmoid", &e));
        if scalar {
            for t in [(N, One), (M, N)] {
                pos_alts.add("norm2-squared", 1, wrap(&any(t), "(norm2(", ")^2 + 1)"));
                pos_alts.add("sum", 1, wrap(&bounded(t), "sum(exp(", "))"));
            }
            pos_alts.add("det", 1, just("det(S)"));
        }
        let bounded_alts = {
            let mut alts = bounded_leaves(s);
            for f in ["sin", "cos", "tanh", "sigmoid"] {
                alts.add(f, 1, call(f, &e));
            }
            alts
        };
        let invertible_alts = if is_square(s) {
            let mut alts = invertible_leaves(s);
            let r = s.0;
            for k in [One, N, M] {
                let u = any((r, k));
                // U*U' + I is symmetric positive definite for all data.
                let gram = u
                    .prop_map(move |u| format!("({u}*({u})' + eye({}))", r.text()))
                    .boxed();
                alts.add("gram", 2, gram);
            }
            alts.add("diag-of-vector", 1, wrap(&pos((r, One)), "diag(", ")"));
            alts.add("inv", 1, call("inv", &invertible(s)));
            // U + (|U|^2 + 1) I: its eigenvalues are at least 3/4 away from 0.
            let shifted = e
                .clone()
                .prop_map(move |u| format!("({u} + (norm2({u})^2 + 1)*eye({}))", r.text()))
                .boxed();
            alts.add("shifted", 1, shifted);
            alts.union()
        } else if scalar {
            pos_alts_clone(&pos_alts)
        } else {
            just("0")
        };
        Level {
            any: any_here,
            pos: pos_alts.union(),
            bounded: bounded_alts.union(),
            invertible: invertible_alts,
        }
    }
}

fn pos_alts_clone(alts: &Alternatives) -> Text {
    Union::new_weighted(alts.0.clone()).boxed()
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// One generated input: the text with its declarations, the variable, a layout and a seed.
#[derive(Clone)]
struct Case {
    input: String,
    wrt: String,
    /// For a second derivative, the second variable (the first again for a Hessian).
    second: Option<String>,
    layout: Layout,
    seed: u64,
    /// The kind of derivative, as in the README's layout table.
    kind: &'static str,
    /// Whether the input leaves its names undeclared, for inference to read.
    undeclared: bool,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let order = match &self.second {
            None => String::new(),
            Some(y) if *y == self.wrt => " --order 2".into(),
            Some(y) => format!(" --wrt {y}"),
        };
        write!(
            f,
            "nabla diff \"{}\" --wrt {}{order} (layout {:?}, seed {})",
            self.input, self.wrt, self.layout, self.seed
        )
    }
}

fn kind(f: Shape, x: Shape) -> &'static str {
    let name = |s: Shape| match s {
        (One, One) => "scalar",
        (_, One) => "vector",
        (One, _) => "row vector",
        _ => "matrix",
    };
    match (name(f), name(x)) {
        ("scalar", "scalar") => "scalar by scalar",
        ("scalar", "vector") => "scalar by vector",
        ("scalar", _) => "scalar by matrix",
        ("vector", "vector") => "vector by vector",
        ("row vector", "vector") => "row vector by vector",
        ("vector", "scalar") => "vector by scalar",
        ("row vector", "scalar") => "row vector by scalar",
        ("matrix", "scalar") => "matrix by scalar",
        ("matrix", "vector") => "vec form: matrix by vector",
        ("matrix", _) => "vec form: matrix by matrix",
        _ => "vec form: vector by matrix",
    }
}

/// Inputs with a variable for every derivative kind nabla supports, in a random layout.
fn cases() -> impl Strategy<Value = Case> {
    let table = Table::new(MAX_DEPTH);
    let tops: Vec<(u32, BoxedStrategy<(String, Shape)>)> = [
        (8, SCALAR),
        (3, (N, One)),
        (1, (M, One)),
        (1, (One, N)),
        (2, (N, N)),
        (1, (M, N)),
        (1, (M, M)),
    ]
    .into_iter()
    .map(|(w, s)| {
        let depth = MAX_DEPTH;
        (w, table.any(s, depth).prop_map(move |t| (t, s)).boxed())
    })
    .collect();
    (
        Union::new_weighted(tops),
        any::<Index>(),
        any::<bool>(),
        any::<u64>(),
        prop::bool::weighted(0.2),
    )
        .prop_filter_map(
            "no variable occurs",
            |((body, shape), index, denominator, seed, undeclared)| {
                let vars = occurring(&body);
                if vars.is_empty() {
                    return None;
                }
                let x = vars[index.index(vars.len())];
                Some(Case {
                    input: if undeclared {
                        body
                    } else {
                        declared(&vars, &body)
                    },
                    wrt: x.name.to_string(),
                    second: None,
                    layout: layout(denominator),
                    seed,
                    kind: kind(shape, x.shape),
                    undeclared,
                })
            },
        )
}

/// Scalar inputs with two variables (the same one for a Hessian), for second derivatives.
fn second_cases() -> impl Strategy<Value = Case> {
    let table = Table::new(MAX_DEPTH);
    (
        table.any(SCALAR, MAX_DEPTH),
        any::<Index>(),
        any::<Index>(),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_filter_map(
            "no variable occurs",
            |(body, first, second, denominator, seed)| {
                let vars = occurring(&body);
                let by = &vars;
                if by.is_empty() {
                    return None;
                }
                let (x, y) = (by[first.index(by.len())], by[second.index(by.len())]);
                Some(Case {
                    input: declared(&vars, &body),
                    wrt: x.name.to_string(),
                    second: Some(y.name.to_string()),
                    layout: layout(denominator),
                    seed,
                    undeclared: false,
                    // The second step differentiates the gradient (x's shape) by y.
                    kind: match (x.shape == SCALAR, y.shape == SCALAR, x.name == y.name) {
                        _ if x.shape.1 != One || y.shape.1 != One => "second: vec form",
                        (true, _, true) => "second: scalar by scalar",
                        (false, _, true) => "second (Hessian): vector by vector",
                        (true, true, false) => "second (mixed): scalar by scalar",
                        (true, false, false) => "second (mixed): scalar by vector",
                        (false, true, false) => "second (mixed): vector by scalar",
                        (false, false, false) => "second (mixed): vector by vector",
                    },
                })
            },
        )
}

fn declared(vars: &[&Var], body: &str) -> String {
    let decls: String = vars.iter().map(|v| format!("{}; ", v.decl)).collect();
    format!("{decls}{body}")
}

fn layout(denominator: bool) -> Layout {
    if denominator {
        Layout::Denominator
    } else {
        Layout::Numerator
    }
}

// ---------------------------------------------------------------------------------------------
// Running a property
// ---------------------------------------------------------------------------------------------

/// Counts of what a property saw.
#[derive(Default)]
struct Stats {
    cases: usize,
    kinds: BTreeMap<&'static str, usize>,
    /// Notable events, counted by name.
    events: BTreeMap<String, usize>,
    /// Cases where no point in the domain was found, with why.
    no_domain: Vec<String>,
    /// Failing cases excused by a known bug, by the bug's name.
    known: BTreeMap<&'static str, Vec<String>>,
}

impl Stats {
    fn event(&mut self, name: &str) {
        *self.events.entry(name.to_string()).or_default() += 1;
    }
}

/// A property's verdict against a case: what is wrong, with the derivative when there is one.
struct Failure {
    message: String,
    derivative: Option<Box<Derivative>>,
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure {
            message,
            derivative: None,
        }
    }
}

/// Attaches the derivative a failure is about.
fn about(d: &Derivative) -> impl Fn(String) -> Failure + '_ {
    |message| Failure {
        message,
        derivative: Some(Box::new(d.clone())),
    }
}

/// A property of one case.
type Property = fn(&Case, &mut Stats) -> Result<(), Failure>;

fn env_set(name: &str) -> bool {
    std::env::var_os(name).is_some()
}

/// The message of a panic caught from nabla.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".into())
}

/// The known bug whose symptom a failure shows, if any.
fn known_bug(case: &Case, failure: &Failure) -> Option<&'static str> {
    // A failure without a derivative (an error, or property 4) is matched against the derivative
    // nabla prints for the case, when it prints one.
    let printed = match &failure.derivative {
        Some(_) => None,
        None => diff(case, case.layout).ok(),
    };
    let found = Found {
        case,
        derivative: failure.derivative.as_deref().or(printed.as_ref()),
        message: &failure.message,
    };
    let matches = |bug: &&KnownBug| bug.symptom.is_some_and(|symptom| symptom(&found));
    KNOWN_BUGS.iter().find(matches).map(|bug| bug.name)
}

/// Runs a property on a case; a panic is a failure.
fn check_case(property: Property, case: &Case, stats: &mut Stats) -> Result<(), Failure> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| property(case, stats)))
        .unwrap_or_else(|panic| Err(format!("nabla panics: {}", panic_message(&*panic)).into()))
}

/// Runs `property` over the generated cases, deterministically, and prints what it saw.
///
/// With `PROPERTIES_SURVEY` set, failures do not stop the run: every failing case is printed
/// (unshrunk) and counted, and the test fails at the end if there was any.
fn run(name: &str, cases: u32, strategy: impl Strategy<Value = Case>, property: Property) {
    let mut config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    if !env_set("PROPTEST_CASES") {
        config.cases = cases;
    }
    if !env_set("PROPTEST_RNG_SEED") {
        config.rng_seed = RngSeed::Fixed(SEED);
    }
    if !env_set("PROPTEST_MAX_SHRINK_ITERS") {
        config.max_shrink_iters = 2000;
    }
    let survey = env_set("PROPERTIES_SURVEY");
    let required = config.cases;
    // The statistics of the generated cases; shrinking runs after the first failure are not
    // counted.
    let stats = RefCell::new(Stats::default());
    let shrinking = std::cell::Cell::new(false);
    let failures = RefCell::new(Vec::new());
    let start = Instant::now();
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |case| {
        if survey {
            eprintln!("START {name}: {case:?}");
        }
        let mut scratch = Stats::default();
        let mut counted = stats.borrow_mut();
        let stats = if shrinking.get() {
            &mut scratch
        } else {
            &mut *counted
        };
        stats.cases += 1;
        *stats.kinds.entry(case.kind).or_default() += 1;
        let Err(failure) = check_case(property, &case, stats) else {
            return Ok(());
        };
        let message = format!(
            "{}\n  input:  {}\n  wrt:    {}\n  layout: {:?}",
            failure.message, case.input, case.wrt, case.layout
        );
        // Undeclared names are read by inference, which may refuse a program whose declared
        // form types; that is counted (and printed at scale), while every answer it gives must
        // hold every property.
        if case.undeclared
            && failure.derivative.is_none()
            && failure.message.contains("nabla::diff fails")
        {
            stats.event("undeclared names refused");
            if survey {
                println!("REFUSED {case:?}\n{message}\n");
            }
            return Ok(());
        }
        if let Some(bug) = known_bug(&case, &failure) {
            let excused = format!("{case:?}: {}", failure.message.lines().next().unwrap_or(""));
            stats.known.entry(bug).or_default().push(excused);
            return Ok(());
        }
        if survey {
            println!("FAILURE {case:?}\n{message}\n");
            failures.borrow_mut().push(message);
            return Ok(());
        }
        shrinking.set(true);
        Err(TestCaseError::fail(message))
    });
    let stats = stats.into_inner();
    let failures = failures.into_inner();
    println!(
        "{name}: {} cases ({required} required) in {:.1?}",
        stats.cases,
        start.elapsed()
    );
    for (kind, n) in &stats.kinds {
        println!("  {kind}: {n}");
    }
    for (event, n) in &stats.events {
        println!("  [{event}] {n}");
    }
    for (bug, cases) in &stats.known {
        println!("  known bug {bug}: {} cases excused", cases.len());
        for case in cases.iter().take(if survey { usize::MAX } else { 3 }) {
            println!("    {case}");
        }
    }
    println!(
        "  no point in the domain: {} of {}",
        stats.no_domain.len(),
        stats.cases
    );
    for case in &stats.no_domain {
        println!("    {case}");
    }
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, case)) => {
            panic!("{name} fails on the (shrunk) case\n  {case:?}\n{reason}")
        }
        Err(TestError::Abort(reason)) => panic!("{name} aborted: {reason}"),
    }
    assert!(
        failures.is_empty(),
        "{name}: {} of {} cases fail (printed above)",
        failures.len(),
        stats.cases
    );
    assert!(
        stats.no_domain.len() * 10 <= stats.cases.max(10),
        "{name}: no point in the domain in {} of {} cases: the generator leaves domains too often",
        stats.no_domain.len(),
        stats.cases
    );
}

fn diff(case: &Case, layout: Layout) -> Result<Derivative, String> {
    let options = Options {
        layout,
        second: case.second.clone(),
    };
    nabla::diff(&case.input, &case.wrt, &options)
        .map_err(|e| format!("nabla::diff fails ({layout:?}): {}", e.render(&case.input)))
}

/// The shape of the derivative of f by x in a layout (README, "Layouts").
fn derivative_shape(f: NablaShape, x: NablaShape, layout: Layout) -> NablaShape {
    let numerator = if f.is_scalar() {
        x.transposed()
    } else if x.is_scalar() {
        f
    } else {
        // The Jacobian of vec(f) by vec(x): for vectors, f's length by x's.
        NablaShape::new(f.rows.times(f.cols), x.rows.times(x.cols))
    };
    if layout == Layout::Denominator && nabla::identify::transposes_in_denominator(f, x) {
        numerator.transposed()
    } else {
        numerator
    }
}

/// The shape of a variable of the input.
fn var_shape(d: &Derivative, name: egg::Symbol) -> NablaShape {
    d.input
        .variable(name.as_str())
        .map_or(NablaShape::SCALAR, |v| v.shape)
}

/// What a derivative differentiates, and by what: the input by the variable, or for a second
/// derivative the gradient (in denominator layout) by the second variable.
fn differentiated(d: &Derivative) -> (&Expr, egg::Symbol) {
    match &d.second {
        None => (&d.input.expr, d.wrt),
        Some((gradient, y)) => (gradient, *y),
    }
}

/// The shape nabla's derivative must have.
fn expected_shape(d: &Derivative) -> NablaShape {
    let (f, x) = differentiated(d);
    derivative_shape(f.shape, var_shape(d, x), d.layout)
}

/// The derivative of `d.input` by `d.wrt` at `p` by Richardson-extrapolated central differences
/// with step `h` (relative to the entry), laid out as nabla lays out the derivative.
fn accurate_difference(d: &Derivative, p: &Point, h: f64) -> Option<Value> {
    let (f_expr, x) = differentiated(d);
    let x0 = p.values.get(&x)?.clone();
    let f = |delta: f64, i: usize, j: usize| {
        let mut q = p.clone();
        q.values.get_mut(&x)?[(i, j)] += delta;
        evaluates(f_expr, &q)
    };
    let central = |h: f64, i: usize, j: usize| Some((f(h, i, j)? - f(-h, i, j)?) / (2.0 * h));
    let (rows, cols) = x0.shape();
    let mut partials = Vec::new();
    for j in 0..cols {
        for i in 0..rows {
            let step = h * x0[(i, j)].abs().max(1.0);
            let (coarse, fine) = (central(step, i, j)?, central(step / 2.0, i, j)?);
            partials.push((fine * 4.0 - coarse) / 3.0);
        }
    }
    let (fr, fc) = partials[0].shape();
    let numerator = if fr * fc == 1 {
        Value::from_fn(cols, rows, |j, i| partials[j * rows + i][(0, 0)])
    } else if rows * cols == 1 {
        partials[0].clone()
    } else {
        Value::from_fn(fr * fc, rows * cols, |k, i| partials[i].as_slice()[k])
    };
    let (f_shape, x_shape) = (f_expr.shape, var_shape(d, x));
    Some(
        if d.layout == Layout::Denominator
            && nabla::identify::transposes_in_denominator(f_shape, x_shape)
        {
            numerator.transpose()
        } else {
            numerator
        },
    )
}

fn finite(v: &Value) -> bool {
    v.iter().all(|x| x.is_finite())
}

/// Whether two values agree to rounding.
fn close(a: &Value, b: &Value) -> bool {
    a.shape() == b.shape() && (a - b).amax() <= 1e-7 * (1.0 + a.amax().max(b.amax()))
}

/// Sizes for the symbolic dimensions at draw `draw`, distinct when there are several.
fn sizes(typed: &Typed, draw: usize) -> HashMap<egg::Symbol, usize> {
    let dims = typed.dims();
    dims.iter()
        .enumerate()
        .map(|(i, d)| (*d, 2 + (i + draw) % (dims.len() + 1)))
        .collect()
}

/// Random points for the variables of `typed` (signed data, then positive data), up to
/// `draws` of them, each where `in_domain` holds.
fn points(
    typed: &Typed,
    seed: u64,
    draws: usize,
    in_domain: impl Fn(&Point) -> bool,
) -> Vec<Point> {
    let mut rng = eval::rng(seed);
    (0..draws)
        .filter_map(|draw| {
            [Draw::Signed, Draw::Positive].into_iter().find_map(|kind| {
                let point =
                    eval::random_point(&typed.variables, &sizes(typed, draw), kind, &mut rng);
                in_domain(&point).then_some(point)
            })
        })
        .collect()
}

fn evaluates(e: &Expr, p: &Point) -> Option<Value> {
    eval::eval(e, p).filter(finite)
}

fn show(v: &Option<Value>) -> String {
    match v {
        Some(v) if v.len() <= 16 => format!("{:?}", v.as_slice()),
        Some(v) => format!("{}x{} matrix", v.nrows(), v.ncols()),
        None => "no value".into(),
    }
}

// ---------------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------------

/// Property 1: the derivative agrees with central finite differences, in both layouts.
fn agrees_with_finite_differences(case: &Case, stats: &mut Stats) -> Result<(), Failure> {
    for layout in [Layout::Numerator, Layout::Denominator] {
        let d = diff(case, layout)?;
        let want = expected_shape(&d);
        if d.expr.shape != want {
            return Err(about(&d)(format!(
                "the derivative ({layout:?}) has shape {} instead of {want}\n  derivative: {}",
                d.expr.shape,
                d.text()
            )));
        }
        let options = CheckOptions {
            draws: 3,
            seed: case.seed,
        };
        let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| d.check(options)))
            .map_err(|panic| {
                about(&d)(format!(
                    "the check panics ({layout:?}): {}\n  derivative: {}",
                    panic_message(&*panic),
                    d.text()
                ))
            })?;
        if report.compared == 0 {
            // Tell a function without a value apart from a derivative without one.
            let function = points(&d.input, case.seed, 3, |p| {
                evaluates(&d.input.expr, p).is_some()
            });
            let why = if function.is_empty() {
                "the function has no value"
            } else {
                stats.event("no point checked though the function has a value");
                "the function has a value, the derivative or a neighbour has none"
            };
            stats.no_domain.push(format!(
                "{case:?} [{layout:?}]: {why}; derivative {}",
                d.text()
            ));
            continue;
        }
        if !report.passed() {
            return Err(about(&d)(format!(
                "the derivative disagrees with finite differences ({layout:?}): {report}\n  derivative: {}",
                d.text()
            )));
        }
    }
    Ok(())
}

/// Property 2: the text output parses back and evaluates to the same numbers.
fn text_parses_back(case: &Case, stats: &mut Stats) -> Result<(), Failure> {
    let d = diff(case, case.layout)?;
    let text = d.text();
    let again = format!("{}{text}", d.input.declarations());
    let parsed = nabla::read(&again).map_err(|e| {
        about(&d)(format!(
            "the text output does not parse back: {}\n  output: {text}",
            e.render(&again)
        ))
    })?;
    if parsed.expr != d.expr {
        stats.event("parses back to another tree");
    }
    if parsed.expr.shape != d.expr.shape {
        return Err(about(&d)(format!(
            "the text output parses back with shape {} instead of {}\n  output: {text}",
            parsed.expr.shape, d.expr.shape
        )));
    }
    let found = points(&d.input, case.seed, 2, |p| evaluates(&d.expr, p).is_some());
    if found.is_empty() {
        stats.no_domain.push(format!("{case:?}: derivative {text}"));
    }
    for p in found {
        let (want, got) = (evaluates(&d.expr, &p), evaluates(&parsed.expr, &p));
        if !matches!((&want, &got), (Some(w), Some(g)) if close(w, g)) {
            return Err(about(&d)(format!(
                "the text output evaluates to {} but the derivative to {}\n  output: {text}",
                show(&got),
                show(&want)
            )));
        }
        if let (Some(diag), Some(got)) = (structured_gradient(&d), &got) {
            stats.event("gradient by a sym, spd or diag variable: text value in its space");
            if let Some(why) = off_the_space(got, diag) {
                return Err(about(&d)(format!(
                    "the text output {why}\n  output: {text}"
                )));
            }
        }
    }
    Ok(())
}

/// For a gradient by a `sym`, `spd` or `diag` variable, whether the variable is diagonal;
/// `None` for every other derivative.
fn structured_gradient(d: &Derivative) -> Option<bool> {
    let x = d.input.variable(d.wrt.as_str())?;
    let gradient = d.second.is_none() && d.input.expr.shape.is_scalar() && !x.shape.is_scalar();
    (gradient && x.props.symmetric()).then_some(x.props.diag)
}

/// Why the value `v` of a gradient is not in its variable's space (symmetric, or diagonal).
fn off_the_space(v: &Value, diag: bool) -> Option<String> {
    let scale = 1e-9 * (1.0 + v.amax());
    let asymmetry = (v - v.transpose()).amax();
    let off_diagonal = (0..v.nrows())
        .flat_map(|i| (0..v.ncols()).filter(move |&j| j != i).map(move |j| (i, j)))
        .map(|(i, j)| v[(i, j)].abs())
        .fold(0.0, f64::max);
    if asymmetry > scale {
        Some(format!("is not symmetric (|G - G'| = {asymmetry:.1e})"))
    } else if diag && off_diagonal > scale {
        Some(format!(
            "is not diagonal (largest off-diagonal entry {off_diagonal:.1e})"
        ))
    } else {
        None
    }
}

fn katex(latex: &str) -> Result<(), String> {
    common::renders(latex).map_err(|e| format!("KaTeX cannot render {e}"))
}

/// Property 3: every LaTeX output (the input and the derivative) renders in KaTeX.
fn latex_renders(case: &Case, _: &mut Stats) -> Result<(), Failure> {
    let d = diff(case, case.layout)?;
    katex(&nabla::print::print(&d.input.expr, Format::Latex))
        .map_err(|e| about(&d)(format!("the input: {e}")))?;
    katex(&d.format(Format::Latex))
        .map_err(|e| about(&d)(format!("the derivative: {e}\n  text: {}", d.text())))
}

/// The derivative as identified, before simplification (what `nabla::diff` simplifies).
fn identified(typed: &Typed, wrt: &str, layout: Layout) -> Result<Expr, String> {
    let x = typed.variable(wrt).ok_or("no such variable")?;
    let df = nabla::differentiate::differential(&typed.expr, x.name)
        .map_err(|e| format!("differential: {e}"))?;
    let raw = nabla::identify::identify(&df, typed.expr.shape, x.shape, layout)
        .map_err(|e| format!("identify: {e}"))?;
    Ok(nabla::identify::restrict(raw, typed.expr.shape, x))
}

/// Property 4: simplification never changes the value.
fn simplification_keeps_value(case: &Case, stats: &mut Stats) -> Result<(), Failure> {
    let typed = nabla::read(&case.input)
        .map_err(|e| format!("nabla::diff fails (reading): {}", e.render(&case.input)))?;
    // The default limits, and a saturation stopped after a random number of rounds: the README
    // promises a correct (less simple) result whichever limit is reached.
    let rounds = nabla::simplify::Limits {
        iterations: (case.seed % 12) as usize,
        ..Default::default()
    };
    let (raw, simple, partial) = nabla::with_deep_stack(|| {
        let raw = identified(&typed, &case.wrt, case.layout)?;
        let simple = nabla::simplify::simplify(&raw, Default::default()).0;
        let partial = nabla::simplify::simplify(&raw, rounds).0;
        Ok::<_, String>((raw, simple, partial))
    })
    .map_err(|e| format!("nabla fails: {e}"))??;
    let found = points(&typed, case.seed, 3, |p| evaluates(&raw, p).is_some());
    if found.is_empty() {
        stats.no_domain.push(format!("{case:?}: identified {raw}"));
    }
    for (simple, limits) in [(simple, "default limits"), (partial, "fewer rounds")] {
        compare_simplified(stats, &found, &raw, &simple, limits)?;
    }
    Ok(())
}

/// Property 4 for one simplification of `raw`.
fn compare_simplified(
    stats: &mut Stats,
    found: &[Point],
    raw: &Expr,
    simple: &Expr,
    limits: &str,
) -> Result<(), Failure> {
    let outputs = format!("\n  identified: {raw}\n  simplified ({limits}): {simple}");
    if simple.shape != raw.shape {
        return Err(format!(
            "simplification changes the shape from {} to {}{outputs}",
            raw.shape, simple.shape
        )
        .into());
    }
    for p in found {
        let (want, got) = (evaluates(raw, p), evaluates(simple, p));
        let (Some(w), Some(g)) = (&want, &got) else {
            return Err(format!(
                "the simplified derivative evaluates to {} but the identified one to {}{outputs}",
                show(&got),
                show(&want)
            )
            .into());
        };
        if close(w, g) {
            continue;
        }
        // Two forms of one value lose different digits where evaluation is ill-conditioned.
        let slack = 10.0 * (noise(raw, p) + noise(simple, p));
        if w.shape() == g.shape() && (w - g).amax() <= 1e-7 * (1.0 + w.amax()) + slack {
            stats.event("identified and simplified differ by their rounding noise");
            continue;
        }
        return Err(format!(
            "the simplified derivative evaluates to {} but the identified one to {}{outputs}",
            show(&got),
            show(&want)
        )
        .into());
    }
    Ok(())
}

/// How much rounding moves the value of `e` near `p`: the largest entry of the second
/// difference e(p + δ) - 2 e(p) + e(p - δ) for a perturbation δ of about 1e-9 of every entry,
/// which cancels the smooth change and leaves the rounding errors (infinite without a value).
fn noise(e: &Expr, p: &Point) -> f64 {
    let mut rng = eval::rng(0x6e6f697365);
    let step = |sign: f64, rng: &mut rand::rngs::StdRng| {
        let mut q = p.clone();
        for v in q.values.values_mut() {
            for x in v.iter_mut() {
                *x += sign * 1e-9 * x.abs().max(1e-3) * (rand::Rng::random_range(rng, 0.5..1.5));
            }
        }
        q
    };
    let mut up_rng = rng.clone();
    let up = step(1.0, &mut up_rng);
    let down = step(-1.0, &mut rng);
    match (evaluates(e, &up), evaluates(e, p), evaluates(e, &down)) {
        (Some(a), Some(b), Some(c)) if a.shape() == b.shape() && b.shape() == c.shape() => {
            (a - &b * 2.0 + c).amax()
        }
        _ => f64::INFINITY,
    }
}

#[test]
fn derivatives_agree_with_finite_differences() {
    run(
        "finite differences",
        DEFAULT_CASES,
        cases(),
        agrees_with_finite_differences,
    );
}

#[test]
fn text_output_parses_back() {
    run("text parses back", DEFAULT_CASES, cases(), text_parses_back);
}

#[test]
fn latex_output_renders_in_katex() {
    run("LaTeX renders", DEFAULT_CASES, cases(), latex_renders);
}

/// Property 5: second derivatives (Hessians and mixed) agree with finite differences, print
/// text that parses back and LaTeX that renders.
#[test]
fn second_derivatives_hold_properties_1_to_3() {
    run(
        "second derivatives",
        DEFAULT_CASES / 4,
        second_cases(),
        |case, stats| {
            agrees_with_finite_differences(case, stats)?;
            text_parses_back(case, stats)?;
            latex_renders(case, stats)
        },
    );
}

#[test]
fn simplification_keeps_the_value() {
    run(
        "simplification",
        DEFAULT_CASES,
        cases(),
        simplification_keeps_value,
    );
}

/// Every row of the classic table renders its LaTeX (input and derivative) in KaTeX.
#[test]
fn every_table_row_renders_in_katex() {
    let text = include_str!("../rules/table.txt");
    let mut wrong = Vec::new();
    let mut rows = 0;
    for line in text.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(f.len(), 4, "a table row has four fields: {line}");
        let (name, wrt, input) = (f[0], f[1], f[2]);
        rows += 1;
        // A variable field `x,y` asks for the second derivative by x then y.
        let (wrt, second) = match wrt.split_once(',') {
            Some((x, y)) => (x, Some(y.to_string())),
            None => (wrt, None),
        };
        for layout in [Layout::Numerator, Layout::Denominator] {
            let options = Options {
                layout,
                second: second.clone(),
            };
            let d = nabla::diff(input, wrt, &options)
                .unwrap_or_else(|e| panic!("{name}: {}", e.render(input)));
            for latex in [
                nabla::print::print(&d.input.expr, Format::Latex),
                d.format(Format::Latex),
            ] {
                if let Err(e) = katex(&latex) {
                    wrong.push(format!("{name} ({layout:?}): {e}"));
                }
            }
        }
    }
    assert!(rows >= 60, "the table has {rows} rows");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Each known bug's reproduction still fails a property; when one passes them all, its bug is
/// fixed and its entry in [`KNOWN_BUGS`] (with the constructs it leaves out) should go.
#[test]
fn every_known_bug_still_reproduces() {
    let properties: [Property; 4] = [
        agrees_with_finite_differences,
        text_parses_back,
        latex_renders,
        simplification_keeps_value,
    ];
    let mut fixed = Vec::new();
    for bug in KNOWN_BUGS {
        let (input, wrt) = bug.repro;
        let case = Case {
            input: input.into(),
            wrt: wrt.into(),
            second: None,
            layout: Layout::Numerator,
            seed: 1,
            kind: "known bug",
            undeclared: false,
        };
        let fails = (properties.iter())
            .any(|property| check_case(*property, &case, &mut Stats::default()).is_err());
        if !fails {
            fixed.push(format!("{}: {case:?} passes every property", bug.name));
        }
    }
    assert!(
        fixed.is_empty(),
        "known bugs that no longer reproduce (remove them from KNOWN_BUGS):\n{}",
        fixed.join("\n")
    );
}

/// Prints generated inputs and how often each construct occurs, to inspect the generator:
/// `cargo test --test properties -- --ignored --nocapture sample_inputs`.
#[test]
#[ignore]
fn sample_inputs() {
    let mut runner = TestRunner::new(Config {
        rng_seed: RngSeed::Fixed(SEED),
        ..Config::default()
    });
    let strategy = cases();
    let samples: Vec<Case> = (0..2000)
        .map(|_| strategy.new_tree(&mut runner).expect("a case").current())
        .collect();
    for case in samples.iter().take(30) {
        println!("{case:?} [{}]", case.kind);
    }
    let body = |case: &Case| -> String {
        let i = case.input.rfind("; ").map_or(0, |i| i + 2);
        case.input[i..].to_string()
    };
    let mut lengths: Vec<usize> = samples.iter().map(|c| body(c).len()).collect();
    lengths.sort_unstable();
    println!(
        "length of the expression: median {}, 90th percentile {}, max {}",
        lengths[lengths.len() / 2],
        lengths[lengths.len() * 9 / 10],
        lengths[lengths.len() - 1]
    );
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for case in &samples {
        *kinds.entry(case.kind).or_default() += 1;
    }
    println!("kinds: {kinds:?}");
    let constructs = [
        " + ", " - ", "(-", "*", "/", ".*", "./", ".^", "^", "'", "exp(", "log(", "sin(", "cos(",
        "tan(", "tanh(", "sigmoid(", "relu(", "step(", "abs(", "sign(", "sqrt(", "sum(", "norm1(",
        "norm2(", "tr(", "det(", "logdet(", "inv(", "diag(", "eye(", "ones(", "zeros(", "1/2",
        "0.5", "spd", "sym", "diag;",
    ];
    for c in constructs {
        let declared = ["spd", "sym", "diag;"].contains(&c);
        let n = (samples.iter())
            .filter(|s| declared && s.input.contains(c) || body(s).contains(c))
            .count();
        println!(
            "  {c:>10} in {:5.1}% of inputs",
            100.0 * n as f64 / samples.len() as f64
        );
    }
}

/// Runs every property on one input, to reproduce a failure:
/// `PROPERTIES_INPUT="x: R^n; sum(exp(x))" PROPERTIES_WRT=x cargo test --test properties --
/// --ignored --nocapture one_input` (also `PROPERTIES_SECOND=y` for a second derivative,
/// `PROPERTIES_LAYOUT=denominator`, `PROPERTIES_SEED=N`).
#[test]
#[ignore]
fn one_input() {
    let var = |name: &str| std::env::var(name).ok();
    let (Some(input), Some(wrt)) = (var("PROPERTIES_INPUT"), var("PROPERTIES_WRT")) else {
        println!("set PROPERTIES_INPUT and PROPERTIES_WRT");
        return;
    };
    let case = Case {
        input,
        wrt,
        second: var("PROPERTIES_SECOND"),
        layout: layout(var("PROPERTIES_LAYOUT").as_deref() == Some("denominator")),
        seed: var("PROPERTIES_SEED").map_or(1, |s| s.parse().expect("a seed")),
        kind: "given",
        undeclared: false,
    };
    let mut properties: Vec<(&str, Property)> = vec![
        ("finite differences", agrees_with_finite_differences),
        ("text parses back", text_parses_back),
        ("LaTeX renders", latex_renders),
    ];
    if case.second.is_none() {
        properties.push(("simplification", simplification_keeps_value));
    }
    let mut failed = 0;
    for (name, property) in properties {
        let mut stats = Stats::default();
        match check_case(property, &case, &mut stats) {
            Ok(()) => println!("{name}: ok {:?} {:?}", stats.events, stats.no_domain),
            Err(failure) => {
                failed += 1;
                let known = known_bug(&case, &failure)
                    .map_or(String::new(), |bug| format!(" (known bug {bug})"));
                println!("{name}: FAILS{known}\n{}", failure.message);
            }
        }
    }
    if let Ok(d) = diff(&case, case.layout) {
        println!("text:  {}\nlatex: {}", d.text(), d.format(Format::Latex));
        println!("unshared: {}", d.expr);
        if let (None, Ok(raw)) = (&d.second, identified(&d.input, &case.wrt, case.layout)) {
            println!("identified: {raw}");
        }
        let (f, _) = differentiated(&d);
        for p in points(&d.input, case.seed, 3, |p| evaluates(&d.expr, p).is_some()) {
            println!("at {:?}", p.values);
            println!("function:   {}", show(&evaluates(f, &p)));
            println!("derivative: {}", show(&evaluates(&d.expr, &p)));
            for h in [1e-2, 1e-3, 1e-4, 1e-5] {
                println!(
                    "Richardson differences, step {h:e}: {}",
                    show(&accurate_difference(&d, &p, h))
                );
            }
        }
    }
    assert_eq!(failed, 0, "{case:?}");
}

/// Writes the generated problems that the speed benchmark times (benches/distribution.rs) as
/// batch lines, the variable, a tab, the input:
/// `NABLA_PROBLEMS=10000 cargo test --test properties -- --ignored write_benchmark_problems`.
#[test]
#[ignore]
fn write_benchmark_problems() {
    let count = std::env::var("NABLA_PROBLEMS").map_or(10_000, |n| n.parse().expect("a count"));
    let mut runner = TestRunner::new(Config {
        rng_seed: RngSeed::Fixed(SEED),
        ..Config::default()
    });
    let strategy = cases();
    let lines: String = (0..count)
        .map(|_| strategy.new_tree(&mut runner).expect("a case").current())
        .map(|case| format!("{}\t{}\n", case.wrt, case.input))
        .collect();
    std::fs::write(
        concat!(env!("CARGO_MANIFEST_DIR"), "/benches/problems.txt"),
        lines,
    )
    .expect("benches/problems.txt is written");
}

/// Property 6: the NumPy output of every generated derivative runs and evaluates to the
/// derivative's value (and, for a gradient by a `sym`, `spd` or `diag` variable, lies in its
/// space), in both layouts. Python runs once for all cases.
#[test]
fn numpy_output_evaluates_to_the_derivative() {
    generated_code_evaluates(Format::Numpy);
}

/// Property 6 for `--format torch`: PyTorch is too large to install for CI
/// (`pip install torch`, then `--ignored`).
#[test]
#[ignore = "needs PyTorch, too large to install for CI: pip install torch, then --ignored"]
fn torch_output_evaluates_to_the_derivative() {
    generated_code_evaluates(Format::Torch);
}

fn generated_code_evaluates(format: Format) {
    use common::python::{self, Outcome};
    python::require(if format == Format::Torch {
        "torch"
    } else {
        "numpy"
    });
    let count =
        std::env::var("PROPTEST_CASES").map_or(DEFAULT_CASES, |n| n.parse().expect("a count"));
    let mut runner = TestRunner::new(Config {
        rng_seed: RngSeed::Fixed(SEED),
        ..Config::default()
    });
    let strategy = cases();
    let (mut cases, mut derivatives) = (Vec::new(), Vec::new());
    for i in 0..count {
        let case = strategy.new_tree(&mut runner).expect("a case").current();
        for layout in [Layout::Numerator, Layout::Denominator] {
            // Refusals and their messages are the other properties' concern.
            let Ok(d) = diff(&case, layout) else { continue };
            let Some((point, expected)) = python::evaluate(&d, case.seed) else {
                continue;
            };
            cases.push(python::Case {
                id: format!("{case:?} [{layout:?}, case {i}]"),
                code: d.format(format),
                point,
                expected,
                sizes_in_scope: true,
                tolerance: python::TOLERANCE,
            });
            derivatives.push(d);
        }
    }
    let outcomes = python::parse_output(&python::run_python(&python::script(&cases, format)));
    let mut failures = Vec::new();
    let mut in_space = 0;
    for (i, (c, d)) in cases.iter().zip(&derivatives).enumerate() {
        let outcome = outcomes.get(&i);
        if let Some(why) = python::disagreement(c, outcome) {
            failures.push(format!("{}:\n  code: {}\n  {why}", c.id, c.code));
        } else if let (Some(diag), Some(Outcome::Value(v))) = (structured_gradient(d), outcome) {
            in_space += 1;
            if let Some(why) = off_the_space(v, diag) {
                failures.push(format!(
                    "{}:\n  code: {}\n  the Python value {why}",
                    c.id, c.code
                ));
            }
        }
    }
    println!(
        "{} {format:?} outputs of {count} generated programs run ({in_space} gradients by structured variables checked in their space)",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} {format:?} outputs fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
