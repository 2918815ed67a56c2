//! Batched matrix multiplication on matrixmultiply's packed, vectorised GEMM.

use super::PARALLEL_THRESHOLD;
use crate::error::Result;
use crate::geometry::MatmulDims;
use crate::layout::Layout;
use rayon::prelude::*;

/// `lhs` is `[batch.., m, k]`, `rhs` is `[batch.., k, n]` with identical batch dimensions
/// (broadcast them first); the result is dense `[batch.., m, n]`.
///
/// Strided views are passed to the GEMM as they are: a transposed operand costs nothing.
pub fn matmul(a: &[f32], la: &Layout, b: &[f32], lb: &Layout) -> Result<Vec<f32>> {
    let MatmulDims { batches, m, k, n } = MatmulDims::of(la, lb)?;
    let rank = la.rank();
    let batch_shape = &la.shape()[..rank - 2];
    let mut out = vec![0.0f32; batches * m * n];
    if m * n == 0 {
        return Ok(out);
    }
    // Storage offset of batch `i` for a layout.
    let batch_offset = |l: &Layout, mut i: usize| {
        let mut off = l.offset();
        for axis in (0..rank - 2).rev() {
            off += (i % batch_shape[axis]) * l.strides()[axis];
            i /= batch_shape[axis];
        }
        off
    };
    let (rsa, csa) = (
        la.strides()[rank - 2] as isize,
        la.strides()[rank - 1] as isize,
    );
    let (rsb, csb) = (
        lb.strides()[rank - 2] as isize,
        lb.strides()[rank - 1] as isize,
    );
    let gemm = |i: usize, c: &mut [f32]| {
        let (oa, ob) = (batch_offset(la, i), batch_offset(lb, i));
        // SAFETY: offsets and strides come from layouts validated against these buffers, so
        // every element the GEMM reads is inside `a` and `b`; `c` is a dense m×n block.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr().add(oa),
                rsa,
                csa,
                b.as_ptr().add(ob),
                rsb,
                csb,
                0.0,
                c.as_mut_ptr(),
                n as isize,
                1,
            );
        }
    };
    if batches > 1 && batches * m * n * k >= PARALLEL_THRESHOLD {
        out.par_chunks_mut(m * n)
            .enumerate()
            .for_each(|(i, c)| gemm(i, c));
    } else {
        out.chunks_mut(m * n)
            .enumerate()
            .for_each(|(i, c)| gemm(i, c));
    }
    Ok(out)
}
