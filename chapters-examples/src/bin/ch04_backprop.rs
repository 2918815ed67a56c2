//! Chapter 4 — Gradient descent and backpropagation.
//!
//! Training is one loop: start from random weights, run the network forward, measure the
//! loss, let backpropagation find every weight's gradient, step each weight a little downhill,
//! and repeat. This example first checks backpropagation against the chain rule written out
//! by hand, then trains a small multi-layer perceptron on two interleaved spirals — a data set
//! no single neuron can separate — and draws the loss curve and the decision boundary.
//!
//! Run: `cargo run --release -p chapters-examples --bin ch04_backprop -- --out out/ch04`

use chapters_examples::data::two_spirals;
use chapters_examples::{run_example, Dataset2d, DeviceArgs, ExampleArgs, ExampleResult};
use clap::Parser;
use engine::nn::init::Init;
use engine::nn::loss::binary_log_loss_with_logits;
use engine::nn::{Adam, Linear, Optimizer};
use engine::vis::{save_line_plot_grid, DecisionBoundaryPlot, LegendCorner, LinePlot};
use engine::{no_grad, Result, Rng, Tensor};
use std::path::Path;
use std::process::ExitCode;

/// Chapter 4: backpropagation by hand vs autodiff, then a full training loop on spirals.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: ExampleArgs,

    #[command(flatten)]
    device: DeviceArgs,

    /// Passes over the training data (default: 400, or 150 with --quick).
    #[arg(long)]
    epochs: Option<usize>,

    /// Adam's learning rate.
    #[arg(long, default_value_t = 0.01)]
    learning_rate: f32,

    /// Neurons in each of the two hidden layers.
    #[arg(long, default_value_t = 32)]
    hidden: usize,

    /// Seed for the data and the initial weights.
    #[arg(long, default_value_t = 4)]
    seed: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example(|| run(&args))
}

fn run(args: &Args) -> ExampleResult {
    let quick = args.common.quick;
    let epochs = args.epochs.unwrap_or(if quick { 150 } else { 400 });
    if epochs == 0 || args.hidden == 0 {
        return Err("--epochs and --hidden must be at least 1".into());
    }
    let out = args.common.output_dir("ch04")?;
    let device = args.device.open()?;

    let worst = backprop_by_hand_matches_autodiff()?;
    if worst > 1e-5 {
        return Err(format!("hand-written backprop differs from autodiff by {worst:e}").into());
    }

    let mut rng = Rng::new(args.seed);
    let data = two_spirals(if quick { 100 } else { 200 }, 1.25, 0.08, &mut rng);
    println!(
        "\n== Training a 2-{h}-{h}-1 network on {} spiral points",
        data.len(),
        h = args.hidden
    );
    let mut network = Mlp::new(&[2, args.hidden, args.hidden, 1], &mut rng).to_device(device)?;
    println!("{} trainable numbers", network.parameter_count());
    let history = train(&mut network, &data, epochs, args.learning_rate, &mut rng)?;

    let accuracy = history.last().map_or(0.0, |e| e.accuracy);
    println!("final accuracy: {:.1}%", 100.0 * accuracy);
    // Fresh points from the same spirals, never seen in training: does the rule generalise?
    let unseen = two_spirals(200, 1.25, 0.08, &mut Rng::new(args.seed + 1000));
    println!(
        "accuracy on {} unseen points: {:.1}%",
        unseen.len(),
        100.0 * accuracy_on(&network, &unseen)?
    );
    draw_history(&history, &out.join("loss_curve.png"))?;
    let title = format!("2-{h}-{h}-1 network after {epochs} epochs", h = args.hidden);
    DecisionBoundaryPlot::new(title, &data.points, &data.labels)?
        .resolution(if quick { 80 } else { 200 })
        .save(out.join("decision_boundary.png"), |grid| {
            let inputs =
                Tensor::from_vec(grid.iter().flat_map(|p| *p).collect(), &[grid.len(), 2])?;
            network.probabilities(&inputs)?.to_vec()
        })?;
    println!("pictures written to {}", out.display());
    Ok(())
}

// ANCHOR: mlp
/// A multi-layer perceptron: linear layers with tanh between them. The last layer has no
/// activation; its output is a logit z, and P(class 1) = σ(z).
struct Mlp {
    layers: Vec<Linear>,
}

impl Mlp {
    /// `sizes` = [inputs, hidden…, outputs]; weights random (Xavier, suited to tanh).
    fn new(sizes: &[usize], rng: &mut Rng) -> Self {
        let layers = sizes
            .windows(2)
            .map(|pair| Linear::new(pair[0], pair[1], Init::XavierUniform, rng))
            .collect();
        Mlp { layers }
    }

    /// Logits for a batch `[n, inputs]` → `[n, 1]`, computed where the weights are.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut activation = x.to_device(self.layers[0].weight.device())?;
        for (i, layer) in self.layers.iter().enumerate() {
            activation = layer.forward(&activation)?;
            if i + 1 < self.layers.len() {
                activation = activation.tanh()?;
            }
        }
        Ok(activation)
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor> {
        self.layers
            .iter_mut()
            .flat_map(|l| l.parameters_mut())
            .collect()
    }
}
// ANCHOR_END: mlp

impl Mlp {
    fn to_device(&self, device: engine::Device) -> Result<Self> {
        let layers = self
            .layers
            .iter()
            .map(|l| l.to_device(device))
            .collect::<Result<_>>()?;
        Ok(Mlp { layers })
    }

    fn probabilities(&self, x: &Tensor) -> Result<Tensor> {
        no_grad(|| self.forward(x)?.sigmoid())
    }

    fn parameter_count(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.weight.numel() + l.bias.numel())
            .sum()
    }
}

/// Loss and accuracy after one epoch.
struct EpochRecord {
    loss: f32,
    accuracy: f32,
}

// ANCHOR: training_loop
fn train(
    network: &mut Mlp,
    data: &Dataset2d,
    epochs: usize,
    learning_rate: f32,
    rng: &mut Rng,
) -> Result<Vec<EpochRecord>> {
    let batch_size = 32;
    let mut optimiser = Adam::new(learning_rate)?;
    let mut history = Vec::new();
    println!("{:>6}{:>12}{:>10}", "epoch", "loss", "accuracy");
    for epoch in 1..=epochs {
        // A fresh random order every epoch, so each mini-batch is a different sample.
        let mut order: Vec<usize> = (0..data.len()).collect();
        rng.shuffle(&mut order);
        let mut loss_sum = 0.0;
        for indices in order.chunks(batch_size) {
            let batch = data.subset(indices);
            let logits = network.forward(&batch.inputs()?)?; // 2. forward
            let targets = batch.targets()?.to_device(logits.device())?;
            let loss = binary_log_loss_with_logits(&logits, &targets)?; // 3. loss
            let gradients = loss.backward()?; // 4. backward: ∂loss/∂every weight
            optimiser.step(&mut network.parameters_mut(), &gradients)?; // 5. update
            loss_sum += loss.item()? * batch.len() as f32;
        }
        let record = EpochRecord {
            loss: loss_sum / data.len() as f32,
            accuracy: accuracy_on(network, data)?,
        };
        if epoch <= 5 || epoch % (epochs / 10).max(1) == 0 {
            println!(
                "{epoch:>6}{:>12.5}{:>9.1}%",
                record.loss,
                100.0 * record.accuracy
            );
        }
        history.push(record);
    }
    Ok(history)
}
// ANCHOR_END: training_loop

/// Fraction of points on the right side of the decision boundary (P(class 1) > ½).
fn accuracy_on(network: &Mlp, data: &Dataset2d) -> Result<f32> {
    let p = network.probabilities(&data.inputs()?)?.to_vec()?;
    let correct = p
        .iter()
        .zip(&data.labels)
        .filter(|(&p, &label)| usize::from(p > 0.5) == label)
        .count();
    Ok(correct as f32 / data.len() as f32)
}

fn draw_history(history: &[EpochRecord], path: &Path) -> Result<()> {
    let epoch = |i: usize| (i + 1) as f32;
    let loss = LinePlot::new("training loss per epoch")
        .axes("epoch", "mean log loss")
        .line(
            "loss",
            history
                .iter()
                .enumerate()
                .map(|(i, r)| (epoch(i), r.loss))
                .collect(),
        )
        .legend(LegendCorner::UpperRight);
    let accuracy = LinePlot::new("training accuracy per epoch")
        .axes("epoch", "accuracy (%)")
        .y_range(40.0, 101.0)
        .line(
            "accuracy",
            history
                .iter()
                .enumerate()
                .map(|(i, r)| (epoch(i), 100.0 * r.accuracy))
                .collect(),
        )
        .legend(LegendCorner::LowerRight);
    save_line_plot_grid(path, &[loss, accuracy], 2, (470, 340))
}

// ANCHOR: backprop_by_hand
/// The chain rule written out for a 2-3-1 network (tanh hidden layer, sigmoid output, log
/// loss), next to what `backward()` computes for the same network. Going backwards, each line
/// turns the gradient of a layer's output into the gradients of its weights and its input.
fn backprop_by_hand_matches_autodiff() -> Result<f32> {
    println!("== Backpropagation by hand vs autodiff (2-3-1 network, 4 examples)");
    let mut rng = Rng::new(1);
    let l1 = Linear::new(2, 3, Init::XavierUniform, &mut rng);
    let l2 = Linear::new(3, 1, Init::XavierUniform, &mut rng);
    let x = Tensor::randn(&[4, 2], &mut rng);
    let y = Tensor::from_vec(vec![0.0, 1.0, 1.0, 0.0], &[4, 1])?;
    let n = 4.0;

    // Autodiff: forward, then backward() walks the graph in reverse.
    let h = l1.forward(&x)?.tanh()?;
    let z = l2.forward(&h)?;
    let auto = binary_log_loss_with_logits(&z, &y)?.backward()?;

    // By hand, with no graph: every step is a formula from the chapter.
    let by_hand = no_grad(|| -> Result<[Tensor; 4]> {
        let p = z.sigmoid()?;
        let dz = p.sub(&y)?.mul_scalar(1.0 / n)?; // ∂L/∂z = (p − y)/n
        let dw2 = dz.t()?.matmul(&h)?; // ∂L/∂W₂ = dzᵀ·h
        let db2 = dz.sum(&[0], false)?; // ∂L/∂b₂ = Σ dz
        let dh = dz.matmul(&l2.weight)?; // ∂L/∂h = dz·W₂
        let one_minus_h2 = h.square()?.affine(-1.0, 1.0)?; // tanh′ = 1 − tanh²
        let dz1 = dh.mul(&one_minus_h2)?; // ∂L/∂z₁ = ∂L/∂h ⊙ (1 − h²)
        let dw1 = dz1.t()?.matmul(&x)?; // ∂L/∂W₁ = dz₁ᵀ·x
        let db1 = dz1.sum(&[0], false)?; // ∂L/∂b₁ = Σ dz₁
        Ok([dw1, db1, dw2, db2])
    })?;

    let params = [&l1.weight, &l1.bias, &l2.weight, &l2.bias];
    let names = ["W₁", "b₁", "W₂", "b₂"];
    let mut worst = 0.0f32;
    for ((param, hand), name) in params.iter().zip(&by_hand).zip(names) {
        let autodiff = auto.get_or_zeros(param)?;
        let diff = autodiff
            .to_vec()?
            .iter()
            .zip(hand.to_vec()?)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        worst = worst.max(diff);
        println!("∂L/∂{name}: autodiff {autodiff}\n       by hand  {hand}   max diff {diff:.1e}");
    }
    Ok(worst)
}
// ANCHOR_END: backprop_by_hand
