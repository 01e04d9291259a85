//! `--steps`: the derivation names its rules, ends in the same derivative as `diff`, its
//! differential matches finite differences, every formula renders in KaTeX, and its text and
//! Markdown match their snapshots.

mod common;
use common::renders;
use nabla::eval::{self, Draw};
use nabla::{Layout, Options};

const CASES: [(&str, &str, &str); 6] = [
    ("least-squares", "w", "a = X*w; b = a - y; norm2(b)^2"),
    ("quadratic-form", "x", "x'*A*x"),
    ("log-determinant", "X", "logdet(X) + tr(A*inv(X))"),
    ("tanh-layer", "x", "tanh(W*x + b)"),
    (
        "logistic",
        "w",
        "X: R^(m x n); y: R^m; sum(log(1 + exp(-y.*(X*w))))",
    ),
    ("vec-congruence", "X", "X: R^(m x n); A: R^(m x m); X'*A*X"),
];

/// The formulas of a Markdown text: the `$$...$$` blocks and the `$...$` spans.
fn formulas(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, block) in markdown.split("$$").enumerate() {
        if i % 2 == 1 {
            out.push(block.trim().to_string());
        } else {
            out.extend(block.split('$').skip(1).step_by(2).map(String::from));
        }
    }
    out
}

#[test]
fn the_derivation_ends_in_the_derivative_and_names_its_rules() {
    for (_, wrt, input) in CASES {
        let steps = nabla::derivation(input, wrt, Layout::Numerator).expect("derives");
        let direct = nabla::diff(input, wrt, &Options::default()).expect("differentiates");
        assert_eq!(steps.derivative, direct.expr, "{input}");
        let rules = nabla::rules::group("differentials");
        for (_, _, rule) in &steps.differentials {
            assert!(
                rules.iter().any(|r| &r.name == rule),
                "{input}: `{rule}` is not a rule"
            );
        }
        assert_eq!(
            steps.quantities.last().map(|(n, _)| n.as_str()),
            Some("f"),
            "{input}"
        );
    }
}

#[test]
fn the_substituted_differential_matches_finite_differences() {
    for (_, wrt, input) in CASES {
        let steps = nabla::derivation(input, wrt, Layout::Numerator).expect("derives");
        let typed = nabla::read(input).expect("reads");
        let x = typed.variable(wrt).expect("a variable").clone();
        let sizes = typed
            .dims()
            .iter()
            .enumerate()
            .map(|(i, d)| (*d, 2 + i))
            .collect();
        let mut rng = eval::rng(3);
        let mut point = eval::random_point(&typed.variables, &sizes, Draw::Signed, &mut rng);
        let direction = eval::random_value(point.dims(x.shape), x.props, Draw::Signed, &mut rng);
        point.directions.insert(x.name, direction.clone());
        let at = |t: f64| {
            let mut p = point.clone();
            let moved = &p.values[&x.name] + &direction * t;
            p.values.insert(x.name, moved);
            eval::eval(&typed.expr, &p).expect("in the domain")
        };
        let numeric = (at(1e-6) - at(-1e-6)) / 2e-6;
        let symbolic = eval::eval(&steps.differential, &point).expect("evaluates");
        assert!(
            (symbolic - &numeric).amax() <= 1e-6 * (1.0 + numeric.amax()),
            "{input}"
        );
    }
}

#[test]
fn every_formula_of_a_derivation_renders_in_katex() {
    for (_, wrt, input) in CASES {
        let markdown = nabla::derivation(input, wrt, Layout::Numerator)
            .expect("derives")
            .markdown();
        for formula in formulas(&markdown) {
            renders(&formula).unwrap_or_else(|e| panic!("{input}: {e}"));
        }
    }
}

#[test]
fn derivations_match_their_snapshots() {
    for (name, wrt, input) in CASES {
        let steps = nabla::derivation(input, wrt, Layout::Numerator).expect("derives");
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false, description => format!("d/d{wrt} {input}"), omit_expression => true}, {
            insta::assert_snapshot!(format!("steps__{name}-text"), steps.text());
            insta::assert_snapshot!(format!("steps__{name}-markdown"), steps.markdown());
        });
    }
}
