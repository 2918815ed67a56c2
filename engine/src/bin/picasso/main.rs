//! `picasso`: neural style transfer and a look inside a pretrained VGG, from the command line.

mod features;
mod network;
mod resources;
mod serve;
mod stylize;
mod visualize;

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use weights_tools::tell;

#[derive(Parser)]
#[command(
    name = "picasso",
    version,
    about = "Paint a photo in the style of a painting with a pretrained VGG (Gatys et al.)",
    long_about = "Paint a photo in the style of a painting with a pretrained VGG (Gatys et al.).\n\
                  Works offline: an ImageNet VGG16 is built in; --weights picks another file."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Paint CONTENT in the style of one or more STYLE images.
    Stylize(Box<stylize::StylizeArgs>),
    /// Write chosen VGG activations of an image to a safetensors file.
    Features(features::FeaturesArgs),
    /// Pictures of what the network learned: filters, feature maps, activation maximisation.
    Visualize(visualize::VisualizeArgs),
    /// A local web page to paint with: pick a photo and paintings, watch the picture form,
    /// stop, download. Also an HTTP API for scripts (see the README).
    Serve(Box<serve::ServeArgs>),
}

fn main() -> ExitCode {
    engine::cpu::heap::keep_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Stylize(args) => stylize::run(*args),
        Command::Features(args) => features::run(args).map(|()| ExitCode::SUCCESS),
        Command::Visualize(args) => visualize::run(args).map(|()| ExitCode::SUCCESS),
        Command::Serve(args) => serve::run(*args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            tell!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
