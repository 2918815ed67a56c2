//! Chapter 7 — VGG and pretrained weights.
//!
//! Loads the ImageNet VGG16 built into the program (or `--weights FILE` in any format
//! `weights-tools` reads), prints its layers with their shapes, parameter counts and receptive
//! fields, and runs a photo through it.
//!
//! Run: `cargo run --release -p chapters-examples --bin ch07_vgg`

use chapters_examples::figures::vgg::{draw_vgg, LayerShape, Roles};
use chapters_examples::inputs::image_or_example;
use chapters_examples::{run_example, DeviceArgs, ExampleArgs, ExampleResult};
use clap::Parser;
use engine::io::{load_image, tensor_to_rgb8, LoadOptions};
use engine::models::{load_vgg_or_default, Vgg};
use engine::style::objective::{PAPER_CONTENT_LAYER, PAPER_STYLE_LAYERS};
use engine::{no_grad, Tensor};
use std::collections::BTreeMap;
use std::path::Path;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Chapter 7: what is inside VGG16, layer by layer.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: ExampleArgs,

    #[command(flatten)]
    device: DeviceArgs,
    /// A weights file (default: the embedded ImageNet VGG16).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// The photo to run through the network (default: the repository's Tübingen photo).
    #[arg(long)]
    image: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example(|| run(&args))
}

// ANCHOR: receptive_field
/// How many input pixels one unit of each layer sees. A 3×3 convolution adds 2·jump pixels;
/// a 2×2 pooling doubles the jump (the distance in input pixels between neighbouring units).
fn receptive_fields(names: &[String]) -> Vec<(usize, usize)> {
    let (mut field, mut jump) = (1, 1);
    names
        .iter()
        .map(|name| {
            if name.starts_with("conv") {
                field += 2 * jump;
            } else if name.starts_with("pool") {
                field += jump;
                jump *= 2;
            }
            (field, jump)
        })
        .collect()
}
// ANCHOR_END: receptive_field

fn run(args: &Args) -> ExampleResult {
    let quick = args.common.quick;
    // ANCHOR: load
    let vgg: Vgg = load_vgg_or_default(args.weights.as_deref())?.to_device(args.device.open()?)?;
    let input = vgg.input_convention();
    println!(
        "{}: input = (pixel/255·{} − {:?}) / {:?}",
        vgg.arch().name(),
        input.scale,
        input.mean,
        input.std
    );
    // ANCHOR_END: load

    let size = if quick { 64 } else { 224 };
    let photo = image_or_example(args.image.as_ref(), "tubingen.jpg")?;
    let image = load_image(&photo, &LoadOptions::long_side(size))?;
    // ANCHOR: forward
    let names = vgg.layer_names();
    let start = Instant::now();
    let activations = no_grad(|| vgg.forward(&image, &names))?;
    let seconds = start.elapsed().as_secs_f64();
    // ANCHOR_END: forward

    println!(
        "\n{:<8} {:>18} {:>12} {:>10} {:>12}",
        "layer", "output shape", "parameters", "field px", "mean act."
    );
    let fields = receptive_fields(&names);
    let mut total_params = 0;
    for (name, (field, _)) in names.iter().zip(fields) {
        let a = &activations[name];
        let params = if name.starts_with("conv") {
            let c = a.shape()[1];
            let prev = if name == "conv1_1" {
                3
            } else {
                previous_channels(&activations, &names, name)
            };
            c * prev * 9 + c
        } else {
            0
        };
        total_params += params;
        let mean = a.mean_all()?.item()?;
        println!(
            "{name:<8} {:>18} {params:>12} {field:>10} {mean:>12.2}",
            format!("{:?}", &a.shape()[1..])
        );
    }
    println!("\n{total_params} parameters; one forward pass at {size} px took {seconds:.2} s");

    let out = args.common.output_dir("ch07")?;
    draw_architecture(&photo, &image, &names, &activations, &out.join("vgg16.png"))?;
    println!("picture written to {}", out.display());
    Ok(())
}

/// VGG's layers as boxes, sized by the activations this photo produced, with the layers
/// style transfer reads marked.
fn draw_architecture(
    photo: &Path,
    image: &Tensor,
    names: &[String],
    activations: &BTreeMap<String, Tensor>,
    path: &Path,
) -> engine::Result<()> {
    let thumbnail = tensor_to_rgb8(&load_image(photo, &LoadOptions::long_side(120))?)?;
    let layers: Vec<LayerShape> = names
        .iter()
        .map(|name| {
            let s = activations[name].shape();
            LayerShape {
                name: name.clone(),
                shape: [s[1], s[2], s[3]],
            }
        })
        .collect();
    let input = [image.shape()[1], image.shape()[2], image.shape()[3]];
    let roles = Roles {
        style: &PAPER_STYLE_LAYERS,
        content: &[PAPER_CONTENT_LAYER],
    };
    draw_vgg(path, &thumbnail, input, &layers, &roles)
}

/// Channels of the activation just before `name`.
fn previous_channels(
    activations: &std::collections::BTreeMap<String, Tensor>,
    names: &[String],
    name: &str,
) -> usize {
    let i = names.iter().position(|n| n == name).unwrap_or(0);
    names[..i]
        .iter()
        .rev()
        .find_map(|n| activations.get(n))
        .map_or(3, |t| t.shape()[1])
}
