//! Whole-vector arithmetic for optimisers on the GPU: the twin of `cpu/vector.rs`, kernels in
//! `vector.cu`. Operands are dense buffers of equal length; the folds return one number to the
//! host, which is all an optimiser's control flow needs to see.

use super::buffer::CudaBuffer;
use super::copy::{dense, Dense};
use super::kernels::KernelSource;
use super::launch::{kernel_args, MAX_BLOCKS, THREADS_PER_BLOCK};
use crate::error::{Error, Result};
use crate::layout::{Layout, Packing};

pub const SOURCE: KernelSource = KernelSource {
    name: "vector",
    code: include_str!("vector.cu"),
    kernels: &[
        "fold_vector",
        "axpy",
        "free_mask",
        "dots_partial",
        "fold_segments",
        "combination",
        "pack_bf16",
        "unpack_bf16",
    ],
};

#[repr(C)]
#[derive(Clone, Copy)]
struct FoldArgs {
    a: u64,
    b: u64,
    partial: u64,
    n: u64,
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
    parts: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct SegmentArgs {
    partial: u64,
    out: u64,
    segments: u64,
    len: u64,
    maximum: u32,
    unused: u32,
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

#[repr(C)]
#[derive(Clone, Copy)]
struct PackArgs {
    from: u64,
    to: u64,
    n: u64,
}

kernel_args!(
    FoldArgs,
    AxpyArgs,
    FreeMaskArgs,
    DotsArgs,
    SegmentArgs,
    CombinationArgs,
    PackArgs
);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fold {
    Dot = 0,
    SumAbs = 1,
    MaxAbs = 2,
    NonFinite = 3,
}

/// Blocks in a fold's first pass, at most: enough to keep a large GPU busy, and few enough for
/// the one block of the second pass (4 partial results per thread).
const MAX_FOLD_BLOCKS: usize = 1024;
/// Elements per thread below which more blocks would only add partial results.
const PER_THREAD: usize = 8;

/// A buffer of `n` doubles (two floats each).
fn doubles(like: &CudaBuffer, n: usize) -> Result<CudaBuffer> {
    CudaBuffer::uninit(like.device(), 2 * n, "vector reduction")
}

/// Doubles back from the device, from the floats that carried their bits.
fn doubles_to_host(buffer: &CudaBuffer) -> Result<Vec<f64>> {
    let words = buffer.to_host()?;
    Ok(words
        .chunks_exact(2)
        .map(|w| f64::from_bits((w[0].to_bits() as u64) | ((w[1].to_bits() as u64) << 32)))
        .collect())
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
    let blocks = n
        .div_ceil(THREADS_PER_BLOCK as usize * PER_THREAD)
        .clamp(1, MAX_FOLD_BLOCKS);
    let device = a.buffer().device();
    let partial = doubles(a.buffer(), blocks)?;
    let args = FoldArgs {
        a: a.address(),
        b: b.map_or(0, |b| b.address()),
        partial: partial.address(),
        n: n as u64,
        op: op as u32,
        unused: 0,
    };
    device.launch_blocks(&SOURCE, "fold_vector", blocks as u32, args)?;
    let total = fold_segments(&partial, 1, blocks, op == Fold::MaxAbs)?;
    Ok(total[0])
}

/// The sum (or with `maximum`, the maximum) of each of `segments` runs of `len` doubles in
/// `partial`, brought back to the host: the second pass of a reduction, one block per segment.
fn fold_segments(
    partial: &CudaBuffer,
    segments: usize,
    len: usize,
    maximum: bool,
) -> Result<Vec<f64>> {
    let out = doubles(partial, segments)?;
    let args = SegmentArgs {
        partial: partial.address(),
        out: out.address(),
        segments: segments as u64,
        len: len as u64,
        maximum: maximum as u32,
        unused: 0,
    };
    let blocks = segments.min(MAX_BLOCKS as usize) as u32;
    partial
        .device()
        .launch_blocks(&SOURCE, "fold_segments", blocks, args)?;
    doubles_to_host(&out)
}

/// 64-bit words (addresses, doubles) as the floats of a device buffer, two each.
fn words_on(device: &std::sync::Arc<super::CudaDevice>, words: &[u64]) -> Result<CudaBuffer> {
    let floats: Vec<f32> = words
        .iter()
        .flat_map(|w| [f32::from_bits(*w as u32), f32::from_bits((*w >> 32) as u32)])
        .collect();
    CudaBuffer::from_host(device, &floats)
}

/// Dense views of `vectors`, all on one device, each the words of `len` values packed as it
/// says.
fn dense_all<'a>(
    op: &'static str,
    vectors: &[(&'a CudaBuffer, &Layout, Packing)],
    len: usize,
) -> Result<Vec<Dense<'a>>> {
    let dense: Vec<Dense> = vectors
        .iter()
        .map(|(b, l, _)| dense(b, l))
        .collect::<Result<_>>()?;
    for (d, (_, _, packing)) in dense.iter().zip(vectors) {
        dense[0].buffer().same_device(d.buffer(), op)?;
        if d.len() != packing.words(len) {
            return Err(Error::shape(
                op,
                format!("{} words for {len} values packed as {packing:?}", d.len()),
            ));
        }
    }
    Ok(dense)
}

/// Blocks a GPU needs to be busy (a few per streaming multiprocessor of a large one).
const BUSY_BLOCKS: usize = 512;

/// How many blocks share one pair's product: enough for the whole grid to keep a GPU busy
/// when the pairs are few, but never less than `PER_THREAD` elements per thread.
fn blocks_per_pair(pairs: usize, n: usize) -> usize {
    let most = n.div_ceil(THREADS_PER_BLOCK as usize * PER_THREAD).max(1);
    BUSY_BLOCKS.div_ceil(pairs).clamp(1, most)
}

// ANCHOR: dots
/// Every product `rows[i]·cols[j]`, row-major, in f64: one round trip for them all. Rows of
/// `len` f32, columns of `len` values packed as each says.
pub fn dots(
    rows: &[(&CudaBuffer, &Layout)],
    cols: &[(&CudaBuffer, &Layout, Packing)],
    len: usize,
) -> Result<Vec<f64>> {
    if rows.is_empty() || cols.is_empty() {
        return Ok(Vec::new());
    }
    let all: Vec<_> = rows
        .iter()
        .map(|(b, l)| (*b, *l, Packing::F32))
        .chain(cols.iter().copied())
        .collect();
    let dense = dense_all("dots", &all, len)?;
    let device = dense[0].buffer().device().clone();
    let addresses = tagged_addresses(&dense, &all);
    let (row_addresses, col_addresses) = addresses.split_at(rows.len());
    let (row_list, col_list) = (
        words_on(&device, row_addresses)?,
        words_on(&device, col_addresses)?,
    );
    let pairs = rows.len() * cols.len();
    let parts = blocks_per_pair(pairs, len);
    let partial = doubles(&row_list, pairs * parts)?;
    let args = DotsArgs {
        rows: row_list.address(),
        cols: col_list.address(),
        partial: partial.address(),
        n: len as u64,
        n_rows: rows.len() as u64,
        n_cols: cols.len() as u64,
        parts: parts as u64,
    };
    let blocks = (pairs * parts).min(MAX_BLOCKS as usize) as u32;
    device.launch_blocks(&SOURCE, "dots_partial", blocks, args)?;
    if parts == 1 {
        return doubles_to_host(&partial);
    }
    fold_segments(&partial, pairs, parts, false)
}
// ANCHOR_END: dots

/// Each vector's device address, its lowest bit set when its values are packed as bf16 pairs:
/// buffers hold 4-byte words, so that bit is otherwise always 0, and the kernels learn each
/// vector's packing from the list they already read (`value_at` in `vector.cu`), with nothing
/// more to upload.
fn tagged_addresses(dense: &[Dense], vectors: &[(&CudaBuffer, &Layout, Packing)]) -> Vec<u64> {
    dense
        .iter()
        .zip(vectors)
        .map(|(d, (_, _, packing))| d.address() | u64::from(*packing == Packing::Bf16Pairs))
        .collect()
}

/// `Σ coefs[j]·vectors[j]` over vectors of `len` values packed as each says, each element
/// formed in f64 and rounded once; no round trip.
pub fn combination(
    coefs: &[f64],
    vectors: &[(&CudaBuffer, &Layout, Packing)],
    len: usize,
) -> Result<CudaBuffer> {
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
    let dense = dense_all("combination", vectors, len)?;
    let device = dense[0].buffer().device().clone();
    let list = words_on(&device, &tagged_addresses(&dense, vectors))?;
    let bits: Vec<u64> = coefs.iter().map(|c| c.to_bits()).collect();
    let coefs_on = words_on(&device, &bits)?;
    let out = CudaBuffer::uninit(&device, len, "combination")?;
    let args = CombinationArgs {
        vectors: list.address(),
        coefs: coefs_on.address(),
        out: out.address(),
        n: len as u64,
        count: vectors.len() as u64,
    };
    device.launch(&SOURCE, "combination", len as u64, args)?;
    Ok(out)
}

/// The elements of `x` rounded to bf16 and packed two to a word (`cpu/vector.rs`'s
/// `pack_bf16`).
pub fn pack_bf16(x: &CudaBuffer, l: &Layout) -> Result<CudaBuffer> {
    let x = dense(x, l)?;
    let n = x.len();
    let device = x.buffer().device().clone();
    let out = CudaBuffer::uninit(&device, Packing::Bf16Pairs.words(n), "pack_bf16")?;
    let args = PackArgs {
        from: x.address(),
        to: out.address(),
        n: n as u64,
    };
    device.launch(&SOURCE, "pack_bf16", out.len() as u64, args)?;
    Ok(out)
}

/// The `len` values of bf16 pairs, widened to f32.
pub fn unpack_bf16(words: &CudaBuffer, l: &Layout, len: usize) -> Result<CudaBuffer> {
    let words = dense(words, l)?;
    if words.len() != Packing::Bf16Pairs.words(len) {
        return Err(Error::shape(
            "unpack_bf16",
            format!("{} words for {len} bf16 values", words.len()),
        ));
    }
    let device = words.buffer().device().clone();
    let out = CudaBuffer::uninit(&device, len, "unpack_bf16")?;
    let args = PackArgs {
        from: words.address(),
        to: out.address(),
        n: len as u64,
    };
    device.launch(&SOURCE, "unpack_bf16", len as u64, args)?;
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
