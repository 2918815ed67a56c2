//! Sums and maxima over chosen axes on the GPU: the twin of `cpu/reduce.rs`, kernel in
//! `reduce.cu`.

use super::buffer::CudaBuffer;
use super::kernels::KernelSource;
use super::launch::kernel_args;
use super::strided::{view_of, Strided};
use crate::error::Result;
use crate::layout::Layout;
use crate::ops::ReduceOp;

pub const SOURCE: KernelSource = KernelSource {
    name: "reduce",
    code: include_str!("reduce.cu"),
    kernels: &["reduce_runs"],
};

#[repr(C)]
#[derive(Clone, Copy)]
struct ReduceArgs {
    x: u64,
    y: u64,
    outputs: u64,
    run: u64,
    partials: u64,
    x_view: Strided,
    op: u32,
    unused: u32,
}

kernel_args!(ReduceArgs);

/// Runs up to this long are folded by one thread each.
const SHORT_RUN: usize = 2048;
/// With this many outputs every thread already has its own; splitting runs adds nothing.
const MANY_OUTPUTS: usize = 1 << 16;
/// Elements each partial thread folds, roughly.
const PER_PARTIAL: usize = 256;

/// How many threads share one output's run.
fn partials_for(outputs: usize, run: usize) -> usize {
    if run <= SHORT_RUN || outputs >= MANY_OUTPUTS {
        1
    } else {
        let cap = (MANY_OUTPUTS / outputs.max(1)).max(2);
        (run / PER_PARTIAL).clamp(2, cap)
    }
}

/// Fold runs of `run` elements of `x` seen through `view` (kept axes first): one launch, then
/// more over the partial results until one value per output is left.
fn fold(
    x: &CudaBuffer,
    view: &Layout,
    outputs: usize,
    run: usize,
    op: ReduceOp,
) -> Result<CudaBuffer> {
    let partials = partials_for(outputs, run);
    let y = CudaBuffer::uninit(x.device(), outputs * partials, "reduce")?;
    let args = ReduceArgs {
        x: x.address(),
        y: y.address(),
        outputs: outputs as u64,
        run: run as u64,
        partials: partials as u64,
        x_view: view_of(x, view, "reduce")?,
        op: match op {
            ReduceOp::Sum => 0,
            ReduceOp::Max => 1,
        },
        unused: 0,
    };
    let threads = (outputs * partials) as u64;
    x.device().launch(&SOURCE, "reduce_runs", threads, args)?;
    if partials == 1 {
        return Ok(y);
    }
    let dense = Layout::contiguous(&[outputs * partials]);
    fold(&y, &dense, outputs, partials, op)
}

/// Reduce the axes flagged in `reduce`; the result has the kept axes in their original order.
pub fn reduce(
    x: &CudaBuffer,
    layout: &Layout,
    reduce: &[bool],
    op: ReduceOp,
) -> Result<CudaBuffer> {
    // As on the CPU: move the reduced axes to the end so each output reduces one run.
    let kept: Vec<usize> = (0..layout.rank()).filter(|&a| !reduce[a]).collect();
    let gone: Vec<usize> = (0..layout.rank()).filter(|&a| reduce[a]).collect();
    let perm: Vec<usize> = kept.iter().chain(&gone).copied().collect();
    let permuted = layout.permute(&perm)?;
    let run: usize = gone.iter().map(|&a| layout.shape()[a]).product();
    let outputs: usize = kept.iter().map(|&a| layout.shape()[a]).product();
    fold(x, &permuted, outputs, run, op)
}
