//! 2-D max and average pooling on the CPU, forward and backward.
//!
//! Every (image, channel) plane is independent, so rayon gives one plane to each task.
//! Padding follows PyTorch: max pooling treats padded cells as −∞ (they never win), average
//! pooling counts them as zeros in the divisor (`count_include_pad=True`).

use super::PARALLEL_THRESHOLD;
use crate::geometry::Pool2dGeometry;
use rayon::prelude::*;

/// Run `f(input_plane, output_plane)` over all planes, in parallel when worth it.
fn per_plane(
    src: &[f32],
    src_plane: usize,
    dst: &mut [f32],
    dst_plane: usize,
    f: impl Fn(usize, &[f32], &mut [f32]) + Send + Sync,
) {
    if src_plane == 0 || dst_plane == 0 {
        return;
    }
    let work = |(i, (s, d)): (usize, (&[f32], &mut [f32]))| f(i, s, d);
    if src.len() + dst.len() >= PARALLEL_THRESHOLD {
        src.par_chunks_exact(src_plane)
            .zip(dst.par_chunks_exact_mut(dst_plane))
            .enumerate()
            .for_each(work);
    } else {
        src.chunks_exact(src_plane)
            .zip(dst.chunks_exact_mut(dst_plane))
            .enumerate()
            .for_each(work);
    }
}

// ANCHOR: beats
/// Whether `v` takes a window from the best value so far: only when strictly larger, so that
/// on ties the first cell in reading order keeps it; or when it is NaN, so that NaNs
/// propagate (as in PyTorch).
#[inline]
fn beats(v: f32, best: f32) -> bool {
    v > best || v.is_nan()
}
// ANCHOR_END: beats

// ANCHOR: argmax
/// Position (within the plane) of the input that wins the window of output `(oh, ow)`.
#[inline]
fn argmax(g: &Pool2dGeometry, plane: &[f32], oh: usize, ow: usize) -> usize {
    if g.padding == 0 {
        return argmax_inside(g, plane, oh, ow);
    }
    // The window clipped to the image: padded cells count as −∞, which never wins.
    let mut best = usize::MAX;
    let mut best_val = f32::NEG_INFINITY;
    for ih in g.window(oh, g.in_h) {
        for iw in g.window(ow, g.in_w) {
            let v = plane[ih * g.in_w + iw];
            if best == usize::MAX || beats(v, best_val) {
                (best, best_val) = (ih * g.in_w + iw, v);
                if v.is_nan() {
                    return best;
                }
            }
        }
    }
    best
}
// ANCHOR_END: argmax

/// [`argmax`] for a window that lies inside the image (always true without padding): no
/// clipping, and the loop bounds are known up front — several times faster.
#[inline]
fn argmax_inside(g: &Pool2dGeometry, plane: &[f32], oh: usize, ow: usize) -> usize {
    let base = oh * g.stride * g.in_w + ow * g.stride;
    let (mut best, mut best_val) = (base, plane[base]);
    for i in 0..g.kernel {
        let row = &plane[base + i * g.in_w..base + i * g.in_w + g.kernel];
        for (j, &v) in row.iter().enumerate() {
            if beats(v, best_val) {
                (best, best_val) = (base + i * g.in_w + j, v);
                if v.is_nan() {
                    return best;
                }
            }
        }
    }
    best
}

/// Max pooling forward: dense `[n, c, out_h, out_w]`.
pub fn max_pool2d(x: &[f32], g: &Pool2dGeometry) -> Vec<f32> {
    if super::pool_2x2::supports(g) {
        return super::pool_2x2::max_pool2d(x, g);
    }
    max_pool2d_any(x, g)
}

// ANCHOR: max_pool2d_any
/// Max pooling forward for any window (the reference the 2×2 fast path is tested against).
pub(super) fn max_pool2d_any(x: &[f32], g: &Pool2dGeometry) -> Vec<f32> {
    let mut out = vec![0.0; g.batch * g.channels * g.out_h * g.out_w];
    per_plane(
        x,
        g.in_h * g.in_w,
        &mut out,
        g.out_h * g.out_w,
        |_, src, dst| {
            for (i, y) in dst.iter_mut().enumerate() {
                *y = src[argmax(g, src, i / g.out_w, i % g.out_w)];
            }
        },
    );
    out
}
// ANCHOR_END: max_pool2d_any

// ANCHOR: max_pool2d_backward
/// Max pooling backward: each output's gradient goes to the input that won its window
/// (found again from `x`, so no index buffer has to be kept from the forward pass).
pub fn max_pool2d_backward(x: &[f32], dy: &[f32], g: &Pool2dGeometry) -> Vec<f32> {
    if super::pool_2x2::supports(g) {
        return super::pool_2x2::max_pool2d_backward(x, dy, g);
    }
    max_pool2d_backward_any(x, dy, g)
}
// ANCHOR_END: max_pool2d_backward

// ANCHOR: max_pool2d_backward_any
/// Max pooling backward for any window.
pub(super) fn max_pool2d_backward_any(x: &[f32], dy: &[f32], g: &Pool2dGeometry) -> Vec<f32> {
    let mut dx = vec![0.0; x.len()];
    let (in_plane, out_plane) = (g.in_h * g.in_w, g.out_h * g.out_w);
    // Planes of dx are disjoint, so walk dx by plane and read x and dy at the same index.
    per_plane(dy, out_plane, &mut dx, in_plane, |p, grads, dst| {
        let src = &x[p * in_plane..(p + 1) * in_plane];
        for (oh, row) in grads.chunks_exact(g.out_w).enumerate() {
            for (ow, &gy) in row.iter().enumerate() {
                dst[argmax(g, src, oh, ow)] += gy;
            }
        }
    });
    dx
}
// ANCHOR_END: max_pool2d_backward_any

// ANCHOR: avg_pool2d
/// Average pooling forward; the divisor is always kernel² (padding counts).
pub fn avg_pool2d(x: &[f32], g: &Pool2dGeometry) -> Vec<f32> {
    let mut out = vec![0.0; g.batch * g.channels * g.out_h * g.out_w];
    let scale = 1.0 / (g.kernel * g.kernel) as f32;
    per_plane(
        x,
        g.in_h * g.in_w,
        &mut out,
        g.out_h * g.out_w,
        |_, src, dst| {
            for (i, y) in dst.iter_mut().enumerate() {
                let mut sum = 0.0;
                for ih in g.window(i / g.out_w, g.in_h) {
                    sum += src[ih * g.in_w..][g.window(i % g.out_w, g.in_w)]
                        .iter()
                        .sum::<f32>();
                }
                *y = sum * scale;
            }
        },
    );
    out
}
// ANCHOR_END: avg_pool2d

// ANCHOR: avg_pool2d_backward
/// Average pooling backward: each output's gradient is shared equally by its kernel² cells
/// (the share of padded cells is dropped).
pub fn avg_pool2d_backward(dy: &[f32], g: &Pool2dGeometry) -> Vec<f32> {
    let mut dx = vec![0.0; g.batch * g.channels * g.in_h * g.in_w];
    let scale = 1.0 / (g.kernel * g.kernel) as f32;
    per_plane(
        dy,
        g.out_h * g.out_w,
        &mut dx,
        g.in_h * g.in_w,
        |_, grads, dst| {
            for (i, &gy) in grads.iter().enumerate() {
                let share = gy * scale;
                for ih in g.window(i / g.out_w, g.in_h) {
                    for d in &mut dst[ih * g.in_w..][g.window(i % g.out_w, g.in_w)] {
                        *d += share;
                    }
                }
            }
        },
    );
    dx
}
// ANCHOR_END: avg_pool2d_backward

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_by_two_max_and_average() {
        let g = Pool2dGeometry::new("t", &[1, 1, 2, 4], 2, 2, 0).unwrap();
        let x = [1.0, 5.0, 2.0, 0.0, 3.0, 4.0, 8.0, 6.0];
        assert_eq!(max_pool2d(&x, &g), vec![5.0, 8.0]);
        assert_eq!(avg_pool2d(&x, &g), vec![13.0 / 4.0, 4.0]);
        assert_eq!(
            max_pool2d_backward(&x, &[1.0, 2.0], &g),
            vec![0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0]
        );
    }

    #[test]
    fn ties_go_to_the_first_and_nan_propagates() {
        // kernel 2 without padding (the fast path) and kernel 3 with padding 1 (the clipped
        // path): every window covers the whole 2×2 image.
        for (kernel, stride, padding) in [(2, 2, 0), (3, 1, 1)] {
            let g = Pool2dGeometry::new("t", &[1, 1, 2, 2], kernel, stride, padding).unwrap();
            let windows = g.out_h * g.out_w;
            let dx = max_pool2d_backward(&[3.0, 3.0, 1.0, 3.0], &vec![1.0; windows], &g);
            assert_eq!(dx, vec![windows as f32, 0.0, 0.0, 0.0], "kernel {kernel}");
            let y = max_pool2d(&[1.0, f32::NAN, 5.0, 2.0], &g);
            assert!(y.iter().all(|v| v.is_nan()), "kernel {kernel}: {y:?}");
        }
    }
}
