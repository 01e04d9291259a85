//! The identity table: rules read from `rules/*.rules` at build time and checked when loaded.
//!
//! A rule is one line, `name: lhs => rhs [if predicate(?A), ...]`, in the input language with
//! pattern variables `?A` and, in `differentials.rules`, the differential `d(...)`.

use crate::error::{Error, Result};
use crate::expr::{Expr, Func, Op};
use crate::parse::{self, Syntax, SyntaxKind};
use crate::shape::Shape;
use egg::Symbol;
use num_rational::BigRational;
use num_traits::Signed;
use std::sync::OnceLock;

/// The rule files compiled into nabla: (group, text).
pub const RULE_FILES: &[(&str, &str)] = &[
    (
        "differentials",
        include_str!("../rules/differentials.rules"),
    ),
    ("algebra", include_str!("../rules/algebra.rules")),
];

/// A pattern: an expression with holes.
#[derive(Clone, Debug, PartialEq)]
pub enum Pat {
    /// A pattern variable `?A`.
    Var(Symbol),
    /// An operator applied to sub-patterns (a number is a leaf `Op::Num`).
    Node(Op, Vec<Pat>),
    /// The differential `d(...)`.
    D(Box<Pat>),
}

/// A named property a matched sub-expression must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Predicate {
    /// Does not depend on the variable of differentiation.
    Const,
    /// A 1 × 1 value.
    Scalar,
    /// Not a 1 × 1 value.
    Array,
    /// A column vector (n × 1, n not 1).
    Vector,
    /// As many rows as columns.
    Square,
    /// Equal to its transpose.
    Sym,
    /// A rational literal.
    Num,
    /// A positive integer literal.
    PosInt,
    /// A negative integer literal.
    NegInt,
    /// Two values of one shape (no scalar broadcast between them); takes two variables.
    Same,
    /// Two values whose product `?A * ?B` is defined; takes two variables.
    Product,
}

impl Predicate {
    const NAMES: [(&'static str, Predicate); 11] = [
        ("vector", Predicate::Vector),
        ("num", Predicate::Num),
        ("product", Predicate::Product),
        ("same", Predicate::Same),
        ("const", Predicate::Const),
        ("scalar", Predicate::Scalar),
        ("array", Predicate::Array),
        ("square", Predicate::Square),
        ("sym", Predicate::Sym),
        ("posint", Predicate::PosInt),
        ("negint", Predicate::NegInt),
    ];

    /// The predicate of a given name.
    pub fn from_name(name: &str) -> Option<Predicate> {
        Predicate::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| *p)
    }

    /// The name used in rule files.
    pub fn name(self) -> &'static str {
        Predicate::NAMES
            .iter()
            .find(|(_, p)| *p == self)
            .map_or("?", |(n, _)| n)
    }

    /// How many pattern variables the predicate takes.
    pub fn arity(self) -> usize {
        if matches!(self, Predicate::Same | Predicate::Product) {
            2
        } else {
            1
        }
    }

    /// Whether values with these facts (one per variable) satisfy the predicate.
    pub fn holds(self, args: &[&Facts]) -> bool {
        let facts = args[0];
        let integer = |f: fn(&BigRational) -> bool| {
            facts.num.as_ref().is_some_and(|n| n.is_integer() && f(n))
        };
        match self {
            Predicate::Const => facts.constant,
            Predicate::Scalar => facts.shape.is_scalar(),
            Predicate::Array => !facts.shape.is_scalar(),
            Predicate::Vector => facts.shape.is_column(),
            Predicate::Square => facts.shape.is_square(),
            Predicate::Sym => facts.symmetric,
            Predicate::Num => facts.num.is_some(),
            Predicate::PosInt => integer(|n| n.is_positive()),
            Predicate::NegInt => integer(|n| n.is_negative()),
            Predicate::Same => args[0].shape == args[1].shape,
            Predicate::Product => {
                let (a, b) = (args[0].shape, args[1].shape);
                a.is_scalar() || b.is_scalar() || a.cols == b.rows
            }
        }
    }
}

/// What the predicates need to know about a value.
#[derive(Clone, Debug, PartialEq)]
pub struct Facts {
    /// Its shape.
    pub shape: Shape,
    /// Whether it equals its transpose.
    pub symmetric: bool,
    /// Its value, when it is a known rational.
    pub num: Option<BigRational>,
    /// Whether it is constant (for differentials: free of the variable).
    pub constant: bool,
}

impl Facts {
    /// The facts of a typed expression; `constant` tells whether it is free of the variable.
    pub fn of(e: &Expr, constant: bool) -> Facts {
        Facts {
            shape: e.shape,
            symmetric: e.is_symmetric(),
            num: e.as_num().cloned(),
            constant,
        }
    }
}

/// A condition of a rule: a predicate on some of its pattern variables.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// The predicate.
    pub predicate: Predicate,
    /// The pattern variables it tests.
    pub vars: Vec<Symbol>,
}

/// One rule of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Its name, unique within the table.
    pub name: String,
    /// The file it comes from, without `.rules`.
    pub group: &'static str,
    /// Its 1-based line.
    pub line: usize,
    /// The left side.
    pub lhs: Pat,
    /// The right side.
    pub rhs: Pat,
    /// Conditions on the variables, all of which must hold.
    pub conditions: Vec<Condition>,
    /// The two sides as written, for tests and reference tables.
    pub text: (String, String),
}

/// Every rule of a group, loaded once.
pub fn group(name: &str) -> &'static [Rule] {
    static TABLE: OnceLock<Vec<Rule>> = OnceLock::new();
    let all = TABLE.get_or_init(|| {
        load_all().unwrap_or_else(|e| panic!("the built-in rule table is broken: {e}"))
    });
    let start = all
        .iter()
        .position(|r| r.group == name)
        .unwrap_or(all.len());
    let len = all[start..].iter().take_while(|r| r.group == name).count();
    &all[start..start + len]
}

/// Loads and checks every rule file: names unique across files.
pub fn load_all() -> Result<Vec<Rule>> {
    let mut all: Vec<Rule> = Vec::new();
    for (group, text) in RULE_FILES {
        for rule in load(group, text)? {
            if let Some(other) = all.iter().find(|r| r.name == rule.name) {
                return Err(Error::Rule {
                    file: format!("rules/{group}.rules"),
                    line: rule.line,
                    message: format!(
                        "the name `{}` is taken by rules/{}.rules:{}",
                        rule.name, other.group, other.line
                    ),
                });
            }
            all.push(rule);
        }
    }
    Ok(all)
}

/// Parses one rule file.
pub fn load(group: &'static str, text: &str) -> Result<Vec<Rule>> {
    let mut rules = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let fail = |message: String| Error::Rule {
            file: format!("rules/{group}.rules"),
            line: index + 1,
            message,
        };
        let rule = parse_rule(group, index + 1, line).map_err(fail)?;
        if rules.iter().any(|r: &Rule| r.name == rule.name) {
            return Err(fail(format!("the name `{}` is used twice", rule.name)));
        }
        rules.push(rule);
    }
    Ok(rules)
}

fn parse_rule(group: &'static str, line: usize, text: &str) -> std::result::Result<Rule, String> {
    let (name, body) = text.split_once(':').ok_or("expected `name: lhs => rhs`")?;
    let name = name.trim();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "`{name}` is not a rule name (letters, digits, `-`)"
        ));
    }
    let (lhs_text, rest) = body
        .split_once("=>")
        .ok_or("expected `=>` between the two sides")?;
    let (rhs_text, conds_text) = match rest.split_once(" if ") {
        Some((r, c)) => (r, Some(c)),
        None => (rest, None),
    };
    let side = |t: &str| -> std::result::Result<Pat, String> {
        let syntax = parse::parse_expr(t.trim(), true).map_err(|e| e.render(t.trim()))?;
        to_pattern(&syntax)
    };
    let (lhs, rhs) = (side(lhs_text)?, side(rhs_text)?);
    let mut conditions = Vec::new();
    for cond in conds_text.map(split_conditions).unwrap_or_default() {
        let cond = cond.trim();
        let (pred, vars) = cond
            .strip_suffix(')')
            .and_then(|c| c.split_once('('))
            .ok_or_else(|| format!("expected a condition like `const(?A)`, found `{cond}`"))?;
        let predicate = Predicate::from_name(pred.trim()).ok_or_else(|| {
            let known: Vec<_> = Predicate::NAMES.iter().map(|(n, _)| *n).collect();
            format!(
                "unknown predicate `{pred}`; the predicates are {}",
                known.join(", ")
            )
        })?;
        let vars = vars
            .split(';')
            .map(|v| v.trim().strip_prefix('?').map(Symbol::from))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("the arguments of `{pred}` are pattern variables such as ?A"))?;
        if vars.len() != predicate.arity() {
            return Err(format!("`{pred}` takes {} variable(s)", predicate.arity()));
        }
        conditions.push(Condition { predicate, vars });
    }
    let bound = lhs.vars();
    for var in rhs
        .vars()
        .iter()
        .chain(conditions.iter().flat_map(|c| &c.vars))
    {
        if !bound.contains(var) {
            return Err(format!("?{var} is not bound by the left side"));
        }
    }
    let text = (lhs_text.trim().to_string(), rhs_text.trim().to_string());
    Ok(Rule {
        name: name.into(),
        group,
        line,
        lhs,
        rhs,
        conditions,
        text,
    })
}

/// Splits `p(?A), same(?B, ?C)` at the commas between conditions, joining a predicate's
/// arguments with `;`.
fn split_conditions(text: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut depth = 0;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(String::new());
                continue;
            }
            ',' => {
                out.last_mut().expect("nonempty").push(';');
                continue;
            }
            _ => {}
        }
        out.last_mut().expect("nonempty").push(c);
    }
    out
}

impl Pat {
    /// The pattern variables, in order of first appearance.
    pub fn vars(&self) -> Vec<Symbol> {
        let mut out = Vec::new();
        self.collect_vars(&mut out);
        out
    }

    fn collect_vars(&self, out: &mut Vec<Symbol>) {
        match self {
            Pat::Var(v) if !out.contains(v) => out.push(*v),
            Pat::Var(_) => {}
            Pat::Node(_, args) => args.iter().for_each(|a| a.collect_vars(out)),
            Pat::D(a) => a.collect_vars(out),
        }
    }
}

fn to_pattern(e: &Syntax) -> std::result::Result<Pat, String> {
    let node = |op: Op, args: &[&Syntax]| -> std::result::Result<Pat, String> {
        Ok(Pat::Node(
            op,
            args.iter()
                .map(|a| to_pattern(a))
                .collect::<std::result::Result<_, _>>()?,
        ))
    };
    match &e.kind {
        SyntaxKind::Num(n) => Ok(Pat::Node(Op::Num(n.clone()), vec![])),
        SyntaxKind::Pat(v) => Ok(Pat::Var(Symbol::from(v.as_str()))),
        SyntaxKind::Name(n) => Err(format!(
            "`{n}`: rules use pattern variables `?{n}`, not names"
        )),
        SyntaxKind::Neg(a) => node(Op::Neg, &[a]),
        SyntaxKind::T(a) => node(Op::T, &[a]),
        SyntaxKind::Bin(op, a, b) => {
            let op = Op::from(*op);
            node(op, &[a, b])
        }
        SyntaxKind::Call(name, _, args) if name == "d" && args.len() == 1 => {
            Ok(Pat::D(Box::new(to_pattern(&args[0])?)))
        }
        SyntaxKind::Call(name, _, args) if name == "kron" => match args.as_slice() {
            [a, b] => node(Op::Kron, &[a, b]),
            _ => Err("`kron` takes two arguments".into()),
        },
        SyntaxKind::Call(name, _, args) if name == "max" || name == "min" => {
            match args.as_slice() {
                [a, b] => node(if name == "max" { Op::Max } else { Op::Min }, &[a, b]),
                _ => Err(format!("`{name}` takes two arguments")),
            }
        }
        SyntaxKind::Call(name, _, args) => {
            let f = Func::from_name(name).ok_or_else(|| format!("unknown function `{name}`"))?;
            match args.as_slice() {
                [a] => node(Op::Call(f), &[a]),
                _ => Err(format!("`{name}` takes one argument")),
            }
        }
    }
}
