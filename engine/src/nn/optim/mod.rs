//! Optimisers: rules that turn gradients into parameter updates.
//!
//! Parameters are immutable tensors, so a step replaces each handle with an updated leaf. The
//! updates are written with tensor operations, so they run on whatever device holds the data.

mod adam;
mod sgd;

pub use adam::Adam;
pub use sgd::Sgd;

use crate::autograd::Gradients;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

// ANCHOR: optimizer
/// Something that updates parameters from their gradients.
pub trait Optimizer {
    /// Update every parameter from its gradient in `grads`.
    fn step(&mut self, params: &mut [&mut Tensor], grads: &Gradients) -> Result<()>;
}
// ANCHOR_END: optimizer

/// The gradient of a parameter, or a clear error when it is missing or not finite.
fn gradient_of(op: &'static str, param: &Tensor, grads: &Gradients) -> Result<Tensor> {
    let g = grads.get(param).cloned().ok_or_else(|| {
        Error::invalid(
            op,
            format!(
                "no gradient for a parameter of shape {:?}; was it used in the loss and created with requires_grad()?",
                param.shape()
            ),
        )
    })?;
    g.ensure_finite(op, "a gradient")?;
    Ok(g)
}

fn check_rate(op: &'static str, lr: f32) -> Result<()> {
    if !(lr.is_finite() && lr > 0.0) {
        return Err(Error::invalid(
            op,
            format!("learning rate must be a positive number, got {lr}"),
        ));
    }
    Ok(())
}
