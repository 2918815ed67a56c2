//! The buffer behind a tensor, and the one place that dispatches kernels to a device.

use crate::cpu;
use crate::device::Device;
use crate::error::Result;
use crate::layout::Layout;
use crate::ops::{BinaryOp, ReduceOp, UnaryOp};

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
    pub fn binary(&self, lhs: &Layout, rhs: &Storage, rhs_layout: &Layout, op: BinaryOp) -> Storage {
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
