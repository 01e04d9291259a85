//! `nabla rules` and `--format markdown`: snapshots of the reference table, and every
//! identity and equation they print renders in KaTeX.

mod common;
use common::renders;
use nabla::reference::{self, TableFormat};
use nabla::rules;

#[test]
fn every_rule_renders_in_katex() {
    let failures: Vec<String> = (rules::load_all().expect("the rules load").iter())
        .filter_map(|r| {
            let lhs = reference::pattern(&r.lhs, nabla::Format::Latex);
            let rhs = reference::pattern(&r.rhs, nabla::Format::Latex);
            renders(&format!("{lhs} = {rhs}"))
                .err()
                .map(|e| format!("{}: {e}", r.name))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_reference_tables_match_their_snapshots() {
    for (name, format) in [
        ("text", TableFormat::Text),
        ("markdown", TableFormat::Markdown),
        ("latex", TableFormat::Latex),
    ] {
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!(format!("rules__{name}"), reference::rules_table(format));
        });
    }
}

#[test]
fn the_markdown_block_renders_and_names_the_shapes() {
    for (input, wrt, second) in [
        ("x'*A*x", "x", None),
        ("x'*A*x", "x", Some("x")),
        ("x: R^n; y: R^m; x'*A*y", "x", Some("y")),
    ] {
        let options = nabla::Options {
            second: second.map(String::from),
            ..Default::default()
        };
        let d = nabla::diff(input, wrt, &options).expect("differentiates");
        let block = d.markdown();
        let equation = block.split("$$").nth(1).expect("a display equation");
        renders(equation.trim()).unwrap_or_else(|e| panic!("{e}"));
        assert!(block.contains("\\in \\mathbb{R}^{n}"), "{block}");
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false, description => input, omit_expression => true}, {
            insta::assert_snapshot!(format!("markdown__{wrt}{}", second.unwrap_or("")), block);
        });
    }
}

#[test]
fn a_vec_form_markdown_block_states_its_layout_and_renders() {
    for (input, second, layout, name) in [
        ("A*X*B", None, nabla::Layout::Numerator, "vec-sandwich"),
        (
            "X: R^(m x n); A: R^(m x m); tr(X'*A*X)",
            Some("X"),
            nabla::Layout::Denominator,
            "vec-hessian",
        ),
    ] {
        let options = nabla::Options {
            second: second.map(String::from),
            layout,
        };
        let d = nabla::diff(input, "X", &options).expect("differentiates");
        let block = d.markdown();
        let equation = block.split("$$").nth(1).expect("a display equation");
        renders(equation.trim()).unwrap_or_else(|e| panic!("{e}"));
        let note = block
            .split("In vec form")
            .nth(1)
            .expect("the vec-form note");
        for (i, span) in note.split('$').enumerate() {
            if i % 2 == 1 {
                renders(span).unwrap_or_else(|e| panic!("{e}"));
            }
        }
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false, description => input, omit_expression => true}, {
            insta::assert_snapshot!(format!("markdown__{name}"), block);
        });
    }
}
