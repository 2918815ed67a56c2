//! Max pooling with a 2×2 window and stride 2 (every pool in VGG), vectorised.
//!
//! The general kernel finds each window's maximum with a loop over its cells; here each row of
//! windows is one loop of compares and selects with no branch, which the compiler turns into
//! vector code (in the AVX-512 copy, 16 windows per instruction). The backward pass writes four
//! interleaved cells per window, which the compiler can only vectorise with scatter stores, so
//! it has explicit AVX-512 code (`pool_2x2_avx512.rs`). Semantics match the general kernel
//! exactly: NaN wins (it propagates, as in PyTorch), and on ties the first cell in reading
//! order wins.

use super::simd::with_wide_vectors;
use crate::geometry::Pool2dGeometry;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Whether this fast path computes `g`.
pub fn supports(g: &Pool2dGeometry) -> bool {
    g.kernel == 2 && g.stride == 2 && g.padding == 0
}

/// `a` unless `b` beats it: `b` wins when larger, or when it is NaN and `a` is not.
#[inline(always)]
fn pick(a: f32, b: f32) -> bool {
    (b > a || b.is_nan()) && !a.is_nan()
}

/// Index (0–3, reading order) of the winning cell of the window `[a, b; c, d]`.
#[inline(always)]
fn winner(a: f32, b: f32, c: f32, d: f32) -> u8 {
    let (mut best, mut at) = (a, 0);
    for (i, v) in [(1, b), (2, c), (3, d)] {
        let wins = pick(best, v);
        best = if wins { v } else { best };
        at = if wins { i } else { at };
    }
    at
}

fn planes(g: &Pool2dGeometry) -> (usize, usize) {
    (g.in_h * g.in_w, g.out_h * g.out_w)
}

pub fn max_pool2d(x: &[f32], g: &Pool2dGeometry) -> Vec<f32> {
    let (in_plane, out_plane) = planes(g);
    let mut out = vec![0.0; g.batch * g.channels * out_plane];
    if out_plane == 0 {
        return out;
    }
    out.par_chunks_mut(g.out_w)
        .enumerate()
        .for_each(|(row_index, dst)| {
            let (plane, oh) = (row_index / g.out_h, row_index % g.out_h);
            let top = &x[plane * in_plane + 2 * oh * g.in_w..][..2 * g.out_w];
            let bottom = &x[plane * in_plane + (2 * oh + 1) * g.in_w..][..2 * g.out_w];
            with_wide_vectors!(pool_row(dst, top, bottom));
        });
    out
}

/// One output row: each window's winning value. Written as one indexed loop of compares and
/// selects, with no early exit and no lookup by index, so that the compiler vectorises it
/// (stride-2 loads become loads and shuffles).
#[inline(always)]
fn pool_row(dst: &mut [f32], top: &[f32], bottom: &[f32]) {
    let n = dst.len();
    let (top, bottom) = (&top[..2 * n], &bottom[..2 * n]);
    for i in 0..n {
        let (a, b) = (top[2 * i], top[2 * i + 1]);
        let (c, d) = (bottom[2 * i], bottom[2 * i + 1]);
        let mut best = a;
        for v in [b, c, d] {
            best = if pick(best, v) { v } else { best };
        }
        dst[i] = best;
    }
}

pub fn max_pool2d_backward(x: &[f32], dy: &[f32], g: &Pool2dGeometry) -> Vec<f32> {
    let (in_plane, out_plane) = planes(g);
    if out_plane == 0 {
        return vec![0.0; x.len()];
    }
    // Every cell is written exactly once below (the winner of its window gets the gradient,
    // the other cells and those no window covers a zero), so the buffer is not zeroed first.
    let mut dx: Vec<f32> = Vec::with_capacity(x.len());
    let (win_w, in_w) = (2 * g.out_w, g.in_w);
    // One task per plane; windows do not overlap.
    dx.spare_capacity_mut()[..x.len()]
        .par_chunks_mut(in_plane)
        .zip(x.par_chunks(in_plane))
        .zip(dy.par_chunks(out_plane))
        .for_each(|((dst, src), grads)| {
            for (oh, gy) in grads.chunks_exact(g.out_w).enumerate() {
                let (row0, row1) = dst[2 * oh * in_w..(2 * oh + 2) * in_w].split_at_mut(in_w);
                let (d0, uncovered0) = row0.split_at_mut(win_w);
                let (d1, uncovered1) = row1.split_at_mut(win_w);
                let s0 = &src[2 * oh * in_w..][..win_w];
                let s1 = &src[(2 * oh + 1) * in_w..][..win_w];
                unpool_row([d0, d1], [s0, s1], gy);
                // An odd last column belongs to no window.
                uncovered0.iter_mut().chain(uncovered1).for_each(|v| {
                    v.write(0.0);
                });
            }
            // An odd last row belongs to no window.
            dst[2 * g.out_h * in_w..].iter_mut().for_each(|v| {
                v.write(0.0);
            });
        });
    // SAFETY: the planes cover all x.len() cells, and each plane's rows 0..2·out_h (windows
    // and uncovered columns) and the rows after them were written above.
    unsafe { dx.set_len(x.len()) };
    dx
}

/// One row of windows backwards: each window's gradient to its winning cell, zero to the
/// other three. AVX-512 does whole groups of 16 windows where the CPU has it.
fn unpool_row(dst: [&mut [MaybeUninit<f32>]; 2], src: [&[f32]; 2], gy: &[f32]) {
    let n = gy.len();
    let [d0, d1] = dst;
    let (d0, d1) = (&mut d0[..2 * n], &mut d1[..2 * n]);
    let (s0, s1) = (&src[0][..2 * n], &src[1][..2 * n]);
    #[cfg(target_arch = "x86_64")]
    let done = if super::simd::has_avx512() {
        // SAFETY: the CPU has AVX-512F, and every row holds 2·n cells (sliced just above).
        unsafe { super::pool_2x2_avx512::unpool_row([&mut *d0, &mut *d1], [s0, s1], gy) }
    } else {
        0
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    for (ow, &grad) in gy.iter().enumerate().skip(done) {
        let (i, j) = (2 * ow, 2 * ow + 1);
        let w = winner(s0[i], s0[j], s1[i], s1[j]);
        d0[i].write(if w == 0 { grad } else { 0.0 });
        d0[j].write(if w == 1 { grad } else { 0.0 });
        d1[i].write(if w == 2 { grad } else { 0.0 });
        d1[j].write(if w == 3 { grad } else { 0.0 });
    }
}

#[cfg(test)]
mod tests {
    use super::super::pool::{max_pool2d_any, max_pool2d_backward_any};
    use super::*;

    #[test]
    fn matches_the_general_kernel_with_ties_nans_and_odd_sizes() {
        // Rows of 35 windows: two groups of 16 for the AVX-512 path, and 3 left for the loop.
        for (h, w) in [
            (4, 6),
            (5, 7),
            (2, 2),
            (3, 3),
            (9, 4),
            (4, 70),
            (5, 71),
            (2, 64),
        ] {
            let g = Pool2dGeometry::new("test", &[2, 3, h, w], 2, 2, 0).unwrap();
            let n = 2 * 3 * h * w;
            // Few distinct values (many ties), some NaNs and infinities.
            let x: Vec<f32> = (0..n)
                .map(|i| match (i * 7919) % 23 {
                    0 => f32::NAN,
                    1 => f32::NEG_INFINITY,
                    k => (k % 4) as f32,
                })
                .collect();
            let dy: Vec<f32> = (0..2 * 3 * g.out_h * g.out_w)
                .map(|i| i as f32 + 1.0)
                .collect();
            let same = |a: &[f32], b: &[f32]| {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|(u, v)| u == v || (u.is_nan() && v.is_nan()))
            };
            assert!(
                same(&max_pool2d(&x, &g), &max_pool2d_any(&x, &g)),
                "{h}×{w} forward"
            );
            // The backward writes into memory it does not clear first: leave a freed block of
            // the same size full of NaN, which the allocator hands back next, so that a cell
            // left unwritten shows.
            drop(std::hint::black_box(vec![f32::NAN; n]));
            assert!(
                same(
                    &max_pool2d_backward(&x, &dy, &g),
                    &max_pool2d_backward_any(&x, &dy, &g)
                ),
                "{h}×{w} backward"
            );
        }
    }

    /// Time pool1's forward and backward at 512 px (64 × 384 × 512):
    /// `cargo test --release -p picasso-engine --lib pool_2x2_speed -- --ignored --nocapture`.
    #[test]
    #[ignore = "a timing, run by hand"]
    fn pool_2x2_speed() {
        // As in `picasso`: freed blocks are reused, so the timing is not of page faults.
        crate::cpu::heap::keep_freed_memory();
        let g = Pool2dGeometry::new("pool1", &[1, 64, 384, 512], 2, 2, 0).unwrap();
        let x: Vec<f32> = (0..64 * 384 * 512)
            .map(|i| ((i * 7919) % 1000) as f32)
            .collect();
        let dy = vec![1.0f32; 64 * 192 * 256];
        let reps = 50;
        let start = std::time::Instant::now();
        for _ in 0..reps {
            std::hint::black_box(max_pool2d(&x, &g));
        }
        let forward = start.elapsed().as_secs_f64() / reps as f64;
        let start = std::time::Instant::now();
        for _ in 0..reps {
            std::hint::black_box(max_pool2d_backward(&x, &dy, &g));
        }
        let backward = start.elapsed().as_secs_f64() / reps as f64;
        println!(
            "pool1 at 512 px: forward {:.2} ms, backward {:.2} ms",
            forward * 1e3,
            backward * 1e3
        );
    }
}
