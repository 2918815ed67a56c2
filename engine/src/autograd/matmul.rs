//! Matrix multiplication: C = A·B, with ∂L/∂A = ∂L/∂C·Bᵀ and ∂L/∂B = Aᵀ·∂L/∂C.

use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::sync::Arc;

impl Tensor {
    // ANCHOR: matmul
    /// `[.., m, k] x [.., k, n] -> [.., m, n]`. Batch axes broadcast (a `[k, n]` weight can
    /// multiply a `[batch, m, k]` input); both operands need at least two axes.
    pub fn matmul(&self, rhs: &Tensor) -> Result<Tensor> {
        let batch = matmul_batch_shape(self, rhs)?;
        let (a, b) = (with_batch(self, &batch)?, with_batch(rhs, &batch)?);
        let storage = a.storage().matmul(a.layout(), b.storage(), b.layout())?;
        let mut shape = batch;
        shape.extend([a.shape()[a.rank() - 2], b.shape()[b.rank() - 1]]);
        let (ia, ib) = (a.clone(), b.clone());
        Ok(Tensor::from_op(
            Arc::new(storage),
            crate::layout::Layout::contiguous(&shape),
            "matmul",
            &[&a, &b],
            move |g, _| matmul_backward(g, &ia, &ib),
        ))
    }
    // ANCHOR_END: matmul

    /// `F·Fᵀ` for an `[m, k]` matrix `F` (a Gram matrix, up to scale): the same numbers as
    /// `f.matmul(&f.t()?)` (to rounding), each symmetric pair computed once on the CPU
    /// (`cpu/gram.rs`), and with a backward rule that uses the symmetry too. The general
    /// rule would run two matrix products, `∂L/∂C·F` for the left factor and `(Fᵀ·∂L/∂C)ᵀ` for
    /// the right; both factors are `F`, so their sum is `(∂L/∂C + ∂L/∂Cᵀ)·F` — one product,
    /// after adding an `m × m` matrix to its own transpose (`cpu/gram_backward.rs`).
    pub fn matmul_own_transpose(&self) -> Result<Tensor> {
        if self.rank() != 2 {
            return Err(Error::shape(
                "matmul_own_transpose",
                format!("expected an [m, k] matrix, got shape {:?}", self.shape()),
            ));
        }
        let storage = self.storage().gram(self.layout())?;
        let m = self.shape()[0];
        let f = self.clone();
        Ok(Tensor::from_op(
            Arc::new(storage),
            crate::layout::Layout::contiguous(&[m, m]),
            "matmul_own_transpose",
            &[self],
            move |g, _| {
                let df = g
                    .storage()
                    .gram_backward(g.layout(), f.storage(), f.layout())?;
                Ok(vec![Some(Tensor::from_storage(df, f.shape()))])
            },
        ))
    }
}

/// Whether the last two axes are stored column by column (a transposed dense matrix).
fn is_transposed(t: &Tensor) -> bool {
    let (shape, strides) = (t.shape(), t.layout().strides());
    let r = t.rank();
    strides[r - 2] == 1 && shape[r - 1] > 1 && strides[r - 1] >= shape[r - 2]
}

// ANCHOR: matmul_backward
/// C = A·B: ∂L/∂A = G·Bᵀ and ∂L/∂B = Aᵀ·G, where G = ∂L/∂C. Two matrix products, each
/// computed only when its operand needs a gradient.
fn matmul_backward(g: &Tensor, a: &Tensor, b: &Tensor) -> Result<Vec<Option<Tensor>>> {
    // Each gradient is computed in the memory order of its operand: the gradient of a
    // transposed view (Fᵀ in a Gram matrix F·Fᵀ) is built as (Gᵀ·A)ᵀ, a view whose transpose
    // is dense, so it adds onto F's other gradient without a strided copy.
    let ga = a
        .requires_grad_flag()
        .then(|| match is_transposed(a) {
            true => b.matmul(&g.t()?)?.t(),
            false => g.matmul(&b.t()?),
        })
        .transpose()?;
    let gb = b
        .requires_grad_flag()
        .then(|| match is_transposed(b) {
            true => g.t()?.matmul(a)?.t(),
            false => a.t()?.matmul(g),
        })
        .transpose()?;
    Ok(vec![ga, gb])
}
// ANCHOR_END: matmul_backward

/// The broadcast batch shape of `[.., m, k] x [.., k, n]`, after checking the two operands.
fn matmul_batch_shape(lhs: &Tensor, rhs: &Tensor) -> Result<Vec<usize>> {
    if lhs.rank() < 2 || rhs.rank() < 2 {
        return Err(Error::shape(
            "matmul",
            format!(
                "both operands need at least two axes, got {:?} x {:?}; \
                 reshape vectors to [1, n] or [n, 1]",
                lhs.shape(),
                rhs.shape()
            ),
        ));
    }
    let (ra, rb) = (lhs.rank(), rhs.rank());
    let (k, k2) = (lhs.shape()[ra - 1], rhs.shape()[rb - 2]);
    if k != k2 {
        return Err(Error::shape(
            "matmul",
            format!(
                "inner dimensions differ: {:?} x {:?} ({k} vs {k2})",
                lhs.shape(),
                rhs.shape()
            ),
        ));
    }
    crate::layout::broadcast_shape("matmul", &lhs.shape()[..ra - 2], &rhs.shape()[..rb - 2])
}

/// `t` as a view with the batch axes `batch` in front of its last two axes.
fn with_batch(t: &Tensor, batch: &[usize]) -> Result<Tensor> {
    let mut shape = batch.to_vec();
    shape.extend_from_slice(&t.shape()[t.rank() - 2..]);
    t.broadcast_to(&shape)
}
