//! Chapter 5 — A small convolutional network, trained from scratch.
//!
//! The task: tell circles, squares and triangles apart in 24×24 grey pictures drawn in code
//! (random size, position, rotation, brightness and noise). The network is
//! conv → ReLU → max-pool → conv → ReLU → max-pool → linear, about 3 100 parameters, trained
//! with cross-entropy and Adam. The example prints loss and accuracy per epoch and draws the
//! data, the training curves, the first layer's filters before and after training, and what
//! both convolution layers see in one test picture.
//!
//! Run: `cargo run --release -p chapters-examples --bin ch05_cnn -- --out out/ch05`

use chapters_examples::cnn_pictures::{
    save_captioned_map_grid, save_labelled_map_grid, save_map, save_map_grid, GridLabels, Map,
    Scale,
};
use chapters_examples::shapes::{ShapeImages, ShapeKind, ShapeStyle};
use chapters_examples::{run_example, DeviceArgs, ExampleArgs, ExampleResult};
use clap::Parser;
use engine::autograd::Conv2dParams;
use engine::nn::init::{he_normal, Init};
use engine::nn::loss::cross_entropy;
use engine::nn::{Adam, Linear, Optimizer};
use engine::vis::{save_line_plot_grid, LegendCorner, LinePlot};
use engine::{no_grad, Result, Rng, Tensor};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// Chapter 5: train a small CNN to recognise circles, squares and triangles.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: ExampleArgs,

    #[command(flatten)]
    device: DeviceArgs,

    /// Seed for the data set, the initial weights and the batch order.
    #[arg(long, default_value_t = 5)]
    seed: u64,
}

/// How much data and training one run uses.
#[derive(Clone, Copy, Debug)]
struct Config {
    train_images: usize,
    test_images: usize,
    epochs: usize,
    batch_size: usize,
    learning_rate: f32,
    /// The learning rate is multiplied by this after every epoch.
    lr_decay: f32,
}

impl Config {
    /// The run the book reports.
    const FULL: Config = Config {
        train_images: 6000,
        test_images: 1000,
        epochs: 8,
        batch_size: 32,
        learning_rate: 0.01,
        lr_decay: 0.75,
    };
    /// A few seconds, for the tests: a third of the data, three epochs, smaller batches (so
    /// still a fair number of steps).
    const QUICK: Config = Config {
        train_images: 2000,
        test_images: 300,
        epochs: 3,
        batch_size: 16,
        learning_rate: 0.01,
        lr_decay: 0.75,
    };
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example(|| run(&args))
}

fn run(args: &Args) -> ExampleResult {
    let out = args.common.output_dir("ch05")?;
    let config = if args.common.quick {
        Config::QUICK
    } else {
        Config::FULL
    };
    let mut rng = Rng::new(args.seed);

    // ANCHOR: data
    let style = ShapeStyle::default(); // 24×24 pictures, radius 5–10 px, noise σ = 0.15
    let train = ShapeImages::generate(config.train_images, &style, &mut rng)?;
    let test = ShapeImages::generate(config.test_images, &style, &mut rng)?;
    // ANCHOR_END: data
    println!(
        "== Data: {} training and {} test pictures of {}×{} pixels, classes {}",
        train.len(),
        test.len(),
        style.side,
        style.side,
        class_names()
    );
    draw_examples(&train, &out.join("shapes_examples.png"))?;

    let mut model = ShapeCnn::new(style.side, &mut rng).to_device(args.device.open()?)?;
    model.print_summary(style.side);
    let initial_filters = model.conv1.filters()?;

    let history = train_model(&mut model, &train, &test, config, &mut rng)?;
    let final_accuracy = history.last().map_or(0.0, |e| e.test_accuracy);
    println!("\nfinal test accuracy: {:.1} %", 100.0 * final_accuracy);
    print_confusion(&model, &test)?;

    draw_curves(&history, &out.join("training_curves.png"))?;
    let filters = [initial_filters, model.conv1.filters()?].concat();
    // One colour scale for all 16 filters, so that before and after can be compared.
    let limit = filters
        .iter()
        .flat_map(|m| &m.values)
        .fold(0.0f32, |a, v| a.max(v.abs()));
    let count = model.conv1.out_channels();
    let labels = GridLabels {
        rows: vec!["before\ntraining".into(), "after\ntraining".into()],
        columns: (0..count).map(|c| format!("filter {c}")).collect(),
        scale_title: Some("weight (red positive, blue negative)".into()),
    };
    let path = out.join("learned_filters.png");
    save_labelled_map_grid(
        &path,
        &filters,
        count,
        Scale::SignedUpTo(limit),
        15,
        &labels,
    )?;
    draw_feature_maps(&model, &test, &out)?;
    draw_mistakes(&model, &test, &out.join("mistakes.png"))?;
    println!("\npictures written to {}", out.display());
    Ok(())
}

fn class_names() -> String {
    let names: Vec<String> = ShapeKind::ALL
        .iter()
        .map(|k| format!("{}={}", k.label(), k.name()))
        .collect();
    names.join(", ")
}

// ANCHOR: conv_layer
/// A convolution layer: `out_channels` filters of `in_channels × kernel × kernel` weights,
/// one bias each. Padding `kernel / 2` keeps the picture size ("same" convolution).
struct ConvLayer {
    weight: Tensor, // [out_channels, in_channels, kernel, kernel]
    bias: Tensor,   // [out_channels]
    padding: usize,
}

impl ConvLayer {
    fn new(in_channels: usize, out_channels: usize, kernel: usize, rng: &mut Rng) -> ConvLayer {
        // Each output adds in_channels·kernel² products: that is the fan-in He scales by.
        let fan_in = in_channels * kernel * kernel;
        let shape = [out_channels, in_channels, kernel, kernel];
        ConvLayer {
            weight: he_normal(&shape, fan_in, rng).requires_grad(),
            bias: Tensor::zeros(&[out_channels]).requires_grad(),
            padding: kernel / 2,
        }
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let params = Conv2dParams::square(1, self.padding, 1); // stride 1, dilation 1
        x.conv2d(&self.weight, Some(&self.bias), params)
    }
}
// ANCHOR_END: conv_layer

impl ConvLayer {
    fn out_channels(&self) -> usize {
        self.weight.shape()[0]
    }

    fn parameter_count(&self) -> usize {
        self.weight.numel() + self.bias.numel()
    }

    /// Each filter's weights for input channel 0, as pictures.
    fn filters(&self) -> Result<Vec<Map>> {
        let first_channel = self.weight.narrow(1, 0, 1)?.contiguous()?.detach();
        Map::channels_of(&first_channel)
    }
}

// ANCHOR: model
/// conv(1→8, 5×5) → ReLU → max-pool 2 → conv(8→16, 3×3) → ReLU → max-pool 2 → linear(→3).
struct ShapeCnn {
    conv1: ConvLayer,
    conv2: ConvLayer,
    classifier: Linear,
}

/// Everything one forward pass computes, kept so the example can draw the feature maps.
struct Activations {
    conv1: Tensor,  // [batch, 8, 24, 24] after ReLU
    conv2: Tensor,  // [batch, 16, 12, 12] after ReLU
    logits: Tensor, // [batch, 3]: one score per class
}

impl ShapeCnn {
    fn new(side: usize, rng: &mut Rng) -> ShapeCnn {
        let conv1 = ConvLayer::new(1, 8, 5, rng);
        let conv2 = ConvLayer::new(8, 16, 3, rng);
        // Two 2×2 poolings shrink each side by 4: 24 → 12 → 6.
        let flat = 16 * (side / 4) * (side / 4);
        let classifier = Linear::new(flat, ShapeKind::ALL.len(), Init::HeNormal, rng);
        ShapeCnn {
            conv1,
            conv2,
            classifier,
        }
    }

    fn forward(&self, images: &Tensor) -> Result<Activations> {
        let images = images.to_device(self.conv1.weight.device())?; // where the weights are
        let conv1 = self.conv1.forward(&images)?.relu()?;
        let pooled1 = conv1.max_pool2d(2, 2, 0)?; // kernel 2, stride 2, no padding
        let conv2 = self.conv2.forward(&pooled1)?.relu()?;
        let pooled2 = conv2.max_pool2d(2, 2, 0)?;
        // [batch, 16, 6, 6] → [batch, 576]: one long vector per picture for the linear layer.
        let logits = self.classifier.forward(&pooled2.flatten_from(1)?)?;
        Ok(Activations {
            conv1,
            conv2,
            logits,
        })
    }

    /// Every trainable tensor, always in the same order (Adam keeps its moments by position).
    fn parameters_mut(&mut self) -> Vec<&mut Tensor> {
        let mut params = vec![
            &mut self.conv1.weight,
            &mut self.conv1.bias,
            &mut self.conv2.weight,
            &mut self.conv2.bias,
        ];
        params.extend(self.classifier.parameters_mut());
        params
    }
}
// ANCHOR_END: model

impl ConvLayer {
    fn to_device(&self, device: engine::Device) -> Result<ConvLayer> {
        Ok(ConvLayer {
            weight: self.weight.to_device(device)?.detach().requires_grad(),
            bias: self.bias.to_device(device)?.detach().requires_grad(),
            padding: self.padding,
        })
    }
}

impl ShapeCnn {
    /// The same model with its weights on `device`.
    fn to_device(&self, device: engine::Device) -> Result<ShapeCnn> {
        Ok(ShapeCnn {
            conv1: self.conv1.to_device(device)?,
            conv2: self.conv2.to_device(device)?,
            classifier: self.classifier.to_device(device)?,
        })
    }

    /// Parameter counts per layer, and what a dense layer doing conv1's job would cost.
    fn print_summary(&self, side: usize) {
        let linear = self.classifier.weight.numel() + self.classifier.bias.numel();
        let (c1, c2) = (self.conv1.parameter_count(), self.conv2.parameter_count());
        println!("\n== The network");
        println!("conv1  1→8, 5×5, pad 2   [b,1,24,24] → [b,8,24,24]   {c1:>7} parameters");
        println!("pool   2×2, stride 2     [b,8,24,24] → [b,8,12,12]         0");
        println!("conv2  8→16, 3×3, pad 1  [b,8,12,12] → [b,16,12,12]  {c2:>7}");
        println!("pool   2×2, stride 2     [b,16,12,12] → [b,16,6,6]         0");
        println!("linear 576→3             [b,576] → [b,3]             {linear:>7}");
        println!(
            "total                                                {:>7}",
            c1 + c2 + linear
        );
        let pixels = side * side;
        let outputs = self.conv1.out_channels() * pixels;
        println!(
            "A dense layer from the {pixels} input pixels to conv1's {outputs} outputs would \
             need\n{} weights: {}× more than conv1.",
            pixels * outputs + outputs,
            (pixels * outputs + outputs) / c1
        );
    }
}

/// One line of the training log.
#[derive(Clone, Copy, Debug)]
struct EpochStats {
    train_loss: f32,
    train_accuracy: f32,
    test_loss: f32,
    test_accuracy: f32,
}

// ANCHOR: train
fn train_model(
    model: &mut ShapeCnn,
    train: &ShapeImages,
    test: &ShapeImages,
    config: Config,
    rng: &mut Rng,
) -> Result<Vec<EpochStats>> {
    let mut optimiser = Adam::new(config.learning_rate)?;
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut history = Vec::new();
    println!(
        "\n== Training: {} pictures, {} epochs, batches of {}, learning rate {} (× {} per epoch)",
        config.train_images,
        config.epochs,
        config.batch_size,
        config.learning_rate,
        config.lr_decay
    );
    println!("epoch  train loss  train acc  test loss  test acc   time");
    for epoch in 1..=config.epochs {
        let started = Instant::now();
        if epoch > 1 {
            // Smaller steps as training settles: big ones now only jump around the minimum.
            optimiser.lr *= config.lr_decay;
        }
        rng.shuffle(&mut order); // a new batch order every epoch
        let (mut loss_sum, mut correct) = (0.0, 0);
        for batch in order.chunks(config.batch_size) {
            let (images, labels) = train.batch(batch)?;
            let logits = model.forward(&images)?.logits;
            let loss = cross_entropy(&logits, &labels)?;
            let gradients = loss.backward()?;
            optimiser.step(&mut model.parameters_mut(), &gradients)?;

            loss_sum += loss.item()? * batch.len() as f32;
            correct += count_correct(&logits, &labels)?;
        }
        let (test_loss, test_accuracy) = evaluate(model, test)?;
        let stats = EpochStats {
            train_loss: loss_sum / train.len() as f32,
            train_accuracy: correct as f32 / train.len() as f32,
            test_loss,
            test_accuracy,
        };
        println!(
            "{epoch:>5}  {:>10.4}  {:>8.1}%  {:>9.4}  {:>7.1}%  {:>5.1} s",
            stats.train_loss,
            100.0 * stats.train_accuracy,
            stats.test_loss,
            100.0 * stats.test_accuracy,
            started.elapsed().as_secs_f32()
        );
        history.push(stats);
    }
    Ok(history)
}
// ANCHOR_END: train

/// Pictures per forward pass when only predicting (no graph is kept, so big batches are fine).
const EVAL_BATCH: usize = 200;

// ANCHOR: evaluate
/// Mean loss and accuracy on a data set the network never trains on.
fn evaluate(model: &ShapeCnn, data: &ShapeImages) -> Result<(f32, f32)> {
    let _no_graph = engine::NoGradGuard::new(); // no backward pass: skip recording the graph
    let (mut loss_sum, mut correct) = (0.0, 0);
    let indices: Vec<usize> = (0..data.len()).collect();
    for batch in indices.chunks(EVAL_BATCH) {
        let (images, labels) = data.batch(batch)?;
        let logits = model.forward(&images)?.logits;
        loss_sum += cross_entropy(&logits, &labels)?.item()? * batch.len() as f32;
        correct += count_correct(&logits, &labels)?;
    }
    let n = data.len() as f32;
    Ok((loss_sum / n, correct as f32 / n))
}

/// The predicted class of each row of `logits`: the one with the highest score.
fn predictions(logits: &Tensor) -> Result<Vec<usize>> {
    let classes = logits.shape()[1];
    Ok(logits
        .to_vec()?
        .chunks(classes)
        .map(|row| {
            (0..classes)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap_or(0)
        })
        .collect())
}

fn count_correct(logits: &Tensor, labels: &[usize]) -> Result<usize> {
    let predicted = predictions(logits)?;
    Ok(predicted.iter().zip(labels).filter(|(p, l)| p == l).count())
}
// ANCHOR_END: evaluate

/// Predictions for every picture of `data`, in order.
fn predict_all(model: &ShapeCnn, data: &ShapeImages) -> Result<Vec<usize>> {
    no_grad(|| {
        let indices: Vec<usize> = (0..data.len()).collect();
        let mut all = Vec::with_capacity(data.len());
        for batch in indices.chunks(EVAL_BATCH) {
            let (images, _) = data.batch(batch)?;
            all.extend(predictions(&model.forward(&images)?.logits)?);
        }
        Ok(all)
    })
}

/// Rows: true class; columns: predicted class.
fn print_confusion(model: &ShapeCnn, test: &ShapeImages) -> Result<()> {
    let predicted = predict_all(model, test)?;
    let n = ShapeKind::ALL.len();
    let mut counts = vec![vec![0usize; n]; n];
    for (&p, &l) in predicted.iter().zip(&test.labels) {
        counts[l][p] += 1;
    }
    println!("\nconfusion matrix on the test set (rows: true class, columns: predicted)");
    print!("{:>10}", "");
    for kind in ShapeKind::ALL {
        print!("{:>10}", kind.name());
    }
    println!();
    for kind in ShapeKind::ALL {
        print!("{:>10}", kind.name());
        for count in &counts[kind.label()] {
            print!("{count:>10}");
        }
        println!();
    }
    Ok(())
}

/// Eight training pictures of each class, one class per row.
fn draw_examples(data: &ShapeImages, path: &Path) -> Result<()> {
    let mut maps = Vec::new();
    for kind in ShapeKind::ALL {
        let of_kind = (0..data.len()).filter(|&i| data.labels[i] == kind.label());
        for i in of_kind.take(8) {
            maps.push(Map::new(data.side, data.side, data.image(i).to_vec())?);
        }
    }
    let labels = GridLabels {
        rows: ShapeKind::ALL
            .iter()
            .map(|k| format!("{}s", k.name()))
            .collect(),
        columns: Vec::new(),
        scale_title: None,
    };
    save_labelled_map_grid(path, &maps, 8, Scale::Unsigned, 3, &labels)
}

fn draw_curves(history: &[EpochStats], path: &Path) -> Result<()> {
    let series = |value: fn(&EpochStats) -> f32| -> Vec<(f32, f32)> {
        let epochs = history.iter().enumerate();
        epochs.map(|(i, e)| ((i + 1) as f32, value(e))).collect()
    };
    let loss = LinePlot::new("cross-entropy loss")
        .axes("epoch", "loss")
        .line("training (mean over the epoch)", series(|e| e.train_loss))
        .dashed("test (after the epoch)", series(|e| e.test_loss))
        .legend(LegendCorner::UpperRight);
    let accuracy = LinePlot::new("accuracy")
        .axes("epoch", "fraction correct")
        .line("training", series(|e| e.train_accuracy))
        .dashed("test", series(|e| e.test_accuracy))
        .legend(LegendCorner::LowerRight);
    save_line_plot_grid(path, &[loss, accuracy], 2, (470, 340))
}

// ANCHOR: feature_maps
/// What the two convolution layers compute for the first test picture of each class.
fn draw_feature_maps(model: &ShapeCnn, test: &ShapeImages, out: &Path) -> Result<()> {
    for kind in ShapeKind::ALL {
        let Some(index) = test.labels.iter().position(|&l| l == kind.label()) else {
            continue;
        };
        let (image, _) = test.batch(&[index])?;
        let activations = no_grad(|| model.forward(&image))?;
        let name = kind.name();
        save_map(
            &out.join(format!("feature_input_{name}.png")),
            &Map::single(&image)?,
            Scale::Unsigned,
            6,
        )?;
        let conv1 = Map::channels_of(&activations.conv1)?; // 8 maps of 24×24
        let conv2 = Map::channels_of(&activations.conv2)?; // 16 maps of 12×12
        save_map_grid(
            &out.join(format!("feature_maps_conv1_{name}.png")),
            &conv1,
            8,
            Scale::Unsigned,
            3,
        )?;
        save_map_grid(
            &out.join(format!("feature_maps_conv2_{name}.png")),
            &conv2,
            8,
            Scale::Unsigned,
            6,
        )?;
    }
    Ok(())
}
// ANCHOR_END: feature_maps

/// The test pictures the network gets wrong (up to 16), printed with true and predicted class.
fn draw_mistakes(model: &ShapeCnn, test: &ShapeImages, path: &Path) -> Result<()> {
    let predicted = predict_all(model, test)?;
    let wrong: Vec<usize> = (0..test.len())
        .filter(|&i| predicted[i] != test.labels[i])
        .take(16)
        .collect();
    if wrong.is_empty() {
        println!(
            "no mistakes on the test set: nothing to draw in {}",
            path.display()
        );
        return Ok(());
    }
    println!("\nfirst mistakes, left to right (true → predicted):");
    let (mut maps, mut captions) = (Vec::new(), Vec::new());
    for &i in &wrong {
        let name = |label: usize| ShapeKind::ALL[label].name();
        let caption = format!("{} → {}", name(test.labels[i]), name(predicted[i]));
        println!("  test picture {i:>4}: {caption}");
        maps.push(Map::new(test.side, test.side, test.image(i).to_vec())?);
        captions.push(caption);
    }
    save_captioned_map_grid(path, &maps, &captions, 6, Scale::Unsigned, 5)
}
