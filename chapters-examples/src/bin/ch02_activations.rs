//! Chapter 2 — Activation functions.
//!
//! Without a non-linearity between them, stacked layers collapse into one linear map. This
//! example plots every activation the engine has together with its derivative, computes those
//! derivatives by reverse-mode autodiff (`backward()`), checks them against the formulas from
//! the chapter, and shows why saturating activations make gradients vanish.
//!
//! Run: `cargo run --release -p chapters-examples --bin ch02_activations -- --out out/ch02`

use chapters_examples::{run_example, ExampleArgs, ExampleResult};
use clap::Parser;
use engine::nn::Activation;
use engine::vis::{save_line_plot_grid, LegendCorner, LinePlot};
use engine::{Error, Result, Tensor};
use std::path::Path;
use std::process::ExitCode;

/// Chapter 2: activations and their derivatives, by formula and by autodiff.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: ExampleArgs,
}

/// Autodiff and the formulas must agree this closely (f32 arithmetic).
const TOLERANCE: f32 = 1e-5;

fn main() -> ExitCode {
    let args = Args::parse();
    run_example(|| run(&args))
}

fn run(args: &Args) -> ExampleResult {
    let out = args.common.output_dir("ch02")?;
    let samples = if args.common.quick { 101 } else { 401 };
    let xs = Tensor::linspace(-5.0, 5.0, samples);

    let worst = compare_with_formulas(&xs)?;
    draw_activations(&xs, &out.join("activations.png"))?;
    let worst_softmax = softmax_jacobian()?;
    draw_softmax(&out.join("softmax.png"))?;
    saturation(&out.join("saturation.png"))?;

    println!("\npictures written to {}", out.display());
    if worst.max(worst_softmax) > TOLERANCE {
        return Err(format!("autodiff and the formulas differ by up to {worst:e}").into());
    }
    println!("autodiff matches every formula to within {TOLERANCE:e}");
    Ok(())
}

// ANCHOR: autodiff_derivative
/// f(x) and f′(x) at every point of `xs`, the derivative found by reverse-mode autodiff.
fn values_and_derivatives(activation: Activation, xs: &Tensor) -> Result<(Vec<f32>, Vec<f32>)> {
    // A leaf that asks for its gradient.
    let x = xs.requires_grad();
    let y = activation.apply(&x)?;
    // yᵢ depends only on xᵢ, so ∂(Σⱼ yⱼ)/∂xᵢ = f′(xᵢ): one backward pass gives f′ everywhere.
    let gradients = y.sum_all()?.backward()?;
    let dy_dx = gradients.get_or_zeros(&x);
    Ok((y.to_vec()?, dy_dx?.to_vec()?))
}
// ANCHOR_END: autodiff_derivative

// ANCHOR: formulas
/// The derivatives worked out by hand in the chapter.
fn derivative_formula(activation: Activation, x: f32) -> f32 {
    match activation {
        // Flat on both sides of the jump (and undefined at 0): no gradient to learn from.
        Activation::Step => 0.0,
        Activation::Sigmoid => {
            let s = 1.0 / (1.0 + (-x).exp());
            s * (1.0 - s)
        }
        Activation::Tanh => 1.0 - x.tanh().powi(2),
        // At exactly 0 we use 0, like most libraries (any value in [0, 1] is a subgradient).
        Activation::Relu => f32::from(x > 0.0),
        Activation::LeakyRelu(slope) => {
            if x > 0.0 {
                1.0
            } else {
                slope
            }
        }
        Activation::Identity => 1.0,
    }
}
// ANCHOR_END: formulas

/// Print a table of values and derivatives; return the largest autodiff–formula difference.
fn compare_with_formulas(xs: &Tensor) -> Result<f32> {
    println!("== Activations and their derivatives (autodiff vs formula)");
    println!(
        "{:<16}{:>8}{:>8}{:>8}{:>9}{:>9}{:>9}   max |autodiff − formula|",
        "activation", "f(−2)", "f(0)", "f(2)", "f′(−2)", "f′(0)", "f′(2)"
    );
    let probe = Tensor::from_vec(vec![-2.0, 0.0, 2.0], &[3])?;
    let mut worst = 0.0f32;
    for activation in Activation::ALL {
        let (f, df) = values_and_derivatives(activation, &probe)?;
        let (_, df_grid) = values_and_derivatives(activation, xs)?;
        let difference = xs
            .to_vec()?
            .iter()
            .zip(&df_grid)
            .map(|(&x, &d)| (d - derivative_formula(activation, x)).abs())
            .fold(0.0, f32::max);
        worst = worst.max(difference);
        println!(
            "{:<16}{:>8.4}{:>8.4}{:>8.4}{:>9.4}{:>9.4}{:>9.4}   {difference:.1e}",
            activation.to_string(),
            f[0],
            f[1],
            f[2],
            df[0],
            df[1],
            df[2]
        );
    }
    Ok(worst)
}

/// One panel per activation: the function and its autodiff derivative.
fn draw_activations(xs: &Tensor, path: &Path) -> Result<()> {
    let mut panels = Vec::new();
    for activation in Activation::ALL {
        let (f, df) = values_and_derivatives(activation, xs)?;
        let x = xs.to_vec()?;
        panels.push(
            LinePlot::new(activation.to_string())
                .axes("x", "")
                .line("f(x)", x.iter().copied().zip(f).collect())
                .dashed("f′(x) by autodiff", x.iter().copied().zip(df).collect()),
        );
    }
    save_line_plot_grid(path, &panels, 2, (470, 330))
}

// ANCHOR: softmax_jacobian
/// Softmax turns scores into probabilities. Each output depends on every input, so its
/// derivative is a matrix J with Jᵢⱼ = ∂sᵢ/∂zⱼ = sᵢ(δᵢⱼ − sⱼ). Autodiff gives one row per
/// backward pass: seeding output i with 1 and the others with 0 yields ∂sᵢ/∂z.
fn softmax_jacobian() -> Result<f32> {
    println!("\n== Softmax over a vector");
    let z = Tensor::from_vec(vec![2.0, 1.0, 0.1], &[3])?.requires_grad();
    let s = z.softmax(0)?;
    println!(
        "scores z = {z}\nsoftmax(z) = {s}   (sum = {:.4})",
        s.sum_all()?.item()?
    );
    let probabilities = s.to_vec()?;
    let mut worst = 0.0f32;
    println!("Jacobian row by row: autodiff | formula");
    for i in 0..3 {
        let mut seed = vec![0.0; 3];
        seed[i] = 1.0;
        let row = s
            .backward_with(&Tensor::from_vec(seed, &[3])?)?
            .get_or_zeros(&z)?
            .to_vec()?;
        let formula: Vec<f32> = (0..3)
            .map(|j| probabilities[i] * (f32::from(i == j) - probabilities[j]))
            .collect();
        for (a, f) in row.iter().zip(&formula) {
            worst = worst.max((a - f).abs());
        }
        println!("  ∂s{i}/∂z = {} | {}", fmt_row(&row), fmt_row(&formula));
    }
    println!("max |autodiff − formula| = {worst:.1e}");
    Ok(worst)
}
// ANCHOR_END: softmax_jacobian

fn fmt_row(values: &[f32]) -> String {
    let cells: Vec<String> = values.iter().map(|v| format!("{v:>8.4}")).collect();
    format!("[{}]", cells.join(""))
}

/// How softmax's probabilities move as one score rises while the others stay put.
fn draw_softmax(path: &Path) -> Result<()> {
    let sweep = Tensor::linspace(-4.0, 6.0, 201).to_vec()?;
    let mut curves = vec![Vec::new(), Vec::new(), Vec::new()];
    for &z0 in &sweep {
        let s = Tensor::from_vec(vec![z0, 1.0, 0.1], &[3])?
            .softmax(0)?
            .to_vec()?;
        for (curve, p) in curves.iter_mut().zip(s) {
            curve.push((z0, p));
        }
    }
    let [p0, p1, p2] = <[_; 3]>::try_from(curves).map_err(|_| Error::invalid("softmax", "3"))?;
    LinePlot::new("softmax([z₀, 1.0, 0.1]) as z₀ grows")
        .axes("z₀", "probability")
        .y_range(0.0, 1.0)
        .line("s₀", p0)
        .line("s₁ (score 1.0)", p1)
        .line("s₂ (score 0.1)", p2)
        .save(path)
}

/// Sigmoid and tanh flatten out for large |x|: their derivative decays like e^−|x|, so a
/// neuron pushed far into either tail barely learns. ReLU keeps slope 1 for every x > 0.
fn saturation(path: &Path) -> Result<()> {
    println!("\n== Saturation: the derivative far from zero (autodiff)");
    println!("{:>6}{:>14}{:>14}{:>10}", "x", "sigmoid′", "tanh′", "relu′");
    let probe = Tensor::from_vec(vec![0.0, 1.0, 2.0, 5.0, 10.0, 20.0], &[6])?;
    let (_, sigmoid) = values_and_derivatives(Activation::Sigmoid, &probe)?;
    let (_, tanh) = values_and_derivatives(Activation::Tanh, &probe)?;
    let (_, relu) = values_and_derivatives(Activation::Relu, &probe)?;
    for (i, x) in probe.to_vec()?.iter().enumerate() {
        println!(
            "{x:>6}{:>14.3e}{:>14.3e}{:>10}",
            sigmoid[i], tanh[i], relu[i]
        );
    }
    println!("(exact zeros: in f32, σ(x) and tanh(x) round to exactly 1 for large x, so 1 − σ and 1 − tanh² are 0)");

    println!("\n== A chain of L activations: the gradient of f(f(...f(1.0)))");
    println!("{:>4}{:>14}{:>14}{:>10}", "L", "sigmoid", "tanh", "relu");
    let mut depth_curves = [Vec::new(), Vec::new(), Vec::new()];
    for depth in 1..=10 {
        let mut row = Vec::new();
        for (k, activation) in [Activation::Sigmoid, Activation::Tanh, Activation::Relu]
            .into_iter()
            .enumerate()
        {
            let g = chain_gradient(activation, depth, 1.0)?;
            depth_curves[k].push((depth as f32, g.log10()));
            row.push(g);
        }
        println!(
            "{depth:>4}{:>14.3e}{:>14.3e}{:>10.3}",
            row[0], row[1], row[2]
        );
    }
    let [chain_sigmoid, chain_tanh, chain_relu] = depth_curves;

    let xs = Tensor::linspace(0.0, 12.0, 241);
    let (_, sigmoid) = values_and_derivatives(Activation::Sigmoid, &xs)?;
    let (_, tanh) = values_and_derivatives(Activation::Tanh, &xs)?;
    let log_curve = |ds: Vec<f32>| -> Result<Vec<(f32, f32)>> {
        Ok(xs
            .to_vec()?
            .into_iter()
            .zip(ds)
            .map(|(x, d)| (x, d.log10())) // log10(0) = −∞ is left out of the plot
            .collect())
    };
    let by_input = LinePlot::new("derivative vs input: saturation")
        .axes("x", "log₁₀ f′(x)")
        .line("sigmoid′", log_curve(sigmoid)?)
        .line("tanh′", log_curve(tanh)?)
        .dashed("relu′ = 1", vec![(0.01, 0.0), (12.0, 0.0)])
        .legend(LegendCorner::LowerLeft);
    let by_depth = LinePlot::new("gradient through L stacked activations")
        .axes("L (layers)", "log₁₀ ∂output/∂input")
        .line("sigmoid", chain_sigmoid)
        .line("tanh", chain_tanh)
        .dashed("relu", chain_relu)
        .legend(LegendCorner::LowerLeft);
    save_line_plot_grid(path, &[by_input, by_depth], 2, (470, 340))
}

// ANCHOR: chain_gradient
/// d/dx of f applied `depth` times, at `x`: the chain rule multiplies one f′ per layer.
fn chain_gradient(activation: Activation, depth: usize, x: f32) -> Result<f32> {
    let input = Tensor::scalar(x).requires_grad();
    let mut value = input.clone();
    for _ in 0..depth {
        value = activation.apply(&value)?;
    }
    value.backward()?.get_or_zeros(&input)?.item()
}
// ANCHOR_END: chain_gradient
