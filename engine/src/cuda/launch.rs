//! How a kernel is launched: the argument struct it receives, and the grid that runs it.
//!
//! Every kernel here takes a single `#[repr(C)]` struct by value, declared twice — in Rust
//! beside the launch and in CUDA C at the top of the `.cu` file — with the same fields in the
//! same order. One struct instead of a list of parameters keeps launches readable and lets the
//! host emulator call a kernel like any C function.

/// A kernel's argument struct.
///
/// # Safety
/// The type must be `#[repr(C)]` and match, field for field, the struct the kernel declares;
/// addresses in it must point into live buffers of the sizes the kernel indexes.
pub unsafe trait KernelArgs: Copy + cudarc::driver::DeviceRepr {}

/// Implement the marker traits for argument structs.
macro_rules! kernel_args {
    ($($t:ty),* $(,)?) => {
        $(
            // SAFETY: the struct is `#[repr(C)]` and mirrors its CUDA C declaration.
            unsafe impl cudarc::driver::DeviceRepr for $t {}
            // SAFETY: as above.
            unsafe impl $crate::cuda::launch::KernelArgs for $t {}
        )*
    };
}
pub(crate) use kernel_args;

// ANCHOR: grid
/// Threads per block: a multiple of the 32-thread warp that keeps every streaming
/// multiprocessor busy for simple per-element kernels.
pub const THREADS_PER_BLOCK: u32 = 256;
/// Enough blocks to fill any current GPU several times over; the kernels' grid-stride loops
/// cover larger sizes, so no launch ever exceeds the hardware's grid limit.
pub const MAX_BLOCKS: u32 = 1 << 16;

/// Whether a launch's threads work alone, or cooperate inside their block through shared
/// memory and `__syncthreads()` (which the host emulator must then run together).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    Independent,
    Cooperative,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    pub blocks: u32,
    pub threads_per_block: u32,
}

/// The grid for `threads` independent pieces of work.
pub fn launch_config(threads: u64) -> Grid {
    let blocks = threads
        .div_ceil(THREADS_PER_BLOCK as u64)
        .clamp(1, MAX_BLOCKS as u64);
    Grid {
        blocks: blocks as u32,
        threads_per_block: THREADS_PER_BLOCK,
    }
}
// ANCHOR_END: grid
