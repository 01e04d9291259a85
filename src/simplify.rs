//! Simplification: equality saturation over the algebra rules under limits, then extraction
//! of the cheapest form by a cost model that prefers what a textbook prints.

use crate::build;
use crate::expr::{Expr, Func, Op};
use crate::lang::{Math, MatrixAnalysis};
use crate::rules::{self, Pat, Rule};
use crate::shape::Shape;
use egg::{
    ConditionalApplier, CostFunction, EGraph, ENodeOrVar, Extractor, Id, Language, Pattern,
    PatternAst, RecExpr, Rewrite, Subst, Var,
};
use num_traits::Signed;
use rustc_hash::FxHashMap;
use std::sync::OnceLock;

mod saturate;

/// Bounds on one simplification; reaching one still gives a correct (less simple) result.
/// Only counts bound saturation, never the wall clock, so that the printed form depends on the
/// input alone, not on the machine or its load (the derivation's time limit in [`budget`] is a
/// last-resort error, checked between rounds).
///
/// [`budget`]: crate::budget
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Rewrite rounds.
    pub iterations: usize,
    /// E-nodes in the graph.
    pub nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // Past about a thousand e-nodes and eight rounds the rules mostly reassociate and
        // commute what is there: 4,000 nodes and 12 rounds changed no form of the table or the
        // textbook sets, and 1 in 30 random problems by about one operator either way, at five
        // to ten times the time.
        Limits {
            iterations: 8,
            nodes: 1_000,
        }
    }
}

/// What one simplification did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// E-nodes at the end.
    pub nodes: usize,
    /// Rounds run.
    pub iterations: usize,
    /// Why saturation stopped.
    pub stop: String,
}

/// The simplest equivalent of `e` that the algebra rules reach within `limits`.
pub fn simplify(e: &Expr, limits: Limits) -> (Expr, Report) {
    let terms = sum_terms(e);
    if terms.len() > LARGE_SUM {
        return simplify_sum(terms, limits);
    }
    simplify_whole(e, limits)
}

/// Sums with more terms than this are simplified term by term: saturating a sum with the
/// commutative and associative rules costs time exponential in its length.
const LARGE_SUM: usize = 6;

/// The terms of a sum, each with its sign, looking through transposes and negations.
fn sum_terms(e: &Expr) -> Vec<Expr> {
    match e.op {
        Op::Add if e.a().shape == e.b().shape => [sum_terms(e.a()), sum_terms(e.b())].concat(),
        Op::Sub if e.a().shape == e.b().shape => {
            let negated = sum_terms(e.b()).into_iter().map(build::neg);
            sum_terms(e.a()).into_iter().chain(negated).collect()
        }
        Op::T if matches!(e.a().op, Op::Add | Op::Sub) => {
            sum_terms(e.a()).into_iter().map(build::t).collect()
        }
        Op::Neg if matches!(e.a().op, Op::Add | Op::Sub) => {
            sum_terms(e.a()).into_iter().map(build::neg).collect()
        }
        _ => vec![e.clone()],
    }
}

/// A long sum: each term simplified on its own, like terms combined, and a factor common to
/// every term (`x'*A + x'*B = x'*(A + B)`) taken out.
fn simplify_sum(terms: Vec<Expr>, limits: Limits) -> (Expr, Report) {
    let mut report = Report::default();
    let mut simplified = Vec::with_capacity(terms.len());
    for term in &terms {
        let (s, r) = simplify_whole(term, limits);
        report.nodes += r.nodes;
        report.iterations = report.iterations.max(r.iterations);
        report.stop = r.stop;
        simplified.push(s);
    }
    (tidied(factor_common(simplified)), report)
}

/// The sum of `terms`, with a leftmost or rightmost factor shared by all of them taken out.
fn factor_common(terms: Vec<Expr>) -> Expr {
    let split = |e: &Expr, left: bool| -> Option<(Expr, Expr)> {
        let factors = product_factors(e);
        if factors.len() < 2 {
            return None;
        }
        let (one, rest) = if left {
            (factors[0].clone(), &factors[1..])
        } else {
            (
                factors[factors.len() - 1].clone(),
                &factors[..factors.len() - 1],
            )
        };
        let rest = rest.iter().cloned().reduce(build::mul)?;
        Some((one, rest))
    };
    for left in [true, false] {
        let splits: Option<Vec<(Expr, Expr)>> = terms.iter().map(|t| split(t, left)).collect();
        if let Some(splits) = splits
            && splits
                .iter()
                .all(|(f, _)| *f == splits[0].0 && !f.shape.is_scalar())
        {
            let inner = splits
                .iter()
                .map(|(_, r)| r.clone())
                .reduce(build::add)
                .expect("terms");
            let common = splits[0].0.clone();
            return if left {
                build::mul(common, inner)
            } else {
                build::mul(inner, common)
            };
        }
    }
    terms
        .into_iter()
        .reduce(build::add)
        .expect("a sum has terms")
}

/// The factors of a product, in order: `2*x'*A` is `[2, x', A]`.
/// An inner product such as `x'*y` stays one factor: regrouped with its neighbours it would
/// not be a product any more (`A*(x'*y)` is not `(A*x')*y`).
fn product_factors(e: &Expr) -> Vec<Expr> {
    match e.op {
        Op::Mul if !is_inner_product(e) => {
            let (left, right) = (product_factors(e.a()), product_factors(e.b()));
            let joins = left
                .last()
                .zip(right.first())
                .is_some_and(|(l, r)| multipliable(l, r));
            if joins {
                [left, right].concat()
            } else {
                vec![e.clone()]
            }
        }
        _ => vec![e.clone()],
    }
}

/// Whether the product `e` is a scalar made of arrays, such as `x'*y`.
fn is_inner_product(e: &Expr) -> bool {
    e.shape.is_scalar() && !(e.a().shape.is_scalar() && e.b().shape.is_scalar())
}

/// Whether `a * b` is defined: a scaling or a matrix product of matching sizes.
fn multipliable(a: &Expr, b: &Expr) -> bool {
    a.shape.is_scalar() || b.shape.is_scalar() || a.shape.cols == b.shape.rows
}

/// Transposes moved through products, `(A*B)' = B'*A'`, in one pass: it spares the e-graph
/// the work on long products; the algebra rules gather transposes back where that reads better
/// (`(X*w - y)'`).
fn transposes_inward(e: &Expr) -> Expr {
    build::substitute(e, &|node| {
        if node.op != Op::T {
            return None;
        }
        let inner = transposes_inward(node.a());
        Some(match inner.op {
            Op::Mul => build::mul(
                transposes_inward(&build::t(inner.b().clone())),
                transposes_inward(&build::t(inner.a().clone())),
            ),
            _ => build::t(inner),
        })
    })
}

/// A product of at least this many names (or their transposes) is already in normal form:
/// associativity is all the e-graph could apply to it, at a cost growing with the Catalan numbers.
const LONG_MONOMIAL: usize = 6;

fn is_long_monomial(e: &Expr) -> bool {
    let factors = product_factors(e);
    let plain = |f: &Expr| f.args.is_empty() || (f.op == Op::T && f.a().args.is_empty());
    factors.len() >= LONG_MONOMIAL && factors.iter().all(plain)
}

fn simplify_whole(e: &Expr, limits: Limits) -> (Expr, Report) {
    let e = &transposes_inward(e);
    if is_long_monomial(e) {
        return (
            tidied(e.clone()),
            Report {
                stop: "normal form".into(),
                ..Report::default()
            },
        );
    }
    let (run, root) = saturate(EGraph::default(), e, limits);
    let report = Report {
        nodes: run.egraph.total_number_of_nodes(),
        iterations: run.iterations,
        stop: format!("{:?}", Some(run.stop)),
    };
    let (_, best) = Extractor::new(&run.egraph, TextbookCost).find_best(root);
    (tidied(from_rec(&best)), report)
}

/// The simplest form, with the chain of rewrites that reaches it from `e`: each step the rule
/// (by name, or `constant folding`) and the whole expression after it.
pub fn simplify_explained(e: &Expr, limits: Limits) -> (Expr, Vec<(String, Expr)>) {
    let (mut run, root) = saturate(EGraph::default().with_explanations_enabled(), e, limits);
    let (_, best) = Extractor::new(&run.egraph, TextbookCost).find_best(root);
    let mut explanation = run.egraph.explain_equivalence(&to_rec(e), &best);
    let mut steps: Vec<(String, Expr)> = (explanation.make_flat_explanation().iter().skip(1))
        .map(|term| {
            let rule = applied_rule(term).map_or("constant folding".to_string(), |r| {
                if r.as_str().contains(".rs:") {
                    "constant folding".into()
                } else {
                    r.to_string()
                }
            });
            (rule, from_flat(term))
        })
        .collect();
    remove_detours(&mut steps, e);
    (tidied(from_rec(&best)), steps)
}

/// Cuts every detour out of an explanation: when a form comes back, the steps that left it go.
fn remove_detours(steps: &mut Vec<(String, Expr)>, start: &Expr) {
    let mut kept: Vec<(String, Expr)> = Vec::new();
    for (rule, form) in steps.drain(..) {
        if form == *start {
            kept.clear();
        } else if let Some(i) = kept.iter().position(|(_, f)| *f == form) {
            kept.truncate(i + 1);
        } else {
            kept.push((rule, form));
        }
    }
    *steps = kept;
}

/// The rule that produced a step of a flat explanation, wherever in the term it applied.
fn applied_rule(term: &egg::FlatTerm<Math>) -> Option<egg::Symbol> {
    term.forward_rule
        .or(term.backward_rule)
        .or_else(|| term.children.iter().find_map(applied_rule))
}

fn saturate(
    graph: EGraph<Math, MatrixAnalysis>,
    e: &Expr,
    limits: Limits,
) -> (saturate::Saturation, Id) {
    let mut graph = graph;
    let root = add_expr(&mut graph, e, &mut FxHashMap::default());
    // No clock stops a run (it would make the form depend on the machine); the derivation's
    // deadline is checked between rounds instead, as an error.
    let run = saturate::saturate(
        graph,
        rewrites(),
        operators_needed(),
        limits.iterations,
        limits.nodes,
        crate::budget::check,
    );
    (run, root)
}

fn to_rec(e: &Expr) -> RecExpr<Math> {
    fn go(e: &Expr, rec: &mut RecExpr<Math>) -> Id {
        let children = e.args.iter().map(|a| go(a, rec)).collect();
        let leaf_shape = if e.args.is_empty() {
            e.shape
        } else {
            Shape::SCALAR
        };
        rec.add(Math {
            op: e.op.clone(),
            leaf_shape,
            children,
        })
    }
    let mut rec = RecExpr::default();
    go(e, &mut rec);
    rec
}

fn add_expr(
    graph: &mut EGraph<Math, MatrixAnalysis>,
    e: &Expr,
    memo: &mut FxHashMap<Expr, Id>,
) -> Id {
    let key = e.clone();
    if let Some(&id) = memo.get(&key) {
        return id;
    }
    let children = e.args.iter().map(|a| add_expr(graph, a, memo)).collect();
    let leaf_shape = if e.args.is_empty() {
        e.shape
    } else {
        Shape::SCALAR
    };
    let id = graph.add(Math {
        op: e.op.clone(),
        leaf_shape,
        children,
    });
    memo.insert(key, id);
    id
}

fn from_rec(rec: &RecExpr<Math>) -> Expr {
    let mut built: Vec<Expr> = Vec::with_capacity(rec.len());
    for node in rec.as_ref() {
        let args = node
            .children
            .iter()
            .map(|c| built[usize::from(*c)].clone())
            .collect();
        built.push(from_node(node, args));
    }
    built.pop().expect("an extracted expression is never empty")
}

/// A term of an explanation exactly as the e-graph holds it (no smart constructors), so that
/// each step shows what its rule did.
fn from_flat(term: &egg::FlatTerm<Math>) -> Expr {
    let args: Vec<Expr> = term.children.iter().map(from_flat).collect();
    if args.is_empty() {
        return from_node(&term.node, args);
    }
    // A step shows X, not X'' (a rule's result before transpose-involution): the same value.
    if term.node.op == Op::T && args[0].op == Op::T {
        return args[0].a().clone();
    }
    let shape = crate::lang::shape_of(&term.node, &|i| args[i].shape);
    Expr::node(term.node.op.clone(), args, shape)
}

/// The typed expression of an e-node over already built arguments.
fn from_node(node: &Math, args: Vec<Expr>) -> Expr {
    match &node.op {
        _ if !args.is_empty() => build::apply(node.op.clone(), args),
        Op::Num(n) => Expr::num(n.clone()),
        op => Expr::leaf(op.clone(), node.leaf_shape),
    }
}

/// [`tidy`] repeated until nothing changes (a regrouping can expose another).
pub fn tidied(mut e: Expr) -> Expr {
    let mut memo = FxHashMap::default();
    for _ in 0..8 {
        let next = tidy(&e, &mut memo);
        if next == e {
            break;
        }
        e = next;
    }
    e
}

/// Puts an extracted form the way it is read: products and sums grouped to the left
/// (2*x'*A, a + b + c), scalar factors first, quotients by scalars last (x'/norm2(x)), and a
/// negative coefficient as a minus sign.
pub fn tidy(e: &Expr, memo: &mut FxHashMap<Expr, Expr>) -> Expr {
    if let Some(done) = memo.get(e) {
        return done.clone();
    }
    let out = tidy_node(e, memo);
    memo.insert(e.clone(), out.clone());
    out
}

fn tidy_node(e: &Expr, memo: &mut FxHashMap<Expr, Expr>) -> Expr {
    let args: Vec<Expr> = e.args.iter().map(|a| tidy(a, memo)).collect();
    if args.is_empty() {
        return e.clone();
    }
    let mut tidy = |x: &Expr| tidy(x, memo);
    let scalar = |x: &Expr| x.shape.is_scalar();
    let negative = |x: &Expr| x.as_num().is_some_and(|n| n.is_negative());
    let (a, b) = (&args[0], args.get(1));
    match (&e.op, b) {
        (Op::Mul, Some(b))
            if b.op == Op::Mul && multipliable(a, b.a()) && left_spine(b) >= LONG_CHAIN =>
        {
            regroup_left(a, b)
        }
        (Op::Mul, Some(b)) if b.op == Op::Mul && multipliable(a, b.a()) => tidy(&build::mul(
            build::mul(a.clone(), b.a().clone()),
            b.b().clone(),
        )),
        (Op::Mul, Some(b)) if scalar(b) && !scalar(a) => tidy(&build::mul(b.clone(), a.clone())),
        (Op::Mul, Some(b)) if a.op == Op::Div => tidy(&build::div(
            build::mul(a.a().clone(), b.clone()),
            a.b().clone(),
        )),
        (Op::Mul, Some(b)) if b.op == Op::Div => tidy(&build::div(
            build::mul(a.clone(), b.a().clone()),
            b.b().clone(),
        )),
        (Op::Mul, Some(b)) if negative(a) => {
            build::neg(build::mul(build::neg(a.clone()), b.clone()))
        }
        (Op::Mul, Some(b)) if a.op == Op::Mul && negative(a.a()) => build::neg(tidy(&build::mul(
            build::mul(build::neg(a.a().clone()), a.b().clone()),
            b.clone(),
        ))),
        // A minus in front of a product is absorbed by a difference it starts with.
        (Op::Neg, None)
            if matches!(a.op, Op::Mul | Op::T | Op::Div)
                && build::negated_leading_difference(a).is_some() =>
        {
            build::negated_leading_difference(a).expect("a leading difference")
        }
        (Op::T, None) if a.op == Op::Div => {
            tidy(&build::div(build::t(a.a().clone()), a.b().clone()))
        }
        (Op::Add, Some(b)) if matches!(b.op, Op::Add | Op::Sub) && b.a().shape == b.b().shape => {
            let inner = build::add(a.clone(), b.a().clone());
            tidy(&build::apply(b.op.clone(), vec![inner, b.b().clone()]))
        }
        _ => build::apply(e.op.clone(), args),
    }
}

/// `e` with one transpose around a product instead of one on each factor where that is
/// smaller: `B'*inv(X')` is `(inv(X)*B)'`, `a'.*b'` is `(a.*b)'` (`A'*B'` stays, as textbooks
/// print it). A last pass over the printed form: the normal form spreads transposes over
/// products.
pub fn transposes_folded(e: &Expr) -> Expr {
    fn go(e: &Expr, memo: &mut FxHashMap<Expr, Expr>) -> Expr {
        if let Some(done) = memo.get(e) {
            return done.clone();
        }
        let args: Vec<Expr> = e.args.iter().map(|a| go(a, memo)).collect();
        let spread = if args.iter().zip(&e.args).all(|(a, b)| a == b) {
            e.clone()
        } else {
            build::apply(e.op.clone(), args)
        };
        let out = match fold(&spread) {
            Some(inner) => {
                let folded = build::t(tidied(inner));
                if folded.size() < spread.size() {
                    folded
                } else {
                    spread
                }
            }
            None => spread,
        };
        memo.insert(e.clone(), out.clone());
        out
    }
    go(e, &mut FxHashMap::default())
}

/// X with `e` = X' where `e` is a product or elementwise product of transposed factors, not
/// all of them plain names.
fn fold(e: &Expr) -> Option<Expr> {
    match e.op {
        Op::Had if !e.shape.is_scalar() => {
            Some(build::had(untransposed(e.a())?, untransposed(e.b())?))
        }
        Op::Mul if !e.shape.is_scalar() => {
            let factors = product_factors(e);
            if factors.len() < 2 || factors.iter().all(is_transposed_name) {
                return None;
            }
            let inner: Option<Vec<Expr>> = factors.iter().rev().map(untransposed).collect();
            inner?.into_iter().reduce(build::mul)
        }
        _ => None,
    }
}

fn is_transposed_name(e: &Expr) -> bool {
    e.op == Op::T && matches!(e.a().op, Op::Var(..))
}

/// `x` for a transposed `x'`, `inv(x)` for `inv(x')`.
fn untransposed(e: &Expr) -> Option<Expr> {
    match &e.op {
        Op::T => Some(e.a().clone()),
        Op::Call(Func::Inv) if e.a().op == Op::T => Some(build::call(Func::Inv, e.a().a().clone())),
        Op::Div => Some(build::div(untransposed(e.a())?, e.b().clone())),
        Op::Mul if e.a().shape.is_scalar() => Some(build::mul(e.a().clone(), untransposed(e.b())?)),
        _ => None,
    }
}

/// Products with at least this many factors down their left side are regrouped in one pass
/// instead of a factor at a time: regrouping a factor at a time rebuilds the whole chain for each
/// factor, quadratic in its length.
const LONG_CHAIN: usize = 16;

/// Whether `e` is a product to open when regrouping: not an inner product such as x'*y, a
/// scalar that regrouped with its neighbours would not be a product any more.
fn opens(e: &Expr) -> bool {
    e.op == Op::Mul && multipliable(e.a(), e.b()) && !is_inner_product(e)
}

/// How many factors `e` has down its left side: ((a·b)·c)·d has four.
fn left_spine(e: &Expr) -> usize {
    let mut count = 1;
    let mut e = e;
    while opens(e) {
        count += 1;
        e = e.a();
    }
    count
}

/// a·(b₁·b₂·…·bₖ), with the right side already grouped to the left, as ((a·b₁)·b₂)·…·bₖ.
fn regroup_left(a: &Expr, b: &Expr) -> Expr {
    let mut factors = Vec::new();
    let mut rest = b;
    while opens(rest) {
        factors.push(rest.b().clone());
        rest = rest.a();
    }
    factors.push(rest.clone());
    factors.into_iter().rev().fold(a.clone(), build::mul)
}

/// The algebra rules as egg rewrites, built once.
fn rewrites() -> &'static [Rewrite<Math, MatrixAnalysis>] {
    static REWRITES: OnceLock<Vec<Rewrite<Math, MatrixAnalysis>>> = OnceLock::new();
    REWRITES.get_or_init(|| rules::group("algebra").iter().map(to_rewrite).collect())
}

/// For each rewrite of [`rewrites`], the operators its left side holds: a rule whose operators
/// are not all in the e-graph cannot match, and is not searched.
fn operators_needed() -> &'static [Vec<saturate::Operator>] {
    static NEEDED: OnceLock<Vec<Vec<saturate::Operator>>> = OnceLock::new();
    NEEDED.get_or_init(|| {
        (rules::group("algebra").iter())
            .map(|rule| {
                let mut ops: Vec<saturate::Operator> = (to_pattern(&rule.lhs).ast.iter())
                    .filter_map(|node| match node {
                        ENodeOrVar::ENode(e) => Some(e.discriminant()),
                        ENodeOrVar::Var(_) => None,
                    })
                    .collect();
                ops.sort();
                ops.dedup();
                ops
            })
            .collect()
    })
}

/// Turns a rule of the table into an egg rewrite with its conditions.
pub fn to_rewrite(rule: &Rule) -> Rewrite<Math, MatrixAnalysis> {
    let lhs = to_pattern(&rule.lhs);
    let rhs = to_pattern(&rule.rhs);
    let conditions: Vec<(rules::Predicate, Vec<Var>)> = rule
        .conditions
        .iter()
        .map(|c| (c.predicate, c.vars.iter().map(|v| var(*v)).collect()))
        .collect();
    // A class with a known rational value already holds that number: rewriting it only adds
    // arithmetic on constants (1*1, 1^2, ...) that can grow without end.
    let right = rule.rhs.clone();
    // The pattern variables by name, parsed once: the condition runs on every match.
    let mut names = Vec::new();
    pattern_variables(&right, &mut names);
    let bound: Vec<(egg::Symbol, Var)> = names.into_iter().map(|v| (v, var(v))).collect();
    let var_of = move |name: egg::Symbol| {
        (bound.iter())
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .expect("a right-side variable is bound on the left")
    };
    let condition = move |graph: &mut EGraph<Math, MatrixAnalysis>, class: Id, subst: &Subst| {
        graph[class].data.num.is_none()
            && conditions.iter().all(|(predicate, vars)| {
                let facts = |i: usize| &graph[subst[vars[i]]].data;
                match vars.len() {
                    1 => predicate.holds(&[facts(0)]),
                    _ => predicate.holds(&[facts(0), facts(1)]),
                }
            })
            && typed_shape(&right, &|v| graph[subst[var_of(v)]].data.shape)
                == Some(graph[class].data.shape)
    };
    let applier = ConditionalApplier {
        condition,
        applier: rhs,
    };
    Rewrite::new(rule.name.as_str(), lhs, applier)
        .unwrap_or_else(|e| panic!("rule {}: {e}", rule.name))
}

/// The shape of a rule's right side with its variables bound, or `None` where it is not well
/// typed: every product defined, every elementwise operation on equal shapes (or a scalar). A
/// rewrite applies only when its result is well typed and of the matched class's shape, so a
/// rule whose conditions miss a case (a scalar, a row, an inner product) can never merge a
/// value with one of another shape or build an undefined product.
fn typed_shape(pat: &Pat, shape_of_var: &dyn Fn(egg::Symbol) -> Shape) -> Option<Shape> {
    let Pat::Node(op, args) = pat else {
        return match pat {
            Pat::Var(v) => Some(shape_of_var(*v)),
            _ => None,
        };
    };
    // No operator takes more than two arguments; an array, for this runs on every match.
    let mut shapes = [Shape::SCALAR; 2];
    for (shape, arg) in shapes.iter_mut().zip(args) {
        *shape = typed_shape(arg, shape_of_var)?;
    }
    let elementwise = |a: Shape, b: Shape| a == b || a.is_scalar() || b.is_scalar();
    let defined = match op {
        Op::Mul => {
            let (a, b) = (shapes[0], shapes[1]);
            a.is_scalar() || b.is_scalar() || a.cols == b.rows
        }
        Op::Add | Op::Sub | Op::Had | Op::HDiv | Op::HPow => elementwise(shapes[0], shapes[1]),
        Op::Div => shapes[1].is_scalar(),
        Op::Pow => shapes[1].is_scalar() && shapes[0].is_square(),
        Op::Call(
            crate::expr::Func::Tr
            | crate::expr::Func::Det
            | crate::expr::Func::Logdet
            | crate::expr::Func::Inv,
        ) => shapes[0].is_square(),
        _ => true,
    };
    let node = Math {
        op: op.clone(),
        leaf_shape: Shape::SCALAR,
        children: Default::default(),
    };
    defined.then(|| crate::lang::shape_of(&node, &|i| shapes[i]))
}

/// The names of the pattern variables of `pat`, each once.
fn pattern_variables(pat: &Pat, out: &mut Vec<egg::Symbol>) {
    match pat {
        Pat::Var(v) if !out.contains(v) => out.push(*v),
        Pat::Node(_, args) => args.iter().for_each(|a| pattern_variables(a, out)),
        _ => {}
    }
}

fn var(name: egg::Symbol) -> Var {
    format!("?{name}").parse().expect("a pattern variable name")
}

fn to_pattern(pat: &Pat) -> Pattern<Math> {
    fn go(pat: &Pat, ast: &mut PatternAst<Math>) -> Id {
        match pat {
            Pat::Var(v) => ast.add(ENodeOrVar::Var(var(*v))),
            Pat::Node(op, args) => {
                let children = args.iter().map(|a| go(a, ast)).collect();
                ast.add(ENodeOrVar::ENode(Math {
                    op: op.clone(),
                    leaf_shape: Shape::SCALAR,
                    children,
                }))
            }
            Pat::D(_) => panic!("differentials are not algebra"),
        }
    }
    let mut ast = PatternAst::default();
    go(pat, &mut ast);
    Pattern::new(ast)
}

/// The cost of a form: operations count, a transpose of a name is nearly free, a transpose of a
/// compound costs a little more, a number after a product's first factor costs more.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Cost {
    total: f64,
    leaf: bool,
    number: bool,
    product: bool,
}

struct TextbookCost;

impl CostFunction<Math> for TextbookCost {
    type Cost = Cost;

    fn cost<C: FnMut(Id) -> Cost>(&mut self, enode: &Math, mut costs: C) -> Cost {
        // Inline: extraction costs every e-node several times over.
        let child: smallvec::SmallVec<[Cost; 2]> =
            enode.children.iter().map(|&c| costs(c)).collect();
        let below: f64 = child.iter().map(|c| c.total).sum();
        let own = match &enode.op {
            _ if enode.children.is_empty() => 1.0,
            Op::T if child[0].leaf => 0.3,
            // A product's transpose reads best spread over its factors (A'*B', as in the
            // Cookbook); a residual's stays whole ((X*w - y)'). Among transposes of compounds,
            // the smaller one is the more readable.
            Op::T if child[0].product => 1.2 + 0.01 * below,
            Op::T => 0.5 + 0.01 * below,
            Op::Mul if child[1].number => 1.5,
            Op::Mul if child[0].number => 0.9,
            Op::Neg => 0.9,
            _ => 1.0,
        };
        Cost {
            total: below + own,
            leaf: enode.children.is_empty(),
            number: matches!(enode.op, Op::Num(_)),
            product: enode.op == Op::Mul,
        }
    }
}
