//! Whole-vector arithmetic for optimisers (L-BFGS's two-loop recursion, its stopping tests):
//! the twin of `cuda/vector.rs`. Products and sums are formed in f64, one element after
//! another, so results do not depend on the number of threads.

use super::copy::dense;
use crate::layout::Layout;

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

/// Every product `rows[i]·cols[j]` (dense vectors of one length), row-major: L-BFGS's
/// products over its whole history at once. Each is the sum [`dot`] forms, in the same order,
/// so the numbers are the same; the columns are read once, a cache-sized piece at a time.
pub fn dots(rows: &[&[f32]], cols: &[&[f32]]) -> Vec<f64> {
    const PIECE: usize = 2048;
    let n = rows.first().map_or(0, |r| r.len());
    let mut acc = vec![0.0f64; rows.len() * cols.len()];
    for start in (0..n).step_by(PIECE) {
        let end = (start + PIECE).min(n);
        for (j, col) in cols.iter().enumerate() {
            let col = &col[start..end];
            for (i, row) in rows.iter().enumerate() {
                let row = &row[start..end];
                let sum = &mut acc[i * cols.len() + j];
                for (&a, &b) in row.iter().zip(col) {
                    *sum += a as f64 * b as f64;
                }
            }
        }
    }
    acc
}

/// `Σ coefs[j]·vectors[j]` (dense vectors of one length), each element formed in f64 and
/// rounded once.
pub fn combination(coefs: &[f64], vectors: &[&[f32]]) -> Vec<f32> {
    const PIECE: usize = 2048;
    let n = vectors.first().map_or(0, |v| v.len());
    let mut out = Vec::with_capacity(n);
    let mut acc = [0.0f64; PIECE];
    for start in (0..n).step_by(PIECE) {
        let end = (start + PIECE).min(n);
        let acc = &mut acc[..end - start];
        acc.fill(0.0);
        for (&c, v) in coefs.iter().zip(vectors) {
            for (a, &x) in acc.iter_mut().zip(&v[start..end]) {
                *a += c * x as f64;
            }
        }
        out.extend(acc.iter().map(|&a| a as f32));
    }
    out
}
