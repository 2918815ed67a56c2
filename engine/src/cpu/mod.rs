//! CPU kernels: plain loops, rayon for parallelism, matrixmultiply for GEMM.
//!
//! Kernels take flat slices plus a [`Layout`](crate::layout::Layout) and return new buffers;
//! they know nothing about tensors or gradients.

pub mod conv;
pub mod conv_im2col;
pub mod conv_winograd;
pub mod copy;
pub mod elementwise;
pub mod gram;
pub mod gram_backward;
pub mod heap;
pub mod matmul;
pub mod packed_gemm;
pub mod packed_gemm_bf16;
pub mod pool;
pub mod pool_2x2;
#[cfg(target_arch = "x86_64")]
mod pool_2x2_avx512;
pub mod reduce;
pub mod scratch;
pub mod simd;
pub mod vector;
pub mod winograd_cache;

/// Below this many elements, splitting work across threads costs more than it saves.
pub(crate) const PARALLEL_THRESHOLD: usize = 1 << 15;
