//! Smart constructors: build typed nodes, computing their shape and folding the trivial
//! identities (0 + U, 1·U, U'', exact rational arithmetic) so later stages never see them.

use crate::expr::{Expr, Func, Op};
use crate::shape::{Dim, Shape};
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
        Op::Kron => kron(next(), next()),
        Op::Max | Op::Min => extremum(op, next(), next()),
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
    if let Some(spread) = broadcast_past_zero(&a, &b, shape) {
        return spread;
    }
    if let Some(spread) = broadcast_past_zero(&b, &a, shape) {
        return spread;
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

/// A scalar plus or minus a zero array is the scalar spread over the array's shape, s·1; the
/// scalar alone would lose the shape.
fn broadcast_past_zero(a: &Expr, b: &Expr, shape: Shape) -> Option<Expr> {
    (a.shape.is_scalar() && b.is_zero() && !shape.is_scalar())
        .then(|| mul(a.clone(), Expr::ones(shape)))
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
    if b.is_zero() && (b.shape == shape || b.shape.is_scalar()) && a.shape == shape {
        return a;
    }
    if let Some(spread) = broadcast_past_zero(&a, &b, shape) {
        return spread;
    }
    if let Some(spread) = broadcast_past_zero(&b, &a, shape) {
        return neg(spread);
    }
    if a.is_zero() && a.shape == shape && b.shape == shape {
        return neg(b);
    }
    if b.op == Op::Neg {
        return add(a, b.a().clone());
    }
    if a.op == Op::Eye
        && let Some(rest) = resolvent_complement(&b)
    {
        return rest;
    }
    Expr::node(Op::Sub, vec![a, b], shape)
}

/// uᵀ(c + v) = c·sum(u) + uᵀv where the entries of u have a known sum (a softmax's sum to
/// 1): `softmax(z)'*(1 + log(p))` is `1 + softmax(z)'*log(p)`; `None` otherwise.
fn inner_product_with_known_sum(a: &Expr, b: &Expr) -> Option<Expr> {
    // uᵀs = sᵀu for columns: the shifted sum may stand on either side.
    let (u, sum) = match (&a.op, &b.op) {
        (Op::T, Op::Add | Op::Sub) if b.shape.is_column() => (a.a(), b),
        (Op::T, _) if b.shape.is_column() && matches!(a.a().op, Op::Add | Op::Sub) => (b, a.a()),
        _ => return None,
    };
    let (c, v, negative) = match (
        &sum.op,
        sum.a().shape.is_scalar(),
        sum.b().shape.is_scalar(),
    ) {
        (Op::Add, true, false) => (sum.a(), sum.b(), false),
        (Op::Add, false, true) => (sum.b(), sum.a(), false),
        (Op::Sub, true, false) => (sum.a(), sum.b(), true),
        _ => return None,
    };
    let total = call(Func::Sum, u.clone());
    total.as_num()?;
    let row = || t(u.clone());
    let spread = mul(c.clone(), total);
    Some(match negative {
        true => sub(spread, mul(row(), v.clone())),
        false => add(spread, mul(row(), v.clone())),
    })
}

/// A simpler argument of the same sign as `e` (what step and sign see): a positive factor
/// goes (2*u is u, -2*u is -u), and exp(u) - 1 has the sign of u.
fn same_sign(e: &Expr) -> Option<Expr> {
    let one = |x: &Expr| x.as_num().is_some_and(|n| n.is_one());
    let exp = |x: &Expr| (x.op == Op::Call(Func::Exp)).then(|| x.a().clone());
    match e.op {
        Op::Mul => {
            let c = e.a().as_num()?;
            let u = e.b().clone();
            (!c.is_zero()).then(|| if c.is_positive() { u } else { neg(u) })
        }
        Op::Sub if one(e.b()) => exp(e.a()),
        Op::Sub if one(e.a()) => exp(e.b()).map(neg),
        _ => None,
    }
}

/// The push-through identity for a column u: uᵀ(I + uuᵀ)⁻¹ = uᵀ/(1 + uᵀu), the form of a
/// gradient (the column form (I + uuᵀ)⁻¹u is left, where the inverse is shared with other
/// terms); `None` for any other product.
fn pushed_through(a: &Expr, b: &Expr) -> Option<Expr> {
    let outer = |inverse: &Expr, u: &Expr| {
        let sum = (inverse.op == Op::Call(Func::Inv)).then(|| inverse.a())?;
        let terms = (sum.op == Op::Add).then(|| (sum.a(), sum.b()))?;
        let product = match terms {
            (i, p) | (p, i) if i.op == Op::Eye && p.op == Op::Mul => p,
            _ => return None,
        };
        let is_u = product.a() == u && product.b().op == Op::T && product.b().a() == u;
        is_u.then(|| add(Expr::int(1), mul(t(u.clone()), u.clone())))
    };
    match (&a.op, &b.op) {
        (Op::T, _) if a.a().shape.is_column() => Some(div(a.clone(), outer(b, a.a())?)),
        _ => None,
    }
}

/// The resolvent identities: I - X(X + A)⁻¹ = A(X + A)⁻¹ and I - (X + A)⁻¹X = (X + A)⁻¹A;
/// `None` unless `e` is X(X + A)⁻¹ or (X + A)⁻¹X with X a term of the sum.
fn resolvent_complement(e: &Expr) -> Option<Expr> {
    if e.op != Op::Mul {
        return None;
    }
    let (left, right) = (e.a(), e.b());
    let (inverse, x, inverse_first) = match (&left.op, &right.op) {
        (_, Op::Call(Func::Inv)) => (right, left, false),
        (Op::Call(Func::Inv), _) => (left, right, true),
        _ => return None,
    };
    let sum = inverse.a();
    let other = match sum.op {
        Op::Add if sum.a() == x && sum.b().shape == x.shape => sum.b(),
        Op::Add if sum.b() == x && sum.a().shape == x.shape => sum.a(),
        _ => return None,
    };
    Some(match inverse_first {
        true => mul(inverse.clone(), other.clone()),
        false => mul(other.clone(), inverse.clone()),
    })
}

/// `-a`.
pub fn neg(a: Expr) -> Expr {
    if let Some(n) = a.as_num() {
        return Expr::num(-n);
    }
    match a.op {
        Op::Zero => a,
        Op::Neg => a.a().clone(),
        // -(-p - q) = p + q.
        Op::Sub if a.a().op == Op::Neg => add(a.a().a().clone(), a.b().clone()),
        _ => Expr::node(Op::Neg, vec![a.clone()], a.shape),
    }
}

/// -P for a product P whose leftmost factor (past scalings) is a difference p - q or its
/// transpose: the same product starting with q - p (-2*(x - m)'*S = 2*(m - x)'*S); `None` for
/// any other expression.
pub fn negated_leading_difference(p: &Expr) -> Option<Expr> {
    let swap = |d: &Expr| {
        (d.op == Op::Sub && d.a().shape == d.b().shape).then(|| sub(d.b().clone(), d.a().clone()))
    };
    match p.op {
        Op::Sub => swap(p),
        // (A*(p - q))' starts with (p - q)'.
        Op::T => swap(p.a())
            .or_else(|| negated_trailing_difference(p.a()))
            .map(t),
        Op::Div if p.b().shape.is_scalar() => {
            Some(div(negated_leading_difference(p.a())?, p.b().clone()))
        }
        Op::Mul if p.a().shape.is_scalar() && !p.b().shape.is_scalar() => {
            Some(mul(p.a().clone(), negated_leading_difference(p.b())?))
        }
        Op::Mul => Some(mul(negated_leading_difference(p.a())?, p.b().clone())),
        _ => None,
    }
}

/// -P for a product P whose rightmost factor (or a factor of an elementwise product there) is
/// a difference p - q: the same product with q - p; `None` for any other expression.
fn negated_trailing_difference(p: &Expr) -> Option<Expr> {
    match p.op {
        Op::Sub if p.a().shape == p.b().shape => Some(sub(p.b().clone(), p.a().clone())),
        Op::Mul if !p.b().shape.is_scalar() => {
            Some(mul(p.a().clone(), negated_trailing_difference(p.b())?))
        }
        // An elementwise product absorbs it in either factor: -(u .* (y - v)) = u .* (v - y).
        Op::Had => (negated_trailing_difference(p.b()).map(|b| had(p.a().clone(), b)))
            .or_else(|| negated_trailing_difference(p.a()).map(|a| had(a, p.b().clone()))),
        _ => None,
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
    if let Some(pushed) = pushed_through(&a, &b) {
        return pushed;
    }
    if let Some(distributed) = inner_product_with_known_sum(&a, &b) {
        return distributed;
    }
    if b.is_one() || (b.op == Op::Eye && !a.shape.is_scalar()) {
        return a;
    }
    // A scaled identity is a scaling: A*(c*I) = c*A.
    let scaled_identity =
        |e: &Expr| e.op == Op::Mul && e.a().shape.is_scalar() && e.b().op == Op::Eye;
    if scaled_identity(&b) && !a.shape.is_scalar() {
        return mul(b.a().clone(), a);
    }
    if scaled_identity(&a) && !b.shape.is_scalar() {
        return mul(a.a().clone(), b);
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
    // A A⁻¹ = A⁻¹ A = I.
    let inverse_of = |p: &Expr, q: &Expr| q.op == Op::Call(Func::Inv) && q.a() == p;
    if !a.shape.is_scalar() && (inverse_of(&a, &b) || inverse_of(&b, &a)) {
        return Expr::eye(shape.rows);
    }
    // (Aᵏ)⁻¹ A = A (Aᵏ)⁻¹ = (Aᵏ⁻¹)⁻¹ for a whole k ≥ 2.
    let inverse_power_of = |p: &Expr, q: &Expr| {
        let power = (q.op == Op::Call(Func::Inv)).then(|| q.a())?;
        let k = (power.op == Op::Pow && power.a() == p).then(|| power.b().as_num())??;
        (k.is_integer() && *k >= BigRational::from_integer(2.into())).then(|| {
            let lower = pow(p.clone(), Expr::num(k - BigRational::one()));
            call(Func::Inv, lower)
        })
    };
    if !a.shape.is_scalar()
        && let Some(reduced) = inverse_power_of(&a, &b).or_else(|| inverse_power_of(&b, &a))
    {
        return reduced;
    }
    // Scalars leave a product with Kronecker factors first: (A ⊗ B)(2 C) = 2 (A ⊗ B) C.
    if b.op == Op::Mul
        && b.a().shape.is_scalar()
        && !a.shape.is_scalar()
        && (a.op == Op::Kron || b.b().op == Op::Kron)
    {
        return mul(b.a().clone(), mul(a, b.b().clone()));
    }
    if let Some(p) = mixed_product(&a, &b) {
        return p;
    }
    if let Some(p) = commuted_kron(&a, &b) {
        return p;
    }
    // 1ᵀ diag(u) = uᵀ and diag(u) 1 = u: the sum of a diagonal matrix's rows or columns.
    let diag_of_column = |e: &Expr| e.op == Op::Call(Func::Diag) && e.a().shape.is_column();
    if a.op == Op::Ones && a.shape.is_row() && diag_of_column(&b) {
        return t(b.a().clone());
    }
    if b.op == Op::Ones && b.shape.is_column() && diag_of_column(&a) {
        return a.a().clone();
    }
    // (P ⊗ Q)((R ⊗ S) M) = (PR ⊗ QS) M, so chains of Kronecker factors collapse.
    if b.op == Op::Mul
        && let Some(p) = mixed_product(&a, b.a())
    {
        return mul(p, b.b().clone());
    }
    if let (Op::Commutation(m, n), Op::Commutation(p, q)) = (&a.op, &b.op)
        && (m, n) == (q, p)
    {
        return Expr::eye(shape.rows);
    }
    Expr::node(Op::Mul, vec![a, b], shape)
}

/// (A ⊗ B)(C ⊗ D) = AC ⊗ BD, where both products are defined. A plain matrix M is taken as
/// 1 ⊗ M or M ⊗ 1 where that fits, so (x ⊗ I)M = x ⊗ M for a column x.
fn mixed_product(a: &Expr, b: &Expr) -> Option<Expr> {
    if a.op != Op::Kron && b.op != Op::Kron {
        return None;
    }
    let one = Expr::int(1);
    let factors = |e: &Expr, other_is_kron: bool| -> Vec<(Expr, Expr)> {
        match e.op {
            Op::Kron => vec![(e.a().clone(), e.b().clone())],
            _ if other_is_kron && !e.shape.is_scalar() => {
                vec![(one.clone(), e.clone()), (e.clone(), one.clone())]
            }
            _ => vec![],
        }
    };
    let (left, right) = (factors(a, b.op == Op::Kron), factors(b, a.op == Op::Kron));
    left.iter()
        .flat_map(|l| right.iter().map(move |r| (l, r)))
        .find(|((p, q), (r, s))| p.shape.cols == r.shape.rows && q.shape.cols == s.shape.rows)
        .map(|((p, q), (r, s))| kron(mul(p.clone(), r.clone()), mul(q.clone(), s.clone())))
}

/// A commutation matrix moved through a Kronecker product where it becomes the identity:
/// (A ⊗ B) K(m, n) = K(r, s) (B ⊗ A) for A of size r × m and B of size s × n, and
/// K(r, s) (C ⊗ D) = (D ⊗ C) K(m, n) for C of size s × n and D of size r × m; K(1, s) = I.
fn commuted_kron(a: &Expr, b: &Expr) -> Option<Expr> {
    if let Some((k, swapped)) = commutation_to_the_left(a, b)
        && k.op == Op::Eye
    {
        return Some(swapped);
    }
    if let (Op::Commutation(r, s), Op::Kron) = (&a.op, &b.op) {
        let (left, right) = (b.a(), b.b());
        let fits = left.shape.rows == *s && right.shape.rows == *r;
        if fits && (left.shape.cols.is_one() || right.shape.cols.is_one()) {
            return Some(kron(right.clone(), left.clone()));
        }
    }
    None
}

/// (K(r, s), B ⊗ A) for the product (A ⊗ B) K(m, n), A of size r × m and B of size s × n.
pub fn commutation_to_the_left(kron_product: &Expr, k: &Expr) -> Option<(Expr, Expr)> {
    let (Op::Kron, Op::Commutation(m, n)) = (&kron_product.op, &k.op) else {
        return None;
    };
    let (left, right) = (kron_product.a(), kron_product.b());
    (left.shape.cols == *m && right.shape.cols == *n).then(|| {
        (
            commutation(left.shape.rows, right.shape.rows),
            kron(right.clone(), left.clone()),
        )
    })
}

/// `a ⊗ b`, the Kronecker product; a scalar factor scales, I ⊗ I is one identity.
pub fn kron(a: Expr, b: Expr) -> Expr {
    let shape = Shape::new(
        a.shape.rows.times(b.shape.rows),
        a.shape.cols.times(b.shape.cols),
    );
    if a.shape.is_scalar() || b.shape.is_scalar() {
        return mul(a, b);
    }
    if a.is_zero() || b.is_zero() {
        return Expr::zero(shape);
    }
    if a.op == Op::Eye && b.op == Op::Eye {
        return Expr::eye(shape.rows);
    }
    // A column and a row: u ⊗ vᵀ = vᵀ ⊗ u = u vᵀ.
    if a.shape.is_column() && b.shape.is_row() {
        return mul(a, b);
    }
    if a.shape.is_row() && b.shape.is_column() {
        return mul(b, a);
    }
    // Associativity, where the first two factors combine: u ⊗ (vᵀ ⊗ C) = u vᵀ ⊗ C.
    if b.op == Op::Kron
        && ((a.shape.is_column() && b.a().shape.is_row())
            || (a.shape.is_row() && b.a().shape.is_column()))
    {
        return kron(kron(a, b.a().clone()), b.b().clone());
    }
    for (scaled, other, left) in [(&a, &b, true), (&b, &a, false)] {
        if scaled.op == Op::Neg || (scaled.op == Op::Mul && scaled.a().shape.is_scalar()) {
            let (factor, rest) = match scaled.op {
                Op::Neg => (Expr::int(-1), scaled.a().clone()),
                _ => (scaled.a().clone(), scaled.b().clone()),
            };
            let inner = if left {
                kron(rest, other.clone())
            } else {
                kron(other.clone(), rest)
            };
            return mul(factor, inner);
        }
    }
    Expr::node(Op::Kron, vec![a, b], shape)
}

/// The commutation matrix K(m, n): K(m, n) vec(A) = vec(Aᵀ) for A of size m × n; the
/// identity when A is a vector.
pub fn commutation(m: crate::shape::Dim, n: crate::shape::Dim) -> Expr {
    let size = m.times(n);
    if m.is_one() || n.is_one() {
        return Expr::eye(size);
    }
    Expr::leaf(Op::Commutation(m, n), Shape::new(size, size))
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
    // (uᵀu)^(k/2) = ‖u‖ᵏ for a column u: the norm a textbook writes, (x'*x)^(-1/2) = 1/‖x‖.
    if let Some(p) = b.as_num()
        && !p.is_integer()
        && (p * BigRational::from_integer(2.into())).is_integer()
        && let Some(u) = self_inner_product(&a)
    {
        let twice = Expr::num(p * BigRational::from_integer(2.into()));
        return pow(call(Func::Norm2, u), twice);
    }
    Expr::node(Op::Pow, vec![a.clone(), b], a.shape)
}

/// `u` when `e` is uᵀu for a column u.
fn self_inner_product(e: &Expr) -> Option<Expr> {
    (e.op == Op::Mul && e.a().op == Op::T && e.a().a() == e.b() && e.b().shape.is_column())
        .then(|| e.b().clone())
}

/// `a'`.
pub fn t(a: Expr) -> Expr {
    match &a.op {
        _ if a.shape.is_scalar() => a,
        Op::T => a.a().clone(),
        Op::Eye => a,
        Op::Var(_, props) if props.symmetric() => a,
        Op::Zero | Op::Ones => Expr::leaf(a.op.clone(), a.shape.transposed()),
        Op::Commutation(m, n) => commutation(*n, *m),
        Op::Kron => kron(t(a.a().clone()), t(a.b().clone())),
        Op::Neg => neg(t(a.a().clone())),
        // inv(B')' = inv(B).
        Op::Call(Func::Inv) if a.a().op == Op::T => call(Func::Inv, a.a().a().clone()),
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
    // Scalar factors leave an elementwise product: u .* (2*v) = 2*(u .* v), also from
    // inside a matrix product (u .* (c*A*B) = c*(u .* (A*B))).
    if let Some((c, rest)) = leading_scalar(&b) {
        return mul(c, had(a, rest));
    }
    if let Some((c, rest)) = leading_scalar(&a) {
        return mul(c, had(rest, b));
    }
    Expr::node(Op::Had, vec![a.clone(), b], a.shape)
}

/// `max(a, b)` or `min(a, b)` entry by entry (a scalar broadcasts), folded for numbers.
pub fn extremum(op: Op, a: Expr, b: Expr) -> Expr {
    let larger = op == Op::Max;
    if let Some(n) = fold(&a, &b, |x, y| {
        Some(if (x > y) == larger {
            x.clone()
        } else {
            y.clone()
        })
    }) {
        return n;
    }
    if a == b {
        return a;
    }
    let shape = broadcast(a.shape, b.shape);
    Expr::node(op, vec![a, b], shape)
}

/// A dimension as a number: a literal folds, a product is the product of its factors'
/// sizes (so `(m*n)` printed and read back is the same expression).
pub fn size(d: Dim) -> Expr {
    d.factors()
        .into_iter()
        .map(|f| match f {
            Dim::Lit(n) => Expr::num(BigRational::from_integer(n.into())),
            sym => Expr::leaf(Op::Size(sym), Shape::SCALAR),
        })
        .reduce(mul)
        .unwrap_or_else(|| Expr::int(1))
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
    // A unit fraction in the denominator is a whole number in the numerator:
    // u./(1/2*v) = 2*u./v.
    if b.op == Op::Mul
        && let Some(c) = b.a().as_num()
        && !c.is_zero()
        && c.recip().is_integer()
        && !c.is_integer()
    {
        return hdiv(mul(Expr::num(c.recip()), a), b.b().clone());
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
        Func::Diag if a.op == Op::Ones && a.shape.is_column() => return Expr::eye(a.shape.rows),
        // diag(diag(v)) = v for a column v; inv(diag(v)) = diag(1./v).
        Func::Diag if a.op == Op::Call(Func::Diag) && a.a().shape.is_column() => {
            return a.a().clone();
        }
        Func::Inv if a.op == Op::Call(Func::Diag) && a.a().shape.is_column() => {
            return call(Func::Diag, hdiv(Expr::int(1), a.a().clone()));
        }
        // vec(a bᵀ) = b ⊗ a for columns a and b.
        Func::Vec if a.op == Op::Mul && a.a().shape.is_column() && a.b().shape.is_row() => {
            return kron(t(a.b().clone()), a.a().clone());
        }
        Func::Step | Func::Sign if let Some(same) = same_sign(&a) => return call(f, same),
        Func::Vec if a.shape.cols.is_one() => return a,
        Func::Vec if a.shape.rows.is_one() => return t(a),
        Func::Vec if a.is_zero() => return Expr::zero(shape),
        Func::Tr | Func::Sum if a.op == Op::Eye => return size(a.shape.rows),
        Func::Sum | Func::Tr if a.is_zero() => return Expr::int(0),
        // The entries of a softmax sum to 1.
        Func::Sum if a.op == Op::Call(Func::Softmax) => return Expr::int(1),
        // Linear functions let scalar factors out: tr(c*A) = c*tr(A), diag(2*x) = 2*diag(x),
        // tr(c*A*B) = c*tr(A*B), tr(A/c) = tr(A)/c.
        Func::Tr | Func::Sum | Func::Diag | Func::Vec if leading_scalar(&a).is_some() => {
            let (c, rest) = leading_scalar(&a).expect("a scalar factor");
            return mul(c, call(f, rest));
        }
        Func::Tr | Func::Sum | Func::Diag | Func::Vec if a.op == Op::Div => {
            return div(call(f, a.a().clone()), a.b().clone());
        }
        Func::Tr | Func::Sum | Func::Diag | Func::Vec if a.op == Op::Neg => {
            return neg(call(f, a.a().clone()));
        }
        Func::Tr | Func::Det | Func::Logdet if a.op == Op::T => return call(f, a.a().clone()),
        Func::Inv if a.op == Op::Call(Func::Inv) => return a.a().clone(),
        Func::Inv if a.op == Op::Eye => return a,
        Func::Det if a.op == Op::Call(Func::Inv) => {
            return div(Expr::int(1), call(Func::Det, a.a().clone()));
        }
        Func::Logdet if a.op == Op::Call(Func::Inv) => {
            return neg(call(Func::Logdet, a.a().clone()));
        }
        // The inverse of a scalar is its reciprocal, written as a textbook (and NumPy) does;
        // the log-determinant of a scalar is log|a|.
        Func::Inv if a.shape.is_scalar() => return div(Expr::int(1), a),
        Func::Logdet if a.shape.is_scalar() => return call(Func::Log, call(Func::Abs, a)),
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

/// `(c, R)` for a product c·R whose leftmost factor c is a scalar, looking into products
/// grouped to the left: ((c·A)·B) is c·(A·B); a scalar on the right of an array counts too
/// (scalars commute): A·c is c·A.
pub fn leading_scalar(e: &Expr) -> Option<(Expr, Expr)> {
    if e.op != Op::Mul {
        return None;
    }
    // An inner product lets a scaling of its row out: (c*x')*y is c*(x'*y).
    if e.shape.is_scalar() {
        if e.a().shape.is_scalar() || e.b().shape.is_scalar() {
            return None;
        }
        let (c, rest) = leading_scalar(e.a())?;
        return Some((c, mul(rest, e.b().clone())));
    }
    if e.a().shape.is_scalar() {
        return Some((e.a().clone(), e.b().clone()));
    }
    if e.b().shape.is_scalar() {
        return Some((e.b().clone(), e.a().clone()));
    }
    let (c, rest) = leading_scalar(e.a())?;
    Some((c, mul(rest, e.b().clone())))
}

/// Rebuilds `e` with every node for which `replace` answers replaced, bottom-up, sharing kept.
pub fn substitute(e: &Expr, replace: &impl Fn(&Expr) -> Option<Expr>) -> Expr {
    fn go(
        e: &Expr,
        replace: &impl Fn(&Expr) -> Option<Expr>,
        memo: &mut rustc_hash::FxHashMap<Expr, Expr>,
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
    go(e, replace, &mut rustc_hash::FxHashMap::default())
}
