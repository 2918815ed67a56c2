//! Adam: momentum plus a per-parameter step size from the running gradient magnitude.

use super::{check_rate, gradient_of, Optimizer};
use crate::autograd::{no_grad, Gradients};
use crate::error::Result;
use crate::tensor::Tensor;

// ANCHOR: adam
/// m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  θ ← θ − η·m̂/(√v̂ + ε), with bias-corrected m̂, v̂.
pub struct Adam {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    t: i32,
    moments: Vec<Option<(Tensor, Tensor)>>,
}

impl Adam {
    /// Adam with the usual β₁ = 0.9, β₂ = 0.999, ε = 1e-8.
    pub fn new(lr: f32) -> Result<Self> {
        check_rate("adam", lr)?;
        Ok(Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            t: 0,
            moments: Vec::new(),
        })
    }
}
// ANCHOR_END: adam

// ANCHOR: adam_step
impl Optimizer for Adam {
    fn step(&mut self, params: &mut [&mut Tensor], grads: &Gradients) -> Result<()> {
        self.moments.resize(params.len(), None);
        self.t += 1;
        let (b1, b2) = (self.beta1, self.beta2);
        let correction1 = 1.0 - b1.powi(self.t);
        let correction2 = 1.0 - b2.powi(self.t);
        no_grad(|| {
            for (param, moments) in params.iter_mut().zip(&mut self.moments) {
                let g = gradient_of("adam", param, grads)?;
                let (m, v) = match moments.take() {
                    Some(state) => state,
                    None => (g.zeros_like()?, g.zeros_like()?),
                };
                let m = m.mul_scalar(b1)?.add(&g.mul_scalar(1.0 - b1)?)?;
                let v = v.mul_scalar(b2)?.add(&g.square()?.mul_scalar(1.0 - b2)?)?;
                let m_hat = m.mul_scalar(1.0 / correction1)?;
                let v_hat = v.mul_scalar(1.0 / correction2)?;
                let update = m_hat.div(&v_hat.sqrt()?.add_scalar(self.eps)?)?;
                **param = param.sub(&update.mul_scalar(self.lr)?)?.requires_grad();
                *moments = Some((m, v));
            }
            Ok(())
        })
    }
}
// ANCHOR_END: adam_step
