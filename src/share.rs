//! Shared subexpressions: a derivative that repeats a subexpression (the forward values of a
//! deep composition, say) is printed with it named once, `t1 = ...; 2*t1'*X`, the symbolic form
//! of reverse-mode accumulation, so that output grows linearly with depth.

use crate::expr::{Expr, Op, Props};
use egg::Symbol;
use std::collections::{HashMap, HashSet};

/// A subexpression is named when writing it once saves at least this many nodes: small
/// repeats such as `inv(A + t*B)` twice read better inline, as textbooks print them.
const MIN_SAVING: usize = 8;

/// An expression with its shared parts named: definitions in order (each may use earlier
/// names), then the body.
#[derive(Clone, Debug, PartialEq)]
pub struct Shared {
    /// `(name, value)` in dependency order.
    pub definitions: Vec<(Symbol, Expr)>,
    /// The expression over the names.
    pub body: Expr,
}

/// Names the repeated subexpressions of `e`, avoiding the names in `taken`.
pub fn share(e: &Expr, taken: &HashSet<String>) -> Shared {
    let mut named: Vec<Expr> = Vec::new();
    loop {
        let counts = visible_counts(e, &named);
        let best = (counts.iter())
            .filter(|(x, n)| (**n - 1) * (size(x) - 1) >= MIN_SAVING && !named.contains(x))
            .max_by_key(|(x, _)| size(x));
        match best {
            Some((x, _)) => named.push(x.clone()),
            None => break,
        }
    }
    let mut names = (1..)
        .map(|i| format!("t{i}"))
        .filter(|n| !taken.contains(n));
    let mut by_value: HashMap<Expr, Expr> = HashMap::new();
    let mut definitions = Vec::new();
    // Smaller subexpressions are defined first: they cannot contain larger ones.
    named.sort_by_key(size);
    for value in named {
        let name = Symbol::from(names.next().expect("names never run out"));
        let body = replace(&value, &by_value, false);
        by_value.insert(
            value.clone(),
            Expr::leaf(Op::Var(name, Props::default()), value.shape),
        );
        definitions.push((name, body));
    }
    Shared {
        definitions,
        body: replace(e, &by_value, true),
    }
}

fn size(e: &Expr) -> usize {
    1 + e.args.iter().map(size).sum::<usize>()
}

/// How often each subexpression is written out when the `named` ones are printed once each.
fn visible_counts(root: &Expr, named: &[Expr]) -> HashMap<Expr, usize> {
    fn walk(e: &Expr, named: &[Expr], counts: &mut HashMap<Expr, usize>, top: bool) {
        if e.args.is_empty() {
            return;
        }
        *counts.entry(e.clone()).or_default() += 1;
        if !top && named.contains(e) {
            return;
        }
        for a in &e.args {
            walk(a, named, counts, false);
        }
    }
    let mut counts = HashMap::new();
    walk(root, named, &mut counts, true);
    for n in named {
        for a in &n.args {
            walk(a, named, &mut counts, false);
        }
    }
    counts
}

/// `e` with named subexpressions replaced by their names (`e` itself too when `whole`).
fn replace(e: &Expr, names: &HashMap<Expr, Expr>, whole: bool) -> Expr {
    if whole && let Some(name) = names.get(e) {
        return name.clone();
    }
    if e.args.is_empty() {
        return e.clone();
    }
    let args = e.args.iter().map(|a| replace(a, names, true)).collect();
    Expr::node(e.op.clone(), args, e.shape)
}
