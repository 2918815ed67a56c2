//! CPU against CUDA, op by op and through a whole VGG objective. One test binary, so the GPU
//! machine's device check carries one file (`engine/benches/gpu_check.sh`).
//!
//! With a usable GPU the tests run on it; without one, on the host emulator (the same `.cu`
//! kernels compiled for the CPU), after printing why; `REQUIRE_CUDA=1` makes a missing GPU a
//! failure. See common.rs.

mod common;
mod conv_pool;
mod ops;
mod settings;
mod vgg;
