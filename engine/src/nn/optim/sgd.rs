//! Stochastic gradient descent with momentum.

use super::{check_rate, gradient_of, Optimizer};
use crate::autograd::{no_grad, Gradients};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

// ANCHOR: sgd
/// v ← μ·v + g;  θ ← θ − η·v. With μ = 0 this is plain gradient descent.
pub struct Sgd {
    pub lr: f32,
    pub momentum: f32,
    velocity: Vec<Option<Tensor>>,
}
// ANCHOR_END: sgd

impl Sgd {
    pub fn new(lr: f32, momentum: f32) -> Result<Self> {
        check_rate("sgd", lr)?;
        if !(0.0..1.0).contains(&momentum) {
            return Err(Error::invalid(
                "sgd",
                format!("momentum must be in [0, 1), got {momentum}"),
            ));
        }
        Ok(Sgd {
            lr,
            momentum,
            velocity: Vec::new(),
        })
    }
}

// ANCHOR: sgd_step
impl Optimizer for Sgd {
    fn step(&mut self, params: &mut [&mut Tensor], grads: &Gradients) -> Result<()> {
        self.velocity.resize(params.len(), None);
        no_grad(|| {
            for (param, velocity) in params.iter_mut().zip(&mut self.velocity) {
                let g = gradient_of("sgd", param, grads)?;
                let v = match velocity.take() {
                    Some(v) if self.momentum > 0.0 => v.mul_scalar(self.momentum)?.add(&g)?,
                    _ => g,
                };
                **param = param.sub(&v.mul_scalar(self.lr)?)?.requires_grad();
                *velocity = Some(v);
            }
            Ok(())
        })
    }
}
// ANCHOR_END: sgd_step
