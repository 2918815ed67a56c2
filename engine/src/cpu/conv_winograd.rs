//! Winograd F(4×4, 3×3): the 3×3 stride-1 convolutions of VGG with 4× fewer multiplies.
//!
//! Direct convolution spends 9 multiplies per output pixel, input channel and output channel.
//! Winograd's minimal filtering algorithm (Lavin & Gray, 2015) computes a 4×4 block of outputs
//! from a 6×6 input tile with 36 multiplies instead of 144:
//!
//! ```text
//! Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//! ```
//!
//! where `g` is the 3×3 kernel, `d` the 6×6 input tile, ⊙ elementwise. `U = G g Gᵀ` depends
//! only on the weights, so it is computed once and cached (see [`super::winograd_cache`]);
//! `V = Bᵀ d B` only on the input. The ⊙ summed over input channels is, for each of the 36 tile
//! positions ξ, a matrix product `M[ξ] (o × tiles) = U[ξ] (o × c) · V[ξ] (c × tiles)`: 36 GEMMs
//! replace one GEMM of 16× the depth, and the transforms are additions and small multiples.
//!
//! Both GEMM operands are written directly in the panel layout of [`super::packed_gemm`], so
//! nothing is copied between the transforms and the multiply. The transforms work on whole
//! rows of tiles at a time, over contiguous arrays the compiler vectorises.
//!
//! F(4×4) rounds a little more than F(2×2) (its matrices hold ¼, ⅙, 1/24 and multiples up to
//! 8), but on VGG's activations it stays within 1e-5 of direct convolution relative to each
//! layer's largest value — the PyTorch reference tests check this.

use super::conv_geometry::Conv2dGeometry;
use super::packed_gemm::{gemm_panels, Kernel, MR, NR};
use rayon::prelude::*;

/// Output tile side (m) and input tile side (m + r − 1).
const M: usize = 4;
const ALPHA: usize = 6;
/// Tile positions ξ: one GEMM each.
const XI: usize = ALPHA * ALPHA;
/// Floats allowed for the transformed input and GEMM output of one band of tile rows (16 MB).
const BAND_FLOATS: usize = 1 << 22;

/// Whether F(4×4, 3×3) computes this convolution: a 3×3 kernel, stride 1, no dilation.
pub fn supports(g: &Conv2dGeometry) -> bool {
    g.kernel_h == 3 && g.kernel_w == 3 && g.params.stride == (1, 1) && g.params.dilation == (1, 1)
}

/// Whether it is also faster than im2col here (measured on VGG layers, see benches/RESULTS.md):
/// with few channels the GEMMs are too thin to pay for the transforms (conv1_1 has 3 input
/// channels).
pub fn pays_off(g: &Conv2dGeometry) -> bool {
    g.in_channels >= 16 && g.out_channels >= 16 && g.out_h * g.out_w >= 8 * 8
}

/// The weights of one convolution, transformed and laid out as GEMM panels:
/// `[ξ][o / MR][c][MR]`, output channels padded with zeros to a multiple of `MR`.
pub struct WinogradWeights {
    out_channels: usize,
    in_channels: usize,
    padded_out: usize,
    panels: Vec<f32>,
}

impl WinogradWeights {
    /// Transform an `[o, c, 3, 3]` weight. With `flipped`, transform instead the weight of the
    /// input-gradient convolution: channel axes swapped and every kernel rotated by 180°
    /// (see [`conv2d_input_grad`]).
    pub fn new(w: &[f32], o: usize, c: usize, flipped: bool) -> Self {
        let (out_channels, in_channels) = if flipped { (c, o) } else { (o, c) };
        let padded_out = out_channels.next_multiple_of(MR);
        let mut panels = vec![0.0f32; XI * padded_out * in_channels];
        let xi_stride = padded_out * in_channels;
        for oo in 0..out_channels {
            for cc in 0..in_channels {
                let kernel = |i: usize, j: usize| {
                    if flipped {
                        w[(cc * c + oo) * 9 + (2 - i) * 3 + (2 - j)]
                    } else {
                        w[(oo * c + cc) * 9 + i * 3 + j]
                    }
                };
                let u = transform_kernel(kernel);
                let at = (oo / MR) * in_channels * MR + cc * MR + oo % MR;
                for (xi, &value) in u.iter().enumerate() {
                    panels[xi * xi_stride + at] = value;
                }
            }
        }
        WinogradWeights {
            out_channels,
            in_channels,
            padded_out,
            panels,
        }
    }

    /// Bytes held, for the cache's budget.
    pub fn bytes(&self) -> usize {
        self.panels.len() * std::mem::size_of::<f32>()
    }
}

/// `U = G g Gᵀ` (6×6, row-major) for one 3×3 kernel `g(i, j)`, with
/// G = [[¼, 0, 0], [−⅙, −⅙, −⅙], [−⅙, ⅙, −⅙], [1/24, 1/12, ⅙], [1/24, −1/12, ⅙], [0, 0, 1]].
fn transform_kernel(g: impl Fn(usize, usize) -> f32) -> [f32; XI] {
    let apply_g = |a: f32, b: f32, c: f32| {
        [
            a / 4.0,
            -(a + b + c) / 6.0,
            -(a - b + c) / 6.0,
            a / 24.0 + b / 12.0 + c / 6.0,
            a / 24.0 - b / 12.0 + c / 6.0,
            c,
        ]
    };
    // Columns first (G g), then rows ((G g) Gᵀ).
    let columns: [[f32; ALPHA]; 3] = std::array::from_fn(|j| apply_g(g(0, j), g(1, j), g(2, j)));
    let mut u = [0.0f32; XI];
    for i in 0..ALPHA {
        let row = apply_g(columns[0][i], columns[1][i], columns[2][i]);
        u[i * ALPHA..(i + 1) * ALPHA].copy_from_slice(&row);
    }
    u
}

/// `Bᵀ d` for one column of six values, with
/// Bᵀ = [[4,0,−5,0,1,0], [0,−4,−4,1,1,0], [0,4,−4,−1,1,0], [0,−2,−1,2,1,0], [0,2,−1,−2,1,0],
/// [0,4,0,−5,0,1]].
#[inline(always)]
fn bt(d: [f32; ALPHA]) -> [f32; ALPHA] {
    [
        4.0 * d[0] - 5.0 * d[2] + d[4],
        -4.0 * (d[1] + d[2]) + d[3] + d[4],
        4.0 * (d[1] - d[2]) - d[3] + d[4],
        2.0 * (d[3] - d[1]) - d[2] + d[4],
        2.0 * (d[1] - d[3]) - d[2] + d[4],
        4.0 * d[1] - 5.0 * d[3] + d[5],
    ]
}

/// `Aᵀ m` for one column of six values, with
/// Aᵀ = [[1,1,1,1,1,0], [0,1,−1,2,−2,0], [0,1,1,4,4,0], [0,1,−1,8,−8,1]].
#[inline(always)]
fn at(m: [f32; ALPHA]) -> [f32; M] {
    let (sum, diff) = (m[1] + m[2], m[1] - m[2]);
    let (sum2, diff2) = (m[3] + m[4], m[3] - m[4]);
    [
        m[0] + sum + sum2,
        diff + 2.0 * diff2,
        sum + 4.0 * sum2,
        diff + 8.0 * diff2 + m[5],
    ]
}

/// Work space of one task.
struct Scratch {
    /// Six zero-padded input rows, or the output-row staging area.
    rows: Vec<f32>,
    /// Six column-transformed rows.
    columns: Vec<f32>,
    /// 36 arrays of one value per tile of the tile row.
    per_tile: Vec<f32>,
}

impl Scratch {
    fn new(tiles_w: usize) -> Self {
        let width = M * tiles_w + M;
        Scratch {
            rows: vec![0.0; ALPHA * width],
            columns: vec![0.0; ALPHA * width],
            per_tile: vec![0.0; XI * tiles_w],
        }
    }
}

/// Where one band's transformed input lives: `[ξ][tile / NR][c][NR]`.
struct PanelLayout {
    channels: usize,
    padded_tiles: usize,
}

impl PanelLayout {
    fn index(&self, xi: usize, channel: usize, tile: usize) -> usize {
        xi * self.channels * self.padded_tiles
            + (tile / NR) * self.channels * NR
            + channel * NR
            + tile % NR
    }
}

/// A pointer the input-transform tasks share: each writes only its own channel's entries.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
// SAFETY: used only to write disjoint elements from different tasks (one channel each).
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

/// `V = Bᵀ d B` for every tile of tile row `ty` of one channel `plane`, written into the
/// band's panels at tiles `first_tile..first_tile + tiles_w`.
#[allow(clippy::too_many_arguments)]
fn input_transform_row(
    plane: &[f32],
    g: &Conv2dGeometry,
    ty: usize,
    channel: usize,
    first_tile: usize,
    layout: &PanelLayout,
    out: SharedOut,
    s: &mut Scratch,
) {
    let tiles_w = s.per_tile.len() / XI;
    let width = M * tiles_w + M;
    let (ph, pw) = g.params.padding;
    // 1. The six input rows under this tile row, zero-padded.
    for (r, row) in s.rows.chunks_exact_mut(width).enumerate() {
        row.fill(0.0);
        let ih = (M * ty + r) as isize - ph as isize;
        if ih >= 0 && (ih as usize) < g.in_h {
            let src = &plane[ih as usize * g.in_w..(ih as usize + 1) * g.in_w];
            let n = g.in_w.min(width.saturating_sub(pw));
            row[pw..pw + n].copy_from_slice(&src[..n]);
        }
    }
    // 2. Bᵀ down the columns: six rows in, six rows out, every x at once.
    {
        let d: [&[f32]; ALPHA] = std::array::from_fn(|r| &s.rows[r * width..(r + 1) * width]);
        let (c0, rest) = s.columns.split_at_mut(width);
        let (c1, rest) = rest.split_at_mut(width);
        let (c2, rest) = rest.split_at_mut(width);
        let (c3, rest) = rest.split_at_mut(width);
        let (c4, c5) = rest.split_at_mut(width);
        for x in 0..width {
            let v = bt([d[0][x], d[1][x], d[2][x], d[3][x], d[4][x], d[5][x]]);
            (c0[x], c1[x], c2[x], c3[x], c4[x], c5[x]) = (v[0], v[1], v[2], v[3], v[4], v[5]);
        }
    }
    // 3. · B along each row: tile tx reads x = 4·tx .. 4·tx + 5.
    for i in 0..ALPHA {
        let row = &s.columns[i * width..(i + 1) * width];
        let dst = &mut s.per_tile[i * ALPHA * tiles_w..(i + 1) * ALPHA * tiles_w];
        let (d0, rest) = dst.split_at_mut(tiles_w);
        let (d1, rest) = rest.split_at_mut(tiles_w);
        let (d2, rest) = rest.split_at_mut(tiles_w);
        let (d3, rest) = rest.split_at_mut(tiles_w);
        let (d4, d5) = rest.split_at_mut(tiles_w);
        for tx in 0..tiles_w {
            let x = M * tx;
            let v = bt([
                row[x],
                row[x + 1],
                row[x + 2],
                row[x + 3],
                row[x + 4],
                row[x + 5],
            ]);
            (d0[tx], d1[tx], d2[tx], d3[tx], d4[tx], d5[tx]) = (v[0], v[1], v[2], v[3], v[4], v[5]);
        }
    }
    // 4. Into the panels, NR tiles per contiguous run.
    for xi in 0..XI {
        let values = &s.per_tile[xi * tiles_w..(xi + 1) * tiles_w];
        let mut tx = 0;
        while tx < tiles_w {
            let tile = first_tile + tx;
            let run = (NR - tile % NR).min(tiles_w - tx);
            let at = layout.index(xi, channel, tile);
            // SAFETY: `at..at + run` lies inside the band's buffer (the layout covers every
            // tile of the band) and belongs to this channel alone.
            unsafe {
                std::ptr::copy_nonoverlapping(values[tx..].as_ptr(), out.0.add(at), run);
            }
            tx += run;
        }
    }
}

/// `Y = Aᵀ M A` (+ bias) for tile row `ty` of one output channel: reads the 36 arrays
/// `m(ξ)` (one value per tile of the row) and writes up to four rows of `plane`.
#[allow(clippy::needless_range_loop)] // `tx` indexes six arrays at once
fn output_transform_row<'m>(
    m: impl Fn(usize) -> &'m [f32],
    g: &Conv2dGeometry,
    ty: usize,
    bias: f32,
    plane: &mut [f32],
    s: &mut Scratch,
) {
    let tiles_w = s.per_tile.len() / XI;
    let width = M * tiles_w + M;
    // Aᵀ down the columns: for each of the six columns j, four rows i.
    for j in 0..ALPHA {
        let rows: [&[f32]; ALPHA] = std::array::from_fn(|r| m(r * ALPHA + j));
        for tx in 0..tiles_w {
            let v = at(std::array::from_fn(|r| rows[r][tx]));
            for (i, &value) in v.iter().enumerate() {
                s.per_tile[(i * ALPHA + j) * tiles_w + tx] = value;
            }
        }
    }
    // · A along each row: four outputs per tile, side by side.
    for i in 0..M {
        let oh = M * ty + i;
        if oh >= g.out_h {
            break;
        }
        let cols: [&[f32]; ALPHA] =
            std::array::from_fn(|j| &s.per_tile[(i * ALPHA + j) * tiles_w..][..tiles_w]);
        let out_row = &mut s.rows[..width];
        for tx in 0..tiles_w {
            let v = at(std::array::from_fn(|j| cols[j][tx]));
            for (k, &value) in v.iter().enumerate() {
                out_row[M * tx + k] = value + bias;
            }
        }
        plane[oh * g.out_w..(oh + 1) * g.out_w].copy_from_slice(&out_row[..g.out_w]);
    }
}

/// Forward convolution by F(4×4, 3×3) with weights already transformed. Requires
/// [`supports`]; any zero padding.
pub fn conv2d(
    x: &[f32],
    u: &WinogradWeights,
    bias: Option<&[f32]>,
    g: &Conv2dGeometry,
) -> Vec<f32> {
    assert_eq!(
        (u.out_channels, u.in_channels),
        (g.out_channels, g.in_channels)
    );
    let (c, o, o_pad) = (g.in_channels, g.out_channels, u.padded_out);
    let (tiles_h, tiles_w) = (g.out_h.div_ceil(M), g.out_w.div_ceil(M));
    let band_rows = (BAND_FLOATS / (XI * (c + o_pad) * tiles_w)).clamp(1, tiles_h);
    let most_tiles = (band_rows * tiles_w).next_multiple_of(NR);
    let (image, pixels) = (g.in_h * g.in_w, g.out_h * g.out_w);
    let kernel = Kernel::best();
    let mut out = vec![0.0f32; g.batch * o * pixels];
    let mut v = vec![0.0f32; XI * c * most_tiles];
    let mut m = vec![0.0f32; XI * o_pad * most_tiles];
    for (xn, yn) in x
        .chunks_exact(c * image)
        .zip(out.chunks_exact_mut(o * pixels))
    {
        for band in (0..tiles_h).step_by(band_rows) {
            let rows = band..(band + band_rows).min(tiles_h);
            let tiles = rows.len() * tiles_w;
            let padded_tiles = tiles.next_multiple_of(NR);
            let layout = PanelLayout {
                channels: c,
                padded_tiles,
            };
            // 1. V = Bᵀ d B into panels, one input channel per task. Padding tiles beyond
            //    `tiles` keep stale values: their GEMM columns are never read.
            let v_out = SharedOut(v.as_mut_ptr());
            xn.par_chunks_exact(image).enumerate().for_each_init(
                || Scratch::new(tiles_w),
                |s, (channel, plane)| {
                    for ty in rows.clone() {
                        let first = (ty - band) * tiles_w;
                        input_transform_row(plane, g, ty, channel, first, &layout, v_out, s);
                    }
                },
            );
            // 2. 36 GEMMs M[ξ] = U[ξ] · V[ξ], one per task.
            let v = &v[..XI * c * padded_tiles];
            m[..XI * o_pad * padded_tiles]
                .par_chunks_mut(o_pad * padded_tiles)
                .enumerate()
                .for_each(|(xi, m_xi)| {
                    let u_xi = &u.panels[xi * o_pad * c..(xi + 1) * o_pad * c];
                    let v_xi = &v[xi * c * padded_tiles..(xi + 1) * c * padded_tiles];
                    gemm_panels(
                        kernel,
                        [o_pad, c, padded_tiles],
                        u_xi,
                        v_xi,
                        m_xi,
                        padded_tiles,
                    );
                });
            // 3. Y = Aᵀ M A (+ bias), one output channel per task.
            let m = &m[..XI * o_pad * padded_tiles];
            yn.par_chunks_mut(pixels).enumerate().for_each_init(
                || Scratch::new(tiles_w),
                |s, (oc, plane)| {
                    let b0 = bias.map_or(0.0, |b| b[oc]);
                    for ty in rows.clone() {
                        let first = (ty - band) * tiles_w;
                        let row = |xi: usize| {
                            let at = xi * o_pad * padded_tiles + oc * padded_tiles + first;
                            &m[at..at + tiles_w]
                        };
                        output_transform_row(row, g, ty, b0, plane, s);
                    }
                },
            );
        }
    }
    out
}

/// Input gradient of the stride-1 3×3 convolution whose weight was transformed with
/// `flipped`, given `dy`.
///
/// The gradient of a convolution is a convolution: `dx` is `dy` correlated with the weight
/// whose in/out channel axes are swapped and whose kernels are rotated by 180°, with padding
/// `2 − p`. `gt` is the geometry of that convolution (input `dy`, output shaped like `x`).
pub fn conv2d_input_grad(dy: &[f32], flipped: &WinogradWeights, gt: &Conv2dGeometry) -> Vec<f32> {
    conv2d(dy, flipped, None, gt)
}
