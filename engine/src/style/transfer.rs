//! The optimisation loop: the pixels are the parameters. Starting from an initial image, each
//! evaluation runs the network forward and backward to get ∂L/∂pixels, and an optimiser moves
//! the pixels downhill.
//!
//! Everything image-sized — the image, its gradient, L-BFGS's history, Adam's moments — stays
//! on the device of the initial image; only the loss terms and the optimiser's scalars come back
//! to the host. (The caller copies an image out when it saves one.)

use super::bounds::Bounds;
use super::lbfgs::{Iteration, Lbfgs, LbfgsConfig, LineSearch, Sample};
use super::objective::{FeatureExtractor, LossTerms, Objective};
use crate::error::{Error, Result};
use crate::nn::optim::{Adam, Optimizer};
use crate::tensor::Tensor;

/// Which optimiser moves the pixels.
#[derive(Clone, Copy, Debug)]
pub enum ImageOptimizer {
    /// Quality reference; memory ≈ pixels × 2 × history.
    Lbfgs(LbfgsConfig),
    /// Memory-light alternative; `lr` is in pixel units (0..255). With `bounds`, every step
    /// is projected back into the box.
    Adam { lr: f32, bounds: Option<Bounds> },
}

impl ImageOptimizer {
    /// The box the pixels are kept in, if any.
    pub fn bounds(&self) -> Option<Bounds> {
        match self {
            ImageOptimizer::Lbfgs(config) => config.bounds,
            ImageOptimizer::Adam { bounds, .. } => *bounds,
        }
    }
}

/// The chosen optimiser with its state.
enum Stepper {
    // Boxed: L-BFGS's state is several times Adam's, and only one stepper exists per run.
    Lbfgs(Box<Lbfgs>),
    Adam(Adam),
}

/// What the caller sees after each evaluation.
pub struct Progress<'a> {
    /// Evaluations done so far (1-based).
    pub evaluation: usize,
    pub terms: LossTerms,
    pub total: f64,
    /// The image that was just evaluated.
    pub image: &'a Tensor,
    /// The image the optimiser stands on: the last one it accepted. Without a line search
    /// every evaluated image is accepted, so this is `image`; during a line search `image` is a
    /// trial point that may yet be rejected, and this is where the search started. Checkpoints
    /// should save this one.
    pub current: &'a Tensor,
}

/// The caller's answer: go on or stop now (Ctrl-C, a time limit...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Continue,
    Stop,
}

/// Why the loop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The evaluation budget was used up.
    Budget,
    /// The optimiser could make no further progress.
    Converged,
    /// The caller asked to stop.
    Interrupted,
    /// The loss became NaN or infinite; the image is the last finite one.
    Diverged,
}

/// The result: the optimiser's last accepted image (always one with a finite loss), and how we
/// got there.
pub struct Outcome {
    pub image: Tensor,
    pub terms: LossTerms,
    pub total: f64,
    pub evaluations: usize,
    /// Steps the optimiser took (points it moved to): `evaluations` less the starting point's
    /// evaluation, less any line-search trials beyond one per step.
    pub steps: usize,
    /// L-BFGS in a box: times its history was forgotten (see [`Lbfgs::restarts`]); 0 otherwise.
    pub restarts: usize,
    pub reason: StopReason,
    /// Total loss after every evaluation (line-search trials included).
    pub history: Vec<f64>,
}

/// What the loop keeps with each evaluated point, handed back by the optimiser when it accepts
/// the point.
#[derive(Clone)]
struct Evaluated {
    image: Tensor,
    terms: LossTerms,
}

// ANCHOR: evaluator
/// The one place where the objective is evaluated, whoever asks (the loop, or L-BFGS's line
/// search at its trial points): it counts every evaluation against the budget, stops at a NaN,
/// shows each result to the caller and remembers a request to stop. Once the budget is spent or
/// a stop is due it refuses further evaluations, and the optimiser gives up its step.
struct Evaluator<'a, F> {
    net: &'a dyn FeatureExtractor,
    objective: &'a Objective,
    budget: usize,
    /// Total loss of every evaluation so far.
    history: Vec<f64>,
    /// Set when the run must end: the caller asked to stop, or the loss was not finite.
    stop: Option<StopReason>,
    /// Whether evaluated points can be line-search trials rather than accepted steps.
    trials: bool,
    /// The optimiser's current (accepted) image, kept up to date by the loop.
    current: Option<Tensor>,
    on_evaluation: F,
}
// ANCHOR_END: evaluator

// ANCHOR: evaluate_once
impl<F: FnMut(&Progress) -> Result<Control>> Evaluator<'_, F> {
    fn remaining(&self) -> usize {
        self.budget - self.history.len()
    }

    fn evaluate(&mut self, pixels: &Tensor) -> Result<Option<Sample<Evaluated>>> {
        if self.stop.is_some() || self.remaining() == 0 {
            return Ok(None);
        }
        let image = pixels.detach();
        let eval = self.objective.evaluate(self.net, &image)?;
        // Only the answer leaves the device.
        if !eval.total.is_finite() || !eval.grad.all_finite()? {
            self.stop = Some(StopReason::Diverged);
            return Ok(None);
        }
        self.history.push(eval.total);
        let current = match (&self.current, self.trials) {
            (Some(current), true) => current,
            _ => &image,
        };
        let control = (self.on_evaluation)(&Progress {
            evaluation: self.history.len(),
            terms: eval.terms,
            total: eval.total,
            image: &image,
            current,
        })?;
        if control == Control::Stop {
            self.stop = Some(StopReason::Interrupted);
        }
        Ok(Some(Sample {
            loss: eval.total,
            grad: eval.grad,
            tag: Evaluated {
                image,
                terms: eval.terms,
            },
        }))
    }
}
// ANCHOR_END: evaluate_once

/// One Adam step from the current image, projected into the box when there is one.
fn adam_step(
    opt: &mut Adam,
    current: &Sample<Evaluated>,
    bounds: Option<Bounds>,
) -> Result<Tensor> {
    let mut param = current.tag.image.requires_grad();
    let grads = crate::autograd::Gradients::single(&param, current.grad.clone());
    opt.step(&mut [&mut param], &grads)?;
    match bounds {
        Some(b) => b.project(&param),
        None => Ok(param.detach()),
    }
}

/// Optimise `init` for at most `evaluations` forward+backward passes. Every evaluation counts,
/// line-search trials included, so runs with the same budget cost the same whatever the
/// optimiser.
pub fn optimise(
    net: &dyn FeatureExtractor,
    objective: &Objective,
    init: &Tensor,
    optimizer: ImageOptimizer,
    evaluations: usize,
    on_evaluation: impl FnMut(&Progress) -> Result<Control>,
) -> Result<Outcome> {
    if evaluations == 0 {
        return Err(Error::invalid(
            "style transfer",
            "the number of evaluations must be at least 1",
        ));
    }
    let shape = init.shape().to_vec();
    let bounds = optimizer.bounds();
    // A box-constrained run starts inside its box (an upsampled or noisy start may not be).
    let mut pixels = match bounds {
        Some(b) => b.project(init)?,
        None => init.detach(),
    };
    let mut stepper = match optimizer {
        ImageOptimizer::Lbfgs(config) => Stepper::Lbfgs(Box::new(Lbfgs::new(config)?)),
        ImageOptimizer::Adam { lr, .. } => Stepper::Adam(Adam::new(lr)?),
    };
    let mut evaluator = Evaluator {
        net,
        objective,
        budget: evaluations,
        // Grown as evaluations happen: a budget is a bound, not a promise to use it all
        // (an absurd one would otherwise be allocated before the first step).
        history: Vec::with_capacity(evaluations.min(1 << 16)),
        stop: None,
        trials: matches!(
            optimizer,
            ImageOptimizer::Lbfgs(LbfgsConfig {
                line_search: LineSearch::StrongWolfe,
                ..
            })
        ),
        current: None,
        on_evaluation,
    };
    // ANCHOR: loop
    let mut steps = 0;
    // The first evaluation can only be refused because its loss is not finite.
    let Some(mut current) = evaluator.evaluate(&pixels)? else {
        return Err(Error::NonFinite {
            op: "style transfer",
            what: "the loss of the initial image",
            shape,
        });
    };
    let reason = loop {
        evaluator.current = Some(current.tag.image.clone());
        if let Some(stop) = evaluator.stop {
            break stop;
        }
        let remaining = evaluator.remaining();
        if remaining == 0 {
            break StopReason::Budget;
        }
        let mut evaluate = |x: &Tensor| evaluator.evaluate(x);
        let next = match &mut stepper {
            // L-BFGS evaluates through the closure: once with a fixed step, as often as its
            // line search needs (never more than `remaining`) with one.
            Stepper::Lbfgs(opt) => {
                match opt.iterate(&mut pixels, &current, remaining, &mut evaluate)? {
                    Iteration::Moved(sample) => Some(sample),
                    Iteration::Converged(_) => break StopReason::Converged,
                    Iteration::Stopped => None,
                }
            }
            Stepper::Adam(opt) => {
                pixels = adam_step(opt, &current, bounds)?;
                evaluate(&pixels)?
            }
        };
        match next {
            Some(sample) => {
                current = sample;
                steps += 1;
            }
            // Refused: the evaluator knows why (a stop or a NaN; the budget is never overrun).
            None => break evaluator.stop.unwrap_or(StopReason::Budget),
        }
    };
    // ANCHOR_END: loop
    let restarts = match &stepper {
        Stepper::Lbfgs(opt) => opt.restarts(),
        Stepper::Adam(_) => 0,
    };
    Ok(Outcome {
        image: current.tag.image,
        terms: current.tag.terms,
        total: current.loss,
        evaluations: evaluator.history.len(),
        steps,
        restarts,
        reason,
        history: evaluator.history,
    })
}
