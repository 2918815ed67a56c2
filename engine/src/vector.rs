//! Whole-vector arithmetic on tensors, for optimisers: the dot products, norms and updates of
//! L-BFGS (one batched product over its history and one combination per direction). Nothing here is tracked by autograd (optimisers work on
//! gradients, not through them), and only the scalar answers leave the tensors' device.

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::tensor::Tensor;

fn same_shape(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.shape() == b.shape() {
        Ok(())
    } else {
        Err(Error::shape(
            op,
            format!("shapes {:?} and {:?} differ", a.shape(), b.shape()),
        ))
    }
}

impl Tensor {
    /// Σ aᵢ·bᵢ over all elements, accumulated in f64.
    pub fn dot(&self, other: &Tensor) -> Result<f64> {
        same_shape("dot", self, other)?;
        self.storage()
            .dot(self.layout(), other.storage(), other.layout())
    }

    /// Every product `rows[i]·cols[j]` (tensors of one shape, on one device), row-major, in
    /// f64: L-BFGS's products over its whole history in one call, one round trip on a GPU.
    pub fn dots(rows: &[&Tensor], cols: &[&Tensor]) -> Result<Vec<f64>> {
        if let Some(first) = rows.first().or(cols.first()) {
            for t in rows.iter().chain(cols) {
                same_shape("dots", first, t)?;
            }
        }
        fn views<'a>(list: &[&'a Tensor]) -> Vec<(&'a crate::storage::Storage, &'a Layout)> {
            list.iter().map(|t| (&**t.storage(), t.layout())).collect()
        }
        crate::storage::Storage::dots(&views(rows), &views(cols))
    }

    /// `Σ coefs[j]·vectors[j]` (tensors of one shape, on one device), each element formed in
    /// f64 and rounded once. Untracked.
    pub fn combination(coefs: &[f64], vectors: &[&Tensor]) -> Result<Tensor> {
        let first = vectors
            .first()
            .ok_or_else(|| Error::invalid("combination", "needs at least one vector"))?;
        for t in vectors {
            same_shape("combination", first, t)?;
        }
        let views: Vec<_> = vectors
            .iter()
            .map(|t| (&**t.storage(), t.layout()))
            .collect();
        let storage = crate::storage::Storage::combination(coefs, &views)?;
        Ok(Tensor::from_storage(storage, first.shape()))
    }

    /// Σ |aᵢ| (the L¹ norm), in f64.
    pub fn sum_abs(&self) -> Result<f64> {
        self.storage().sum_abs(self.layout())
    }

    /// max |aᵢ| (the L∞ norm); NaN entries are skipped, so test [`Tensor::all_finite`] first.
    pub fn max_abs(&self) -> Result<f64> {
        self.storage().max_abs(self.layout())
    }

    /// `self + alpha·x`, each element formed in f64 and rounded once (as L-BFGS's updates are,
    /// so that a long chain of them does not drift). Untracked.
    pub fn add_scaled(&self, alpha: f64, x: &Tensor) -> Result<Tensor> {
        same_shape("add_scaled", self, x)?;
        let storage = x
            .storage()
            .axpy(alpha, x.layout(), Some((self.storage(), self.layout())))?;
        Ok(Tensor::from_storage(storage, self.shape()))
    }

    /// `alpha·self`, each element formed in f64 and rounded once. Untracked.
    pub fn scaled(&self, alpha: f64) -> Result<Tensor> {
        let storage = self.storage().axpy(alpha, self.layout(), None)?;
        Ok(Tensor::from_storage(storage, self.shape()))
    }

    /// 1 where this tensor (the parameters) is free to move, 0 where an element sits at `lo`
    /// with `grad` > 0 or at `hi` with `grad` < 0 (see `style::Bounds`). Untracked.
    pub fn free_mask(&self, grad: &Tensor, lo: f32, hi: f32) -> Result<Tensor> {
        same_shape("free_mask", self, grad)?;
        let storage =
            self.storage()
                .free_mask(self.layout(), grad.storage(), grad.layout(), lo, hi)?;
        Ok(Tensor::from_storage(storage, self.shape()))
    }
}
