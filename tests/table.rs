//! The classic table (rules/table.txt): every row must print its textbook form, agree with
//! central finite differences, print text that parses back to the same expression, and match
//! its snapshots in text, unicode, LaTeX and NumPy.

use nabla::Format;
use nabla::check::CheckOptions;

mod common;

use common::rows;

#[test]
fn every_row_prints_its_textbook_form() {
    let mut wrong = Vec::new();
    for row in rows() {
        match row.diff(nabla::Layout::Numerator) {
            Ok(d) if d.text() == row.expected => {}
            Ok(d) => wrong.push(format!(
                "{}: printed {} but the table says {}",
                row.name,
                d.text(),
                row.expected
            )),
            Err(e) => wrong.push(format!("{}: {}", row.name, e.render(&row.input))),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} rows differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn every_row_agrees_with_finite_differences() {
    let mut wrong = Vec::new();
    for row in rows() {
        for layout in [nabla::Layout::Numerator, nabla::Layout::Denominator] {
            let d = row.diff(layout).expect("the row differentiates");
            let report = d.check(CheckOptions { draws: 4, seed: 7 });
            if !report.passed() {
                wrong.push(format!(
                    "{} ({layout:?}): {} -> {report}",
                    row.name,
                    d.text()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_row_prints_text_that_parses_back() {
    for row in rows() {
        let d = row
            .diff(nabla::Layout::Numerator)
            .expect("the row differentiates");
        let again = format!("{}{}", d.input.declarations(), d.text());
        let parsed =
            nabla::read(&again).unwrap_or_else(|e| panic!("{}: {}", row.name, e.render(&again)));
        assert_eq!(
            parsed.expr, d.expr,
            "{}: `{again}` parses to another expression",
            row.name
        );
    }
}

#[test]
fn every_row_matches_its_snapshots() {
    for row in rows() {
        let d = row
            .diff(nabla::Layout::Numerator)
            .expect("the row differentiates");
        let denominator = row
            .diff(nabla::Layout::Denominator)
            .expect("the row differentiates");
        let shown = format!(
            "text:        {}\nunicode:     {}\nlatex:       {}\nnumpy:       {}\ntorch:       {}\ndenominator: {}\n",
            d.format(Format::Text),
            d.format(Format::Unicode),
            d.format(Format::Latex),
            d.format(Format::Numpy),
            d.format(Format::Torch),
            denominator.format(Format::Text),
        );
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            description => format!("d/d{} {}", row.wrt, row.input),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("table__{}", row.name), shown);
        });
    }
}
