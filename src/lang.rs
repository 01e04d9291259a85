//! The e-graph language: nabla's operators as egg e-nodes, with an analysis that keeps each
//! e-class's shape, symmetry and constant value.

use crate::build;
use crate::expr::{Expr, Func, Op};
use crate::rules::Facts;
use crate::shape::Shape;
use egg::{Analysis, DidMerge, EGraph, Id, Language};
use smallvec::SmallVec;
use std::fmt;

/// An e-node: an operator, the shape of a leaf (a fixed placeholder for inner nodes, whose shape
/// follows from their children) and the children.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Math {
    /// The operator.
    pub op: Op,
    /// The shape of a leaf; `Shape::SCALAR` for inner nodes.
    pub leaf_shape: Shape,
    /// The children (at most two: inline, so that copying an e-node allocates nothing; a
    /// `SmallVec` hashes and orders as the `Vec` it replaces).
    pub children: SmallVec<[Id; 2]>,
}

/// An e-node's operator as the e-graph indexes it: every number under one key, so that taking
/// a key never copies a big rational (the e-graph takes one per e-node on every rebuild); a
/// pattern's number is still matched by value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    /// Any number.
    Number,
    /// Any other operator (never `Op::Num`).
    Other(Op),
}

impl Language for Math {
    type Discriminant = (Operator, Shape, usize);

    fn discriminant(&self) -> Self::Discriminant {
        let op = match &self.op {
            Op::Num(_) => Operator::Number,
            op => Operator::Other(op.clone()),
        };
        (op, self.leaf_shape, self.children.len())
    }

    fn matches(&self, other: &Self) -> bool {
        same_op(&self.op, &other.op)
            && self.leaf_shape == other.leaf_shape
            && self.children.len() == other.children.len()
    }

    fn children(&self) -> &[Id] {
        &self.children
    }

    fn children_mut(&mut self) -> &mut [Id] {
        &mut self.children
    }
}

/// `a == b`, decided inline for the operators without data (`Mul`, `T`, ...): e-matching
/// compares operators more than anything else. Any other operator is compared in full.
#[inline]
fn same_op(a: &Op, b: &Op) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
        && match a {
            Op::Eye | Op::Ones | Op::Zero | Op::Neg | Op::Add | Op::Sub | Op::Mul | Op::Div => true,
            Op::Pow | Op::T | Op::Had | Op::HDiv | Op::HPow | Op::Kron | Op::Max | Op::Min => true,
            _ => a == b,
        }
}

impl fmt::Display for Math {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.op {
            Op::Var(v, _) | Op::Dvar(v) => write!(f, "{v}"),
            Op::Num(n) => write!(f, "{n}"),
            Op::Call(func) => write!(f, "{}", func.name()),
            op => write!(f, "{op:?}"),
        }
    }
}

/// The facts each e-class carries; merging two classes of different shapes is a bug in a rule.
#[derive(Default)]
pub struct MatrixAnalysis;

impl Analysis<Math> for MatrixAnalysis {
    type Data = Facts;

    fn make(egraph: &mut EGraph<Math, Self>, enode: &Math, _id: Id) -> Facts {
        let child = |i: usize| &egraph[enode.children[i]].data;
        let shape = shape_of(enode, &|i| child(i).shape);
        let num = fold(enode, &|i| child(i).num.clone());
        let symmetric = shape.is_scalar() || (shape.is_square() && symmetric(egraph, enode));
        Facts {
            shape,
            symmetric,
            num,
            constant: true,
        }
    }

    fn pre_union(egraph: &EGraph<Math, Self>, a: Id, b: Id, why: &Option<egg::Justification>) {
        let (sa, sb) = (egraph[a].data.shape, egraph[b].data.shape);
        assert_eq!(
            sa, sb,
            "{why:?} equated values of shapes {sa} and {sb}: the rule is unsound"
        );
    }

    fn merge(&mut self, to: &mut Facts, from: Facts) -> DidMerge {
        let mut changed_to = false;
        if to.num.is_none() && from.num.is_some() {
            to.num = from.num.clone();
            changed_to = true;
        }
        if !to.symmetric && from.symmetric {
            to.symmetric = true;
            changed_to = true;
        }
        let changed_from =
            (from.num.is_none() && to.num.is_some()) || (!from.symmetric && to.symmetric);
        DidMerge(changed_to, changed_from)
    }

    fn modify(egraph: &mut EGraph<Math, Self>, id: Id) {
        if let Some(n) = egraph[id].data.num.clone() {
            let leaf = egraph.add(Math {
                op: Op::Num(n),
                leaf_shape: Shape::SCALAR,
                children: SmallVec::new(),
            });
            egraph.union(id, leaf);
        }
    }
}

/// The shape of an e-node, given its children's shapes.
pub fn shape_of(enode: &Math, child: &dyn Fn(usize) -> Shape) -> Shape {
    let either = || {
        if child(0).is_scalar() {
            child(1)
        } else {
            child(0)
        }
    };
    match &enode.op {
        Op::Num(_) => Shape::SCALAR,
        Op::Var(..) | Op::Dvar(_) | Op::Eye | Op::Ones | Op::Zero | Op::Commutation(..) => {
            enode.leaf_shape
        }
        Op::Size(_) => Shape::SCALAR,
        Op::Max | Op::Min => either(),
        Op::Neg | Op::Div | Op::Pow => child(0),
        Op::Add | Op::Sub | Op::Had | Op::HDiv | Op::HPow => either(),
        Op::Mul => build::product_shape(child(0), child(1)),
        Op::T => child(0).transposed(),
        Op::Call(f) => f.result_shape(child(0)),
        Op::Kron => Shape::new(
            child(0).rows.times(child(1).rows),
            child(0).cols.times(child(1).cols),
        ),
    }
}

/// The value of an operator on known rational arguments, folded exactly.
fn fold(
    enode: &Math,
    child: &dyn Fn(usize) -> Option<num_rational::BigRational>,
) -> Option<num_rational::BigRational> {
    if enode.children.is_empty() {
        return match &enode.op {
            Op::Num(n) => Some(n.clone()),
            _ => None,
        };
    }
    let args = (0..enode.children.len())
        .map(|i| child(i).map(Expr::num))
        .collect::<Option<Vec<_>>>()?;
    build::apply(enode.op.clone(), args).as_num().cloned()
}

/// Whether an e-node is symmetric by its structure: sums of symmetric terms, AᵀA, inverses, …
fn symmetric(egraph: &EGraph<Math, MatrixAnalysis>, enode: &Math) -> bool {
    let sym = |i: usize| egraph[enode.children[i]].data.symmetric;
    let scalar = |i: usize| egraph[enode.children[i]].data.shape.is_scalar();
    let transpose_of = |a: Id, b: Id| {
        egraph[b]
            .nodes
            .iter()
            .any(|n| n.op == Op::T && egraph.find(n.children[0]) == egraph.find(a))
    };
    match &enode.op {
        Op::Var(_, props) => props.symmetric(),
        Op::Eye | Op::Zero | Op::Ones => true,
        Op::Add | Op::Sub | Op::Had | Op::HDiv | Op::HPow => {
            (sym(0) && sym(1))
                || (enode.op == Op::Add && transpose_of(enode.children[0], enode.children[1]))
        }
        Op::Neg | Op::Div | Op::Pow | Op::T => sym(0),
        Op::Call(Func::Inv) => sym(0),
        Op::Call(Func::Diag) => true,
        Op::Call(f) if f.is_elementwise() => sym(0),
        Op::Mul if scalar(0) => sym(1),
        Op::Mul if scalar(1) => sym(0),
        Op::Mul => transpose_of(enode.children[0], enode.children[1]),
        Op::Kron => sym(0) && sym(1),
        Op::Commutation(m, n) => m == n,
        _ => false,
    }
}
