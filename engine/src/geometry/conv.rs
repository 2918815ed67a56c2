//! The shape arithmetic of a 2-D convolution, checked once so every kernel (CPU or CUDA) can
//! trust it.

use crate::error::{Error, Result};

/// Stride, zero padding and dilation of a convolution, as (height, width) pairs.
///
/// `Conv2dParams::default()` is stride 1, no padding, no dilation. VGG's 3×3 layers use
/// `Conv2dParams::default().padding(1)`, which keeps the image size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dParams {
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
}

impl Default for Conv2dParams {
    fn default() -> Self {
        Conv2dParams {
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
        }
    }
}

impl Conv2dParams {
    /// The same stride, padding and dilation along both axes (PyTorch's integer arguments).
    pub fn square(stride: usize, padding: usize, dilation: usize) -> Self {
        Conv2dParams {
            stride: (stride, stride),
            padding: (padding, padding),
            dilation: (dilation, dilation),
        }
    }

    /// This configuration with the same stride along both axes.
    pub fn stride(self, s: usize) -> Self {
        Conv2dParams {
            stride: (s, s),
            ..self
        }
    }

    /// This configuration with the same zero padding on every side.
    pub fn padding(self, p: usize) -> Self {
        Conv2dParams {
            padding: (p, p),
            ..self
        }
    }

    /// This configuration with the same dilation along both axes.
    pub fn dilation(self, d: usize) -> Self {
        Conv2dParams {
            dilation: (d, d),
            ..self
        }
    }
}

/// Every size a convolution kernel needs: input `[n, c, h, w]`, weight `[o, c, kh, kw]`,
/// output `[n, o, out_h, out_w]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeometry {
    pub batch: usize,
    pub in_channels: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub out_channels: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    pub params: Conv2dParams,
    pub out_h: usize,
    pub out_w: usize,
}

/// Output length along one axis: how many dilated kernel positions fit in the padded input.
/// `None` when the kernel is larger than the padded input.
fn out_len(
    input: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    dilation: usize,
) -> Option<usize> {
    let span = dilation * (kernel - 1) + 1;
    let padded = input + 2 * pad;
    (padded >= span).then(|| (padded - span) / stride + 1)
}

impl Conv2dGeometry {
    /// Check the shapes and parameters of `conv2d` and derive the output size.
    pub fn new(input: &[usize], weight: &[usize], params: Conv2dParams) -> Result<Self> {
        const OP: &str = "conv2d";
        if input.len() != 4 {
            return Err(Error::shape(
                OP,
                format!("input must be [batch, channels, height, width], got shape {input:?}"),
            ));
        }
        if weight.len() != 4 {
            return Err(Error::shape(
                OP,
                format!(
                    "weight must be [out_channels, in_channels, kernel_h, kernel_w], got shape {weight:?}"
                ),
            ));
        }
        let (s, p, d) = (params.stride, params.padding, params.dilation);
        if s.0 == 0 || s.1 == 0 {
            return Err(Error::invalid(
                OP,
                format!("stride must be at least 1, got {s:?}"),
            ));
        }
        if d.0 == 0 || d.1 == 0 {
            return Err(Error::invalid(
                OP,
                format!("dilation must be at least 1, got {d:?}"),
            ));
        }
        if input[1] != weight[1] {
            return Err(Error::shape(
                OP,
                format!(
                    "input has {} channels but the weight expects {} (input {input:?}, weight {weight:?})",
                    input[1], weight[1]
                ),
            ));
        }
        if weight.contains(&0) {
            return Err(Error::shape(
                OP,
                format!("weight shape {weight:?} has an empty axis"),
            ));
        }
        let too_big = || {
            Error::shape(
                OP,
                format!(
                    "kernel {}×{} with dilation {d:?} spans more than the padded input \
                     ({}×{} after padding {p:?}); input {input:?}, weight {weight:?}",
                    weight[2],
                    weight[3],
                    input[2] + 2 * p.0,
                    input[3] + 2 * p.1
                ),
            )
        };
        let out_h = out_len(input[2], weight[2], s.0, p.0, d.0).ok_or_else(too_big)?;
        let out_w = out_len(input[3], weight[3], s.1, p.1, d.1).ok_or_else(too_big)?;
        Ok(Conv2dGeometry {
            batch: input[0],
            in_channels: input[1],
            in_h: input[2],
            in_w: input[3],
            out_channels: weight[0],
            kernel_h: weight[2],
            kernel_w: weight[3],
            params,
            out_h,
            out_w,
        })
    }

    pub fn input_shape(&self) -> [usize; 4] {
        [self.batch, self.in_channels, self.in_h, self.in_w]
    }

    pub fn weight_shape(&self) -> [usize; 4] {
        [
            self.out_channels,
            self.in_channels,
            self.kernel_h,
            self.kernel_w,
        ]
    }

    pub fn output_shape(&self) -> [usize; 4] {
        [self.batch, self.out_channels, self.out_h, self.out_w]
    }

    /// Rows of the im2col matrix: one per (input channel, kernel row, kernel column).
    pub fn patch_len(&self) -> usize {
        self.in_channels * self.kernel_h * self.kernel_w
    }

    /// A 1×1 kernel with stride 1 and no padding: the image already *is* its column matrix.
    pub fn is_pointwise(&self) -> bool {
        self.kernel_h == 1
            && self.kernel_w == 1
            && self.params.stride == (1, 1)
            && self.params.padding == (0, 0)
    }

    /// Multiply-adds ×2 of the forward pass (the usual FLOP count).
    pub fn forward_flops(&self) -> f64 {
        2.0 * (self.batch * self.out_channels * self.out_h * self.out_w) as f64
            * self.patch_len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_size_matches_pytorch_formula() {
        let g = Conv2dGeometry::new(&[2, 3, 7, 9], &[4, 3, 3, 3], Conv2dParams::square(2, 1, 2))
            .unwrap();
        // floor((7 + 2 - 2*2 - 1) / 2) + 1 = 3 ; floor((9 + 2 - 5) / 2) + 1 = 4
        assert_eq!(g.output_shape(), [2, 4, 3, 4]);
    }

    #[test]
    fn rejects_bad_arguments() {
        let p = Conv2dParams::default();
        assert!(Conv2dGeometry::new(&[1, 3, 2, 2], &[1, 3, 3, 3], p).is_err());
        assert!(Conv2dGeometry::new(&[1, 3, 2, 2], &[1, 3, 3, 3], p.padding(1)).is_ok());
        assert!(Conv2dGeometry::new(&[1, 2, 5, 5], &[1, 3, 3, 3], p).is_err());
        assert!(Conv2dGeometry::new(&[3, 5, 5], &[1, 3, 3, 3], p).is_err());
        assert!(Conv2dGeometry::new(&[1, 3, 5, 5], &[1, 3, 3, 3], p.stride(0)).is_err());
        assert!(Conv2dGeometry::new(&[1, 3, 5, 5], &[1, 3, 3, 3], p.dilation(0)).is_err());
    }
}
