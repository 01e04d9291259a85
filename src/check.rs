//! The numeric proof: a derivative compared with central finite differences of the function
//! at random data that respects shapes, properties and domains.
//!
//! The differences are Richardson-extrapolated, (4 C(h/2) − C(h))/3 with C(h) the central
//! difference, which cancels the h² error term, and taken at five steps: a large function or a
//! steep one loses digits to rounding at small steps and to truncation (or a kink, or the edge
//! of a domain) at large ones, and one of the steps keeps enough. The derivative passes when it
//! agrees with the estimate at one of them beyond what rounding explains; a wrong derivative is
//! off at every step. A point where no two neighbouring steps agree says nothing and is redrawn.

use crate::eval::{self, Draw, Point, Value};
use crate::expr::Expr;
use crate::identify::{self, Layout};
use crate::infer::Typed;
use egg::Symbol;
use nalgebra::DMatrix;
use std::collections::HashMap;
use std::fmt;

/// Largest accepted error, relative to 1 + the largest entry of the derivative.
pub const TOLERANCE: f64 = 1e-5;

/// How to check.
#[derive(Clone, Copy, Debug)]
pub struct CheckOptions {
    /// Random points to try.
    pub draws: usize,
    /// Seed of the random data.
    pub seed: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions { draws: 3, seed: 1 }
    }
}

/// What a check found.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckReport {
    /// Points where the comparison was made.
    pub draws: usize,
    /// Sizes given to the symbolic dimensions at the first point.
    pub sizes: Vec<(Symbol, usize)>,
    /// The largest relative error over all points.
    pub max_error: f64,
    /// Points skipped because no data in the functions' domains was found.
    pub skipped: usize,
}

impl CheckReport {
    /// Both checks: the points of the smaller, the larger error.
    pub fn and(self, other: CheckReport) -> CheckReport {
        CheckReport {
            draws: self.draws.min(other.draws),
            sizes: if self.sizes.is_empty() {
                other.sizes
            } else {
                self.sizes
            },
            max_error: self.max_error.max(other.max_error),
            skipped: self.skipped.max(other.skipped),
        }
    }

    /// Whether every point agreed within [`TOLERANCE`] and at least one point was checked.
    pub fn passed(&self) -> bool {
        self.draws > 0 && self.max_error <= TOLERANCE
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed() { "ok" } else { "FAILED" };
        let sizes: Vec<String> = self.sizes.iter().map(|(d, n)| format!("{d}={n}")).collect();
        let sizes = if sizes.is_empty() {
            String::new()
        } else {
            format!(" ({})", sizes.join(", "))
        };
        write!(
            f,
            "check {verdict}: {} random points{sizes}, max relative error {:.1e} against central differences",
            self.draws, self.max_error
        )
    }
}

/// Checks that `derivative` is the derivative of `input` by `x` in `layout`.
pub fn check(
    input: &Typed,
    x: Symbol,
    derivative: &Expr,
    layout: Layout,
    options: CheckOptions,
) -> CheckReport {
    let dims = input.dims();
    let mut rng = eval::rng(options.seed);
    let mut report = CheckReport {
        draws: 0,
        sizes: Vec::new(),
        max_error: 0.0,
        skipped: 0,
    };
    for draw in 0..options.draws {
        // Distinct sizes, rotated from draw to draw; when a rotation has no point in the domain
        // (det(A*X*B) needs the inner sizes at least the outer one), the next rotations.
        let rotations = (0..=dims.len()).map(|shift| -> HashMap<Symbol, usize> {
            (dims.iter().enumerate())
                .map(|(i, d)| (*d, 2 + (i + draw + shift) % (dims.len() + 1)))
                .collect()
        });
        let tries = rotations
            .flat_map(|sizes| [Draw::Signed, Draw::Positive].map(|kind| (sizes.clone(), kind)));
        let point = tries.into_iter().find_map(|(sizes, kind)| {
            let point = eval::random_point(&input.variables, &sizes, kind, &mut rng);
            compare(input, x, derivative, layout, &point).map(|err| (err, point))
        });
        match point {
            Some((err, point)) => {
                if report.draws == 0 {
                    report.sizes = dims.iter().map(|d| (*d, point.sizes[d])).collect();
                }
                report.draws += 1;
                report.max_error = report.max_error.max(err);
            }
            None => report.skipped += 1,
        }
    }
    report
}

/// The relative error at one point, or `None` when the point leaves a function's domain.
fn compare(
    input: &Typed,
    x: Symbol,
    derivative: &Expr,
    layout: Layout,
    point: &Point,
) -> Option<f64> {
    let variable = input.variable(x.as_str())?;
    let structured = variable.props.symmetric() && !variable.shape.is_scalar();
    if structured && input.expr.shape.is_scalar() {
        return compare_along(input, variable, derivative, layout, point);
    }
    if structured {
        return compare_vec_along(input, variable, derivative, layout, point);
    }
    let symbolic = eval::eval(derivative, point).filter(finite)?;
    let f = eval::eval(&input.expr, point).filter(finite)?;
    best_of_steps(&symbolic, &f, |step| {
        finite_difference(input, x, layout, point, step)
    })
}

/// What rounding alone can put into a difference quotient of f with step `h`: f's digits lost
/// in f(x + h) − f(x − h), divided by h (with a margin for the evaluation's own rounding). A
/// large f (an inverse near singular, an exponential) leaves the derivative that few digits.
fn rounding(f: &Value, h: f64) -> f64 {
    1e3 * f64::EPSILON * (1.0 + f.amax()) / h
}

/// Relative steps of the differences, largest first.
const STEPS: [f64; 5] = [1e-2, 1e-3, 1e-4, 1e-5, 1e-6];

/// The error of `predicted` against the differences `estimate` of f at the best of [`STEPS`],
/// beyond what rounding explains; `None` when no two neighbouring steps agree with each other:
/// the function leaves its domain, or the point is so near a singularity that differences say
/// nothing there (the check then draws another point).
fn best_of_steps(
    predicted: &Value,
    f: &Value,
    estimate: impl Fn(f64) -> Option<Value>,
) -> Option<f64> {
    let estimates: Vec<(f64, Value)> = (STEPS.iter())
        .filter_map(|&h| Some((h, estimate(h)?)))
        .collect();
    let gap = |a: &Value, b: &Value, h: f64| {
        if a.shape() != b.shape() {
            return f64::INFINITY;
        }
        ((a - b).amax() - rounding(f, h)).max(0.0) / (1.0 + b.amax())
    };
    let conclusive = (estimates.windows(2)).any(|w| gap(&w[0].1, &w[1].1, w[1].0) <= TOLERANCE);
    if !conclusive {
        return None;
    }
    (estimates.iter())
        .map(|(h, numeric)| gap(predicted, numeric, *h))
        .min_by(f64::total_cmp)
}

/// The derivative of `at` at 0 by Richardson-extrapolated central differences with step `h`.
fn extrapolated(at: impl Fn(f64) -> Option<Value>, h: f64) -> Option<Value> {
    let central = |h: f64| Some((at(h)? - at(-h)?) / (2.0 * h));
    let (coarse, fine) = (central(h)?, central(h / 2.0)?);
    Some((fine * 4.0 - coarse) / 3.0)
}

/// For a structured variable (sym, spd, diag) the derivative lives on its space: compare the
/// directional derivative along random directions of that space, tr(N V) for the numerator
/// layout N, with central differences of f along V.
fn compare_along(
    input: &Typed,
    x: &crate::infer::Variable,
    derivative: &Expr,
    layout: Layout,
    point: &Point,
) -> Option<f64> {
    let (numerator, dims, mut rng) = along_space(x, derivative, layout, point)?;
    // The derivative must lie in the variable's space: symmetric, or diagonal.
    let off_space = if x.props.diag {
        DMatrix::from_fn(
            dims.0,
            dims.1,
            |i, j| if i == j { 0.0 } else { numerator[(i, j)] },
        )
    } else {
        &numerator - numerator.transpose()
    };
    let mut worst: f64 = off_space.amax() / (1.0 + numerator.amax());
    for _ in 0..3 {
        let direction = direction_in_space(x, dims, &mut rng);
        let predicted = (&numerator * &direction).trace();
        let f = moved(input, x, point, &direction, 0.0)?;
        let predicted = DMatrix::from_element(1, 1, predicted);
        let error = best_of_steps(&predicted, &f, |h| {
            extrapolated(|t| moved(input, x, point, &direction, t), h)
        })?;
        worst = worst.max(error);
    }
    Some(worst)
}

/// What a comparison along a structured variable's space starts from: the derivative in
/// numerator layout at `point`, the variable's sizes, and random directions seeded by its value.
fn along_space(
    x: &crate::infer::Variable,
    derivative: &Expr,
    layout: Layout,
    point: &Point,
) -> Option<(Value, (usize, usize), rand::rngs::StdRng)> {
    let symbolic = eval::eval(derivative, point).filter(finite)?;
    let numerator = if layout == Layout::Denominator {
        symbolic.transpose()
    } else {
        symbolic
    };
    let seed = (point.values[&x.name].iter())
        .map(|v| v.to_bits())
        .fold(0, u64::wrapping_add);
    Some((numerator, point.dims(x.shape), eval::rng(seed)))
}

/// A random direction in the space of a structured variable: symmetric, or diagonal.
fn direction_in_space(
    x: &crate::infer::Variable,
    dims: (usize, usize),
    rng: &mut rand::rngs::StdRng,
) -> Value {
    let direction = eval::random_value(dims, x.props, Draw::Signed, rng);
    if x.props.diag {
        direction
    } else {
        (&direction + direction.transpose()) * 0.5
    }
}

/// f at the point with x moved by t along `direction`.
fn moved(
    input: &Typed,
    x: &crate::infer::Variable,
    point: &Point,
    direction: &Value,
    t: f64,
) -> Option<Value> {
    let mut p = point.clone();
    let value = &p.values[&x.name] + direction * t;
    p.values.insert(x.name, value);
    eval::eval(&input.expr, &p).filter(finite)
}

/// For a vec-form derivative J by a structured variable, d vec(F) = J vec(dX) only has to hold
/// for dX in the variable's space: compare J vec(V) with central differences of F along random
/// directions V of that space.
fn compare_vec_along(
    input: &Typed,
    x: &crate::infer::Variable,
    derivative: &Expr,
    layout: Layout,
    point: &Point,
) -> Option<f64> {
    let (jacobian, dims, mut rng) = along_space(x, derivative, layout, point)?;
    let mut worst: f64 = 0.0;
    for _ in 0..3 {
        let direction = direction_in_space(x, dims, &mut rng);
        let along = DMatrix::from_column_slice(direction.len(), 1, direction.as_slice());
        if jacobian.ncols() != along.nrows() {
            return Some(f64::INFINITY);
        }
        let predicted = &jacobian * along;
        let f = moved(input, x, point, &direction, 0.0)?;
        let error = best_of_steps(&predicted, &f, |h| {
            let numeric = extrapolated(|t| moved(input, x, point, &direction, t), h)?;
            Some(DMatrix::from_column_slice(
                numeric.len(),
                1,
                numeric.as_slice(),
            ))
        })?;
        worst = worst.max(error);
    }
    Some(worst)
}

fn finite(v: &Value) -> bool {
    v.iter().all(|x| x.is_finite())
}

/// The derivative by Richardson-extrapolated central differences with relative step `step`,
/// laid out as nabla lays out the symbolic one.
pub fn finite_difference(
    input: &Typed,
    x: Symbol,
    layout: Layout,
    point: &Point,
    step: f64,
) -> Option<Value> {
    let f = eval::eval(&input.expr, point).filter(finite)?;
    let x0 = point.values.get(&x)?.clone();
    let (rows, cols) = x0.shape();
    let mut partials = Vec::with_capacity(rows * cols);
    for j in 0..cols {
        for i in 0..rows {
            let h = step * x0[(i, j)].abs().max(1.0);
            let at = |delta: f64| {
                let mut p = point.clone();
                p.values.get_mut(&x).expect("present")[(i, j)] += delta;
                eval::eval(&input.expr, &p).filter(finite)
            };
            partials.push(((i, j), extrapolated(at, h)?));
        }
    }
    let (fr, fc) = f.shape();
    let numerator = if fr * fc == 1 {
        DMatrix::from_fn(cols, rows, |j, i| partials[j * rows + i].1[(0, 0)])
    } else if rows * cols == 1 {
        partials[0].1.clone()
    } else {
        let m = fr * fc;
        DMatrix::from_fn(m, rows * cols, |k, i| partials[i].1.as_slice()[k])
    };
    let shape_f = input.expr.shape;
    let shape_x = input.variable(x.as_str())?.shape;
    Some(
        if layout == Layout::Denominator && identify::transposes_in_denominator(shape_f, shape_x) {
            numerator.transpose()
        } else {
            numerator
        },
    )
}
