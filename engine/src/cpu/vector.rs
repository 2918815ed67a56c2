//! Whole-vector arithmetic for optimisers (L-BFGS's batched products over its history and the
//! combination that makes its direction, its stopping tests): the twin of `cuda/vector.rs`.
//! Products and sums are formed in f64, in an order fixed by the data alone, so results do not
//! depend on the number of threads.

use super::copy::dense;
use super::packed_gemm_bf16::to_bf16;
use super::simd::with_wide_vectors;
use crate::layout::Layout;
use rayon::prelude::*;

// ANCHOR: values
/// A dense vector as the batched products and combinations read it: f32 values, or bf16
/// values packed two to a 32-bit word by [`pack_bf16`] (half the bytes to read).
#[derive(Clone, Copy, Debug)]
pub enum Values<'a> {
    F32(&'a [f32]),
    Bf16Pairs { words: &'a [f32], len: usize },
}

impl<'a> Values<'a> {
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn len(&self) -> usize {
        match self {
            Values::F32(v) => v.len(),
            Values::Bf16Pairs { len, .. } => *len,
        }
    }

    /// Values `range` as f32: the vector itself, or widened into `scratch`.
    #[inline(always)]
    fn piece<'b>(&self, range: std::ops::Range<usize>, scratch: &'b mut [f32]) -> &'b [f32]
    where
        'a: 'b,
    {
        match *self {
            Values::F32(v) => &v[range],
            Values::Bf16Pairs { words, .. } => {
                let out = &mut scratch[..range.len()];
                widen_bf16(&halves(words)[range], out);
                out
            }
        }
    }
}
// ANCHOR_END: values

/// `x` rounded to bf16 (to nearest, ties to even), two values to a 32-bit word: value i is the
/// i-th 16-bit half of the words in memory (on the little-endian CPUs and GPUs the engine runs
/// on, the low half of word i / 2 when i is even). The words are bit patterns, moved and read
/// back, never computed with; an odd count leaves the last word's second half zero.
pub fn pack_bf16(x: &[f32]) -> Vec<f32> {
    let mut words = vec![0.0f32; x.len().div_ceil(2)];
    for (h, &v) in halves_mut(&mut words).iter_mut().zip(x) {
        *h = to_bf16(v);
    }
    words
}

/// The `len` values of a packed vector, as f32 (exactly: every bf16 is an f32).
pub fn unpack_bf16(words: &[f32], len: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; len];
    widen_bf16(&halves(words)[..len], &mut out);
    out
}

/// bf16 values widened to f32: a bf16 is the top half of an f32, so the widening is a shift
/// (16 at a time in one AVX-512 register).
#[inline(always)]
fn widen_bf16(values: &[u16], out: &mut [f32]) {
    for (o, &h) in out.iter_mut().zip(values) {
        *o = f32::from_bits((h as u32) << 16);
    }
}

/// The 16-bit halves of `words`, in memory order.
fn halves(words: &[f32]) -> &[u16] {
    // SAFETY: every bit pattern is a valid u16, and u16's alignment divides f32's, so the whole
    // slice is reinterpreted, with nothing left before or after it.
    let (before, halves, after) = unsafe { words.align_to::<u16>() };
    debug_assert!(before.is_empty() && after.is_empty());
    halves
}

fn halves_mut(words: &mut [f32]) -> &mut [u16] {
    // SAFETY: as in `halves`; any u16 written leaves each word a valid f32 bit pattern.
    let (before, halves, after) = unsafe { words.align_to_mut::<u16>() };
    debug_assert!(before.is_empty() && after.is_empty());
    halves
}

/// Σ aᵢ·bᵢ, accumulated in f64.
pub fn dot(a: &[f32], la: &Layout, b: &[f32], lb: &Layout) -> f64 {
    let (a, b) = (dense(a, la), dense(b, lb));
    a.iter()
        .zip(b.iter())
        .map(|(&x, &y)| x as f64 * y as f64)
        .sum()
}

/// Σ |aᵢ|.
pub fn sum_abs(a: &[f32], la: &Layout) -> f64 {
    dense(a, la).iter().map(|x| x.abs() as f64).sum()
}

/// max |aᵢ| (0 for an empty vector; NaN entries are skipped).
pub fn max_abs(a: &[f32], la: &Layout) -> f64 {
    dense(a, la)
        .iter()
        .fold(0.0f64, |m, x| m.max(x.abs() as f64))
}

/// True when no entry is NaN or infinite.
pub fn all_finite(a: &[f32], la: &Layout) -> bool {
    dense(a, la).iter().all(|x| x.is_finite())
}

/// `y + alpha·x` (or `alpha·x` without `y`), each entry formed in f64 and rounded once.
pub fn axpy(alpha: f64, x: &[f32], lx: &Layout, y: Option<(&[f32], &Layout)>) -> Vec<f32> {
    let x = dense(x, lx);
    match y {
        Some((y, ly)) => x
            .iter()
            .zip(dense(y, ly).iter())
            .map(|(&x, &y)| (y as f64 + alpha * x as f64) as f32)
            .collect(),
        None => x.iter().map(|&x| (alpha * x as f64) as f32).collect(),
    }
}

/// 1 where the variable is free, 0 where it sits at a bound and the gradient points out of the
/// box (at `lo` with g > 0, at `hi` with g < 0).
pub fn free_mask(x: &[f32], lx: &Layout, g: &[f32], lg: &Layout, lo: f32, hi: f32) -> Vec<f32> {
    let (x, g) = (dense(x, lx), dense(g, lg));
    x.iter()
        .zip(g.iter())
        .map(|(&x, &g)| f32::from(!((x <= lo && g > 0.0) || (x >= hi && g < 0.0))))
        .collect()
}

// ANCHOR: dots
/// Every product `rows[i]·cols[j]` (dense vectors of one length), row-major, in f64: L-BFGS's
/// products over its whole history at once. A packed column gives the products of its values
/// widened to f32, the same as its unpacked copy would.
///
/// Memory is the cost here (a history of 100 pairs at 512 px is 470 MB), so each vector is
/// read once: the vectors are cut into pieces that fit in the CPU's cache, and each piece of
/// the rows, once loaded, is taken against the same piece of every column. Pieces are shared
/// among threads and their sums added in piece order, so results do not depend on the number
/// of threads; within a piece each sum runs in eight lanes, so a product may differ from
/// [`dot`]'s in the last bits.
pub fn dots(rows: &[&[f32]], cols: &[Values]) -> Vec<f64> {
    let n = rows
        .first()
        .map(|v| v.len())
        .or(cols.first().map(|v| v.len()))
        .unwrap_or(0);
    let width = rows.len() * cols.len();
    let per_piece: Vec<Vec<f64>> = (0..n.div_ceil(PIECE))
        .into_par_iter()
        .map(|p| {
            let range = p * PIECE..((p + 1) * PIECE).min(n);
            with_wide_vectors!(piece_dots(rows, cols, range))
        })
        .collect();
    let mut out = vec![0.0f64; width];
    for sums in &per_piece {
        for (o, s) in out.iter_mut().zip(sums) {
            *o += s;
        }
    }
    out
}
// ANCHOR_END: dots

/// Elements per piece: three rows' pieces and a column's (16 KiB each) sit in the L1/L2 cache.
const PIECE: usize = 4096;
/// f64 lanes per sum: one AVX-512 register.
const LANES: usize = 8;

/// The products of every row with every column over `range`, row-major.
#[inline(always)]
fn piece_dots(rows: &[&[f32]], cols: &[Values], range: std::ops::Range<usize>) -> Vec<f64> {
    let mut out = vec![0.0f64; rows.len() * cols.len()];
    let mut scratch = [0.0f32; PIECE];
    // The rows' pieces widened to f64 once, then taken against every column three at a time:
    // each column element is loaded and widened once for three sums.
    let wide: Vec<Vec<f64>> = rows
        .iter()
        .map(|row| row[range.clone()].iter().map(|&x| x as f64).collect())
        .collect();
    for (group, first_row) in wide.chunks(3).zip((0..).step_by(3)) {
        for (j, col) in cols.iter().enumerate() {
            let col = col.piece(range.clone(), &mut scratch);
            let mut put = |sums: &[f64]| {
                for (k, s) in sums.iter().enumerate() {
                    out[(first_row + k) * cols.len() + j] = *s;
                }
            };
            match group {
                [a, b, c] => put(&lane_dots([a, b, c], col)),
                [a, b] => put(&lane_dots([a, b], col)),
                [a] => put(&lane_dots([a], col)),
                _ => unreachable!("chunks of at most three"),
            }
        }
    }
    out
}

/// `R` products with one column, each summed in [`LANES`] lanes added at the end. (A product
/// of two f32 is exact in f64, so only the sums round.)
#[inline(always)]
fn lane_dots<const R: usize>(rows: [&Vec<f64>; R], col: &[f32]) -> [f64; R] {
    let mut acc = [[0.0f64; LANES]; R];
    let whole = col.len() / LANES * LANES;
    let cols = col[..whole].chunks_exact(LANES);
    let mut rows_lanes = rows.map(|row| row[..whole].chunks_exact(LANES));
    for c in cols {
        for (acc, row) in acc.iter_mut().zip(rows_lanes.iter_mut()) {
            let Some(r) = row.next() else { break };
            for l in 0..LANES {
                acc[l] += r[l] * c[l] as f64;
            }
        }
    }
    for k in whole..col.len() {
        for (acc, row) in acc.iter_mut().zip(&rows) {
            acc[0] += row[k] * col[k] as f64;
        }
    }
    acc.map(pairwise_sum)
}

/// The lanes added in pairs, then pairs of pairs (a fixed order).
#[inline(always)]
fn pairwise_sum(mut lanes: [f64; LANES]) -> f64 {
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            lanes[l] += lanes[l + width];
        }
    }
    lanes[0]
}

// ANCHOR: combination
/// `Σ coefs[j]·vectors[j]` (dense vectors of one length, packed or not): L-BFGS's direction
/// from its history.
/// Each element is summed in f64 in the order of the vectors and rounded once. A piece of the
/// output's sums stays in the L1 cache while every vector's piece is added to it, so each
/// vector is read once.
pub fn combination(coefs: &[f64], vectors: &[Values]) -> Vec<f32> {
    let n = vectors.first().map_or(0, |v| v.len());
    let mut out = vec![0.0f32; n];
    out.par_chunks_mut(SUM_PIECE)
        .enumerate()
        .for_each(|(p, piece)| {
            let start = p * SUM_PIECE;
            with_wide_vectors!(piece_combination(coefs, vectors, start, piece))
        });
    out
}
// ANCHOR_END: combination

/// Elements per piece of a combination: their f64 sums fill half of a 32 KiB L1 cache.
const SUM_PIECE: usize = 2048;

#[inline(always)]
fn piece_combination(coefs: &[f64], vectors: &[Values], start: usize, out: &mut [f32]) {
    let mut acc = [0.0f64; SUM_PIECE];
    let acc = &mut acc[..out.len()];
    let mut scratch = [0.0f32; SUM_PIECE];
    for (&c, v) in coefs.iter().zip(vectors) {
        for (a, &x) in acc
            .iter_mut()
            .zip(v.piece(start..start + out.len(), &mut scratch))
        {
            *a += c * x as f64;
        }
    }
    for (o, a) in out.iter_mut().zip(acc.iter()) {
        *o = *a as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors(count: usize, n: usize, seed: u32) -> Vec<Vec<f32>> {
        (0..count)
            .map(|v| {
                (0..n)
                    .map(|i| {
                        let h = (i as u32 ^ seed.wrapping_add(v as u32 * 7919))
                            .wrapping_mul(2654435761);
                        (h >> 8) as f32 / (1u32 << 24) as f32 - 0.5
                    })
                    .collect()
            })
            .collect()
    }

    /// Every row count (a whole group of three, a part group, several groups) and a length that
    /// ends inside a piece and inside a lane: each product as [`dot`] forms it.
    #[test]
    fn batched_products_match_one_at_a_time() {
        let n = PIECE * 2 + LANES * 3 + 5;
        let layout = Layout::contiguous(&[n]);
        let cols = vectors(7, n, 1);
        for row_count in 1..=5 {
            let rows = vectors(row_count, n, 100 + row_count as u32);
            let row_refs: Vec<&[f32]> = rows.iter().map(|r| r.as_slice()).collect();
            let col_refs: Vec<Values> = cols.iter().map(|c| Values::F32(c)).collect();
            let got = dots(&row_refs, &col_refs);
            assert_eq!(got.len(), row_count * cols.len());
            for (i, row) in rows.iter().enumerate() {
                for (j, col) in cols.iter().enumerate() {
                    let want = dot(row, &layout, col, &layout);
                    let g = got[i * cols.len() + j];
                    assert!(
                        (g - want).abs() <= 1e-12 * n as f64,
                        "row {i} col {j}: {g} vs {want}"
                    );
                }
            }
        }
    }

    /// The combination of vectors, element by element as the sum in f64 of each coefficient
    /// times its vector, rounded once.
    #[test]
    fn combination_matches_the_sum_it_stands_for() {
        let n = SUM_PIECE + 3;
        let vs = vectors(4, n, 9);
        let coefs = [0.5, -2.0, 1e-3, 3.25];
        let refs: Vec<Values> = vs.iter().map(|v| Values::F32(v)).collect();
        let got = combination(&coefs, &refs);
        for (i, g) in got.iter().enumerate() {
            let want: f64 = coefs.iter().zip(&vs).map(|(c, v)| c * v[i] as f64).sum();
            assert_eq!(*g, want as f32, "element {i}");
        }
    }

    /// A packed vector holds each value rounded to the nearest bf16, and the products and
    /// combinations read from it are those of its unpacked copy, to the bit: at lengths that
    /// end inside a piece, on an odd element, and across pieces.
    #[test]
    fn packed_vectors_read_as_their_unpacked_copies() {
        for n in [1, 7, PIECE + SUM_PIECE + 5, 2 * PIECE] {
            let vs = vectors(5, n, 31 + n as u32);
            let words: Vec<Vec<f32>> = vs.iter().map(|v| pack_bf16(v)).collect();
            let unpacked: Vec<Vec<f32>> = words.iter().map(|w| unpack_bf16(w, n)).collect();
            for (v, u) in vs.iter().zip(&unpacked) {
                assert_eq!(words[0].len(), n.div_ceil(2));
                for (x, r) in v.iter().zip(u) {
                    assert_eq!(*r, super::super::packed_gemm_bf16::from_bf16(to_bf16(*x)));
                }
            }
            let packed: Vec<Values> = words
                .iter()
                .map(|w| Values::Bf16Pairs { words: w, len: n })
                .collect();
            let plain: Vec<Values> = unpacked.iter().map(|u| Values::F32(u)).collect();
            // Columns of both kinds at once, as L-BFGS mixes its packed history with g.
            let mixed: Vec<Values> = vec![packed[0], plain[1], packed[2], packed[3], plain[4]];
            let rows: Vec<&[f32]> = vs[..3].iter().map(|v| v.as_slice()).collect();
            assert_eq!(dots(&rows, &mixed), dots(&rows, &plain), "n = {n}");
            let coefs = [0.5, -2.0, 1e-3, 3.25, -0.75];
            assert_eq!(combination(&coefs, &mixed), combination(&coefs, &plain));
        }
    }
}
