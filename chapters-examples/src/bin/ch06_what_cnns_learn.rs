//! Chapter 6 — What are CNNs learning?
//!
//! Three ways to look inside a trained VGG16:
//! 1. the first layer's filters, drawn as tiny RGB pictures;
//! 2. feature maps: what the channels of one layer light up on in a photo, layer by layer;
//! 3. activation maximisation: the picture a channel likes best, painted by gradient ascent.
//!
//! Run: `cargo run --release -p chapters-examples --bin ch06_what_cnns_learn -- --out out/ch06`

use chapters_examples::inputs::{credit, image_or_example};
use chapters_examples::{run_example, DeviceArgs, ExampleArgs, ExampleResult};
use clap::Parser;
use engine::io::{ensure_not_input, load_image, save_image, LoadOptions};
use engine::models::{load_vgg_or_default, Vgg};
use engine::vis::activation_max::{maximise_activation, ActivationMaxConfig};
use engine::vis::feature_maps::feature_map_tiles;
use engine::vis::filters::{captioned_tile_grid, filter_grid, GridLayout, Tile};
use engine::Tensor;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Chapter 6: first-layer filters, feature maps and activation maximisation for VGG16.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: ExampleArgs,

    #[command(flatten)]
    device: DeviceArgs,

    /// VGG weights file (safetensors, .pth or ONNX); default: the embedded ImageNet VGG16.
    #[arg(long, value_name = "FILE")]
    weights: Option<PathBuf>,

    /// Photo for the feature maps; default: the repository's Tübingen photo.
    #[arg(long, value_name = "FILE")]
    image: Option<PathBuf>,
}

/// The example photo used when no `--image` is given (engine/assets/images/).
const DEFAULT_IMAGE: &str = "tubingen.jpg";

/// One ReLU per VGG block: each sees a larger part of the image than the one before.
const LAYERS: [&str; 5] = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"];

/// The channels painted by activation maximisation, per layer of [`LAYERS`]: picked from a
/// longer run because their pictures are easy to read. Try others!
const CHANNELS: [&[usize]; 5] = [
    &[0, 5, 12, 31, 47, 59],
    &[13, 37, 90, 121],
    &[0, 21, 85, 140],
    &[0, 57, 240, 499],
    &[67, 150, 300, 411],
];

fn main() -> ExitCode {
    let args = Args::parse();
    run_example(|| run(&args))
}

fn run(args: &Args) -> ExampleResult {
    let out = args.common.output_dir("ch06")?;
    let quick = args.common.quick;

    let started = Instant::now();
    let vgg = load_vgg_or_default(args.weights.as_deref())?.to_device(args.device.open()?)?;
    println!(
        "loaded {} in {:.1} s",
        args.weights
            .as_ref()
            .map_or("the embedded VGG16".to_string(), |p| p
                .display()
                .to_string()),
        started.elapsed().as_secs_f64()
    );

    // Load the photo first, so a wrong path fails before any work is done. Feature maps
    // need no more than a couple of hundred pixels to show structure.
    let (photo, credit) = photo_path(args)?;
    let long_side = if quick { 64 } else { 224 };
    let image = load_image(&photo, &LoadOptions::long_side(long_side))?;

    println!("\n== First-layer filters");
    draw_filters(&vgg, &out)?;

    println!(
        "\n== Feature maps of {} ({}×{} px){}",
        photo.canonicalize().unwrap_or(photo.clone()).display(),
        image.shape()[3],
        image.shape()[2],
        credit.map_or(String::new(), |c| format!(" — {c}"))
    );
    let channels = if quick { 8 } else { 16 };
    for layer in LAYERS {
        draw_feature_maps(&vgg, &image, layer, channels, &out, &photo)?;
    }

    println!("\n== Activation maximisation");
    for (layer, picks) in LAYERS.into_iter().zip(CHANNELS) {
        let picks = if quick { &picks[..2] } else { picks };
        draw_activation_max(&vgg, layer, picks, quick, &out)?;
    }

    println!("\npictures written to {}", out.display());
    Ok(())
}

/// The photo to look at: `--image`, or the example Tübingen photo (with its credit line).
fn photo_path(args: &Args) -> Result<(PathBuf, Option<&'static str>), engine::Error> {
    let credit = args
        .image
        .is_none()
        .then(|| credit(DEFAULT_IMAGE))
        .flatten();
    Ok((
        image_or_example(args.image.as_ref(), DEFAULT_IMAGE)?,
        credit,
    ))
}

// ANCHOR: filters
/// Layer 1's 64 filters, each 3×3×3, as an 8×8 grid of RGB tiles enlarged 8×.
fn draw_filters(vgg: &Vgg, out: &Path) -> ExampleResult {
    let started = Instant::now();
    let grid = filter_grid(vgg.first_layer_weights(), &GridLayout::new(8, 24))?;
    let path = out.join("filters_conv1_1.png");
    save_image(&grid, &path, &[] as &[&Path])?;
    report(&path, started);
    Ok(())
}
// ANCHOR_END: filters

// ANCHOR: feature_maps
/// The first `channels` feature maps of `layer` for `image`, four to a row, each captioned with
/// its channel. Deeper maps are smaller (every pooling halves them), so each is enlarged back
/// to about 224 pixels.
fn draw_feature_maps(
    vgg: &Vgg,
    image: &Tensor,
    layer: &str,
    channels: usize,
    out: &Path,
    photo: &Path,
) -> ExampleResult {
    let started = Instant::now();
    let tiles = feature_map_tiles(vgg, image, layer, channels)?;
    let captions: Vec<String> = (0..tiles.len()).map(|c| format!("channel {c}")).collect();
    let grid = captioned_tile_grid(&tiles, &captions, &GridLayout::new(4, 224), 16)?;
    let path = out.join(format!("feature_maps_{layer}.png"));
    ensure_not_input(&path, &[photo])?;
    grid.save(&path)?;
    report(&path, started);
    Ok(())
}
// ANCHOR_END: feature_maps

// ANCHOR: activation_max
/// Paint the favourite picture of each channel in `picks` at `layer`, side by side.
fn draw_activation_max(
    vgg: &Vgg,
    layer: &str,
    picks: &[usize],
    quick: bool,
    out: &Path,
) -> ExampleResult {
    let config = if quick {
        ActivationMaxConfig {
            height: 32,
            width: 32,
            steps: 4,
            ..ActivationMaxConfig::default()
        }
    } else {
        ActivationMaxConfig::default()
    };
    let mut tiles = Vec::new();
    for &channel in picks {
        let started = Instant::now();
        let result = maximise_activation(vgg, layer, channel, &config)?;
        println!(
            "  {layer} channel {channel:>3}: mean activation {:8.2} → {:8.2}  ({:.1} s)",
            result.start_activation,
            result.final_activation,
            started.elapsed().as_secs_f64()
        );
        tiles.push(Tile {
            height: config.height,
            width: config.width,
            rgb: result.image.to_vec()?,
        });
    }
    let captions: Vec<String> = picks.iter().map(|c| format!("channel {c}")).collect();
    let grid = captioned_tile_grid(&tiles, &captions, &GridLayout::new(tiles.len(), 96), 15)?;
    let path = out.join(format!("activation_max_{layer}.png"));
    grid.save(&path)?;
    println!("  wrote {}", path.display());
    Ok(())
}
// ANCHOR_END: activation_max

/// One line per picture: where it went and how long it took.
fn report(path: &Path, started: Instant) {
    println!(
        "  {:<40} {:6.2} s",
        path.display(),
        started.elapsed().as_secs_f64()
    );
}
