//! 2-D convolution on the CPU: tiled im2col + GEMM forward, two GEMMs + col2im backward.
//!
//! Every function works on one image at a time and, inside it, on a *tile* of output rows:
//! im2col fills a column buffer for just those rows, one GEMM consumes it. The buffer is
//! reused for every tile, so memory is `c·kh·kw × tile` floats however large the image is.
//!
//! Parallelism: the GEMMs run on matrixmultiply's own threads (its `threading` feature), the
//! copies (im2col, col2im) on rayon. The two never run at the same time, so they do not fight
//! over the cores.

use super::conv_im2col::{col2im, im2col};
use super::conv_winograd::{self, WinogradWeights};
use super::winograd_cache::{self, WeightOwner};
use crate::geometry::Conv2dGeometry;
use crate::layout::Layout;
use crate::ops::BinaryOp;
use std::ops::Range;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

/// Which algorithm computes 3×3 stride-1 convolutions (all others always use im2col).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvAlgorithm {
    /// Winograd where it is measured to be faster, im2col elsewhere (the default).
    Auto,
    /// im2col + GEMM everywhere.
    Im2col,
    /// Winograd F(4×4, 3×3) for every convolution it supports.
    Winograd,
}

static ALGORITHM: AtomicU8 = AtomicU8::new(0);

/// Choose the algorithm process-wide, for benchmarks and comparisons.
pub fn set_algorithm(a: ConvAlgorithm) {
    ALGORITHM.store(a as u8, Ordering::Relaxed);
}

/// The algorithm chosen with [`set_algorithm`].
pub fn algorithm() -> ConvAlgorithm {
    match ALGORITHM.load(Ordering::Relaxed) {
        1 => ConvAlgorithm::Im2col,
        2 => ConvAlgorithm::Winograd,
        _ => ConvAlgorithm::Auto,
    }
}

fn use_winograd(g: &Conv2dGeometry) -> bool {
    conv_winograd::supports(g)
        && match algorithm() {
            ConvAlgorithm::Auto => conv_winograd::pays_off(g),
            ConvAlgorithm::Im2col => false,
            ConvAlgorithm::Winograd => true,
        }
}

/// A convolution weight: its values, and — when it belongs to a tensor — the buffer that owns
/// them and identifies it, so that Winograd can reuse its transform across calls.
#[derive(Clone, Copy)]
pub struct Weight<'a> {
    pub values: &'a [f32],
    pub source: Option<(&'a WeightOwner, &'a Layout)>,
}

impl<'a> Weight<'a> {
    /// Weights with no identity: transformed afresh on every call.
    pub fn values(values: &'a [f32]) -> Self {
        Weight {
            values,
            source: None,
        }
    }

    /// The Winograd transform of this `[o, c, 3, 3]` weight (`flipped` for the input
    /// gradient), from the cache when the weight has an identity.
    fn winograd(&self, o: usize, c: usize, flipped: bool) -> Arc<WinogradWeights> {
        let make = || WinogradWeights::new(self.values, o, c, flipped);
        match self.source {
            Some((owner, layout)) => winograd_cache::transformed(owner, layout, flipped, make),
            None => Arc::new(make()),
        }
    }
}

/// Aim for this many output pixels per tile: wide enough that the GEMM amortises packing the
/// weight matrix, small enough that the column buffer stays near the caches.
const TILE_PIXELS: usize = 4096;
/// Never let the column buffer exceed this many floats (16 MB), whatever the layer.
const MAX_COL_FLOATS: usize = 1 << 22;

// ANCHOR: tiles
/// How many output rows one tile covers.
pub fn tile_rows(g: &Conv2dGeometry) -> usize {
    let wanted = TILE_PIXELS.div_ceil(g.out_w.max(1));
    let affordable = MAX_COL_FLOATS / (g.patch_len() * g.out_w).max(1);
    wanted.min(affordable).clamp(1, g.out_h.max(1))
}

/// The output-row tiles of one image.
fn tiles(g: &Conv2dGeometry) -> impl Iterator<Item = Range<usize>> {
    let (step, out_h) = (tile_rows(g), g.out_h);
    (0..out_h)
        .step_by(step)
        .map(move |r| r..(r + step).min(out_h))
}
// ANCHOR_END: tiles

/// A column buffer big enough for any tile (empty for the 1×1 fast path, which needs none).
fn column_buffer(g: &Conv2dGeometry) -> Vec<f32> {
    if g.is_pointwise() {
        Vec::new()
    } else {
        vec![0.0; g.patch_len() * tile_rows(g) * g.out_w]
    }
}

// ANCHOR: mat
/// A strided matrix operand: `data[i·row_stride + j·col_stride]`.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a> {
    pub data: &'a [f32],
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> Mat<'a> {
    /// A row-major matrix whose rows are `row_stride` apart.
    pub fn rows(data: &'a [f32], row_stride: usize) -> Self {
        Mat {
            data,
            row_stride,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major matrix whose rows are `row_stride` apart.
    pub fn transposed(data: &'a [f32], row_stride: usize) -> Self {
        Mat {
            data,
            row_stride: 1,
            col_stride: row_stride,
        }
    }
}
// ANCHOR_END: mat

// ANCHOR: gemm
/// `c[m×n] = a[m×k] · b[k×n] + beta · c`, with c's rows `c_row_stride` apart.
pub(crate) fn gemm(
    [m, k, n]: [usize; 3],
    a: Mat,
    b: Mat,
    beta: f32,
    c: &mut [f32],
    c_row_stride: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    assert!(k == 0 || last(m, k, a.row_stride, a.col_stride) < a.data.len());
    assert!(k == 0 || last(k, n, b.row_stride, b.col_stride) < b.data.len());
    assert!(last(m, n, c_row_stride, 1) < c.len());
    // SAFETY: the asserts above show every element the GEMM touches lies inside the slices.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.data.as_ptr(),
            a.row_stride as isize,
            a.col_stride as isize,
            b.data.as_ptr(),
            b.row_stride as isize,
            b.col_stride as isize,
            beta,
            c.as_mut_ptr(),
            c_row_stride as isize,
            1,
        );
    }
}
// ANCHOR_END: gemm

// ANCHOR: conv2d
/// Forward pass. `x` is `[n, c, h, w]`, `w` is `[o, c, kh, kw]`, `bias` is `[o]`, all dense;
/// returns the dense `[n, o, out_h, out_w]` output.
pub fn conv2d(x: &[f32], weight: Weight, bias: Option<&[f32]>, g: &Conv2dGeometry) -> Vec<f32> {
    if use_winograd(g) {
        let u = weight.winograd(g.out_channels, g.in_channels, false);
        return conv_winograd::conv2d(x, &u, bias, g);
    }
    let pixels = g.out_h * g.out_w;
    let image = g.in_channels * g.in_h * g.in_w;
    let mut out = vec![0.0f32; g.batch * g.out_channels * pixels];
    let mut col = column_buffer(g);
    for (xn, yn) in x
        .chunks_exact(image.max(1))
        .zip(out.chunks_exact_mut((g.out_channels * pixels).max(1)))
    {
        // Start from the bias and let the GEMM add onto it (beta = 1): no extra pass.
        let beta = match bias {
            Some(b) => {
                for (plane, &bo) in yn.chunks_exact_mut(pixels.max(1)).zip(b) {
                    plane.fill(bo);
                }
                1.0
            }
            None => 0.0,
        };
        conv2d_image(xn, weight.values, beta, g, &mut col, yn);
    }
    out
}
// ANCHOR_END: conv2d

// ANCHOR: conv2d_image
/// One image: `y[o, pixels] = beta·y + w[o, c·kh·kw] · im2col(x)[c·kh·kw, pixels]`, one tile
/// of output rows at a time, with `col` as the tile's column buffer.
fn conv2d_image(
    x: &[f32],
    w: &[f32],
    beta: f32,
    g: &Conv2dGeometry,
    col: &mut [f32],
    y: &mut [f32],
) {
    let (o, k) = (g.out_channels, g.patch_len());
    let pixels = g.out_h * g.out_w;
    let weight = Mat::rows(w, k);
    if g.is_pointwise() {
        // 1×1, stride 1, no padding: the image [c, h·w] is already the column matrix.
        gemm(
            [o, k, pixels],
            weight,
            Mat::rows(x, pixels),
            beta,
            y,
            pixels,
        );
        return;
    }
    for rows in tiles(g) {
        let t = rows.len() * g.out_w;
        im2col(x, g, rows.clone(), col);
        // The tile's outputs are columns rows.start·out_w.. of y, whose rows are `pixels` long.
        let dst = &mut y[rows.start * g.out_w..];
        gemm([o, k, t], weight, Mat::rows(col, t), beta, dst, pixels);
    }
}
// ANCHOR_END: conv2d_image

// ANCHOR: backward_input
/// Gradient with respect to the input: `dcol = wᵀ · dy` per tile, then col2im scatters each
/// column back onto the pixels it came from. With `relu_output`, `dy` counts only where that
/// is positive: the Winograd path applies the mask as it reads `dy`, the others first.
pub fn conv2d_backward_input(
    dy: &[f32],
    relu_output: Option<&[f32]>,
    weight: Weight,
    g: &Conv2dGeometry,
) -> Vec<f32> {
    if let Some(gt) = transposed_geometry(g).filter(use_winograd) {
        let u = weight.winograd(g.out_channels, g.in_channels, true);
        return conv_winograd::conv2d_input_grad(dy, relu_output, &u, &gt);
    }
    let masked: Vec<f32>;
    let dy = match relu_output {
        Some(y) => {
            assert_eq!(
                y.len(),
                dy.len(),
                "conv2d backward: relu_output and dy differ in length"
            );
            let flat = Layout::contiguous(&[dy.len()]);
            masked = super::elementwise::binary(dy, &flat, y, &flat, BinaryOp::MaskPositive);
            &masked[..]
        }
        None => dy,
    };
    let w = weight.values;
    let (o, k) = (g.out_channels, g.patch_len());
    let pixels = g.out_h * g.out_w;
    let image = g.in_channels * g.in_h * g.in_w;
    let mut dx = vec![0.0f32; g.batch * image];
    let mut col = column_buffer(g);
    let weight_t = Mat::transposed(w, k);
    for (dyn_, dxn) in dy
        .chunks_exact((o * pixels).max(1))
        .zip(dx.chunks_exact_mut(image.max(1)))
    {
        if g.is_pointwise() {
            gemm(
                [k, o, pixels],
                weight_t,
                Mat::rows(dyn_, pixels),
                0.0,
                dxn,
                pixels,
            );
            continue;
        }
        for rows in tiles(g) {
            let t = rows.len() * g.out_w;
            let grad_tile = Mat::rows(&dyn_[rows.start * g.out_w..], pixels);
            gemm([k, o, t], weight_t, grad_tile, 0.0, &mut col, t);
            col2im(&col, g, rows, dxn);
        }
    }
    dx
}
// ANCHOR_END: backward_input

/// For a stride-1 convolution with padding `p ≤ k − 1`: the geometry of the convolution of
/// `dy` with the flipped weight and padding `k − 1 − p`, whose output is the input gradient.
fn transposed_geometry(g: &Conv2dGeometry) -> Option<Conv2dGeometry> {
    let (kh, kw) = (g.kernel_h, g.kernel_w);
    let (ph, pw) = g.params.padding;
    if g.params.stride != (1, 1) || g.params.dilation != (1, 1) || ph >= kh || pw >= kw {
        return None;
    }
    let params = crate::geometry::Conv2dParams {
        padding: (kh - 1 - ph, kw - 1 - pw),
        ..g.params
    };
    let dy_shape = [g.batch, g.out_channels, g.out_h, g.out_w];
    let w_shape = [g.in_channels, g.out_channels, kh, kw];
    let gt = Conv2dGeometry::new(&dy_shape, &w_shape, params).ok()?;
    (gt.output_shape() == g.input_shape()).then_some(gt)
}

// ANCHOR: backward_weight
/// Gradient with respect to the weight: `dw += dy_tile · col_tileᵀ`, summed over every tile
/// of every image (im2col is recomputed rather than kept from the forward pass).
pub fn conv2d_backward_weight(x: &[f32], dy: &[f32], g: &Conv2dGeometry) -> Vec<f32> {
    let (o, k) = (g.out_channels, g.patch_len());
    let pixels = g.out_h * g.out_w;
    let image = g.in_channels * g.in_h * g.in_w;
    let mut dw = vec![0.0f32; o * k];
    let mut col = column_buffer(g);
    for (xn, dyn_) in x
        .chunks_exact(image.max(1))
        .zip(dy.chunks_exact((o * pixels).max(1)))
    {
        if g.is_pointwise() {
            gemm(
                [o, pixels, k],
                Mat::rows(dyn_, pixels),
                Mat::transposed(xn, pixels),
                1.0,
                &mut dw,
                k,
            );
            continue;
        }
        for rows in tiles(g) {
            let t = rows.len() * g.out_w;
            im2col(xn, g, rows.clone(), &mut col);
            let grad_tile = Mat::rows(&dyn_[rows.start * g.out_w..], pixels);
            gemm(
                [o, t, k],
                grad_tile,
                Mat::transposed(&col, t),
                1.0,
                &mut dw,
                k,
            );
        }
    }
    dw
}
// ANCHOR_END: backward_weight

// ANCHOR: backward_bias
/// Gradient with respect to the bias: the sum of `dy` over batch and pixels, per channel.
pub fn conv2d_backward_bias(dy: &[f32], g: &Conv2dGeometry) -> Vec<f32> {
    let pixels = g.out_h * g.out_w;
    let mut db = vec![0.0f32; g.out_channels];
    for (i, plane) in dy.chunks_exact(pixels.max(1)).enumerate() {
        db[i % g.out_channels] += plane.iter().sum::<f32>();
    }
    db
}
// ANCHOR_END: backward_bias
