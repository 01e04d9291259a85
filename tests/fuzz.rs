//! Fuzzing of the whole pipeline: parse → shapes → differentiate → identify → simplify → print.
//!
//! The property, for any input and any variable name: `nabla::diff` returns `Ok` or `Err` in
//! both layouts without panicking (nor returning `Error::Internal`, a panic it caught),
//! overflowing its stack or hanging (four times nabla's time limit: 20 s in release, 4 min
//! in a debug build); an error renders; a derivative prints in every format, and its text parses
//! back, with the input's declarations, to an expression of the derivative's shape.
//!
//! Each `fuzz_*` test draws `PROPTEST_CASES` cases (by default a few hundred to a few thousand:
//! the file runs in about 30 s in a debug build) from one family of inputs: arbitrary strings,
//! byte soup, soup of the language's tokens, loosely and strictly well-shaped programs,
//! mutated programs, deep nesting around the parser's depth limit, and chains of definitions.
//! Cases are reproducible: the random stream is seeded by `NABLA_FUZZ_SEED` (default 0) and the
//! test's name. A failure is shrunk to a simpler input that fails the same way (not a hang).
//!
//! A long campaign, one family at a time:
//!
//! ```text
//! PROPTEST_CASES=200000 NABLA_FUZZ_SEED=7 NABLA_FUZZ_KEEP_GOING=1 NABLA_FUZZ_TRACE=/tmp/case \
//!     cargo test --release --test fuzz -- --exact fuzz_token_soup --nocapture
//! ```
//!
//! `NABLA_FUZZ_SECONDS` stops a test after that long, however many cases it has run.
//! `NABLA_FUZZ_KEEP_GOING` goes on past failures, quietly, and sums them up at the end, one
//! line per kind of failure with its count and its shortest input (a hang ends the run: its
//! thread cannot be stopped). `NABLA_FUZZ_TRACE` writes every case to that file before it
//! runs, so that the input of an abort (a stack overflow, running out of memory) is left there.
//!
//! The `regression_*` tests are inputs that fuzzing found, minimized; they fail until the bug
//! they name is fixed.

use nabla::{Format, Layout, Options};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// One input: the variable (`--wrt`) and the program.
#[derive(Clone, Debug)]
struct Case {
    wrt: String,
    input: String,
}

impl Case {
    fn new(wrt: &str, input: &str) -> Case {
        Case {
            wrt: wrt.into(),
            input: input.into(),
        }
    }
}

const FORMATS: [Format; 5] = [
    Format::Text,
    Format::Unicode,
    Format::Latex,
    Format::Numpy,
    Format::Torch,
];
const LAYOUTS: [Layout; 2] = [Layout::Numerator, Layout::Denominator];

/// The kind of an error, from its variant's name: `Syntax`, `Shape`, `Unsupported`, …
fn kind(e: &nabla::Error) -> String {
    format!("{e:?}")
        .chars()
        .take_while(|c| c.is_alphanumeric())
        .collect()
}

/// A case that breaks the property: what kind of failure (the same bug gives the same kind)
/// and the details.
#[derive(Clone, Debug)]
struct Failure {
    kind: String,
    detail: String,
}

impl Failure {
    fn new(kind: impl Into<String>, detail: impl Into<String>) -> Failure {
        Failure {
            kind: kind.into(),
            detail: detail.into(),
        }
    }

    fn is_hang(&self) -> bool {
        self.kind.starts_with("hang")
    }
}

/// Runs the pipeline in both layouts; `Ok` with where each layout ended (`derived` or the
/// kind of error), `Err` when a derivative or an error does not print as it must.
fn pipeline(case: &Case) -> Result<Vec<String>, Failure> {
    let mut ends = Vec::new();
    for layout in LAYOUTS {
        let options = Options {
            layout,
            ..Options::default()
        };
        let d = match nabla::diff(&case.input, &case.wrt, &options) {
            Ok(d) => d,
            Err(nabla::Error::Internal { message }) => {
                // A panic that nabla caught at the boundary of the derivation.
                let kind: String = (message.chars())
                    .map(|c| if c.is_ascii_digit() { '#' } else { c })
                    .take(80)
                    .collect();
                let detail = format!("{layout:?}: {message}");
                return Err(Failure::new(format!("internal error: {kind}"), detail));
            }
            Err(e) => {
                if e.render(&case.input).is_empty() {
                    let detail = format!("{layout:?}: {e:?}");
                    return Err(Failure::new("an error renders as nothing", detail));
                }
                ends.push(kind(&e));
                continue;
            }
        };
        for format in FORMATS {
            if d.format(format).is_empty() {
                let detail = format!("{layout:?}: the {format:?} output of {:?}", d.expr);
                return Err(Failure::new("an empty output", detail));
            }
        }
        let again = format!("{}{}", d.input.declarations(), d.text());
        match nabla::read(&again) {
            Ok(parsed) if parsed.expr.shape == d.expr.shape => {}
            Ok(parsed) => {
                let detail = format!(
                    "{layout:?}: `{again}` parses back as {}, but the derivative is {}",
                    parsed.expr.shape, d.expr.shape
                );
                return Err(Failure::new("the text output changes shape", detail));
            }
            Err(e) => {
                let detail = format!("{layout:?}: {}", e.render(&again));
                return Err(Failure::new(
                    format!("the text output does not parse back ({})", kind(&e)),
                    detail,
                ));
            }
        }
        ends.push("derived".into());
    }
    Ok(ends)
}

/// Longest one case may take, both layouts, before it counts as a hang: each derivation stops
/// at nabla's time limit (5 s in release, 60 s in a debug build), and printing and reading back
/// take a little more.
fn hang_limit() -> Duration {
    nabla::budget::TIME_LIMIT * 4
}

/// Where the last panic happened, recorded by a panic hook (the panic itself happens on the
/// thread of `nabla::diff`, and its payload does not say where).
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Campaign mode (`NABLA_FUZZ_KEEP_GOING`): go on past failures, quietly, and sum them up.
fn keep_going() -> bool {
    std::env::var_os("NABLA_FUZZ_KEEP_GOING").is_some()
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        let quiet = keep_going();
        std::panic::set_hook(Box::new(move |info| {
            let at = info
                .location()
                .map_or("?".into(), |l| format!("{}:{}", l.file(), l.line()));
            *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(at);
            // Quiet for the cases' panics (on their threads and nabla's), not for the tests'.
            let thread = std::thread::current();
            let in_case = matches!(thread.name(), None | Some("fuzz case"));
            if !(quiet && in_case) {
                previous(info);
            }
        }));
    });
}

/// The text of a panic's payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".into()
    }
}

/// Runs a case on its own thread under the hang limit.
fn run(case: &Case) -> Result<Vec<String>, Failure> {
    install_panic_hook();
    if let Ok(path) = std::env::var("NABLA_FUZZ_TRACE") {
        let _ = std::fs::write(path, format!("--wrt {:?}\n{:?}\n", case.wrt, case.input));
    }
    let (sender, receiver) = mpsc::channel();
    let owned = case.clone();
    let start = Instant::now();
    std::thread::Builder::new()
        .name("fuzz case".into())
        .spawn(move || {
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| pipeline(&owned)));
            let _ = sender.send(result.map_err(|p| panic_message(&*p)));
        })
        .map_err(|e| Failure::new("no thread", e.to_string()))?;
    let limit = hang_limit();
    let result = match receiver.recv_timeout(limit) {
        Ok(result) => result,
        Err(RecvTimeoutError::Timeout) => {
            let detail = format!("still running after {limit:?} (its thread is left behind)");
            return Err(Failure::new("hang", detail));
        }
        Err(RecvTimeoutError::Disconnected) => {
            return Err(Failure::new(
                "no result",
                "the case's thread ended without one",
            ));
        }
    };
    let elapsed = start.elapsed();
    match result {
        Ok(Ok(_)) if elapsed > limit => Err(Failure::new("hang", format!("took {elapsed:.1?}"))),
        Ok(Ok(ends)) => Ok(ends),
        Ok(Err(failure)) => Err(failure),
        Err(message) => {
            let at = LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take();
            let at = at.unwrap_or_else(|| "?".into());
            Err(Failure::new(format!("panic at {at}"), message))
        }
    }
}

/// How a failure reads in a report: kind, details, then the input.
fn report(failure: &Failure, case: &Case) -> String {
    format!(
        "{}: {}\n  --wrt {:?}\n  input {:?}",
        failure.kind, failure.detail, case.wrt, case.input
    )
}

/// Asserts the property for one input; returns where each layout ended.
fn assert_sound(wrt: &str, input: &str) -> Vec<String> {
    let case = Case::new(wrt, input);
    run(&case).unwrap_or_else(|failure| panic!("{}", report(&failure, &case)))
}

/// Shrinks a failing case to a simpler one that fails the same way (hangs are not shrunk:
/// every try would leave a thread behind).
fn shrink(tree: &mut impl ValueTree<Value = Case>, mut failure: Failure) -> (Case, Failure) {
    let mut case = tree.current();
    let deadline = Instant::now() + Duration::from_secs(60);
    if failure.is_hang() || !tree.simplify() {
        return (case, failure);
    }
    while Instant::now() < deadline {
        let next = match run(&tree.current()) {
            Err(f) if f.kind == failure.kind => {
                (case, failure) = (tree.current(), f);
                tree.simplify()
            }
            _ => tree.complicate(),
        };
        if !next {
            break;
        }
    }
    (case, failure)
}

/// Runs `default_cases` cases (or `PROPTEST_CASES`) of `strategy`, prints where they ended,
/// and panics with the first failure, shrunk. With `NABLA_FUZZ_KEEP_GOING`, goes on past
/// failures (a hang ends the run) and panics at the end with the simplest case of each kind.
fn fuzz(name: &str, default_cases: u32, strategy: impl Strategy<Value = Case>) {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default_cases);
    let seed: u64 = std::env::var("NABLA_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    let tag = &name.as_bytes()[..name.len().min(24)];
    key[8..8 + tag.len()].copy_from_slice(tag);
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &key),
    );
    let mut ends: BTreeMap<String, u64> = BTreeMap::new();
    let mut failures: BTreeMap<String, (u64, Case, Failure)> = BTreeMap::new();
    let budget = std::env::var("NABLA_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs);
    let start = Instant::now();
    let mut done = 0;
    while done < cases && budget.is_none_or(|b| start.elapsed() < b) {
        let mut tree = strategy.new_tree(&mut runner).expect("a case");
        let case = tree.current();
        done += 1;
        match run(&case) {
            Ok(case_ends) => {
                for end in case_ends {
                    *ends.entry(end).or_default() += 1;
                }
            }
            Err(failure) if keep_going() => {
                let hang = failure.is_hang();
                let entry = failures.entry(failure.kind.clone());
                let (count, simplest, its) = entry.or_insert((0, case.clone(), failure.clone()));
                if *count == 0 {
                    eprintln!("fuzz {name}: new failure, {}", report(&failure, &case));
                }
                *count += 1;
                if case.input.len() < simplest.input.len() {
                    (*simplest, *its) = (case, failure);
                }
                if hang {
                    eprintln!("fuzz {name}: stopping after a hang (its thread still runs)");
                    break;
                }
            }
            Err(failure) => {
                let (case, failure) = shrink(&mut tree, failure);
                panic!("fuzz {name} (seed {seed}): {}", report(&failure, &case));
            }
        }
    }
    let tally: Vec<String> = ends.iter().map(|(k, n)| format!("{k} {n}")).collect();
    eprintln!(
        "fuzz {name}: {done} cases (seed {seed}) in {:.1?}; per layout: {}",
        start.elapsed(),
        tally.join(", ")
    );
    if !failures.is_empty() {
        let summary: Vec<String> = (failures.values())
            .map(|(count, case, failure)| format!("{count}× {}", report(failure, case)))
            .collect();
        panic!("fuzz {name}: failures\n{}", summary.join("\n"));
    }
}

// ---- the language's pieces ----

const NAMES: &[&str] = &[
    "x", "y", "w", "z", "u", "v", "h", "p", "q", "A", "B", "C", "X", "S", "W", "P", "a", "b", "c",
    "t", "k", "n", "m", "lambda", "x_1", "W2",
];
const FUNCS: &[&str] = &[
    "exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "step", "abs", "sign", "sqrt",
    "sum", "norm1", "norm2", "tr", "det", "logdet", "inv", "diag",
];
const CONSTANTS: &[&str] = &[
    "eye(n)",
    "eye(m)",
    "eye(3)",
    "eye(1)",
    "eye()",
    "ones(n)",
    "ones(m, n)",
    "ones(1, n)",
    "ones(1)",
    "ones()",
    "zeros(n, n)",
    "zeros(m, n)",
    "zeros(n)",
    "zeros()",
];
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "0.5",
    "1e-3",
    "2.5E+2",
    "64",
    "65",
    "1e999",
    "1e1001",
    "99999999999999999999999",
    "0.000000000000000000001",
];
const OPERATORS: &[&str] = &["+", "-", "*", "/", ".*", "./", ".^", "^", "⊙"];
const TRANSPOSES: &[&str] = &["'", "ᵀ", "′", "^T", "^{T}", "^{\\top}"];
const TYPES: &[&str] = &[
    "R",
    "ℝ",
    "R^n",
    "R^m",
    "R^3",
    "R^1",
    "R^(n x n)",
    "R^(m x n)",
    "R^(n x m)",
    "R^(1 x n)",
    "R^(n x 1)",
    "R^(1 x 1)",
    "R^(n × n)",
    "R^{m,n}",
    "R^(m, n)",
    "R^(n*n)",
    "R^(3 x 3)",
    "R^(2 x 3)",
    "R^0",
    "R^(n x)",
    "Q^n",
];
const PROPERTIES: &[&str] = &[
    "",
    "",
    "",
    " sym",
    " spd",
    " diag",
    " sym spd",
    ", sym",
    " sym diag",
    " spd diag",
];
const PUNCTUATION: &[&str] = &[
    "(", ")", "(", ")", ",", ";", ":", "=", "\n", " ", "?", "R^", "R^(", " x ", "×", "sym", "spd",
    "diag", "[", "]", "{", "}", "ℝ", "==", "--", "\t", "\r\n", ".", "#", "_", "é", "∇",
];

/// One of a few strings.
fn one_of(items: &'static [&'static str]) -> impl Strategy<Value = &'static str> + Clone {
    select(items)
}

/// One token of the language, or something near one.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => select(NAMES).prop_map(String::from),
        4 => select(OPERATORS).prop_map(String::from),
        3 => select(FUNCS).prop_map(|f| format!("{f}(")),
        1 => select(FUNCS).prop_map(String::from),
        2 => select(NUMBERS).prop_map(String::from),
        2 => select(TRANSPOSES).prop_map(String::from),
        5 => select(PUNCTUATION).prop_map(String::from),
        1 => select(CONSTANTS).prop_map(String::from),
        1 => select(TYPES).prop_map(String::from),
        1 => select(PROPERTIES).prop_map(String::from),
    ]
}

/// The names in an input that can be variables: not functions, keywords or definitions.
fn variables(input: &str) -> Vec<&str> {
    let defined: Vec<&str> = (input.split([';', '\n']))
        .filter_map(|item| item.split_once('=').map(|(name, _)| name.trim()))
        .collect();
    let words = input.split(|c: char| !(c.is_alphanumeric() || c == '_'));
    let mut names: Vec<&str> = words
        .filter(|w| w.starts_with(|c: char| c.is_alphabetic() || c == '_'))
        .filter(|w| !FUNCS.contains(w) && !defined.contains(w))
        .filter(|w| !["R", "sym", "spd", "diag", "eye", "ones", "zeros", "T"].contains(w))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The variable: most often a name that occurs in the input, sometimes anything.
fn with_wrt(input: impl Strategy<Value = String>) -> impl Strategy<Value = Case> {
    let other = prop_oneof![
        select(NAMES).prop_map(String::from),
        Just(String::new()),
        any::<String>(),
        Just("exp".to_string()),
        Just("n".to_string()),
        Just("p1".to_string()),
    ];
    (input, any::<Index>(), 0..10u8, other).prop_map(|(input, index, dice, other)| {
        let names = variables(&input);
        let wrt = if dice < 9 && !names.is_empty() {
            index.get(&names).to_string()
        } else {
            other
        };
        Case { wrt, input }
    })
}

/// Expressions of the three kinds over one dimension `n`, well-shaped by construction:
/// (scalar, vector, square matrix). Each level builds each kind from the level below.
fn typed() -> impl Strategy<Value = (String, String, String)> {
    let scalar = prop_oneof![
        4 => one_of(&["a", "b", "c", "t"]).prop_map(String::from),
        2 => one_of(&["2", "1/2", "0", "1", "3", "0.1", "1e999", "64"]).prop_map(String::from),
    ];
    let vector = prop_oneof![
        4 => one_of(&["x", "y", "w", "u", "v"]).prop_map(String::from),
        1 => one_of(&["ones(n)", "zeros(n, 1)", "ones()"]).prop_map(String::from),
    ];
    let matrix = prop_oneof![
        4 => one_of(&["A", "B", "C", "S", "D", "X"]).prop_map(String::from),
        1 => one_of(&["eye(n)", "ones(n, n)", "zeros(n, n)", "eye()"]).prop_map(String::from),
    ];
    (scalar, vector, matrix).prop_recursive(5, 64, 2, |inner| {
        (
            inner.clone(),
            inner,
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            select(FUNCS),
            select(
                &[
                    "exp", "log", "sin", "tanh", "sigmoid", "relu", "abs", "sqrt", "step",
                ][..],
            ),
            one_of(&["2", "3", "-1", "0", "1/2", "-2", "64", "0.5"]),
            one_of(&["2", "3", "-1", "0", "1", "-2"]),
        )
            .prop_map(|((s1, v1, m1), (s2, v2, m2), i, j, k, f, g, p, q)| {
                let s = match i % 22 {
                    0 => format!("{s1} + {s2}"),
                    1 => format!("{s1} - {s2}"),
                    2 => format!("{s1}*{s2}"),
                    3 => format!("{s1}/({s2})"),
                    4 => format!("({s1})^{p}"),
                    5 => format!("{g}({s1})"),
                    6 => format!("sum({v1})"),
                    7 => format!("norm2({v1})"),
                    8 => format!("norm1({v1})"),
                    9 => format!("tr({m1})"),
                    10 => format!("det({m1})"),
                    11 => format!("logdet({m1})"),
                    12 => format!("({v1})'*({v2})"),
                    13 => format!("({v1})'*({m1})*({v2})"),
                    14 => format!("-{s1}"),
                    15 => format!("norm2({m1})^2"),
                    16 => format!("sum({m1})"),
                    17 => format!("{s1}.^{s2}"),
                    18 => format!("({s1})^({s2})"),
                    19 => format!("{f}({s1})"),
                    20 => format!("sum({g}({v1}))"),
                    _ => s1.clone(),
                };
                let v = match j % 20 {
                    0 => format!("{v1} + {v2}"),
                    1 => format!("{v1} - {v2}"),
                    2 => format!("({m1})*({v1})"),
                    3 => format!("{s1}*({v1})"),
                    4 => format!("({v1}).*({v2})"),
                    5 => format!("({v1})./({v2})"),
                    6 => format!("({v1}).^{p}"),
                    7 => format!("{g}({v1})"),
                    8 => format!("diag({m1})"),
                    9 => format!("-{v1}"),
                    10 => format!("inv({m1})*({v2})"),
                    11 => format!("({m1})'*({v1})"),
                    12 => format!("({v1}) + {s1}"),
                    13 => format!("({v1})/({s1})"),
                    14 => format!("({v1}) ⊙ ({v2})"),
                    15 => format!("({v1}).^({v2})"),
                    16 => format!("({s1}).^({v1})"),
                    17 => format!("({v1})*({v2})'*({v1})"),
                    18 => format!("(({v1})'*({m1}))ᵀ"),
                    _ => v1.clone(),
                };
                let m = match k % 21 {
                    0 => format!("{m1} + {m2}"),
                    1 => format!("{m1} - {m2}"),
                    2 => format!("({m1})*({m2})"),
                    3 => format!("{s1}*({m1})"),
                    4 => format!("({m1}).*({m2})"),
                    5 => format!("({m1})'"),
                    6 => format!("inv({m1})"),
                    7 => format!("diag({v1})"),
                    8 => format!("({v1})*({v2})'"),
                    9 => format!("{g}({m1})"),
                    10 => format!("({m1})^{q}"),
                    11 => format!("-{m1}"),
                    12 => format!("({m1})/({s1})"),
                    13 => format!("({m1})./({m2})"),
                    14 => format!("({m1}).^{p}"),
                    15 => format!("({m1})^T"),
                    16 => format!("{m1} + {s1}"),
                    17 => format!("({m1}) ⊙ ({m2})"),
                    18 => format!("{s1}*eye(n)"),
                    19 => format!("({m1}).^({m2})"),
                    _ => m1,
                };
                (s, v, m)
            })
    })
}

/// Declarations (of some of the names `typed` uses), definitions and a well-shaped body.
fn typed_program() -> impl Strategy<Value = String> {
    const DECLARATIONS: &[&str] = &[
        "A: R^(n x n) sym",
        "S: R^(n x n) spd",
        "D: R^(n x n) diag",
        "B: R^(n x n)",
        "C: R^(n x n) sym",
        "x: R^n",
        "w: R^n",
        "c: R",
        "t: R",
        "X: R^(n x n) spd",
    ];
    let declarations = prop::collection::vec(select(DECLARATIONS), 0..4).prop_map(|mut d| {
        d.sort_unstable();
        d.dedup();
        d
    });
    (
        declarations,
        typed(),
        typed(),
        0..3u8,
        0..4u8,
        one_of(&["; ", "\n"]),
    )
        .prop_map(
            |(declarations, (s, v, m), (s2, v2, m2), define, body, separator)| {
                let mut items: Vec<String> = declarations.iter().map(|d| d.to_string()).collect();
                // A definition of each kind, used by the body or not.
                let (s, v, m) = if define > 0 {
                    items.push(format!("f = {s2}"));
                    items.push(format!("r = {v2}"));
                    items.push(format!("P = {m2}"));
                    (format!("{s}*f"), format!("{v} + r"), format!("({m})*P"))
                } else {
                    (s, v, m)
                };
                items.push(match body {
                    0 | 1 => s,
                    2 => v,
                    _ => m,
                });
                items.join(separator)
            },
        )
}

/// A well-formed expression, though not always well-shaped.
fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        6 => select(NAMES).prop_map(String::from),
        2 => select(NUMBERS).prop_map(String::from),
        1 => select(CONSTANTS).prop_map(String::from),
    ];
    leaf.prop_recursive(6, 48, 2, |inner| {
        prop_oneof![
            4 => (inner.clone(), select(OPERATORS), inner.clone(), any::<bool>()).prop_map(
                |(a, op, b, bracket)| if bracket {
                    format!("({a} {op} {b})")
                } else {
                    format!("{a}{op}{b}")
                }
            ),
            3 => (select(FUNCS), inner.clone()).prop_map(|(f, a)| format!("{f}({a})")),
            1 => (inner.clone(), select(TRANSPOSES)).prop_map(|(a, t)| format!("({a}){t}")),
            1 => inner.clone().prop_map(|a| format!("-{a}")),
            1 => (
                inner.clone(),
                one_of(&["^", ".^"]),
                one_of(&["2", "3", "-1", "0", "0.5", "-2", "64", "65", "c", "(1/2)"]),
            )
                .prop_map(|(a, op, k)| format!("({a}){op}{k}")),
            1 => (one_of(&["ones", "zeros"]), select(NAMES), select(NAMES))
                .prop_map(|(f, m, n)| format!("{f}({m}, {n})")),
        ]
    })
}

/// Declarations, definitions and an expression.
fn program() -> impl Strategy<Value = String> {
    let declaration = (select(NAMES), select(TYPES), select(PROPERTIES))
        .prop_map(|(name, ty, props)| format!("{name}: {ty}{props}"));
    let definition = (
        one_of(&["p", "q", "r", "s", "k", "P", "Q", "f"]),
        expression(),
    )
        .prop_map(|(name, value)| format!("{name} = {value}"));
    (
        prop::collection::vec(declaration, 0..4),
        prop::collection::vec(definition, 0..3),
        expression(),
        one_of(&["; ", "\n", ";", " ;\n", "\r\n"]),
    )
        .prop_map(|(declarations, definitions, body, separator)| {
            (declarations.into_iter())
                .chain(definitions)
                .chain([body])
                .collect::<Vec<_>>()
                .join(separator)
        })
}

/// The char boundary of `s` nearest below a random position.
fn boundary(s: &str, index: &Index) -> usize {
    let mut at = index.index(s.len() + 1);
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[test]
fn fuzz_arbitrary_strings() {
    fuzz("strings", 2000, with_wrt(any::<String>()));
}

#[test]
fn fuzz_byte_soup() {
    // Any bytes, and bytes mostly printable ASCII, made into text as a file reader would.
    let byte = prop_oneof![any::<u8>(), 0x20..0x7fu8, Just(b'\n')];
    let bytes = prop::collection::vec(byte, 0..160);
    fuzz(
        "bytes",
        2000,
        with_wrt(bytes.prop_map(|b| String::from_utf8_lossy(&b).into_owned())),
    );
}

#[test]
fn fuzz_token_soup() {
    let spaced = (token(), one_of(&["", "", " ", "  "])).prop_map(|(t, s)| t + s);
    let soup = prop::collection::vec(spaced, 1..40).prop_map(|tokens| tokens.concat());
    fuzz("tokens", 1000, with_wrt(soup));
}

#[test]
fn fuzz_typed_programs() {
    fuzz("typed", 100, with_wrt(typed_program()));
}

#[test]
fn fuzz_programs() {
    fuzz("programs", 300, with_wrt(program()));
}

#[test]
fn fuzz_mutated_programs() {
    // A well-formed program with a few tokens put in and a few characters cut out.
    let mutated = (
        program(),
        prop::collection::vec((any::<Index>(), token()), 0..3),
        prop::collection::vec((any::<Index>(), 1..4usize), 0..2),
    )
        .prop_map(|(mut input, inserts, cuts)| {
            for (at, token) in inserts {
                let at = boundary(&input, &at);
                input.insert_str(at, &token);
            }
            for (at, len) in cuts {
                let from = boundary(&input, &at);
                let to = (from + len..=input.len())
                    .find(|&i| input.is_char_boundary(i))
                    .unwrap_or(input.len());
                input.replace_range(from..to, "");
            }
            input
        });
    fuzz("mutations", 300, with_wrt(mutated));
}

#[test]
#[ignore = "slow in a debug build (inputs near the depth limit take seconds each, up to the time limit); run in release: cargo test --release --test fuzz -- --ignored"]
fn fuzz_deep_nesting() {
    // Around the parser's depth limit (1000) and well past it, with every kind of nesting.
    const WRAPS: &[(&str, &str)] = &[
        ("(", ")"),
        ("-", ""),
        ("- ", ""),
        ("exp(", ")"),
        ("tr(", ")"),
        ("inv(", ")"),
        ("diag(", ")"),
        ("sum(", ")"),
        ("(x+", ")"),
        ("(", "'*x)"),
        ("", "'"),
        ("", "ᵀ"),
        ("", "′"),
        ("", "^T"),
        ("", "^{T}"),
        ("x+", ""),
        ("x*", ""),
        ("x.*", ""),
        ("a*-", ""),
        ("", "+x"),
        ("", "-x"),
        ("", "*x"),
        ("", "⊙x"),
        ("", "./x"),
        ("a^", ""),
        ("", "^2"),
        ("", ".^2"),
        ("2^", ""),
        ("ones(", ")"),
    ];
    let depth = prop_oneof![990..1010usize, 1..3000usize, Just(20_000usize)];
    let deep = (
        select(WRAPS),
        depth,
        one_of(&["x", "A", "a", "x'*x", "X", "1", ""]),
        one_of(&["", "A: R^(n x n); ", "x: R^n; a: R; "]),
    )
        .prop_map(|((open, close), n, core, declarations)| {
            format!("{declarations}{}{core}{}", open.repeat(n), close.repeat(n))
        });
    fuzz("deep", 60, with_wrt(deep));
}

#[test]
#[ignore = "slow in a debug build (long chains take seconds each, up to the time limit); run in release: cargo test --release --test fuzz -- --ignored"]
fn fuzz_definition_chains() {
    // Definitions that each use the one before, once or twice: a deep or exponentially
    // branching expression from a short input.
    const STEPS: &[&str] = &[
        "{p}*{p}",
        "{p}+{p}",
        "{p}'*{p}",
        "{p}*{p}'",
        "exp({p})",
        "{p}.*{p}",
        "{p}*x",
        "A*{p}",
        "tanh({p})",
        "sin({p})*cos({p})",
        "{p}^2",
        "({p})^64",
        "{p}/2",
        "inv({p})",
        "{p}+1",
    ];
    let chain = (
        one_of(&["x", "a", "A", "X", "2", "x'*x", "exp(a)*a", "9e99"]),
        prop::collection::vec(select(STEPS), 1..80),
        one_of(&["; ", "\n"]),
    )
        .prop_map(|(start, steps, separator)| {
            let mut lines = vec![format!("p0 = {start}")];
            for (i, step) in steps.iter().enumerate() {
                let value = step.replace("{p}", &format!("p{i}"));
                lines.push(format!("p{} = {value}", i + 1));
            }
            lines.push(format!("p{}", steps.len()));
            lines.join(separator)
        });
    fuzz("chains", 60, with_wrt(chain));
}

// ---- inputs that fuzzing found ----

#[test]
fn regression_elementwise_power_by_a_vector_exponent_parses_back() {
    // `x.^w` by x prints `diag(w*x.^(w + (-1)))`: `w*…` multiplies two column vectors, so the
    // text output does not parse back (shape mismatch). Found by cargo fuzz as
    // "x\t.^relu(W0onesx)".
    assert_eq!(assert_sound("x", "x.^w"), ["derived", "derived"]);
}

#[test]
fn regression_scalar_product_factor_is_bracketed_in_text_output() {
    // `x'*x/logdet(A)` by A in denominator layout prints `-inv(A')*x'*x/logdet(A)^2`: the
    // scalar `x'*x` needs brackets after a matrix, since `inv(A')*x'` is read first (shape
    // mismatch: `inv(A')` (R^(m x m)) has m column(s) but `x'` (R^(1 x n)) has 1 row(s)).
    // Found by fuzz_typed_programs as "(x)'*(x)/(logdet(A))".
    assert_eq!(assert_sound("A", "x'*x/logdet(A)"), ["derived", "derived"]);
    // The same after a matrix product: `x*x'*u*x'*v` by x in denominator layout prints
    // `… + v*x'*x'*u`. Found by cargo fuzz as "x*x'*Aiiiiiiiiiiiiiix*x'*Ax*w-x".
    assert_eq!(assert_sound("x", "x*x'*u*x'*v"), ["derived", "derived"]);
}

#[test]
fn regression_denominator_jacobian_keeps_the_identity() {
    // Not a crash but a wrong result, met while minimizing the case above: `x*x'*u` by x is
    // `x'*u*eye(n) + x*u'` in numerator layout, but its transpose prints `x'*u + u*x'` (the
    // scalar broadcast instead of times the identity), and `--check` fails (relative error
    // 0.24). The text parses back, with the same shape, so only the check sees it.
    let options = Options {
        layout: Layout::Denominator,
        ..Options::default()
    };
    let d = nabla::diff("x*x'*u", "x", &options).expect("a Jacobian");
    let report = d.check(nabla::check::CheckOptions { draws: 3, seed: 1 });
    assert!(report.passed(), "{} is off: {report}", d.text());
}

#[test]
fn regression_depth_limit_error_at_a_multibyte_transpose_renders() {
    // 1001 postfix `′` pass the depth limit; the `Limit` error's span ends one byte into the
    // three-byte `′`, and `Error::render` panicked (until ariadne rendered errors, eef0b92):
    // "end byte index 3002 is not a char boundary; it is inside '′' (bytes 3001..3004)"
    // (src/error.rs, render_caret). The same with `(x)ᵀᵀ…` (`xᵀ` would be a name: `ᵀ` is
    // alphabetic).
    let primes = format!("x{}", "′".repeat(1001));
    assert_eq!(assert_sound("x", &primes), ["Limit", "Limit"]);
    let transposes = format!("(x){}", "ᵀ".repeat(1001));
    assert_eq!(assert_sound("x", &transposes), ["Limit", "Limit"]);
}

#[test]
fn regression_length_limit_error_inside_a_multibyte_character_renders() {
    // An input over the 100,000-byte limit whose byte 100,000 is inside a character: the
    // `Limit` error's span starts there, `Error::render` hands it to ariadne as a byte range,
    // and ariadne panics (ariadne-0.6.0/src/write.rs:84): "end byte index 100000 is not a char
    // boundary; it is inside 'é' (bytes 99999..100001)". Before ariadne, src/error.rs panicked
    // the same way.
    let input = format!("x{}", "é".repeat(50_000));
    assert_eq!(assert_sound("x", &input), ["Limit", "Limit"]);
}

#[test]
fn regression_tower_of_number_powers_does_not_hang() {
    // Each `^64` of a number is folded exactly (build::pow bounds the exponent, not the
    // result): 9^(64^4) has 16 million digits and the derivation never ends. Either a result
    // or a `Limit` error is fine; a hang is not.
    assert_sound("x", "(((9^64)^64)^64)^64*x");
}

#[test]
fn regression_chain_of_definitions_that_double_does_not_hang() {
    // `p1 = p0*p0; p2 = p1*p1; …`: the expression is a DAG of 40 nodes, a tree of 2^40, which
    // the simplifier and the printers walk as a tree. It is refused with a clear limit error
    // (the expanded size is counted on the DAG) instead of running for ever.
    let mut input = String::from("p0 = a");
    for i in 0..40 {
        input += &format!("; p{} = p{i}*p{i}", i + 1);
    }
    input += "; p40";
    assert_eq!(assert_sound("a", &input), ["Limit", "Limit"]);
}

#[test]
fn regression_unsound_rewrite_on_a_product_with_an_inner_product() {
    // `x*u'*(w*x'*v)` by x: a rewrite during saturation equates e-classes of shapes R^(1 x n)
    // and R^(n x n); the analysis's assertion panics (src/lang.rs:78, pre_union, "None equated
    // values of shapes R^(1 x n) and R^(n x n): the rule is unsound", under
    // egg::rewrite::Applier::apply_matches ← simplify::saturate), and nabla::diff returns
    // Error::Internal (the command line exits 3). Found by fuzz_typed_programs as
    // "((ones()).*((ones(n)).*(-u))).^-1 - ((w)*(x)'*(w))*(diag(sigmoid(ones(n, n))))'*…".
    assert_eq!(assert_sound("x", "x*u'*(w*x'*v)"), ["derived", "derived"]);
    assert_eq!(
        assert_sound("x", "(w*x'*w)*u'*(w*x'*w)"),
        ["derived", "derived"]
    );
}

#[test]
fn regression_product_with_an_inner_product_is_right() {
    // Not a crash but a wrong result, met while minimizing the case above: `w*x'*(w*x'*v)`
    // by x prints `w*v'*(x + x*x'*w)*w'`; the right Jacobian is `w*(x'*v*w' + x'*w*v')`, and
    // `--check` fails (relative error 0.27).
    let d = nabla::diff("w*x'*(w*x'*v)", "x", &Options::default()).expect("a Jacobian");
    let report = d.check(nabla::check::CheckOptions { draws: 3, seed: 1 });
    assert!(report.passed(), "{} is off: {report}", d.text());
}

#[test]
fn regression_huge_constant_prints_text_that_parses_back() {
    // `(1e999^3)^64*x` by x folds the constant exactly: 10^191808, printed with all its
    // 191,809 digits, past the 100,000-byte input limit, so the text output does not parse
    // back ("input too large: the input is 191877 bytes"). Found by fuzz_typed_programs as
    // "w: R^n; (v + w)'*(X + 0.1)*((x)*(y)'*(x))/((1e999.^3)^64)".
    assert_sound("x", "(1e999^3)^64*x");
}

#[test]
fn regression_nested_exponentials_do_not_hang() {
    // 400 nested `exp` by x: far within the depth limit, but the derivation takes over 30 s
    // in release (200 nested: 3.7 s, 100: 0.2 s); a sample of the stack is in the tidy pass
    // after saturation (simplify::simplify_whole → simplify::tidied → simplify::tidy). Found
    // by fuzz_deep_nesting with 995 nested `exp`.
    let input = format!("{}x{}", "exp(".repeat(400), ")".repeat(400));
    assert_eq!(assert_sound("x", &input), ["derived", "derived"]);
}

#[test]
fn regression_long_elementwise_product_prints_text_that_parses_back() {
    // `x⊙x⊙…⊙x` (601 factors) by x is accepted, but its text output (20 kB) does not parse
    // back: "input too large: the expression is nested deeper than 1000 levels" (from about
    // 500 factors on: "with its definitions substituted the expression has more than 200000
    // nodes"). Found by fuzz_deep_nesting as "A: R^(n x n); x⊙x⊙…⊙x" (565 factors).
    let input = format!("x{}", "⊙x".repeat(600));
    assert_eq!(assert_sound("x", &input), ["derived", "derived"]);
}

#[test]
fn regression_chain_of_mixed_definitions_is_not_slow() {
    // 52 definitions, each used once or twice, over scalars (every dimension unifies to 1):
    // 16.8 s in release (the first 50 alone: 12 s, 45: 1.2 s), past the 10 s hang limit;
    // 0.5 s once structural equality compared each pair of shared nodes once (it compared
    // two copies of a shared expression as trees).
    // Found by fuzz_definition_chains (seed 0) on the working tree of 2026-11-25 20:10.
    let input = [
        "p0 = x",
        "p1 = A*p0",
        "p2 = p1/2",
        "p3 = p2*x",
        "p4 = p3.*p3",
        "p5 = p4.*p4",
        "p6 = p5/2",
        "p7 = p6*x",
        "p8 = tanh(p7)",
        "p9 = p8'*p8",
        "p10 = tanh(p9)",
        "p11 = sin(p10)*cos(p10)",
        "p12 = exp(p11)",
        "p13 = (p12)^64",
        "p14 = sin(p13)*cos(p13)",
        "p15 = p14*p14'",
        "p16 = exp(p15)",
        "p17 = A*p16",
        "p18 = (p17)^64",
        "p19 = tanh(p18)",
        "p20 = A*p19",
        "p21 = exp(p20)",
        "p22 = p21^2",
        "p23 = inv(p22)",
        "p24 = inv(p23)",
        "p25 = tanh(p24)",
        "p26 = p25*x",
        "p27 = tanh(p26)",
        "p28 = inv(p27)",
        "p29 = p28*x",
        "p30 = p29+p29",
        "p31 = p30.*p30",
        "p32 = (p31)^64",
        "p33 = p32*p32",
        "p34 = tanh(p33)",
        "p35 = p34*p34'",
        "p36 = p35/2",
        "p37 = (p36)^64",
        "p38 = tanh(p37)",
        "p39 = p38+p38",
        "p40 = p39/2",
        "p41 = p40*p40'",
        "p42 = p41*x",
        "p43 = p42*x",
        "p44 = inv(p43)",
        "p45 = p44*p44",
        "p46 = inv(p45)",
        "p47 = inv(p46)",
        "p48 = p47^2",
        "p49 = p48'*p48",
        "p50 = (p49)^64",
        "p51 = p50*p50'",
        "p52 = p51+1",
        "p52",
    ]
    .join("\n");
    assert_sound("x", &input);
}
