//! Where a tensor's numbers live.

use std::fmt;

/// A compute device. Only the CPU exists today; the CUDA variant arrives with the GPU chapter,
/// and every kernel call already goes through [`crate::storage::Storage`] so that adding it
/// touches no autodiff code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Device {
    #[default]
    Cpu,
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
        }
    }
}
