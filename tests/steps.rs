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

/// The formulas of a LaTeX fragment: the `\[...\]` blocks and the `$...$` spans between them.
fn latex_formulas(latex: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, part) in latex.split("\\[").enumerate() {
        let (display, text) = match part.split_once("\\]") {
            Some((display, text)) if i > 0 => (Some(display), text),
            _ => (None, part),
        };
        out.extend(display.map(|d| d.trim().to_string()));
        out.extend(text.split('$').skip(1).step_by(2).map(String::from));
    }
    out
}

#[test]
fn every_formula_of_a_latex_derivation_renders_in_katex() {
    for (_, wrt, input) in CASES {
        let latex = nabla::derivation(input, wrt, Layout::Numerator)
            .expect("derives")
            .latex();
        assert!(
            !latex.contains("**") && !latex.contains("$$"),
            "{input}: not Markdown"
        );
        let formulas = latex_formulas(&latex);
        // Quantities, differentials, substitution, identification (with the math of its
        // sentence), result.
        assert!(formulas.len() >= 6, "{input}: {formulas:?}");
        for formula in formulas {
            renders(&formula).unwrap_or_else(|e| panic!("{input}: {e}\n{formula}"));
        }
    }
}

#[test]
fn the_json_derivation_holds_every_step_in_order() {
    for (_, wrt, input) in CASES {
        let steps = nabla::derivation(input, wrt, Layout::Numerator).expect("derives");
        let json = steps.json();
        let array = json.as_array().expect("an array");
        let expected =
            steps.quantities.len() + steps.differentials.len() + steps.simplifications.len() + 3;
        assert_eq!(array.len(), expected, "{input}");
        let last = array.last().expect("a result");
        assert_eq!(last["step"], "result");
        assert_eq!(
            last["text"].as_str(),
            Some(nabla::print::print(&steps.derivative, nabla::Format::Text).as_str())
        );
        for step in array {
            for key in ["text", "unicode", "latex"] {
                assert!(step[key].is_string(), "{input}: {step}");
            }
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
            insta::assert_snapshot!(format!("steps__{name}-latex"), steps.latex());
            insta::assert_snapshot!(format!("steps__{name}-unicode"), steps.unicode());
        });
    }
}
