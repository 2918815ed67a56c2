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

use super::packed_gemm::{gemm_panels, Kernel, MR, NR};
use super::packed_gemm_bf16::{gemm_panels_bf16, in_bf16, pair_panels};
use super::scratch;
use super::simd::with_wide_vectors;
use crate::geometry::Conv2dGeometry;
use rayon::prelude::*;
use std::mem::MaybeUninit;
use std::ops::Range;

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
    /// f32 panels (empty when `paired` is there).
    panels: Vec<f32>,
    /// The same weights as bf16 pairs `[ξ][o / MR][⌈c/2⌉][MR][2]`, when this convolution's
    /// GEMMs run in bf16 (see `packed_gemm_bf16`).
    paired: Option<Vec<u16>>,
}

impl WinogradWeights {
    /// Transform an `[o, c, 3, 3]` weight. With `flipped`, transform instead the weight of the
    /// input-gradient convolution: channel axes swapped and every kernel rotated by 180°
    /// (see [`conv2d_input_grad`]).
    pub fn new(w: &[f32], o: usize, c: usize, flipped: bool) -> Self {
        let (out_channels, in_channels) = if flipped { (c, o) } else { (o, c) };
        let padded_out = out_channels.next_multiple_of(MR);
        // One task per panel of MR output channels: it writes that panel's region of each
        // of the 36 planes, which no other task touches.
        let mut panels = vec![0.0f32; XI * padded_out * in_channels];
        let plane_len = padded_out * in_channels;
        let shared = SharedOut(panels.as_mut_ptr());
        (0..padded_out / MR).into_par_iter().for_each(|panel| {
            let _ = &shared;
            for oo in panel * MR..((panel + 1) * MR).min(out_channels) {
                for cc in 0..in_channels {
                    let u = transform_kernel(|i, j| {
                        if flipped {
                            w[(cc * c + oo) * 9 + (2 - i) * 3 + (2 - j)]
                        } else {
                            w[(oo * c + cc) * 9 + i * 3 + j]
                        }
                    });
                    let at = panel * in_channels * MR + cc * MR + oo % MR;
                    for (xi, value) in u.into_iter().enumerate() {
                        // SAFETY: `at` lies in this task's panel region of plane ξ, inside
                        // `panels` (at < plane_len), and no other task writes there.
                        unsafe { *shared.0.add(xi * plane_len + at) = value };
                    }
                }
            }
        });
        let paired = in_bf16(flipped).then(|| {
            let mut paired = vec![0u16; XI * padded_out * in_channels.div_ceil(2) * 2];
            pair_panels(&panels, in_channels, MR, &mut paired);
            std::mem::take(&mut panels);
            paired
        });
        WinogradWeights {
            out_channels,
            in_channels,
            padded_out,
            panels,
            paired,
        }
    }

    /// Bytes held, for the cache's budget.
    pub fn bytes(&self) -> usize {
        self.panels.len() * std::mem::size_of::<f32>()
            + self
                .paired
                .as_ref()
                .map_or(0, |p| p.len() * std::mem::size_of::<u16>())
    }
}

// ANCHOR: kernel_transform
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
// ANCHOR_END: kernel_transform

// ANCHOR: tile_transforms
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
// ANCHOR_END: tile_transforms

/// Work space of one task.
struct Scratch {
    tiles_w: usize,
    /// Zero-padded input rows back to back, each `4·(tiles_w + 1)` long; or the output-row
    /// staging area.
    rows: Vec<f32>,
    /// The four phases of those rows: `phases[k][g] = rows[4·g + k]`.
    phases: Vec<f32>,
    /// After the first pass: 6 arrays (one per column j) of `tiles_w + 1` values per row.
    first: Vec<f32>,
    /// After both passes: 36 arrays of one value per tile of a tile row.
    second: Vec<f32>,
}

impl Scratch {
    /// Room for `input_rows` rows (at least the six of one tile row); enough too for the
    /// output transform of `(input_rows − 2) / 4` tile rows.
    fn new(tiles_w: usize, input_rows: usize) -> Self {
        let groups = input_rows.max(ALPHA) * (tiles_w + 1);
        Scratch {
            tiles_w,
            rows: vec![0.0; M * groups],
            phases: vec![0.0; M * groups],
            first: vec![0.0; ALPHA * groups],
            second: vec![0.0; XI * tiles_w],
        }
    }
}

/// `out[k][t] = f(inputs[0][t], …, inputs[5][t])[k]` for every `t`: one of the transforms'
/// 1-D passes over a whole row (or band) of tiles.
///
/// It works in blocks of 16: load each input's block into a local array, compute, store each
/// output's block. The compiler cannot prove that twelve slices never overlap, so a plain loop
/// over them stays scalar; local arrays cannot overlap, so the blocks become vector code.
#[inline(always)]
fn pass<const K: usize>(
    inputs: [&[f32]; ALPHA],
    mut outputs: [&mut [f32]; K],
    f: impl Fn([f32; ALPHA]) -> [f32; K],
) {
    const LANES: usize = 16;
    let n = outputs[0].len();
    let inputs = inputs.map(|x| &x[..n]);
    let whole = n / LANES * LANES;
    for t in (0..whole).step_by(LANES) {
        let x: [[f32; LANES]; ALPHA] = std::array::from_fn(|r| {
            let mut block = [0.0; LANES];
            block.copy_from_slice(&inputs[r][t..t + LANES]);
            block
        });
        let mut y = [[0.0f32; LANES]; K];
        for lane in 0..LANES {
            let v = f(std::array::from_fn(|r| x[r][lane]));
            for (yk, value) in y.iter_mut().zip(v) {
                yk[lane] = value;
            }
        }
        for (out, block) in outputs.iter_mut().zip(&y) {
            out[t..t + LANES].copy_from_slice(block);
        }
    }
    for t in whole..n {
        let v = f(std::array::from_fn(|r| inputs[r][t]));
        for (out, value) in outputs.iter_mut().zip(v) {
            out[t] = value;
        }
    }
}

/// `dst.copy_from_slice(src)` for runs of at most `NR` floats, as inline vector moves: a call
/// to `memcpy` for each of these thousands of short runs costs more than the copy.
#[inline(always)]
fn copy_short(src: &[f32], dst: &mut [f32]) {
    let mut src_chunks = src.chunks_exact(8);
    let mut dst_chunks = dst.chunks_exact_mut(8);
    for (d, s) in (&mut dst_chunks).zip(&mut src_chunks) {
        let block: &[f32; 8] = s.try_into().unwrap_or(&[0.0; 8]);
        d.copy_from_slice(block);
    }
    for (d, &s) in dst_chunks
        .into_remainder()
        .iter_mut()
        .zip(src_chunks.remainder())
    {
        *d = s;
    }
}

/// `K` consecutive `len`-element slices of `data`, from slice `first` on.
fn slices_mut<const K: usize>(data: &mut [f32], first: usize, len: usize) -> [&mut [f32]; K] {
    let mut rest = &mut data[first * len..(first + K) * len];
    std::array::from_fn(|_| {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(len);
        rest = tail;
        head
    })
}

/// Where one band's transformed input lives: `[ξ][tile / NR][c][NR]`.
struct PanelLayout {
    /// The band's first tile row.
    first_row: usize,
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

/// One channel of a convolution's input: its values, counted only where `mask` is positive
/// when there is one (the input gradient of a convolution followed by a ReLU).
#[derive(Clone, Copy)]
struct Input<'a> {
    plane: &'a [f32],
    mask: Option<&'a [f32]>,
}

/// `V = Bᵀ d B` for every tile of the band's tile rows `tile_rows` of one channel `input`,
/// written into the band's panels.
fn input_transform_band(
    input: Input,
    g: &Conv2dGeometry,
    tile_rows: Range<usize>,
    channel: usize,
    layout: &PanelLayout,
    out: SharedOut,
    s: &mut Scratch,
) {
    with_wide_vectors!(input_transform_band_body(
        input, g, tile_rows, channel, layout, out, s
    ))
}

#[inline(always)]
fn input_transform_band_body(
    input: Input,
    g: &Conv2dGeometry,
    tile_rows: Range<usize>,
    channel: usize,
    layout: &PanelLayout,
    out: SharedOut,
    s: &mut Scratch,
) {
    let tiles_w = s.tiles_w;
    let (ph, pw) = g.params.padding;
    let stride = tiles_w + 1;
    let width = M * stride;
    // Tile row ty reads input rows 4·ty … 4·ty + 5: neighbours share two rows, so every input
    // row of the band is transformed along its length once, before any column is.
    let input_rows = M * tile_rows.len() + 2;
    // 1. The band's input rows, zero-padded, back to back.
    for (r, row) in s.rows.chunks_exact_mut(width).take(input_rows).enumerate() {
        let ih = (M * tile_rows.start + r) as isize - ph as isize;
        if ih < 0 || ih as usize >= g.in_h {
            row.fill(0.0);
            continue;
        }
        let (start, n) = (ih as usize * g.in_w, g.in_w.min(width.saturating_sub(pw)));
        let src = &input.plane[start..start + n];
        row[..pw].fill(0.0);
        match input.mask {
            None => row[pw..pw + n].copy_from_slice(src),
            Some(mask) => {
                let mask = &mask[start..start + n];
                for ((r, &v), &m) in row[pw..pw + n].iter_mut().zip(src).zip(mask) {
                    *r = if m > 0.0 { v } else { 0.0 };
                }
            }
        }
        row[pw + n..].fill(0.0);
    }
    // 2. Along all rows at once: tile t of row r reads x = 4t … 4t + 5. Split the rows into
    //    their four phases (groups of four floats, group r·(tiles_w + 1) + t) so that each of
    //    the six inputs is a contiguous array: x = 4t + 4 and 4t + 5 are phases 0 and 1 of the
    //    next group. The last group of each row computes a value nobody reads.
    let groups = input_rows * stride;
    {
        let [p0, p1, p2, p3] = slices_mut::<M>(&mut s.phases, 0, groups);
        for (g, x) in s.rows[..M * groups].chunks_exact(M).enumerate() {
            (p0[g], p1[g], p2[g], p3[g]) = (x[0], x[1], x[2], x[3]);
        }
    }
    let n = groups - 1;
    let p = |k: usize, shift: usize| &s.phases[k * groups + shift..][..n];
    let inputs = [p(0, 0), p(1, 0), p(2, 0), p(3, 0), p(0, 1), p(1, 1)];
    let outputs = slices_mut::<ALPHA>(&mut s.first, 0, groups).map(|a| &mut a[..n]);
    pass(inputs, outputs, bt);
    for ty in tile_rows.clone() {
        let top = M * (ty - tile_rows.start);
        // 3. Down the columns: Bᵀ over the six rows' results, for each column j. `second`
        //    holds the results column by column: array 6j + i is position ξ = 6i + j.
        for j in 0..ALPHA {
            let inputs =
                std::array::from_fn(|r| &s.first[j * groups + (top + r) * stride..][..tiles_w]);
            pass(inputs, slices_mut(&mut s.second, j * ALPHA, tiles_w), bt);
        }
        // 4. Into the panels, NR tiles per contiguous run.
        let first_tile = (ty - layout.first_row) * tiles_w;
        for xi in 0..XI {
            let (i, j) = (xi / ALPHA, xi % ALPHA);
            let values = &s.second[(j * ALPHA + i) * tiles_w..][..tiles_w];
            let mut tx = 0;
            while tx < tiles_w {
                let tile = first_tile + tx;
                let run = (NR - tile % NR).min(tiles_w - tx);
                let at = layout.index(xi, channel, tile);
                // SAFETY: `at..at + run` lies inside the band's buffer (the layout covers
                // every tile of the band), belongs to this channel alone, and nothing reads it
                // meanwhile.
                let dst = unsafe { std::slice::from_raw_parts_mut(out.0.add(at), run) };
                copy_short(&values[tx..tx + run], dst);
                tx += run;
            }
        }
    }
}

/// `Y = Aᵀ M A` (+ bias) for the band's tile rows `tile_rows` of one output channel: reads
/// the 36 arrays `m(ξ)` (one value per tile of the band, row after row) and writes the band's
/// output rows of `plane`.
fn output_transform_band<'m>(
    m: impl Fn(usize) -> &'m [f32],
    g: &Conv2dGeometry,
    tile_rows: Range<usize>,
    bias: f32,
    plane: &mut [MaybeUninit<f32>],
    s: &mut Scratch,
) {
    with_wide_vectors!(output_transform_band_body(m, g, tile_rows, bias, plane, s))
}

#[inline(always)]
fn output_transform_band_body<'m>(
    m: impl Fn(usize) -> &'m [f32],
    g: &Conv2dGeometry,
    tile_rows: Range<usize>,
    bias: f32,
    plane: &mut [MaybeUninit<f32>],
    s: &mut Scratch,
) {
    let tiles_w = s.tiles_w;
    let tiles = tile_rows.len() * tiles_w;
    // Both passes run over every tile of the band at once (long arrays, few loop starts).
    // 1. Down the columns: Aᵀ over rows ξ = 6r + j; array 4j + i of `first` is (i, j).
    for j in 0..ALPHA {
        let inputs = std::array::from_fn(|r| &m(r * ALPHA + j)[..tiles]);
        pass(inputs, slices_mut(&mut s.first, j * M, tiles), at);
    }
    // 2. Along the output rows: · A gives four outputs per tile, as four phase arrays, which
    //    are then interleaved (plus the bias) into each tile row's output row i.
    for i in 0..M {
        let inputs = std::array::from_fn(|j| &s.first[(j * M + i) * tiles..][..tiles]);
        pass(inputs, slices_mut::<M>(&mut s.phases, 0, tiles), at);
        let [q0, q1, q2, q3] = slices_mut::<M>(&mut s.phases, 0, tiles).map(|q| &*q);
        for ty in tile_rows.clone() {
            let oh = M * ty + i;
            if oh >= g.out_h {
                break;
            }
            let first = (ty - tile_rows.start) * tiles_w;
            let row = &mut plane[oh * g.out_w..(oh + 1) * g.out_w];
            let (whole, rest) = row.split_at_mut(g.out_w / M * M);
            let q = |k: usize, t: usize| [q0, q1, q2, q3][k][first + t] + bias;
            for (t, x) in whole.chunks_exact_mut(M).enumerate() {
                let (a, b, c, d) = (q0[first + t], q1[first + t], q2[first + t], q3[first + t]);
                x[0].write(a + bias);
                x[1].write(b + bias);
                x[2].write(c + bias);
                x[3].write(d + bias);
            }
            // The last, partial tile of a row whose width is not a multiple of 4.
            for (k, x) in rest.iter_mut().enumerate() {
                x.write(q(k, g.out_w / M));
            }
        }
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
    convolve(x, None, u, bias, g)
}

/// [`conv2d`] of `x` where `mask > 0`, zero elsewhere, when a `mask` (as long as `x`) is given.
fn convolve(
    x: &[f32],
    mask: Option<&[f32]>,
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
    // The output is not zeroed first: the output transform writes every element once.
    let total = g.batch * o * pixels;
    let mut out: Vec<f32> = Vec::with_capacity(total);
    let mut v = scratch::take(XI * c * most_tiles);
    let mut m = scratch::take(XI * o_pad * most_tiles);
    if let Some(mask) = mask {
        assert_eq!(
            mask.len(),
            x.len(),
            "winograd conv2d: mask and input differ in length"
        );
    }
    for (n, (xn, yn)) in x
        .chunks_exact(c * image)
        .zip(out.spare_capacity_mut()[..total].chunks_exact_mut(o * pixels))
        .enumerate()
    {
        let mask_n = mask.map(|m| &m[n * c * image..(n + 1) * c * image]);
        for band in (0..tiles_h).step_by(band_rows) {
            let rows = band..(band + band_rows).min(tiles_h);
            let tiles = rows.len() * tiles_w;
            let padded_tiles = tiles.next_multiple_of(NR);
            let layout = PanelLayout {
                first_row: band,
                channels: c,
                padded_tiles,
            };
            // 1. V = Bᵀ d B into panels, one input channel per task. Padding tiles beyond
            //    `tiles` keep stale values: their GEMM columns are never read.
            let v_out = SharedOut(v.as_mut_ptr());
            xn.par_chunks_exact(image).enumerate().for_each_init(
                || Scratch::new(tiles_w, M * band_rows + 2),
                |s, (channel, plane)| {
                    let mask = mask_n.map(|m| &m[channel * image..(channel + 1) * image]);
                    let input = Input { plane, mask };
                    input_transform_band(input, g, rows.clone(), channel, &layout, v_out, s);
                },
            );
            // 2. 36 GEMMs M[ξ] = U[ξ] · V[ξ], one per task.
            let v = &v[..XI * c * padded_tiles];
            let m_planes = m[..XI * o_pad * padded_tiles]
                .par_chunks_mut(o_pad * padded_tiles)
                .enumerate();
            match &u.paired {
                None => m_planes.for_each(|(xi, m_xi)| {
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
                }),
                // The same product in bf16: V[ξ] is paired first (half the bytes to read).
                Some(paired) => {
                    let k2 = c.div_ceil(2);
                    m_planes.for_each_init(Vec::new, |v_pairs, (xi, m_xi)| {
                        let u_xi = &paired[xi * o_pad * k2 * 2..(xi + 1) * o_pad * k2 * 2];
                        let v_xi = &v[xi * c * padded_tiles..(xi + 1) * c * padded_tiles];
                        v_pairs.resize(k2 * 2 * padded_tiles, 0);
                        pair_panels(v_xi, c, NR, v_pairs);
                        gemm_panels_bf16(
                            [o_pad, k2, padded_tiles],
                            u_xi,
                            v_pairs,
                            m_xi,
                            padded_tiles,
                        );
                    })
                }
            }
            // 3. Y = Aᵀ M A (+ bias), one output channel per task.
            let m = &m[..XI * o_pad * padded_tiles];
            yn.par_chunks_mut(pixels).enumerate().for_each_init(
                || Scratch::new(tiles_w, M * band_rows + 2),
                |s, (oc, plane)| {
                    let b0 = bias.map_or(0.0, |b| b[oc]);
                    let band_of = |xi: usize| {
                        let at = xi * o_pad * padded_tiles + oc * padded_tiles;
                        &m[at..at + tiles]
                    };
                    output_transform_band(band_of, g, rows.clone(), b0, plane, s);
                },
            );
        }
    }
    // SAFETY: every output row of every channel of every image was written by the output
    // transform (the bands' tile rows cover rows 0..out_h, each row in full).
    unsafe { out.set_len(total) };
    out
}

/// Input gradient of the stride-1 3×3 convolution whose weight was transformed with
/// `flipped`, given `dy`.
///
/// The gradient of a convolution is a convolution: `dx` is `dy` correlated with the weight
/// whose in/out channel axes are swapped and whose kernels are rotated by 180°, with padding
/// `2 − p`. `gt` is the geometry of that convolution (input `dy`, output shaped like `x`).
/// With `relu_output` (as long as `dy`), `dy` counts only where that is positive: the
/// backward pass of a ReLU fused into the forward convolution, applied as the input transform
/// reads `dy` instead of in a pass of its own.
pub fn conv2d_input_grad(
    dy: &[f32],
    relu_output: Option<&[f32]>,
    flipped: &WinogradWeights,
    gt: &Conv2dGeometry,
) -> Vec<f32> {
    convolve(dy, relu_output, flipped, None, gt)
}
