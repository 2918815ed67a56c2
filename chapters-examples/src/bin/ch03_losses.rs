//! Chapter 3 — Loss functions.
//!
//! A loss turns "how wrong is the network?" into one number that gradient descent can push
//! down. This example draws mean squared error and log loss, shows why log loss suits a
//! sigmoid output, draws a two-parameter loss surface with the path gradient descent takes
//! across it, and shows that one sigmoid neuron trained with log loss *is* logistic
//! regression: its weights match an independent Newton's-method fit to 1e-3.
//!
//! Run: `cargo run --release -p chapters-examples --bin ch03_losses -- --out out/ch03`

use chapters_examples::data::gaussian_blobs;
use chapters_examples::{run_example, Dataset2d, ExampleArgs, ExampleResult};
use clap::Parser;
use engine::nn::loss::{binary_log_loss, mse};
use engine::nn::{Optimizer, Sgd};
use engine::vis::{save_line_plot_grid, DecisionBoundaryPlot, LegendCorner, LinePlot, SurfacePlot};
use engine::{no_grad, Result, Rng, Tensor};
use std::path::Path;
use std::process::ExitCode;

/// Chapter 3: MSE and log loss, a loss surface, and logistic regression as one neuron.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: ExampleArgs,
}

/// The neuron and Newton's method must agree on every weight to within this.
const AGREEMENT: f64 = 1e-3;

fn main() -> ExitCode {
    let args = Args::parse();
    run_example(|| run(&args))
}

fn run(args: &Args) -> ExampleResult {
    let out = args.common.output_dir("ch03")?;
    let quick = args.common.quick;
    compare_losses(&out.join("loss_curves.png"))?;
    loss_surface(quick, &out.join("loss_surface.png"))?;
    let difference = logistic_regression(quick, &out.join("logistic_regression.png"))?;
    println!("\npictures written to {}", out.display());
    if difference > AGREEMENT {
        return Err(format!(
            "the neuron and Newton's method disagree: max weight difference {difference:.2e} > {AGREEMENT:e}"
        )
        .into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 1. Two losses for a prediction whose true label is 1
// ---------------------------------------------------------------------------------------------

// ANCHOR: loss_and_gradient
/// For one example with label 1 and logit z (p = σ(z)): each loss and its gradient ∂L/∂z.
fn losses_at(z: f32) -> Result<[f32; 4]> {
    let target = Tensor::from_vec(vec![1.0], &[1])?;
    let logit = Tensor::from_vec(vec![z], &[1])?.requires_grad();
    let p = logit.sigmoid()?;

    let squared = mse(&p, &target)?;
    let squared_grad = squared.backward()?.get_or_zeros(&logit)?.item()?;

    let log_loss = binary_log_loss(&p, &target)?;
    let log_grad = log_loss.backward()?.get_or_zeros(&logit)?.item()?;

    Ok([squared.item()?, squared_grad, log_loss.item()?, log_grad])
}
// ANCHOR_END: loss_and_gradient

fn compare_losses(path: &Path) -> Result<()> {
    println!("== MSE and log loss for one example whose label is 1");
    println!(
        "{:>6}{:>10}{:>12}{:>14}{:>12}{:>14}",
        "z", "p = σ(z)", "MSE", "∂MSE/∂z", "log loss", "∂log loss/∂z"
    );
    for z in [-8.0, -4.0, -2.0, 0.0, 2.0, 4.0] {
        let [squared, squared_grad, log_loss, log_grad] = losses_at(z)?;
        let p = 1.0 / (1.0 + (-z).exp());
        println!(
            "{z:>6}{p:>10.4}{squared:>12.4}{squared_grad:>14.2e}{log_loss:>12.4}{log_grad:>14.4}"
        );
    }
    println!("A confidently wrong sigmoid (z = −8) gets almost no gradient from MSE,");
    println!("but a gradient of nearly −1 from log loss: log loss keeps learning fast.");

    let ps = Tensor::linspace(0.005, 1.0, 200).to_vec()?;
    let by_probability = LinePlot::new("loss vs predicted probability (label 1)")
        .axes("p", "loss")
        .line(
            "MSE = (1 − p)²",
            ps.iter().map(|&p| (p, (1.0 - p).powi(2))).collect(),
        )
        .line(
            "log loss = −ln p",
            ps.iter().map(|&p| (p, -p.ln())).collect(),
        )
        .legend(LegendCorner::UpperRight);

    let zs = Tensor::linspace(-8.0, 6.0, 141).to_vec()?;
    let table: Vec<[f32; 4]> = zs.iter().map(|&z| losses_at(z)).collect::<Result<_>>()?;
    let column = |k: usize| -> Vec<(f32, f32)> {
        zs.iter().zip(&table).map(|(&z, row)| (z, row[k])).collect()
    };
    let by_logit = LinePlot::new("gradient reaching the logit z")
        .axes("z (p = σ(z))", "∂L/∂z")
        .line("MSE", column(1))
        .line("log loss", column(3))
        .legend(LegendCorner::LowerRight);
    save_line_plot_grid(path, &[by_probability, by_logit], 2, (470, 340))
}

// ---------------------------------------------------------------------------------------------
// 2. A loss surface and the path gradient descent takes across it
// ---------------------------------------------------------------------------------------------

/// Noisy points around the line y = 1.5·x + 0.8, with x between 0 and 4.
fn line_data(rng: &mut Rng) -> Result<(Tensor, Tensor)> {
    let n = 40;
    let xs: Vec<f32> = (0..n).map(|_| rng.uniform_in(0.0, 4.0)).collect();
    let ys: Vec<f32> = xs
        .iter()
        .map(|x| 1.5 * x + 0.8 + 0.4 * rng.normal())
        .collect();
    Ok((
        Tensor::from_vec(xs, &[n, 1])?,
        Tensor::from_vec(ys, &[n, 1])?,
    ))
}

// ANCHOR: surface_loss
/// The model ŷ = w·x + b has two parameters, so its loss is a surface over the (w, b) plane.
fn line_loss(w: &Tensor, b: &Tensor, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    let prediction = x.mul(w)?.add(b)?;
    mse(&prediction, y)
}
// ANCHOR_END: surface_loss

fn loss_surface(quick: bool, path: &Path) -> Result<()> {
    println!("\n== Gradient descent on the loss surface of ŷ = w·x + b");
    let (x, y) = line_data(&mut Rng::new(3))?;
    let grid = if quick { 21 } else { 41 };
    let ws = Tensor::linspace(-0.5, 3.0, grid).to_vec()?;
    let bs = Tensor::linspace(-2.0, 5.0, grid).to_vec()?;
    let surface = SurfacePlot::from_fn("MSE of ŷ = w·x + b", ws, bs, |w, b| {
        no_grad(|| line_loss(&Tensor::scalar(w), &Tensor::scalar(b), &x, &y)?.item())
    })?
    .labels("w", "b");

    // ANCHOR: descent_path
    const STEPS: usize = 150;
    let mut w = Tensor::scalar(2.8).requires_grad();
    let mut b = Tensor::scalar(4.5).requires_grad();
    let mut optimiser = Sgd::new(0.05, 0.0)?; // plain gradient descent, learning rate 0.05
    let mut path_taken = Vec::new();
    for step in 0..=STEPS {
        let loss = line_loss(&w, &b, &x, &y)?;
        path_taken.push((w.item()?, b.item()?, loss.item()?));
        if step % 30 == 0 {
            println!(
                "step {step:>3}: w = {:.4}, b = {:.4}, loss = {:.4}",
                w.item()?,
                b.item()?,
                loss.item()?
            );
        }
        let gradients = loss.backward()?;
        optimiser.step(&mut [&mut w, &mut b], &gradients)?; // w ← w − 0.05·∂L/∂w, same for b
    }
    // ANCHOR_END: descent_path
    let (best_w, best_b) = least_squares_line(&x, &y)?;
    println!("least squares (closed form): w = {best_w:.4}, b = {best_b:.4}");
    surface.path(path_taken).save(path)
}

/// The exact minimiser of the MSE for a line: w = cov(x, y) / var(x), b = ȳ − w·x̄.
fn least_squares_line(x: &Tensor, y: &Tensor) -> Result<(f64, f64)> {
    let (x, y) = (x.to_vec()?, y.to_vec()?);
    let n = x.len() as f64;
    let mean = |v: &[f32]| v.iter().map(|&a| a as f64).sum::<f64>() / n;
    let (mx, my) = (mean(&x), mean(&y));
    let cov: f64 = x
        .iter()
        .zip(&y)
        .map(|(&a, &b)| (a as f64 - mx) * (b as f64 - my))
        .sum();
    let var: f64 = x.iter().map(|&a| (a as f64 - mx).powi(2)).sum();
    let w = cov / var;
    Ok((w, my - w * mx))
}

// ---------------------------------------------------------------------------------------------
// 3. One sigmoid neuron with log loss is logistic regression
// ---------------------------------------------------------------------------------------------

// ANCHOR: neuron
/// A single neuron: p = σ(x·w + b), with x one example per row.
fn neuron(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    x.matmul(w)?.add(b)?.sigmoid()
}

/// Fit the neuron by gradient descent on the log loss; returns [w₁, w₂, b].
fn train_neuron(data: &Dataset2d, steps: usize) -> Result<[f64; 3]> {
    let (x, y) = (data.inputs()?, data.targets()?);
    let mut w = Tensor::zeros(&[2, 1]).requires_grad();
    let mut b = Tensor::zeros(&[1]).requires_grad();
    let mut optimiser = Sgd::new(1.0, 0.9)?; // momentum speeds up the slow final approach
    for step in 0..steps {
        let loss = binary_log_loss(&neuron(&x, &w, &b)?, &y)?;
        if step % (steps / 5) == 0 {
            println!("step {step:>5}: log loss = {:.6}", loss.item()?);
        }
        let gradients = loss.backward()?;
        optimiser.step(&mut [&mut w, &mut b], &gradients)?;
    }
    let w = w.to_vec()?;
    Ok([w[0] as f64, w[1] as f64, b.item()? as f64])
}
// ANCHOR_END: neuron

// ANCHOR: newton
/// Logistic regression the statistician's way: Newton's method on the same log loss, in f64,
/// with no autodiff. Each step solves H·Δ = g with the exact gradient g = Xᵀ(p − y)/n and
/// Hessian H = Xᵀ·diag(p(1 − p))·X/n, where X has a column of ones for the bias.
fn newton_logistic_regression(data: &Dataset2d) -> [f64; 3] {
    let n = data.len() as f64;
    let mut theta = [0.0f64; 3]; // w₁, w₂, b
    for _ in 0..50 {
        let mut gradient = [0.0f64; 3];
        let mut hessian = [[0.0f64; 3]; 3];
        for (point, &label) in data.points.iter().zip(&data.labels) {
            let x = [point[0] as f64, point[1] as f64, 1.0];
            let z: f64 = (0..3).map(|i| theta[i] * x[i]).sum();
            let p = 1.0 / (1.0 + (-z).exp());
            for i in 0..3 {
                gradient[i] += (p - label as f64) * x[i] / n;
                for j in 0..3 {
                    hessian[i][j] += p * (1.0 - p) * x[i] * x[j] / n;
                }
            }
        }
        let delta = solve_3x3(hessian, gradient);
        for i in 0..3 {
            theta[i] -= delta[i];
        }
        if delta.iter().all(|d| d.abs() < 1e-13) {
            break; // Newton converges quadratically: a handful of steps is enough
        }
    }
    theta
}
// ANCHOR_END: newton

/// Solve A·x = r for a 3×3 system by Cramer's rule (fine for one small, well-conditioned
/// system; use an LU factorisation for anything bigger).
fn solve_3x3(a: [[f64; 3]; 3], r: [f64; 3]) -> [f64; 3] {
    let det = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(a);
    let mut x = [0.0; 3];
    for (column, value) in x.iter_mut().enumerate() {
        let mut replaced = a;
        for row in 0..3 {
            replaced[row][column] = r[row];
        }
        *value = det(replaced) / d;
    }
    x
}

/// Train the neuron, fit by Newton's method, print both, and return their largest difference.
fn logistic_regression(quick: bool, path: &Path) -> Result<f64> {
    println!("\n== One sigmoid neuron + log loss = logistic regression");
    // Overlapping clouds: no line separates them perfectly, so the best weights are finite.
    let data = gaussian_blobs(100, [-1.0, -0.5], [1.0, 1.0], 1.2, &mut Rng::new(7));
    let neuron_weights = train_neuron(&data, if quick { 800 } else { 2000 })?;
    let newton_weights = newton_logistic_regression(&data);
    let difference = neuron_weights
        .iter()
        .zip(&newton_weights)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    println!("{:<26}{:>10}{:>10}{:>10}", "", "w₁", "w₂", "b");
    let row =
        |name: &str, t: &[f64; 3]| println!("{name:<26}{:>10.5}{:>10.5}{:>10.5}", t[0], t[1], t[2]);
    row("neuron (gradient descent)", &neuron_weights);
    row("Newton's method (f64)", &newton_weights);
    println!("max |difference| = {difference:.2e} (must be below {AGREEMENT:e})");

    let [w1, w2, b] = newton_weights.map(|v| v as f32);
    let correct = data
        .points
        .iter()
        .zip(&data.labels)
        .filter(|(p, &label)| usize::from(w1 * p[0] + w2 * p[1] + b > 0.0) == label)
        .count();
    println!(
        "training accuracy: {:.1}% (the clouds overlap, so 100% is impossible for a line)",
        100.0 * correct as f64 / data.len() as f64
    );

    let (w, bias) = (
        Tensor::from_vec(
            vec![neuron_weights[0] as f32, neuron_weights[1] as f32],
            &[2, 1],
        )?,
        Tensor::scalar(neuron_weights[2] as f32),
    );
    DecisionBoundaryPlot::new(
        "one neuron = logistic regression",
        &data.points,
        &data.labels,
    )?
    .resolution(if quick { 60 } else { 160 })
    .save(path, |grid| {
        let inputs = Tensor::from_vec(grid.iter().flat_map(|p| *p).collect(), &[grid.len(), 2])?;
        neuron(&inputs, &w, &bias)?.to_vec()
    })?;
    Ok(difference)
}
