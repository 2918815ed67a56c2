//! Broadcasting as an explicit view, and its backward rule: summing back to the input shape.

use crate::error::Result;
use crate::tensor::Tensor;

impl Tensor {
    // ANCHOR: broadcast_to
    /// View with size-1 axes repeated (and leading axes added) to reach `shape`; no copy.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let layout = self.layout().broadcast_to(shape)?;
        let input_shape = self.shape().to_vec();
        Ok(Tensor::from_op(
            self.storage().clone(),
            layout,
            "broadcast_to",
            &[self],
            move |g, _| Ok(vec![Some(g.sum_to(&input_shape)?)]),
        ))
    }
    // ANCHOR_END: broadcast_to

    // ANCHOR: sum_to
    /// Sum over the axes that broadcasting from `shape` would have repeated: the adjoint of
    /// [`broadcast_to`](Self::broadcast_to).
    pub fn sum_to(&self, shape: &[usize]) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let extra = self.rank() - shape.len();
        let axes: Vec<usize> = (0..self.rank())
            .filter(|&a| a < extra || (shape[a - extra] == 1 && self.shape()[a] != 1))
            .collect();
        self.sum(&axes, true)?.reshape(shape)
    }
    // ANCHOR_END: sum_to
}
