//! CUDA kernels: the GPU twin of `cpu/`.
//!
//! For each `cpu/X.rs` there is a `cuda/X.rs` with the same functions — taking device buffers
//! ([`CudaBuffer`]) instead of slices — and, where it needs kernels of its own, a `cuda/X.cu`
//! with them in CUDA C. `storage.rs` picks one or the other; nothing above it knows which.
//!
//! - `device.rs`, `driver.rs`: opening a GPU through cudarc (driver, NVRTC and cuBLAS are
//!   loaded at run time), its memory, compiled modules and launches;
//! - `kernels.rs`: the `.cu` sources and compiling them with NVRTC;
//! - `launch.rs`, `strided.rs`, `gemm.rs`: what a launch passes (argument structs, views) and
//!   the one cuBLAS call everything uses;
//! - `ledger.rs`: what a device did (launches, cuBLAS calls, copies, waits, memory), counted
//!   alike on the GPU and in the emulator;
//! - `emulator.rs`: the same kernels compiled for the host and run thread by thread, so that
//!   tests check them on machines without a GPU;
//! - `elementwise`, `copy`, `reduce`, `matmul`, `conv`, `pool`, `vector`: the operations.

pub mod buffer;
pub mod conv;
pub mod copy;
pub mod device;
mod driver;
pub mod elementwise;
pub mod emulator;
pub mod gemm;
pub mod kernels;
pub mod launch;
pub mod ledger;
pub mod matmul;
pub mod pool;
pub mod reduce;
pub mod strided;
pub mod vector;

pub use buffer::CudaBuffer;
pub use device::CudaDevice;
pub use launch::force_64_bit_indices;
pub use ledger::{Ledger, LedgerRates};

use std::sync::atomic::{AtomicBool, Ordering};

static HOST_EMULATOR: AtomicBool = AtomicBool::new(false);
static TF32: AtomicBool = AtomicBool::new(false);

/// From now on, `Device::Cuda(n)` opened anew is the host emulator instead of a GPU: for tests
/// on machines without one. Devices already opened keep what they are.
pub fn use_host_emulator(enabled: bool) {
    HOST_EMULATOR.store(enabled, Ordering::SeqCst);
}

/// The emulator is chosen by [`use_host_emulator`], or for a whole program (the CLI, a
/// benchmark) by `PICASSO_CUDA_EMULATOR=1` in the environment: a way to run the CUDA path end to
/// end on a machine without a GPU, slowly.
pub(crate) fn host_emulator_chosen() -> bool {
    HOST_EMULATOR.load(Ordering::SeqCst)
        || std::env::var("PICASSO_CUDA_EMULATOR").is_ok_and(|v| v == "1")
}

/// Let FP32 matrix products (convolutions included) use TF32 tensor cores: inputs rounded to a
/// 10-bit mantissa, several times faster on recent GPUs. Off by default, so that results match
/// the CPU's to FP32 rounding. Applies to devices already open and to those opened later.
pub fn set_tf32(enabled: bool) -> crate::Result<()> {
    TF32.store(enabled, Ordering::SeqCst);
    for device in device::opened() {
        device.set_tf32(enabled)?;
    }
    Ok(())
}

pub(crate) fn tf32_enabled() -> bool {
    TF32.load(Ordering::SeqCst)
}
