//! Matrix polynomials in expanded form: a sum of monomials, each a rational coefficient times
//! commuting scalar factors times an ordered product of matrix factors, with transposes pushed
//! down onto the factors. Anything that is not a sum, product, transpose or scaling (a call,
//! an elementwise operation, a Kronecker product) is one opaque factor, compared structurally.
//!
//! Two expressions with the same expanded form are equal, so the form can decide soundly that
//! a matrix equals its transpose where the structure does not show it:
//! (I − S⁻¹rrᵀ)S⁻¹ for a symmetric S expands to S⁻¹ − S⁻¹rrᵀS⁻¹, a palindrome. Different forms
//! say nothing (the opaque factors hide identities), so the decision is sound, not complete.

use crate::build;
use crate::expr::{Expr, Op};
use num_rational::BigRational;
use num_traits::{One, Zero};
use rustc_hash::FxHashMap;

/// A product without its coefficient: the scalar factors (sorted, for they commute) and the
/// matrix factors in order; no matrix factors is the identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Monomial {
    scalars: Vec<Expr>,
    factors: Vec<Expr>,
}

/// A sum of monomials with their nonzero coefficients.
type Polynomial = FxHashMap<Monomial, BigRational>;

/// Expansion stops (and decides nothing) past this many monomials: distributing a product of
/// sums multiplies their lengths.
const MAX_MONOMIALS: usize = 256;

/// Whether `e` provably equals its transpose, by comparing expanded forms.
pub fn equals_its_transpose(e: &Expr) -> bool {
    e.shape.is_square()
        && expand(e).is_some_and(|p| {
            let transposed: Polynomial = p
                .iter()
                .map(|(m, c)| (transpose_monomial(m), c.clone()))
                .collect();
            transposed == p
        })
}

fn expand(e: &Expr) -> Option<Polynomial> {
    let p = match &e.op {
        Op::Num(q) => constant(q.clone()),
        Op::Eye => constant(BigRational::one()),
        Op::Zero => Polynomial::default(),
        Op::Neg => scale(expand(e.a())?, &-BigRational::one()),
        Op::Add | Op::Sub if e.a().shape == e.b().shape => {
            let b = expand(e.b())?;
            let b = if e.op == Op::Sub {
                scale(b, &-BigRational::one())
            } else {
                b
            };
            sum(expand(e.a())?, b)
        }
        Op::Mul if e.a().shape.is_scalar() => product(scalar(e.a())?, expand(e.b())?)?,
        Op::Mul if e.b().shape.is_scalar() => product(scalar(e.b())?, expand(e.a())?)?,
        Op::Mul => product(expand(e.a())?, expand(e.b())?)?,
        Op::Div if e.b().shape.is_scalar() => {
            let divisor = match &e.b().op {
                Op::Num(q) if !q.is_zero() => constant(q.recip()),
                _ => atom(build::div(Expr::int(1), e.b().clone())),
            };
            product(divisor, expand(e.a())?)?
        }
        Op::T => expand(e.a())?
            .into_iter()
            .map(|(m, c)| (transpose_monomial(&m), c))
            .collect(),
        _ => atom(e.clone()),
    };
    (p.len() <= MAX_MONOMIALS).then_some(p)
}

/// A scalar as a polynomial whose monomials have no matrix factors: an inner product such
/// as xᵀy becomes one scalar factor, so that it commutes with the rest.
fn scalar(e: &Expr) -> Option<Polynomial> {
    let p = expand(e)?;
    Some(
        p.into_iter()
            .map(|(mut m, c)| {
                if let Some(chain) = m.factors.drain(..).reduce(build::mul) {
                    m.scalars.push(chain);
                    m.scalars.sort_by_key(order);
                }
                (m, c)
            })
            .collect(),
    )
}

fn constant(q: BigRational) -> Polynomial {
    let mut p = Polynomial::default();
    if !q.is_zero() {
        p.insert(
            Monomial {
                scalars: vec![],
                factors: vec![],
            },
            q,
        );
    }
    p
}

fn atom(e: Expr) -> Polynomial {
    let monomial = if e.shape.is_scalar() {
        Monomial {
            scalars: vec![e],
            factors: vec![],
        }
    } else {
        Monomial {
            scalars: vec![],
            factors: vec![e],
        }
    };
    FxHashMap::from_iter([(monomial, BigRational::one())])
}

fn scale(p: Polynomial, by: &BigRational) -> Polynomial {
    p.into_iter().map(|(m, c)| (m, c * by)).collect()
}

fn sum(mut a: Polynomial, b: Polynomial) -> Polynomial {
    for (m, c) in b {
        let total = a.remove(&m).unwrap_or_else(BigRational::zero) + c;
        if !total.is_zero() {
            a.insert(m, total);
        }
    }
    a
}

fn product(a: Polynomial, b: Polynomial) -> Option<Polynomial> {
    if a.len().saturating_mul(b.len()) > MAX_MONOMIALS {
        return None;
    }
    let mut p = Polynomial::default();
    for (ma, ca) in &a {
        for (mb, cb) in &b {
            let mut scalars = [ma.scalars.clone(), mb.scalars.clone()].concat();
            scalars.sort_by_key(order);
            let factors = [ma.factors.clone(), mb.factors.clone()].concat();
            p = sum(
                p,
                FxHashMap::from_iter([(Monomial { scalars, factors }, ca * cb)]),
            );
        }
    }
    Some(p)
}

/// (F₁⋯Fₖ)ᵀ = Fₖᵀ⋯F₁ᵀ; a scalar is its own transpose.
fn transpose_monomial(m: &Monomial) -> Monomial {
    let factors = m.factors.iter().rev().map(transpose_factor).collect();
    Monomial {
        scalars: m.scalars.clone(),
        factors,
    }
}

fn transpose_factor(f: &Expr) -> Expr {
    if f.is_symmetric() {
        f.clone()
    } else {
        build::t(f.clone())
    }
}

/// A fixed order of scalar factors (their structural hash): only equality of the sorted lists
/// matters, and equal expressions have equal hashes.
fn order(e: &Expr) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    e.hash(&mut h);
    h.finish()
}
