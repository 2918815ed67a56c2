//! Options shared by the subcommands that run VGG: which weights, which pooling, which device.

use clap::{Args, ValueEnum};
use engine::io::host_memory::{available_memory, AvailableMemory};
use engine::models::memory::Backend;
use engine::models::{load_vgg_or_default, Pooling, Vgg};
use engine::{Device, Result};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DeviceArg {
    /// The GPU when one is usable, else the CPU (saying why).
    Auto,
    Cpu,
    Cuda,
}

/// The device a run uses, decided once: what it is, in words, and why the CPU was used when
/// `auto` could not use a GPU.
#[derive(Clone, Debug)]
pub struct ChosenDevice {
    pub device: Device,
    pub description: String,
    pub fallback: Option<String>,
}

impl ChosenDevice {
    /// `cuda:0 (NVIDIA H200, compute capability 9.0)`, or `cpu (no usable GPU: …)`.
    pub fn line(&self) -> String {
        match &self.fallback {
            Some(why) => format!("{} (no usable GPU: {why})", self.description),
            None => self.description.clone(),
        }
    }
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
    /// Where to compute: `auto` takes the GPU when one is usable and says why when it is not.
    #[arg(long, value_enum, default_value = "auto")]
    pub device: DeviceArg,
    /// On a GPU, let matrix products use TF32 tensor cores (10-bit mantissa inputs; faster,
    /// no longer the CPU's numbers to FP32 rounding).
    #[arg(long)]
    pub tf32: bool,
    #[arg(skip)]
    chosen: std::sync::OnceLock<ChosenDevice>,
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
    /// The device to compute on, opened once: with `--device cuda` a missing driver, GPU or
    /// library is an error here, before any work starts; with `auto` it means the CPU.
    pub fn chosen(&self) -> Result<&ChosenDevice> {
        if let Some(chosen) = self.chosen.get() {
            return Ok(chosen);
        }
        let cpu = |fallback| ChosenDevice {
            device: Device::Cpu,
            description: "cpu".into(),
            fallback,
        };
        let tf32 = if self.tf32 { ", TF32" } else { "" };
        let gpu = |d: std::sync::Arc<engine::cuda::CudaDevice>| ChosenDevice {
            device: d.device(),
            description: format!("{}{tf32}", d.describe()),
            fallback: None,
        };
        engine::cuda::set_tf32(self.tf32)?;
        let chosen = match self.device {
            DeviceArg::Cpu => cpu(None),
            DeviceArg::Cuda => gpu(engine::cuda::CudaDevice::get(0)?),
            DeviceArg::Auto => match engine::cuda::CudaDevice::get(0) {
                Ok(d) => gpu(d),
                Err(e) => cpu(Some(unavailable_reason(&e))),
            },
        };
        Ok(self.chosen.get_or_init(|| chosen))
    }

    pub fn device(&self) -> Result<Device> {
        Ok(self.chosen()?.device)
    }

    /// How the convolutions spend memory on the chosen device (for the estimate).
    pub fn backend(&self) -> Result<Backend> {
        Ok(match self.device()? {
            Device::Cpu => Backend::Cpu,
            Device::Cuda(_) => Backend::Cuda,
        })
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
        if let Some(bytes) = self.max_memory {
            return Some(AvailableMemory {
                bytes,
                source: "--max-memory".to_string(),
            });
        }
        match self.chosen().ok()?.device {
            Device::Cpu => available_memory(),
            // On a GPU the run's tensors live in device memory: what the device has free now
            // (the context and cuBLAS are already open).
            Device::Cuda(n) => {
                let gpu = engine::cuda::CudaDevice::get(n).ok()?;
                let (free, _) = gpu.memory().ok()?;
                Some(AvailableMemory {
                    bytes: free as u64,
                    source: format!("free memory on {}", gpu.describe()),
                })
            }
        }
    }

    /// Memory the weights take beyond their f32 values: the embedded file stays mapped (in
    /// host memory, so not counted against a GPU's).
    pub fn weight_file_bytes(&self) -> u64 {
        match (&self.weights, self.device()) {
            (None, Ok(Device::Cpu)) => engine::models::weights::embedded_file_bytes() as u64,
            _ => 0,
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

/// The first line of a device error, without the device name it starts with.
fn unavailable_reason(e: &engine::Error) -> String {
    match e {
        engine::Error::DeviceUnavailable { msg, .. } => {
            msg.split("; ").next().unwrap_or(msg).to_string()
        }
        other => other.to_string(),
    }
}
