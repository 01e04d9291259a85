//! A derivation in every format `--steps` writes: plain text and unicode for the terminal,
//! Markdown with LaTeX and a LaTeX fragment for notes, JSON (an array of steps) for programs.

use super::Derivation;
use crate::expr::Expr;
use crate::identify::Layout;
use crate::print::{self, Format};
use std::fmt::Write;

/// One step of a derivation as data: what kind of step, the quantity it defines (if any), the
/// rule it applies (if any), and its formula in text, unicode and LaTeX.
struct Step<'d> {
    kind: &'static str,
    name: Option<String>,
    rule: Option<&'d str>,
    formula: &'d Expr,
}

impl Derivation {
    /// The derivation in Markdown with LaTeX, for notes.
    pub fn markdown(&self) -> String {
        let tex = |e: &Expr| print::print(e, Format::Latex);
        let mut out = String::new();
        let _ = writeln!(out, "**Intermediate quantities**\n");
        for (name, value) in &self.quantities {
            let _ = writeln!(out, "- ${} = {}$", print::latex_name(name), tex(value));
        }
        let _ = writeln!(
            out,
            "\n**Differentials** (rules of `rules/differentials.rules`)\n"
        );
        for (name, value, rule) in &self.differentials {
            let _ = writeln!(
                out,
                "- $\\mathrm{{d}}{} = {}$ — `{rule}`",
                print::latex_name(name),
                tex(value)
            );
        }
        let _ = writeln!(
            out,
            "\n**Substituting**\n\n$$\\mathrm{{d}}f = {}$$\n",
            tex(&self.differential)
        );
        let _ = writeln!(
            out,
            "**Identification**: {}\n\n$$\n{}\n$$\n",
            self.identification,
            tex(&self.identified)
        );
        if !self.simplifications.is_empty() {
            let _ = writeln!(out, "**Simplification** (rules of `rules/algebra.rules`)\n");
            for (rule, form) in &self.simplifications {
                let _ = writeln!(out, "- `{rule}`: ${}$", tex(form));
            }
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "**Result**\n\n$${} = {}$$",
            self.result_latex(),
            tex(&self.derivative)
        );
        out
    }

    /// The derivation as a LaTeX fragment for notes: a `\paragraph` per stage, the formulas
    /// in display math (`aligned` where there are several), rule names in `\texttt`.
    pub fn latex(&self) -> String {
        let tex = |e: &Expr| print::print(e, Format::Latex);
        let mut out = String::from("\\paragraph{Intermediate quantities}\n");
        let rows: Vec<String> = (self.quantities.iter())
            .map(|(name, value)| format!("{} &= {}", print::latex_name(name), tex(value)))
            .collect();
        out.push_str(&aligned(&rows));
        out.push_str(
            "\\paragraph{Differentials} by the rules of \\texttt{rules/differentials.rules}:\n",
        );
        let rows: Vec<String> = (self.differentials.iter())
            .map(|(name, value, rule)| {
                format!(
                    "\\mathrm{{d}}{} &= {} && \\text{{by \\texttt{{{}}}}}",
                    print::latex_name(name),
                    tex(value),
                    latex_text(rule)
                )
            })
            .collect();
        out.push_str(&aligned(&rows));
        let _ = writeln!(
            out,
            "\\paragraph{{Substituting}}\n\\[\n\\mathrm{{d}}f = {}\n\\]",
            tex(&self.differential)
        );
        let _ = writeln!(
            out,
            "\\paragraph{{Identification}} {}:\n\\[\n{}\n\\]",
            self.identification_latex,
            tex(&self.identified)
        );
        if !self.simplifications.is_empty() {
            out.push_str(
                "\\paragraph{Simplification} by the rules of \\texttt{rules/algebra.rules}:\n",
            );
            let rows: Vec<String> = (self.simplifications.iter())
                .map(|(rule, form)| {
                    format!(
                        "&= {} && \\text{{\\texttt{{{}}}}}",
                        tex(form),
                        latex_text(rule)
                    )
                })
                .collect();
            out.push_str(&aligned(&rows));
        }
        let _ = writeln!(
            out,
            "\\paragraph{{Result}}\n\\[\n{} = {}\n\\]",
            self.result_latex(),
            tex(&self.derivative)
        );
        out
    }

    /// The derivation as plain text for the terminal, in the input language.
    pub fn text(&self) -> String {
        self.plain(Format::Text)
    }

    /// The derivation as plain text with the formulas in mathematical unicode.
    pub fn unicode(&self) -> String {
        self.plain(Format::Unicode)
    }

    fn plain(&self, format: Format) -> String {
        let show = |e: &Expr| print::print(e, format);
        let mut out = String::from("Intermediate quantities:\n");
        for (name, value) in &self.quantities {
            let _ = writeln!(out, "  {name} = {}", show(value));
        }
        out.push_str("Differentials (rules/differentials.rules):\n");
        let lines: Vec<(String, &String)> = (self.differentials.iter())
            .map(|(name, value, rule)| (format!("d{name} = {}", show(value)), rule))
            .collect();
        let width = lines
            .iter()
            .map(|(line, _)| line.chars().count())
            .max()
            .unwrap_or(0);
        for (line, rule) in lines {
            let pad = " ".repeat(width - line.chars().count());
            let _ = writeln!(out, "  {line}{pad}   by {rule}");
        }
        let _ = writeln!(out, "Substituting:\n  df = {}", show(&self.differential));
        let _ = writeln!(
            out,
            "Identification: {}:\n  {}",
            self.identification,
            show(&self.identified)
        );
        if !self.simplifications.is_empty() {
            out.push_str("Simplification (rules/algebra.rules):\n");
            for (rule, form) in &self.simplifications {
                let _ = writeln!(out, "  {rule}: {}", show(form));
            }
        }
        let _ = writeln!(
            out,
            "Result:\n  {} = {}",
            self.result_text(),
            show(&self.derivative)
        );
        out
    }

    /// The derivation as data: a JSON array of steps in order, each an object with `step`
    /// (`quantity`, `differential`, `substitution`, `identification`, `simplification`,
    /// `result`), `name` (the quantity it defines, or null), `rule` (or null), `description`
    /// (the identification's sentence, or null) and the formula as `text`, `unicode` and
    /// `latex`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::Value::Array(self.steps().iter().map(|s| self.step_json(s)).collect())
    }

    fn steps(&self) -> Vec<Step<'_>> {
        let quantities = (self.quantities.iter()).map(|(name, value)| Step {
            kind: "quantity",
            name: Some(name.clone()),
            rule: None,
            formula: value,
        });
        let differentials = (self.differentials.iter()).map(|(name, value, rule)| Step {
            kind: "differential",
            name: Some(format!("d{name}")),
            rule: Some(rule),
            formula: value,
        });
        let simplifications = (self.simplifications.iter()).map(|(rule, form)| Step {
            kind: "simplification",
            name: None,
            rule: Some(rule),
            formula: form,
        });
        let step = |kind, name: Option<String>, formula| Step {
            kind,
            name,
            rule: None,
            formula,
        };
        quantities
            .chain(differentials)
            .chain([step("substitution", Some("df".into()), &self.differential)])
            .chain([step("identification", None, &self.identified)])
            .chain(simplifications)
            .chain([step("result", Some(self.result_text()), &self.derivative)])
            .collect()
    }

    fn step_json(&self, step: &Step<'_>) -> serde_json::Value {
        let description = (step.kind == "identification").then(|| {
            serde_json::json!({
                "text": self.identification,
                "latex": self.identification_latex,
            })
        });
        serde_json::json!({
            "step": step.kind,
            "name": step.name,
            "rule": step.rule,
            "description": description,
            "text": print::print(step.formula, Format::Text),
            "unicode": print::print(step.formula, Format::Unicode),
            "latex": print::print(step.formula, Format::Latex),
        })
    }

    /// The left side of the result in plain text: df/dx, or for a vec form d vec(f)/d vec(X)'.
    fn result_text(&self) -> String {
        let x = self.wrt;
        match self.vec_form {
            None => format!("df/d{x}"),
            Some(Layout::Numerator) => format!("d vec(f)/d vec({x})'"),
            Some(Layout::Denominator) => format!("d vec(f)'/d vec({x})"),
        }
    }

    /// The left side of the result in LaTeX.
    fn result_latex(&self) -> String {
        let x = print::latex_name(self.wrt.as_str());
        match self.vec_form {
            None => format!("\\frac{{\\partial f}}{{\\partial {x}}}"),
            Some(Layout::Numerator) => format!(
                "\\frac{{\\partial \\operatorname{{vec}}(f)}}{{\\partial \\operatorname{{vec}}({x})^\\top}}"
            ),
            Some(Layout::Denominator) => format!(
                "\\frac{{\\partial \\operatorname{{vec}}(f)^\\top}}{{\\partial \\operatorname{{vec}}({x})}}"
            ),
        }
    }
}

/// Display math holding `rows` as an `aligned` block, one row a line.
fn aligned(rows: &[String]) -> String {
    format!(
        "\\[\n\\begin{{aligned}}\n{}\n\\end{{aligned}}\n\\]\n",
        rows.join(" \\\\\n")
    )
}

/// Text for LaTeX's text mode: its special characters escaped.
fn latex_text(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '_' | '&' | '%' | '#' | '$' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}
