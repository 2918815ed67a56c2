//! Where a tensor's numbers live.

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// A compute device: the host CPU, or one NVIDIA GPU by its CUDA ordinal (`cuda:0` is the
/// first). Every kernel call goes through [`crate::storage::Storage`], which picks the CPU or
/// the CUDA kernels; autograd never asks which one it runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Device {
    #[default]
    Cpu,
    Cuda(usize),
}

impl Device {
    pub fn is_cuda(self) -> bool {
        matches!(self, Device::Cuda(_))
    }

    /// What a CUDA device has done so far (launches, copies, round trips, memory; see
    /// [`crate::cuda::Ledger`]); `None` on the CPU, which keeps no ledger.
    pub fn ledger(self) -> Result<Option<crate::cuda::Ledger>> {
        match self {
            Device::Cpu => Ok(None),
            Device::Cuda(n) => Ok(Some(crate::cuda::CudaDevice::get(n)?.ledger())),
        }
    }

    /// Start the ledger's high-water marks (peak bytes, largest copy) anew; nothing on the CPU.
    pub fn reset_ledger_marks(self) -> Result<()> {
        if let Device::Cuda(n) = self {
            crate::cuda::CudaDevice::get(n)?.reset_ledger_marks();
        }
        Ok(())
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
            Device::Cuda(ordinal) => write!(f, "cuda:{ordinal}"),
        }
    }
}

/// `cpu`, `cuda` (the first GPU) or `cuda:N`.
impl FromStr for Device {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(
                "device",
                format!("`{text}` is not a device; use cpu, cuda or cuda:N (N = 0, 1, …)"),
            )
        };
        match text.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda(0)),
            other => match other.strip_prefix("cuda:") {
                Some(n) => n.parse().map(Device::Cuda).map_err(|_| bad()),
                None => Err(bad()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_devices() {
        for (text, device) in [
            ("cpu", Device::Cpu),
            ("cuda", Device::Cuda(0)),
            ("cuda:1", Device::Cuda(1)),
        ] {
            assert_eq!(text.parse::<Device>().unwrap(), device);
        }
        assert_eq!(Device::Cuda(2).to_string(), "cuda:2");
        assert!("tpu".parse::<Device>().is_err());
        assert!("cuda:x".parse::<Device>().is_err());
    }
}
