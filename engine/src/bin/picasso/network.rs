//! Options shared by the subcommands that run VGG: which weights, which pooling, which device.

use clap::{Args, ValueEnum};
use engine::models::{load_vgg_or_default, Pooling, Vgg};
use engine::{Error, Result};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DeviceArg {
    Cpu,
    Cuda,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PoolingArg {
    Max,
    Avg,
}

#[derive(Args, Debug, Clone)]
pub struct NetworkArgs {
    /// Weights file (safetensors, PyTorch .pth or ONNX; see `weights-tools`).
    /// Default: the ImageNet VGG16 built into this program.
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,
    /// Pooling between VGG blocks; Gatys et al. prefer average pooling for smoother results.
    #[arg(long, value_enum, default_value = "max")]
    pub pooling: PoolingArg,
    /// Where to compute.
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,
}

impl NetworkArgs {
    /// Load the network, or explain why it can't be used here.
    pub fn load(&self) -> Result<Vgg> {
        if self.device == DeviceArg::Cuda {
            return Err(Error::invalid(
                "--device cuda",
                "this build of picasso has no CUDA support yet; run with --device cpu",
            ));
        }
        let pooling = match self.pooling {
            PoolingArg::Max => Pooling::Max,
            PoolingArg::Avg => Pooling::Avg,
        };
        Ok(load_vgg_or_default(self.weights.as_deref())?.with_pooling(pooling))
    }

    /// Human-readable name of the weights in use.
    pub fn weights_name(&self) -> String {
        match &self.weights {
            Some(p) => p.display().to_string(),
            None => engine::models::weights::EMBEDDED_NAME.to_string(),
        }
    }
}
