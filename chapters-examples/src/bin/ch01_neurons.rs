//! Chapter 1 — Neurons and layers.
//!
//! A neuron weighs its inputs, adds a bias and squashes the result. A layer is many neurons
//! reading the same inputs, which makes it one matrix product. A network is layers in a row.
//! This example computes each of those by hand and with the engine, and prints every value.
//!
//! Run: `cargo run --release -p chapters-examples --bin ch01_neurons -- --out out/ch01`

use chapters_examples::figures::network::{draw_network, draw_neuron, Column};
use chapters_examples::{run_example, ExampleArgs, ExampleResult};
use clap::Parser;
use engine::nn::Linear;
use engine::vis::{save_line_plot_grid, DecisionBoundaryPlot, LinePlot};
use engine::{Result, Tensor};
use std::path::Path;
use std::process::ExitCode;

/// Chapter 1: one neuron, one layer, and a forward pass through a 2-3-2 network.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: ExampleArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example(|| run(&args))
}

fn run(args: &Args) -> ExampleResult {
    let out = args.common.output_dir("ch01")?;
    one_neuron()?;
    let network = TinyNetwork::hand_made()?;
    println!("\n== A 2-3-2 network, one input at a time");
    network.forward_verbose(&Tensor::from_vec(vec![1.0, 2.0], &[1, 2])?)?;
    println!("\n== The same network on a batch of four inputs at once");
    let batch = Tensor::from_vec(vec![1.0, 2.0, -1.0, 0.5, 0.0, 0.0, 2.0, -1.0], &[4, 2])?;
    let probabilities = network.forward(&batch)?;
    println!("inputs (one row each):\n{batch}");
    println!("class probabilities (one row each):\n{probabilities}");

    let resolution = if args.common.quick { 60 } else { 160 };
    draw_neuron_diagram(&out.join("neuron_diagram.png"))?;
    draw_network_diagram(&network, &out.join("network_diagram.png"))?;
    draw_neuron_responses(&out.join("neuron_response.png"))?;
    draw_network_output(
        &network,
        &batch,
        resolution,
        &out.join("network_output.png"),
    )?;
    println!("\npictures written to {}", out.display());
    Ok(())
}

// ANCHOR: one_neuron
/// One neuron with two inputs: z = w·x + b, then a = σ(z).
fn one_neuron() -> Result<()> {
    println!("== One neuron");
    let x = Tensor::from_vec(vec![2.0, 3.0], &[2])?; // the inputs
    let w = Tensor::from_vec(vec![0.8, -0.4], &[2])?; // one weight per input
    let b = Tensor::scalar(0.5); // the bias: how easily the neuron fires

    // The weighted sum: each input times its weight, added up, plus the bias.
    let z = x.mul(&w)?.sum_all()?.add(&b)?;
    // The activation squashes z into (0, 1): "how strongly does this neuron fire?"
    let a = z.sigmoid()?;

    println!("inputs x = {x}, weights w = {w}, bias b = {b}");
    println!("z = 0.8·2.0 + (−0.4)·3.0 + 0.5 = {:.4}", z.item()?);
    println!("a = σ(z) = 1 / (1 + e^−z) = {:.4}", a.item()?);
    Ok(())
}
// ANCHOR_END: one_neuron

// ANCHOR: network
/// Two fully connected layers: 2 inputs → 3 hidden ReLU neurons → 2 outputs (softmax).
struct TinyNetwork {
    hidden: Linear,
    output: Linear,
}

impl TinyNetwork {
    /// Weights chosen by hand so the printout is easy to follow (training picks them later).
    fn hand_made() -> Result<Self> {
        // Row i holds the weights of neuron i: 3 neurons × 2 inputs.
        let w1 = Tensor::from_vec(vec![0.5, -0.6, 0.9, 0.2, -0.3, 0.8], &[3, 2])?;
        let b1 = Tensor::from_vec(vec![0.1, 0.0, -0.2], &[3])?;
        // 2 output neurons × 3 hidden values.
        let w2 = Tensor::from_vec(vec![1.0, -0.5, 0.3, -0.7, 0.4, 0.9], &[2, 3])?;
        let b2 = Tensor::from_vec(vec![0.0, 0.1], &[2])?;
        Ok(TinyNetwork {
            hidden: Linear::from_tensors(w1, b1)?,
            output: Linear::from_tensors(w2, b2)?,
        })
    }

    /// A forward pass: each layer is z = x·Wᵀ + b followed by its activation.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let hidden = self.hidden.forward(x)?.relu()?;
        self.output.forward(&hidden)?.softmax(1)
    }
}
// ANCHOR_END: network

impl TinyNetwork {
    /// The same forward pass, printing every intermediate value.
    fn forward_verbose(&self, x: &Tensor) -> Result<Tensor> {
        println!("input x = {x}");
        println!(
            "hidden layer weights W₁ (one row per neuron):\n{}",
            self.hidden.weight
        );
        println!("hidden layer biases b₁ = {}", self.hidden.bias);
        let z1 = self.hidden.forward(x)?;
        explain_first_neuron(x, &self.hidden.weight, &self.hidden.bias)?;
        println!("z₁ = x·W₁ᵀ + b₁ = {z1}");
        let h = z1.relu()?;
        println!("h = relu(z₁)     = {h}   (negative sums become 0)");
        println!("output layer weights W₂:\n{}", self.output.weight);
        println!("output layer biases b₂ = {}", self.output.bias);
        let z2 = self.output.forward(&h)?;
        println!("z₂ = h·W₂ᵀ + b₂ = {z2}");
        let p = z2.softmax(1)?;
        println!("p = softmax(z₂)  = {p}   (two probabilities that add up to 1)");
        let parameters = self.hidden.weight.numel()
            + self.hidden.bias.numel()
            + self.output.weight.numel()
            + self.output.bias.numel();
        println!("parameters: 3·2 + 3 + 2·3 + 2 = {parameters}");
        Ok(p)
    }
}

/// A layer is just many neurons: recompute the first hidden neuron with a plain loop.
fn explain_first_neuron(x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<()> {
    let mut z = bias.get(&[0])?;
    let mut terms = Vec::new();
    for input in 0..x.shape()[1] {
        let (w, xi) = (weight.get(&[0, input])?, x.get(&[0, input])?);
        z += w * xi;
        terms.push(format!("({w})·({xi})"));
    }
    println!(
        "hidden neuron 0 by hand: {} + {} = {z:.4}",
        terms.join(" + "),
        bias.get(&[0])?
    );
    Ok(())
}

/// The neuron of `one_neuron`, drawn with its numbers.
fn draw_neuron_diagram(path: &Path) -> Result<()> {
    let (x, w, b) = ([2.0, 3.0], [0.8, -0.4], 0.5);
    let z: f32 = x.iter().zip(&w).map(|(x, w)| x * w).sum::<f32>() + b;
    let a = Tensor::scalar(z).sigmoid()?.item()?;
    draw_neuron(path, &x, &w, b, z, a)
}

/// The 2-3-2 network with its weights as edges and every neuron's value for the input (1, 2).
fn draw_network_diagram(network: &TinyNetwork, path: &Path) -> Result<()> {
    let x = Tensor::from_vec(vec![1.0, 2.0], &[1, 2])?;
    let h = network.hidden.forward(&x)?.relu()?;
    let p = network.forward(&x)?;
    let columns = [
        Column {
            title: "input x".into(),
            names: vec!["x₁".into(), "x₂".into()],
            values: x.to_vec()?,
        },
        Column {
            title: "hidden layer h (ReLU)".into(),
            names: vec!["h₀".into(), "h₁".into(), "h₂".into()],
            values: h.to_vec()?,
        },
        Column {
            title: "output p (softmax)".into(),
            names: vec!["p₀".into(), "p₁".into()],
            values: p.to_vec()?,
        },
    ];
    let weights = [
        network.hidden.weight.to_vec()?,
        network.output.weight.to_vec()?,
    ];
    draw_network(path, &columns, &weights)
}

/// How weight and bias shape a single sigmoid neuron's response to one input.
fn draw_neuron_responses(path: &Path) -> Result<()> {
    let xs = Tensor::linspace(-6.0, 6.0, 241);
    let curve = |w: f32, b: f32| -> Result<Vec<(f32, f32)>> {
        let a = xs.mul_scalar(w)?.add_scalar(b)?.sigmoid()?;
        Ok(xs.to_vec()?.into_iter().zip(a.to_vec()?).collect())
    };
    let mut by_weight = LinePlot::new("σ(w·x): the weight sets the steepness").axes("x", "a");
    for w in [0.5, 1.0, 2.0, 5.0] {
        by_weight = by_weight.line(format!("w = {w}"), curve(w, 0.0)?);
    }
    let mut by_bias = LinePlot::new("σ(x + b): the bias shifts the threshold").axes("x", "a");
    for b in [-3.0, 0.0, 3.0] {
        by_bias = by_bias.line(format!("b = {b}"), curve(1.0, b)?);
    }
    save_line_plot_grid(path, &[by_weight, by_bias], 2, (470, 340))
}

/// The hand-made network's probability of class 1 at every point of the plane.
fn draw_network_output(
    network: &TinyNetwork,
    batch: &Tensor,
    resolution: usize,
    path: &Path,
) -> Result<()> {
    let probabilities = network.forward(batch)?;
    let points: Vec<[f32; 2]> = batch.to_vec()?.chunks(2).map(|p| [p[0], p[1]]).collect();
    let predicted: Vec<usize> = probabilities
        .to_vec()?
        .chunks(2)
        .map(|p| usize::from(p[1] > p[0]))
        .collect();
    DecisionBoundaryPlot::new("hand-made 2-3-2 network: P(class 1)", &points, &predicted)?
        .resolution(resolution)
        .save(path, |grid| {
            let inputs = grid.iter().flat_map(|p| *p).collect();
            let p = network.forward(&Tensor::from_vec(inputs, &[grid.len(), 2])?)?;
            Ok(p.to_vec()?.chunks(2).map(|row| row[1]).collect())
        })
}
