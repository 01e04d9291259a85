//! Shared subexpressions: a derivative that repeats a subexpression (the forward values of a
//! deep composition, say) is printed with it named once, `t1 = ...; 2*t1'*X`, the symbolic form
//! of reverse-mode accumulation, so that output grows linearly with depth.

use crate::expr::{Expr, Op, Props};
use egg::Symbol;
use rustc_hash::{FxHashMap, FxHashSet};

/// A subexpression is named when writing it once saves at least this many nodes: small
/// repeats such as `inv(A + t*B)` twice read better inline, as textbooks print them.
const MIN_SAVING: usize = 8;

/// An activation (an elementwise function or softmax of something) is named from this saving
/// on: textbooks name each layer's activation (`p = softmax(z)`, `h = tanh(W*x)`) even where
/// it is small.
const MIN_ACTIVATION_SAVING: usize = 3;

fn is_activation(e: &Expr) -> bool {
    matches!(e.op, Op::Call(f) if f.is_elementwise() || f == crate::expr::Func::Softmax)
}

/// An expression with its shared parts named: definitions in order (each may use earlier
/// names), then the body.
#[derive(Clone, Debug, PartialEq)]
pub struct Shared {
    /// `(name, value)` in dependency order.
    pub definitions: Vec<(Symbol, Expr)>,
    /// The expression over the names.
    pub body: Expr,
}

/// Writes `e` in the user's own names: each definition of the input (`h1 = tanh(W1*x)`, in
/// input order, values with earlier definitions substituted) whose value occurs in `e`, or in
/// the value of a definition that is written, is replaced by its name and restated first; then
/// the repeats left are named automatically ([`share`]), avoiding every name in `taken`.
pub fn share_named(e: &Expr, definitions: &[(String, Expr)], taken: &FxHashSet<String>) -> Shared {
    let mut by_value: FxHashMap<Expr, Expr> = FxHashMap::default();
    let mut named: Vec<(Symbol, Expr)> = Vec::new();
    for (name, value) in definitions.iter().filter(|(_, v)| !v.args.is_empty()) {
        let name = Symbol::from(name.as_str());
        named.push((name, replace(value, &by_value, false)));
        let leaf = Expr::leaf(Op::Var(name, Props::default()), value.shape);
        by_value.insert(value.clone(), leaf);
    }
    // Then sums that hold a defined sum among more terms, compared in the names already
    // written (a definition's value over the earlier names).
    let sums: Vec<(Vec<(bool, Expr)>, Expr)> = (named.iter())
        .filter(|(_, value)| matches!(value.op, Op::Add | Op::Sub))
        .map(|(name, value)| {
            let leaf = Expr::leaf(Op::Var(*name, Props::default()), value.shape);
            (value.signed_terms(), leaf)
        })
        .collect();
    let body = replace(e, &by_value, true);
    let body = named_sums(&body, &sums, &mut FxHashMap::default());
    // The definitions written: those the body uses, and those they use, in input order.
    let mut used: FxHashSet<Symbol> = FxHashSet::default();
    let (mut pending, mut seen) = (vec![body.clone()], FxHashSet::default());
    while let Some(x) = pending.pop() {
        let mut names = FxHashSet::default();
        variables(&x, &mut names, &mut seen);
        for (name, value) in &named {
            if names.contains(name) && used.insert(*name) {
                pending.push(value.clone());
            }
        }
    }
    let mut definitions: Vec<(Symbol, Expr)> = named
        .into_iter()
        .filter(|(n, _)| used.contains(n))
        .collect();
    let automatic = share(&body, taken);
    definitions.extend(automatic.definitions);
    Shared {
        definitions,
        body: automatic.body,
    }
}

/// Names the repeated subexpressions of `e`, avoiding the names in `taken`. One pass over the
/// expression as a DAG: a subexpression counts once more each time it is reached, and its
/// insides are visited only the first time, so a part repeated only inside a repeated whole is
/// not named twice.
pub fn share(e: &Expr, taken: &FxHashSet<String>) -> Shared {
    let mut counts: FxHashMap<Expr, usize> = FxHashMap::default();
    count(e, &mut counts);
    let mut sizes: FxHashMap<Expr, usize> = FxHashMap::default();
    let mut named: Vec<(usize, Expr)> = (counts.iter())
        .filter(|(x, _)| *x != e)
        .filter_map(|(x, n)| {
            let size = crate::expr::tree_size(x, &mut sizes);
            let least = match is_activation(x) {
                true => MIN_ACTIVATION_SAVING,
                false => MIN_SAVING,
            };
            ((n - 1).saturating_mul(size - 1) >= least).then(|| (size, x.clone()))
        })
        .collect();
    // Smaller subexpressions are defined first: they cannot contain larger ones.
    named.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| crate::print::to_text(&a.1).cmp(&crate::print::to_text(&b.1)))
    });
    let mut names = (1..)
        .map(|i| format!("t{i}"))
        .filter(|n| !taken.contains(n));
    let mut by_value: FxHashMap<Expr, Expr> = FxHashMap::default();
    let mut definitions = Vec::new();
    for (_, value) in named {
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

/// `e` with each sum that holds all the terms of a defined sum and more written with its name:
/// for z = x + W*r, W*r + x - y is z - y (terms matched as a multiset, either sign).
fn named_sums(
    e: &Expr,
    sums: &[(Vec<(bool, Expr)>, Expr)],
    memo: &mut FxHashMap<Expr, Expr>,
) -> Expr {
    if sums.is_empty() || e.args.is_empty() {
        return e.clone();
    }
    if let Some(done) = memo.get(e) {
        return done.clone();
    }
    let args = e.args.iter().map(|a| named_sums(a, sums, memo)).collect();
    let rebuilt = Expr::node(e.op.clone(), args, e.shape);
    let out = (matches!(rebuilt.op, Op::Add | Op::Sub))
        .then(|| with_named_sum(&rebuilt, sums))
        .flatten()
        .unwrap_or(rebuilt);
    memo.insert(e.clone(), out.clone());
    out
}

/// The sum `e` written with the first defined sum whose terms it holds (with one sign or the
/// other), the rest of its terms after the name; `None` where none fits.
fn with_named_sum(e: &Expr, sums: &[(Vec<(bool, Expr)>, Expr)]) -> Option<Expr> {
    let terms = e.signed_terms();
    for (defined, name) in sums {
        // Whole matches are already names: only a defined sum among more terms is left.
        if name.shape != e.shape || defined.len() >= terms.len() {
            continue;
        }
        for flipped in [false, true] {
            let mut rest = terms.clone();
            let all_found = defined.iter().all(|(negative, term)| {
                let wanted = *negative != flipped;
                (rest.iter().position(|(n, t)| *n == wanted && t == term))
                    .map(|i| rest.remove(i))
                    .is_some()
            });
            if !all_found {
                continue;
            }
            let start = match flipped {
                true => crate::build::neg(name.clone()),
                false => name.clone(),
            };
            return Some(rest.into_iter().fold(start, |sum, (negative, term)| {
                let op = if negative { Op::Sub } else { Op::Add };
                Expr::node(op, vec![sum, term], e.shape)
            }));
        }
    }
    None
}

/// The variables `e` mentions, each shared node visited once.
fn variables(e: &Expr, out: &mut FxHashSet<Symbol>, seen: &mut FxHashSet<Expr>) {
    if !seen.insert(e.clone()) {
        return;
    }
    if let Op::Var(name, _) = e.op {
        out.insert(name);
    }
    e.args.iter().for_each(|a| variables(a, out, seen));
}

fn count(e: &Expr, counts: &mut FxHashMap<Expr, usize>) {
    if e.args.is_empty() {
        return;
    }
    let seen = counts.entry(e.clone()).or_default();
    *seen += 1;
    if *seen == 1 {
        e.args.iter().for_each(|a| count(a, counts));
    }
}

/// `e` with named subexpressions replaced by their names (`e` itself too when `whole`).
fn replace(e: &Expr, names: &FxHashMap<Expr, Expr>, whole: bool) -> Expr {
    if whole && let Some(name) = names.get(e) {
        return name.clone();
    }
    if e.args.is_empty() {
        return e.clone();
    }
    let args = e.args.iter().map(|a| replace(a, names, true)).collect();
    Expr::node(e.op.clone(), args, e.shape)
}
