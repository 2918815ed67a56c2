//! The buffer behind a tensor, and the one place that dispatches kernels to a device.

use crate::cpu;
use crate::cpu::conv::Weight;
use crate::cpu::conv_geometry::Conv2dGeometry;
use crate::cpu::copy::dense;
use crate::cpu::pool::Pool2dGeometry;
use crate::device::Device;
use crate::error::Result;
use crate::layout::Layout;
use crate::ops::{BinaryOp, ReduceOp, UnaryOp};
use std::sync::Arc;

/// A flat buffer of f32 on some device. Knows nothing about gradients.
#[derive(Debug)]
pub enum Storage {
    Cpu(Vec<f32>),
}

impl Storage {
    pub fn device(&self) -> Device {
        match self {
            Storage::Cpu(_) => Device::Cpu,
        }
    }

    /// `max(x, 0)` for every element of this dense buffer, reusing it.
    pub fn relu_in_place(self) -> Storage {
        match self {
            Storage::Cpu(mut data) => {
                cpu::elementwise::relu_in_place(&mut data);
                Storage::Cpu(data)
            }
        }
    }

    /// Elements seen through `layout`, copied into a new row-major vector on the host.
    pub fn to_host(&self, layout: &Layout) -> Vec<f32> {
        match self {
            Storage::Cpu(data) => cpu::copy::gather(data, layout),
        }
    }

    /// A dense copy of the elements seen through `layout`.
    pub fn contiguous(&self, layout: &Layout) -> Storage {
        match self {
            Storage::Cpu(data) => Storage::Cpu(cpu::copy::gather(data, layout)),
        }
    }

    pub fn unary(&self, layout: &Layout, op: UnaryOp) -> Storage {
        match self {
            Storage::Cpu(data) => Storage::Cpu(cpu::elementwise::unary(data, layout, op)),
        }
    }

    /// `lhs` and `rhs` must have the same shape (broadcasting happens before, as a view).
    pub fn binary(
        &self,
        lhs: &Layout,
        rhs: &Storage,
        rhs_layout: &Layout,
        op: BinaryOp,
    ) -> Storage {
        match (self, rhs) {
            (Storage::Cpu(a), Storage::Cpu(b)) => {
                Storage::Cpu(cpu::elementwise::binary(a, lhs, b, rhs_layout, op))
            }
        }
    }

    /// Reduce the axes flagged in `reduce` (same rank as the layout) to size 1.
    pub fn reduce(&self, layout: &Layout, reduce: &[bool], op: ReduceOp) -> Storage {
        match self {
            Storage::Cpu(data) => Storage::Cpu(cpu::reduce::reduce(data, layout, reduce, op)),
        }
    }

    /// Batched matrix product; see [`cpu::matmul::matmul`] for the shape contract.
    pub fn matmul(&self, lhs: &Layout, rhs: &Storage, rhs_layout: &Layout) -> Result<Storage> {
        match (self, rhs) {
            (Storage::Cpu(a), Storage::Cpu(b)) => {
                Ok(Storage::Cpu(cpu::matmul::matmul(a, lhs, b, rhs_layout)?))
            }
        }
    }

    /// Convolution forward (`self` is the input); see [`cpu::conv`].
    pub fn conv2d(
        &self,
        l: &Layout,
        w: (&Arc<Storage>, &Layout),
        b: Option<(&Storage, &Layout)>,
        g: &Conv2dGeometry,
    ) -> Storage {
        match (self, w.0.as_ref()) {
            (Storage::Cpu(x), Storage::Cpu(wd)) => {
                let bias = b.map(|(Storage::Cpu(bd), bl)| dense(bd, bl));
                let values = dense(wd, w.1);
                let weight = Weight {
                    values: &values,
                    source: Some(w),
                };
                Storage::Cpu(cpu::conv::conv2d(&dense(x, l), weight, bias.as_deref(), g))
            }
        }
    }

    /// Convolution input gradient (`self` is the output gradient).
    pub fn conv2d_backward_input(
        &self,
        l: &Layout,
        w: (&Arc<Storage>, &Layout),
        g: &Conv2dGeometry,
    ) -> Storage {
        match (self, w.0.as_ref()) {
            (Storage::Cpu(dy), Storage::Cpu(wd)) => {
                let values = dense(wd, w.1);
                let weight = Weight {
                    values: &values,
                    source: Some(w),
                };
                Storage::Cpu(cpu::conv::conv2d_backward_input(&dense(dy, l), weight, g))
            }
        }
    }

    /// Convolution weight gradient (`self` is the input).
    pub fn conv2d_backward_weight(
        &self,
        l: &Layout,
        dy: (&Storage, &Layout),
        g: &Conv2dGeometry,
    ) -> Storage {
        match (self, dy.0) {
            (Storage::Cpu(x), Storage::Cpu(d)) => Storage::Cpu(cpu::conv::conv2d_backward_weight(
                &dense(x, l),
                &dense(d, dy.1),
                g,
            )),
        }
    }

    /// Convolution bias gradient (`self` is the output gradient).
    pub fn conv2d_backward_bias(&self, l: &Layout, g: &Conv2dGeometry) -> Storage {
        match self {
            Storage::Cpu(dy) => Storage::Cpu(cpu::conv::conv2d_backward_bias(&dense(dy, l), g)),
        }
    }

    /// Max pooling forward (`self` is the input).
    pub fn max_pool2d(&self, l: &Layout, g: &Pool2dGeometry) -> Storage {
        match self {
            Storage::Cpu(x) => Storage::Cpu(cpu::pool::max_pool2d(&dense(x, l), g)),
        }
    }

    /// Max pooling input gradient (`self` is the input, `dy` the output gradient).
    pub fn max_pool2d_backward(
        &self,
        l: &Layout,
        dy: (&Storage, &Layout),
        g: &Pool2dGeometry,
    ) -> Storage {
        match (self, dy.0) {
            (Storage::Cpu(x), Storage::Cpu(d)) => Storage::Cpu(cpu::pool::max_pool2d_backward(
                &dense(x, l),
                &dense(d, dy.1),
                g,
            )),
        }
    }

    /// Average pooling forward (`self` is the input).
    pub fn avg_pool2d(&self, l: &Layout, g: &Pool2dGeometry) -> Storage {
        match self {
            Storage::Cpu(x) => Storage::Cpu(cpu::pool::avg_pool2d(&dense(x, l), g)),
        }
    }

    /// Average pooling input gradient (`self` is the output gradient).
    pub fn avg_pool2d_backward(&self, l: &Layout, g: &Pool2dGeometry) -> Storage {
        match self {
            Storage::Cpu(dy) => Storage::Cpu(cpu::pool::avg_pool2d_backward(&dense(dy, l), g)),
        }
    }

    /// Concatenate dense copies of the parts along `axis`.
    pub fn concat(parts: &[(&Storage, &Layout)], axis: usize) -> Storage {
        let host: Vec<(&[f32], &Layout)> = parts
            .iter()
            .map(|(s, l)| match s {
                Storage::Cpu(d) => (d.as_slice(), *l),
            })
            .collect();
        Storage::Cpu(cpu::copy::concat(&host, axis))
    }
}
