//! Smart constructors: build typed nodes, computing their shape and folding the trivial
//! identities (0 + U, 1·U, U'', exact rational arithmetic) so later stages never see them.

use crate::expr::{Expr, Func, Op};
use crate::shape::Shape;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

/// Builds the node `op(args)`, simplifying trivial cases.
pub fn apply(op: Op, args: Vec<Expr>) -> Expr {
    let mut args = args.into_iter();
    let mut next = || args.next().expect("operator applied to too few arguments");
    match op {
        Op::Neg => neg(next()),
        Op::Add => add(next(), next()),
        Op::Sub => sub(next(), next()),
        Op::Mul => mul(next(), next()),
        Op::Div => div(next(), next()),
        Op::Pow => pow(next(), next()),
        Op::T => t(next()),
        Op::Had => had(next(), next()),
        Op::HDiv => hdiv(next(), next()),
        Op::HPow => hpow(next(), next()),
        Op::Call(f) => call(f, next()),
        leaf => panic!("apply called on leaf {leaf:?}"),
    }
}

/// The shape of an elementwise combination: a scalar broadcasts.
fn broadcast(a: Shape, b: Shape) -> Shape {
    if a.is_scalar() { b } else { a }
}

fn fold(
    a: &Expr,
    b: &Expr,
    f: impl Fn(&BigRational, &BigRational) -> Option<BigRational>,
) -> Option<Expr> {
    Some(Expr::num(f(a.as_num()?, b.as_num()?)?))
}

/// `(k, X)` for `k*X` with a number k, else `(1, X)`: the coefficient and the term.
fn coefficient(e: &Expr) -> (BigRational, &Expr) {
    match e.as_num() {
        None if e.op == Op::Mul && e.a().as_num().is_some() => {
            (e.a().as_num().unwrap().clone(), e.b())
        }
        _ => (BigRational::one(), e),
    }
}

/// `a + b`; like terms combine (`2*X + X = 3*X`), so long sums do not reach the simplifier.
pub fn add(a: Expr, b: Expr) -> Expr {
    let shape = broadcast(a.shape, b.shape);
    if let Some(n) = fold(&a, &b, |x, y| Some(x + y)) {
        return n;
    }
    if a.as_num().is_none() && a.shape == b.shape {
        let ((ka, ta), (kb, tb)) = (coefficient(&a), coefficient(&b));
        if ta == tb {
            return mul(Expr::num(ka + kb), ta.clone());
        }
        // The last term of a left-grouped sum: (s + k*X) + X = s + (k+1)*X.
        if a.op == Op::Add && a.b().shape == b.shape {
            let (kl, tl) = coefficient(a.b());
            if tl == tb {
                return add(a.a().clone(), mul(Expr::num(kl + kb), tb.clone()));
            }
        }
    }
    // A zero adds nothing, also when it is a scalar broadcast over an array.
    if a.is_zero() && (a.shape == shape || a.shape.is_scalar()) && b.shape == shape {
        return b;
    }
    if b.is_zero() && (b.shape == shape || b.shape.is_scalar()) && a.shape == shape {
        return a;
    }
    if b.op == Op::Neg {
        return sub(a, b.a().clone());
    }
    if let Some(n) = b.as_num().filter(|n| n.is_negative()) {
        return sub(a, Expr::num(-n));
    }
    if a.op == Op::Neg {
        return sub(b, a.a().clone());
    }
    Expr::node(Op::Add, vec![a, b], shape)
}

/// `a - b`; like terms combine (`3*X - X = 2*X`, `X - X = 0`).
pub fn sub(a: Expr, b: Expr) -> Expr {
    let shape = broadcast(a.shape, b.shape);
    if let Some(n) = fold(&a, &b, |x, y| Some(x - y)) {
        return n;
    }
    if a.as_num().is_none() && a.shape == b.shape {
        let ((ka, ta), (kb, tb)) = (coefficient(&a), coefficient(&b));
        if ta == tb {
            return mul(Expr::num(ka - kb), ta.clone());
        }
    }
    if b.is_zero() && b.shape == shape {
        return a;
    }
    if a.is_zero() && a.shape == shape && b.shape == shape {
        return neg(b);
    }
    if b.op == Op::Neg {
        return add(a, b.a().clone());
    }
    Expr::node(Op::Sub, vec![a, b], shape)
}

/// `-a`.
pub fn neg(a: Expr) -> Expr {
    if let Some(n) = a.as_num() {
        return Expr::num(-n);
    }
    match a.op {
        Op::Zero => a,
        Op::Neg => a.a().clone(),
        _ => Expr::node(Op::Neg, vec![a.clone()], a.shape),
    }
}

/// The shape of `a * b`: scaling when one side is a scalar, else the matrix product.
pub fn product_shape(a: Shape, b: Shape) -> Shape {
    if a.is_scalar() {
        b
    } else if b.is_scalar() {
        a
    } else {
        Shape::new(a.rows, b.cols)
    }
}

/// `a * b`: matrix product, or scaling when one side is a scalar.
pub fn mul(a: Expr, b: Expr) -> Expr {
    let shape = product_shape(a.shape, b.shape);
    if let Some(n) = fold(&a, &b, |x, y| Some(x * y)) {
        return n;
    }
    if a.is_zero() || b.is_zero() {
        return Expr::zero(shape);
    }
    if a.is_one() || (a.op == Op::Eye && !b.shape.is_scalar()) {
        return b;
    }
    if b.is_one() || (b.op == Op::Eye && !a.shape.is_scalar()) {
        return a;
    }
    if a.op == Op::Neg {
        return neg(mul(a.a().clone(), b));
    }
    if a.as_num().is_some_and(|n| *n == -BigRational::one()) {
        return neg(b);
    }
    if b.op == Op::Neg {
        return neg(mul(a, b.a().clone()));
    }
    // A number moves to the front and merges with a number already there: 2*(3*U) = 6*U.
    if b.as_num().is_some() {
        return mul(b, a);
    }
    if a.as_num().is_some() && b.op == Op::Mul && b.a().as_num().is_some() {
        return mul(mul(a, b.a().clone()), b.b().clone());
    }
    Expr::node(Op::Mul, vec![a, b], shape)
}

/// `a / b` for a scalar `b`.
pub fn div(a: Expr, b: Expr) -> Expr {
    if let Some(n) = fold(&a, &b, |x, y| (!y.is_zero()).then(|| x / y)) {
        return n;
    }
    if b.is_one() || a.is_zero() {
        return a;
    }
    if let Some(n) = b.as_num().filter(|n| !n.is_zero()) {
        return mul(Expr::num(n.recip()), a);
    }
    if a.op == Op::Neg {
        return neg(div(a.a().clone(), b));
    }
    Expr::node(Op::Div, vec![a.clone(), b], a.shape)
}

/// `a ^ b`: scalar power, or integer power of a square matrix.
pub fn pow(a: Expr, b: Expr) -> Expr {
    // Exact powers are folded while the result stays small (a tower 9^64^64 is left as it is).
    let bits = |n: &BigRational| n.numer().bits() + n.denom().bits();
    if let (Some(x), Some(p)) = (a.as_num(), b.as_num())
        && p.is_integer()
        && p.abs() <= BigRational::from_integer(64.into())
        && bits(x) * p.abs().to_integer().to_u64().unwrap_or(u64::MAX) <= 4096
        && !(x.is_zero() && p.is_negative())
    {
        return Expr::num(num_traits::pow::Pow::pow(
            x,
            p.to_integer().to_i32().unwrap_or(0),
        ));
    }
    if b.is_one() {
        return a;
    }
    if b.is_zero() {
        return Expr::eye(a.shape.rows);
    }
    Expr::node(Op::Pow, vec![a.clone(), b], a.shape)
}

/// `a'`.
pub fn t(a: Expr) -> Expr {
    match &a.op {
        _ if a.shape.is_scalar() => a,
        Op::T => a.a().clone(),
        Op::Eye => a,
        Op::Var(_, props) if props.symmetric() => a,
        Op::Zero | Op::Ones => Expr::leaf(a.op.clone(), a.shape.transposed()),
        Op::Neg => neg(t(a.a().clone())),
        // A scaled transpose keeps its scalar in front: (2*U)' = 2*U'.
        Op::Mul if a.a().shape.is_scalar() => mul(a.a().clone(), t(a.b().clone())),
        _ => Expr::node(Op::T, vec![a.clone()], a.shape.transposed()),
    }
}

/// `a .* b`.
pub fn had(a: Expr, b: Expr) -> Expr {
    if a.shape.is_scalar() || b.shape.is_scalar() {
        return mul(a, b);
    }
    if a.is_zero() || b.is_zero() {
        return Expr::zero(a.shape);
    }
    if a.op == Op::Ones {
        return b;
    }
    if b.op == Op::Ones {
        return a;
    }
    // Scalar factors leave an elementwise product: u .* (2*v) = 2*(u .* v).
    if b.op == Op::Mul && b.a().shape.is_scalar() {
        return mul(b.a().clone(), had(a, b.b().clone()));
    }
    if a.op == Op::Mul && a.a().shape.is_scalar() {
        return mul(a.a().clone(), had(a.b().clone(), b));
    }
    Expr::node(Op::Had, vec![a.clone(), b], a.shape)
}

/// `a ./ b`.
pub fn hdiv(a: Expr, b: Expr) -> Expr {
    if b.shape.is_scalar() {
        return div(a, b);
    }
    if a.is_zero() && a.shape == b.shape {
        return a;
    }
    if a.op == Op::Ones && a.shape == b.shape {
        return hdiv(Expr::int(1), b);
    }
    let shape = broadcast(a.shape, b.shape);
    Expr::node(Op::HDiv, vec![a, b], shape)
}

/// `a .^ b`.
pub fn hpow(a: Expr, b: Expr) -> Expr {
    if a.shape.is_scalar() && b.shape.is_scalar() {
        return pow(a, b);
    }
    if b.is_one() {
        return a;
    }
    let shape = broadcast(a.shape, b.shape);
    Expr::node(Op::HPow, vec![a, b], shape)
}

/// `f(a)`.
pub fn call(f: Func, a: Expr) -> Expr {
    let shape = f.result_shape(a.shape);
    match f {
        Func::Tr | Func::Sum | Func::Det if a.shape.is_scalar() => return a,
        Func::Diag if a.shape.is_scalar() => return a,
        Func::Tr if a.op == Op::Eye => {
            if let crate::shape::Dim::Lit(n) = a.shape.rows {
                return Expr::int(n as i64);
            }
        }
        Func::Sum | Func::Tr if a.is_zero() => return Expr::int(0),
        // Linear functions let scalar factors out: tr(c*A) = c*tr(A), diag(2*x) = 2*diag(x).
        Func::Tr | Func::Sum | Func::Diag if a.op == Op::Mul && a.a().shape.is_scalar() => {
            return mul(a.a().clone(), call(f, a.b().clone()));
        }
        Func::Tr | Func::Det | Func::Logdet if a.op == Op::T => return call(f, a.a().clone()),
        Func::Inv if a.op == Op::Call(Func::Inv) => return a.a().clone(),
        _ => {}
    }
    if let Some(n) = a.as_num() {
        match f {
            Func::Abs => return Expr::num(n.abs()),
            Func::Sign => return Expr::num(n.signum()),
            Func::Inv if !n.is_zero() => return Expr::num(n.recip()),
            Func::Exp if n.is_zero() => return Expr::num(BigRational::one()),
            Func::Log if n.is_one() => return Expr::num(BigRational::zero()),
            _ => {}
        }
    }
    Expr::node(Op::Call(f), vec![a], shape)
}

/// Rebuilds `e` with every node for which `replace` answers replaced, bottom-up, sharing kept.
pub fn substitute(e: &Expr, replace: &impl Fn(&Expr) -> Option<Expr>) -> Expr {
    fn go(
        e: &Expr,
        replace: &impl Fn(&Expr) -> Option<Expr>,
        memo: &mut std::collections::HashMap<Expr, Expr>,
    ) -> Expr {
        let key = e.clone();
        if let Some(done) = memo.get(&key) {
            return done.clone();
        }
        let out = match replace(e) {
            Some(r) => r,
            None if e.args.is_empty() => e.clone(),
            None => apply(
                e.op.clone(),
                e.args.iter().map(|a| go(a, replace, memo)).collect(),
            ),
        };
        memo.insert(key, out.clone());
        out
    }
    go(e, replace, &mut std::collections::HashMap::new())
}
