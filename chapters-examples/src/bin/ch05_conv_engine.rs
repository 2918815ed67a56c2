//! Chapter 5, inside the engine — convolution and pooling as the engine computes them.
//!
//! The engine's own im2col on a tiny picture (without and with padding), the one matrix
//! product that turns the column matrix into a convolution, the two gradients of a convolution
//! as matrix products checked against `backward()`, the fused convolution + ReLU against the
//! two separate operations, and which input max pooling's gradient goes to when values tie.
//!
//! Run: `cargo run --release -p chapters-examples --bin ch05_conv_engine` (it takes no time,
//! so `--quick` changes nothing; it draws no pictures).

use chapters_examples::{run_example, ExampleArgs, ExampleResult};
use clap::Parser;
use engine::autograd::Conv2dParams;
use engine::cpu::conv_im2col::{col2im, im2col};
use engine::geometry::Conv2dGeometry;
use engine::{Rng, Tensor};
use std::process::ExitCode;

/// Chapter 5, inside the engine: im2col, GEMM, the gradients, conv + ReLU, pooling ties.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: ExampleArgs,
}

/// Errors of the engine, and of a gradient that is missing.
type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The fused and the separate operations must agree this closely (they do exactly).
const TOLERANCE: f32 = 1e-6;

fn main() -> ExitCode {
    let _args = Args::parse();
    run_example(run)
}

fn run() -> ExampleResult {
    let picture: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    column_matrix(&picture, 2, 0)?;
    column_matrix(&picture, 3, 1)?;
    one_gemm(&picture)?;
    gradients_as_products(&picture)?;
    let worst = fused_conv_relu()?;
    if worst > TOLERANCE {
        return Err(format!("conv2d_relu differs from conv2d + relu by {worst:e}").into());
    }
    pooling_ties()?;
    Ok(())
}

// ANCHOR: column_matrix
/// The engine's im2col on a one-channel 3×3 picture: one row per kernel tap, one column per
/// output pixel.
fn column_matrix(picture: &[f32], kernel: usize, padding: usize) -> engine::Result<Vec<f32>> {
    let params = Conv2dParams::square(1, padding, 1);
    let g = Conv2dGeometry::new(&[1, 1, 3, 3], &[1, 1, kernel, kernel], params)?;
    let pixels = g.out_h * g.out_w;
    let mut col = vec![0.0; g.patch_len() * pixels];
    im2col(picture, &g, 0..g.out_h, &mut col);
    // ANCHOR_END: column_matrix
    let title = if padding == 0 { "without" } else { "with" };
    println!("\n== im2col {title} padding");
    println!("the 3×3 picture 1…9, a {kernel}×{kernel} kernel, stride 1, padding {padding}");
    print_grid("picture", picture, 3);
    println!(
        "column matrix [{} taps, {pixels} output pixels]:",
        g.patch_len()
    );
    let header: String = (0..pixels)
        .map(|p| format!("  ({},{})", p / g.out_w, p % g.out_w))
        .collect();
    println!("           {header}");
    for (tap, row) in col.chunks(pixels).enumerate() {
        let values: String = row.iter().map(|v| format!("{v:>7}")).collect();
        println!("  tap ({},{}){values}", tap / kernel, tap % kernel);
    }
    Ok(col)
}

/// Print `values` as a grid `width` numbers wide, under a title.
fn print_grid(title: &str, values: &[f32], width: usize) {
    println!("{title}:");
    for row in values.chunks(width) {
        let cells: String = row.iter().map(|v| format!("{v:>7}")).collect();
        println!("  {cells}");
    }
}

/// A 2×2 weight with two output channels: a diagonal difference and an average.
#[rustfmt::skip]
const TWO_FILTERS: [f32; 8] = [
    1.0, 0.0,
    0.0, -1.0,
    //
    0.25, 0.25,
    0.25, 0.25,
];

/// The whole convolution as one matrix product: weight `[o, c·k·k]` times the column matrix.
fn one_gemm(picture: &[f32]) -> engine::Result<()> {
    let col = column_matrix_quiet(picture, 2)?;
    let weight = Tensor::from_slice(&TWO_FILTERS, &[2, 1, 2, 2])?;
    let by_gemm = weight
        .reshape(&[2, 4])?
        .matmul(&Tensor::from_vec(col, &[4, 4])?)?;
    let x = Tensor::from_slice(picture, &[1, 1, 3, 3])?;
    let by_conv2d = x.conv2d(&weight, None, Conv2dParams::square(1, 0, 1))?;
    println!("\n== One GEMM");
    println!("two 2×2 filters: the weight as a [2, 4] matrix times the [4, 4] column matrix");
    println!(
        "weight as a matrix (one filter per row):\n{}",
        weight.reshape(&[2, 4])?
    );
    println!("weight · columns (one output channel per row):\n{by_gemm}");
    println!(
        "conv2d, reshaped to [2, 4]:\n{}",
        by_conv2d.reshape(&[2, 4])?
    );
    Ok(())
}

/// The column matrix of a `kernel × kernel`, unpadded convolution of the 3×3 picture.
fn column_matrix_quiet(picture: &[f32], kernel: usize) -> engine::Result<Vec<f32>> {
    let params = Conv2dParams::square(1, 0, 1);
    let g = Conv2dGeometry::new(&[1, 1, 3, 3], &[1, 1, kernel, kernel], params)?;
    let mut col = vec![0.0; g.patch_len() * g.out_h * g.out_w];
    im2col(picture, &g, 0..g.out_h, &mut col);
    Ok(col)
}

// ANCHOR: gradients
/// The gradients of `y.sum()` for y = conv2d(x, w) with one 2×2 averaging filter, first as
/// the engine's `backward()` gives them, then as two matrix products and a col2im.
fn gradients_as_products(picture: &[f32]) -> Res<()> {
    let x = Tensor::from_slice(picture, &[1, 1, 3, 3])?.requires_grad();
    let w = Tensor::full(&[1, 1, 2, 2], 0.25).requires_grad();
    let params = Conv2dParams::square(1, 0, 1);
    let grads = x.conv2d(&w, None, params)?.sum_all()?.backward()?;

    let col = Tensor::from_vec(column_matrix_quiet(picture, 2)?, &[4, 4])?;
    let dy = Tensor::ones(&[1, 4]); // ∂(y.sum())/∂y: one per output pixel
    let dw = dy.matmul(&col.t()?)?; // [1, 4] · [4, 4]ᵀ
    let dcol = w.reshape(&[1, 4])?.t()?.matmul(&dy)?; // [4, 1] · [1, 4]
    let g = Conv2dGeometry::new(&[1, 1, 3, 3], &[1, 1, 2, 2], params)?;
    let mut dx = vec![0.0; 9];
    col2im(&dcol.to_vec()?, &g, 0..g.out_h, &mut dx);
    // ANCHOR_END: gradients
    let engine_dw = grads.get(&w).ok_or("no gradient for w")?.to_vec()?;
    let engine_dx = grads.get(&x).ok_or("no gradient for x")?.to_vec()?;
    println!("\n== Gradients as matrix products");
    println!("y = conv2d(x, w) with one 2×2 averaging filter, gradients of y.sum()");
    println!("dw = dy · columnsᵀ:       {:?}", dw.to_vec()?);
    println!("dw from backward():       {engine_dw:?}");
    print_grid("dx = col2im(wᵀ · dy)", &dx, 3);
    print_grid("dx from backward()", &engine_dx, 3);
    Ok(())
}

// ANCHOR: fused
/// `conv2d_relu` against `conv2d` followed by `relu`: outputs and all three gradients.
fn fused_conv_relu() -> Res<f32> {
    let mut rng = Rng::new(7);
    let x = Tensor::randn(&[2, 3, 6, 6], &mut rng).requires_grad();
    let w = Tensor::randn(&[4, 3, 3, 3], &mut rng).requires_grad();
    let b = Tensor::randn(&[4], &mut rng).requires_grad();
    let weights = Tensor::randn(&[2, 4, 6, 6], &mut rng); // makes the loss depend on each y
    let same = Conv2dParams::square(1, 1, 1);
    let fused = x.conv2d_relu(&w, Some(&b), same)?;
    let separate = x.conv2d(&w, Some(&b), same)?.relu()?;
    let grads_fused = fused.mul(&weights)?.sum_all()?.backward()?;
    let grads_separate = separate.mul(&weights)?.sum_all()?.backward()?;
    // ANCHOR_END: fused
    println!("\n== Fused convolution and ReLU");
    println!("conv2d_relu against conv2d followed by relu, 3 → 4 channels, 3×3, padding 1");
    let zeros = fused.to_vec()?.iter().filter(|&&v| v == 0.0).count();
    println!(
        "output [2, 4, 6, 6]: {zeros} of {} values cut to 0 by the ReLU",
        fused.numel()
    );
    let mut worst = max_difference(&fused, &separate)?;
    println!("max difference: output {worst:.1e}");
    for (name, t) in [("x", &x), ("w", &w), ("b", &b)] {
        let (a, s) = (grads_fused.get(t), grads_separate.get(t));
        let d = max_difference(a.ok_or("missing")?, s.ok_or("missing")?)?;
        println!("                gradient of {name} {d:.1e}");
        worst = worst.max(d);
    }
    Ok(worst)
}

fn max_difference(a: &Tensor, b: &Tensor) -> engine::Result<f32> {
    let (a, b) = (a.to_vec()?, b.to_vec()?);
    Ok(a.iter()
        .zip(&b)
        .map(|(u, v)| (u - v).abs())
        .fold(0.0, f32::max))
}

// ANCHOR: ties
/// Where max pooling sends the gradient of `y.sum()` for a picture of `side × side`.
fn pool_gradient(
    picture: &[f32],
    side: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Res<Vec<f32>> {
    let x = Tensor::from_slice(picture, &[1, 1, side, side])?.requires_grad();
    let y = x.max_pool2d(kernel, stride, padding)?;
    let grads = y.sum_all()?.backward()?;
    Ok(grads.get(&x).ok_or("no gradient")?.to_vec()?)
}
// ANCHOR_END: ties

fn pooling_ties() -> Res<()> {
    println!("\n== Max pooling ties");
    let tie = [3.0, 3.0, 1.0, 3.0];
    print_grid("a 2×2 picture with three equal maxima", &tie, 2);
    print_grid(
        "gradient of max_pool2d(2, 2, 0).sum()",
        &pool_gradient(&tie, 2, 2, 2, 0)?,
        2,
    );
    print_grid(
        "gradient of max_pool2d(3, 1, 1).sum(): four windows, all won by the first 3",
        &pool_gradient(&tie, 2, 3, 1, 1)?,
        2,
    );
    let peak = [1.0, 2.0, 1.0, 2.0, 9.0, 2.0, 1.0, 2.0, 1.0];
    print_grid("a 3×3 picture with a peak", &peak, 3);
    print_grid(
        "gradient of max_pool2d(2, 1, 0).sum(): the peak wins all four windows",
        &pool_gradient(&peak, 3, 2, 1, 0)?,
        3,
    );
    let x = Tensor::from_slice(&peak, &[1, 1, 3, 3])?.requires_grad();
    let grads = x.avg_pool2d(2, 1, 0)?.sum_all()?.backward()?;
    print_grid(
        "gradient of avg_pool2d(2, 1, 0).sum(): a quarter per window",
        &grads.get(&x).ok_or("no gradient")?.to_vec()?,
        3,
    );
    Ok(())
}
