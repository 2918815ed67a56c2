//! Chapter 5 — Filters as sliding windows.
//!
//! Hand-made 3×3 filters (Sobel edges, box and Gaussian blur, sharpen) applied to a photo with
//! the engine's `conv2d`; how padding, stride and dilation change the output size; max pooling
//! on a feature map; translation equivariance checked numerically; and the convolution sum
//! computed twice by hand — with loops, and as im2col followed by one matrix product — and
//! compared with `conv2d`.
//!
//! Run: `cargo run --release -p chapters-examples --bin ch05_filters -- --out out/ch05`
//! (needs the shared images; `--image PATH` uses another picture).

use chapters_examples::cnn_pictures::{save_map, save_map_with_scale, Map, Scale};
use chapters_examples::figures::conv_window::{draw_sliding_window, SlidingWindow};
use chapters_examples::inputs::image_or_example;
use chapters_examples::{run_example, ExampleArgs, ExampleResult};
use clap::Parser;
use engine::autograd::Conv2dParams;
use engine::io::{load_image, LoadOptions};
use engine::{Rng, Tensor};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Chapter 5: hand-made filters, output sizes, pooling and im2col.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: ExampleArgs,

    /// The photo to filter (default: the repository's engine/assets/images/chelsea.png).
    #[arg(long, value_name = "PATH")]
    image: Option<PathBuf>,
}

/// The photo is resized so its longer side has this many pixels: small enough that a 3×3
/// blur is visible on the page.
const LONG_SIDE: u32 = 300;
/// The by-hand convolutions must match `conv2d` this closely (f32 rounding).
const TOLERANCE: f32 = 1e-4;

fn main() -> ExitCode {
    let args = Args::parse();
    run_example(|| run(&args))
}

fn run(args: &Args) -> ExampleResult {
    let out = args.common.output_dir("ch05")?;
    let path = image_or_example(args.image.as_ref(), "chelsea.png")?;
    // --quick: a smaller photo; everything else is already fast.
    let long_side = if args.common.quick { 120 } else { LONG_SIDE };
    let photo = load_image(&path, &LoadOptions::long_side(long_side))?;
    let grey = to_grey(&photo)?;
    println!(
        "== {} as a grey [1, 1, {}, {}] tensor",
        path.file_name()
            .unwrap_or(path.as_os_str())
            .to_string_lossy(),
        grey.shape()[2],
        grey.shape()[3]
    );
    save_map(
        &out.join("photo_grey.png"),
        &Map::single(&grey)?,
        Scale::Fixed(0.0, 1.0),
        1,
    )?;

    let edges = apply_filters(&grey, &out)?;
    sliding_window(&out.join("sliding_window.png"))?;
    output_size_table(&grey)?;
    pooling(&edges, &out)?;
    let mut worst = translation_equivariance(&grey)?;
    worst = worst.max(by_hand_versus_conv2d()?);
    if worst > TOLERANCE {
        return Err(format!("a by-hand result differs from conv2d by {worst:e}").into());
    }
    println!("\nevery by-hand result matches conv2d to within {TOLERANCE:e}");
    println!("pictures written to {}", out.display());
    Ok(())
}

// ANCHOR: grey
/// RGB `[1, 3, H, W]` in 0..=255 → grey `[1, 1, H, W]` in 0..1, with a 1×1 convolution: at
/// every pixel, one output channel = 0.299·R + 0.587·G + 0.114·B (scaled by 1/255).
fn to_grey(rgb: &Tensor) -> engine::Result<Tensor> {
    let luma = [0.299, 0.587, 0.114].map(|w| w / 255.0);
    let weight = Tensor::from_vec(luma.to_vec(), &[1, 3, 1, 1])?; // [out, in, kh, kw]
    rgb.conv2d(&weight, None, Conv2dParams::default())
}
// ANCHOR_END: grey

// ANCHOR: kernels
/// A hand-made 3×3 filter, its picture's file name, and how to colour its output.
struct Filter {
    name: &'static str,
    file: &'static str,
    kernel: [f32; 9], // row by row
    scale: Scale,
}

// Each kernel is written as the 3 × 3 grid it is, so rustfmt must leave its rows alone.
#[rustfmt::skip]
const FILTERS: [Filter; 5] = [
    Filter {
        // Right column minus left column: large where brightness rises to the right.
        name: "Sobel x",
        file: "filter_sobel_x.png",
        kernel: [-1., 0., 1.,
                 -2., 0., 2.,
                 -1., 0., 1.],
        scale: Scale::Signed,
    },
    Filter {
        // The same turned a quarter: brightness rising downwards.
        name: "Sobel y",
        file: "filter_sobel_y.png",
        kernel: [-1., -2., -1.,
                  0.,  0.,  0.,
                  1.,  2.,  1.],
        scale: Scale::Signed,
    },
    Filter {
        // The mean of the 9 pixels under the window.
        name: "box blur",
        file: "filter_box_blur.png",
        kernel: [1. / 9.; 9],
        scale: Scale::Fixed(0.0, 1.0),
    },
    Filter {
        // A weighted mean: the centre counts most (a small Gaussian bell).
        name: "Gaussian blur",
        file: "filter_gaussian_blur.png",
        kernel: [1. / 16., 2. / 16., 1. / 16.,
                 2. / 16., 4. / 16., 2. / 16.,
                 1. / 16., 2. / 16., 1. / 16.],
        scale: Scale::Fixed(0.0, 1.0),
    },
    Filter {
        // 5 × centre − the 4 neighbours = the pixel + (pixel − its neighbours' mean) · 4.
        name: "sharpen",
        file: "filter_sharpen.png",
        kernel: [ 0., -1.,  0.,
                 -1.,  5., -1.,
                  0., -1.,  0.],
        scale: Scale::Fixed(0.0, 1.0),
    },
];
// ANCHOR_END: kernels

// ANCHOR: apply_filters
/// Apply all filters in ONE conv2d call: stacked, they are the output channels of a
/// `[5, 1, 3, 3]` weight. Returns the edge strength √(Sobel x² + Sobel y²).
fn apply_filters(grey: &Tensor, out: &Path) -> engine::Result<Tensor> {
    let kernels: Vec<f32> = FILTERS.iter().flat_map(|f| f.kernel).collect();
    let weight = Tensor::from_vec(kernels, &[FILTERS.len(), 1, 3, 3])?;
    // Padding 1 adds a ring of zeros, so a 3×3 window fits at every pixel: same size out.
    let filtered = grey.conv2d(&weight, None, Conv2dParams::square(1, 1, 1))?;
    println!(
        "filters: weight {:?}, output {:?}",
        weight.shape(),
        filtered.shape()
    );

    let outputs = Map::channels_of(&filtered)?;
    for (filter, output) in FILTERS.iter().zip(&outputs) {
        let (lo, hi) = min_max(&output.values);
        println!("  {:<14} output range {lo:>7.3} … {hi:>6.3}", filter.name);
        save_map_with_scale(&out.join(filter.file), output, filter.scale, 1, "output")?;
    }

    let gx = filtered.narrow(1, 0, 1)?; // channel 0: Sobel x
    let gy = filtered.narrow(1, 1, 1)?; // channel 1: Sobel y
    let edges = gx.square()?.add(&gy.square()?)?.sqrt()?;
    let edges_path = out.join("filter_edges.png");
    save_map_with_scale(
        &edges_path,
        &Map::single(&edges)?,
        Scale::Unsigned,
        1,
        "edge strength",
    )?;
    blur_four_times(grey, out)?;
    Ok(edges)
}
// ANCHOR_END: apply_filters

/// Stacking small filters makes a bigger one: four 3×3 Gaussian passes = one 9×9 blur.
fn blur_four_times(grey: &Tensor, out: &Path) -> engine::Result<()> {
    let gaussian = Tensor::from_vec(FILTERS[3].kernel.to_vec(), &[1, 1, 3, 3])?;
    let mut blurred = grey.clone();
    for _ in 0..4 {
        blurred = blurred.conv2d(&gaussian, None, Conv2dParams::square(1, 1, 1))?;
    }
    let path = out.join("filter_gaussian_blur_x4.png");
    save_map_with_scale(
        &path,
        &Map::single(&blurred)?,
        Scale::Fixed(0.0, 1.0),
        1,
        "output",
    )
}

fn min_max(values: &[f32]) -> (f32, f32) {
    values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

/// The figure of the window sliding over a tiny picture with padding 1 and stride 2, its
/// output computed by `conv2d` (and printed, so the figure can be checked).
fn sliding_window(path: &Path) -> engine::Result<()> {
    #[rustfmt::skip]
    let picture = [
        0., 0., 1., 2., 2.,
        0., 1., 2., 2., 2.,
        0., 1., 2., 3., 3.,
        0., 0., 1., 2., 3.,
        0., 0., 0., 1., 2.,
    ];
    let sobel_x = FILTERS[0].kernel;
    let x = Tensor::from_vec(picture.to_vec(), &[1, 1, 5, 5])?;
    let weight = Tensor::from_vec(sobel_x.to_vec(), &[1, 1, 3, 3])?;
    let y = x.conv2d(&weight, None, Conv2dParams::square(2, 1, 1))?;
    let (oh, ow) = (y.shape()[2], y.shape()[3]);
    println!("\n== Sliding window: a 5×5 picture, the Sobel x kernel, padding 1, stride 2");
    println!("output {oh}×{ow} =\n{}", y.reshape(&[oh, ow])?);
    let output = y.to_vec()?;
    let conv = SlidingWindow {
        input: &picture,
        input_size: (5, 5),
        kernel: &sobel_x,
        kernel_size: 3,
        padding: 1,
        stride: 2,
        output: &output,
        output_size: (oh, ow),
    };
    draw_sliding_window(path, &conv, &[(0, 0), (0, 1), (1, 0)])
}

// ANCHOR: output_size
/// out = ⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1
fn output_size(n: usize, kernel: usize, padding: usize, stride: usize, dilation: usize) -> usize {
    (n + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
}
// ANCHOR_END: output_size

/// For several (kernel, padding, stride, dilation), the size the formula predicts next to the
/// size conv2d really returns.
fn output_size_table(grey: &Tensor) -> ExampleResult {
    let (h, w) = (grey.shape()[2], grey.shape()[3]);
    println!("\n== Output size of a convolution on the {h}×{w} photo");
    println!(" kernel  padding  stride  dilation   formula (h×w)   conv2d (h×w)");
    let cases = [
        (3, 0, 1, 1),
        (3, 1, 1, 1),
        (3, 1, 2, 1),
        (5, 2, 1, 1),
        (5, 0, 2, 1),
        (7, 3, 2, 1),
        (3, 2, 1, 2),
        (3, 0, 3, 1),
    ];
    for (k, p, s, d) in cases {
        let weight = Tensor::zeros(&[1, 1, k, k]);
        let result = grey.conv2d(&weight, None, Conv2dParams::square(s, p, d))?;
        let real = (result.shape()[2], result.shape()[3]);
        let predicted = (output_size(h, k, p, s, d), output_size(w, k, p, s, d));
        println!(
            "{k:>7}{p:>9}{s:>8}{d:>10}{:>12}×{:<6}{:>10}×{}",
            predicted.0, predicted.1, real.0, real.1
        );
        if predicted != real {
            return Err(format!("formula says {predicted:?}, conv2d gave {real:?}").into());
        }
    }
    Ok(())
}

// ANCHOR: pooling
/// Max pooling keeps the strongest response in each window: the edge map shrinks, the
/// edges survive. Average pooling, for contrast, smears them.
fn pooling(edges: &Tensor, out: &Path) -> engine::Result<()> {
    println!("\n== Pooling the edge map {:?}", edges.shape());
    let tiny = Tensor::from_vec(
        vec![
            1., 3., 0., 2., //
            4., 2., 1., 0., //
            0., 1., 5., 6., //
            2., 0., 7., 1.,
        ],
        &[1, 1, 4, 4],
    )?;
    println!("a 4×4 map:\n{tiny}");
    println!(
        "max_pool2d(kernel 2, stride 2):\n{}",
        tiny.max_pool2d(2, 2, 0)?
    );
    println!(
        "avg_pool2d(kernel 2, stride 2):\n{}",
        tiny.avg_pool2d(2, 2, 0)?
    );

    for (window, zoom) in [(2, 2), (4, 4)] {
        let pooled = edges.max_pool2d(window, window, 0)?;
        println!("max_pool2d({window}, {window}) → {:?}", pooled.shape());
        let file = format!("pool_max_{window}x{window}.png");
        save_map(
            &out.join(file),
            &Map::single(&pooled)?,
            Scale::Unsigned,
            zoom,
        )?;
    }
    let averaged = edges.avg_pool2d(4, 4, 0)?;
    save_map(
        &out.join("pool_avg_4x4.png"),
        &Map::single(&averaged)?,
        Scale::Unsigned,
        4,
    )?;
    Ok(())
}
// ANCHOR_END: pooling

// ANCHOR: equivariance
/// Shift the photo, then filter — or filter, then shift: the same picture. (No padding here,
/// so that the zeros at the border cannot make a difference.)
fn translation_equivariance(grey: &Tensor) -> engine::Result<f32> {
    let (h, w) = (grey.shape()[2], grey.shape()[3]);
    let (down, right) = (5, 7);
    let shifted = grey
        .narrow(2, down, h - down)?
        .narrow(3, right, w - right)?;

    let mut rng = Rng::new(1);
    let weight = Tensor::randn(&[4, 1, 3, 3], &mut rng);
    let valid = Conv2dParams::default(); // stride 1, no padding
    let filter_then_shift = grey.conv2d(&weight, None, valid)?;
    let (fh, fw) = (filter_then_shift.shape()[2], filter_then_shift.shape()[3]);
    let filter_then_shift =
        filter_then_shift
            .narrow(2, down, fh - down)?
            .narrow(3, right, fw - right)?;
    let shift_then_filter = shifted.conv2d(&weight, None, valid)?;

    let difference = max_difference(&filter_then_shift, &shift_then_filter)?;
    println!("\n== Translation equivariance: conv(shift(x)) vs shift(conv(x))");
    println!("shift by ({down}, {right}) pixels: max difference {difference:.1e}");
    Ok(difference)
}
// ANCHOR_END: equivariance

fn max_difference(a: &Tensor, b: &Tensor) -> engine::Result<f32> {
    let d = a.sub(b)?.abs()?.to_vec()?;
    Ok(d.into_iter().fold(0.0, f32::max))
}

/// Sizes of a small convolution worked by hand: input `[channels, height, width]`, weight
/// `[out_channels, channels, kernel, kernel]`, one stride and one padding for both axes.
#[derive(Clone, Copy)]
struct Geometry {
    channels: usize,
    height: usize,
    width: usize,
    out_channels: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
}

impl Geometry {
    fn out_height(&self) -> usize {
        output_size(self.height, self.kernel, self.padding, self.stride, 1)
    }

    fn out_width(&self) -> usize {
        output_size(self.width, self.kernel, self.padding, self.stride, 1)
    }

    /// The input value at channel `c`, row `row`, column `col` — where row and column may fall
    /// into the padding, which reads as 0.
    fn input_at(&self, x: &[f32], c: usize, row: isize, col: isize) -> f32 {
        let inside =
            (0..self.height as isize).contains(&row) && (0..self.width as isize).contains(&col);
        if inside {
            x[(c * self.height + row as usize) * self.width + col as usize]
        } else {
            0.0
        }
    }

    /// Where tap (`a`, `b`) of the window for output (`i`, `j`) lands in the input.
    fn tap_position(&self, i: usize, j: usize, a: usize, b: usize) -> (isize, isize) {
        let row = (i * self.stride + a) as isize - self.padding as isize;
        let col = (j * self.stride + b) as isize - self.padding as isize;
        (row, col)
    }
}

// ANCHOR: direct_conv
/// The convolution sum, literally:
/// y[o, i, j] = Σ_c Σ_a Σ_b w[o, c, a, b] · x[c, i·s + a − p, j·s + b − p]
fn direct_conv(x: &[f32], w: &[f32], g: Geometry) -> Vec<f32> {
    let k = g.kernel;
    let mut y = Vec::with_capacity(g.out_channels * g.out_height() * g.out_width());
    for o in 0..g.out_channels {
        for i in 0..g.out_height() {
            for j in 0..g.out_width() {
                let mut sum = 0.0;
                for c in 0..g.channels {
                    for a in 0..k {
                        for b in 0..k {
                            let (row, col) = g.tap_position(i, j, a, b);
                            let weight = w[((o * g.channels + c) * k + a) * k + b];
                            sum += weight * g.input_at(x, c, row, col);
                        }
                    }
                }
                y.push(sum);
            }
        }
    }
    y
}
// ANCHOR_END: direct_conv

// ANCHOR: im2col
/// im2col: one column per output pixel holding the c·k·k input values under its window, so
/// that the whole convolution becomes one matrix product, weight[o, c·k·k] · col.
fn im2col(x: &[f32], g: Geometry) -> Vec<f32> {
    let k = g.kernel;
    let pixels = g.out_height() * g.out_width();
    let mut col = vec![0.0; g.channels * k * k * pixels];
    for c in 0..g.channels {
        for a in 0..k {
            for b in 0..k {
                // Row (c, a, b) of the matrix: what tap (a, b) of channel c sees, per pixel.
                let row = (c * k + a) * k + b;
                for i in 0..g.out_height() {
                    for j in 0..g.out_width() {
                        let (r, s) = g.tap_position(i, j, a, b);
                        col[row * pixels + i * g.out_width() + j] = g.input_at(x, c, r, s);
                    }
                }
            }
        }
    }
    col
}
// ANCHOR_END: im2col

/// The same small convolution three ways: loops, im2col + matmul, and the engine's conv2d.
fn by_hand_versus_conv2d() -> engine::Result<f32> {
    let g = Geometry {
        channels: 2,
        height: 6,
        width: 7,
        out_channels: 3,
        kernel: 3,
        stride: 2,
        padding: 1,
    };
    let mut rng = Rng::new(2);
    let x = Tensor::randn(&[1, g.channels, g.height, g.width], &mut rng);
    let w = Tensor::randn(&[g.out_channels, g.channels, g.kernel, g.kernel], &mut rng);
    let params = Conv2dParams::square(g.stride, g.padding, 1);
    let engine_result = x.conv2d(&w, None, params)?;

    // ANCHOR: im2col_matmul
    let patch = g.channels * g.kernel * g.kernel; // 2·3·3 = 18 numbers under each window
    let pixels = g.out_height() * g.out_width(); // 3·4 = 12 output pixels
    let col = Tensor::from_vec(im2col(&x.to_vec()?, g), &[patch, pixels])?;
    let w_rows = w.reshape(&[g.out_channels, patch])?; // one filter per row
    let product = w_rows.matmul(&col)?; // [3, 18] · [18, 12] = [3, 12]
    let by_matmul = product.reshape(&[1, g.out_channels, g.out_height(), g.out_width()])?;
    // ANCHOR_END: im2col_matmul
    let by_loops = Tensor::from_vec(
        direct_conv(&x.to_vec()?, &w.to_vec()?, g),
        by_matmul.shape(),
    )?;

    println!(
        "\n== One convolution three ways: x {:?}, w {:?}, stride 2, padding 1",
        x.shape(),
        w.shape()
    );
    println!(
        "im2col matrix: [{patch}, {pixels}]; weight as a matrix: [{}, {patch}]",
        g.out_channels
    );
    let loops = max_difference(&by_loops, &engine_result)?;
    let matmul = max_difference(&by_matmul, &engine_result)?;
    println!("max |loops − conv2d| = {loops:.1e}, max |im2col·matmul − conv2d| = {matmul:.1e}");
    Ok(loops.max(matmul))
}
