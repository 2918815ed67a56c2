//! Whole-vector arithmetic for optimisers (L-BFGS's two-loop recursion, its stopping tests):
//! the twin of `cuda/vector.rs`. Products and sums are formed in f64, one element after
//! another, so results do not depend on the number of threads.

use super::copy::dense;
use crate::layout::Layout;
use rayon::prelude::*;

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

/// Every product `rows[i]·cols[j]` (dense vectors of one length), row-major, in f64: L-BFGS's
/// products over its whole history at once. Built for reading memory once: the columns are
/// split among threads, and each thread walks the vectors a cache-sized piece at a time,
/// taking the rows' piece (from cache) against every one of its columns' pieces. Each sum runs
/// in four interleaved lanes (so that the CPU's vector units can take them), added at the end;
/// a product may therefore differ from [`dot`]'s in the last bits.
pub fn dots(rows: &[&[f32]], cols: &[&[f32]]) -> Vec<f64> {
    if rows.is_empty() || cols.is_empty() {
        return Vec::new();
    }
    let per_thread = cols.len().div_ceil(rayon::current_num_threads().max(1));
    let sums: Vec<Vec<f64>> = cols
        .par_chunks(per_thread.max(1))
        .map(|group| column_dots(rows, group))
        .collect();
    // `sums[t]` holds, for each of thread t's columns, one sum per row.
    let mut out = vec![0.0f64; rows.len() * cols.len()];
    for (j, v) in sums.iter().flat_map(|t| t.chunks(rows.len())).enumerate() {
        for (i, x) in v.iter().enumerate() {
            out[i * cols.len() + j] = *x;
        }
    }
    out
}

const LANES: usize = 4;
const PIECE: usize = 2048;

/// For each column, its product with every row (column-major: `rows.len()` sums a column).
fn column_dots(rows: &[&[f32]], cols: &[&[f32]]) -> Vec<f64> {
    let n = rows[0].len();
    let mut acc = vec![[0.0f64; LANES]; rows.len() * cols.len()];
    for start in (0..n).step_by(PIECE) {
        let end = (start + PIECE).min(n);
        for (j, col) in cols.iter().enumerate() {
            let col = &col[start..end];
            let acc = &mut acc[j * rows.len()..(j + 1) * rows.len()];
            // Three rows against the column in one pass: the column is read and widened once.
            for (rows, acc) in rows.chunks(3).zip(acc.chunks_mut(3)) {
                match (rows, acc) {
                    ([a, b, c], [x, y, z]) => {
                        let (a, b, c) = (&a[start..end], &b[start..end], &c[start..end]);
                        let whole = col.len() / LANES * LANES;
                        for k in (0..whole).step_by(LANES) {
                            for l in 0..LANES {
                                let v = col[k + l] as f64;
                                x[l] += a[k + l] as f64 * v;
                                y[l] += b[k + l] as f64 * v;
                                z[l] += c[k + l] as f64 * v;
                            }
                        }
                        for k in whole..col.len() {
                            let v = col[k] as f64;
                            x[0] += a[k] as f64 * v;
                            y[0] += b[k] as f64 * v;
                            z[0] += c[k] as f64 * v;
                        }
                    }
                    (rows, acc) => {
                        for (row, lanes) in rows.iter().zip(acc.iter_mut()) {
                            for (k, (&r, &c)) in row[start..end].iter().zip(col).enumerate() {
                                lanes[k % LANES] += r as f64 * c as f64;
                            }
                        }
                    }
                }
            }
        }
    }
    acc.iter().map(|l| (l[0] + l[1]) + (l[2] + l[3])).collect()
}

/// `Σ coefs[j]·vectors[j]` (dense vectors of one length), each element formed in f64 (in the
/// order of the vectors) and rounded once; pieces of the output are shared among threads.
pub fn combination(coefs: &[f64], vectors: &[&[f32]]) -> Vec<f32> {
    let n = vectors.first().map_or(0, |v| v.len());
    let mut out = vec![0.0f32; n];
    out.par_chunks_mut(PIECE)
        .enumerate()
        .for_each(|(k, piece)| {
            let start = k * PIECE;
            let mut acc = [0.0f64; PIECE];
            let acc = &mut acc[..piece.len()];
            for (&c, v) in coefs.iter().zip(vectors) {
                for (a, &x) in acc.iter_mut().zip(&v[start..start + piece.len()]) {
                    *a += c * x as f64;
                }
            }
            for (o, a) in piece.iter_mut().zip(acc.iter()) {
                *o = *a as f32;
            }
        });
    out
}
