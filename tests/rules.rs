//! Every rule in rules/ is a named numeric test: both sides evaluated at random data of
//! compatible shapes (algebra), or the left side's directional derivative by central
//! differences against the right side (differentials). Malformed rules fail to load with
//! their file and line.

use nabla::build;
use nabla::error::Error;
use nabla::eval::{self, Draw, Point, Value};
use nabla::expr::{Expr, Op, Props};
use nabla::infer::Typed;
use nabla::rules::{self, Pat, Predicate, Rule};
use std::collections::HashMap;

/// Data draws per rule.
const DRAWS: u64 = 5;

/// The value a `num`, `posint` or `negint` variable takes in the test.
fn literal(rule: &Rule, var: &str) -> Option<&'static str> {
    let c = rule
        .conditions
        .iter()
        .find(|c| c.vars.iter().any(|v| v.as_str() == var))?;
    match c.predicate {
        Predicate::Num | Predicate::PosInt => Some("3"),
        Predicate::NegInt => Some("(-2)"),
        _ => None,
    }
}

/// The rule's text as nabla input: pattern variables become names (declared where a condition
/// asks for a scalar, symmetric or square value), numeric variables become literals.
/// `scalars` names variables declared as scalars whatever their letter says.
fn as_input(rule: &Rule, side: &str, scalars: &[String]) -> String {
    let mut decls = String::new();
    let mut text = side.to_string();
    for var in rule.lhs.vars() {
        let name = var.as_str();
        if let Some(value) = literal(rule, name) {
            text = text.replace(&format!("?{name}"), value);
            continue;
        }
        if scalars.iter().any(|s| s == name) {
            decls += &format!("{name}: R; ");
            continue;
        }
        for c in rule.conditions.iter().filter(|c| c.vars.contains(&var)) {
            match c.predicate {
                Predicate::Scalar => decls += &format!("{name}: R; "),
                Predicate::Sym => decls += &format!("{name}: R^(k x k) sym; "),
                Predicate::Square => decls += &format!("{name}: R^(k x k); "),
                _ => {}
            }
        }
    }
    format!("{decls}{}", text.replace('?', ""))
}

fn read(rule: &Rule, input: &str) -> Result<Typed, String> {
    nabla::read(input).map_err(|e| {
        format!(
            "rule {}: `{input}` does not read: {}",
            rule.name,
            e.render(input)
        )
    })
}

fn sizes(typed: &Typed, draw: u64) -> HashMap<egg::Symbol, usize> {
    let dims = typed.dims();
    dims.iter()
        .enumerate()
        .map(|(i, d)| (*d, 2 + (i + draw as usize) % (dims.len() + 1)))
        .collect()
}

fn finite(v: &Value) -> bool {
    v.iter().all(|x| x.is_finite())
}

fn close(a: &Value, b: &Value, tolerance: f64) -> bool {
    a.shape() == b.shape() && (a - b).amax() <= tolerance * (1.0 + b.amax())
}

/// Points of the rule's data, each the first draw kind that stays in every function's domain.
fn points<'t>(
    typed: &'t Typed,
    check: impl Fn(&Point) -> bool + 't,
) -> impl Iterator<Item = Point> + 't {
    (0..DRAWS).filter_map(move |draw| {
        let mut rng = eval::rng(draw);
        [Draw::Signed, Draw::Positive].into_iter().find_map(|kind| {
            let point = eval::random_point(&typed.variables, &sizes(typed, draw), kind, &mut rng);
            check(&point).then_some(point)
        })
    })
}

#[test]
fn every_rule_file_loads() {
    let all = rules::load_all().expect("the rule files load");
    for (group, _) in rules::RULE_FILES {
        assert!(
            all.iter().any(|r| r.group == *group),
            "rules/{group}.rules has no rule"
        );
    }
}

/// The variables a rule's conditions let be 1 x 1 (none asks for an array or a vector,
/// none is a literal): the e-graph matches them to scalars, so the rule must hold there too
/// (det(?A * ?B) with ?A a scalar was det(a)*det(B), which is not a^n*det(B)).
fn may_be_scalars(rule: &Rule) -> Vec<String> {
    (rule.lhs.vars().into_iter())
        .map(|v| v.as_str().to_string())
        .filter(|name| {
            name.chars()
                .next()
                .is_some_and(|c| c.is_ascii_uppercase() || c >= 'h')
        })
        .filter(|name| literal(rule, name).is_none())
        .filter(|name| {
            !rule.conditions.iter().any(|c| {
                c.vars.iter().any(|v| v.as_str() == name)
                    && matches!(c.predicate, Predicate::Array | Predicate::Vector)
            })
        })
        .collect()
}

/// Whether both sides of an algebra rule agree at random data: with its variables as their
/// letters say, then each variable that may be 1 x 1 as a scalar, then all of them.
fn check_algebra(rule: &Rule) -> Result<(), String> {
    let candidates = may_be_scalars(rule);
    let mut instances: Vec<Vec<String>> = vec![vec![]];
    instances.extend(candidates.iter().map(|c| vec![c.clone()]));
    if candidates.len() > 1 {
        instances.push(candidates);
    }
    // same(?A, ?B) does not match a scalar and an array.
    let one_scalar = |scalars: &Vec<String>| {
        rule.conditions.iter().any(|c| {
            c.predicate == Predicate::Same
                && c.vars
                    .iter()
                    .filter(|v| scalars.iter().any(|s| s == v.as_str()))
                    .count()
                    == 1
        })
    };
    instances.retain(|scalars| !one_scalar(scalars));
    for (i, scalars) in instances.iter().enumerate() {
        match check_algebra_instance(rule, scalars) {
            // An instance with scalars that does not type (a scalar where a product needs
            // sizes to agree, say) is no instance of the rule.
            Err(Instance::Unread(_)) if i > 0 => {}
            Err(Instance::Unread(e) | Instance::Wrong(e)) => return Err(e),
            Ok(()) => {}
        }
    }
    Ok(())
}

enum Instance {
    Unread(String),
    Wrong(String),
}

fn check_algebra_instance(rule: &Rule, scalars: &[String]) -> Result<(), Instance> {
    let lhs = read(rule, &as_input(rule, &rule.text.0, scalars)).map_err(Instance::Unread)?;
    let rhs_text = as_input(rule, &rule.text.1, scalars);
    let rhs = read(
        rule,
        &format!(
            "{}{}",
            lhs.declarations(),
            rhs_text.rsplit("; ").next().unwrap()
        ),
    )
    .map_err(Instance::Unread)?;
    let in_domain = |p: &Point| eval::eval(&lhs.expr, p).is_some_and(|v| finite(&v));
    let mut checked = 0;
    for point in points(&lhs, in_domain) {
        checked += 1;
        let (l, r) = (
            eval::eval(&lhs.expr, &point).unwrap(),
            eval::eval(&rhs.expr, &point),
        );
        if !r.as_ref().is_some_and(|r| close(r, &l, 1e-9)) {
            return Err(Instance::Wrong(format!(
                "{}: {} => {} (scalars: {scalars:?}): {l} vs {r:?}",
                rule.name, rule.text.0, rule.text.1
            )));
        }
    }
    if checked == 0 {
        let message = format!("rule {}: no random data in its domain", rule.name);
        return Err(Instance::Wrong(message));
    }
    Ok(())
}

#[test]
fn every_algebra_rule_holds_numerically() {
    let failures: Vec<String> = rules::group("algebra")
        .iter()
        .filter_map(|r| check_algebra(r).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn an_unsound_algebra_rule_is_caught() {
    let unsound = [
        "commutes: ?A * ?B => ?B * ?A",
        "wrong-transpose: (?A * ?B)' => ?A' * ?B' if square(?A), square(?B)",
        "wrong-trace: tr(?A * ?B * ?C) => tr(?B * ?A * ?C)",
        "wrong-sign: ?A - ?B => ?B - ?A",
    ];
    for text in unsound {
        let rule = &rules::load("test", text).expect("the rule loads")[0];
        assert!(
            check_algebra(rule).is_err(),
            "`{text}` passed the numeric test"
        );
    }
}

/// The directional derivative of `e` along `directions` by central differences.
fn directional(e: &Expr, point: &Point) -> Option<Value> {
    let h = 1e-6;
    let at = |t: f64| {
        let mut p = point.clone();
        for (v, dv) in &point.directions {
            let moved = &p.values[v] + dv * t;
            p.values.insert(*v, moved);
        }
        eval::eval(e, &p)
    };
    Some((at(h)? - at(-h)?) / (2.0 * h))
}

/// The right side of a differential rule, with each d(...) replaced by its value.
fn lower(
    pat: &Pat,
    bindings: &[(egg::Symbol, Expr)],
    point: &mut Point,
    fresh: &mut usize,
) -> Option<Expr> {
    Some(match pat {
        Pat::Var(v) => bindings
            .iter()
            .find(|(b, _)| b == v)
            .expect("bound")
            .1
            .clone(),
        Pat::D(inner) => {
            let inner = nabla::differentiate::instantiate(inner, bindings);
            let value = directional(&inner, point)?;
            *fresh += 1;
            let name = egg::Symbol::from(format!("differential{fresh}"));
            point.values.insert(name, value);
            Expr::leaf(Op::Var(name, Props::default()), inner.shape)
        }
        Pat::Node(Op::Num(n), _) => Expr::num(n.clone()),
        Pat::Node(op, args) => {
            let args = args
                .iter()
                .map(|a| lower(a, bindings, point, fresh))
                .collect::<Option<Vec<_>>>()?;
            build::apply(op.clone(), args)
        }
    })
}

#[test]
fn every_differential_rule_matches_finite_differences() {
    let mut failures = Vec::new();
    for rule in rules::group("differentials") {
        let inner_text = rule
            .text
            .0
            .strip_prefix("d(")
            .and_then(|t| t.strip_suffix(')'))
            .expect("d(...) on the left");
        let f = read(rule, &as_input(rule, inner_text, &[])).unwrap_or_else(|e| panic!("{e}"));
        let Pat::D(lhs) = &rule.lhs else {
            panic!("rule {}: the left side is not d(...)", rule.name)
        };
        let constant = |v: &str| {
            rule.conditions
                .iter()
                .any(|c| c.predicate == Predicate::Const && c.vars[0].as_str() == v)
        };
        let in_domain = |p: &Point| eval::eval(&f.expr, p).is_some_and(|v| finite(&v));
        let mut checked = 0;
        for (draw, mut point) in points(&f, in_domain).enumerate() {
            let mut rng = eval::rng(100 + draw as u64);
            let mut bindings = Vec::new();
            for var in lhs.vars() {
                let Some(v) = f.variable(var.as_str()) else {
                    continue;
                };
                let dims = point.dims(v.shape);
                let direction = eval::random_value(dims, v.props, Draw::Signed, &mut rng)
                    * if constant(var.as_str()) { 0.0 } else { 1.0 };
                point.directions.insert(v.name, direction);
                bindings.push((var, Expr::leaf(Op::Var(v.name, v.props), v.shape)));
            }
            for var in lhs
                .vars()
                .into_iter()
                .filter(|v| f.variable(v.as_str()).is_none())
            {
                let value = literal(rule, var.as_str()).expect("a literal variable");
                bindings.push((var, nabla::read(value).expect("a number").expr));
            }
            let Some(expected) = directional(&f.expr, &point) else {
                continue;
            };
            let rhs = lower(&rule.rhs, &bindings, &mut point, &mut 0);
            let got = rhs.as_ref().and_then(|r| eval::eval(r, &point));
            checked += 1;
            if !got.as_ref().is_some_and(|g| close(g, &expected, 1e-5)) {
                failures.push(format!("{}: {expected} vs {got:?}", rule.name));
                break;
            }
        }
        assert!(
            checked > 0,
            "rule {}: no random data in its domain",
            rule.name
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn load_error(text: &str) -> String {
    match rules::load("test", text) {
        Err(e @ Error::Rule { .. }) => e.to_string(),
        other => panic!("`{text}` loaded: {other:?}"),
    }
}

#[test]
fn a_malformed_rule_is_an_error_naming_its_line() {
    let cases = [
        ("ok: ?A => ?A\nbroken: ?A + => ?A", "rules/test.rules:2"),
        ("twice: ?A => ?A\ntwice: ?B => ?B", "used twice"),
        ("unbound: ?A => ?B", "?B is not bound"),
        (
            "unknown: ?A => ?A if shiny(?A)",
            "unknown predicate `shiny`",
        ),
        ("arity: ?A => ?A if same(?A)", "takes 2 variable(s)"),
        ("no-arrow: ?A", "expected `=>`"),
        ("function: frob(?A) => ?A", "unknown function `frob`"),
        ("named: A => A", "pattern variables"),
        ("bad name!: ?A => ?A", "not a rule name"),
    ];
    for (text, expected) in cases {
        let message = load_error(text);
        assert!(
            message.contains(expected),
            "`{text}` gave `{message}`, which lacks `{expected}`"
        );
    }
}
