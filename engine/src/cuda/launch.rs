//! How a kernel is launched: the argument struct it receives, and the grid that runs it.
//!
//! Every kernel here takes a single `#[repr(C)]` struct by value, declared twice — in Rust
//! beside the launch and in CUDA C at the top of the `.cu` file — with the same fields in the
//! same order. One struct instead of a list of parameters keeps launches readable and lets the
//! host emulator call a kernel like any C function.

use std::sync::atomic::{AtomicBool, Ordering};

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

static WIDE_INDICES: AtomicBool = AtomicBool::new(false);

/// Run the kernels that come in two widths with 64-bit index arithmetic even where 32 bits
/// would do (they compute the same; tests use it to run the wide kernels on small images),
/// process-wide.
pub fn force_64_bit_indices(forced: bool) {
    WIDE_INDICES.store(forced, Ordering::Relaxed);
}

// ANCHOR: index_width
/// Which of a kernel's two widths (`BOTH_WIDTHS` in prelude.cuh: `[name_32, name_64]`) serves a
/// launch whose indices (elements, offsets, and the grid-stride loop's overshoot by one grid)
/// all stay below `largest`: 32 bits when they fit a signed 32-bit integer, else 64.
pub(crate) fn index_width([narrow, wide]: [&'static str; 2], largest: usize) -> &'static str {
    let grid_threads = (MAX_BLOCKS as usize) * (THREADS_PER_BLOCK as usize);
    let fits = largest.saturating_add(grid_threads) <= i32::MAX as usize;
    if fits && !WIDE_INDICES.load(Ordering::Relaxed) {
        narrow
    } else {
        wide
    }
}
// ANCHOR_END: index_width

#[cfg(test)]
mod tests {
    use super::*;

    /// 32-bit arithmetic exactly while every index, plus one grid's overshoot, fits an i32.
    #[test]
    fn kernels_go_wide_only_where_32_bits_overflow() {
        const IM2COL: [&str; 2] = ["im2col_tile_32", "im2col_tile_64"];
        const COL2IM: [&str; 2] = ["col2im_tile_32", "col2im_tile_64"];
        let grid = (MAX_BLOCKS * THREADS_PER_BLOCK) as usize;
        let last_narrow = i32::MAX as usize - grid;
        assert_eq!(index_width(IM2COL, 1000), "im2col_tile_32");
        assert_eq!(index_width(IM2COL, last_narrow), "im2col_tile_32");
        assert_eq!(index_width(IM2COL, last_narrow + 1), "im2col_tile_64");
        assert_eq!(index_width(COL2IM, last_narrow), "col2im_tile_32");
        assert_eq!(index_width(COL2IM, usize::MAX), "col2im_tile_64");
    }
}
