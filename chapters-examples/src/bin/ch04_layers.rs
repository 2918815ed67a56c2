//! Chapter 4, inside the engine — initialisation and optimisers, measured.
//!
//! How large the pre-activations of a deep stack of `Linear` layers stay with each
//! initialiser, and what one step of the engine's `Sgd` (with momentum) and `Adam` (with its
//! bias correction) does to a parameter whose gradient never changes.
//!
//! Run: `cargo run --release -p chapters-examples --bin ch04_layers` (a second or so; it
//! draws no pictures, and `--quick` only makes the stack narrower).

use chapters_examples::{run_example, ExampleArgs, ExampleResult};
use clap::Parser;
use engine::nn::init::Init;
use engine::nn::{Adam, Linear, Optimizer, Sgd};
use engine::{no_grad, Rng, Tensor};
use std::process::ExitCode;

/// Chapter 4, inside the engine: initialisers and optimisers.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: ExampleArgs,
}

/// Layers in the stack.
const DEPTH: usize = 10;

fn main() -> ExitCode {
    let args = Args::parse();
    run_example(|| run(&args))
}

fn run(args: &Args) -> ExampleResult {
    let width = if args.common.quick { 128 } else { 256 };
    variance_through_depth(width)?;
    momentum_steps()?;
    adam_steps()?;
    Ok(())
}

/// An activation function, as the stack applies it.
type Activation = fn(&Tensor) -> engine::Result<Tensor>;

// ANCHOR: stack
/// The root mean square of the pre-activations z = a·Wᵀ + b of every layer of a stack of
/// `DEPTH` square layers, for a batch of standard normal inputs.
fn rms_through_depth(width: usize, init: Init, f: Activation) -> engine::Result<Vec<f32>> {
    let mut rng = Rng::new(1);
    let mut a = Tensor::randn(&[256, width], &mut rng);
    let mut rms = Vec::new();
    for _ in 0..DEPTH {
        let layer = Linear::new(width, width, init, &mut rng);
        let z = no_grad(|| layer.forward(&a))?;
        rms.push(z.square()?.mean_all()?.item()?.sqrt());
        a = f(&z)?;
    }
    Ok(rms)
}
// ANCHOR_END: stack

fn variance_through_depth(width: usize) -> engine::Result<()> {
    println!("\n== Pre-activations layer by layer");
    println!("{DEPTH} layers of {width} neurons, a batch of 256 standard normal inputs");
    let relu: Activation = |z| z.relu();
    let tanh: Activation = |z| z.tanh();
    let columns = [
        rms_through_depth(width, Init::XavierNormal, tanh)?,
        rms_through_depth(width, Init::XavierNormal, relu)?,
        rms_through_depth(width, Init::HeNormal, relu)?,
        rms_through_depth(width, Init::HeNormal, tanh)?,
    ];
    println!("root mean square of z = a·Wᵀ + b, layer by layer (the inputs have 1.0):");
    println!("layer  Xavier + tanh  Xavier + ReLU  He + ReLU  He + tanh");
    for layer in 0..DEPTH {
        let [a, b, c, d] = columns.each_ref().map(|c| c[layer]);
        println!("{:>5}  {a:>13.3}  {b:>13.3}  {c:>9.3}  {d:>9.3}", layer + 1);
    }
    Ok(())
}

// ANCHOR: constant_gradient
/// `steps` updates of one parameter θ (starting at 0) under the loss 3·θ, whose gradient is 3
/// whatever θ is; returns θ after each step.
fn follow(optimiser: &mut dyn Optimizer, steps: usize) -> engine::Result<Vec<f32>> {
    let mut theta = Tensor::zeros(&[1]).requires_grad();
    let mut path = Vec::new();
    for _ in 0..steps {
        let grads = theta.mul_scalar(3.0)?.sum_all()?.backward()?;
        optimiser.step(&mut [&mut theta], &grads)?;
        path.push(theta.item()?);
    }
    Ok(path)
}
// ANCHOR_END: constant_gradient

fn momentum_steps() -> engine::Result<()> {
    println!("\n== SGD with momentum");
    println!("the loss 3·θ: gradient 3 at every step; η = 0.01");
    let plain = follow(&mut Sgd::new(0.01, 0.0)?, 30)?;
    let momentum = follow(&mut Sgd::new(0.01, 0.9)?, 30)?;
    println!("step   θ (μ = 0)   step size   θ (μ = 0.9)   step size");
    let mut previous = (0.0, 0.0);
    for (t, (&p, &m)) in plain.iter().zip(&momentum).enumerate() {
        if t < 5 || (t + 1) % 5 == 0 {
            let (dp, dm) = (previous.0 - p, previous.1 - m);
            println!("{:>4}  {p:>10.4}  {dp:>10.4}  {m:>12.4}  {dm:>10.4}", t + 1);
        }
        previous = (p, m);
    }
    Ok(())
}

fn adam_steps() -> engine::Result<()> {
    println!("\n== Adam");
    println!("the loss 3·θ: gradient 3 at every step; η = 0.01, β₁ = 0.9, β₂ = 0.999");
    let path = follow(&mut Adam::new(0.01)?, 5)?;
    let (beta1, beta2, g) = (0.9f32, 0.999f32, 3.0f32);
    println!("step   θ (engine)   step size   without bias correction");
    let mut previous = 0.0;
    for (t, &theta) in path.iter().enumerate() {
        // m and v after t + 1 steps of a constant gradient, before any correction.
        let n = t as i32 + 1;
        let m = (1.0 - beta1.powi(n)) * g;
        let v = (1.0 - beta2.powi(n)) * g * g;
        let uncorrected = 0.01 * m / (v.sqrt() + 1e-8);
        let step = previous - theta;
        println!("{n:>4}  {theta:>11.4}  {step:>10.4}  {uncorrected:>12.4}");
        previous = theta;
    }
    Ok(())
}
