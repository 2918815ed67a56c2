//! Batched matrix multiplication on cuBLAS: the twin of `cpu/matmul.rs`.
//!
//! cuBLAS is column-major, our tensors are row-major. A row-major matrix read column-major is
//! its transpose, so instead of C = A·B we ask cuBLAS for Cᵀ = Bᵀ·Aᵀ: the same buffers, the
//! operands swapped, and no copy. A transposed view (a Gram matrix's Fᵀ) needs no copy either:
//! it is an untransposed matrix in column-major order, passed with cuBLAS's "transpose" flag.

use super::buffer::CudaBuffer;
use super::gemm::GemmCall;
use crate::error::Result;
use crate::geometry::MatmulDims;
use crate::layout::Layout;

/// How cuBLAS sees a row-major `rows × cols` matrix whose element (i, j) sits at
/// `i·rs + j·cs`: we hand it the column-major *transpose* (`cols × rows`), either stored as
/// such (`transposed = false`, leading dimension `rs`) or as the column-major matrix itself,
/// flagged for transposition (`transposed = true`, leading dimension `cs`). `None` when
/// neither stride is 1 (a strided slice or a broadcast inside the matrix): copy it first.
fn blas_operand(rows: usize, cols: usize, rs: usize, cs: usize) -> Option<(bool, usize)> {
    if (cols == 1 || cs == 1) && (rows == 1 || rs >= cols.max(1)) {
        let ld = if rows == 1 { cols.max(1) } else { rs };
        return Some((false, ld));
    }
    if (rows == 1 || rs == 1) && (cols == 1 || cs >= rows.max(1)) {
        let ld = if cols == 1 { rows.max(1) } else { cs };
        return Some((true, ld));
    }
    None
}

/// One stride that steps through all batch matrices in row-major order of the batch axes, if
/// the view has one: 0 for a broadcast operand, the matrix size for a dense one.
fn batch_stride(layout: &Layout) -> Option<usize> {
    let rank = layout.rank();
    let dims: Vec<(usize, usize)> = layout.shape()[..rank - 2]
        .iter()
        .zip(&layout.strides()[..rank - 2])
        .filter(|(&d, _)| d > 1)
        .map(|(&d, &s)| (d, s))
        .collect();
    match dims.last() {
        None => Some(0),
        Some(&(_, last)) => {
            let steps_as_one = dims.windows(2).all(|w| w[0].1 == w[1].1 * w[1].0);
            steps_as_one.then_some(last)
        }
    }
}

/// An operand as cuBLAS takes it: (transposed, leading dimension, batch stride), copying it to
/// a dense buffer first if its view cannot be described so.
fn operand(
    x: &CudaBuffer,
    l: &Layout,
    rows: usize,
    cols: usize,
) -> Result<(Option<CudaBuffer>, Layout, bool, usize, usize)> {
    let rank = l.rank();
    let (rs, cs) = (l.strides()[rank - 2], l.strides()[rank - 1]);
    if let (Some((t, ld)), Some(stride)) = (blas_operand(rows, cols, rs, cs), batch_stride(l)) {
        return Ok((None, l.clone(), t, ld, stride));
    }
    let dense = super::copy::gather(x, l)?;
    let (t, ld) = blas_operand(rows, cols, cols, 1).expect("a dense matrix is a cuBLAS operand");
    Ok((
        Some(dense),
        Layout::contiguous(l.shape()),
        t,
        ld,
        rows * cols,
    ))
}

/// `lhs` is `[batch.., m, k]`, `rhs` is `[batch.., k, n]` with identical batch dimensions
/// (broadcast them first); the result is dense `[batch.., m, n]`.
pub fn matmul(a: &CudaBuffer, la: &Layout, b: &CudaBuffer, lb: &Layout) -> Result<CudaBuffer> {
    a.same_device(b, "matmul")?;
    let MatmulDims { batches, m, k, n } = MatmulDims::of(la, lb)?;
    let device = a.device();
    if batches * m * n == 0 || k == 0 {
        return super::copy::fill(device, batches * m * n, 0.0);
    }
    let c = CudaBuffer::uninit(device, batches * m * n, "matmul")?;
    let (a_copy, la, a_t, lda, a_stride) = operand(a, la, m, k)?;
    let (b_copy, lb, b_t, ldb, b_stride) = operand(b, lb, k, n)?;
    let a = a_copy.as_ref().unwrap_or(a);
    let b = b_copy.as_ref().unwrap_or(b);
    // ANCHOR: swap
    // Cᵀ (n × m, column-major, leading dimension n) = op(B-side) · op(A-side).
    let call = GemmCall {
        transa: b_t,
        transb: a_t,
        m: n,
        n: m,
        k,
        alpha: 1.0,
        a: b.address() + 4 * lb.offset() as u64,
        lda: ldb,
        stride_a: b_stride,
        b: a.address() + 4 * la.offset() as u64,
        ldb: lda,
        stride_b: a_stride,
        beta: 0.0,
        c: c.address(),
        ldc: n,
        stride_c: m * n,
        batch: batches,
    };
    // ANCHOR_END: swap
    call.check(
        b.len().saturating_sub(lb.offset()),
        a.len().saturating_sub(la.offset()),
        c.len(),
    )?;
    device.gemm(&call)?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operands_cover_dense_transposed_and_degenerate_matrices() {
        // Dense 3×4: its transpose read column-major, leading dimension 4.
        assert_eq!(blas_operand(3, 4, 4, 1), Some((false, 4)));
        // A transposed view of a dense 4×3 (strides 1, 3): transpose flag, leading dim 3.
        assert_eq!(blas_operand(3, 4, 1, 3), Some((true, 3)));
        // Rows of a wider buffer (a narrowed view).
        assert_eq!(blas_operand(3, 4, 10, 1), Some((false, 10)));
        // A single row or column takes whatever stride.
        assert_eq!(blas_operand(1, 4, 0, 1), Some((false, 4)));
        assert_eq!(blas_operand(4, 1, 1, 0), Some((false, 1)));
        // Every other element of a row: no unit stride, must be copied.
        assert_eq!(blas_operand(3, 4, 8, 2), None);
    }

    #[test]
    fn batch_strides() {
        assert_eq!(batch_stride(&Layout::contiguous(&[2, 3, 4, 5])), Some(20));
        let broadcast = Layout::contiguous(&[4, 5])
            .broadcast_to(&[2, 3, 4, 5])
            .unwrap();
        assert_eq!(batch_stride(&broadcast), Some(0));
        let mixed = Layout::contiguous(&[3, 4, 5])
            .broadcast_to(&[2, 3, 4, 5])
            .unwrap();
        assert_eq!(batch_stride(&mixed), None);
        assert_eq!(batch_stride(&Layout::contiguous(&[4, 5])), Some(0));
    }
}
