//! A buffer of f32 in a CUDA device's memory: what `Storage::Cuda` holds.

use super::device::{CudaDevice, Memory};
use crate::error::{Error, Result};
use std::sync::Arc;

/// `len` floats on `device`. Like the CPU's `Vec<f32>`, it is written once when made and only
/// read afterwards (storages are immutable), except by the in-place ReLU of a fresh result.
pub struct CudaBuffer {
    device: Arc<CudaDevice>,
    memory: Memory,
    len: usize,
}

impl std::fmt::Debug for CudaBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CudaBuffer({} floats on {:?})", self.len, self.device)
    }
}

impl Drop for CudaBuffer {
    fn drop(&mut self) {
        self.device.released(self.len);
    }
}

impl CudaBuffer {
    /// Room for `len` floats, to be filled by a kernel; `op` names the operation in an
    /// out-of-memory error.
    pub fn uninit(device: &Arc<CudaDevice>, len: usize, op: &'static str) -> Result<Self> {
        Ok(CudaBuffer {
            device: device.clone(),
            memory: device.alloc(len, op)?,
            len,
        })
    }

    /// A copy of host data.
    pub fn from_host(device: &Arc<CudaDevice>, data: &[f32]) -> Result<Self> {
        Ok(CudaBuffer {
            device: device.clone(),
            memory: device.upload(data, "copying to the GPU")?,
            len: data.len(),
        })
    }

    pub fn device(&self) -> &Arc<CudaDevice> {
        &self.device
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The device address of the first float, for kernel arguments and cuBLAS.
    pub fn address(&self) -> u64 {
        self.device.address(&self.memory)
    }

    /// `len` floats from `start`, copied to the host.
    pub fn read(&self, start: usize, len: usize) -> Result<Vec<f32>> {
        if start + len > self.len {
            return Err(Error::invalid(
                "cuda copy",
                format!(
                    "elements {start}..{} are outside a buffer of {}",
                    start + len,
                    self.len
                ),
            ));
        }
        self.device.download(&self.memory, start, len)
    }

    /// Every float, copied to the host.
    pub fn to_host(&self) -> Result<Vec<f32>> {
        self.read(0, self.len)
    }

    /// Error unless `other` lives on the same device.
    pub fn same_device(&self, other: &CudaBuffer, op: &'static str) -> Result<()> {
        if Arc::ptr_eq(&self.device, &other.device) {
            Ok(())
        } else {
            Err(Error::DeviceMismatch {
                op,
                lhs: self.device.describe(),
                rhs: other.device.describe(),
            })
        }
    }
}
