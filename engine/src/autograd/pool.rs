//! Max and average pooling over square windows, and their gradients.
//!
//! Max pooling passes each output's gradient to the single input that won its window;
//! average pooling shares it equally among the kernel² cells of the window.

use crate::error::Result;
use crate::geometry::Pool2dGeometry;
use crate::layout::Layout;
use crate::tensor::Tensor;
use std::sync::Arc;

impl Tensor {
    // ANCHOR: max_pool2d
    /// Largest value in each `kernel × kernel` window of an `[n, c, h, w]` tensor, windows
    /// `stride` apart; `padding` cells of −∞ on every side (at most `kernel / 2`).
    /// Output size: `(h + 2·padding − kernel) / stride + 1`.
    pub fn max_pool2d(&self, kernel: usize, stride: usize, padding: usize) -> Result<Tensor> {
        let g = Pool2dGeometry::new("max_pool2d", self.shape(), kernel, stride, padding)?;
        let storage = self.storage().max_pool2d(self.layout(), &g)?;
        let x = self.clone();
        Ok(Tensor::from_op(
            Arc::new(storage),
            Layout::contiguous(&g.output_shape()),
            "max_pool2d",
            &[self],
            move |dy, _| {
                let s =
                    x.storage()
                        .max_pool2d_backward(x.layout(), (dy.storage(), dy.layout()), &g)?;
                Ok(vec![Some(Tensor::from_storage(s, x.shape()))])
            },
        ))
    }
    // ANCHOR_END: max_pool2d

    // ANCHOR: avg_pool2d
    /// Mean of each `kernel × kernel` window; zero padding counts towards the divisor
    /// (PyTorch's `count_include_pad=True`), so every window divides by kernel².
    pub fn avg_pool2d(&self, kernel: usize, stride: usize, padding: usize) -> Result<Tensor> {
        let g = Pool2dGeometry::new("avg_pool2d", self.shape(), kernel, stride, padding)?;
        let storage = self.storage().avg_pool2d(self.layout(), &g)?;
        let shape = self.shape().to_vec();
        Ok(Tensor::from_op(
            Arc::new(storage),
            Layout::contiguous(&g.output_shape()),
            "avg_pool2d",
            &[self],
            move |dy, _| {
                let dx = dy.avg_pool2d_transpose(&shape, kernel, stride, padding)?;
                Ok(vec![Some(dx)])
            },
        ))
    }
    // ANCHOR_END: avg_pool2d

    /// Average pooling's transpose as a linear map, untracked: each value of this pooled
    /// tensor shared equally among the kernel² cells of its window in a tensor of
    /// `input_shape`. It is the pooling's backward pass, and, after the pooling, it puts each
    /// window's mean (÷ kernel²) back on the window's cells (L-BFGS's preconditioner uses it).
    pub fn avg_pool2d_transpose(
        &self,
        input_shape: &[usize],
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Result<Tensor> {
        let g = Pool2dGeometry::new("avg_pool2d_transpose", input_shape, kernel, stride, padding)?;
        if self.shape() != g.output_shape().as_slice() {
            return Err(crate::error::Error::shape(
                "avg_pool2d_transpose",
                format!(
                    "pooling {input_shape:?} gives {:?}, not this tensor's {:?}",
                    g.output_shape(),
                    self.shape()
                ),
            ));
        }
        let s = self.storage().avg_pool2d_backward(self.layout(), &g)?;
        Ok(Tensor::from_storage(s, input_shape))
    }
}
