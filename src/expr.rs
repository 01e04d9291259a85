//! The typed expression tree shared by every stage after parsing: each node knows its shape.

use crate::shape::{Dim, Shape};
use egg::Symbol;
use num_rational::BigRational;
use std::fmt;
use std::sync::Arc;

/// A function of the language, applied to one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Func {
    /// Elementwise exponential.
    Exp,
    /// Elementwise natural logarithm.
    Log,
    /// Elementwise sine.
    Sin,
    /// Elementwise cosine.
    Cos,
    /// Elementwise tangent.
    Tan,
    /// Elementwise hyperbolic tangent.
    Tanh,
    /// Elementwise logistic function 1/(1+exp(-u)).
    Sigmoid,
    /// Elementwise max(u, 0).
    Relu,
    /// Elementwise Heaviside step (0 for u < 0, 1 for u > 0), relu's derivative.
    Step,
    /// Elementwise absolute value.
    Abs,
    /// Elementwise sign.
    Sign,
    /// Elementwise square root.
    Sqrt,
    /// Sum of all entries.
    Sum,
    /// Sum of absolute values of the entries.
    Norm1,
    /// Euclidean (Frobenius for matrices) norm.
    Norm2,
    /// Trace of a square matrix.
    Tr,
    /// Determinant.
    Det,
    /// Logarithm of the determinant.
    Logdet,
    /// Matrix inverse.
    Inv,
    /// Vector to diagonal matrix, or matrix to its diagonal as a vector.
    Diag,
    /// The columns of a matrix stacked into one column.
    Vec,
    /// softmax(u) = exp(u)/sum(exp(u)) of a vector.
    Softmax,
    /// log(sum(exp(u))) of a vector: a smooth maximum.
    Logsumexp,
    /// The mean of all entries.
    Mean,
}

impl Func {
    /// Every function, for lookup by name.
    pub const ALL: [Func; 24] = [
        Func::Exp,
        Func::Log,
        Func::Sin,
        Func::Cos,
        Func::Tan,
        Func::Tanh,
        Func::Sigmoid,
        Func::Relu,
        Func::Step,
        Func::Abs,
        Func::Sign,
        Func::Sqrt,
        Func::Sum,
        Func::Norm1,
        Func::Norm2,
        Func::Tr,
        Func::Det,
        Func::Logdet,
        Func::Inv,
        Func::Diag,
        Func::Vec,
        Func::Softmax,
        Func::Logsumexp,
        Func::Mean,
    ];

    /// The name used in the input language.
    pub fn name(self) -> &'static str {
        match self {
            Func::Exp => "exp",
            Func::Log => "log",
            Func::Sin => "sin",
            Func::Cos => "cos",
            Func::Tan => "tan",
            Func::Tanh => "tanh",
            Func::Sigmoid => "sigmoid",
            Func::Relu => "relu",
            Func::Step => "step",
            Func::Abs => "abs",
            Func::Sign => "sign",
            Func::Sqrt => "sqrt",
            Func::Sum => "sum",
            Func::Norm1 => "norm1",
            Func::Norm2 => "norm2",
            Func::Tr => "tr",
            Func::Det => "det",
            Func::Logdet => "logdet",
            Func::Inv => "inv",
            Func::Diag => "diag",
            Func::Vec => "vec",
            Func::Softmax => "softmax",
            Func::Logsumexp => "logsumexp",
            Func::Mean => "mean",
        }
    }

    /// The function of a given name.
    pub fn from_name(name: &str) -> Option<Func> {
        Func::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether the function applies entry by entry.
    pub fn is_elementwise(self) -> bool {
        matches!(
            self,
            Func::Exp
                | Func::Log
                | Func::Sin
                | Func::Cos
                | Func::Tan
                | Func::Tanh
                | Func::Sigmoid
                | Func::Relu
                | Func::Step
                | Func::Abs
                | Func::Sign
                | Func::Sqrt
        )
    }

    /// Whether the function takes an array to a scalar (sum, norms, tr, det, …).
    pub fn is_reduction(self) -> bool {
        matches!(
            self,
            Func::Sum
                | Func::Norm1
                | Func::Norm2
                | Func::Tr
                | Func::Det
                | Func::Logdet
                | Func::Logsumexp
                | Func::Mean
        )
    }

    /// The shape of the result for an argument of the given shape.
    pub fn result_shape(self, arg: Shape) -> Shape {
        match self {
            _ if self.is_reduction() => Shape::SCALAR,
            Func::Diag if arg.is_column() => Shape::new(arg.rows, arg.rows),
            Func::Diag if !arg.is_scalar() => Shape::column(arg.rows),
            Func::Vec => Shape::column(arg.rows.times(arg.cols)),
            _ => arg,
        }
    }
}

/// Structural properties of a declared matrix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Props {
    /// Symmetric: A' = A.
    pub sym: bool,
    /// Symmetric positive definite.
    pub spd: bool,
    /// Diagonal.
    pub diag: bool,
}

impl Props {
    /// Whether the value equals its transpose.
    pub fn symmetric(self) -> bool {
        self.sym || self.spd || self.diag
    }
}

/// The operator at a node.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// An exact rational scalar.
    Num(BigRational),
    /// A declared or default-named variable.
    Var(Symbol, Props),
    /// The differential `dX` of the variable `X`.
    Dvar(Symbol),
    /// The identity matrix of the node's shape.
    Eye,
    /// The all-ones array of the node's shape.
    Ones,
    /// The zero array of the node's shape.
    Zero,
    /// Negation.
    Neg,
    /// Sum (a scalar broadcasts).
    Add,
    /// Difference (a scalar broadcasts).
    Sub,
    /// Matrix product, or scaling when one side is a scalar.
    Mul,
    /// Division by a scalar.
    Div,
    /// Scalar power, or integer power of a square matrix.
    Pow,
    /// Transpose.
    T,
    /// Elementwise product (a scalar broadcasts).
    Had,
    /// Elementwise quotient (a scalar broadcasts).
    HDiv,
    /// Elementwise power.
    HPow,
    /// A function of the language.
    Call(Func),
    /// The Kronecker product A ⊗ B.
    Kron,
    /// The commutation matrix K(m, n), with K(m, n) vec(A) = vec(Aᵀ) for an m × n matrix A.
    Commutation(Dim, Dim),
    /// A dimension used as a number (`sum(x)/n`): a scalar.
    Size(Dim),
    /// Elementwise maximum (a scalar broadcasts).
    Max,
    /// Elementwise minimum (a scalar broadcasts).
    Min,
}

impl From<crate::parse::BinOp> for Op {
    fn from(op: crate::parse::BinOp) -> Op {
        use crate::parse::BinOp;
        match op {
            BinOp::Add => Op::Add,
            BinOp::Sub => Op::Sub,
            BinOp::Mul => Op::Mul,
            BinOp::Div => Op::Div,
            BinOp::Pow => Op::Pow,
            BinOp::Had => Op::Had,
            BinOp::HDiv => Op::HDiv,
            BinOp::HPow => Op::HPow,
        }
    }
}

/// A node of a typed expression: an operator, its arguments and the shape of its value.
#[derive(Debug)]
pub struct Node {
    /// The operator.
    pub op: Op,
    /// The arguments, in order.
    pub args: Vec<Expr>,
    /// The shape of the value.
    pub shape: Shape,
    /// A structural hash, computed once from the children's, so that hashing and comparing
    /// large expressions (shared-subexpression search, e-graph conversion) stays cheap.
    hash: u64,
    /// Operators, calls and transposes as a reader counts them (names and numbers free),
    /// the tree's, computed once from the children's.
    size: usize,
    /// The nodes on the longest path down to a leaf (a leaf is 1), computed once.
    depth: u32,
}

/// A shared, immutable typed expression; equality and hashing are structural.
#[derive(Clone, Debug)]
pub struct Expr(pub Arc<Node>);

impl PartialEq for Expr {
    fn eq(&self, other: &Expr) -> bool {
        structurally_equal(self, other, &mut rustc_hash::FxHashSet::default())
    }
}

/// Structural equality over DAGs: each pair of nodes is compared once (`equal` holds the pairs
/// already found equal), so two copies of a deeply shared expression built apart compare in
/// time linear in their number of distinct nodes, not in their size as trees.
fn structurally_equal(
    a: &Expr,
    b: &Expr,
    equal: &mut rustc_hash::FxHashSet<(usize, usize)>,
) -> bool {
    if Arc::ptr_eq(&a.0, &b.0) {
        return true;
    }
    if a.hash != b.hash || a.op != b.op || a.shape != b.shape || a.args.len() != b.args.len() {
        return false;
    }
    let pair = (Arc::as_ptr(&a.0) as usize, Arc::as_ptr(&b.0) as usize);
    if equal.contains(&pair) {
        return true;
    }
    let same = (a.args.iter().zip(&b.args)).all(|(x, y)| structurally_equal(x, y, equal));
    if same {
        equal.insert(pair);
    }
    same
}

impl Eq for Expr {}

impl std::hash::Hash for Expr {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

thread_local! {
    /// The nodes built on this thread, so that a structurally equal node is built once.
    static INTERNED: std::cell::RefCell<Interner> = Default::default();
}

/// Hash-consing: equal nodes built on one thread are one allocation, so equality of
/// expressions from one derivation is a pointer comparison, and sharing is never lost by
/// building the same subexpression twice. Entries hold weak references; dead ones are swept
/// when the table has doubled since the last sweep.
#[derive(Default)]
struct Interner {
    nodes: rustc_hash::FxHashMap<u64, Vec<std::sync::Weak<Node>>>,
    entries: usize,
    swept_at: usize,
}

impl Interner {
    fn intern(&mut self, op: Op, args: Vec<Expr>, shape: Shape, hash: u64) -> Expr {
        let bucket = self.nodes.entry(hash).or_default();
        let before = bucket.len();
        bucket.retain(|n| n.strong_count() > 0);
        self.entries -= before - bucket.len();
        let found = bucket
            .iter()
            .filter_map(std::sync::Weak::upgrade)
            .find(|n| {
                n.op == op
                    && n.shape == shape
                    && n.args.len() == args.len()
                    && n.args
                        .iter()
                        .zip(&args)
                        .all(|(a, b)| Arc::ptr_eq(&a.0, &b.0))
            });
        if let Some(node) = found {
            return Expr(node);
        }
        let own = usize::from(!matches!(op, Op::Num(_) | Op::Var(..) | Op::Dvar(_)));
        let size = (args.iter()).fold(own, |n, a| n.saturating_add(a.size));
        let depth = 1 + args.iter().map(|a| a.depth).max().unwrap_or(0);
        let node = Arc::new(Node {
            op,
            args,
            shape,
            hash,
            size,
            depth,
        });
        bucket.push(Arc::downgrade(&node));
        self.entries += 1;
        if self.entries > 2 * self.swept_at.max(1 << 16) {
            self.sweep();
        }
        Expr(node)
    }

    fn sweep(&mut self) {
        self.nodes.retain(|_, bucket| {
            bucket.retain(|n| n.strong_count() > 0);
            !bucket.is_empty()
        });
        self.entries = self.nodes.values().map(Vec::len).sum();
        self.swept_at = self.entries;
    }
}

impl std::ops::Deref for Expr {
    type Target = Node;
    fn deref(&self) -> &Node {
        &self.0
    }
}

impl Expr {
    /// A node with the given operator, arguments and shape, taken as given.
    pub fn node(op: Op, args: Vec<Expr>, shape: Shape) -> Expr {
        use std::hash::{Hash, Hasher};
        let mut hasher = rustc_hash::FxHasher::default();
        (&op, &shape).hash(&mut hasher);
        args.iter().for_each(|a| hasher.write_u64(a.hash));
        let hash = hasher.finish();
        crate::budget::tick();
        INTERNED.with(|table| table.borrow_mut().intern(op, args, shape, hash))
    }

    /// Operators, calls and transposes in the printed form, as a reader counts them: the
    /// constants `ones(n)`, `eye(n)`, … are calls; names and numbers are free.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The terms of a sum of arrays of one shape, each with whether it is subtracted:
    /// a - (b - c) is [(false, a), (true, b), (false, c)]; anything else is its own one term.
    pub fn signed_terms(&self) -> Vec<(bool, Expr)> {
        fn go(e: &Expr, negative: bool, out: &mut Vec<(bool, Expr)>) {
            let same = |e: &Expr| e.a().shape == e.b().shape;
            match e.op {
                Op::Add if same(e) => {
                    go(e.a(), negative, out);
                    go(e.b(), negative, out);
                }
                Op::Sub if same(e) => {
                    go(e.a(), negative, out);
                    go(e.b(), !negative, out);
                }
                Op::Neg => go(e.a(), !negative, out),
                _ => out.push((negative, e.clone())),
            }
        }
        let mut out = Vec::new();
        go(self, false, &mut out);
        out
    }

    /// A leaf.
    pub fn leaf(op: Op, shape: Shape) -> Expr {
        Expr::node(op, Vec::new(), shape)
    }

    /// A rational scalar.
    pub fn num(value: BigRational) -> Expr {
        Expr::leaf(Op::Num(value), Shape::SCALAR)
    }

    /// An integer scalar.
    pub fn int(value: i64) -> Expr {
        Expr::num(BigRational::from_integer(value.into()))
    }

    /// The zero of a shape.
    pub fn zero(shape: Shape) -> Expr {
        if shape.is_scalar() {
            Expr::int(0)
        } else {
            Expr::leaf(Op::Zero, shape)
        }
    }

    /// The identity matrix of size `n`.
    pub fn eye(n: Dim) -> Expr {
        if n.is_one() {
            Expr::int(1)
        } else {
            Expr::leaf(Op::Eye, Shape::new(n, n))
        }
    }

    /// The all-ones array of a shape.
    pub fn ones(shape: Shape) -> Expr {
        if shape.is_scalar() {
            Expr::int(1)
        } else {
            Expr::leaf(Op::Ones, shape)
        }
    }

    /// The nodes on the longest path from this one down to a leaf: a leaf has depth 1.
    pub fn depth(&self) -> usize {
        self.0.depth as usize
    }

    /// The first argument.
    pub fn a(&self) -> &Expr {
        &self.args[0]
    }

    /// The second argument.
    pub fn b(&self) -> &Expr {
        &self.args[1]
    }

    /// The rational value, if this is a number.
    pub fn as_num(&self) -> Option<&BigRational> {
        match &self.op {
            Op::Num(n) => Some(n),
            _ => None,
        }
    }

    /// Whether this is the zero of its shape.
    pub fn is_zero(&self) -> bool {
        self.op == Op::Zero
            || self
                .as_num()
                .is_some_and(|n| *n == BigRational::from_integer(0.into()))
    }

    /// Whether this is the scalar 1.
    pub fn is_one(&self) -> bool {
        self.as_num()
            .is_some_and(|n| *n == BigRational::from_integer(1.into()))
    }

    /// Whether any node satisfies `pred`.
    pub fn any(&self, pred: &impl Fn(&Expr) -> bool) -> bool {
        pred(self) || self.args.iter().any(|a| a.any(pred))
    }

    /// Whether the expression mentions the variable `x` (or its differential).
    pub fn depends_on(&self, x: Symbol) -> bool {
        self.any(&|e| matches!(e.op, Op::Var(v, _) | Op::Dvar(v) if v == x))
    }

    /// Whether the expression contains a differential `dX`.
    pub fn has_dvar(&self) -> bool {
        self.any(&|e| matches!(e.op, Op::Dvar(_)))
    }

    /// Whether the value is known to equal its own transpose.
    pub fn is_symmetric(&self) -> bool {
        if self.shape.is_scalar() {
            return true;
        }
        if !self.shape.is_square() {
            return false;
        }
        match &self.op {
            Op::Var(_, props) => props.symmetric(),
            Op::Eye | Op::Zero | Op::Ones => true,
            Op::Add | Op::Sub => {
                (self.a().is_symmetric() && self.b().is_symmetric())
                    || (self.op == Op::Add && is_transpose_of(self.a(), self.b()))
            }
            Op::Neg | Op::Call(Func::Inv) => self.a().is_symmetric(),
            Op::Call(Func::Diag) => self.a().shape.is_column(),
            Op::Call(f) if f.is_elementwise() => self.a().is_symmetric(),
            Op::Mul if self.a().shape.is_scalar() => self.b().is_symmetric(),
            Op::Mul if self.b().shape.is_scalar() => self.a().is_symmetric(),
            Op::Mul => is_palindrome(&matrix_factors(self)),
            Op::Div | Op::T => self.a().is_symmetric(),
            Op::Had | Op::HDiv | Op::HPow => self.a().is_symmetric() && self.b().is_symmetric(),
            Op::Pow => self.a().is_symmetric(),
            Op::Kron => self.a().is_symmetric() && self.b().is_symmetric(),
            Op::Commutation(m, n) => m == n,
            _ => false,
        }
    }
}

/// The number of nodes of `e` written out as a tree (shared parts counted each time they
/// occur), computed over the DAG with `memo`.
pub fn tree_size(e: &Expr, memo: &mut rustc_hash::FxHashMap<Expr, usize>) -> usize {
    if let Some(&n) = memo.get(e) {
        return n;
    }
    let n = e
        .args
        .iter()
        .fold(1usize, |n, a| n.saturating_add(tree_size(a, memo)));
    memo.insert(e.clone(), n);
    n
}

/// The factors of a matrix product in order, scalings left out (they commute and are
/// symmetric): `2*A*S*A'` is `[A, S, A']`.
fn matrix_factors(e: &Expr) -> Vec<&Expr> {
    match e.op {
        Op::Mul if e.a().shape.is_scalar() => matrix_factors(e.b()),
        Op::Mul if e.b().shape.is_scalar() => matrix_factors(e.a()),
        Op::Mul => [matrix_factors(e.a()), matrix_factors(e.b())].concat(),
        _ => vec![e],
    }
}

/// Whether a product of `factors` is its own transpose because they read the same backwards:
/// each factor the transpose of its mirror, or equal to it and symmetric (A*S*A', B'*r*r'*B).
fn is_palindrome(factors: &[&Expr]) -> bool {
    let k = factors.len();
    let mirrored = (0..k / 2).all(|i| {
        let (a, b) = (factors[i], factors[k - 1 - i]);
        is_transpose_of(a, b) || (a == b && a.is_symmetric())
    });
    mirrored && (k.is_multiple_of(2) || factors[k / 2].is_symmetric())
}

/// Whether `b` is syntactically the transpose of `a`.
fn is_transpose_of(a: &Expr, b: &Expr) -> bool {
    (b.op == Op::T && b.a() == a) || (a.op == Op::T && a.a() == b)
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::print::to_text(self))
    }
}
