//! L-BFGS: a quasi-Newton optimiser that builds a picture of the curvature from the last few
//! gradient differences, so each step is scaled like a Newton step without ever forming a
//! Hessian. It is the quality reference for style transfer (Gatys et al. used it), where the
//! parameters are the pixels.
//!
//! This follows PyTorch's `torch.optim.LBFGS` step for step (two-loop recursion, first step
//! scaled by 1/‖g‖₁, fixed step length `lr` afterwards), so results compare number for number.
//! With [`LineSearch::StrongWolfe`] the step length is searched for instead, as with PyTorch's
//! `line_search_fn="strong_wolfe"` (see `line_search.rs`).
//!
//! Two ways to drive it:
//! - [`Lbfgs::step`] moves the parameters given the loss and gradient at them (fixed step only);
//!   the caller evaluates the objective at the new point;
//! - [`Lbfgs::iterate`] is given the objective as a closure, like PyTorch's `step(closure)`, and
//!   returns the new point already evaluated. A line search needs this: it evaluates the
//!   objective at trial points before it knows where the step ends.

use super::line_search::{point_on_line, strong_wolfe, Evaluate, SearchLimits};
use crate::error::{Error, Result};

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
    /// How many (s, y) pairs to remember. Memory is params × 2 × history.
    pub history: usize,
    /// Step length along the search direction.
    pub lr: f32,
    /// Stop when the largest gradient entry falls below this.
    pub tolerance_grad: f64,
    /// Stop when the step or the change in loss falls below this.
    pub tolerance_change: f64,
    /// Fixed step length (the default) or a strong-Wolfe line search.
    pub line_search: LineSearch,
}

impl Default for LbfgsConfig {
    fn default() -> Self {
        LbfgsConfig {
            history: 100,
            lr: 1.0,
            tolerance_grad: 1e-7,
            tolerance_change: 1e-9,
            line_search: LineSearch::None,
        }
    }
}

/// The objective at one point: its value, its gradient, and a `tag` the optimiser carries along
/// untouched, so the caller gets back whatever it attached to the point it accepts (style
/// transfer attaches the image and its loss terms).
#[derive(Clone, Debug)]
pub struct Sample<T> {
    pub loss: f64,
    pub grad: Vec<f32>,
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
    d: Vec<f32>,
    /// The first step length to try.
    t: f64,
    /// The slope along d, g·d (negative: d goes downhill).
    slope: f64,
}

/// The optimiser's state between steps.
pub struct Lbfgs {
    config: LbfgsConfig,
    /// Step differences s = x_{k+1} − x_k, oldest first.
    steps: Vec<Vec<f32>>,
    /// Gradient differences y = g_{k+1} − g_k, oldest first.
    grad_diffs: Vec<Vec<f32>>,
    /// 1 / (yᵀs) for each pair.
    rho: Vec<f64>,
    previous_grad: Option<Vec<f32>>,
    previous_step: Option<Vec<f32>>,
    previous_loss: Option<f64>,
}

/// Why [`Lbfgs::step`] did not move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Converged {
    /// The gradient is (numerically) zero.
    Gradient,
    /// The step or the loss change became negligible.
    Change,
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

fn check_lengths(params: &[f32], grad: &[f32]) -> Result<()> {
    if params.len() == grad.len() {
        return Ok(());
    }
    Err(Error::shape(
        "lbfgs",
        format!(
            "{} parameters but {} gradient entries",
            params.len(),
            grad.len()
        ),
    ))
}

fn axpy(alpha: f64, x: &[f32], y: &mut [f32]) {
    y.iter_mut()
        .zip(x)
        .for_each(|(y, &x)| *y = (*y as f64 + alpha * x as f64) as f32);
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
        Ok(Lbfgs {
            config,
            steps: Vec::new(),
            grad_diffs: Vec::new(),
            rho: Vec::new(),
            previous_grad: None,
            previous_step: None,
            previous_loss: None,
        })
    }

    /// Move `params` by a fixed step given the loss and gradient evaluated there. Returns
    /// `Err(Converged)` wrapped in `Ok` when there is nothing left to do. With a line search
    /// configured use [`Lbfgs::iterate`]: a search has to evaluate the objective itself.
    pub fn step(
        &mut self,
        params: &mut [f32],
        loss: f64,
        grad: &[f32],
    ) -> Result<std::result::Result<(), Converged>> {
        if self.config.line_search != LineSearch::None {
            return Err(Error::invalid(
                "lbfgs",
                "a line search evaluates the objective at trial points: call iterate with the objective, not step",
            ));
        }
        check_lengths(params, grad)?;
        Ok(self.step_fixed(params, loss, grad))
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
        params: &mut [f32],
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
        check_lengths(params, &current.grad)?;
        match self.config.line_search {
            LineSearch::None => {
                let start = params.to_vec();
                let moved = self.step_fixed(params, current.loss, &current.grad);
                if let Err(converged) = moved {
                    params.copy_from_slice(&start);
                    return Ok(Iteration::Converged(converged));
                }
                match evaluate(params)? {
                    Some(sample) => Ok(Iteration::Moved(sample)),
                    None => {
                        params.copy_from_slice(&start);
                        Ok(Iteration::Stopped)
                    }
                }
            }
            LineSearch::StrongWolfe => {
                let Direction { d, t, slope } = match self.direction(current.loss, &current.grad) {
                    Ok(direction) => direction,
                    Err(converged) => return Ok(Iteration::Converged(converged)),
                };
                // PyTorch allows `max_eval − evaluations so far` trials *after* the first one,
                // which can overrun the budget by one; we count the first one too, so the
                // budget is a hard limit.
                let limits = SearchLimits {
                    tolerance_change: self.config.tolerance_change,
                    max_ls: max_evaluations - 1,
                };
                let Some(found) = strong_wolfe(params, &d, t, current, slope, limits, evaluate)?
                else {
                    return Ok(Iteration::Stopped);
                };
                // Move to exactly the point that was evaluated, and remember s = t·d.
                let moved = point_on_line(params, found.t, &d);
                params.copy_from_slice(&moved);
                let step: Vec<f32> = d.iter().map(|&d| (d as f64 * found.t) as f32).collect();
                self.remember(&current.grad, step, current.loss);
                Ok(Iteration::Moved(found.sample))
            }
        }
    }
    // ANCHOR_END: iterate

    /// The fixed step of [`Lbfgs::step`], without the checks.
    fn step_fixed(
        &mut self,
        params: &mut [f32],
        loss: f64,
        grad: &[f32],
    ) -> std::result::Result<(), Converged> {
        let Direction { d, t, .. } = self.direction(loss, grad)?;
        let step: Vec<f32> = d.iter().map(|&d| (d as f64 * t) as f32).collect();
        let max_step = step.iter().fold(0.0f64, |m, s| m.max(s.abs() as f64));
        axpy(1.0, &step, params);
        self.remember(grad, step, loss);
        if max_step <= self.config.tolerance_change {
            return Err(Converged::Change);
        }
        Ok(())
    }

    /// The stopping tests, the memory update with the last step, and the new direction with
    /// its first step length — everything before the step itself.
    fn direction(&mut self, loss: f64, grad: &[f32]) -> std::result::Result<Direction, Converged> {
        let max_grad = grad.iter().fold(0.0f64, |m, g| m.max(g.abs() as f64));
        if max_grad <= self.config.tolerance_grad {
            return Err(Converged::Gradient);
        }
        if let Some(previous) = self.previous_loss {
            if (loss - previous).abs() < self.config.tolerance_change {
                return Err(Converged::Change);
            }
        }
        if let Some(previous) = &self.previous_step {
            // A step this small changes nothing (a fixed step already stops when it takes
            // one; after a line search the point reached is evaluated first, so we stop here).
            let max_step = previous.iter().fold(0.0f64, |m, s| m.max(s.abs() as f64));
            if max_step <= self.config.tolerance_change {
                return Err(Converged::Change);
            }
        }
        let first = self.previous_grad.is_none();
        if let (Some(prev_g), Some(prev_s)) = (&self.previous_grad, &self.previous_step) {
            let y: Vec<f32> = grad.iter().zip(prev_g).map(|(g, p)| g - p).collect();
            let ys = dot(&y, prev_s);
            // Only a pair with positive curvature keeps the inverse-Hessian estimate positive.
            if ys > 1e-10 {
                if self.steps.len() == self.config.history {
                    self.steps.remove(0);
                    self.grad_diffs.remove(0);
                    self.rho.remove(0);
                }
                self.steps.push(prev_s.clone());
                self.grad_diffs.push(y);
                self.rho.push(1.0 / ys);
            }
        }
        let d = self.two_loop(grad);
        let t = if first {
            let l1: f64 = grad.iter().map(|g| g.abs() as f64).sum();
            (1.0f64).min(1.0 / l1) * self.config.lr as f64
        } else {
            self.config.lr as f64
        };
        let slope = dot(grad, &d);
        if slope > -self.config.tolerance_change {
            return Err(Converged::Change);
        }
        Ok(Direction { d, t, slope })
    }

    /// Keep what the next iteration's memory update needs: the gradient and loss where this
    /// step started, and the step s taken.
    fn remember(&mut self, grad: &[f32], step: Vec<f32>, loss: f64) {
        self.previous_grad = Some(grad.to_vec());
        self.previous_step = Some(step);
        self.previous_loss = Some(loss);
    }

    // ANCHOR: two_loop
    /// The two-loop recursion: −H·g with H the L-BFGS inverse-Hessian estimate.
    fn two_loop(&self, grad: &[f32]) -> Vec<f32> {
        let mut q: Vec<f32> = grad.iter().map(|g| -g).collect();
        let n = self.steps.len();
        if n == 0 {
            return q;
        }
        let mut alpha = vec![0.0f64; n];
        for i in (0..n).rev() {
            alpha[i] = dot(&self.steps[i], &q) * self.rho[i];
            axpy(-alpha[i], &self.grad_diffs[i], &mut q);
        }
        // Scale by yᵀs / yᵀy of the newest pair: a cheap estimate of the Hessian's size.
        let newest = n - 1;
        let h_diag =
            1.0 / (self.rho[newest] * dot(&self.grad_diffs[newest], &self.grad_diffs[newest]));
        q.iter_mut().for_each(|v| *v = (*v as f64 * h_diag) as f32);
        for (i, a) in alpha.iter().enumerate() {
            let beta = dot(&self.grad_diffs[i], &q) * self.rho[i];
            axpy(a - beta, &self.steps[i], &mut q);
        }
        q
    }
    // ANCHOR_END: two_loop
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rosenbrock's banana valley: a classic test that plain gradient descent crawls through.
    fn rosenbrock(p: &[f32]) -> (f64, Vec<f32>) {
        let (x, y) = (p[0] as f64, p[1] as f64);
        let f = (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2);
        let gx = -2.0 * (1.0 - x) - 400.0 * x * (y - x * x);
        let gy = 200.0 * (y - x * x);
        (f, vec![gx as f32, gy as f32])
    }

    #[test]
    fn minimises_a_quadratic_in_a_few_steps() {
        // f = Σ cᵢ xᵢ² with very different curvatures.
        let c = [1.0f32, 10.0, 100.0];
        let mut x = vec![1.0f32, 1.0, 1.0];
        let mut opt = Lbfgs::new(LbfgsConfig::default()).unwrap();
        for _ in 0..30 {
            let f: f64 = x.iter().zip(&c).map(|(x, c)| (c * x * x) as f64).sum();
            let g: Vec<f32> = x.iter().zip(&c).map(|(x, c)| 2.0 * c * x).collect();
            if opt.step(&mut x, f, &g).unwrap().is_err() {
                break;
            }
        }
        assert!(x.iter().all(|v| v.abs() < 1e-3), "{x:?}");
    }

    #[test]
    fn makes_progress_on_rosenbrock() {
        let mut p = vec![-1.2f32, 1.0];
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
        assert!(end < start * 1e-3, "from {start} to {end} at {p:?}");
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
