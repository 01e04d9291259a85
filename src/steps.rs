//! `--steps`: the derivation written out the way a careful student would, from the same
//! machinery that computes the answer: the intermediate quantities, the differential of each by
//! a named rule of `rules/differentials.rules`, the identification of the derivative, and the
//! algebra rules that simplify it.

use crate::differentiate::{self, Step};
use crate::error::Result;
use crate::expr::{Expr, Op};
use crate::identify::{self, Layout};
use crate::infer::{Typed, Variable};
use crate::print::{self, Format};
use crate::rules::Pat;
use crate::{build, simplify};
use egg::Symbol;
use std::collections::HashMap;
use std::fmt::Write;

/// A derivation, step by step.
#[derive(Clone, Debug)]
pub struct Derivation {
    /// The variable.
    pub wrt: Symbol,
    /// Named intermediate quantities, innermost first; the last is `f`.
    pub quantities: Vec<(String, Expr)>,
    /// The differential of each quantity in terms of the others', with the rule's name.
    pub differentials: Vec<(String, Expr, String)>,
    /// The whole differential, in terms of the variable's differential.
    pub differential: Expr,
    /// How the derivative is read off the differential.
    pub identification: String,
    /// The derivative as identified, before simplification.
    pub identified: Expr,
    /// The simplifications: each algebra rule and the form it gives.
    pub simplifications: Vec<(String, Expr)>,
    /// The derivative.
    pub derivative: Expr,
    /// For a vec-form derivative, its layout: the result is ∂vec(f)/∂vec(X)ᵀ or its transpose.
    pub vec_form: Option<Layout>,
}

/// The derivation of the derivative of `typed` by `x`.
pub fn derivation(typed: &Typed, x: &Variable, layout: Layout) -> Result<Derivation> {
    let f = &typed.expr;
    let (differential, steps) = differentiate::differential_with_steps(f, x.name)?;
    let names = name_quantities(typed, &steps);
    let quantities = (steps.iter())
        .filter_map(|s| Some((names.get(&s.node)?.clone(), s)))
        .map(|(name, s)| (name, in_terms_of(&names, &s.node, false)))
        .collect();
    let differentials = (steps.iter())
        .filter_map(|s| Some((names.get(&s.node)?.clone(), s)))
        .map(|(name, s)| (name, named_differential(&names, s, x), s.rule.name.clone()))
        .collect();
    let identified = identify::restrict(
        identify::identify(&differential, f.shape, x.shape, layout)?,
        f.shape,
        x,
    );
    let (derivative, simplifications) =
        simplify::simplify_explained(&identified, simplify::Limits::default());
    Ok(Derivation {
        wrt: x.name,
        quantities,
        differentials,
        differential,
        identification: identification(f, x, layout),
        identified,
        simplifications,
        derivative,
        vec_form: identify::is_vec_form(f.shape, x.shape).then_some(layout),
    })
}

/// Names for the quantities the rules were applied to: the input's own definitions keep their
/// names, the whole expression is `f`, the rest are t1, t2, … innermost first.
fn name_quantities(typed: &Typed, steps: &[Step]) -> HashMap<Expr, String> {
    let mut names: HashMap<Expr, String> = HashMap::new();
    for (name, value) in &typed.definitions {
        names.insert(value.clone(), name.clone());
    }
    let mut next = 1;
    for step in steps {
        if step.node == typed.expr {
            names.insert(step.node.clone(), "f".into());
        } else if !names.contains_key(&step.node) {
            names.insert(step.node.clone(), format!("t{next}"));
            next += 1;
        }
    }
    names.retain(|e, _| steps.iter().any(|s| s.node == *e));
    names
}

/// `e` with every named quantity inside it shown by its name (`e` itself too, when `whole`).
fn in_terms_of(names: &HashMap<Expr, String>, e: &Expr, whole: bool) -> Expr {
    if whole && let Some(name) = names.get(e) {
        return Expr::leaf(
            Op::Var(Symbol::from(name.as_str()), Default::default()),
            e.shape,
        );
    }
    if e.args.is_empty() {
        return e.clone();
    }
    let args = e.args.iter().map(|a| in_terms_of(names, a, true)).collect();
    Expr::node(e.op.clone(), args, e.shape)
}

/// The rule's right side for this step, with named quantities and their differentials `dt1`.
fn named_differential(names: &HashMap<Expr, String>, step: &Step, x: &Variable) -> Expr {
    fn go(pat: &Pat, step: &Step, names: &HashMap<Expr, String>, x: &Variable) -> Expr {
        match pat {
            Pat::Var(v) => {
                let bound = &step.bindings.iter().find(|(b, _)| b == v).expect("bound").1;
                in_terms_of(names, bound, true)
            }
            Pat::D(inner) => {
                let inner = differentiate::instantiate(inner, &step.bindings);
                match names.get(&inner) {
                    Some(name) => Expr::leaf(Op::Dvar(Symbol::from(name.as_str())), inner.shape),
                    None if inner.depends_on(x.name) => Expr::leaf(Op::Dvar(x.name), inner.shape),
                    None => Expr::zero(inner.shape),
                }
            }
            Pat::Node(Op::Num(n), _) => Expr::num(n.clone()),
            Pat::Node(op, args) => build::apply(
                op.clone(),
                args.iter().map(|a| go(a, step, names, x)).collect(),
            ),
        }
    }
    go(&step.rule.rhs, step, names, x)
}

fn identification(f: &Expr, x: &Variable, layout: Layout) -> String {
    let n = x.name;
    let kind = if f.shape.is_scalar() {
        format!(
            "df = tr(Gᵀ d{n}) by reverse accumulation of adjoints over df; G is the gradient, shaped like {n}"
        )
    } else if x.shape.is_scalar() {
        format!("dF = D d{n} with d{n} a scalar, so D is dF at d{n} = 1")
    } else if crate::identify::is_vec_form(f.shape, x.shape) {
        format!(
            "vec(dF) = J vec(d{n}), read off term by term with vec(A d{n} B) = (Bᵀ ⊗ A) vec(d{n}) and vec(d{n}ᵀ) = K vec(d{n}) (vec stacks the columns)"
        )
    } else {
        format!("dF = J d{n}, read off term by term (forward)")
    };
    let layout = match layout {
        Layout::Numerator if f.shape.is_scalar() && !x.shape.is_scalar() => {
            "; the numerator layout is Gᵀ"
        }
        Layout::Denominator if !f.shape.is_scalar() && !x.shape.is_scalar() => {
            "; the denominator layout is Jᵀ"
        }
        _ => "",
    };
    format!("{kind}{layout}")
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
        let x = print::latex_name(self.wrt.as_str());
        let left = match self.vec_form {
            None => format!("\\frac{{\\partial f}}{{\\partial {x}}}"),
            Some(Layout::Numerator) => format!(
                "\\frac{{\\partial \\operatorname{{vec}}(f)}}{{\\partial \\operatorname{{vec}}({x})^\\top}}"
            ),
            Some(Layout::Denominator) => format!(
                "\\frac{{\\partial \\operatorname{{vec}}(f)^\\top}}{{\\partial \\operatorname{{vec}}({x})}}"
            ),
        };
        let _ = writeln!(out, "**Result**\n\n$${left} = {}$$", tex(&self.derivative));
        out
    }

    /// The derivation as plain text for the terminal.
    pub fn text(&self) -> String {
        let show = |e: &Expr| print::print(e, Format::Text);
        let mut out = String::from("Intermediate quantities:\n");
        for (name, value) in &self.quantities {
            let _ = writeln!(out, "  {name} = {}", show(value));
        }
        out.push_str("Differentials (rules/differentials.rules):\n");
        let width = self
            .differentials
            .iter()
            .map(|(n, v, _)| n.len() + show(v).len())
            .max()
            .unwrap_or(0);
        for (name, value, rule) in &self.differentials {
            let line = format!("d{name} = {}", show(value));
            let _ = writeln!(out, "  {line:<w$}   by {rule}", w = width + 4);
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
        let x = self.wrt;
        let left = match self.vec_form {
            None => format!("df/d{x}"),
            Some(Layout::Numerator) => format!("d vec(f)/d vec({x})'"),
            Some(Layout::Denominator) => format!("d vec(f)'/d vec({x})"),
        };
        let _ = writeln!(out, "Result:\n  {left} = {}", show(&self.derivative));
        out
    }
}
