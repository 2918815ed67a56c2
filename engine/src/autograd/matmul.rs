//! Matrix multiplication: C = A·B, with ∂L/∂A = ∂L/∂C·Bᵀ and ∂L/∂B = Aᵀ·∂L/∂C.

use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::sync::Arc;

impl Tensor {
    /// `[.., m, k] x [.., k, n] -> [.., m, n]`. Batch axes broadcast (a `[k, n]` weight can
    /// multiply a `[batch, m, k]` input); both operands need at least two axes.
    pub fn matmul(&self, rhs: &Tensor) -> Result<Tensor> {
        if self.rank() < 2 || rhs.rank() < 2 {
            return Err(Error::shape(
                "matmul",
                format!(
                    "both operands need at least two axes, got {:?} x {:?}; reshape vectors to [1, n] or [n, 1]",
                    self.shape(),
                    rhs.shape()
                ),
            ));
        }
        let (ra, rb) = (self.rank(), rhs.rank());
        let (k, k2) = (self.shape()[ra - 1], rhs.shape()[rb - 2]);
        if k != k2 {
            return Err(Error::shape(
                "matmul",
                format!(
                    "inner dimensions differ: {:?} x {:?} ({k} vs {k2})",
                    self.shape(),
                    rhs.shape()
                ),
            ));
        }
        let batch = crate::layout::broadcast_shape(
            "matmul",
            &self.shape()[..ra - 2],
            &rhs.shape()[..rb - 2],
        )?;
        let with_batch = |t: &Tensor| {
            let mut shape = batch.clone();
            shape.extend_from_slice(&t.shape()[t.rank() - 2..]);
            t.broadcast_to(&shape)
        };
        let (a, b) = (with_batch(self)?, with_batch(rhs)?);
        let storage = a.storage().matmul(a.layout(), b.storage(), b.layout())?;
        let mut shape = batch.clone();
        shape.extend([a.shape()[a.rank() - 2], b.shape()[b.rank() - 1]]);
        let (ia, ib) = (a.clone(), b.clone());
        Ok(Tensor::from_op(
            Arc::new(storage),
            crate::layout::Layout::contiguous(&shape),
            "matmul",
            &[&a, &b],
            move |g, _| {
                // Each gradient is computed in the memory order of its operand: the gradient
                // of a transposed view (Fᵀ in a Gram matrix F·Fᵀ) is built as (gᵀ·A)ᵀ, a view
                // whose transpose is dense, so it adds onto F's other gradient without a
                // strided copy.
                let ga = ia
                    .requires_grad_flag()
                    .then(|| match is_transposed(&ia) {
                        true => ib.matmul(&g.t()?)?.t(),
                        false => g.matmul(&ib.t()?),
                    })
                    .transpose()?;
                let gb = ib
                    .requires_grad_flag()
                    .then(|| match is_transposed(&ib) {
                        true => g.t()?.matmul(&ia)?.t(),
                        false => ia.t()?.matmul(g),
                    })
                    .transpose()?;
                Ok(vec![ga, gb])
            },
        ))
    }
    /// `F·Fᵀ` for an `[m, k]` matrix `F` (a Gram matrix, up to scale): the same numbers as
    /// `f.matmul(&f.t()?)`, but with a backward rule that uses the symmetry. The general
    /// rule would run two matrix products, `∂L/∂C·F` for the left factor and `(Fᵀ·∂L/∂C)ᵀ` for
    /// the right; both factors are `F`, so their sum is `(∂L/∂C + ∂L/∂Cᵀ)·F` — one product,
    /// after adding an `m × m` matrix to its own transpose.
    pub fn matmul_own_transpose(&self) -> Result<Tensor> {
        if self.rank() != 2 {
            return Err(Error::shape(
                "matmul_own_transpose",
                format!("expected an [m, k] matrix, got shape {:?}", self.shape()),
            ));
        }
        let ft = self.t()?;
        let storage = self
            .storage()
            .matmul(self.layout(), ft.storage(), ft.layout())?;
        let m = self.shape()[0];
        let f = self.clone();
        Ok(Tensor::from_op(
            Arc::new(storage),
            crate::layout::Layout::contiguous(&[m, m]),
            "matmul_own_transpose",
            &[self],
            move |g, _| Ok(vec![Some(g.add(&g.t()?)?.matmul(&f)?)]),
        ))
    }
}

/// Whether the last two axes are stored column by column (a transposed dense matrix).
fn is_transposed(t: &Tensor) -> bool {
    let (shape, strides) = (t.shape(), t.layout().strides());
    let r = t.rank();
    strides[r - 2] == 1 && shape[r - 1] > 1 && strides[r - 1] >= shape[r - 2]
}
