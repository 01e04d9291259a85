//! Rational normalization of the elementwise and scalar parts of an expression: each maximal
//! part built from `+ - .* ./`, scalings, numbers and integer powers is read as a fraction of
//! polynomials over its other parts (the atoms: `sigmoid(u)`, `x`, `A*x`, …), like terms are
//! combined, monomials cancel (`u.^2./u` is `u`), and each denominator factor that divides the
//! numerator exactly is cancelled (`s.*(1 - s).*(-y./s + (1 - y)./(1 - s))` is `s - y`). The
//! normal form replaces the part only where it is smaller.
//!
//! Cancelling a factor assumes it is nonzero, as textbooks do (u./u is 1).

use crate::build;
use crate::expr::{Expr, Func, Op};
use crate::shape::Shape;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;

/// Atoms by index, each with an exponent (negative in a denominator); sorted by index.
type Monomial = Vec<(usize, i32)>;

/// A sum of monomials with nonzero coefficients.
type Poly = BTreeMap<Monomial, BigRational>;

/// numerator / (product of the denominator factors), each factor a sum of two or more terms.
#[derive(Clone)]
struct Fraction {
    numerator: Poly,
    denominator: Vec<Poly>,
}

/// Past this many terms a part is left as it is: distributing products of sums multiplies
/// their lengths.
const MAX_TERMS: usize = 64;

/// Past this size (written out as a tree) a sum of diagonal matrices is left as it is:
/// normalizing its diagonal reads every shared part again (a product of 600 factors x.*x.*…
/// by x has a diagonal of 180,000 nodes).
const LARGE_DIAGONAL: usize = 2_000;

/// Sums of more terms are written as they are, not collected: each grouping tried writes its
/// parts again, recursively.
const MAX_GROUPED: usize = 16;

/// Integer powers up to this are expanded (`u.^3`); larger ones stay atoms.
const MAX_POWER: i64 = 4;

/// `e` with its elementwise parts in normal form where that makes the whole smaller. A part's
/// normal form of equal size can still shrink the whole (its number in front merges with a
/// scaling around it: 2*diag(x./(2*s)) is diag(x./s)), so the whole is built twice, taking
/// such ties each way, and the smaller kept; at equal size the form as simplified stays.
pub fn normalize(e: &Expr) -> Expr {
    let mut best = e.clone();
    // A square of a sum stays one factor, except in a last try where it is expanded, kept
    // only if smaller: (u - y).*u - (y - u).^2 is y.*(u - y).
    let squares = has_square_of_sum(e, &mut FxHashSet::default());
    let tries = [
        (Ties::Kept, false),
        (Ties::Normal, false),
        (Ties::Normal, true),
    ];
    for (ties, expand_squares) in tries {
        if expand_squares && !squares {
            continue;
        }
        let candidate = Normalizer {
            ties,
            expand_squares,
            memo: FxHashMap::default(),
        }
        .go(e);
        if candidate.size() < best.size() {
            best = candidate;
        }
    }
    best
}

/// Whether `e` holds a square of a sum, each shared node visited once (a derivative shares
/// much: a walk of its tree can take exponential time).
fn has_square_of_sum(e: &Expr, seen: &mut FxHashSet<Expr>) -> bool {
    if e.args.is_empty() || !seen.insert(e.clone()) {
        return false;
    }
    let square = matches!(e.op, Op::HPow | Op::Pow)
        && small_integer(e.b()) == Some(2)
        && matches!(e.a().op, Op::Add | Op::Sub);
    square || e.args.iter().any(|a| has_square_of_sum(a, seen))
}

/// Which form of a part wins when the two are of equal size.
#[derive(Clone, Copy, PartialEq)]
enum Ties {
    Kept,
    Normal,
}

struct Normalizer {
    ties: Ties,
    /// Whether a square of a sum is read expanded (u - y).^2 = u.^2 - 2*u.*y + y.^2.
    expand_squares: bool,
    memo: FxHashMap<Expr, Expr>,
}

impl Normalizer {
    fn go(&mut self, e: &Expr) -> Expr {
        if let Some(done) = self.memo.get(e) {
            return done.clone();
        }
        let out = if let Some(d) = self.diagonal_sum(e) {
            d
        } else if is_elementwise(e) {
            self.normal_part(e)
        } else if let Some(sum) = self.inner_product_as_sum(e) {
            sum
        } else if e.args.is_empty() {
            e.clone()
        } else {
            let args = e.args.iter().map(|a| self.go(a)).collect();
            let rebuilt = build::apply(e.op.clone(), args);
            let merged = merged_powers(&rebuilt).unwrap_or(rebuilt);
            match self.distributed(&merged) {
                Some(d) if d.size() < merged.size() => d,
                _ => merged,
            }
        };
        self.memo.insert(e.clone(), out.clone());
        out
    }

    /// The normal form of the elementwise part `e`, its atoms normalized first, or `e` over
    /// normalized atoms where that is smaller.
    fn normal_part(&mut self, e: &Expr) -> Expr {
        let normal = self.normal_form(e);
        let kept = self.rebuild_plain(e);
        let Some(normal) = normal else {
            return kept;
        };
        let (n, k) = (normal.size(), kept.size());
        let chosen = if n < k || (n == k && self.ties == Ties::Normal) {
            normal
        } else {
            kept
        };
        match factored_products(&chosen) {
            Some(f) if f.size() < chosen.size() => f,
            _ => chosen,
        }
    }

    /// The normal form of the elementwise part `e` as written from its fraction, whatever
    /// its size; `None` past [`MAX_TERMS`].
    fn normal_form(&mut self, e: &Expr) -> Option<Expr> {
        let mut atoms = Atoms::default();
        let fraction = read(e, &mut atoms, self)
            .map(cancel)
            .map(|f| cancel(pythagoras(f, &atoms.list)))
            .map(|f| sigmoids(f, &mut atoms))
            .map(|f| tanhs(f, &mut atoms))
            .map(|f| paired_atoms(f, &mut atoms))?;
        let normal = write(&fraction, &atoms.list);
        // Every array atom cancelled: the value is a scalar spread over e's shape.
        Some(match normal.shape == e.shape {
            true => normal,
            false => build::mul(normal, Expr::ones(e.shape)),
        })
    }

    /// An inner product u'*w as c*sum(v) where the normal form of u .* w is c times v for a
    /// scalar c, whatever its size: read inside a scalar expression, c meets the factors
    /// around it (2*u'*(1/2*(1 + nu)./(1 + r/(nu*s^2)))/(nu*s^3) is (1 + nu)*sum(...)/s).
    fn scaled_inner_product(&mut self, e: &Expr) -> Option<Expr> {
        let (row, w) = (e.args.first()?, e.args.get(1)?);
        if e.op != Op::Mul || !row.shape.is_row() || !w.shape.is_column() {
            return None;
        }
        let product = build::had(transposed_entrywise(row), w.clone());
        let (c, rest) = build::leading_scalar(&self.normal_form(&product)?)?;
        Some(build::mul(c, build::call(Func::Sum, rest)))
    }

    /// A sum of diagonal matrices as one, its diagonal normalized, where that is smaller:
    /// eye(n) + diag(s.^2./c.^2) is diag(1 + s.^2./c.^2), and so diag(1./c.^2) for s = sin(x)
    /// and c = cos(x).
    fn diagonal_sum(&mut self, e: &Expr) -> Option<Expr> {
        let sum = |x: &Expr| matches!(x.op, Op::Add | Op::Sub);
        let scaled_sum = match e.op {
            // A scaled sum, not any product with a sum: each level of a nested product of
            // diagonals would read the whole diagonal below it again.
            Op::Mul | Op::Div if e.args.iter().any(|a| a.shape.is_scalar()) => {
                e.args.iter().any(|a| !a.shape.is_scalar() && sum(a))
            }
            Op::Neg => sum(e.a()),
            _ => sum(e),
        };
        if !scaled_sum || e.shape.is_scalar() || e.size() > LARGE_DIAGONAL {
            return None;
        }
        let diagonal = diagonal_of_sum(e)?;
        let merged = build::call(Func::Diag, self.go(&diagonal));
        let kept = build::apply(e.op.clone(), e.args.iter().map(|a| self.go(a)).collect());
        let kept = match is_elementwise(&kept) {
            true => self.normal_part(&kept),
            false => kept,
        };
        Some(if merged.size() < kept.size() {
            merged
        } else {
            kept
        })
    }

    /// An inner product u'*w written sum(u .* w) where the elementwise product cancels to
    /// something smaller: exp(z)'*(y./(exp(z)/s)) is s*sum(y).
    /// Also inside a chain: (A*u')*w is A*(u'*w).
    fn inner_product_as_sum(&mut self, e: &Expr) -> Option<Expr> {
        let (a, w) = (e.args.first()?, e.args.get(1)?);
        if e.op != Op::Mul || !w.shape.is_column() {
            return None;
        }
        let (left, row) = match a.shape.is_row() {
            true => (None, a),
            false if a.op == Op::Mul && a.b().shape.is_row() => (Some(a.a()), a.b()),
            false => return None,
        };
        let product = build::had(transposed_entrywise(row), w.clone());
        let sum = build::call(Func::Sum, self.normal_part(&product));
        let kept = build::mul(self.go(row), self.go(w));
        // At equal size the sum still wins when a scalar leaves it to meet those around:
        // 2*u'*(1/2*c*v)/c is sum(u.*v).
        let scaled = build::leading_scalar(&sum).is_some();
        if sum.size() > kept.size() || (sum.size() == kept.size() && !scaled) {
            return None;
        }
        Some(match left {
            Some(left) => build::mul(self.go(left), sum),
            None => sum,
        })
    }

    /// A matrix product over a sum, distributed and normalized: X*(inv(X) + X*inv(X)^2) is
    /// 2*inv(X) once the powers merge and like terms combine.
    fn distributed(&mut self, e: &Expr) -> Option<Expr> {
        if e.op != Op::Mul || e.a().shape.is_scalar() || e.b().shape.is_scalar() {
            return None;
        }
        let is_sum = |x: &Expr| matches!(x.op, Op::Add | Op::Sub) && x.a().shape == x.b().shape;
        let (a, b) = (e.a(), e.b());
        let spread = if is_sum(b) {
            let terms = vec![
                build::mul(a.clone(), b.a().clone()),
                build::mul(a.clone(), b.b().clone()),
            ];
            build::apply(b.op.clone(), terms)
        } else if is_sum(a) {
            let terms = vec![
                build::mul(a.a().clone(), b.clone()),
                build::mul(a.b().clone(), b.clone()),
            ];
            build::apply(a.op.clone(), terms)
        } else {
            return None;
        };
        Some(self.go(&spread))
    }

    /// `e` rebuilt over normalized atoms, its own operators kept.
    fn rebuild_plain(&mut self, e: &Expr) -> Expr {
        if !is_elementwise(e) {
            return self.go(e);
        }
        let args = e.args.iter().map(|a| self.rebuild_plain(a)).collect();
        build::apply(e.op.clone(), args)
    }
}

/// `e'` with the transpose moved through elementwise operations to the names it reaches:
/// ((x - m)'.^2)' is (x - m).^2, which reads as a polynomial in x - m.
fn transposed_entrywise(e: &Expr) -> Expr {
    match e.op {
        Op::Had | Op::HDiv | Op::HPow | Op::Add | Op::Sub | Op::Neg => {
            let args = e.args.iter().map(transposed_entrywise).collect();
            build::apply(e.op.clone(), args)
        }
        _ => build::t(e.clone()),
    }
}

/// A sum of matrix products with the factors common to the left and right of every term
/// taken out: -P*A*Q - P*A'*Q is -P*(A + A')*Q; a term that is only the common factors
/// leaves an identity, and a commutation matrix is first moved left through a Kronecker
/// product, (A ⊗ B) K = K (B ⊗ A), so that K*P + P is (K + I)*P.
fn factored_products(e: &Expr) -> Option<Expr> {
    let terms = e.signed_terms();
    if terms.len() < 2 || e.shape.is_scalar() {
        return None;
    }
    // All terms subtracted: the minus goes in front, -P*(A + A')*Q.
    if terms.iter().all(|(negative, _)| *negative) {
        let flipped = terms.into_iter().map(|(_, t)| t).reduce(build::add)?;
        return factored_products(&flipped).map(build::neg);
    }
    let split: Vec<(bool, Vec<Expr>, Vec<Expr>)> = (terms.into_iter())
        .map(|(negative, term)| {
            let (mut scalars, mut arrays) = (Vec::new(), Vec::new());
            matrix_factors(&term, &mut scalars, &mut arrays);
            (negative, scalars, commutation_moved_left(arrays))
        })
        .collect();
    let shortest = split.iter().map(|(_, _, a)| a.len()).min()?;
    let common = |at: &dyn Fn(&Vec<Expr>, usize) -> Expr| {
        (0..shortest)
            .take_while(|&i| split.iter().all(|(_, _, a)| at(a, i) == at(&split[0].2, i)))
            .count()
    };
    let prefix = common(&|a, i| a[i].clone());
    let suffix = common(&|a, i| a[a.len() - 1 - i].clone()).min(shortest - prefix);
    if prefix + suffix == 0 {
        return None;
    }
    let first = &split[0].2;
    let product = |f: &[Expr]| f.iter().cloned().reduce(build::mul);
    let middle = (split.iter()).map(|(negative, scalars, arrays)| {
        let inner = &arrays[prefix..arrays.len() - suffix];
        let rows = arrays[prefix..]
            .first()
            .map_or(e.shape.cols, |f| f.shape.rows);
        let core = product(inner).unwrap_or_else(|| Expr::eye(rows));
        let scaled = scalars.iter().cloned().fold(core, |m, c| build::mul(c, m));
        (*negative, scaled)
    });
    let sum = middle
        .fold(None, |sum: Option<Expr>, (negative, term)| {
            Some(match (sum, negative) {
                (None, false) => term,
                (None, true) => build::neg(term),
                (Some(s), false) => build::add(s, term),
                (Some(s), true) => build::sub(s, term),
            })
        })
        .expect("two or more terms");
    let left = product(&first[..prefix]);
    let right = product(&first[first.len() - suffix..]);
    let with_left = match left {
        Some(l) => build::mul(l, sum),
        None => sum,
    };
    Some(match right {
        Some(r) => build::mul(with_left, r),
        None => with_left,
    })
}

/// Array factors with each (A ⊗ B) K(m, n) written K(r, s) (B ⊗ A).
fn commutation_moved_left(arrays: Vec<Expr>) -> Vec<Expr> {
    let mut out: Vec<Expr> = Vec::new();
    for f in arrays {
        match out
            .last()
            .and_then(|last| build::commutation_to_the_left(last, &f))
        {
            Some((k, swapped)) => {
                out.pop();
                out.extend([k, swapped]);
            }
            None => out.push(f),
        }
    }
    out
}

/// The column u with diag(u) = `e` for a sum, difference or scaling of diagonal matrices
/// diag(v) and identities (diag(1)).
fn diagonal_of_sum(e: &Expr) -> Option<Expr> {
    match e.op {
        Op::Call(Func::Diag) if e.a().shape.is_column() => Some(e.a().clone()),
        Op::Eye => Some(Expr::ones(Shape::column(e.shape.rows))),
        Op::Add if e.a().shape == e.b().shape => {
            Some(build::add(diagonal_of_sum(e.a())?, diagonal_of_sum(e.b())?))
        }
        Op::Sub if e.a().shape == e.b().shape => {
            Some(build::sub(diagonal_of_sum(e.a())?, diagonal_of_sum(e.b())?))
        }
        Op::Neg => Some(build::neg(diagonal_of_sum(e.a())?)),
        Op::Mul if e.a().shape.is_scalar() => {
            Some(build::mul(e.a().clone(), diagonal_of_sum(e.b())?))
        }
        Op::Mul if e.b().shape.is_scalar() => {
            Some(build::mul(e.b().clone(), diagonal_of_sum(e.a())?))
        }
        // diag(a)*diag(b) = diag(a .* b), diag(a)^k = diag(a.^k), inv(diag(a)) = diag(1./a).
        Op::Mul => Some(build::had(diagonal_of_sum(e.a())?, diagonal_of_sum(e.b())?)),
        Op::Pow if e.b().as_num().is_some_and(|k| k.is_integer()) => {
            Some(build::hpow(diagonal_of_sum(e.a())?, e.b().clone()))
        }
        Op::Call(Func::Inv) => Some(build::hdiv(Expr::int(1), diagonal_of_sum(e.a())?)),
        Op::T => diagonal_of_sum(e.a()),
        Op::Div if e.b().shape.is_scalar() => {
            Some(build::div(diagonal_of_sum(e.a())?, e.b().clone()))
        }
        _ => None,
    }
}

/// A matrix product with neighbouring powers of one square matrix merged, inverses as
/// negative powers: X*inv(X)^2 is inv(X), X^2*X is X^3, inv(X)*X*A is A. The inverse of a
/// product of square factors is opened where that lets powers merge: B*inv(X*B) is inv(X).
fn merged_powers(e: &Expr) -> Option<Expr> {
    if e.op != Op::Mul || e.shape.is_scalar() {
        return None;
    }
    let (mut scalars, mut factors) = (Vec::new(), Vec::new());
    matrix_factors(e, &mut scalars, &mut factors);
    let (factors, joined) = joined_neighbours(factors);
    if joined {
        let product = factors.into_iter().reduce(build::mul)?;
        let merged = scalars.into_iter().fold(product, |p, c| build::mul(c, p));
        return Some(merged_powers(&merged).unwrap_or(merged)).filter(|m| m.size() < e.size());
    }
    merged_factors(scalars.clone(), factors.clone(), e.shape)
        .or_else(|| {
            let mut opened_scalars = scalars;
            let opened = (factors.into_iter())
                .flat_map(|f| opened_inverse(f, &mut opened_scalars))
                .collect();
            merged_factors(opened_scalars, opened, e.shape)
        })
        .filter(|merged| merged.size() <= e.size())
}

/// The factors with each neighbouring pair that the product's constructor makes smaller
/// joined (1'*diag(u) is u', (a' ⊗ I)*K is I ⊗ a'), and whether any was.
fn joined_neighbours(factors: Vec<Expr>) -> (Vec<Expr>, bool) {
    let mut out: Vec<Expr> = Vec::new();
    let mut joined = false;
    for f in factors {
        match out.last() {
            Some(last) => {
                let product = build::mul(last.clone(), f.clone());
                if product.size() < last.size() + f.size() + 1 {
                    out.pop();
                    out.push(product);
                    joined = true;
                } else {
                    out.push(f);
                }
            }
            None => out.push(f),
        }
    }
    (out, joined)
}

/// inv(c*A*B*C) as 1/c*inv(C)*inv(B)*inv(A) when every factor is square (the scalar
/// reciprocals pushed onto `scalars`); anything else as it is.
fn opened_inverse(e: Expr, scalars: &mut Vec<Expr>) -> Vec<Expr> {
    if e.op != Op::Call(Func::Inv) || e.a().op != Op::Mul {
        return vec![e];
    }
    let (mut inner_scalars, mut factors) = (Vec::new(), Vec::new());
    matrix_factors(e.a(), &mut inner_scalars, &mut factors);
    if !factors.iter().all(|f| f.shape.is_square()) {
        return vec![e];
    }
    let reciprocals = inner_scalars
        .into_iter()
        .map(|c| build::div(Expr::int(1), c));
    scalars.extend(reciprocals);
    (factors.into_iter().rev())
        .map(|f| build::call(Func::Inv, f))
        .collect()
}

/// The product of `scalars` and `factors`, neighbouring powers merged; `None` if none merge.
fn merged_factors(mut scalars: Vec<Expr>, factors: Vec<Expr>, shape: Shape) -> Option<Expr> {
    let mut merged: Vec<(Expr, i64)> = Vec::new();
    let mut changed = false;
    for factor in factors {
        let (base, k) = power_of(factor);
        match merged.last_mut() {
            Some((last, j)) if *last == base && base.shape.is_square() => {
                *j += k;
                changed = true;
                if *j == 0 {
                    merged.pop();
                }
            }
            _ => merged.push((base, k)),
        }
    }
    if !changed {
        return None;
    }
    let written = merged.into_iter().map(|(base, k)| match k {
        1 => base,
        -1 => build::call(Func::Inv, base),
        k if k > 0 => build::pow(base, Expr::int(k)),
        k => build::pow(build::call(Func::Inv, base), Expr::int(-k)),
    });
    let product = written
        .reduce(build::mul)
        .unwrap_or_else(|| Expr::eye(shape.rows));
    scalars.push(product);
    scalars.into_iter().reduce(build::mul)
}

/// The scalar factors and, in order, the array factors of a product of arrays and scalings.
fn matrix_factors(e: &Expr, scalars: &mut Vec<Expr>, arrays: &mut Vec<Expr>) {
    match e.op {
        Op::Mul if !e.shape.is_scalar() => {
            matrix_factors(e.a(), scalars, arrays);
            matrix_factors(e.b(), scalars, arrays);
        }
        _ if e.shape.is_scalar() => scalars.push(e.clone()),
        _ => arrays.push(e.clone()),
    }
}

/// (X, k) for X^k, (X, -k) for inv(X)^k and inv(X^k); (e, 1) for anything else.
fn power_of(e: Expr) -> (Expr, i64) {
    match e.op {
        Op::Pow if !e.shape.is_scalar() => match small_integer(e.b()) {
            Some(k) => {
                let (base, j) = power_of(e.a().clone());
                if j.abs() == 1 { (base, j * k) } else { (e, 1) }
            }
            None => (e, 1),
        },
        Op::Call(Func::Inv) => {
            let (base, j) = power_of(e.a().clone());
            (base, -j)
        }
        _ => (e, 1),
    }
}

/// Whether `e`'s operator is one the normal form reads (its arguments may be atoms).
fn is_elementwise(e: &Expr) -> bool {
    let scalar = |x: &Expr| x.shape.is_scalar();
    match e.op {
        Op::Add | Op::Sub | Op::Neg | Op::Had | Op::HDiv => true,
        Op::Mul | Op::Div => scalar(e.a()) || scalar(e.b()),
        Op::HPow => small_integer(e.b()).is_some(),
        Op::Pow => scalar(e.a()) && small_integer(e.b()).is_some(),
        _ => false,
    }
}

fn small_integer(e: &Expr) -> Option<i64> {
    let n = e.as_num()?;
    let k = n.is_integer().then(|| n.to_integer().to_i64())??;
    (k.abs() <= MAX_POWER).then_some(k)
}

#[derive(Default)]
struct Atoms {
    list: Vec<Expr>,
    index: FxHashMap<Expr, usize>,
}

impl Atoms {
    /// The index of the atom `e`, products grouped the way they are printed first, so that
    /// A*(B*C) and (A*B)*C are one atom and their terms combine.
    /// Both groupings are remembered, so that an atom read again is not regrouped again.
    fn of(&mut self, e: Expr) -> usize {
        if let Some(&i) = self.index.get(&e) {
            return i;
        }
        let grouped = match e.op {
            Op::Mul => crate::simplify::tidied(e.clone()),
            _ => e.clone(),
        };
        let i = *self.index.entry(grouped.clone()).or_insert_with(|| {
            self.list.push(grouped);
            self.list.len() - 1
        });
        self.index.insert(e, i);
        i
    }
}

/// `e` as a fraction; `None` past [`MAX_TERMS`].
fn read(e: &Expr, atoms: &mut Atoms, normalizer: &mut Normalizer) -> Option<Fraction> {
    if let Some(q) = e.as_num() {
        return Some(constant(q.clone()));
    }
    // The all-ones array is the number 1 spread over its shape (restored when written).
    if e.op == Op::Ones {
        return Some(constant(BigRational::one()));
    }
    // A scaling inside a matrix product is a factor of the part: (1/2*x)*x' is 1/2 times x*x'.
    if !is_elementwise(e)
        && let Some((c, rest)) = build::leading_scalar(e).or_else(|| trailing_inner_product(e))
    {
        return Some(multiply(
            read(&c, atoms, normalizer)?,
            read(&rest, atoms, normalizer)?,
        ));
    }
    if !is_elementwise(e) {
        let normal = normalizer.go(e);
        // A part that normalizes to a scaling or an elementwise form (an inner product that
        // became s*sum(y)) is read through, so that its factors cancel with those around it.
        if normal != *e && (is_elementwise(&normal) || build::leading_scalar(&normal).is_some()) {
            return read(&normal, atoms, normalizer);
        }
        if let Some(scaled) = normalizer.scaled_inner_product(e) {
            return read(&scaled, atoms, normalizer);
        }
        // A product over a sum is read distributed, so that its terms meet like terms around
        // it: (I - inv(C)*S)*inv(C) + inv(C)*(I - S*inv(C)) is 2*(inv(C) - inv(C)*S*inv(C)).
        // The whole is written so only where it gets smaller. Distributed and normalized, a
        // product may come back factored the other way, (I - A*S)*A as A*(I - S*A): then that
        // is the atom, the same as the other side's.
        let mut normal = normal;
        // Only matrices: a quadratic form spread out is four terms that rarely meet others.
        let spread = (!normal.shape.is_scalar())
            .then(|| normalizer.distributed(&normal))
            .flatten();
        if let Some(spread) = spread.filter(|d| 2 * d.size() <= 3 * normal.size() && *d != normal) {
            if is_elementwise(&spread) {
                return read(&spread, atoms, normalizer);
            }
            normal = spread;
        }
        let atom = atoms.of(normal);
        return Some(Fraction {
            numerator: Poly::from([(vec![(atom, 1)], BigRational::one())]),
            denominator: vec![],
        });
    }
    let mut arg = |i: usize| read(&e.args[i], atoms, normalizer);
    let f = match e.op {
        Op::Neg => scale(arg(0)?, &-BigRational::one()),
        Op::Add => add(arg(0)?, arg(1)?),
        Op::Sub => add(arg(0)?, scale(arg(1)?, &-BigRational::one())),
        // Products are where exp(u) meets 1/(1 + exp(u)), before sums spread them apart.
        Op::Had | Op::Mul => sigmoids(multiply(arg(0)?, arg(1)?), atoms),
        Op::HDiv | Op::Div => {
            let above = arg(0)?;
            // a ./ u.^k is read as a .* u.^(-k), so that a power of a sum goes below the bar.
            let divisor = e.b();
            let power = (matches!(divisor.op, Op::HPow | Op::Pow))
                .then(|| small_integer(divisor.b()))
                .flatten()
                .filter(|&k| k > 0);
            let below = match power {
                Some(k) => {
                    let inverse =
                        build::apply(divisor.op.clone(), vec![divisor.a().clone(), Expr::int(-k)]);
                    read(&inverse, atoms, normalizer)?
                }
                None => reciprocal(read(divisor, atoms, normalizer)?)?,
            };
            sigmoids(multiply(above, below), atoms)
        }
        Op::HPow | Op::Pow => {
            let k = small_integer(e.b()).expect("an integer power");
            let base = arg(0)?;
            // A power of a sum stays one factor, (1 + u.^2).^2, never expanded into the
            // binomial sum a reader would have to factor back; below a fraction bar it is
            // that factor k times, so that it cancels with the factor's other powers.
            let sum = base.numerator.len() > 1 || !base.denominator.is_empty();
            let expanded = normalizer.expand_squares && k == 2 && base.denominator.is_empty();
            if sum && k < 0 {
                let below = reciprocal(base)?;
                return (0..-k).try_fold(constant(BigRational::one()), |p, _| {
                    Some(multiply(p, below.clone()))
                });
            }
            if sum && !expanded {
                let written = write(&cancel(base), &atoms.list);
                let atom = atoms.of(build::apply(e.op.clone(), vec![written, e.b().clone()]));
                return Some(Fraction {
                    numerator: Poly::from([(vec![(atom, 1)], BigRational::one())]),
                    denominator: vec![],
                });
            }
            let power = (0..k.abs()).try_fold(constant(BigRational::one()), |p, _| {
                Some(multiply(p, base.clone()))
            })?;
            if k < 0 { reciprocal(power)? } else { power }
        }
        _ => unreachable!("is_elementwise lists the operators read"),
    };
    let terms = f.numerator.len() + f.denominator.iter().map(Poly::len).sum::<usize>();
    (terms <= MAX_TERMS).then_some(f)
}

/// (u'*B*v, A) for a product A*u'*B*v whose factors from a row on multiply to a scalar: it
/// scales the factors before it (s*v'*s is (v'*s)*s, so that s.*v - s*v'*s is
/// s.*(v - v'*s); p*p'*V*v is (p'*V*v)*p).
fn trailing_inner_product(e: &Expr) -> Option<(Expr, Expr)> {
    fn factors(e: &Expr, out: &mut Vec<Expr>) {
        if e.op == Op::Mul && !e.a().shape.is_scalar() && !e.b().shape.is_scalar() {
            factors(e.a(), out);
            factors(e.b(), out);
        } else {
            out.push(e.clone());
        }
    }
    if e.op != Op::Mul || e.shape.is_scalar() {
        return None;
    }
    let mut all = Vec::new();
    factors(e, &mut all);
    let last = all.last()?;
    let i = (1..all.len()).find(|&i| all[i].shape.is_row())?;
    if !last.shape.cols.is_one() || !all[i - 1].shape.cols.is_one() {
        return None;
    }
    let scalar = all[i..].iter().cloned().reduce(build::mul)?;
    let rest = all[..i].iter().cloned().reduce(build::mul)?;
    scalar.shape.is_scalar().then_some((scalar, rest))
}

fn constant(q: BigRational) -> Fraction {
    let mut numerator = Poly::new();
    if !q.is_zero() {
        numerator.insert(vec![], q);
    }
    Fraction {
        numerator,
        denominator: vec![],
    }
}

fn scale(mut f: Fraction, by: &BigRational) -> Fraction {
    f.numerator = f.numerator.into_iter().map(|(m, c)| (m, c * by)).collect();
    f
}

/// a/D + b/E over the common denominator: the factors of both, a factor shared k times
/// counted k times (D and E are multisets: 1/(1 + u) + 1/(1 + u)^2 has (1 + u)^2 below).
fn add(a: Fraction, b: Fraction) -> Fraction {
    let only_a = multiset_difference(&a.denominator, &b.denominator);
    let only_b = multiset_difference(&b.denominator, &a.denominator);
    let left = only_b.iter().fold(a.numerator, |p, f| poly_mul(&p, f));
    let right = only_a.iter().fold(b.numerator, |p, f| poly_mul(&p, f));
    Fraction {
        numerator: poly_add(left, right),
        denominator: [a.denominator, only_b].concat(),
    }
}

/// The factors of `a` left after taking out each of `b`'s once.
fn multiset_difference(a: &[Poly], b: &[Poly]) -> Vec<Poly> {
    let mut left = a.to_vec();
    for factor in b {
        if let Some(i) = left.iter().position(|f| f == factor) {
            left.remove(i);
        }
    }
    left
}

fn multiply(a: Fraction, b: Fraction) -> Fraction {
    Fraction {
        numerator: poly_mul(&a.numerator, &b.numerator),
        denominator: [a.denominator, b.denominator].concat(),
    }
}

/// 1/f: a monomial inverts its exponents; a sum becomes a denominator factor.
fn reciprocal(f: Fraction) -> Option<Fraction> {
    let numerator = match f.numerator.len() {
        0 => return None,
        1 => {
            let (m, c) = f.numerator.into_iter().next().expect("one term");
            let inverse = m.into_iter().map(|(a, e)| (a, -e)).collect();
            Poly::from([(inverse, c.recip())])
        }
        _ => {
            // A sum below the bar is cleared of the powers common to its terms, divisors
            // included: 1/(1 + q/(nu*s^2)) is nu*s^2/(nu*s^2 + q), as a textbook writes it.
            let content = monomial_content(&f.numerator);
            let primitive = divided_by(&f.numerator, &content);
            let inverse: Monomial = content.iter().map(|&(a, e)| (a, -e)).collect();
            return Some(Fraction {
                numerator: (f.denominator.iter())
                    .fold(Poly::from([(inverse, BigRational::one())]), |p, d| {
                        poly_mul(&p, d)
                    }),
                denominator: vec![primitive],
            });
        }
    };
    Some(Fraction {
        numerator: f.denominator.iter().fold(numerator, |p, d| poly_mul(&p, d)),
        denominator: vec![],
    })
}

/// The monomial dividing every term of `p` that leaves ordinary polynomial terms and no atom
/// in all of them: each atom to its lowest power over the terms (a term without it has it to
/// the power 0).
fn monomial_content(p: &Poly) -> Monomial {
    (atoms_in(p).into_iter())
        .map(|a| (a, p.keys().map(|m| exponent(m, a)).min().unwrap_or(0)))
        .filter(|&(_, e)| e != 0)
        .collect()
}

/// The atoms that occur in `p`, each once, in order.
fn atoms_in(p: &Poly) -> Vec<usize> {
    let mut seen: Vec<usize> = p.keys().flatten().map(|&(a, _)| a).collect();
    seen.sort_unstable();
    seen.dedup();
    seen
}

/// p / m for a monomial m, term by term.
fn divided_by(p: &Poly, m: &Monomial) -> Poly {
    (p.iter())
        .map(|(t, c)| (monomial_mul(t, m, -1), c.clone()))
        .collect()
}

fn poly_add(mut a: Poly, b: Poly) -> Poly {
    for (m, c) in b {
        let total = a.remove(&m).unwrap_or_else(BigRational::zero) + c;
        if !total.is_zero() {
            a.insert(m, total);
        }
    }
    a
}

fn poly_mul(a: &Poly, b: &Poly) -> Poly {
    let mut p = Poly::new();
    for (ma, ca) in a {
        for (mb, cb) in b {
            p = poly_add(p, Poly::from([(monomial_mul(ma, mb, 1), ca * cb)]));
        }
    }
    p
}

/// a · b^sign for monomials (sign 1 multiplies, -1 divides).
fn monomial_mul(a: &Monomial, b: &Monomial, sign: i32) -> Monomial {
    let mut exponents: BTreeMap<usize, i32> = a.iter().copied().collect();
    for &(atom, e) in b {
        *exponents.entry(atom).or_default() += sign * e;
    }
    exponents.into_iter().filter(|&(_, e)| e != 0).collect()
}

/// sin(u)^2 + cos(u)^2 = 1 applied wherever a term with sin(u)^a cos(u)^b (a ≥ 2) meets the
/// term with sin(u)^(a-2) cos(u)^(b+2) and the same coefficient: 1 + sin(x).^2./cos(x).^2
/// is 1./cos(x).^2.
fn pythagoras(mut f: Fraction, atoms: &[Expr]) -> Fraction {
    let of = |func: Func| -> Vec<(usize, &Expr)> {
        (atoms.iter().enumerate())
            .filter(|(_, a)| a.op == Op::Call(func))
            .map(|(i, a)| (i, a.a()))
            .collect()
    };
    let cosines = of(Func::Cos);
    for (sine, u) in of(Func::Sin) {
        let Some(&(cosine, _)) = cosines.iter().find(|(_, v)| *v == u) else {
            continue;
        };
        f.numerator = pythagoras_in(std::mem::take(&mut f.numerator), sine, cosine);
        f.denominator = (f.denominator.into_iter())
            .map(|d| pythagoras_in(d, sine, cosine))
            .collect();
    }
    f
}

fn pythagoras_in(mut p: Poly, sine: usize, cosine: usize) -> Poly {
    let shifted = |m: &Monomial, s: i32, c: i32| monomial_mul(m, &vec![(sine, s), (cosine, c)], 1);
    loop {
        let found = p.iter().find_map(|(m, c)| {
            if exponent(m, sine) < 2 {
                return None;
            }
            let partner = shifted(m, -2, 2);
            (p.get(&partner) == Some(c)).then(|| (m.clone(), partner, c.clone()))
        });
        let Some((m, partner, c)) = found else {
            return p;
        };
        p.remove(&m);
        p.remove(&partner);
        p = poly_add(p, Poly::from([(shifted(&m, -2, 0), c)]));
    }
}

/// The logistic function recognized where a denominator is 1 + exp(±u):
/// exp(u)./(1 + exp(u)) and 1./(1 + exp(-u)) are both sigmoid(u).
fn sigmoids(mut f: Fraction, atoms: &mut Atoms) -> Fraction {
    let mut kept = Vec::new();
    for factor in std::mem::take(&mut f.denominator) {
        let exp_plus_one = (factor.len() == 2 && factor.get(&vec![]).is_some_and(One::is_one))
            .then(|| {
                factor
                    .iter()
                    .find(|(m, c)| m.len() == 1 && m[0].1 == 1 && c.is_one())
            })
            .flatten()
            .map(|(m, _)| m[0].0)
            .filter(|&i| atoms.list[i].op == Op::Call(Func::Exp));
        let Some(i) = exp_plus_one else {
            kept.push(factor);
            continue;
        };
        let u = atoms.list[i].a().clone();
        let (u, over) = match u.op {
            Op::Neg => (u.a().clone(), vec![]),
            _ => (u, vec![(i, 1)]),
        };
        // exp(u)/(1 + exp(u)) needs exp(u) in every term of the numerator.
        let divides = |m: &Monomial| {
            over.iter()
                .all(|o| m.iter().any(|t| t.0 == o.0 && t.1 >= 1))
        };
        if !f.numerator.keys().all(divides) {
            kept.push(factor);
            continue;
        }
        let sigmoid = vec![(atoms.of(build::call(Func::Sigmoid, u)), 1)];
        f.numerator = (f.numerator.iter())
            .map(|(m, c)| {
                (
                    monomial_mul(&monomial_mul(m, &over, -1), &sigmoid, 1),
                    c.clone(),
                )
            })
            .collect();
    }
    f.denominator = kept;
    f
}

/// Two atoms of one argument that multiply to something simpler, in every term of the
/// numerator: step(u).*max(u, 0) is max(u, 0) (relu(u) too) and sign(u).*abs(u) is u.
fn paired_atoms(mut f: Fraction, atoms: &mut Atoms) -> Fraction {
    let call_of = |e: &Expr, func: Func| (e.op == Op::Call(func)).then(|| e.a().clone());
    let positive_part = |e: &Expr| match e.op {
        Op::Max if e.b().is_zero() && e.b().shape.is_scalar() => Some(e.a().clone()),
        Op::Call(Func::Relu) => Some(e.a().clone()),
        _ => None,
    };
    let mut numerator = Poly::new();
    for (m, c) in std::mem::take(&mut f.numerator) {
        let mut m = m;
        let present = |m: &Monomial, i: usize| m.iter().any(|&(a, e)| a == i && e > 0);
        for i in 0..atoms.list.len() {
            if exponent(&m, i) == 0 {
                continue;
            }
            let atom = atoms.list[i].clone();
            if !present(&m, i) && atom.op != Op::Call(Func::Sqrt) {
                continue;
            }
            if let Some(u) = call_of(&atom, Func::Step) {
                let max = (0..atoms.list.len())
                    .any(|j| present(&m, j) && positive_part(&atoms.list[j]).as_ref() == Some(&u));
                if max {
                    m = monomial_mul(&m, &vec![(i, 1)], -1);
                }
            } else if let Some(u) = call_of(&atom, Func::Sign) {
                let abs = (0..atoms.list.len()).find(|&j| {
                    present(&m, j) && call_of(&atoms.list[j], Func::Abs) == Some(u.clone())
                });
                let plain = atoms.index.get(&u).copied().filter(|&j| present(&m, j));
                // sign(u).*abs(u) = u and sign(u).*u = abs(u).
                let replaced = match (abs, plain) {
                    (Some(j), _) => Some((j, atoms.of(u))),
                    (None, Some(j)) => Some((j, atoms.of(build::call(Func::Abs, u)))),
                    (None, None) => None,
                };
                if let Some((j, product)) = replaced {
                    m = monomial_mul(&m, &vec![(i, -1), (j, -1), (product, 1)], 1);
                }
            } else if let Some(u) = call_of(&atom, Func::Sqrt)
                && let Some(j) = atoms.index.get(&u).copied()
                && exponent(&m, j) != 0
            {
                // u^k sqrt(u)^l = sqrt(u)^(2k + l): det(A)/sqrt(det(A)) is sqrt(det(A)).
                let k = exponent(&m, j);
                m = monomial_mul(&m, &vec![(j, k), (i, -2 * k)], -1);
            }
        }
        numerator = poly_add(numerator, Poly::from([(m, c)]));
    }
    f.numerator = numerator;
    f
}

/// The hyperbolic tangent recognized where a denominator exp(u) + exp(-u) divides into a
/// numerator that exp(u) - exp(-u) divides: (exp(u) - exp(-u))./(exp(u) + exp(-u)) is tanh(u).
fn tanhs(mut f: Fraction, atoms: &mut Atoms) -> Fraction {
    let mut kept = Vec::new();
    for factor in std::mem::take(&mut f.denominator) {
        // Of the two orientations (for y - X*w against X*w - y both read), the one that
        // leaves no minus in front.
        let orientations = exponential_pair(&factor, &atoms.list)
            .map_or(vec![], |(up, down)| vec![(up, down), (down, up)]);
        let mut found: Vec<(usize, Poly)> = (orientations.into_iter())
            .filter(|&(up, _)| atoms.list[up].a().op != Op::Neg)
            .filter_map(|(up, down)| {
                let one = BigRational::one();
                let difference =
                    Poly::from([(vec![(up, 1)], one.clone()), (vec![(down, 1)], -one)]);
                Some((up, divide(&f.numerator, &difference)?))
            })
            .collect();
        found.sort_by_key(|(_, q)| !q.values().any(|c| c.is_positive()));
        let quotient = found.into_iter().next();
        match quotient {
            Some((up, q)) => {
                let tanh = build::call(Func::Tanh, atoms.list[up].a().clone());
                let tanh = vec![(atoms.of(tanh), 1)];
                f.numerator = q
                    .iter()
                    .map(|(m, c)| (monomial_mul(m, &tanh, 1), c.clone()))
                    .collect();
            }
            None => kept.push(factor),
        }
    }
    f.denominator = kept;
    f
}

/// (i, j) for a sum exp(u) + exp(-u) of atoms i and j.
fn exponential_pair(p: &Poly, atoms: &[Expr]) -> Option<(usize, usize)> {
    let mut singles = p
        .iter()
        .filter(|(m, c)| m.len() == 1 && m[0].1 == 1 && c.is_one());
    let (a, b) = (singles.next()?.0[0].0, singles.next()?.0[0].0);
    let exp = |i: usize| (atoms[i].op == Op::Call(Func::Exp)).then(|| atoms[i].a());
    let (u, v) = (exp(a)?, exp(b)?);
    // v = -u: a negation, or a difference the other way round (y - X*w against X*w - y).
    let negatives = |u: &Expr, v: &Expr| {
        (v.op == Op::Neg && v.a() == u)
            || (u.op == Op::Sub && v.op == Op::Sub && u.a() == v.b() && u.b() == v.a())
    };
    match p.len() {
        2 if negatives(v, u) => Some((b, a)),
        2 if negatives(u, v) => Some((a, b)),
        _ => None,
    }
}

/// The power of `atom` in `m` (0 where it is missing).
fn exponent(m: &Monomial, atom: usize) -> i32 {
    m.iter().find(|(a, _)| *a == atom).map_or(0, |(_, e)| *e)
}

/// Cancels each denominator factor that divides the numerator exactly.
fn cancel(mut f: Fraction) -> Fraction {
    let mut kept = Vec::new();
    for factor in std::mem::take(&mut f.denominator) {
        match divide(&f.numerator, &factor) {
            Some(quotient) => f.numerator = quotient,
            None => kept.push(factor),
        }
    }
    f.denominator = kept;
    f
}

/// n / d when d divides n exactly; else `None`.
///
/// Monomials here have negative exponents too, and the map's order of them is not a monomial
/// order (multiplying two monomials by a third can swap them), so long division in it need not
/// end. Instead both sides are shifted by monomials to ordinary polynomials whose every atom is
/// missing from some term of d, where d divides n exactly when it does after the shift (an atom
/// is a prime that does not divide d), and divided in the graded order on exponent vectors: the
/// first leading term of the remainder that d's leading term does not divide proves the division
/// inexact, since d alone is a Gröbner basis of its multiples.
fn divide(n: &Poly, d: &Poly) -> Option<Poly> {
    if n.is_empty() {
        return Some(Poly::new());
    }
    let mut atoms = [atoms_in(n), atoms_in(d)].concat();
    atoms.sort_unstable();
    atoms.dedup();
    let lowest = |p: &Poly| -> Vec<i32> {
        let content = monomial_content(p);
        atoms.iter().map(|&a| exponent(&content, a)).collect()
    };
    let (n_low, d_low) = (lowest(n), lowest(d));
    let dense = |p: &Poly, low: &[i32]| -> DensePoly {
        (p.iter())
            .map(|(m, c)| {
                let exponents: Vec<i32> = (atoms.iter().zip(low))
                    .map(|(&a, l)| exponent(m, a) - l)
                    .collect();
                ((exponents.iter().sum(), exponents), c.clone())
            })
            .collect()
    };
    let (mut remainder, divisor) = (dense(n, &n_low), dense(d, &d_low));
    let ((_, d_lead), d_coefficient) = divisor.iter().next_back()?;
    let mut quotient = DensePoly::new();
    while let Some(((_, r_lead), r_coefficient)) = remainder.iter().next_back() {
        let exponents: Vec<i32> = r_lead.iter().zip(d_lead).map(|(r, d)| r - d).collect();
        if exponents.iter().any(|&e| e < 0) || quotient.len() > 4 * MAX_TERMS {
            return None;
        }
        let (degree, coefficient) = (exponents.iter().sum::<i32>(), r_coefficient / d_coefficient);
        for ((_, m), c) in &divisor {
            let product: Vec<i32> = m.iter().zip(&exponents).map(|(a, b)| a + b).collect();
            let key = (product.iter().sum(), product);
            let total = remainder.remove(&key).unwrap_or_else(BigRational::zero) - c * &coefficient;
            if !total.is_zero() {
                remainder.insert(key, total);
            }
        }
        quotient.insert((degree, exponents), coefficient);
    }
    // Back to monomials: the quotient times the shift n's lowest powers less d's.
    let sparse = |exponents: &[i32]| -> Monomial {
        (atoms.iter().zip(exponents).zip(n_low.iter().zip(&d_low)))
            .map(|((&a, e), (n, d))| (a, e + n - d))
            .filter(|&(_, e)| e != 0)
            .collect()
    };
    Some(
        quotient
            .into_iter()
            .map(|((_, e), c)| (sparse(&e), c))
            .collect(),
    )
}

/// A polynomial by exponent vectors over a fixed list of atoms, ordered by total degree and
/// then lexicographically: a monomial order, as long division needs.
type DensePoly = BTreeMap<(i32, Vec<i32>), BigRational>;

/// The fraction as an expression: its terms with positive coefficients first, each term's
/// negative powers as a quotient, the denominator factors divided out.
fn write(f: &Fraction, atoms: &[Expr]) -> Expr {
    let _written = WrittenPolys::enter();
    let plain = write_plain(f, atoms);
    match write_split(f, atoms) {
        Some(split) if split.size() < plain.size() => split,
        _ => plain,
    }
}

/// N/D written q + R/D for a monomial q where R = N - q·D has fewer terms than N, what is
/// common to q and R in front: (e - e.*y - e.*E)./(1 - E) is e.*(1 - y./(1 - E)).
fn write_split(f: &Fraction, atoms: &[Expr]) -> Option<Expr> {
    let [d] = f.denominator.as_slice() else {
        return None;
    };
    let n = &f.numerator;
    if n.len() < 2 || n.len() * d.len() > MAX_TERMS {
        return None;
    }
    let remainder = |q: &Poly| poly_add(n.clone(), scale_poly(poly_mul(q, d), -1));
    let (q, r) = (n.iter())
        .flat_map(|(nm, nc)| {
            d.iter()
                .map(move |(dm, dc)| Poly::from([(monomial_mul(nm, dm, -1), nc / dc)]))
        })
        .map(|q| {
            let r = remainder(&q);
            (q, r)
        })
        .min_by_key(|(_, r)| r.len())?;
    if r.len() + 1 >= n.len() || r.is_empty() {
        return None;
    }
    let both: Poly = poly_add(q.clone(), r.clone());
    let common = common_monomial(&both).unwrap_or_default();
    // A remainder of negative terms only is subtracted: 1 - y./(1 - E).
    let negative = r.values().all(Signed::is_negative);
    let rest = Fraction {
        numerator: scale_poly(divided_by(&r, &common), sign(negative)),
        denominator: vec![d.clone()],
    };
    let (q, rest) = (
        write_poly(&divided_by(&q, &common), atoms),
        write(&rest, atoms),
    );
    let sum = match negative {
        true => build::sub(q, rest),
        false => build::add(q, rest),
    };
    Some(match common.is_empty() {
        true => sum,
        false => elementwise_product(write_term(&common, &BigRational::one(), atoms), sum),
    })
}

/// -1 for a negated part, else 1.
fn sign(negative: bool) -> i32 {
    if negative { -1 } else { 1 }
}

fn scale_poly(p: Poly, by: i32) -> Poly {
    let by = BigRational::from_integer(by.into());
    p.into_iter().map(|(m, c)| (m, c * &by)).collect()
}

/// The fraction as numerator over its denominator factors.
fn write_plain(f: &Fraction, atoms: &[Expr]) -> Expr {
    let numerator = write_poly(&f.numerator, atoms);
    // Equal factors once, as a power: ./(1 + u).^2, not ./(1 + u)./(1 + u).
    let mut factors: Vec<(&Poly, i64)> = Vec::new();
    for d in &f.denominator {
        match factors.iter_mut().find(|(g, _)| *g == d) {
            Some((_, k)) => *k += 1,
            None => factors.push((d, 1)),
        }
    }
    factors.into_iter().fold(numerator, |n, (d, k)| {
        let d = write_poly(d, atoms);
        let d = match k {
            1 => d,
            _ if d.shape.is_scalar() => build::pow(d, Expr::int(k)),
            _ => build::hpow(d, Expr::int(k)),
        };
        quotient(n, d)
    })
}

/// The polynomial as a sum, what is common to all its terms in front: a number,
/// 1/2*(x*x' - inv(P)), and powers of atoms, det(X)*(P - Q), c.*(s - y).
/// A common power is taken out only where that is smaller: 2*(A/s - B/s^2) stays. So is a
/// factor 1 ± u or 1 ± u.^2 (the derivatives of sigmoid and tanh): s.*(1 - s).*(a - b), not
/// s.*a - s.*b - s.^2.*a + s.^2.*b, which is longer and, where s rounds to 1, loses every
/// digit to cancellation.
fn write_poly(p: &Poly, atoms: &[Expr]) -> Expr {
    if let Some(done) = WRITTEN.with(|w| w.borrow().polys.get(p).cloned()) {
        return done;
    }
    let written = write_poly_uncached(p, atoms);
    WRITTEN.with(|w| w.borrow_mut().polys.insert(p.clone(), written.clone()));
    written
}

/// The polynomials written during one [`write`], over its atoms: collecting terms tries
/// several groupings, each writing the same parts again.
#[derive(Default)]
struct WrittenPolys {
    depth: usize,
    polys: FxHashMap<Poly, Expr>,
}

thread_local! {
    static WRITTEN: std::cell::RefCell<WrittenPolys> = Default::default();
}

impl WrittenPolys {
    /// Marks a [`write`] in progress; the outermost one's end forgets what was written (the
    /// next fraction's atoms are others).
    fn enter() -> impl Drop {
        struct Exit;
        impl Drop for Exit {
            fn drop(&mut self) {
                WRITTEN.with(|w| {
                    let mut w = w.borrow_mut();
                    w.depth -= 1;
                    if w.depth == 0 {
                        w.polys.clear();
                    }
                });
            }
        }
        WRITTEN.with(|w| w.borrow_mut().depth += 1);
        Exit
    }
}

fn write_poly_uncached(p: &Poly, atoms: &[Expr]) -> Expr {
    if let Some((factor, rest)) = binomial_factor(p) {
        let factored = elementwise_product(write_poly(&factor, atoms), write_poly(&rest, atoms));
        let plain = write_poly_numbers(p, atoms);
        return if factored.size() <= plain.size() {
            factored
        } else {
            plain
        };
    }
    let plain = write_poly_numbers(p, atoms);
    let plain = match over_common_denominator(p, atoms) {
        Some(over) if over.size() < plain.size() => over,
        _ => plain,
    };
    let Some(common) = common_monomial(p) else {
        return plain;
    };
    let rest = divided_by(p, &common);
    // Common divisors divide the sum: (X*w - y)./s, not 1./s.*(X*w - y).
    let (up, down): (Monomial, Monomial) = common.iter().partition(|(_, e)| *e > 0);
    let down: Monomial = down.into_iter().map(|(a, e)| (a, -e)).collect();
    let mut factored = write_poly(&rest, atoms);
    if !up.is_empty() {
        factored = elementwise_product(write_term(&up, &BigRational::one(), atoms), factored);
    }
    if !down.is_empty() {
        factored = quotient(factored, write_term(&down, &BigRational::one(), atoms));
    }
    if factored.size() < plain.size() {
        factored
    } else {
        plain
    }
}

/// A sum whose terms divide by different powers of an atom, over their common denominator:
/// 1./u - y./u.^2 is (u - y)./u.^2. `None` where no term has a divisor.
fn over_common_denominator(p: &Poly, atoms: &[Expr]) -> Option<Expr> {
    if p.len() < 2 {
        return None;
    }
    let mut denominator = monomial_content(p);
    denominator.retain(|&(_, e)| e < 0);
    // Divisors every term shares to one power are common_monomial's: (u - v)./s.
    if denominator.is_empty() || p.keys().all(|m| denominator.iter().all(|d| m.contains(d))) {
        return None;
    }
    let numerator = divided_by(p, &denominator);
    let below: Monomial = denominator.iter().map(|&(a, e)| (a, -e)).collect();
    Some(quotient(
        write_poly(&numerator, atoms),
        write_term(&below, &BigRational::one(), atoms),
    ))
}

/// (f, p / f) for f = 1 - u^2, 1 - u or 1 + u, u an atom of `p`, where the division is exact.
fn binomial_factor(p: &Poly) -> Option<(Poly, Poly)> {
    if p.len() < 2 {
        return None;
    }
    let mut seen: Vec<usize> = p
        .keys()
        .flatten()
        .filter(|(_, e)| *e > 0)
        .map(|(a, _)| *a)
        .collect();
    seen.sort_unstable();
    seen.dedup();
    let one = BigRational::one();
    for atom in seen {
        // 1 - u divides p only if p vanishes at u = 1, 1 + u only if at u = -1, and 1 - u^2
        // only if at both: a cheap test before a long division.
        let (at_one, at_minus_one) = (vanishes_at(p, atom, 1), vanishes_at(p, atom, -1));
        let candidates = [
            (2, -one.clone(), at_one && at_minus_one),
            (1, -one.clone(), at_one),
            (1, one.clone(), at_minus_one),
        ];
        for (k, sign, possible) in candidates {
            if possible {
                let factor = Poly::from([(vec![], one.clone()), (vec![(atom, k)], sign)]);
                let smaller = |q: &Poly| q.len() < p.len() && q.keys().any(|m| !m.is_empty());
                if let Some(rest) = divide(p, &factor).filter(smaller) {
                    return Some((factor, rest));
                }
            }
        }
    }
    None
}

/// Whether `p` is zero with `atom` set to `value` (1 or -1).
fn vanishes_at(p: &Poly, atom: usize, value: i32) -> bool {
    let mut rest = Poly::new();
    for (m, c) in p {
        let flips = value < 0 && exponent(m, atom) % 2 != 0;
        let others: Monomial = m.iter().filter(|(a, _)| *a != atom).copied().collect();
        let sum = rest.entry(others).or_insert_with(BigRational::zero);
        if flips {
            *sum -= c;
        } else {
            *sum += c;
        }
    }
    rest.values().all(Zero::is_zero)
}

/// The polynomial as a sum, a number common to all its terms in front.
fn write_poly_numbers(p: &Poly, atoms: &[Expr]) -> Expr {
    let content = (p.len() > 1).then(|| common_number(p)).flatten();
    match content {
        Some(c) => {
            let rest: Poly = p.iter().map(|(m, k)| (m.clone(), k / &c)).collect();
            build::mul(Expr::num(c), write_grouped(&rest, atoms))
        }
        None => write_grouped(p, atoms),
    }
}

/// The sum with an atom taken out of the terms that have it where that is smaller, as a
/// textbook collects terms: k*inv(X) - inv(X) - n*inv(X) - inv(V) is
/// (k - 1 - n)*inv(X) - inv(V), and s + c*s.*y - s.*y - c*y is s.*(1 + (c - 1)*y) - c*y.
/// The atoms in the most terms are tried (two of them in sums of up to six terms), each choice
/// written the same way recursively.
fn write_grouped(p: &Poly, atoms: &[Expr]) -> Expr {
    let plain = write_sum(p, atoms);
    if !(3..=MAX_GROUPED).contains(&p.len()) {
        return plain;
    }
    let in_terms = |atom: usize| p.keys().filter(|m| exponent(m, atom) > 0).count();
    let mut candidates = atoms_in(p);
    candidates.retain(|&a| (2..p.len()).contains(&in_terms(a)));
    // The most frequent first, ties by atom order, so that the choice is deterministic.
    candidates.sort_by_key(|&a| std::cmp::Reverse(in_terms(a)));
    candidates.truncate(if p.len() <= 6 { 2 } else { 1 });
    let mut best = plain;
    for atom in candidates {
        let (with, without): (Poly, Poly) = (p.iter())
            .map(|(m, c)| (m.clone(), c.clone()))
            .partition(|(m, _)| exponent(m, atom) > 0);
        // A quotient of negative terms only is subtracted: n - (1 + nu)*s, not n + s*(-1 - nu).
        let negative = with.values().all(Signed::is_negative);
        let quotient = scale_poly(divided_by(&with, &vec![(atom, 1)]), sign(negative));
        let grouped = elementwise_product(write_poly(&quotient, atoms), atoms[atom].clone());
        let negated = |p: Poly| scale_poly(p, -1);
        let candidate = match (negative, without.values().all(Signed::is_negative)) {
            (false, true) => build::sub(grouped, write_poly(&negated(without), atoms)),
            (false, false) => build::add(write_poly(&without, atoms), grouped),
            (true, true) => build::neg(build::add(write_poly(&negated(without), atoms), grouped)),
            (true, false) => build::sub(write_poly(&without, atoms), grouped),
        };
        if candidate.size() < best.size() {
            best = candidate;
        }
    }
    best
}

/// The powers of atoms that divide every term of a sum of two or more terms, if any: each
/// atom's smallest exponent where it has the same sign in every term.
fn common_monomial(p: &Poly) -> Option<Monomial> {
    if p.len() < 2 {
        return None;
    }
    let mut terms = p.keys();
    let mut common: Monomial = terms.next()?.clone();
    for m in terms {
        common.retain_mut(|(atom, e)| {
            let Some(&(_, f)) = m.iter().find(|(a, _)| a == atom) else {
                return false;
            };
            if (*e > 0) != (f > 0) {
                return false;
            }
            *e = if *e > 0 { (*e).min(f) } else { (*e).max(f) };
            true
        });
    }
    // A divisor is common only where every term has it to the same power: (u - v)./s, but
    // u/s - v/s^2 stays (not (u - v/s)/s, a fraction inside a fraction).
    common.retain(|&(atom, e)| e > 0 || p.keys().all(|m| m.contains(&(atom, e))));
    (!common.is_empty()).then_some(common)
}

/// The positive number g ≠ 1 that every coefficient is an integer multiple of (their gcd),
/// where taking it out leaves more coefficients ±1 than there were: 2*(a + 3*b),
/// 1/2*(a + 3*b), but a + 0.134145*b and s - y + 0.2*z stay (not
/// 0.000005*(200000*a + 26829*b) or 1/5*(5*s - 5*y + z)).
fn common_number(p: &Poly) -> Option<BigRational> {
    use num_integer::Integer;
    let (mut numerator, mut denominator) = (num_bigint::BigInt::zero(), num_bigint::BigInt::one());
    for c in p.values() {
        numerator = numerator.gcd(c.numer());
        denominator = denominator.lcm(c.denom());
    }
    let g = BigRational::new(numerator, denominator);
    let units = |scale: &BigRational| p.values().filter(|c| (*c / scale).abs().is_one()).count();
    let plainer = units(&g) > units(&BigRational::one());
    (!g.is_one() && !g.is_zero() && plainer).then_some(g)
}

fn write_sum(p: &Poly, atoms: &[Expr]) -> Expr {
    let mut terms: Vec<(&Monomial, &BigRational)> = p.iter().collect();
    // Positive terms first (`s - y`, not `-y + s`), otherwise in the monomial order.
    terms.sort_by_key(|(_, c)| c.is_negative());
    let written: Vec<(bool, Expr)> = (terms.into_iter())
        .map(|(m, c)| (c.is_negative(), write_term(m, &c.abs(), atoms)))
        .collect();
    let mut sum: Option<Expr> = None;
    for (negative, magnitude) in joined_calls(written) {
        sum = Some(match sum {
            None if negative => build::neg(magnitude),
            None => magnitude,
            Some(s) if negative => build::sub(s, magnitude),
            Some(s) => build::add(s, magnitude),
        });
    }
    sum.unwrap_or_else(|| Expr::int(0))
}

/// Terms ± sum(A) ± sum(B) joined as one sum(A ± B), and log(A) - log(B) as log(A./B) (for A
/// and B of one shape): sum(sigmoid(X*w) - y), log((1 - p)./p).
fn joined_calls(mut terms: Vec<(bool, Expr)>) -> Vec<(bool, Expr)> {
    let joinable = |e: &Expr| matches!(e.op, Op::Call(Func::Sum | Func::Log));
    let mut i = 0;
    while i < terms.len() {
        let (negative, first) = terms[i].clone();
        let partner = (i + 1..terms.len()).find(|&j| {
            let other = &terms[j].1;
            joinable(&first)
                && other.op == first.op
                && other.a().shape == first.a().shape
                && (first.op == Op::Call(Func::Sum) || terms[j].0 != negative)
        });
        if let Some(j) = partner {
            let (other_negative, other) = terms.remove(j);
            let (a, b) = (first.a().clone(), other.a().clone());
            terms[i].1 = match (first.op == Op::Call(Func::Sum), negative == other_negative) {
                (true, true) => build::call(Func::Sum, build::add(a, b)),
                (true, false) => build::call(Func::Sum, build::sub(a, b)),
                (false, _) => build::call(Func::Log, build::hdiv(a, b)),
            };
        } else {
            i += 1;
        }
    }
    terms
}

/// c · Π atomᵉ: positive powers multiplied, negative ones divided out.
fn write_term(m: &Monomial, c: &BigRational, atoms: &[Expr]) -> Expr {
    let factors = symbolic_powers_merged(m, atoms);
    let power = |base: &Expr, e: i32| match e {
        1 => base.clone(),
        _ if base.shape.is_scalar() => build::pow(base.clone(), Expr::int(e.into())),
        _ => build::hpow(base.clone(), Expr::int(e.into())),
    };
    // Scalars in front of the arrays, so that they leave the products and transposes
    // around (d*(r./s), not (d*r)./s); scalar divisors last (A/s).
    let of = |scalar: bool, sign: i32| {
        (factors.iter())
            .filter(|(a, e)| a.shape.is_scalar() == scalar && e.signum() == sign)
            .map(|(a, e)| power(a, e.abs()))
            .reduce(elementwise_product)
    };
    let array = match (of(false, 1), of(false, -1)) {
        (Some(up), Some(down)) => Some(quotient(up, down)),
        (None, Some(down)) => Some(quotient(Expr::int(1), down)),
        (up, None) => up,
    };
    let product = match (of(true, 1), array) {
        (Some(s), Some(a)) => build::mul(s, a),
        (s, a) => s.or(a).unwrap_or_else(|| Expr::int(1)),
    };
    let product = match of(true, -1) {
        Some(down) => quotient(product, down),
        None => product,
    };
    // The number in front, where the constructors fold it into the scalings around.
    build::mul(Expr::num(c.clone()), product)
}

/// The monomial's factors, a power with a symbolic exponent merged with integer powers of
/// its base: norm2(x)^(k - 1)/norm2(x) is norm2(x)^(k - 2), u.^p.*u is u.^(p + 1).
fn symbolic_powers_merged(m: &Monomial, atoms: &[Expr]) -> Vec<(Expr, i32)> {
    let mut factors: Vec<(Expr, i32)> = m.iter().map(|&(a, e)| (atoms[a].clone(), e)).collect();
    for i in 0..factors.len() {
        let (p, k) = factors[i].clone();
        // Only an elementwise power: the monomial multiplies entry by entry, and X^5 .* X is
        // not X^6 for a matrix power.
        let elementwise = p.op == Op::HPow || (p.op == Op::Pow && p.shape.is_scalar());
        if k != 1 || !elementwise {
            continue;
        }
        let Some(j) = factors.iter().position(|(b, e)| *b == *p.a() && *e != 0) else {
            continue;
        };
        let exponent = plus_integer(p.b(), factors[j].1.into());
        factors[i] = (build::apply(p.op.clone(), vec![p.a().clone(), exponent]), 1);
        factors[j].1 = 0;
    }
    factors.retain(|(_, e)| *e != 0);
    factors
}

/// q + k with the numbers folded: (k - 1) + (-1) is k - 2.
fn plus_integer(q: &Expr, k: i64) -> Expr {
    let k = BigRational::from_integer(k.into());
    let (rest, number) = match q.op {
        Op::Add if q.b().as_num().is_some() => (q.a().clone(), q.b().as_num().cloned()),
        Op::Sub if q.b().as_num().is_some() => (q.a().clone(), q.b().as_num().map(|n| -n)),
        _ => (q.clone(), None),
    };
    let total = number.unwrap_or_else(BigRational::zero) + k;
    match total.cmp(&BigRational::zero()) {
        std::cmp::Ordering::Less => build::sub(rest, Expr::num(-total)),
        std::cmp::Ordering::Equal => rest,
        std::cmp::Ordering::Greater => build::add(rest, Expr::num(total)),
    }
}

fn elementwise_product(a: Expr, b: Expr) -> Expr {
    if a.shape.is_scalar() || b.shape.is_scalar() {
        build::mul(a, b)
    } else {
        build::had(a, b)
    }
}

/// a / b, a scalar factor of `a` kept in front of an elementwise quotient: c*(u./v).
fn quotient(a: Expr, b: Expr) -> Expr {
    if !b.shape.is_scalar()
        && a.op == Op::Mul
        && a.a().shape.is_scalar()
        && !a.b().shape.is_scalar()
    {
        return build::mul(a.a().clone(), quotient(a.b().clone(), b));
    }
    if b.shape.is_scalar() {
        build::div(a, b)
    } else {
        build::hdiv(a, b)
    }
}
