//! The options every chapter example understands.

use clap::{Args, ValueEnum};
use engine::Device;
use std::path::PathBuf;

/// Where an example that runs a network computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DeviceChoice {
    /// The GPU when one is usable, else the CPU (saying why).
    Auto,
    Cpu,
    Cuda,
}

/// `--device`, for the examples that train or run networks.
#[derive(Args, Debug, Clone)]
pub struct DeviceArgs {
    /// Where to compute: the results are the same on either, to rounding.
    #[arg(long, value_enum, default_value = "auto")]
    pub device: DeviceChoice,
}

impl DeviceArgs {
    /// The device, opened, after printing which it is (and why, when `auto` falls back).
    pub fn open(&self) -> engine::Result<Device> {
        let gpu = || engine::cuda::CudaDevice::get(0);
        let device = match self.device {
            DeviceChoice::Cpu => Device::Cpu,
            DeviceChoice::Cuda => gpu()?.device(),
            DeviceChoice::Auto => match gpu() {
                Ok(d) => d.device(),
                Err(e) => {
                    println!("device: cpu (no usable GPU: {})", short(&e));
                    return Ok(Device::Cpu);
                }
            },
        };
        match device {
            Device::Cuda(_) => println!("device: {}", gpu()?.describe()),
            Device::Cpu => println!("device: cpu"),
        }
        Ok(device)
    }
}

/// The first clause of a device error: what is missing.
fn short(e: &engine::Error) -> String {
    match e {
        engine::Error::DeviceUnavailable { msg, .. } => {
            msg.split("; ").next().unwrap_or(msg).to_string()
        }
        other => other.to_string(),
    }
}

/// `--quick` and `--out DIR`, flattened into each example's own argument list.
#[derive(Args, Debug, Clone)]
pub struct ExampleArgs {
    /// Run a smaller version that finishes in seconds (used by the tests).
    #[arg(long)]
    pub quick: bool,

    /// Folder for the pictures this example draws (default: out/<chapter>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

impl ExampleArgs {
    /// The output folder, created if missing. `chapter` names the default, e.g. "ch01".
    pub fn output_dir(&self, chapter: &str) -> std::io::Result<PathBuf> {
        let dir = self
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("out").join(chapter));
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }
}
