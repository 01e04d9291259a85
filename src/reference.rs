//! The identity table of `rules/` as a reference a person can paste into notes.

use crate::expr::{Expr, Op, Props};
use crate::print::{self, Format};
use crate::rules::{self, Pat, Rule};
use crate::shape::{Dim, Shape};
use egg::Symbol;
use std::fmt::Write;

/// The format of the reference table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFormat {
    /// The rule files' own syntax, one rule per line under its group.
    Text,
    /// A Markdown table per group with the identities in LaTeX.
    Markdown,
    /// A LaTeX `longtable`.
    Latex,
}

/// Every rule of every group, in the chosen format.
pub fn rules_table(format: TableFormat) -> String {
    let mut out = String::new();
    let all = rules::load_all().expect("the built-in rules load");
    if format == TableFormat::Latex {
        out.push_str("\\begin{longtable}{lll}\n");
    }
    for (group, _) in rules::RULE_FILES {
        let rows: Vec<&Rule> = all.iter().filter(|r| r.group == *group).collect();
        match format {
            TableFormat::Text => {
                let _ = writeln!(out, "# {group}");
                for r in rows {
                    let _ = writeln!(
                        out,
                        "{}: {} => {}{}",
                        r.name,
                        r.text.0,
                        r.text.1,
                        conditions(r, Format::Text)
                    );
                }
            }
            TableFormat::Markdown => {
                let _ = writeln!(
                    out,
                    "## {group}\n\n| rule | identity | condition |\n|---|---|---|"
                );
                for r in rows {
                    let (lhs, rhs) = (
                        pattern(&r.lhs, Format::Latex),
                        pattern(&r.rhs, Format::Latex),
                    );
                    let _ = writeln!(
                        out,
                        "| {} | ${lhs} = {rhs}$ | {} |",
                        r.name,
                        conditions(r, Format::Latex).trim()
                    );
                }
            }
            TableFormat::Latex => {
                let _ = writeln!(out, "\\multicolumn{{3}}{{l}}{{\\textbf{{{group}}}}} \\\\");
                for r in rows {
                    let (lhs, rhs) = (
                        pattern(&r.lhs, Format::Latex),
                        pattern(&r.rhs, Format::Latex),
                    );
                    let cond = conditions(r, Format::Latex);
                    let _ = writeln!(
                        out,
                        "\\texttt{{{}}} & ${lhs} = {rhs}$ & {} \\\\",
                        r.name,
                        cond.trim()
                    );
                }
            }
        }
        out.push('\n');
    }
    if format == TableFormat::Latex {
        out.push_str("\\end{longtable}\n");
    }
    out
}

fn conditions(rule: &Rule, format: Format) -> String {
    if rule.conditions.is_empty() {
        return String::new();
    }
    let each: Vec<String> = (rule.conditions.iter())
        .map(|c| {
            let vars: Vec<String> = c
                .vars
                .iter()
                .map(|v| {
                    if format == Format::Text {
                        format!("?{v}")
                    } else {
                        format!("${v}$")
                    }
                })
                .collect();
            format!("{}({})", c.predicate.name(), vars.join(", "))
        })
        .collect();
    if format == Format::Text {
        format!(" if {}", each.join(", "))
    } else {
        format!(" {}", each.join(", "))
    }
}

/// A pattern printed like an expression: `?A` as `A`, `d(?U)` as `dU` (`\mathrm{d}U`).
pub fn pattern(pat: &Pat, format: Format) -> String {
    let mut differentials = Vec::new();
    let e = to_expr(pat, format, &mut differentials);
    let mut text = print::print(&e, format);
    for (i, d) in differentials.iter().enumerate().rev() {
        text = text.replace(&placeholder(i), d);
    }
    text
}

/// A one-character stand-in name (from the private use area) that every printer prints as is.
fn placeholder(i: usize) -> String {
    char::from_u32(0xE000 + i as u32).map_or_else(String::new, String::from)
}

/// The expression a pattern shows; each d(...) becomes a placeholder name, printed separately.
fn to_expr(pat: &Pat, format: Format, differentials: &mut Vec<String>) -> Expr {
    match pat {
        Pat::Var(v) => Expr::leaf(
            Op::Var(*v, Props::default()),
            conventional_shape(v.as_str()),
        ),
        Pat::D(inner) => {
            let inner = to_expr(inner, format, differentials);
            let shown = print::print(&inner, format);
            let atomic = inner.args.is_empty();
            differentials.push(match (format, atomic) {
                (Format::Latex, true) => format!("\\mathrm{{d}}{shown}"),
                (Format::Latex, false) => format!("\\mathrm{{d}}\\left({shown}\\right)"),
                (_, true) => format!("d{shown}"),
                (_, false) => format!("d({shown})"),
            });
            Expr::leaf(
                Op::Var(
                    Symbol::from(placeholder(differentials.len() - 1)),
                    Props::default(),
                ),
                inner.shape,
            )
        }
        Pat::Node(Op::Num(n), _) => Expr::num(n.clone()),
        Pat::Node(op, args) => {
            let args: Vec<Expr> = args
                .iter()
                .map(|a| to_expr(a, format, differentials))
                .collect();
            let shape = args.first().map_or(Shape::SCALAR, |a| a.shape);
            Expr::node(op.clone(), args, shape)
        }
    }
}

/// The shape a name has by the language's default convention.
fn conventional_shape(name: &str) -> Shape {
    let n = Dim::Sym(Symbol::from("n"));
    match name.chars().next() {
        Some(c) if c.is_uppercase() => Shape::new(n, n),
        Some('a'..='g') => Shape::SCALAR,
        _ => Shape::column(n),
    }
}
