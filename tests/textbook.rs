//! The textbook set (rules/textbook.txt): problems from statistics, deep learning, The Matrix
//! Cookbook and Magnus & Neudecker, each with the form its source prints. Every textbook form is
//! checked against finite differences (so the set itself is right), every derivative nabla
//! prints is checked the same way, and the test counts how often nabla prints the textbook form
//! or something no larger — operators, calls and transposes counted — failing if fewer rows do
//! than [`AT_OR_UNDER`], so that no change makes the forms worse unnoticed. `--nocapture` lists
//! the rows that miss, with both forms.

use nabla::check::{self, CheckOptions};
use nabla::{Layout, Options};

/// Rows whose printed form is at or under the textbook form's size today.
const AT_OR_UNDER: usize = 413;

struct Row {
    name: String,
    wrt: String,
    input: String,
    textbook: String,
}

fn rows() -> Vec<Row> {
    (include_str!("../rules/textbook.txt").lines())
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('|').map(str::trim).collect();
            assert_eq!(f.len(), 4, "a row has four fields: {l}");
            Row {
                name: f[0].into(),
                wrt: f[1].into(),
                input: f[2].into(),
                textbook: f[3].into(),
            }
        })
        .collect()
}

/// Operators, calls and transposes in a printed form (`.*` is one operator; definitions count
/// what they define).
fn size(text: &str) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let operators = chars.iter().filter(|c| "+-*/^'".contains(**c)).count();
    let calls = (1..chars.len())
        .filter(|&i| chars[i] == '(' && chars[i - 1].is_ascii_alphanumeric())
        .count();
    operators + calls
}

#[test]
fn textbook_forms_are_right_and_nabla_prints_them_or_smaller() {
    let options = CheckOptions { draws: 3, seed: 7 };
    let (mut at_or_under, mut misses, mut wrong) = (0, Vec::new(), Vec::new());
    let rows = rows();
    for row in &rows {
        let d = nabla::diff(&row.input, &row.wrt, &Options::default())
            .unwrap_or_else(|e| panic!("{}: {}", row.name, e.render(&row.input)));
        let textbook = format!("{}{}", d.input.declarations(), row.textbook);
        let typed = nabla::read(&textbook)
            .unwrap_or_else(|e| panic!("{}: {}", row.name, e.render(&textbook)));
        let x = egg::Symbol::from(row.wrt.as_str());
        let report = check::check(&d.input, x, &typed.expr, Layout::Numerator, options);
        if !report.passed() {
            wrong.push(format!(
                "{}: the textbook form {} fails: {report}",
                row.name, row.textbook
            ));
        }
        let report = d.check(options);
        if !report.passed() {
            wrong.push(format!(
                "{}: nabla's {} fails: {report}",
                row.name,
                d.text()
            ));
        }
        let printed = d.text();
        if size(&printed) <= size(&row.textbook) {
            at_or_under += 1;
        } else {
            misses.push(format!(
                "{}: printed {printed} ({}) where the textbook prints {} ({})",
                row.name,
                size(&printed),
                row.textbook,
                size(&row.textbook)
            ));
        }
    }
    println!(
        "{at_or_under} of {} rows at or under the textbook form's size",
        rows.len()
    );
    for miss in &misses {
        println!("  {miss}");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(
        at_or_under >= AT_OR_UNDER,
        "{at_or_under} rows at or under the textbook size, fewer than {AT_OR_UNDER}:\n{}",
        misses.join("\n")
    );
}
