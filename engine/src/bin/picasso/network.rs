//! Options shared by the subcommands that run VGG: which weights, which pooling, which device.

use clap::{Args, ValueEnum};
use engine::io::host_memory::{available_memory, AvailableMemory};
use engine::models::{load_vgg_or_default, Pooling, Vgg};
use engine::{Device, Result};
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
    /// Memory the run may use, e.g. 8G or 1500M. Runs estimated to need more are refused
    /// before they start. Default: what the machine has available now (MemAvailable, or the
    /// container's limit if lower); a value above that overrides the check.
    #[arg(long, value_name = "BYTES", value_parser = parse_memory)]
    pub max_memory: Option<u64>,
}

fn parse_memory(text: &str) -> std::result::Result<u64, String> {
    engine::io::host_memory::parse_bytes(text)
        .ok_or_else(|| format!("`{text}` is not an amount of memory; write e.g. 8G, 1500M or 2GiB"))
}

impl NetworkArgs {
    /// The device to compute on, opened: a missing driver, GPU or library is an error here,
    /// before any work starts.
    pub fn device(&self) -> Result<Device> {
        match self.device {
            DeviceArg::Cpu => Ok(Device::Cpu),
            DeviceArg::Cuda => {
                engine::cuda::CudaDevice::get(0)?;
                Ok(Device::Cuda(0))
            }
        }
    }

    /// Load the network onto the chosen device, or explain why it can't be used here.
    pub fn load(&self) -> Result<Vgg> {
        let device = self.device()?;
        let pooling = match self.pooling {
            PoolingArg::Max => Pooling::Max,
            PoolingArg::Avg => Pooling::Avg,
        };
        load_vgg_or_default(self.weights.as_deref())?
            .with_pooling(pooling)
            .to_device(device)
    }

    /// The memory a run may use: `--max-memory`, else what the machine has; `None` when that
    /// cannot be told (no check is made then).
    pub fn memory_budget(&self) -> Option<AvailableMemory> {
        match self.max_memory {
            Some(bytes) => Some(AvailableMemory {
                bytes,
                source: "--max-memory".to_string(),
            }),
            None => available_memory(),
        }
    }

    /// Memory the weights take beyond their f32 values: the embedded file stays mapped.
    pub fn weight_file_bytes(&self) -> u64 {
        match self.weights {
            Some(_) => 0,
            None => engine::models::weights::embedded_file_bytes() as u64,
        }
    }

    /// Human-readable name of the weights in use.
    pub fn weights_name(&self) -> String {
        match &self.weights {
            Some(p) => p.display().to_string(),
            None => engine::models::weights::EMBEDDED_NAME.to_string(),
        }
    }
}
