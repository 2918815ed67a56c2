//! Chapter 9 — Style transfer, implemented.
//!
//! The whole algorithm from library pieces: a pretrained VGG16, content features at relu4_2,
//! Gram matrices at relu1_1 … relu5_1, and L-BFGS moving the pixels. `picasso stylize` is
//! this plus options, progress bars and safety nets.
//!
//! Run: `cargo run --release -p chapters-examples --bin ch09_style_transfer -- --out out/ch09`

use chapters_examples::inputs::image_or_example;
use chapters_examples::{run_example, DeviceArgs, ExampleArgs, ExampleResult};
use clap::Parser;
use engine::io::{load_image, save_image, LoadOptions};
use engine::models::load_embedded_vgg16;
use engine::no_grad;
use engine::style::{
    gram_matrix, optimise, Control, ImageOptimizer, LbfgsConfig, Objective, ObjectiveConfig,
};
use engine::vis::LinePlot;
use std::path::PathBuf;
use std::process::ExitCode;

/// Chapter 9: paint a photo in the style of a painting with L-BFGS on the pixels.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: ExampleArgs,

    #[command(flatten)]
    device: DeviceArgs,
    /// The photo (default: the repository's Tübingen photo).
    #[arg(long)]
    content: Option<PathBuf>,
    /// The painting (default: the repository's Starry Night).
    #[arg(long)]
    style: Option<PathBuf>,
    /// Long side in pixels (default 256; 48 with --quick).
    #[arg(long)]
    size: Option<u32>,
    /// Function evaluations (default 100; 5 with --quick).
    #[arg(long)]
    evals: Option<usize>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example(|| run(&args))
}

fn run(args: &Args) -> ExampleResult {
    let out = args.common.output_dir("ch09")?;
    let quick = args.common.quick;
    let size = args.size.unwrap_or(if quick { 48 } else { 256 });
    let evals = args.evals.unwrap_or(if quick { 5 } else { 100 });
    let content_path = image_or_example(args.content.as_ref(), "tubingen.jpg")?;
    let style_path = image_or_example(args.style.as_ref(), "starry_night.jpg")?;

    // ANCHOR: setup
    let device = args.device.open()?; // the GPU when one is usable
    let vgg = load_embedded_vgg16()?.to_device(device)?;
    let content = load_image(&content_path, &LoadOptions::long_side(size))?.to_device(device)?;
    let style = load_image(&style_path, &LoadOptions::long_side(size))?.to_device(device)?;
    // ANCHOR_END: setup

    // ANCHOR: gram
    // What the style target looks like: one C×C Gram matrix per style layer.
    let layers: Vec<String> = ["relu1_1", "relu3_1", "relu5_1"].map(String::from).to_vec();
    let features = no_grad(|| vgg.forward(&style, &layers))?;
    for name in &layers {
        let f = &features[name];
        let g = gram_matrix(f)?;
        println!("{name}: features {:?} → Gram {:?}", f.shape(), g.shape());
    }
    // ANCHOR_END: gram

    // ANCHOR: objective
    // α = 1, β = 1000, γ = 0: the objective of the comparison with PyTorch.
    let config = ObjectiveConfig::paper(1.0, 1000.0, 0.0);
    let objective = Objective::new(&vgg, config, &content, &[(style, 1.0)])?;
    // ANCHOR_END: objective

    // ANCHOR: optimise
    // The pixels are the parameters: start from the photo and let L-BFGS repaint it.
    let mut curve = Vec::new();
    let outcome = optimise(
        &vgg,
        &objective,
        &content,
        ImageOptimizer::Lbfgs(LbfgsConfig::default()),
        evals,
        |p| {
            if p.evaluation % 10 == 0 || p.evaluation == 1 {
                println!(
                    "eval {:4}: total {:12.1}  content {:10.1}  style×β {:10.1}",
                    p.evaluation,
                    p.total,
                    p.terms.content,
                    1000.0 * p.terms.style
                );
            }
            curve.push((p.evaluation as f32, p.total.log10() as f32));
            Ok(Control::Continue)
        },
    )?;
    save_image(
        &outcome.image,
        &out.join("stylized.png"),
        &[&content_path, &style_path],
    )?;
    // ANCHOR_END: optimise

    LinePlot::new("Style transfer: total loss per evaluation (L-BFGS)")
        .axes("function evaluation", "log10(total loss)")
        .line("α·L_content + β·L_style", curve)
        .save(out.join("loss_curve.png"))?;
    println!(
        "final total {:.1} after {} evaluations; pictures in {}",
        outcome.total,
        outcome.evaluations,
        out.display()
    );
    Ok(())
}
