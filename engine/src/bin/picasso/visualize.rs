//! `picasso visualize`: look inside the network — its first-layer filters, the feature maps
//! an image produces, and what a channel responds to most (activation maximisation).

use crate::network::NetworkArgs;
use clap::{Args, Subcommand};
use engine::io::{ensure_not_input, load_image, save_image, LoadOptions};
use engine::vis::activation_max::{maximise_activation, ActivationMaxConfig};
use engine::vis::feature_maps::feature_map_grid;
use engine::vis::filters::{filter_grid, GridLayout};
use engine::Result;
use std::path::PathBuf;

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
    let vgg = args.network.load()?;
    let mut inputs: Vec<PathBuf> = args.network.weights.iter().cloned().collect();
    let (picture, output) = match args.what {
        What::Filters { output } => {
            let layout = GridLayout::default();
            (filter_grid(vgg.first_layer_weights(), &layout)?, output)
        }
        What::Features {
            image,
            layer,
            count,
            size,
            output,
        } => {
            inputs.push(image.clone());
            ensure_not_input(&output, &inputs)?;
            let photo = load_image(&image, &LoadOptions::long_side(size))?;
            // Four maps a row, each enlarged to about the photo's size.
            let layout = GridLayout::new(4, size as usize);
            (
                feature_map_grid(&vgg, &photo, &layer, count, &layout)?,
                output,
            )
        }
        What::Maximize {
            layer,
            channel,
            size,
            steps,
            seed,
            output,
        } => {
            ensure_not_input(&output, &inputs)?;
            let config = ActivationMaxConfig {
                height: size,
                width: size,
                steps,
                seed,
                ..ActivationMaxConfig::default()
            };
            let result = maximise_activation(&vgg, &layer, channel, &config)?;
            println!(
                "{layer} channel {channel}: mean activation {:.2} → {:.2}",
                result.start_activation, result.final_activation
            );
            (result.image, output)
        }
    };
    save_image(&picture, &output, &inputs)?;
    println!("wrote {}", output.display());
    Ok(())
}
