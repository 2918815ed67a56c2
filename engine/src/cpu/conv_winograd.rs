//! Winograd F(2×2, 3×3): the 3×3 stride-1 convolutions of VGG with 2.25× fewer multiplies.
//!
//! Direct convolution spends 9 multiplies per output pixel, input channel and output channel.
//! Winograd's minimal filtering algorithm computes a 2×2 block of outputs from a 4×4 input
//! tile with 16 multiplies instead of 36:
//!
//! ```text
//! Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//! ```
//!
//! where `g` is the 3×3 kernel, `d` the 4×4 input tile, ⊙ elementwise. `G g Gᵀ` depends only
//! on the weights (computed once per call), `Bᵀ d B` only on the input. The ⊙ summed over input
//! channels is, for each of the 16 tile positions ξ, a matrix product
//! `M[ξ] (o × tiles) = U[ξ] (o × c) · V[ξ] (c × tiles)`: 16 GEMMs replace one GEMM of 9× the
//! depth, and the transforms are cheap additions.
//!
//! The transforms use only 0, ±1 and ±½, so float32 rounding stays close to im2col's.
//! Like im2col, the work is done for a band of tile rows at a time to bound memory.

use super::conv::{gemm, Mat};
use super::conv_geometry::Conv2dGeometry;
use rayon::prelude::*;

/// Floats allowed for the transformed input and GEMM output of one band (16 MB).
const BAND_FLOATS: usize = 1 << 22;

/// Whether F(2×2, 3×3) computes this convolution: a 3×3 kernel, stride 1, no dilation.
pub fn supports(g: &Conv2dGeometry) -> bool {
    g.kernel_h == 3 && g.kernel_w == 3 && g.params.stride == (1, 1) && g.params.dilation == (1, 1)
}

/// Whether it is also faster than im2col here (measured on VGG layers, see benches/RESULTS.md):
/// with few channels the GEMMs are too thin to pay for the transforms (conv1_1 has 3 input
/// channels), and on images of 32×32 or less the per-call weight transform and the narrow
/// GEMMs (few tiles) eat the saving — conv5_1 of a 512 px image is faster with im2col.
pub fn pays_off(g: &Conv2dGeometry) -> bool {
    g.in_channels >= 16 && g.out_channels >= 16 && g.out_h * g.out_w >= 64 * 64
}

/// `U[ξ][o][c] = (G g Gᵀ)[ξ]` for every (output, input) channel pair of an `[o, c, 3, 3]`
/// weight.
///
/// With `flipped`, the same for the weight of the input-gradient convolution (see
/// [`conv2d_input_grad`]), laid out `U[ξ][c][o]`. Rotating a kernel by 180° only swaps rows 0
/// and 3 and columns 0 and 3 of `G g Gᵀ` (rows 1 and 2 of G are symmetric), so the flipped
/// weight never has to be built.
fn transform_weights(w: &[f32], o: usize, c: usize, flipped: bool) -> Vec<f32> {
    const SWAP_0_3: [usize; 4] = [3, 1, 2, 0];
    let mut u = vec![0.0f32; 16 * o * c];
    for (pair, g) in w.chunks_exact(9).enumerate() {
        let dst = if flipped {
            (pair % c) * o + pair / c
        } else {
            pair
        };
        // G = [[1, 0, 0], [½, ½, ½], [½, -½, ½], [0, 0, 1]] applied to columns, then rows.
        let mut t = [[0.0f32; 3]; 4];
        for j in 0..3 {
            let (a, b, cc) = (g[j], g[3 + j], g[6 + j]);
            t[0][j] = a;
            t[1][j] = 0.5 * (a + b + cc);
            t[2][j] = 0.5 * (a - b + cc);
            t[3][j] = cc;
        }
        for (i, row) in t.iter().enumerate() {
            let [a, b, cc] = *row;
            let v = [a, 0.5 * (a + b + cc), 0.5 * (a - b + cc), cc];
            for (j, &vj) in v.iter().enumerate() {
                let xi = if flipped {
                    SWAP_0_3[i] * 4 + SWAP_0_3[j]
                } else {
                    i * 4 + j
                };
                u[xi * o * c + dst] = vj;
            }
        }
    }
    u
}

/// Work space of one task: a zero-padded input row and the 4×4 row-pass results.
struct Scratch {
    padded: Vec<f32>,
    rows: Vec<f32>,
}

impl Scratch {
    fn new(tiles_w: usize) -> Self {
        Scratch {
            padded: vec![0.0; 2 * tiles_w + 2],
            rows: vec![0.0; 16 * tiles_w],
        }
    }
}

/// `V[ξ][k0 + tx] = (Bᵀ d B)[ξ]` for every tile `tx` of tile row `ty` of one channel `plane`;
/// the 16 rows of `v` are `t` apart.
///
/// Bᵀ = [[1,0,-1,0], [0,1,1,0], [0,-1,1,0], [0,1,0,-1]]. The transform is separable: first
/// `d B` along each of the 4 input rows (all tiles of the row at once), then `Bᵀ (·)` down
/// the columns — loops over contiguous arrays, which the compiler vectorises.
fn input_transform_row(
    plane: &[f32],
    g: &Conv2dGeometry,
    ty: usize,
    v: &mut [f32],
    t: usize,
    k0: usize,
    s: &mut Scratch,
) {
    let tiles_w = s.rows.len() / 16;
    let pw = g.params.padding.1;
    for (r, hr) in s.rows.chunks_exact_mut(4 * tiles_w).enumerate() {
        // The input row under tile row `r`, zero-padded on both sides.
        let ih = (2 * ty + r) as isize - g.params.padding.0 as isize;
        s.padded.fill(0.0);
        if ih >= 0 && ih < g.in_h as isize {
            let src = &plane[ih as usize * g.in_w..(ih as usize + 1) * g.in_w];
            let n = g.in_w.min(s.padded.len() - pw);
            s.padded[pw..pw + n].copy_from_slice(&src[..n]);
        }
        let (h0, rest) = hr.split_at_mut(tiles_w);
        let (h1, rest) = rest.split_at_mut(tiles_w);
        let (h2, h3) = rest.split_at_mut(tiles_w);
        for (tx, d) in s.padded.windows(4).step_by(2).take(tiles_w).enumerate() {
            h0[tx] = d[0] - d[2];
            h1[tx] = d[1] + d[2];
            h2[tx] = d[2] - d[1];
            h3[tx] = d[1] - d[3];
        }
    }
    let hr = |r: usize, j: usize| &s.rows[(r * 4 + j) * tiles_w..(r * 4 + j + 1) * tiles_w];
    for j in 0..4 {
        let (d0, d1, d2, d3) = (hr(0, j), hr(1, j), hr(2, j), hr(3, j));
        let row = |i: usize| (i * 4 + j) * t + k0..(i * 4 + j) * t + k0 + tiles_w;
        for (o, (a, b)) in v[row(0)].iter_mut().zip(d0.iter().zip(d2)) {
            *o = a - b;
        }
        for (o, (a, b)) in v[row(1)].iter_mut().zip(d1.iter().zip(d2)) {
            *o = a + b;
        }
        for (o, (a, b)) in v[row(2)].iter_mut().zip(d2.iter().zip(d1)) {
            *o = a - b;
        }
        for (o, (a, b)) in v[row(3)].iter_mut().zip(d1.iter().zip(d3)) {
            *o = a - b;
        }
    }
}

/// `Y = Aᵀ m A` (+ bias) for tile row `ty` of one output channel, with
/// Aᵀ = [[1,1,1,0], [0,1,-1,-1]]: reads the 16 rows of `m` (`t` apart) at columns
/// `k0..k0 + tiles_w`, writes up to two rows of `plane`.
#[allow(clippy::too_many_arguments)]
fn output_transform_row(
    m: &[f32],
    t: usize,
    k0: usize,
    g: &Conv2dGeometry,
    ty: usize,
    bias: f32,
    plane: &mut [f32],
    s: &mut Scratch,
) {
    let tiles_w = s.rows.len() / 16;
    let row = |xi: usize| &m[xi * t + k0..xi * t + k0 + tiles_w];
    for i in 0..2 {
        let oh = 2 * ty + i;
        if oh >= g.out_h {
            break;
        }
        // Column pass first (Aᵀ m): a_j = m0j + m1j + m2j for output row 0, m1j − m2j − m3j
        // for output row 1; four contiguous arrays over the tiles.
        for (j, a) in s.rows.chunks_exact_mut(tiles_w).take(4).enumerate() {
            let (m0, m1, m2, m3) = (row(j), row(4 + j), row(8 + j), row(12 + j));
            for tx in 0..tiles_w {
                a[tx] = if i == 0 {
                    m0[tx] + m1[tx] + m2[tx]
                } else {
                    m1[tx] - m2[tx] - m3[tx]
                };
            }
        }
        // Row pass (· A): two outputs per tile, interleaved along the output row.
        let (a, _) = s.rows.split_at(4 * tiles_w);
        let (a0, a1, a2, a3) = (
            &a[..tiles_w],
            &a[tiles_w..2 * tiles_w],
            &a[2 * tiles_w..3 * tiles_w],
            &a[3 * tiles_w..],
        );
        for (tx, pair) in s.padded.chunks_exact_mut(2).take(tiles_w).enumerate() {
            pair[0] = a0[tx] + a1[tx] + a2[tx] + bias;
            pair[1] = a1[tx] - a2[tx] - a3[tx] + bias;
        }
        plane[oh * g.out_w..(oh + 1) * g.out_w].copy_from_slice(&s.padded[..g.out_w]);
    }
}

/// Forward convolution by F(2×2, 3×3). Requires [`supports`]; any zero padding.
pub fn conv2d(x: &[f32], w: &[f32], bias: Option<&[f32]>, g: &Conv2dGeometry) -> Vec<f32> {
    let u = transform_weights(w, g.out_channels, g.in_channels, false);
    conv2d_transformed(x, &u, bias, g)
}

/// Input gradient of the stride-1 3×3 convolution `g` (weight `w`), given `dy`.
///
/// The gradient of a convolution is a convolution: `dx` is `dy` correlated with the weight
/// whose in/out channel axes are swapped and whose kernels are rotated by 180°, with padding
/// `2 − p`. `gt` is the geometry of that convolution (input `dy`, output shaped like `x`).
pub fn conv2d_input_grad(
    dy: &[f32],
    w: &[f32],
    g: &Conv2dGeometry,
    gt: &Conv2dGeometry,
) -> Vec<f32> {
    let u = transform_weights(w, g.out_channels, g.in_channels, true);
    conv2d_transformed(dy, &u, None, gt)
}

/// The convolution with weights already transformed into `u` (`U[ξ][o][c]`).
fn conv2d_transformed(x: &[f32], u: &[f32], bias: Option<&[f32]>, g: &Conv2dGeometry) -> Vec<f32> {
    let (c, o) = (g.in_channels, g.out_channels);
    let (tiles_h, tiles_w) = (g.out_h.div_ceil(2), g.out_w.div_ceil(2));
    let band_rows = (BAND_FLOATS / (16 * (c + o) * tiles_w)).clamp(1, tiles_h);
    let (image, pixels) = (g.in_h * g.in_w, g.out_h * g.out_w);
    let mut out = vec![0.0f32; g.batch * o * pixels];
    let mut v = vec![0.0f32; 16 * c * band_rows * tiles_w];
    let mut m = vec![0.0f32; 16 * o * band_rows * tiles_w];
    for (xn, yn) in x
        .chunks_exact(c * image)
        .zip(out.chunks_exact_mut(o * pixels))
    {
        for band in (0..tiles_h).step_by(band_rows) {
            let rows = band..(band + band_rows).min(tiles_h);
            let t = rows.len() * tiles_w;
            // 1. V[c][ξ][tile] = Bᵀ d B, one channel per task.
            v[..16 * c * t]
                .par_chunks_mut(16 * t)
                .zip(xn.par_chunks_exact(image))
                .for_each_init(
                    || Scratch::new(tiles_w),
                    |s, (vc, plane)| {
                        for ty in rows.clone() {
                            input_transform_row(plane, g, ty, vc, t, (ty - band) * tiles_w, s);
                        }
                    },
                );
            // 2. Sixteen GEMMs: M[o][ξ][tile] = U[ξ] · V[ξ].
            for xi in 0..16 {
                let a = Mat::rows(&u[xi * o * c..(xi + 1) * o * c], c);
                let b = Mat::rows(&v[xi * t..16 * c * t], 16 * t);
                gemm([o, c, t], a, b, 0.0, &mut m[xi * t..16 * o * t], 16 * t);
            }
            // 3. Y = Aᵀ M A (+ bias), one output channel per task.
            yn.par_chunks_mut(pixels)
                .zip(m[..16 * o * t].par_chunks(16 * t))
                .enumerate()
                .for_each_init(
                    || Scratch::new(tiles_w),
                    |s, (oc, (plane, mo))| {
                        let b0 = bias.map_or(0.0, |b| b[oc]);
                        for ty in rows.clone() {
                            output_transform_row(mo, t, (ty - band) * tiles_w, g, ty, b0, plane, s);
                        }
                    },
                );
        }
    }
    out
}
