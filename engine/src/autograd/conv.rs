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

    // ANCHOR: conv2d_relu
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
    // ANCHOR_END: conv2d_relu

    // ANCHOR: conv2d_then
    fn conv2d_then(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        params: Conv2dParams,
        relu: bool,
    ) -> Result<Tensor> {
        let g = Conv2dGeometry::new(self.shape(), weight.shape(), params)?;
        check_bias(&g, weight, bias)?;
        // With `relu`, the ReLU is fused: applied to the fresh output where it lies.
        let storage =
            self.storage()
                .conv2d(self.layout(), shared_view(weight), bias.map(view), &g, relu)?;
        let mut inputs = vec![self, weight];
        inputs.extend(bias);
        let saved = SavedConv {
            x: self.clone(),
            w: weight.clone(),
            b: bias.cloned(),
            g,
            relu,
        };
        Ok(Tensor::from_op(
            Arc::new(storage),
            Layout::contiguous(&g.output_shape()),
            if relu { "conv2d_relu" } else { "conv2d" },
            &inputs,
            move |dy, out| saved.backward(dy, out),
        ))
    }
    // ANCHOR_END: conv2d_then
}

/// The bias, if any, must hold one value per output channel.
fn check_bias(g: &Conv2dGeometry, weight: &Tensor, bias: Option<&Tensor>) -> Result<()> {
    match bias {
        Some(b) if b.shape() != [g.out_channels] => Err(Error::shape(
            "conv2d",
            format!(
                "bias must have shape [{}] (one value per output channel of weight {:?}), \
                 got {:?}",
                g.out_channels,
                weight.shape(),
                b.shape()
            ),
        )),
        _ => Ok(()),
    }
}

// ANCHOR: saved_conv
/// What a convolution keeps for its backward pass: its inputs (handles, not copies), its
/// geometry, and whether a ReLU was fused into it.
struct SavedConv {
    x: Tensor,
    w: Tensor,
    b: Option<Tensor>,
    g: Conv2dGeometry,
    relu: bool,
}

impl SavedConv {
    /// `[dx, dw, dbias]` from the output gradient `dy`, each only where it is wanted.
    fn backward(&self, dy: &Tensor, out: &Tensor) -> Result<Vec<Option<Tensor>>> {
        // Through the ReLU first: the gradient passes where the output is positive. When only
        // the input wants a gradient (style transfer), the input gradient applies that mask as
        // it reads `dy`, and the masked gradient is never stored.
        let params_want_grads =
            self.w.requires_grad_flag() || self.b.as_ref().is_some_and(|b| b.requires_grad_flag());
        let masked;
        let (dy, relu_output) = match (self.relu, params_want_grads) {
            (false, _) => (dy, None),
            (true, false) => (dy, Some(out)),
            (true, true) => {
                masked = dy.zip_raw(out, BinaryOp::MaskPositive)?;
                (&masked, None)
            }
        };
        let dx = wanted(&self.x, || self.input_grad(dy, relu_output))?;
        let dw = wanted(&self.w, || self.weight_grad(dy))?;
        let mut grads = vec![dx, dw];
        if let Some(b) = &self.b {
            grads.push(wanted(b, || self.bias_grad(dy))?);
        }
        Ok(grads)
    }
    // ANCHOR_END: saved_conv

    // ANCHOR: conv_grads
    /// `dx`: `dy` spread back through the kernel taps (transposed weight GEMM, then col2im);
    /// with `relu_output`, only where that is positive.
    fn input_grad(&self, dy: &Tensor, relu_output: Option<&Tensor>) -> Result<Tensor> {
        let (w, g) = (shared_view(&self.w), &self.g);
        let mask = relu_output.map(view);
        let s = dy
            .storage()
            .conv2d_backward_input(dy.layout(), mask, w, g)?;
        Ok(Tensor::from_storage(s, &g.input_shape()))
    }

    /// `dw`: `dy` times the im2col matrix of the input, transposed.
    fn weight_grad(&self, dy: &Tensor) -> Result<Tensor> {
        let (x, g) = (&self.x, &self.g);
        let s = x
            .storage()
            .conv2d_backward_weight(x.layout(), view(dy), g)?;
        Ok(Tensor::from_storage(s, &g.weight_shape()))
    }

    /// `dbias`: `dy` summed over the batch and every pixel, one sum per output channel.
    fn bias_grad(&self, dy: &Tensor) -> Result<Tensor> {
        let s = dy.storage().conv2d_backward_bias(dy.layout(), &self.g)?;
        Ok(Tensor::from_storage(s, &[self.g.out_channels]))
    }
    // ANCHOR_END: conv_grads
}

/// `grad()` if `input` asks for a gradient, else `None` (and no work done).
fn wanted(input: &Tensor, grad: impl FnOnce() -> Result<Tensor>) -> Result<Option<Tensor>> {
    input.requires_grad_flag().then(grad).transpose()
}
