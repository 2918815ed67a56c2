//! 2-D convolution and its gradients.
//!
//! Forward: `y[n, o] = bias[o] + Σ_c w[o, c] ⋆ x[n, c]` (cross-correlation, as in PyTorch).
//! Backward, for an output gradient `dy`:
//! - `dx` spreads every `dy` value back through the kernel taps that produced it
//!   (a GEMM with the transposed weight, then col2im);
//! - `dw` correlates the input with `dy` (a GEMM of `dy` with the im2col matrix);
//! - `dbias` sums `dy` over the batch and all pixels.
//!
//! Each is computed only when that input asks for a gradient: in style transfer only the
//! image does, so the weight GEMM — a third of the work — is skipped entirely.

use crate::error::{Error, Result};
use crate::geometry::{Conv2dGeometry, Conv2dParams};
use crate::layout::Layout;
use crate::ops::BinaryOp;
use crate::storage::Storage;
use crate::tensor::Tensor;
use std::sync::Arc;

/// A storage and the layout that views it, as the dispatch methods take them.
fn view(t: &Tensor) -> (&Storage, &Layout) {
    (t.storage().as_ref(), t.layout())
}

/// The same, keeping the shared handle: weights are identified by it (see
/// [`crate::cpu::winograd_cache`]).
fn shared_view(t: &Tensor) -> (&Arc<Storage>, &Layout) {
    (t.storage(), t.layout())
}

impl Tensor {
    /// 2-D convolution of an `[n, c, h, w]` input with an `[o, c, kh, kw]` weight and an
    /// optional `[o]` bias, giving `[n, o, out_h, out_w]` where
    /// `out_h = (h + 2·pad_h − dil_h·(kh − 1) − 1) / stride_h + 1` (and likewise for `w`).
    ///
    /// Padding is with zeros; `params` holds (height, width) pairs — see [`Conv2dParams`].
    pub fn conv2d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        params: Conv2dParams,
    ) -> Result<Tensor> {
        self.conv2d_then(weight, bias, params, false)
    }

    /// `relu(conv2d(…))` as one op, as every convolution in VGG is followed by a ReLU.
    ///
    /// Same numbers and gradients as `x.conv2d(w, b, p)?.relu()`, for less work and memory:
    /// the ReLU is applied in place to the convolution's fresh output (no second buffer), and
    /// the backward pass masks the gradient with the op's own output (`y > 0` exactly where the
    /// convolution was positive), so the pre-ReLU activations need not be kept for it.
    pub fn conv2d_relu(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        params: Conv2dParams,
    ) -> Result<Tensor> {
        self.conv2d_then(weight, bias, params, true)
    }

    fn conv2d_then(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        params: Conv2dParams,
        relu: bool,
    ) -> Result<Tensor> {
        let g = Conv2dGeometry::new(self.shape(), weight.shape(), params)?;
        if let Some(b) = bias {
            if b.shape() != [g.out_channels] {
                return Err(Error::shape(
                    "conv2d",
                    format!(
                        "bias must have shape [{}] (one value per output channel of weight {:?}), got {:?}",
                        g.out_channels,
                        weight.shape(),
                        b.shape()
                    ),
                ));
            }
        }
        let mut storage =
            self.storage()
                .conv2d(self.layout(), shared_view(weight), bias.map(view), &g)?;
        if relu {
            storage = storage.relu_in_place()?;
        }
        let mut inputs = vec![self, weight];
        inputs.extend(bias);
        let (x, w, b) = (self.clone(), weight.clone(), bias.cloned());
        Ok(Tensor::from_op(
            Arc::new(storage),
            Layout::contiguous(&g.output_shape()),
            if relu { "conv2d_relu" } else { "conv2d" },
            &inputs,
            move |dy, out| {
                // Through the ReLU first: the gradient where the output is positive.
                let masked;
                let dy = if relu {
                    masked = dy.zip_raw(out, BinaryOp::MaskPositive)?;
                    &masked
                } else {
                    dy
                };
                let grad = |s: Storage, shape: &[usize]| Tensor::from_storage(s, shape);
                let dy_view = view(dy);
                let dx = x
                    .requires_grad_flag()
                    .then(|| {
                        let s =
                            dy.storage()
                                .conv2d_backward_input(dy.layout(), shared_view(&w), &g)?;
                        Ok::<_, Error>(grad(s, &g.input_shape()))
                    })
                    .transpose()?;
                let dw = w
                    .requires_grad_flag()
                    .then(|| {
                        let s = x
                            .storage()
                            .conv2d_backward_weight(x.layout(), dy_view, &g)?;
                        Ok::<_, Error>(grad(s, &g.weight_shape()))
                    })
                    .transpose()?;
                let mut grads = vec![dx, dw];
                if let Some(b) = &b {
                    let db = b
                        .requires_grad_flag()
                        .then(|| {
                            let s = dy.storage().conv2d_backward_bias(dy.layout(), &g)?;
                            Ok::<_, Error>(grad(s, &[g.out_channels]))
                        })
                        .transpose()?;
                    grads.push(db);
                }
                Ok(grads)
            },
        ))
    }
}
