//! Sums and maxima over chosen axes on the GPU: the twin of `cpu/reduce.rs`, kernel in
//! `reduce.cu`.

use super::buffer::CudaBuffer;
use super::kernels::KernelSource;
use super::launch::{index_width, kernel_args, MAX_BLOCKS, THREADS_PER_BLOCK};
use super::strided::{view_of, Strided};
use crate::error::Result;
use crate::layout::Layout;
use crate::ops::ReduceOp;

pub const SOURCE: KernelSource = KernelSource {
    name: "reduce",
    code: include_str!("reduce.cu"),
    kernels: &[BY_THREADS[0], BY_THREADS[1], IN_BLOCKS[0], IN_BLOCKS[1]],
};

/// Each kernel in its two widths (`[name_32, name_64]`, see `index_width`).
const BY_THREADS: [&str; 2] = ["reduce_runs_32", "reduce_runs_64"];
const IN_BLOCKS: [&str; 2] = ["reduce_runs_in_blocks_32", "reduce_runs_in_blocks_64"];

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
const SHORT_RUN: usize = 64;
/// With this many outputs every thread already has its own; sharing runs adds nothing.
const MANY_OUTPUTS: usize = 1 << 16;
/// Blocks a GPU needs to be busy (a few per streaming multiprocessor of a large one).
const BUSY_BLOCKS: usize = 512;
/// Elements per thread below which more blocks would only add partial results.
const PER_THREAD: usize = 8;

/// How one output's run is folded: by one thread, or by the threads of `blocks` blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sharing {
    OneThread,
    Blocks(usize),
}

fn sharing(outputs: usize, run: usize) -> Sharing {
    if run <= SHORT_RUN || outputs >= MANY_OUTPUTS {
        return Sharing::OneThread;
    }
    let most = run.div_ceil(THREADS_PER_BLOCK as usize * PER_THREAD).max(1);
    Sharing::Blocks(BUSY_BLOCKS.div_ceil(outputs).clamp(1, most))
}

/// Fold runs of `run` elements of `x` seen through `view` (kept axes first): one launch, and
/// a second over the blocks' partial results when a run was shared by several blocks.
fn fold(
    x: &CudaBuffer,
    view: &Layout,
    outputs: usize,
    run: usize,
    op: ReduceOp,
) -> Result<CudaBuffer> {
    let shared_by = sharing(outputs, run);
    let parts = match shared_by {
        Sharing::OneThread => 1,
        Sharing::Blocks(parts) => parts,
    };
    let y = CudaBuffer::uninit(x.device(), outputs * parts, "reduce")?;
    let args = ReduceArgs {
        x: x.address(),
        y: y.address(),
        outputs: outputs as u64,
        run: run as u64,
        partials: parts as u64,
        x_view: view_of(x, view, "reduce")?,
        op: match op {
            ReduceOp::Sum => 0,
            ReduceOp::Max => 1,
        },
        unused: 0,
    };
    let device = x.device();
    // The view lies inside x (view_of checks): its length and the element count bound every
    // index.
    let largest = (outputs * run).max(x.len());
    match shared_by {
        Sharing::OneThread => {
            let kernel = index_width(BY_THREADS, largest);
            device.launch(&SOURCE, kernel, outputs as u64, args)?
        }
        Sharing::Blocks(_) => {
            let blocks = (outputs * parts).min(MAX_BLOCKS as usize) as u32;
            let kernel = index_width(IN_BLOCKS, largest);
            device.launch_blocks(&SOURCE, kernel, blocks, args)?
        }
    }
    if parts == 1 {
        return Ok(y);
    }
    let dense = Layout::contiguous(&[outputs * parts]);
    fold(&y, &dense, outputs, parts, op)
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
