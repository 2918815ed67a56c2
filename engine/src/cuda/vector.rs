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
    kernels: &[
        "fold_vector",
        "combine_partials",
        "axpy",
        "free_mask",
        "dots_partial",
        "sum_segments",
        "combination",
    ],
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

#[repr(C)]
#[derive(Clone, Copy)]
struct DotsArgs {
    rows: u64,
    cols: u64,
    partial: u64,
    n: u64,
    n_rows: u64,
    n_cols: u64,
    chunks: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct SegmentArgs {
    partial: u64,
    out: u64,
    segments: u64,
    len: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CombinationArgs {
    vectors: u64,
    coefs: u64,
    out: u64,
    n: u64,
    count: u64,
}

kernel_args!(
    FoldArgs,
    CombineArgs,
    AxpyArgs,
    FreeMaskArgs,
    DotsArgs,
    SegmentArgs,
    CombinationArgs
);

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

/// 64-bit words (addresses, doubles) as the floats of a device buffer, two each.
fn words_on(device: &std::sync::Arc<super::CudaDevice>, words: &[u64]) -> Result<CudaBuffer> {
    let floats: Vec<f32> = words
        .iter()
        .flat_map(|w| [f32::from_bits(*w as u32), f32::from_bits((*w >> 32) as u32)])
        .collect();
    CudaBuffer::from_host(device, &floats)
}

/// Dense views of `vectors`, all on one device and of one length; the device and the length.
fn dense_all<'a>(
    op: &'static str,
    vectors: &[(&'a CudaBuffer, &Layout)],
) -> Result<(Vec<Dense<'a>>, usize)> {
    let dense: Vec<Dense> = vectors
        .iter()
        .map(|(b, l)| dense(b, l))
        .collect::<Result<_>>()?;
    let n = dense.first().map_or(0, |d| d.len());
    for d in &dense {
        dense[0].buffer().same_device(d.buffer(), op)?;
        if d.len() != n {
            return Err(Error::shape(
                op,
                format!("lengths {n} and {} differ", d.len()),
            ));
        }
    }
    Ok((dense, n))
}

// ANCHOR: dots
/// Every product `rows[i]·cols[j]`, row-major, in f64: one round trip for them all.
pub fn dots(rows: &[(&CudaBuffer, &Layout)], cols: &[(&CudaBuffer, &Layout)]) -> Result<Vec<f64>> {
    if rows.is_empty() || cols.is_empty() {
        return Ok(Vec::new());
    }
    let all: Vec<_> = rows.iter().chain(cols).copied().collect();
    let (dense, n) = dense_all("dots", &all)?;
    let device = dense[0].buffer().device().clone();
    let addresses: Vec<u64> = dense.iter().map(|d| d.address()).collect();
    let (row_addresses, col_addresses) = addresses.split_at(rows.len());
    let (row_list, col_list) = (
        words_on(&device, row_addresses)?,
        words_on(&device, col_addresses)?,
    );
    let pairs = rows.len() * cols.len();
    // Enough threads per pair to fill a GPU with the few hundred pairs of a long history.
    let chunks = n.clamp(1, 256);
    let partial = doubles(&row_list, pairs * chunks)?;
    let args = DotsArgs {
        rows: row_list.address(),
        cols: col_list.address(),
        partial: partial.address(),
        n: n as u64,
        n_rows: rows.len() as u64,
        n_cols: cols.len() as u64,
        chunks: chunks as u64,
    };
    device.launch(&SOURCE, "dots_partial", (pairs * chunks) as u64, args)?;
    let out = doubles(&row_list, pairs)?;
    let args = SegmentArgs {
        partial: partial.address(),
        out: out.address(),
        segments: pairs as u64,
        len: chunks as u64,
    };
    device.launch(&SOURCE, "sum_segments", pairs as u64, args)?;
    let words = out.to_host()?;
    Ok(words
        .chunks_exact(2)
        .map(|w| f64::from_bits((w[0].to_bits() as u64) | ((w[1].to_bits() as u64) << 32)))
        .collect())
}
// ANCHOR_END: dots

/// `Σ coefs[j]·vectors[j]`, each element formed in f64 and rounded once; no round trip.
pub fn combination(coefs: &[f64], vectors: &[(&CudaBuffer, &Layout)]) -> Result<CudaBuffer> {
    if coefs.len() != vectors.len() || vectors.is_empty() {
        return Err(Error::invalid(
            "combination",
            format!(
                "{} coefficients for {} vectors (at least one needed)",
                coefs.len(),
                vectors.len()
            ),
        ));
    }
    let (dense, n) = dense_all("combination", vectors)?;
    let device = dense[0].buffer().device().clone();
    let addresses: Vec<u64> = dense.iter().map(|d| d.address()).collect();
    let list = words_on(&device, &addresses)?;
    let bits: Vec<u64> = coefs.iter().map(|c| c.to_bits()).collect();
    let coefs_on = words_on(&device, &bits)?;
    let out = CudaBuffer::uninit(&device, n, "combination")?;
    let args = CombinationArgs {
        vectors: list.address(),
        coefs: coefs_on.address(),
        out: out.address(),
        n: n as u64,
        count: vectors.len() as u64,
    };
    device.launch(&SOURCE, "combination", n as u64, args)?;
    Ok(out)
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
