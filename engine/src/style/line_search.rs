//! The strong-Wolfe line search that L-BFGS can use instead of a fixed step length.
//!
//! L-BFGS picks a direction d from the point x; the line search then picks how far to go, a
//! step length t, by trying points x + t·d. A point is good enough when it satisfies the
//! *strong Wolfe conditions* (c₁ = 10⁻⁴, c₂ = 0.9, with φ(t) = f(x + t·d)):
//!
//! - sufficient decrease (Armijo): φ(t) ≤ φ(0) + c₁·t·φ′(0) — the loss fell by at least a small
//!   fraction of what the slope at x promised;
//! - curvature: |φ′(t)| ≤ c₂·|φ′(0)| — the slope has flattened, so the step was not too short.
//!
//! The search runs in two phases. *Bracketing* grows t until an interval is known to contain an
//! acceptable point (the loss went up again, or the slope turned positive). *Zoom* then shrinks
//! that interval, each time trying the minimiser of the cubic that fits the loss and slope at
//! both ends.
//!
//! This is a port of `_strong_wolfe` and `_cubic_interpolate` from PyTorch's
//! `torch/optim/lbfgs.py` (itself a port of `lswolfe.lua` from Lua Torch), decision for
//! decision, so that `LBFGS(line_search_fn="strong_wolfe")` and ours try the same points.

use super::bounds::Bounds;
use super::lbfgs::Sample;
use crate::error::Result;
use crate::tensor::Tensor;

/// c₁ of the sufficient-decrease (Armijo) condition.
pub const SUFFICIENT_DECREASE: f64 = 1e-4;
/// c₂ of the curvature condition.
pub const CURVATURE: f64 = 0.9;

/// The objective along the line: called with a point, it returns the loss and gradient there, or
/// `None` when no more evaluations may be made (an interruption, a NaN, a spent budget).
pub type Evaluate<'a, T> = dyn FnMut(&Tensor) -> Result<Option<Sample<T>>> + 'a;

/// The point x + t·d, formed in f64 and rounded to f32 like the parameters. The line search and
/// the optimiser's final move both use this, so the accepted parameters are exactly the ones
/// evaluated.
pub fn point_on_line(x: &Tensor, t: f64, d: &Tensor) -> Result<Tensor> {
    x.add_scaled(t, d)
}

// ANCHOR: cubic
/// The minimiser of the cubic through (x₁, f₁) and (x₂, f₂) with slopes g₁ and g₂, clamped to
/// `bounds` (by default the interval between x₁ and x₂). If that cubic has no minimum (its
/// derivative has no real root), fall back to the middle of the bounds.
pub fn cubic_interpolate(
    (x1, f1, g1): (f64, f64, f64),
    (x2, f2, g2): (f64, f64, f64),
    bounds: Option<(f64, f64)>,
) -> f64 {
    let (low, high) = bounds.unwrap_or(if x1 <= x2 { (x1, x2) } else { (x2, x1) });
    let d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2);
    let d2_square = d1 * d1 - g1 * g2;
    if d2_square >= 0.0 {
        let d2 = d2_square.sqrt();
        // The formula is written from the point further right, so it stays well conditioned.
        let minimum = if x1 <= x2 {
            x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
        } else {
            x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2))
        };
        minimum.max(low).min(high)
    } else {
        (low + high) / 2.0
    }
}
// ANCHOR_END: cubic

/// A point tried on the line: its step length, what the objective said there, and the slope
/// φ′(t) = ∇f(x + t·d)·d.
#[derive(Clone)]
struct Trial<T> {
    t: f64,
    sample: Sample<T>,
    slope: f64,
}

/// What the search settled on.
pub struct Found<T> {
    /// The accepted step length (0 when nothing better than x was found).
    pub t: f64,
    /// The objective at x + t·d (the starting sample itself when t = 0).
    pub sample: Sample<T>,
    /// How many times the objective was evaluated.
    pub evaluations: usize,
}

/// Settings of one search.
#[derive(Clone, Copy, Debug)]
pub struct SearchLimits {
    /// Stop zooming when the bracket is narrower than this (measured as |Δt|·max|d|).
    pub tolerance_change: f64,
    /// At most this many evaluations after the first one (PyTorch's `max_ls`).
    pub max_ls: usize,
    /// Trial points are projected into this box (the search then follows the projected path,
    /// with the slope along d as its estimate of the path's slope).
    pub bounds: Option<Bounds>,
}

/// Search along `d` from `x`, where the objective is `start` and its slope is `slope`
/// (∇f·d, negative for a descent direction), beginning with the step length `t`.
///
/// Returns `None` when `evaluate` refused a point: the search was cut short and x stays the
/// best known point.
pub fn strong_wolfe<T: Clone>(
    x: &Tensor,
    d: &Tensor,
    t: f64,
    start: &Sample<T>,
    slope: f64,
    limits: SearchLimits,
    evaluate: &mut Evaluate<'_, T>,
) -> Result<Option<Found<T>>> {
    let (f, gtd) = (start.loss, slope);
    let d_norm = d.max_abs()?;
    let mut evaluations = 0;
    // Evaluate the objective at x + t·d; `None` ends the search.
    let mut try_step = |t: f64| -> Result<Option<Trial<T>>> {
        let point = match limits.bounds {
            Some(bounds) => bounds.step_along(x, t, d)?.0,
            None => point_on_line(x, t, d)?,
        };
        let Some(sample) = evaluate(&point)? else {
            return Ok(None);
        };
        evaluations += 1;
        let slope = sample.grad.dot(d)?;
        Ok(Some(Trial { t, sample, slope }))
    };
    // The starting point, t = 0, as a trial: it can end up as one end of the bracket.
    let origin = Trial {
        t: 0.0,
        sample: start.clone(),
        slope: gtd,
    };
    let armijo_fails =
        |trial: &Trial<T>| trial.sample.loss > f + SUFFICIENT_DECREASE * trial.t * gtd;
    let curvature_holds = |trial: &Trial<T>| trial.slope.abs() <= -CURVATURE * gtd;

    // ANCHOR: bracket
    // Phase 1, bracketing: grow t until [previous, newest] must contain an acceptable point.
    let Some(mut newest) = try_step(t)? else {
        return Ok(None);
    };
    let mut previous = origin.clone();
    let mut ls_iter = 0;
    let mut done = false;
    // The bracket's two ends; with `done`, the accepted point is in both.
    let mut bracket: [Trial<T>; 2] = loop {
        if ls_iter >= limits.max_ls {
            // Out of evaluations before the newest point was judged: keep the better of the
            // start and the newest point (the zoom below will not run).
            break [origin.clone(), newest];
        }
        if armijo_fails(&newest) || (ls_iter > 1 && newest.sample.loss >= previous.sample.loss) {
            // Too far: the loss rose above the Armijo line (or above the previous point).
            break [previous, newest];
        }
        if curvature_holds(&newest) {
            // Both conditions hold: accept at once.
            done = true;
            break [newest.clone(), newest.clone()];
        }
        if newest.slope >= 0.0 {
            // Went past a minimum of φ: it lies between the previous point and this one.
            break [previous, newest];
        }
        // Still going downhill: extrapolate, at least 1 % further than t and at most 10 t.
        let (min_step, max_step) = (newest.t + 0.01 * (newest.t - previous.t), newest.t * 10.0);
        let next_t = cubic_interpolate(
            (previous.t, previous.sample.loss, previous.slope),
            (newest.t, newest.sample.loss, newest.slope),
            Some((min_step, max_step)),
        );
        previous = newest;
        newest = match try_step(next_t)? {
            Some(trial) => trial,
            None => return Ok(None),
        };
        ls_iter += 1;
    };
    // ANCHOR_END: bracket

    // ANCHOR: zoom
    // Phase 2, zoom: shrink the bracket around a point that satisfies both conditions.
    let mut insufficient_progress = false;
    // `low` is the end with the lower loss, `high` the other.
    let (mut low, mut high) = ends(&bracket);
    while !done && ls_iter < limits.max_ls {
        let (a, b) = (bracket[0].t, bracket[1].t);
        if (b - a).abs() * d_norm < limits.tolerance_change {
            break; // the bracket is too narrow to matter
        }
        let t = cubic_interpolate(
            (a, bracket[0].sample.loss, bracket[0].slope),
            (b, bracket[1].sample.loss, bracket[1].slope),
            None,
        );
        let t = away_from_the_ends(t, (a, b), &mut insufficient_progress);
        let Some(trial) = try_step(t)? else {
            return Ok(None);
        };
        ls_iter += 1;
        if armijo_fails(&trial) || trial.sample.loss >= bracket[low].sample.loss {
            // Not low enough: the new point replaces the high end.
            bracket[high] = trial;
            (low, high) = ends(&bracket);
        } else {
            if curvature_holds(&trial) {
                done = true;
            } else if trial.slope * (bracket[high].t - bracket[low].t) >= 0.0 {
                // The slope points away from the high end: the old low end becomes the high one.
                bracket[high] = bracket[low].clone();
            }
            // The new point becomes the low end.
            bracket[low] = trial;
        }
    }
    // ANCHOR_END: zoom
    let [first, second] = bracket;
    let best = if low == 0 { first } else { second };
    Ok(Some(Found {
        t: best.t,
        sample: best.sample,
        evaluations,
    }))
}

// ANCHOR: away_from_the_ends
/// Guard the zoom against creeping along one end of the bracket `(a, b)`: if `t` is within
/// 10 % of the bracket's width from an end twice in a row (or outside it), move it to 10 % from
/// that end. `insufficient_progress` remembers the first time.
fn away_from_the_ends(t: f64, (a, b): (f64, f64), insufficient_progress: &mut bool) -> f64 {
    let (left, right) = (a.min(b), a.max(b));
    let eps = 0.1 * (right - left);
    let near_an_end = (right - t).min(t - left) < eps;
    if !near_an_end {
        *insufficient_progress = false;
        return t;
    }
    if !*insufficient_progress && t < right && t > left {
        *insufficient_progress = true;
        return t;
    }
    *insufficient_progress = false;
    if (t - right).abs() < (t - left).abs() {
        right - eps
    } else {
        left + eps
    }
}
// ANCHOR_END: away_from_the_ends

/// (index of the lower end, index of the higher end); ties go to the first.
fn ends<T>(bracket: &[Trial<T>; 2]) -> (usize, usize) {
    if bracket[0].sample.loss <= bracket[1].sample.loss {
        (0, 1)
    } else {
        (1, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cubic_interpolation_finds_the_minimum_of_a_cubic() {
        // φ(t) = t³ − 3t has its minimum at t = 1; φ′(t) = 3t² − 3.
        let phi = |t: f64| (t * t * t - 3.0 * t, 3.0 * t * t - 3.0);
        let (f0, g0) = phi(0.0);
        let (f2, g2) = phi(2.0);
        let t = cubic_interpolate((0.0, f0, g0), (2.0, f2, g2), None);
        assert!((t - 1.0).abs() < 1e-12, "{t}");
        // The same points given the other way round.
        let t = cubic_interpolate((2.0, f2, g2), (0.0, f0, g0), None);
        assert!((t - 1.0).abs() < 1e-12, "{t}");
        // Clamped to the bounds.
        let t = cubic_interpolate((0.0, f0, g0), (2.0, f2, g2), Some((1.5, 3.0)));
        assert_eq!(t, 1.5);
    }

    #[test]
    fn cubic_interpolation_falls_back_to_the_middle() {
        // Rising at both ends, and steeply: the fitted cubic has no turning point
        // (d₁ = 1, d₁² − g₁·g₂ = −3 < 0).
        let t = cubic_interpolate((0.0, 0.0, 2.0), (1.0, 1.0, 2.0), None);
        assert_eq!(t, 0.5);
    }

    fn quadratic(x: &Tensor) -> Sample<()> {
        // f = (x − 3)², minimum at 3.
        let v = x.item().unwrap() as f64 - 3.0;
        Sample {
            loss: v * v,
            grad: Tensor::from_vec(vec![(2.0 * v) as f32], &[1]).unwrap(),
            tag: (),
        }
    }

    fn one(v: f32) -> Tensor {
        Tensor::from_vec(vec![v], &[1]).unwrap()
    }

    #[test]
    fn a_too_short_first_step_is_extrapolated_until_the_conditions_hold() {
        let (x, d) = (one(0.0), one(1.0));
        let start = quadratic(&x);
        let slope = start.grad.dot(&d).unwrap();
        let mut calls = 0;
        let mut evaluate = |p: &Tensor| -> Result<Option<Sample<()>>> {
            calls += 1;
            Ok(Some(quadratic(p)))
        };
        let limits = SearchLimits {
            tolerance_change: 1e-9,
            max_ls: 25,
            bounds: None,
        };
        let found = strong_wolfe(&x, &d, 0.01, &start, slope, limits, &mut evaluate)
            .unwrap()
            .unwrap();
        let end = quadratic(&point_on_line(&x, found.t, &d).unwrap());
        assert!(end.loss <= start.loss + SUFFICIENT_DECREASE * found.t * slope);
        assert!(end.grad.dot(&d).unwrap().abs() <= CURVATURE * slope.abs());
        assert_eq!(found.evaluations, calls);
        assert_eq!(found.sample.loss, end.loss);
    }

    #[test]
    fn a_refused_evaluation_ends_the_search() {
        let (x, d) = (one(0.0), one(1.0));
        let start = quadratic(&x);
        let mut evaluate = |_: &Tensor| -> Result<Option<Sample<()>>> { Ok(None) };
        let limits = SearchLimits {
            tolerance_change: 1e-9,
            max_ls: 25,
            bounds: None,
        };
        let found = strong_wolfe(&x, &d, 1.0, &start, -6.0, limits, &mut evaluate).unwrap();
        assert!(found.is_none());
    }

    #[test]
    fn no_more_than_max_ls_plus_one_evaluations() {
        // A far too long first step: the search must zoom back, but may only look twice.
        let (x, d) = (one(0.0), one(1.0));
        let start = quadratic(&x);
        let mut calls = 0;
        let mut evaluate = |p: &Tensor| -> Result<Option<Sample<()>>> {
            calls += 1;
            Ok(Some(quadratic(p)))
        };
        let limits = SearchLimits {
            tolerance_change: 1e-9,
            max_ls: 1,
            bounds: None,
        };
        let found = strong_wolfe(&x, &d, 1000.0, &start, -6.0, limits, &mut evaluate)
            .unwrap()
            .unwrap();
        assert_eq!(calls, 2);
        assert_eq!(found.evaluations, 2);
        // Whatever it returns is no worse than the start.
        assert!(found.sample.loss <= start.loss);
    }
}
