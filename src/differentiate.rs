//! Differentiation: the differential dF of an expression, linear in dX, by the rules of
//! `rules/differentials.rules` applied top-down, first match wins.

use crate::build;
use crate::error::{Error, Result};
use crate::expr::{Expr, Op};
use crate::rules::{self, Facts, Pat, Rule};
use egg::Symbol;
use rustc_hash::FxHashMap;

/// The differential of `e` with respect to the variable `x`, in terms of the leaf `dx`.
pub fn differential(e: &Expr, x: Symbol) -> Result<Expr> {
    Differentiator::new(x).d(e)
}

/// The differential and the rule applications that built it, innermost first.
pub fn differential_with_steps(e: &Expr, x: Symbol) -> Result<(Expr, Vec<Step>)> {
    let mut differentiator = Differentiator::new(x);
    let de = differentiator.d(e)?;
    Ok((de, differentiator.steps))
}

/// One application of a differential rule: d(node) by the rule, with its variables bound.
#[derive(Clone, Debug)]
pub struct Step {
    /// The expression differentiated.
    pub node: Expr,
    /// The rule applied.
    pub rule: &'static Rule,
    /// What the rule's pattern variables matched.
    pub bindings: Bindings,
}

/// Where a rule matched: the bindings of its pattern variables.
pub type Bindings = Vec<(Symbol, Expr)>;

struct Differentiator {
    x: Symbol,
    rules: &'static [Rule],
    /// Differentials already taken, by node identity, so shared subexpressions are
    /// differentiated once (the output stays a DAG, linear in the input's size).
    memo: FxHashMap<Expr, Expr>,
    depends: FxHashMap<Expr, bool>,
    /// The rule applications so far, innermost first.
    steps: Vec<Step>,
}

impl Differentiator {
    fn new(x: Symbol) -> Self {
        Differentiator {
            x,
            rules: rules::group("differentials"),
            memo: FxHashMap::default(),
            depends: FxHashMap::default(),
            steps: Vec::new(),
        }
    }

    fn depends(&mut self, e: &Expr) -> bool {
        let key = e.clone();
        if let Some(&d) = self.depends.get(&key) {
            return d;
        }
        let d = match e.op {
            Op::Var(v, _) => v == self.x,
            _ => e.args.iter().any(|a| self.depends(a)),
        };
        self.depends.insert(key, d);
        d
    }

    fn d(&mut self, e: &Expr) -> Result<Expr> {
        let key = e.clone();
        if let Some(done) = self.memo.get(&key) {
            return Ok(done.clone());
        }
        let result = if !self.depends(e) {
            Expr::zero(e.shape)
        } else if let Op::Var(v, _) = e.op {
            Expr::leaf(Op::Dvar(v), e.shape)
        } else {
            self.by_rule(e)?
        };
        self.memo.insert(key, result.clone());
        Ok(result)
    }

    fn by_rule(&mut self, e: &Expr) -> Result<Expr> {
        for rule in self.rules {
            let Pat::D(lhs) = &rule.lhs else { continue };
            let mut bindings = Vec::new();
            if !matches(lhs, e, &mut bindings) {
                continue;
            }
            let holds = rule.conditions.iter().all(|c| {
                let facts: Vec<Facts> = (c.vars.iter())
                    .map(|var| {
                        let value = &bindings
                            .iter()
                            .find(|(v, _)| v == var)
                            .expect("checked on load")
                            .1;
                        Facts::of(value, !self.depends(value))
                    })
                    .collect();
                c.predicate.holds(&facts.iter().collect::<Vec<_>>())
            });
            if holds {
                let result = self.instantiate(&rule.rhs, &bindings)?;
                self.steps.push(Step {
                    node: e.clone(),
                    rule,
                    bindings,
                });
                return Ok(result);
            }
        }
        Err(Error::Unsupported {
            message: format!("no differential rule applies to `{e}`"),
            hint: "rewrite the expression with the operators of `nabla diff --help`".into(),
        })
    }

    fn instantiate(&mut self, pat: &Pat, bindings: &Bindings) -> Result<Expr> {
        Ok(match pat {
            Pat::Var(v) => bindings
                .iter()
                .find(|(b, _)| b == v)
                .expect("checked on load")
                .1
                .clone(),
            Pat::D(inner) => {
                let inner = instantiate(inner, bindings);
                self.d(&inner)?
            }
            Pat::Node(Op::Num(n), _) => Expr::num(n.clone()),
            Pat::Node(op, args) => {
                let args = args
                    .iter()
                    .map(|a| self.instantiate(a, bindings))
                    .collect::<Result<_>>()?;
                build::apply(op.clone(), args)
            }
        })
    }
}

/// Matches a pattern against an expression, extending `bindings`.
pub fn matches(pat: &Pat, e: &Expr, bindings: &mut Bindings) -> bool {
    match pat {
        Pat::Var(v) => match bindings.iter().find(|(b, _)| b == v) {
            Some((_, bound)) => bound == e,
            None => {
                bindings.push((*v, e.clone()));
                true
            }
        },
        Pat::Node(op, args) => {
            *op == e.op
                && args.len() == e.args.len()
                && args
                    .iter()
                    .zip(&e.args)
                    .all(|(p, a)| matches(p, a, bindings))
        }
        Pat::D(_) => false,
    }
}

/// Builds the expression a pattern describes under `bindings` (which bind all its variables).
pub fn instantiate(pat: &Pat, bindings: &[(Symbol, Expr)]) -> Expr {
    match pat {
        Pat::Var(v) => bindings
            .iter()
            .find(|(b, _)| b == v)
            .expect("bound variable")
            .1
            .clone(),
        Pat::Node(Op::Num(n), _) => Expr::num(n.clone()),
        Pat::Node(op, args) => build::apply(
            op.clone(),
            args.iter().map(|a| instantiate(a, bindings)).collect(),
        ),
        Pat::D(_) => panic!("a differential inside a differential"),
    }
}
