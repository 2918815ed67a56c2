//! 2-D convolution on the GPU: tiled im2col + cuBLAS forward, two GEMMs + col2im backward —
//! the twin of `cpu/conv.rs` (without its Winograd path), kernels in `conv.cu`.
//!
//! Each image is processed a *tile* of output rows at a time: im2col fills a column buffer for
//! just those rows and one SGEMM consumes it. The buffer stays under [`MAX_COL_FLOATS`], so a
//! 4096-pixel image needs the same 256 MB of scratch as a 1024-pixel one; big tiles keep each
//! GEMM large enough to run near the GPU's peak.
//!
//! Row-major buffers read column-major are transposed (see `matmul.rs`), so every product is
//! written for cuBLAS as the transpose of the one in `cpu/conv.rs`: `yᵀ = colᵀ · wᵀ`.

use super::buffer::CudaBuffer;
use super::copy::{dense, fill, Dense};
use super::gemm::GemmCall;
use super::kernels::KernelSource;
use super::launch::{index_width, kernel_args};
use crate::error::{Error, Result};
use crate::geometry::Conv2dGeometry;
use crate::layout::Layout;
use crate::ops::ReduceOp;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

pub const SOURCE: KernelSource = KernelSource {
    name: "conv",
    code: include_str!("conv.cu"),
    kernels: &[
        IM2COL[0],
        IM2COL[1],
        COL2IM[0],
        COL2IM[1],
        BIAS_RELU[0],
        BIAS_RELU[1],
    ],
};

/// The column buffer never holds more than this many floats (256 MB) by default.
pub const MAX_COL_FLOATS: usize = 1 << 26;

static COLUMN_LIMIT: AtomicUsize = AtomicUsize::new(MAX_COL_FLOATS);

/// Change the column buffer's limit, process-wide. Tests make it tiny so that even small images
/// are split into many tiles; a smaller limit also trades speed for memory on a full GPU.
pub fn set_column_buffer_floats(floats: usize) {
    COLUMN_LIMIT.store(floats.max(1), Ordering::Relaxed);
}

/// The tile kernels, each in its two widths (`[name_32, name_64]`, see `index_width`).
const IM2COL: [&str; 2] = ["im2col_tile_32", "im2col_tile_64"];
const COL2IM: [&str; 2] = ["col2im_tile_32", "col2im_tile_64"];
const BIAS_RELU: [&str; 2] = ["bias_relu_32", "bias_relu_64"];

#[repr(C)]
#[derive(Clone, Copy)]
struct ConvGeometry {
    batch: u64,
    in_channels: u64,
    in_h: u64,
    in_w: u64,
    out_channels: u64,
    kernel_h: u64,
    kernel_w: u64,
    stride_h: u64,
    stride_w: u64,
    pad_h: u64,
    pad_w: u64,
    dil_h: u64,
    dil_w: u64,
    out_h: u64,
    out_w: u64,
}

impl From<&Conv2dGeometry> for ConvGeometry {
    fn from(g: &Conv2dGeometry) -> Self {
        let u = |v: usize| v as u64;
        ConvGeometry {
            batch: u(g.batch),
            in_channels: u(g.in_channels),
            in_h: u(g.in_h),
            in_w: u(g.in_w),
            out_channels: u(g.out_channels),
            kernel_h: u(g.kernel_h),
            kernel_w: u(g.kernel_w),
            stride_h: u(g.params.stride.0),
            stride_w: u(g.params.stride.1),
            pad_h: u(g.params.padding.0),
            pad_w: u(g.params.padding.1),
            dil_h: u(g.params.dilation.0),
            dil_w: u(g.params.dilation.1),
            out_h: u(g.out_h),
            out_w: u(g.out_w),
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy)]
struct TileArgs {
    src: u64,
    dst: u64,
    g: ConvGeometry,
    row_start: u64,
    rows: u64,
    in_row_start: u64,
    in_rows: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct EpilogueArgs {
    bias: u64,
    y: u64,
    n: u64,
    pixels: u64,
    channels: u64,
    relu: u32,
    unused: u32,
}

kernel_args!(TileArgs, EpilogueArgs);

/// How many output rows one tile covers: as many as the buffer allows.
pub fn tile_rows(g: &Conv2dGeometry) -> usize {
    Tiling::new(g).step
}

/// How one image is cut into tiles of output rows, decided once per call: the same step sizes
/// the column buffer and cuts the tiles. The limit is process-wide and may change between two
/// readings (a test sets it while others run); a tile cut with a larger step than the buffer
/// was sized for would make im2col write past its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiling {
    step: usize,
    out_h: usize,
    /// Floats of the column buffer one output row needs.
    row_floats: usize,
}

impl Tiling {
    /// The tiling under the limit in force now.
    pub fn new(g: &Conv2dGeometry) -> Self {
        let limit = COLUMN_LIMIT.load(Ordering::Relaxed);
        let row_floats = g.patch_len() * g.out_w;
        Tiling {
            step: (limit / row_floats.max(1)).clamp(1, g.out_h.max(1)),
            out_h: g.out_h,
            row_floats,
        }
    }

    /// Floats of column buffer the largest tile needs.
    pub fn column_floats(&self) -> usize {
        self.step * self.row_floats
    }

    /// Floats of column buffer the tile `rows` fills.
    pub fn tile_floats(&self, rows: &Range<usize>) -> usize {
        rows.len() * self.row_floats
    }

    /// The output-row ranges, in order.
    pub fn tiles(&self) -> impl Iterator<Item = Range<usize>> {
        let (step, out_h) = (self.step, self.out_h);
        (0..out_h)
            .step_by(step)
            .map(move |r| r..(r + step).min(out_h))
    }
}

/// Address of float `index` of a buffer at `base`.
fn at(base: u64, index: usize) -> u64 {
    base + 4 * index as u64
}

/// A plain (unbatched) GEMM: `C (m × n) = op(A) · op(B) + beta·C`, column-major.
#[allow(clippy::too_many_arguments)]
fn gemm(
    [m, n, k]: [usize; 3],
    (a, lda, transa): (u64, usize, bool),
    (b, ldb, transb): (u64, usize, bool),
    beta: f32,
    (c, ldc): (u64, usize),
) -> GemmCall {
    GemmCall {
        transa,
        transb,
        m,
        n,
        k,
        alpha: 1.0,
        a,
        lda,
        stride_a: 0,
        b,
        ldb,
        stride_b: 0,
        beta,
        c,
        ldc,
        stride_c: 0,
        batch: 1,
    }
}

/// Run one GEMM after checking it against the buffers it reads and writes.
fn run(device: &CudaBuffer, call: GemmCall, lens: [usize; 3]) -> Result<()> {
    call.check(lens[0], lens[1], lens[2])?;
    device.device().gemm(&call)
}

/// Fill `col` with the patches of output rows `rows` of the image at `image`.
fn im2col(image: u64, g: &Conv2dGeometry, rows: &Range<usize>, col: &CudaBuffer) -> Result<()> {
    let args = TileArgs {
        src: image,
        dst: col.address(),
        g: g.into(),
        row_start: rows.start as u64,
        rows: rows.len() as u64,
        in_row_start: 0,
        in_rows: 0,
    };
    let threads = g.patch_len() * rows.len() * g.out_w;
    let kernel = index_width(IM2COL, threads.max(g.in_channels * g.in_h * g.in_w));
    col.device().launch(&SOURCE, kernel, threads as u64, args)
}

/// Add the column matrix of output rows `rows` onto the image gradient at `image`.
fn col2im(col: &CudaBuffer, g: &Conv2dGeometry, rows: &Range<usize>, image: u64) -> Result<()> {
    // The input rows the tile's taps reach, clipped to the image.
    let (sh, ph, dh) = (g.params.stride.0, g.params.padding.0, g.params.dilation.0);
    let first = (rows.start * sh).saturating_sub(ph);
    let last = ((rows.end - 1) * sh + (g.kernel_h - 1) * dh).saturating_sub(ph);
    let last = last.min(g.in_h.saturating_sub(1));
    if first > last || (rows.end - 1) * sh + (g.kernel_h - 1) * dh < ph {
        return Ok(());
    }
    let in_rows = last - first + 1;
    let args = TileArgs {
        src: col.address(),
        dst: image,
        g: g.into(),
        row_start: rows.start as u64,
        rows: rows.len() as u64,
        in_row_start: first as u64,
        in_rows: in_rows as u64,
    };
    let threads = g.in_channels * in_rows * g.in_w;
    let column = g.patch_len() * rows.len() * g.out_w;
    let kernel = index_width(COL2IM, column.max(g.in_channels * g.in_h * g.in_w));
    col.device().launch(&SOURCE, kernel, threads as u64, args)
}

fn column_buffer(
    like: &CudaBuffer,
    g: &Conv2dGeometry,
    tiling: &Tiling,
) -> Result<Option<CudaBuffer>> {
    if g.is_pointwise() {
        return Ok(None);
    }
    CudaBuffer::uninit(
        like.device(),
        tiling.column_floats(),
        "conv2d column buffer",
    )
    .map(Some)
}

/// Error unless the tile `rows` fits the column buffer: im2col and col2im index it without
/// checks, so a mismatch must stop here and never reach the kernel.
fn fits(col: &CudaBuffer, tiling: &Tiling, rows: &Range<usize>) -> Result<()> {
    let need = tiling.tile_floats(rows);
    if need > col.len() {
        return Err(Error::invalid(
            "conv2d",
            format!(
                "a tile of {} rows needs {need} floats of column buffer, which holds {}",
                rows.len(),
                col.len()
            ),
        ));
    }
    Ok(())
}

/// Forward pass: `x` `[n, c, h, w]`, `w` `[o, c, kh, kw]`, `bias` `[o]`; returns the dense
/// `[n, o, out_h, out_w]` output, through a ReLU when `relu`.
pub fn conv2d(
    x: &CudaBuffer,
    xl: &Layout,
    w: &CudaBuffer,
    wl: &Layout,
    bias: Option<(&CudaBuffer, &Layout)>,
    g: &Conv2dGeometry,
    relu: bool,
) -> Result<CudaBuffer> {
    x.same_device(w, "conv2d")?;
    let (x, w): (Dense, Dense) = (dense(x, xl)?, dense(w, wl)?);
    let (o, k) = (g.out_channels, g.patch_len());
    let pixels = g.out_h * g.out_w;
    let image = g.in_channels * g.in_h * g.in_w;
    let total = g.batch * o * pixels;
    let device = x.buffer().device().clone();
    let bias = match bias {
        Some((b, bl)) => {
            b.same_device(x.buffer(), "conv2d")?;
            Some(dense(b, bl)?)
        }
        None => None,
    };
    let y = CudaBuffer::uninit(&device, total, "conv2d")?;
    let tiling = Tiling::new(g);
    let col = column_buffer(&y, g, &tiling)?;
    for n in 0..g.batch {
        let (xn, yn) = (at(x.address(), n * image), at(y.address(), n * o * pixels));
        let (x_len, y_len) = (x.len() - n * image, y.len() - n * o * pixels);
        let Some(col) = &col else {
            // 1×1, stride 1, no padding: the image [c, h·w] is already the column matrix.
            let call = gemm(
                [pixels, o, k],
                (xn, pixels, false),
                (w.address(), k, false),
                0.0, // overwrite: the bias and ReLU follow in one pass
                (yn, pixels),
            );
            run(&y, call, [x_len, w.len(), y_len])?;
            continue;
        };
        // ANCHOR: forward_tiles
        for rows in tiling.tiles() {
            fits(col, &tiling, &rows)?;
            let t = rows.len() * g.out_w;
            im2col(xn, g, &rows, col)?;
            let dst = rows.start * g.out_w;
            // yᵀ[tile] (t × o) = colᵀ (t × k) · wᵀ (k × o)
            let call = gemm(
                [t, o, k],
                (col.address(), t, false),
                (w.address(), k, false),
                0.0, // overwrite: the bias and ReLU follow in one pass
                (at(yn, dst), pixels),
            );
            run(&y, call, [col.len(), w.len(), y_len - dst])?;
        }
        // ANCHOR_END: forward_tiles
    }
    epilogue(&y, bias, pixels, o, relu)?;
    Ok(y)
}

/// The bias and the ReLU, in one pass over the output the GEMMs wrote.
fn epilogue(
    y: &CudaBuffer,
    bias: Option<Dense>,
    pixels: usize,
    channels: usize,
    relu: bool,
) -> Result<()> {
    if bias.is_none() && !relu {
        return Ok(());
    }
    let args = EpilogueArgs {
        bias: bias.map_or(0, |b| b.address()),
        y: y.address(),
        n: y.len() as u64,
        pixels: pixels as u64,
        channels: channels as u64,
        relu: relu as u32,
        unused: 0,
    };
    let kernel = index_width(BIAS_RELU, y.len());
    y.device().launch(&SOURCE, kernel, y.len() as u64, args)
}

/// Gradient with respect to the input: `dcol = wᵀ · dy` per tile, then col2im adds each
/// column back onto the pixels it came from.
pub fn conv2d_backward_input(
    dy: &CudaBuffer,
    dyl: &Layout,
    w: &CudaBuffer,
    wl: &Layout,
    g: &Conv2dGeometry,
) -> Result<CudaBuffer> {
    dy.same_device(w, "conv2d backward")?;
    let (dy, w) = (dense(dy, dyl)?, dense(w, wl)?);
    let (o, k) = (g.out_channels, g.patch_len());
    let pixels = g.out_h * g.out_w;
    let image = g.in_channels * g.in_h * g.in_w;
    let device = dy.buffer().device().clone();
    let dx = fill(&device, g.batch * image, 0.0)?;
    let tiling = Tiling::new(g);
    let col = column_buffer(&dx, g, &tiling)?;
    for n in 0..g.batch {
        let (dyn_, dxn) = (
            at(dy.address(), n * o * pixels),
            at(dx.address(), n * image),
        );
        let dy_len = dy.len() - n * o * pixels;
        let Some(col) = &col else {
            // dxᵀ (pixels × k) = dyᵀ (pixels × o) · w (o × k)
            let call = gemm(
                [pixels, k, o],
                (dyn_, pixels, false),
                (w.address(), k, true),
                0.0,
                (dxn, pixels),
            );
            run(&dx, call, [dy_len, w.len(), dx.len() - n * image])?;
            continue;
        };
        for rows in tiling.tiles() {
            fits(col, &tiling, &rows)?;
            let t = rows.len() * g.out_w;
            let src = rows.start * g.out_w;
            // dcolᵀ (t × k) = dy[tile]ᵀ (t × o) · w (o × k)
            let call = gemm(
                [t, k, o],
                (at(dyn_, src), pixels, false),
                (w.address(), k, true),
                0.0,
                (col.address(), t),
            );
            run(&dx, call, [dy_len - src, w.len(), col.len()])?;
            col2im(col, g, &rows, dxn)?;
        }
    }
    Ok(dx)
}

/// Gradient with respect to the weight: `dw += dy_tile · col_tileᵀ` over every tile of every
/// image (im2col is recomputed rather than kept from the forward pass).
pub fn conv2d_backward_weight(
    x: &CudaBuffer,
    xl: &Layout,
    dy: &CudaBuffer,
    dyl: &Layout,
    g: &Conv2dGeometry,
) -> Result<CudaBuffer> {
    x.same_device(dy, "conv2d backward")?;
    let (x, dy) = (dense(x, xl)?, dense(dy, dyl)?);
    let (o, k) = (g.out_channels, g.patch_len());
    let pixels = g.out_h * g.out_w;
    let image = g.in_channels * g.in_h * g.in_w;
    let device = x.buffer().device().clone();
    let dw = fill(&device, o * k, 0.0)?;
    let tiling = Tiling::new(g);
    let col = column_buffer(&dw, g, &tiling)?;
    for n in 0..g.batch {
        let (xn, dyn_) = (at(x.address(), n * image), at(dy.address(), n * o * pixels));
        let dy_len = dy.len() - n * o * pixels;
        let Some(col) = &col else {
            // dwᵀ (k × o) += x (k × pixels) · dyᵀ (pixels × o)
            let call = gemm(
                [k, o, pixels],
                (xn, pixels, true),
                (dyn_, pixels, false),
                1.0,
                (dw.address(), k),
            );
            run(&dw, call, [x.len() - n * image, dy_len, dw.len()])?;
            continue;
        };
        for rows in tiling.tiles() {
            fits(col, &tiling, &rows)?;
            let t = rows.len() * g.out_w;
            let src = rows.start * g.out_w;
            im2col(xn, g, &rows, col)?;
            // dwᵀ (k × o) += col (k × t) · dy[tile]ᵀ (t × o)
            let call = gemm(
                [k, o, t],
                (col.address(), t, true),
                (at(dyn_, src), pixels, false),
                1.0,
                (dw.address(), k),
            );
            run(&dw, call, [col.len(), dy_len - src, dw.len()])?;
        }
    }
    Ok(dw)
}

/// Gradient with respect to the bias: `dy` summed over batch and pixels, per channel.
pub fn conv2d_backward_bias(
    dy: &CudaBuffer,
    dyl: &Layout,
    g: &Conv2dGeometry,
) -> Result<CudaBuffer> {
    let shape = [g.batch, g.out_channels, g.out_h * g.out_w];
    let sum_planes = [true, false, true];
    match dyl.reshape(&shape) {
        Some(view) => super::reduce::reduce(dy, &view, &sum_planes, ReduceOp::Sum),
        None => {
            let dense = super::copy::gather(dy, dyl)?;
            super::reduce::reduce(
                &dense,
                &Layout::contiguous(&shape),
                &sum_planes,
                ReduceOp::Sum,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Conv2dParams;

    /// A tiling keeps the step it was made with, whatever happens to the limit afterwards:
    /// every tile it cuts fits the buffer it sized, and together they cover every row once.
    #[test]
    fn tiles_fit_the_buffer_sized_for_them_even_if_the_limit_changes() {
        let g = Conv2dGeometry::new(
            &[1, 3, 20, 11],
            &[4, 3, 3, 3],
            Conv2dParams::square(1, 1, 1),
        )
        .unwrap();
        let before = COLUMN_LIMIT.load(Ordering::Relaxed);
        set_column_buffer_floats(2 * g.patch_len() * g.out_w);
        let tiling = Tiling::new(&g);
        // What another test running meanwhile may do: a limit for one big tile.
        set_column_buffer_floats(MAX_COL_FLOATS);
        let tiles: Vec<_> = tiling.tiles().collect();
        set_column_buffer_floats(before);
        assert_eq!(tiles.len(), 10, "two rows a tile: {tiles:?}");
        for rows in &tiles {
            assert!(
                tiling.tile_floats(rows) <= tiling.column_floats(),
                "{rows:?}"
            );
        }
        let covered: Vec<usize> = tiles.iter().flat_map(|r| r.clone()).collect();
        assert_eq!(covered, (0..g.out_h).collect::<Vec<_>>());
    }
}
