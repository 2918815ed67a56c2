//! The optimisation loop: the pixels are the parameters. Starting from an initial image, each
//! evaluation runs the network forward and backward to get ∂L/∂pixels, and an optimiser moves
//! the pixels downhill.

use super::lbfgs::{Lbfgs, LbfgsConfig};
use super::objective::{FeatureExtractor, LossTerms, Objective};
use crate::error::{Error, Result};
use crate::nn::optim::{Adam, Optimizer};
use crate::tensor::Tensor;

/// Which optimiser moves the pixels.
#[derive(Clone, Copy, Debug)]
pub enum ImageOptimizer {
    /// Quality reference; memory ≈ pixels × 2 × history.
    Lbfgs(LbfgsConfig),
    /// Memory-light alternative; `lr` is in pixel units (0..255).
    Adam { lr: f32 },
}

/// The chosen optimiser with its state.
enum Stepper {
    Lbfgs(Lbfgs),
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

/// The result: the last image with a finite loss, and how we got there.
pub struct Outcome {
    pub image: Tensor,
    pub terms: LossTerms,
    pub total: f64,
    pub evaluations: usize,
    pub reason: StopReason,
    /// Total loss after every evaluation.
    pub history: Vec<f64>,
}

/// Optimise `init` for at most `evaluations` forward+backward passes. Every evaluation counts,
/// so L-BFGS and Adam runs with the same budget cost the same.
pub fn optimise(
    net: &dyn FeatureExtractor,
    objective: &Objective,
    init: &Tensor,
    optimizer: ImageOptimizer,
    evaluations: usize,
    mut on_evaluation: impl FnMut(&Progress) -> Result<Control>,
) -> Result<Outcome> {
    if evaluations == 0 {
        return Err(Error::invalid(
            "style transfer",
            "the number of evaluations must be at least 1",
        ));
    }
    let shape = init.shape().to_vec();
    let mut pixels = init.to_vec();
    let mut stepper = match optimizer {
        ImageOptimizer::Lbfgs(config) => Stepper::Lbfgs(Lbfgs::new(config)?),
        ImageOptimizer::Adam { lr } => Stepper::Adam(Adam::new(lr)?),
    };
    let mut best: Option<(Tensor, LossTerms, f64)> = None;
    let mut history = Vec::with_capacity(evaluations);
    let mut reason = StopReason::Budget;
    // ANCHOR: loop
    for evaluation in 1..=evaluations {
        let image = Tensor::from_vec(pixels.clone(), &shape)?;
        let eval = objective.evaluate(net, &image)?;
        if !eval.total.is_finite() || !eval.grad.all_finite() {
            reason = StopReason::Diverged;
            break;
        }
        history.push(eval.total);
        let control = on_evaluation(&Progress {
            evaluation,
            terms: eval.terms,
            total: eval.total,
            image: &image,
        })?;
        best = Some((image.clone(), eval.terms, eval.total));
        if control == Control::Stop {
            reason = StopReason::Interrupted;
            break;
        }
        if evaluation == evaluations {
            break;
        }
        match &mut stepper {
            Stepper::Lbfgs(opt) => {
                if opt
                    .step(&mut pixels, eval.total, &eval.grad.to_vec())?
                    .is_err()
                {
                    reason = StopReason::Converged;
                    break;
                }
            }
            Stepper::Adam(opt) => {
                let mut param = image.requires_grad();
                let grads = crate::autograd::Gradients::single(&param, eval.grad.clone());
                opt.step(&mut [&mut param], &grads)?;
                pixels = param.to_vec();
            }
        }
    }
    // ANCHOR_END: loop
    let (image, terms, total) = best.ok_or_else(|| Error::NonFinite {
        op: "style transfer",
        what: "the loss of the initial image",
        shape: shape.clone(),
    })?;
    Ok(Outcome {
        image,
        terms,
        total,
        evaluations: history.len(),
        reason,
        history,
    })
}
