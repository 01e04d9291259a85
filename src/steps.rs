//! `--steps`: the derivation written out the way a careful student would, from the same
//! machinery that computes the answer: the intermediate quantities, the differential of each by
//! a named rule of `rules/differentials.rules`, the identification of the derivative, and the
//! algebra rules that simplify it.

use crate::differentiate::{self, Step};
use crate::error::Result;
use crate::expr::{Expr, Op};
use crate::identify::{self, Layout};
use crate::infer::{Typed, Variable};
use crate::print;
use crate::rules::Pat;
use crate::{build, simplify};
use egg::Symbol;
use rustc_hash::FxHashMap;

mod format;

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
    /// How the derivative is read off the differential, in plain text.
    pub identification: String,
    /// The same in LaTeX (a sentence with inline math).
    pub identification_latex: String,
    /// The derivative as identified, before simplification.
    pub identified: Expr,
    /// The simplifications: each algebra rule and the form it gives.
    pub simplifications: Vec<(String, Expr)>,
    /// The derivative.
    pub derivative: Expr,
    /// For a vec-form derivative, its layout: the result is ∂vec(f)/∂vec(X)ᵀ or its transpose.
    pub vec_form: Option<Layout>,
    /// The typed input, for checking the derivative.
    pub input: Typed,
    /// The layout of the derivative.
    pub layout: Layout,
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
        identification: identification(f, x, layout, false),
        identification_latex: identification(f, x, layout, true),
        identified,
        simplifications,
        derivative,
        vec_form: identify::is_vec_form(f.shape, x.shape).then_some(layout),
        input: typed.clone(),
        layout,
    })
}

/// Names for the quantities the rules were applied to: the input's own definitions keep their
/// names, the whole expression is `f`, the rest are t1, t2, … innermost first.
fn name_quantities(typed: &Typed, steps: &[Step]) -> FxHashMap<Expr, String> {
    let mut names: FxHashMap<Expr, String> = FxHashMap::default();
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
fn in_terms_of(names: &FxHashMap<Expr, String>, e: &Expr, whole: bool) -> Expr {
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
fn named_differential(names: &FxHashMap<Expr, String>, step: &Step, x: &Variable) -> Expr {
    fn go(pat: &Pat, step: &Step, names: &FxHashMap<Expr, String>, x: &Variable) -> Expr {
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

/// How the derivative is read off the differential: a sentence in plain text, or in LaTeX
/// with inline math.
fn identification(f: &Expr, x: &Variable, layout: Layout, latex: bool) -> String {
    let n = if latex {
        print::latex_name(x.name.as_str())
    } else {
        x.name.to_string()
    };
    // The math of the sentence: plain, or LaTeX between dollars.
    let math = |plain: String, tex: String| if latex { format!("${tex}$") } else { plain };
    let (d, dn) = (
        math("d".into(), "\\mathrm{d}".into()),
        math(format!("d{n}"), format!("\\mathrm{{d}}{n}")),
    );
    let kind = if f.shape.is_scalar() {
        format!(
            "{} by reverse accumulation of adjoints over {}; {} is the gradient, shaped like {}",
            math(
                format!("df = tr(Gᵀ d{n})"),
                format!(
                    "\\mathrm{{d}}f = \\operatorname{{tr}}\\left(G^\\top \\mathrm{{d}}{n}\\right)"
                )
            ),
            math("df".into(), "\\mathrm{d}f".into()),
            math("G".into(), "G".into()),
            math(n.clone(), n.clone()),
        )
    } else if x.shape.is_scalar() {
        format!(
            "{} with {dn} a scalar, so {} is {d}F at {}",
            math(
                format!("dF = D d{n}"),
                format!("\\mathrm{{d}}F = D \\, \\mathrm{{d}}{n}")
            ),
            math("D".into(), "D".into()),
            math(format!("d{n} = 1"), format!("\\mathrm{{d}}{n} = 1")),
        )
    } else if crate::identify::is_vec_form(f.shape, x.shape) {
        format!(
            "{}, read off term by term with {} and {} (vec stacks the columns)",
            math(
                format!("vec(dF) = J vec(d{n})"),
                format!(
                    "\\operatorname{{vec}}(\\mathrm{{d}}F) = J \\operatorname{{vec}}(\\mathrm{{d}}{n})"
                )
            ),
            math(
                format!("vec(A d{n} B) = (Bᵀ ⊗ A) vec(d{n})"),
                format!(
                    "\\operatorname{{vec}}(A \\, \\mathrm{{d}}{n} \\, B) = (B^\\top \\otimes A) \\operatorname{{vec}}(\\mathrm{{d}}{n})"
                )
            ),
            math(
                format!("vec(d{n}ᵀ) = K vec(d{n})"),
                format!(
                    "\\operatorname{{vec}}(\\mathrm{{d}}{n}^\\top) = K \\operatorname{{vec}}(\\mathrm{{d}}{n})"
                )
            ),
        )
    } else {
        format!(
            "{}, read off term by term (forward)",
            math(
                format!("dF = J d{n}"),
                format!("\\mathrm{{d}}F = J \\, \\mathrm{{d}}{n}")
            )
        )
    };
    let layout = match layout {
        Layout::Numerator if f.shape.is_scalar() && !x.shape.is_scalar() => {
            format!(
                "; the numerator layout is {}",
                math("Gᵀ".into(), "G^\\top".into())
            )
        }
        Layout::Denominator if !f.shape.is_scalar() && !x.shape.is_scalar() => {
            format!(
                "; the denominator layout is {}",
                math("Jᵀ".into(), "J^\\top".into())
            )
        }
        _ => String::new(),
    };
    format!("{kind}{layout}")
}
