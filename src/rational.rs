//! Rational normalization of the elementwise and scalar parts of an expression: each maximal
//! part built from `+ - .* ./`, scalings, numbers and integer powers is read as a fraction of
//! polynomials over its other parts (the atoms: `sigmoid(u)`, `x`, `A*x`, …), like terms are
//! combined, monomials cancel (`u.^2./u` is `u`), and each denominator factor that divides the
//! numerator exactly is cancelled (`s.*(1 - s).*(-y./s + (1 - y)./(1 - s))` is `s - y`). The
//! normal form replaces the part only where it is smaller.
//!
//! Cancelling a factor assumes it is nonzero, as textbooks do (u./u is 1).

use crate::build;
use crate::expr::{Expr, Op};
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};
use std::collections::{BTreeMap, HashMap};

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

/// Integer powers up to this are expanded (`u.^3`); larger ones stay atoms.
const MAX_POWER: i64 = 4;

/// `e` with its elementwise parts in normal form where that makes the whole smaller. A part's
/// normal form of equal size can still shrink the whole (its number in front merges with a
/// scaling around it: 2*diag(x./(2*s)) is diag(x./s)), so the whole is built twice, taking
/// such ties each way, and the smaller kept; at equal size the form as simplified stays.
pub fn normalize(e: &Expr) -> Expr {
    let mut best = e.clone();
    for ties in [Ties::Kept, Ties::Normal] {
        let candidate = Normalizer {
            ties,
            memo: HashMap::new(),
        }
        .go(e);
        if size(&candidate) < size(&best) {
            best = candidate;
        }
    }
    best
}

/// The size of a form as a reader counts it: operators, calls and transposes (the constants
/// `ones(n)`, `eye(n)`, … are calls); names and numbers are free.
fn size(e: &Expr) -> usize {
    fn go(e: &Expr, memo: &mut HashMap<Expr, usize>) -> usize {
        if let Some(&n) = memo.get(e) {
            return n;
        }
        let own: usize = match e.op {
            Op::Num(_) | Op::Var(..) | Op::Dvar(_) => 0,
            _ => 1,
        };
        let n = e
            .args
            .iter()
            .fold(own, |n, a| n.saturating_add(go(a, memo)));
        memo.insert(e.clone(), n);
        n
    }
    go(e, &mut HashMap::new())
}

/// Which form of a part wins when the two are of equal size.
#[derive(Clone, Copy, PartialEq)]
enum Ties {
    Kept,
    Normal,
}

struct Normalizer {
    ties: Ties,
    memo: HashMap<Expr, Expr>,
}

impl Normalizer {
    fn go(&mut self, e: &Expr) -> Expr {
        if let Some(done) = self.memo.get(e) {
            return done.clone();
        }
        let out = if is_elementwise(e) {
            self.normal_part(e)
        } else if e.args.is_empty() {
            e.clone()
        } else {
            let args = e.args.iter().map(|a| self.go(a)).collect();
            build::apply(e.op.clone(), args)
        };
        self.memo.insert(e.clone(), out.clone());
        out
    }

    /// The normal form of the elementwise part `e`, its atoms normalized first, or `e` over
    /// normalized atoms where that is smaller.
    fn normal_part(&mut self, e: &Expr) -> Expr {
        let mut atoms = Atoms::default();
        let read = read(e, &mut atoms, self);
        let kept = self.rebuild_plain(e);
        let Some(fraction) = read.map(cancel) else {
            return kept;
        };
        let mut normal = write(&fraction, &atoms.list);
        if normal.shape != e.shape {
            // Every array atom cancelled: the value is a scalar spread over e's shape.
            normal = build::mul(normal, Expr::ones(e.shape));
        }
        let (n, k) = (size(&normal), size(&kept));
        if n < k || (n == k && self.ties == Ties::Normal) {
            normal
        } else {
            kept
        }
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
    index: HashMap<Expr, usize>,
}

impl Atoms {
    fn of(&mut self, e: Expr) -> usize {
        if let Some(&i) = self.index.get(&e) {
            return i;
        }
        self.list.push(e.clone());
        self.index.insert(e, self.list.len() - 1);
        self.list.len() - 1
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
        && let Some((c, rest)) = build::leading_scalar(e)
    {
        return Some(multiply(
            read(&c, atoms, normalizer)?,
            read(&rest, atoms, normalizer)?,
        ));
    }
    if !is_elementwise(e) {
        let atom = atoms.of(normalizer.go(e));
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
        Op::Had | Op::Mul => multiply(arg(0)?, arg(1)?),
        Op::HDiv | Op::Div => multiply(arg(0)?, reciprocal(arg(1)?)?),
        Op::HPow | Op::Pow => {
            let k = small_integer(e.b()).expect("an integer power");
            let base = arg(0)?;
            // A power of a sum stays one factor, (1 + u.^2).^2, never expanded into the
            // binomial sum a reader would have to factor back.
            if base.numerator.len() > 1 || !base.denominator.is_empty() {
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

/// a/D + b/E over the common denominator: the factors of both, once each where they are shared.
fn add(a: Fraction, b: Fraction) -> Fraction {
    let mut common = a.denominator.clone();
    let mut only_b = Vec::new();
    for factor in &b.denominator {
        match common.iter().position(|f| f == factor) {
            Some(_) => {}
            None => only_b.push(factor.clone()),
        }
    }
    let mut only_a = a.denominator.clone();
    for factor in &b.denominator {
        if let Some(i) = only_a.iter().position(|f| f == factor) {
            only_a.remove(i);
        }
    }
    common.extend(only_b.iter().cloned());
    let left = only_b.iter().fold(a.numerator, |p, f| poly_mul(&p, f));
    let right = only_a.iter().fold(b.numerator, |p, f| poly_mul(&p, f));
    Fraction {
        numerator: poly_add(left, right),
        denominator: common,
    }
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
            let mut one = constant(BigRational::one());
            one.denominator.push(f.numerator);
            return Some(Fraction {
                numerator: f
                    .denominator
                    .iter()
                    .fold(one.numerator, |p, d| poly_mul(&p, d)),
                denominator: one.denominator,
            });
        }
    };
    Some(Fraction {
        numerator: f.denominator.iter().fold(numerator, |p, d| poly_mul(&p, d)),
        denominator: vec![],
    })
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

/// The leading term of a polynomial: its greatest monomial.
fn leading(p: &Poly) -> Option<(&Monomial, &BigRational)> {
    p.iter().next_back()
}

/// n / d when d divides n exactly (long division by leading terms, bounded); else `None`.
fn divide(n: &Poly, d: &Poly) -> Option<Poly> {
    let (dm, dc) = leading(d)?;
    if !n.is_empty() && !spans(n, d) {
        return None;
    }
    let (mut remainder, mut quotient) = (n.clone(), Poly::new());
    for _ in 0..4 * MAX_TERMS {
        let Some((rm, rc)) = leading(&remainder) else {
            return Some(quotient);
        };
        let term = Poly::from([(monomial_mul(rm, dm, -1), rc / dc)]);
        let step = poly_mul(&term, d);
        remainder = poly_add(remainder, step.into_iter().map(|(m, c)| (m, -c)).collect());
        quotient = poly_add(quotient, term);
    }
    None
}

/// Whether `n` spans at least as many powers of every atom as `d` does, as it must if `d`
/// divides it: the exponents of a product span those of both factors. Without this test, a
/// division that cannot succeed runs its whole bound, its coefficients growing at each step
/// (a division by 1 + 729*y.^6 took half a second).
fn spans(n: &Poly, d: &Poly) -> bool {
    (d.keys().flatten()).all(|&(atom, _)| width(n, atom) >= width(d, atom))
}

/// The highest power of `atom` in `p` less the lowest (an atom missing from a term is there
/// to the power 0).
fn width(p: &Poly, atom: usize) -> i32 {
    let power = |m: &Monomial| m.iter().find(|(a, _)| *a == atom).map_or(0, |(_, e)| *e);
    let (low, high) = (p.keys().map(power)).fold((i32::MAX, i32::MIN), |(low, high), e| {
        (low.min(e), high.max(e))
    });
    high.saturating_sub(low)
}

/// The fraction as an expression: its terms with positive coefficients first, each term's
/// negative powers as a quotient, the denominator factors divided out.
fn write(f: &Fraction, atoms: &[Expr]) -> Expr {
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

/// The polynomial as a sum, a number common to all its terms in front: 1/2*(x*x' - inv(P)).
fn write_poly(p: &Poly, atoms: &[Expr]) -> Expr {
    let content = (p.len() > 1).then(|| common_number(p)).flatten();
    match content {
        Some(c) => {
            let rest: Poly = p.iter().map(|(m, k)| (m.clone(), k / &c)).collect();
            build::mul(Expr::num(c), write_sum(&rest, atoms))
        }
        None => write_sum(p, atoms),
    }
}

/// The positive number g ≠ 1 that every coefficient is an integer multiple of (their gcd), if
/// there is one.
fn common_number(p: &Poly) -> Option<BigRational> {
    use num_integer::Integer;
    let (mut numerator, mut denominator) = (num_bigint::BigInt::zero(), num_bigint::BigInt::one());
    for c in p.values() {
        numerator = numerator.gcd(c.numer());
        denominator = denominator.lcm(c.denom());
    }
    let g = BigRational::new(numerator, denominator);
    (!g.is_one() && !g.is_zero()).then_some(g)
}

fn write_sum(p: &Poly, atoms: &[Expr]) -> Expr {
    let mut terms: Vec<(&Monomial, &BigRational)> = p.iter().collect();
    // Positive terms first (`s - y`, not `-y + s`), otherwise in the monomial order.
    terms.sort_by_key(|(_, c)| c.is_negative());
    let mut sum: Option<Expr> = None;
    for (m, c) in terms {
        let magnitude = write_term(m, &c.abs(), atoms);
        sum = Some(match sum {
            None if c.is_negative() => build::neg(magnitude),
            None => magnitude,
            Some(s) if c.is_negative() => build::sub(s, magnitude),
            Some(s) => build::add(s, magnitude),
        });
    }
    sum.unwrap_or_else(|| Expr::int(0))
}

/// c · Π atomᵉ: positive powers multiplied, negative ones divided out.
fn write_term(m: &Monomial, c: &BigRational, atoms: &[Expr]) -> Expr {
    let power = |atom: usize, e: i32| {
        let base = atoms[atom].clone();
        match e {
            1 => base,
            _ if base.shape.is_scalar() => build::pow(base, Expr::int(e.into())),
            _ => build::hpow(base, Expr::int(e.into())),
        }
    };
    let up = (m.iter().filter(|(_, e)| *e > 0))
        .map(|&(a, e)| power(a, e))
        .reduce(elementwise_product)
        .unwrap_or_else(|| Expr::int(1));
    let down: Option<Expr> = (m.iter().filter(|(_, e)| *e < 0))
        .map(|&(a, e)| power(a, -e))
        .reduce(elementwise_product);
    let magnitude = match down {
        Some(d) => quotient(up, d),
        None => up,
    };
    // The number in front, where the constructors fold it into the scalings around.
    build::mul(Expr::num(c.clone()), magnitude)
}

fn elementwise_product(a: Expr, b: Expr) -> Expr {
    if a.shape.is_scalar() || b.shape.is_scalar() {
        build::mul(a, b)
    } else {
        build::had(a, b)
    }
}

fn quotient(a: Expr, b: Expr) -> Expr {
    if b.shape.is_scalar() {
        build::div(a, b)
    } else {
        build::hdiv(a, b)
    }
}
