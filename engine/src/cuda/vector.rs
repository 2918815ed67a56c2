//! Whole-vector arithmetic for optimisers on the GPU: the twin of `cpu/vector.rs`, kernels in
//! `vector.cu`. Operands are dense buffers of equal length; the folds return one number to the
//! host, which is all an optimiser's control flow needs to see.

use super::buffer::CudaBuffer;
use super::copy::{dense, Dense};
use super::kernels::KernelSource;
use super::launch::kernel_args;
use crate::error::{Error, Result};
use crate::layout::Layout;

pub const SOURCE: KernelSource = KernelSource {
    name: "vector",
    code: include_str!("vector.cu"),
    kernels: &["fold_vector", "combine_partials", "axpy", "free_mask"],
};

#[repr(C)]
#[derive(Clone, Copy)]
struct FoldArgs {
    a: u64,
    b: u64,
    partial: u64,
    n: u64,
    partials: u64,
    op: u32,
    unused: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CombineArgs {
    partial: u64,
    out: u64,
    n: u64,
    outputs: u64,
    op: u32,
    unused: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct AxpyArgs {
    x: u64,
    y: u64,
    out: u64,
    n: u64,
    alpha: f64,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct FreeMaskArgs {
    x: u64,
    g: u64,
    out: u64,
    n: u64,
    lo: f32,
    hi: f32,
}

kernel_args!(FoldArgs, CombineArgs, AxpyArgs, FreeMaskArgs);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fold {
    Dot = 0,
    SumAbs = 1,
    MaxAbs = 2,
    NonFinite = 3,
}

/// Threads in the first pass (enough to keep a large GPU busy), and partial results the second
/// pass leaves for the host to add.
const FIRST_PASS: usize = 1 << 15;
const SECOND_PASS: usize = 256;

/// A buffer of `n` doubles (two floats each).
fn doubles(like: &CudaBuffer, n: usize) -> Result<CudaBuffer> {
    CudaBuffer::uninit(like.device(), 2 * n, "vector reduction")
}

fn fold(op: Fold, a: &Dense, b: Option<&Dense>) -> Result<f64> {
    if let Some(b) = b {
        a.buffer().same_device(b.buffer(), "dot")?;
        if b.len() != a.len() {
            return Err(Error::shape(
                "dot",
                format!("lengths {} and {} differ", a.len(), b.len()),
            ));
        }
    }
    let n = a.len();
    let partials = n.div_ceil(256).clamp(1, FIRST_PASS);
    let device = a.buffer().device();
    let first = doubles(a.buffer(), partials)?;
    let args = FoldArgs {
        a: a.address(),
        b: b.map_or(0, |b| b.address()),
        partial: first.address(),
        n: n as u64,
        partials: partials as u64,
        op: op as u32,
        unused: 0,
    };
    device.launch(&SOURCE, "fold_vector", partials as u64, args)?;
    let outputs = partials.min(SECOND_PASS);
    let second = doubles(a.buffer(), outputs)?;
    let args = CombineArgs {
        partial: first.address(),
        out: second.address(),
        n: partials as u64,
        outputs: outputs as u64,
        op: op as u32,
        unused: 0,
    };
    device.launch(&SOURCE, "combine_partials", outputs as u64, args)?;
    let words = second.to_host()?;
    let values = words
        .chunks_exact(2)
        .map(|w| f64::from_bits((w[0].to_bits() as u64) | ((w[1].to_bits() as u64) << 32)));
    Ok(match op {
        Fold::MaxAbs => values.fold(0.0, f64::max),
        _ => values.sum(),
    })
}

/// Σ aᵢ·bᵢ, accumulated in f64.
pub fn dot(a: &CudaBuffer, la: &Layout, b: &CudaBuffer, lb: &Layout) -> Result<f64> {
    fold(Fold::Dot, &dense(a, la)?, Some(&dense(b, lb)?))
}

/// Σ |aᵢ|.
pub fn sum_abs(a: &CudaBuffer, la: &Layout) -> Result<f64> {
    fold(Fold::SumAbs, &dense(a, la)?, None)
}

/// max |aᵢ| (0 for an empty vector; NaN entries are skipped).
pub fn max_abs(a: &CudaBuffer, la: &Layout) -> Result<f64> {
    fold(Fold::MaxAbs, &dense(a, la)?, None)
}

/// True when no entry is NaN or infinite.
pub fn all_finite(a: &CudaBuffer, la: &Layout) -> Result<bool> {
    Ok(fold(Fold::NonFinite, &dense(a, la)?, None)? == 0.0)
}

/// `y + alpha·x` (or `alpha·x` without `y`), each entry formed in f64 and rounded once.
pub fn axpy(
    alpha: f64,
    x: &CudaBuffer,
    lx: &Layout,
    y: Option<(&CudaBuffer, &Layout)>,
) -> Result<CudaBuffer> {
    let x = dense(x, lx)?;
    let y = y.map(|(y, ly)| dense(y, ly)).transpose()?;
    if let Some(y) = &y {
        x.buffer().same_device(y.buffer(), "axpy")?;
        if y.len() != x.len() {
            return Err(Error::shape(
                "axpy",
                format!("lengths {} and {} differ", x.len(), y.len()),
            ));
        }
    }
    let device = x.buffer().device();
    let out = CudaBuffer::uninit(device, x.len(), "axpy")?;
    let args = AxpyArgs {
        x: x.address(),
        y: y.as_ref().map_or(0, |y| y.address()),
        out: out.address(),
        n: x.len() as u64,
        alpha,
    };
    device.launch(&SOURCE, "axpy", x.len() as u64, args)?;
    Ok(out)
}

/// 1 where the variable is free, 0 where it sits at a bound with the gradient pointing out.
pub fn free_mask(
    x: &CudaBuffer,
    lx: &Layout,
    g: &CudaBuffer,
    lg: &Layout,
    lo: f32,
    hi: f32,
) -> Result<CudaBuffer> {
    let (x, g) = (dense(x, lx)?, dense(g, lg)?);
    x.buffer().same_device(g.buffer(), "free_mask")?;
    let device = x.buffer().device();
    let out = CudaBuffer::uninit(device, x.len(), "free_mask")?;
    let args = FreeMaskArgs {
        x: x.address(),
        g: g.address(),
        out: out.address(),
        n: x.len() as u64,
        lo,
        hi,
    };
    device.launch(&SOURCE, "free_mask", x.len() as u64, args)?;
    Ok(out)
}
