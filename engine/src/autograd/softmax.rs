//! Softmax and log-softmax along an axis, computed stably (shifted by the maximum) and
//! differentiated with their closed-form rules rather than through exp/sum/div.

use crate::error::Result;
use crate::tensor::Tensor;

impl Tensor {
    // ANCHOR: softmax
    /// softmax(x)ᵢ = eˣⁱ / Σⱼ eˣʲ along `axis`.
    ///
    /// Backward: ∂L/∂x = y ⊙ (g − Σ(g ⊙ y)), with y the softmax output.
    pub fn softmax(&self, axis: usize) -> Result<Tensor> {
        let out = crate::autograd::no_grad(|| -> Result<Tensor> {
            let shifted = self.sub(&self.max(&[axis], true)?)?;
            let e = shifted.exp()?;
            e.div(&e.sum(&[axis], true)?)
        })?;
        Ok(out.with_backward("softmax", &[self], move |g, y| {
            let dot = g.mul(y)?.sum(&[axis], true)?;
            Ok(vec![Some(y.mul(&g.sub(&dot)?)?)])
        }))
    }

    // ANCHOR_END: softmax

    // ANCHOR: log_softmax
    /// log softmax(x) = x − max − log Σ e^(x − max) along `axis`.
    ///
    /// Backward: ∂L/∂x = g − softmax(x) ⊙ Σ g.
    pub fn log_softmax(&self, axis: usize) -> Result<Tensor> {
        let out = crate::autograd::no_grad(|| -> Result<Tensor> {
            let shifted = self.sub(&self.max(&[axis], true)?)?;
            let log_sum = shifted.exp()?.sum(&[axis], true)?.log()?;
            shifted.sub(&log_sum)
        })?;
        Ok(out.with_backward("log_softmax", &[self], move |g, y| {
            let softmax = y.exp()?;
            Ok(vec![Some(g.sub(&softmax.mul(&g.sum(&[axis], true)?)?)?)])
        }))
    }
    // ANCHOR_END: log_softmax
}
