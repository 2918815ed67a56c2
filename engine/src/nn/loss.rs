//! Loss (cost) functions: one number saying how wrong a prediction is.

use crate::error::{Error, Result};
use crate::ops::UnaryOp;
use crate::tensor::Tensor;

/// Predictions and targets must agree in shape and hold finite numbers.
fn check_pair(op: &'static str, prediction: &Tensor, target: &Tensor) -> Result<()> {
    if prediction.shape() != target.shape() {
        return Err(Error::shape(
            op,
            format!(
                "prediction shape {:?} differs from target shape {:?}",
                prediction.shape(),
                target.shape()
            ),
        ));
    }
    prediction.ensure_finite(op, "the prediction")?;
    target.ensure_finite(op, "the target")
}

// ANCHOR: mse
/// Mean squared error: mean((ŷ − y)²).
pub fn mse(prediction: &Tensor, target: &Tensor) -> Result<Tensor> {
    check_pair("mse", prediction, target)?;
    prediction.sub(target)?.square()?.mean_all()
}
// ANCHOR_END: mse

/// Probabilities are clipped this far from 0 and 1 so that log never sees 0.
pub const LOG_LOSS_EPSILON: f32 = 1e-7;

/// Binary log loss (cross-entropy) of probabilities p against labels y ∈ [0, 1]:
/// −mean(y·ln p + (1 − y)·ln(1 − p)).
pub fn binary_log_loss(probability: &Tensor, target: &Tensor) -> Result<Tensor> {
    check_pair("binary_log_loss", probability, target)?;
    let p = probability.clamp(LOG_LOSS_EPSILON, 1.0 - LOG_LOSS_EPSILON)?;
    let one_minus_y = target.affine(-1.0, 1.0)?;
    let positive = target.mul(&p.log()?)?;
    let negative = one_minus_y.mul(&p.affine(-1.0, 1.0)?.log()?)?;
    positive.add(&negative)?.mean_all()?.neg()
}

// ANCHOR: log_loss_with_logits
/// Binary log loss from logits z (p = σ(z)), stable for any z:
/// mean(max(z, 0) − z·y + ln(1 + e^−|z|)). Its gradient is simply (σ(z) − y)/n.
pub fn binary_log_loss_with_logits(logits: &Tensor, target: &Tensor) -> Result<Tensor> {
    check_pair("binary_log_loss_with_logits", logits, target)?;
    let (z, y) = (logits.to_vec()?, target.to_vec()?);
    let n = z.len().max(1) as f64;
    let total: f64 = z
        .iter()
        .zip(&y)
        .map(|(&z, &y)| {
            let (z, y) = (z as f64, y as f64);
            z.max(0.0) - z * y + (-z.abs()).exp().ln_1p()
        })
        .sum();
    let out = Tensor::scalar((total / n) as f32).to_device(logits.device())?;
    let (zt, yt) = (logits.clone(), target.clone());
    Ok(out.with_backward(
        "binary_log_loss_with_logits",
        &[logits, target],
        move |g, _| {
            let scale = g.item()? / n as f32;
            let grad_z = zt.map(UnaryOp::Sigmoid)?.sub(&yt)?.mul_scalar(scale)?;
            let grad_y = zt.mul_scalar(-scale)?;
            Ok(vec![Some(grad_z), Some(grad_y)])
        },
    ))
}
// ANCHOR_END: log_loss_with_logits

// ANCHOR: cross_entropy
/// Cross-entropy of logits `[batch, classes]` against class indices:
/// −mean over the batch of log softmax(z)[target].
pub fn cross_entropy(logits: &Tensor, targets: &[usize]) -> Result<Tensor> {
    if logits.rank() != 2 || logits.shape()[0] != targets.len() {
        return Err(Error::shape(
            "cross_entropy",
            format!(
                "expected logits [batch, classes] with one target per row; got {:?} and {} targets",
                logits.shape(),
                targets.len()
            ),
        ));
    }
    let classes = logits.shape()[1];
    if let Some(&bad) = targets.iter().find(|&&t| t >= classes) {
        return Err(Error::invalid(
            "cross_entropy",
            format!("target class {bad} is out of range for {classes} classes"),
        ));
    }
    logits.ensure_finite("cross_entropy", "the logits")?;
    let mut one_hot = vec![0.0; targets.len() * classes];
    for (row, &t) in targets.iter().enumerate() {
        one_hot[row * classes + t] = 1.0;
    }
    let one_hot = Tensor::from_vec_on(one_hot, logits.shape(), logits.device())?;
    let picked = logits.log_softmax(1)?.mul(&one_hot)?.sum_all()?;
    picked.mul_scalar(-1.0 / targets.len().max(1) as f32)
}
// ANCHOR_END: cross_entropy
