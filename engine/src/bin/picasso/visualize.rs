//! `picasso visualize`: look inside the network — its first-layer filters, the feature maps
//! an image produces, and what a channel responds to most (activation maximisation).

use crate::network::NetworkArgs;
use crate::resources::{check_memory, smallest_long_side, working_size, SizeNeed};
use clap::{Args, Subcommand};
use engine::io::image::{read_dimensions, DEFAULT_MAX_PIXELS};
use engine::io::output_lock::OutputLock;
use engine::io::{check_outputs, load_image, save_image, LoadOptions, OutputKind, PlannedOutput};
use engine::models::memory::{
    estimate, largest_fitting, Decode, ImageSize, MemoryEstimate, Workload,
};
use engine::vis::activation_max::{maximise_activation, ActivationMaxConfig};
use engine::vis::feature_maps::feature_map_grid;
use engine::vis::filters::{filter_grid, GridLayout};
use engine::{Error, Result};
use std::path::PathBuf;
use weights_tools::{say, tell};

/// Activation maximisation jitters and blurs the picture; below this it has nothing to work
/// with (see `vis::activation_max`).
const MIN_MAXIMIZE_SIZE: usize = 8;
/// Bytes kept per activation-maximisation step (its activation, an f32, with room to spare).
const STEP_HISTORY_BYTES: u64 = 8;

#[derive(Args, Debug)]
pub struct VisualizeArgs {
    #[command(subcommand)]
    what: What,
    #[command(flatten)]
    network: NetworkArgs,
}

#[derive(Subcommand, Debug)]
enum What {
    /// The first convolution's 3×3 RGB filters as a colour grid.
    Filters {
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// The first COUNT channels of one layer's activations for an image.
    Features {
        #[arg(long, value_name = "IMG")]
        image: PathBuf,
        #[arg(long, default_value = "relu3_1")]
        layer: String,
        #[arg(long, default_value_t = 16)]
        count: usize,
        /// Long side the image is resized to first.
        #[arg(long, default_value_t = 224)]
        size: u32,
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Paint the image that excites one channel most (gradient ascent with jitter, blur, decay).
    Maximize {
        #[arg(long, default_value = "relu4_1")]
        layer: String,
        #[arg(long, default_value_t = 0)]
        channel: usize,
        /// Picture size in pixels (square).
        #[arg(long, default_value_t = 96)]
        size: usize,
        #[arg(long, default_value_t = 64)]
        steps: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
}

pub fn run(args: VisualizeArgs) -> Result<()> {
    let mut inputs: Vec<PathBuf> = args.network.weights.iter().cloned().collect();
    // What the picture will be made from, known before the network loads.
    let (output, photo) = match &args.what {
        What::Filters { output } => (output, None),
        What::Features {
            image,
            output,
            size,
            ..
        } => {
            if *size == 0 {
                return Err(Error::invalid(
                    "--size",
                    "the long side must be at least 1 pixel (default 224)",
                ));
            }
            inputs.push(image.clone());
            (output, Some(read_dimensions(image, DEFAULT_MAX_PIXELS)?))
        }
        What::Maximize { output, steps, .. } => {
            if *steps == 0 {
                return Err(Error::invalid("--steps", "must be at least 1 (default 64)"));
            }
            (output, None)
        }
    };
    let planned = [PlannedOutput::new("-o", output, OutputKind::Image)];
    check_outputs(&planned, &inputs)?;
    let _lock = OutputLock::acquire_all(&planned)?;
    let vgg = args.network.load()?;
    tell!("picasso: computing on {}", args.network.chosen()?.line());
    let budget = args.network.memory_budget();
    let picture = match &args.what {
        What::Filters { .. } => filter_grid(vgg.first_layer_weights(), &GridLayout::default())?,
        What::Features {
            image,
            layer,
            count,
            size,
            ..
        } => {
            let file = photo.unwrap_or((1, 1));
            let layers = [layer.clone()];
            let need = SizeNeed::of(&vgg, &layers)?;
            let working = working_size(file, *size);
            if !need.allows(working) {
                return Err(Error::invalid(
                    "--size",
                    format!(
                        "at --size {size}, {} ({}×{}) becomes {working}, but {}. Use --size \
                         {} or more",
                        image.display(),
                        file.0,
                        file.1,
                        need.reason(),
                        smallest_long_side(file, need.min_side)
                    ),
                ));
            }
            let estimate_at = |long_side: u32| -> Result<MemoryEstimate> {
                let working = working_size(file, long_side);
                let workload = Workload::Forward {
                    image: working,
                    layers: layers.to_vec(),
                    decodes: vec![Decode {
                        file: ImageSize::new(file.0 as usize, file.1 as usize),
                        working,
                    }],
                    copies: 0,
                };
                // The grid: `count` maps, each about the photo's size, in RGB.
                let grid = *count as u64 * working.rgb_bytes() as u64;
                Ok(estimate(&vgg, &workload, args.network.backend()?)?
                    .with("the picture of the maps", grid)
                    .with("the embedded weight file", args.network.weight_file_bytes()))
            };
            let fits = |s: u64| {
                budget
                    .as_ref()
                    .is_none_or(|b| estimate_at(s as u32).is_ok_and(|e| e.fits(b.bytes)))
            };
            check_memory(
                &format!("drawing feature maps at {working}"),
                &estimate_at(*size)?,
                budget.as_ref(),
                || {
                    let smallest = smallest_long_side(file, need.min_side) as u64;
                    largest_fitting(smallest, (*size as u64).saturating_sub(1), fits)
                        .map(|s| format!("--size {s}"))
                        .into_iter()
                        .collect()
                },
            )?;
            let photo =
                load_image(image, &LoadOptions::long_side(*size))?.to_device(vgg.device())?;
            // Four maps a row, each enlarged to about the photo's size.
            let layout = GridLayout::new(4, *size as usize);
            feature_map_grid(&vgg, &photo, layer, *count, &layout)?
        }
        What::Maximize {
            layer,
            channel,
            size,
            steps,
            seed,
            ..
        } => {
            let need = SizeNeed::of(&vgg, std::slice::from_ref(layer))?.at_least(MIN_MAXIMIZE_SIZE);
            if *size < need.min_side {
                return Err(Error::invalid(
                    "--size",
                    format!(
                        "--size {size} is too small: {}. Use --size {} or more",
                        need.reason(),
                        need.min_side
                    ),
                ));
            }
            let estimate_at = |side: usize| -> Result<MemoryEstimate> {
                let workload = Workload::Ascent {
                    image: ImageSize::new(side, side),
                    layer: layer.clone(),
                };
                // The activation after every step is kept: what makes an absurd --steps too
                // large, rather than an allocation failure once the ascent starts.
                let history = (*steps as u64).saturating_mul(STEP_HISTORY_BYTES);
                Ok(estimate(&vgg, &workload, args.network.backend()?)?
                    .with("the embedded weight file", args.network.weight_file_bytes())
                    .with("the history of the steps", history))
            };
            let fits = |s: u64| {
                budget
                    .as_ref()
                    .is_none_or(|b| estimate_at(s as usize).is_ok_and(|e| e.fits(b.bytes)))
            };
            check_memory(
                &format!("painting a {size}×{size} picture"),
                &estimate_at(*size)?,
                budget.as_ref(),
                || {
                    let mut advice: Vec<String> = largest_fitting(
                        need.min_side as u64,
                        (*size as u64).saturating_sub(1),
                        fits,
                    )
                    .map(|s| format!("--size {s}"))
                    .into_iter()
                    .collect();
                    // When the steps' history is what does not fit: the most steps that would.
                    let history = (*steps as u64).saturating_mul(STEP_HISTORY_BYTES);
                    let rest =
                        estimate_at(*size).map_or(u64::MAX, |e| e.total().saturating_sub(history));
                    if let Some(b) = budget.as_ref() {
                        let most = b.bytes.saturating_sub(rest) / STEP_HISTORY_BYTES;
                        if b.bytes > rest && most >= 1 && most < *steps as u64 {
                            advice.push(format!("--steps {most}"));
                        }
                    }
                    advice
                },
            )?;
            let config = ActivationMaxConfig {
                height: *size,
                width: *size,
                steps: *steps,
                seed: *seed,
                ..ActivationMaxConfig::default()
            };
            let result = maximise_activation(&vgg, layer, *channel, &config)?;
            say!(
                "{layer} channel {channel}: mean activation {:.2} → {:.2}",
                result.start_activation,
                result.final_activation
            );
            result.image
        }
    };
    save_image(&picture, output, &inputs)?;
    say!("wrote {}", output.display());
    Ok(())
}
