//! L-BFGS: a quasi-Newton optimiser that builds a picture of the curvature from the last few
//! gradient differences, so each step is scaled like a Newton step without ever forming a
//! Hessian. It is the quality reference for style transfer (Gatys et al. used it), where the
//! parameters are the pixels.
//!
//! This follows PyTorch's `torch.optim.LBFGS` step for step (two-loop recursion, first step
//! scaled by 1/‖g‖₁, fixed step length `lr` afterwards), so results compare with it to float
//! rounding; the recursion runs on coefficients over the history (`lbfgs_history.rs`).
//! With [`LineSearch::StrongWolfe`] the step length is searched for instead, as with PyTorch's
//! `line_search_fn="strong_wolfe"` (see `line_search.rs`).
//!
//! The parameters, the gradient and the remembered pairs are tensors on the parameters' device;
//! only scalars come back to the host, which is all the control flow needs: the inner products
//! of the new pair and the gradient with the whole history in one batched product, and a few
//! norms — a fixed number of round trips per step whatever the history's length. Every sum
//! and update is formed in f64, on the CPU and on the GPU alike.
//!
//! Two ways to drive it:
//! - [`Lbfgs::step`] moves the parameters given the loss and gradient at them (fixed step only);
//!   the caller evaluates the objective at the new point;
//! - [`Lbfgs::iterate`] is given the objective as a closure, like PyTorch's `step(closure)`, and
//!   returns the new point already evaluated. A line search needs this: it evaluates the
//!   objective at trial points before it knows where the step ends.

use super::bounds::Bounds;
use super::lbfgs_history::History;
pub use super::lbfgs_history::HistoryPrecision;
use super::line_search::{point_on_line, strong_wolfe, Evaluate, SearchLimits};
use super::preconditioner::CoarseLift;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// How L-BFGS chooses the step length along its direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LineSearch {
    /// A fixed step length `lr` (the first step scaled by 1/‖g‖₁): one evaluation per step.
    /// PyTorch's default.
    #[default]
    None,
    /// Search for a step length that satisfies the strong Wolfe conditions: one or more
    /// evaluations per step. PyTorch's `line_search_fn="strong_wolfe"`.
    StrongWolfe,
}

/// L-BFGS settings.
#[derive(Clone, Copy, Debug)]
pub struct LbfgsConfig {
    /// How many (s, y) pairs to remember. Memory is params × 2 × history, on the device.
    pub history: usize,
    /// How the pairs are kept: f32 (the classic method) or bf16, in half the memory and half
    /// the time a step spends reading them (see `lbfgs_history.rs`).
    pub history_precision: HistoryPrecision,
    /// Step length along the search direction.
    pub lr: f32,
    /// Stop when the largest gradient entry falls below this.
    pub tolerance_grad: f64,
    /// Stop when the step or the change in loss falls below this.
    pub tolerance_change: f64,
    /// Fixed step length (the default) or a strong-Wolfe line search.
    pub line_search: LineSearch,
    /// Keep every parameter in this box (projected L-BFGS; see `bounds.rs`), or `None` for
    /// the classic unconstrained method, which PyTorch's `LBFGS` is. A box needs
    /// [`LineSearch::StrongWolfe`]: a fixed step that the projection cuts short is no longer
    /// a quasi-Newton step, and on style transfer it climbs for good (ch09), so
    /// [`Lbfgs::new`] refuses the pair.
    pub bounds: Option<Bounds>,
    /// Scale the unexplored directions by γ·M rather than γ, M lifting the picture's coarse
    /// structure (see `preconditioner.rs`); `None` is the classic method. Needs picture-shaped
    /// parameters, `[n, c, h, w]`.
    pub preconditioner: Option<CoarseLift>,
}

impl Default for LbfgsConfig {
    fn default() -> Self {
        LbfgsConfig {
            history: 100,
            history_precision: HistoryPrecision::F32,
            lr: 1.0,
            tolerance_grad: 1e-7,
            tolerance_change: 1e-9,
            line_search: LineSearch::None,
            bounds: None,
            preconditioner: None,
        }
    }
}

/// The objective at one point: its value, its gradient, and a `tag` the optimiser carries along
/// untouched, so the caller gets back whatever it attached to the point it accepts (style
/// transfer attaches the image and its loss terms).
#[derive(Clone, Debug)]
pub struct Sample<T> {
    pub loss: f64,
    pub grad: Tensor,
    pub tag: T,
}

/// What one [`Lbfgs::iterate`] did.
#[derive(Debug)]
pub enum Iteration<T> {
    /// The parameters moved; this is the objective at their new value.
    Moved(Sample<T>),
    /// Nothing left to do; the parameters are unchanged.
    Converged(Converged),
    /// The objective declined an evaluation (an interruption, a NaN, a spent budget); the
    /// parameters are unchanged.
    Stopped,
}

/// Where to go from the current point.
struct Direction {
    /// The search direction d = −H·g.
    d: Tensor,
    /// The first step length to try.
    t: f64,
    /// The slope along d, g·d (negative: d goes downhill).
    slope: f64,
}

/// The optimiser's state between steps.
pub struct Lbfgs {
    config: LbfgsConfig,
    /// The remembered pairs: step differences s = x_{k+1} − x_k and gradient differences
    /// y = g_{k+1} − g_k, with their inner products (see `lbfgs_history.rs`).
    history: History,
    previous_grad: Option<Tensor>,
    previous_step: Option<Tensor>,
    previous_loss: Option<f64>,
    /// How often the history was forgotten because the active set changed.
    restarts: usize,
}

/// Why [`Lbfgs::step`] did not move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Converged {
    /// The gradient is (numerically) zero.
    Gradient,
    /// The step or the loss change became negligible.
    Change,
}

// ANCHOR: first_step_in_box
/// The first step's length in a box: the steepest variable moves by 1/255 of the box's width
/// (one grey level for pixels).
///
/// PyTorch's 1/‖g‖₁ suits parameters of size about 1. Pixels in 0..255 have style gradients
/// whose ‖g‖₁ is in the millions, so that step moves no pixel by more than 1e-4, below the
/// resolution of f32 near 255 for most of them: the first curvature pair (s, y) is then
/// rounding noise, and a noisy pair can make the next step send the picture to the far side of
/// the box. One grey level is a step the image and its gradient both resolve.
fn first_step_in_box(bounds: Bounds, max_grad: f64) -> f64 {
    (bounds.hi - bounds.lo) as f64 / 255.0 / max_grad
}
// ANCHOR_END: first_step_in_box

fn check_shapes(params: &Tensor, grad: &Tensor) -> Result<()> {
    if params.shape() == grad.shape() {
        return Ok(());
    }
    Err(Error::shape(
        "lbfgs",
        format!(
            "parameters of shape {:?} but a gradient of shape {:?}",
            params.shape(),
            grad.shape()
        ),
    ))
}

impl Lbfgs {
    pub fn new(config: LbfgsConfig) -> Result<Self> {
        if config.history == 0 {
            return Err(Error::invalid("lbfgs", "history size must be at least 1"));
        }
        if !(config.lr.is_finite() && config.lr > 0.0) {
            return Err(Error::invalid(
                "lbfgs",
                format!("step length must be a positive number, got {}", config.lr),
            ));
        }
        if config.bounds.is_some() && config.line_search == LineSearch::None {
            return Err(Error::invalid(
                "lbfgs",
                "a box needs the strong-Wolfe line search: a fixed step that the projection \
                 cuts short is no longer a quasi-Newton step and can climb for good",
            ));
        }
        Ok(Lbfgs {
            config,
            history: History::new(
                config.history,
                config.history_precision,
                config.preconditioner,
            ),
            previous_grad: None,
            previous_step: None,
            previous_loss: None,
            restarts: 0,
        })
    }

    /// How many times the remembered pairs were forgotten because, once the active set of the
    /// box changed, they no longer gave a downhill direction: each restart costs L-BFGS its
    /// picture of the curvature, so a run with many converges like gradient descent.
    pub fn restarts(&self) -> usize {
        self.restarts
    }

    /// Move `params` by a fixed step given the loss and gradient evaluated there. Returns
    /// `Err(Converged)` wrapped in `Ok` when there is nothing left to do. With a line search
    /// configured use [`Lbfgs::iterate`]: a search has to evaluate the objective itself.
    pub fn step(
        &mut self,
        params: &mut Tensor,
        loss: f64,
        grad: &Tensor,
    ) -> Result<std::result::Result<(), Converged>> {
        if self.config.line_search != LineSearch::None {
            return Err(Error::invalid(
                "lbfgs",
                "a line search evaluates the objective at trial points: call iterate with the objective, not step",
            ));
        }
        check_shapes(params, grad)?;
        self.step_fixed(params, loss, grad)
    }

    // ANCHOR: iterate
    /// One L-BFGS iteration from `params`, where the objective is `current`. `evaluate` computes
    /// the objective at a point; at most `max_evaluations` calls are made (at least 1).
    ///
    /// Like PyTorch's `LBFGS.step(closure)` inner loop: with a fixed step, move and evaluate
    /// once; with the strong-Wolfe search, try points along the direction until one is good
    /// enough and move there.
    pub fn iterate<T: Clone>(
        &mut self,
        params: &mut Tensor,
        current: &Sample<T>,
        max_evaluations: usize,
        evaluate: &mut Evaluate<'_, T>,
    ) -> Result<Iteration<T>> {
        if max_evaluations == 0 {
            return Err(Error::invalid(
                "lbfgs",
                "an iteration needs at least one evaluation of the objective",
            ));
        }
        check_shapes(params, &current.grad)?;
        match self.config.line_search {
            LineSearch::None => {
                // Tensors are immutable: keeping the start is keeping a handle, not a copy.
                let start = params.clone();
                let moved = self.step_fixed(params, current.loss, &current.grad)?;
                if let Err(converged) = moved {
                    *params = start;
                    return Ok(Iteration::Converged(converged));
                }
                match evaluate(params)? {
                    Some(sample) => Ok(Iteration::Moved(sample)),
                    None => {
                        *params = start;
                        Ok(Iteration::Stopped)
                    }
                }
            }
            LineSearch::StrongWolfe => {
                let direction = self.direction(params, current.loss, &current.grad)?;
                let Direction { d, t, slope } = match direction {
                    Ok(direction) => direction,
                    Err(converged) => return Ok(Iteration::Converged(converged)),
                };
                // PyTorch allows `max_eval − evaluations so far` trials *after* the first one,
                // which can overrun the budget by one; we count the first one too, so the
                // budget is a hard limit.
                let limits = SearchLimits {
                    tolerance_change: self.config.tolerance_change,
                    max_ls: max_evaluations - 1,
                    bounds: self.config.bounds,
                };
                let Some(found) = strong_wolfe(params, &d, t, current, slope, limits, evaluate)?
                else {
                    return Ok(Iteration::Stopped);
                };
                // Move to exactly the point that was evaluated, and remember the step taken.
                let step = self.move_along(params, found.t, &d)?;
                self.remember(&current.grad, step, current.loss);
                Ok(Iteration::Moved(found.sample))
            }
        }
    }
    // ANCHOR_END: iterate

    /// The fixed step of [`Lbfgs::step`], without the checks.
    fn step_fixed(
        &mut self,
        params: &mut Tensor,
        loss: f64,
        grad: &Tensor,
    ) -> Result<std::result::Result<(), Converged>> {
        let Direction { d, t, .. } = match self.direction(params, loss, grad)? {
            Ok(direction) => direction,
            Err(converged) => return Ok(Err(converged)),
        };
        let step = self.move_along(params, t, &d)?;
        let max_step = step.max_abs()?;
        self.remember(grad, step, loss);
        if max_step <= self.config.tolerance_change {
            return Ok(Err(Converged::Change));
        }
        Ok(Ok(()))
    }

    /// Move `x` to the point `t` along `d` (kept in the box when there is one) and return the
    /// step taken, s.
    fn move_along(&self, x: &mut Tensor, t: f64, d: &Tensor) -> Result<Tensor> {
        match self.config.bounds {
            Some(bounds) => {
                let (point, step) = bounds.step_along(x, t, d)?;
                *x = point;
                Ok(step)
            }
            None => {
                *x = point_on_line(x, t, d)?;
                d.scaled(t)
            }
        }
    }

    /// The stopping tests, the memory update with the last step, and the new direction with
    /// its first step length — everything before the step itself.
    fn direction(
        &mut self,
        params: &Tensor,
        loss: f64,
        full_grad: &Tensor,
    ) -> Result<std::result::Result<Direction, Converged>> {
        // ANCHOR: active_set
        // In a box, the variables held at a bound by an outward gradient (the active set) do
        // not move: the direction is built from the gradient of the free ones only.
        let free = match self.config.bounds {
            Some(bounds) => Some(bounds.free_mask(params, full_grad)?),
            None => None,
        };
        let grad = match &free {
            Some(mask) => full_grad.mul(mask)?,
            None => full_grad.clone(),
        };
        // ANCHOR_END: active_set
        let max_grad = grad.max_abs()?;
        if max_grad <= self.config.tolerance_grad {
            return Ok(Err(Converged::Gradient));
        }
        if let Some(previous) = self.previous_loss {
            if (loss - previous).abs() < self.config.tolerance_change {
                return Ok(Err(Converged::Change));
            }
        }
        if let Some(previous) = &self.previous_step {
            // A step this small changes nothing (a fixed step already stops when it takes
            // one; after a line search the point reached is evaluated first, so we stop here).
            if previous.max_abs()? <= self.config.tolerance_change {
                return Ok(Err(Converged::Change));
            }
        }
        let first = self.previous_grad.is_none();
        // ANCHOR: direction_from_history
        // The last step's pair is offered to the history and the gradient measured against it
        // in one batched product; the direction is one combination of the history's vectors
        // (the two-loop recursion on coefficients: `lbfgs_history.rs`, anchor two_loop).
        let pair = match (&self.previous_grad, &self.previous_step) {
            (Some(prev_g), Some(prev_s)) => Some((prev_s.clone(), full_grad.sub(prev_g)?)),
            _ => None,
        };
        let measured = self.history.update(pair, &grad)?;
        let (mut d, mut slope) = self.history.direction(&grad, &measured)?;
        // ANCHOR_END: direction_from_history
        if let Some(mask) = &free {
            // The slope is unchanged: grad is zero wherever the mask is.
            d = d.mul(mask)?;
        }
        if slope > -self.config.tolerance_change && free.is_some() && !self.history.is_empty() {
            // Pairs remembered while other variables were free can point uphill once the
            // active set changes: forget them and restart along the projected gradient.
            self.history.clear();
            self.restarts += 1;
            d = grad.neg()?;
            slope = -measured.gg;
        }
        let lr = self.config.lr as f64;
        let t = match self.config.bounds {
            // In a box, every step without curvature pairs (the first, one after a reset, one
            // after pairs that were all rejected) is a gradient step: sized to the box.
            Some(bounds) if self.history.is_empty() => first_step_in_box(bounds, max_grad) * lr,
            None if first => (1.0f64).min(1.0 / grad.sum_abs()?) * lr,
            _ => lr,
        };
        if slope > -self.config.tolerance_change {
            return Ok(Err(Converged::Change));
        }
        Ok(Ok(Direction { d, t, slope }))
    }

    /// Keep what the next iteration's memory update needs: the gradient and loss where this
    /// step started, and the step s taken.
    fn remember(&mut self, grad: &Tensor, step: Tensor, loss: f64) {
        self.previous_grad = Some(grad.clone());
        self.previous_step = Some(step);
        self.previous_loss = Some(loss);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rosenbrock's banana valley: a classic test that plain gradient descent crawls through.
    fn rosenbrock(p: &Tensor) -> (f64, Tensor) {
        let p = p.to_vec().unwrap();
        let (x, y) = (p[0] as f64, p[1] as f64);
        let f = (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2);
        let gx = -2.0 * (1.0 - x) - 400.0 * x * (y - x * x);
        let gy = 200.0 * (y - x * x);
        (
            f,
            Tensor::from_vec(vec![gx as f32, gy as f32], &[2]).unwrap(),
        )
    }

    #[test]
    fn minimises_a_quadratic_in_a_few_steps() {
        // f = Σ cᵢ xᵢ² with very different curvatures.
        let c = [1.0f32, 10.0, 100.0];
        let mut x = Tensor::ones(&[3]);
        let mut opt = Lbfgs::new(LbfgsConfig::default()).unwrap();
        for _ in 0..30 {
            let v = x.to_vec().unwrap();
            let f: f64 = v.iter().zip(&c).map(|(x, c)| (c * x * x) as f64).sum();
            let g: Vec<f32> = v.iter().zip(&c).map(|(x, c)| 2.0 * c * x).collect();
            let g = Tensor::from_vec(g, &[3]).unwrap();
            if opt.step(&mut x, f, &g).unwrap().is_err() {
                break;
            }
        }
        let x = x.to_vec().unwrap();
        assert!(x.iter().all(|v| v.abs() < 1e-3), "{x:?}");
    }

    #[test]
    fn makes_progress_on_rosenbrock() {
        let mut p = Tensor::from_vec(vec![-1.2, 1.0], &[2]).unwrap();
        let mut opt = Lbfgs::new(LbfgsConfig {
            lr: 0.5,
            ..Default::default()
        })
        .unwrap();
        let start = rosenbrock(&p).0;
        for _ in 0..200 {
            let (f, g) = rosenbrock(&p);
            if opt.step(&mut p, f, &g).unwrap().is_err() {
                break;
            }
        }
        let end = rosenbrock(&p).0;
        assert!(end < start * 1e-3, "from {start} to {end} at {p}");
    }

    #[test]
    fn rejects_bad_settings() {
        assert!(Lbfgs::new(LbfgsConfig {
            history: 0,
            ..Default::default()
        })
        .is_err());
        assert!(Lbfgs::new(LbfgsConfig {
            lr: -1.0,
            ..Default::default()
        })
        .is_err());
    }
}
