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
    /// Points asked for (`--draws`).
    pub requested: usize,
    /// Points where the derivative was compared with the differences.
    pub compared: usize,
    /// Random points drawn outside the domain of the function or of its derivative, skipped.
    pub outside_domain: usize,
    /// Random points skipped because they lay so near a singularity or the edge of the domain
    /// that no two steps of the differences agreed with each other.
    pub near_singularity: usize,
    /// Sizes given to the symbolic dimensions at the first point compared.
    pub sizes: Vec<(Symbol, usize)>,
    /// The largest relative error against the differences, each point at its best step.
    pub max_error: f64,
    /// The largest error beyond what rounding in the differences explains: what
    /// [`TOLERANCE`] bounds.
    pub max_excess: f64,
}

/// The outcome of a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every point compared agreed within [`TOLERANCE`].
    Passed,
    /// The derivative is off at some point.
    Failed,
    /// No point in the domain was found: the check says nothing.
    NoPoints,
}

impl Verdict {
    /// The exit code of the command line: 0 passed, 1 failed, 4 no point to compare at.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Passed => 0,
            Verdict::Failed => 1,
            Verdict::NoPoints => 4,
        }
    }

    /// The verdict as a word for programs: `passed`, `failed`, `no_points`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Failed => "failed",
            Verdict::NoPoints => "no_points",
        }
    }
}

impl CheckReport {
    fn empty(requested: usize) -> CheckReport {
        CheckReport {
            requested,
            compared: 0,
            outside_domain: 0,
            near_singularity: 0,
            sizes: Vec::new(),
            max_error: 0.0,
            max_excess: 0.0,
        }
    }

    /// Both checks (a second derivative is checked in two): the points of the one that
    /// compared fewer, the skips of both, the larger errors.
    pub fn and(self, other: CheckReport) -> CheckReport {
        CheckReport {
            requested: self.requested.max(other.requested),
            compared: self.compared.min(other.compared),
            outside_domain: self.outside_domain + other.outside_domain,
            near_singularity: self.near_singularity + other.near_singularity,
            sizes: if self.sizes.is_empty() {
                other.sizes
            } else {
                self.sizes
            },
            max_error: self.max_error.max(other.max_error),
            max_excess: self.max_excess.max(other.max_excess),
        }
    }

    /// What the check found.
    pub fn verdict(&self) -> Verdict {
        if self.compared == 0 {
            Verdict::NoPoints
        } else if self.max_excess <= TOLERANCE {
            Verdict::Passed
        } else {
            Verdict::Failed
        }
    }

    /// Whether at least one point was compared and every point agreed within [`TOLERANCE`].
    pub fn passed(&self) -> bool {
        self.verdict() == Verdict::Passed
    }

    /// Random points skipped, for either reason.
    pub fn skipped(&self) -> usize {
        self.outside_domain + self.near_singularity
    }

    /// The report as a JSON object: the verdict, the counts, the errors, the sizes and the
    /// sentence the command line prints.
    pub fn to_json(&self) -> serde_json::Value {
        let sizes: serde_json::Map<String, serde_json::Value> = (self.sizes.iter())
            .map(|(d, n)| (d.to_string(), serde_json::json!(n)))
            .collect();
        serde_json::json!({
            "verdict": self.verdict().name(),
            "passed": self.passed(),
            "points": self.compared,
            "requested": self.requested,
            "skipped": {
                "outside_domain": self.outside_domain,
                "near_singularity": self.near_singularity,
            },
            "max_relative_error": self.max_error,
            "max_error_beyond_rounding": self.max_excess,
            "tolerance": TOLERANCE,
            "sizes": sizes,
            "message": self.to_string(),
        })
    }

    /// "3 points", "1 point".
    fn points(n: usize) -> String {
        format!("{n} point{}", if n == 1 { "" } else { "s" })
    }

    /// Why points were skipped: "; skipped 3 random points outside the domain", "; skipped 4
    /// random points (3 outside the domain, 1 too near a singularity …)", or nothing.
    fn skips(&self) -> String {
        let reasons: Vec<(usize, &str)> = [
            (self.outside_domain, "outside the domain"),
            (
                self.near_singularity,
                "too near a singularity or the domain's edge",
            ),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .collect();
        let points = if self.skipped() == 1 {
            "point"
        } else {
            "points"
        };
        let skipped = format!("; skipped {} random {points}", self.skipped());
        match reasons[..] {
            [] => String::new(),
            [(_, why)] => format!("{skipped} {why}"),
            _ => {
                let each: Vec<String> = reasons
                    .iter()
                    .map(|(n, why)| format!("{n} {why}"))
                    .collect();
                format!("{skipped} ({})", each.join(", "))
            }
        }
    }

    /// The error figure, with what it means where it could puzzle: an exact 0, or an error
    /// above the tolerance that rounding explains.
    fn error(&self) -> String {
        if self.max_error == 0.0 {
            return "max relative error 0 (exact: the differences reproduce the derivative to \
                    the last bit, as they can where f is polynomial of degree at most 4 in the \
                    variable, since the extrapolated differences have no truncation error there)"
                .into();
        }
        let within = if self.max_error > TOLERANCE && self.max_excess <= TOLERANCE {
            ", within what rounding in the differences of a large f explains"
        } else {
            ""
        };
        format!(
            "max relative error {:.1e} against central differences{within}",
            self.max_error
        )
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sizes: Vec<String> = self.sizes.iter().map(|(d, n)| format!("{d}={n}")).collect();
        let sizes = if sizes.is_empty() {
            String::new()
        } else {
            format!(" ({})", sizes.join(", "))
        };
        let compared = if self.compared == self.requested {
            format!("{} compared{sizes}", Self::points(self.compared))
        } else {
            format!(
                "only {} of the {} asked compared{sizes}",
                self.compared,
                Self::points(self.requested)
            )
        };
        match self.verdict() {
            Verdict::NoPoints => write!(
                f,
                "check inconclusive: could not find a point in the domain; try --draws or --seed{}",
                self.skips()
            ),
            Verdict::Passed => write!(f, "check ok: {compared}, {}{}", self.error(), self.skips()),
            Verdict::Failed => write!(
                f,
                "check FAILED: {compared}, {}{}",
                self.error(),
                self.skips()
            ),
        }
    }
}

/// Why a random point was not compared at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Skip {
    /// The function or the derivative has no finite value there.
    OutsideDomain,
    /// No two neighbouring steps of the differences agree.
    NearSingularity,
}

/// The comparison at one point: the relative error at the best step and the part of it that
/// rounding in the differences does not explain.
#[derive(Clone, Copy, Debug)]
struct Comparison {
    error: f64,
    excess: f64,
}

impl Comparison {
    const OFF: Comparison = Comparison {
        error: f64::INFINITY,
        excess: f64::INFINITY,
    };

    fn max(self, other: Comparison) -> Comparison {
        Comparison {
            error: self.error.max(other.error),
            excess: self.excess.max(other.excess),
        }
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
    let mut report = CheckReport::empty(options.draws);
    let ladder = Draw::ladder();
    // The kind of data that last found the domain is tried first at the next points; after
    // two points in a row without any, the domain is taken to be out of reach.
    let mut first_kind = 0;
    let mut misses = 0;
    for draw in 0..options.draws {
        if misses == 2 {
            break;
        }
        // Distinct sizes, rotated from draw to draw; when a rotation has no point in the domain
        // (det(A*X*B) needs the inner sizes at least the outer one), the next rotations.
        let rotations = (0..=dims.len()).map(|shift| -> HashMap<Symbol, usize> {
            (dims.iter().enumerate())
                .map(|(i, d)| (*d, 2 + (i + draw + shift) % (dims.len() + 1)))
                .collect()
        });
        // Data of a kind that found the domain finds it again more often than not, but a
        // narrow domain (`sqrt(a - 2) + sqrt(2.5 - a)`) may take a few draws.
        let again = if report.compared > 0 { 4 } else { 1 };
        let kinds: Vec<usize> = std::iter::repeat_n(first_kind, again - 1)
            .chain((0..ladder.len()).map(|k| (first_kind + k) % ladder.len()))
            .collect();
        let tries = rotations.flat_map(|sizes| kinds.iter().map(move |&k| (sizes.clone(), k)));
        misses += 1;
        for (sizes, kind) in tries {
            let point = eval::random_point(&input.variables, &sizes, ladder[kind], &mut rng);
            match compare(input, x, derivative, layout, &point) {
                Ok(comparison) => {
                    if report.compared == 0 {
                        report.sizes = dims.iter().map(|d| (*d, point.sizes[d])).collect();
                    }
                    report.compared += 1;
                    report.max_error = report.max_error.max(comparison.error);
                    report.max_excess = report.max_excess.max(comparison.excess);
                    first_kind = kind;
                    misses = 0;
                    break;
                }
                Err(Skip::OutsideDomain) => report.outside_domain += 1,
                Err(Skip::NearSingularity) => report.near_singularity += 1,
            }
        }
    }
    report
}

/// The comparison at one point, or why the point says nothing.
fn compare(
    input: &Typed,
    x: Symbol,
    derivative: &Expr,
    layout: Layout,
    point: &Point,
) -> Result<Comparison, Skip> {
    let variable = input.variable(x.as_str()).ok_or(Skip::OutsideDomain)?;
    let structured = variable.props.symmetric() && !variable.shape.is_scalar();
    if structured && input.expr.shape.is_scalar() {
        return compare_along(input, variable, derivative, layout, point);
    }
    if structured {
        return compare_vec_along(input, variable, derivative, layout, point);
    }
    let symbolic = value(derivative, point)?;
    let f = value(&input.expr, point)?;
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

/// The value of `e` at `point`, or [`Skip::OutsideDomain`] when it has no finite value.
fn value(e: &Expr, point: &Point) -> Result<Value, Skip> {
    eval::eval(e, point)
        .filter(finite)
        .ok_or(Skip::OutsideDomain)
}

/// The comparison of `predicted` with the differences `estimate` of f at the best of
/// [`STEPS`] (the least error beyond what rounding explains); [`Skip::NearSingularity`] when
/// no two neighbouring steps agree with each other: the function leaves its domain within a
/// step, or the point is so near a singularity that differences say nothing there (the check
/// then draws another point).
fn best_of_steps(
    predicted: &Value,
    f: &Value,
    estimate: impl Fn(f64) -> Option<Value>,
) -> Result<Comparison, Skip> {
    let estimates: Vec<(f64, Value)> = (STEPS.iter())
        .filter_map(|&h| Some((h, estimate(h)?)))
        .collect();
    let gap = |a: &Value, b: &Value, h: f64| {
        if a.shape() != b.shape() {
            return Comparison::OFF;
        }
        let scale = 1.0 + b.amax();
        let error = (a - b).amax() / scale;
        let excess = (error - rounding(f, h) / scale).max(0.0);
        Comparison { error, excess }
    };
    let conclusive =
        (estimates.windows(2)).any(|w| gap(&w[0].1, &w[1].1, w[1].0).excess <= TOLERANCE);
    if !conclusive {
        return Err(Skip::NearSingularity);
    }
    (estimates.iter())
        .map(|(h, numeric)| gap(predicted, numeric, *h))
        .min_by(|a, b| {
            a.excess
                .total_cmp(&b.excess)
                .then(a.error.total_cmp(&b.error))
        })
        .ok_or(Skip::NearSingularity)
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
) -> Result<Comparison, Skip> {
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
    let off = off_space.amax() / (1.0 + numerator.amax());
    let mut worst = Comparison {
        error: off,
        excess: off,
    };
    for _ in 0..3 {
        let direction = direction_in_space(x, dims, &mut rng);
        let predicted = (&numerator * &direction).trace();
        let f = moved(input, x, point, &direction, 0.0).ok_or(Skip::OutsideDomain)?;
        let predicted = DMatrix::from_element(1, 1, predicted);
        let comparison = best_of_steps(&predicted, &f, |h| {
            extrapolated(|t| moved(input, x, point, &direction, t), h)
        })?;
        worst = worst.max(comparison);
    }
    Ok(worst)
}

/// What a comparison along a structured variable's space starts from: the derivative in
/// numerator layout at `point`, the variable's sizes, and random directions seeded by its value.
fn along_space(
    x: &crate::infer::Variable,
    derivative: &Expr,
    layout: Layout,
    point: &Point,
) -> Result<(Value, (usize, usize), rand::rngs::StdRng), Skip> {
    let symbolic = value(derivative, point)?;
    let numerator = if layout == Layout::Denominator {
        symbolic.transpose()
    } else {
        symbolic
    };
    let seed = (point.values[&x.name].iter())
        .map(|v| v.to_bits())
        .fold(0, u64::wrapping_add);
    Ok((numerator, point.dims(x.shape), eval::rng(seed)))
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
) -> Result<Comparison, Skip> {
    let (jacobian, dims, mut rng) = along_space(x, derivative, layout, point)?;
    let mut worst = Comparison {
        error: 0.0,
        excess: 0.0,
    };
    for _ in 0..3 {
        let direction = direction_in_space(x, dims, &mut rng);
        let along = DMatrix::from_column_slice(direction.len(), 1, direction.as_slice());
        if jacobian.ncols() != along.nrows() {
            return Ok(Comparison::OFF);
        }
        let predicted = &jacobian * along;
        let f = moved(input, x, point, &direction, 0.0).ok_or(Skip::OutsideDomain)?;
        let comparison = best_of_steps(&predicted, &f, |h| {
            let numeric = extrapolated(|t| moved(input, x, point, &direction, t), h)?;
            Some(DMatrix::from_column_slice(
                numeric.len(),
                1,
                numeric.as_slice(),
            ))
        })?;
        worst = worst.max(comparison);
    }
    Ok(worst)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn report(compared: usize, outside: usize, near: usize, error: f64) -> CheckReport {
        CheckReport {
            requested: 3,
            compared,
            outside_domain: outside,
            near_singularity: near,
            sizes: vec![(Symbol::from("n"), 2)],
            max_error: error,
            max_excess: error,
        }
    }

    #[test]
    fn the_line_says_how_many_points_were_compared_and_skipped() {
        assert_eq!(
            report(3, 0, 0, 2.5e-12).to_string(),
            "check ok: 3 points compared (n=2), max relative error 2.5e-12 against central differences"
        );
        assert_eq!(
            report(2, 4, 1, 2.5e-12).to_string(),
            "check ok: only 2 of the 3 points asked compared (n=2), max relative error 2.5e-12 \
             against central differences; skipped 5 random points (4 outside the domain, 1 too \
             near a singularity or the domain's edge)"
        );
        assert_eq!(
            report(3, 1, 0, 0.1).to_string(),
            "check FAILED: 3 points compared (n=2), max relative error 1.0e-1 against central \
             differences; skipped 1 random point outside the domain"
        );
        assert_eq!(
            report(0, 0, 7, 0.0).to_string(),
            "check inconclusive: could not find a point in the domain; try --draws or --seed; \
             skipped 7 random points too near a singularity or the domain's edge"
        );
    }

    #[test]
    fn an_error_of_zero_and_an_error_within_rounding_are_explained() {
        assert!(
            report(3, 0, 0, 0.0)
                .to_string()
                .contains("max relative error 0 (exact: ")
        );
        let large = CheckReport {
            max_excess: 0.0,
            ..report(3, 0, 0, 3e-4)
        };
        assert!(large.passed());
        assert!(
            large
                .to_string()
                .ends_with("within what rounding in the differences of a large f explains")
        );
    }

    #[test]
    fn a_second_derivative_compares_as_few_points_as_its_weaker_check() {
        let both = report(3, 1, 0, 1e-12).and(report(2, 2, 1, 1e-10));
        assert_eq!(
            (both.compared, both.outside_domain, both.near_singularity),
            (2, 3, 1)
        );
        assert_eq!(both.max_error, 1e-10);
    }
}
