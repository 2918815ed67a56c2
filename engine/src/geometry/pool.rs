//! The shape arithmetic of 2-D pooling, checked once so every kernel (CPU or CUDA) can trust it.

use crate::error::{Error, Result};
use std::ops::Range;

/// Sizes of a square pooling window over `[n, c, h, w]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dGeometry {
    pub batch: usize,
    pub channels: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl Pool2dGeometry {
    /// Check the arguments of `op` (`max_pool2d` or `avg_pool2d`) and derive the output size.
    pub fn new(
        op: &'static str,
        input: &[usize],
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Result<Self> {
        if input.len() != 4 {
            return Err(Error::shape(
                op,
                format!("input must be [batch, channels, height, width], got shape {input:?}"),
            ));
        }
        if kernel == 0 || stride == 0 {
            return Err(Error::invalid(
                op,
                format!(
                    "kernel and stride must be at least 1, got kernel {kernel}, stride {stride}"
                ),
            ));
        }
        // PyTorch's rule: a window must never lie entirely in the padding.
        if padding > kernel / 2 {
            return Err(Error::invalid(
                op,
                format!("padding {padding} must be at most half the kernel size {kernel}"),
            ));
        }
        let (h, w) = (input[2] + 2 * padding, input[3] + 2 * padding);
        if h < kernel || w < kernel {
            return Err(Error::shape(
                op,
                format!(
                    "kernel {kernel}×{kernel} is larger than the padded input {h}×{w} (input {input:?}, padding {padding})"
                ),
            ));
        }
        Ok(Pool2dGeometry {
            batch: input[0],
            channels: input[1],
            in_h: input[2],
            in_w: input[3],
            kernel,
            stride,
            padding,
            out_h: (h - kernel) / stride + 1,
            out_w: (w - kernel) / stride + 1,
        })
    }

    pub fn output_shape(&self) -> [usize; 4] {
        [self.batch, self.channels, self.out_h, self.out_w]
    }

    /// Input rows (or columns) under output position `o`, clipped to the image.
    pub fn window(&self, o: usize, len: usize) -> Range<usize> {
        let start = (o * self.stride) as isize - self.padding as isize;
        let end = (start + self.kernel as isize).min(len as isize);
        start.max(0) as usize..end.max(0) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_arguments() {
        assert!(Pool2dGeometry::new("t", &[1, 1, 4, 4], 0, 1, 0).is_err());
        assert!(Pool2dGeometry::new("t", &[1, 1, 4, 4], 2, 0, 0).is_err());
        assert!(Pool2dGeometry::new("t", &[1, 1, 4, 4], 2, 2, 2).is_err());
        assert!(Pool2dGeometry::new("t", &[1, 1, 1, 4], 3, 1, 0).is_err());
        assert!(Pool2dGeometry::new("t", &[1, 4, 4], 2, 2, 0).is_err());
    }
}
