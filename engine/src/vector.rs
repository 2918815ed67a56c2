//! Whole-vector arithmetic on tensors, for optimisers: the dot products, norms and updates of
//! L-BFGS (one batched product over its history and one combination per direction). Nothing here is tracked by autograd (optimisers work on
//! gradients, not through them), and only the scalar answers leave the tensors' device.

use crate::error::{Error, Result};
use crate::layout::{Layout, Packing};
use crate::storage::Storage;
use crate::tensor::Tensor;

fn same_shape(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    same_shapes(op, a.shape(), b.shape())
}

fn same_shapes(op: &'static str, a: &[usize], b: &[usize]) -> Result<()> {
    if a == b {
        Ok(())
    } else {
        Err(Error::shape(op, format!("shapes {a:?} and {b:?} differ")))
    }
}

// ANCHOR: bf16_vector
/// A vector kept in bf16, two values to each 32-bit word of an f32 tensor's buffer (which
/// holds their bits, never computes with them): half the memory of f32, and half the bytes
/// for a batched product or a combination to read, for about three significant digits.
/// L-BFGS keeps its history so; its arithmetic stays f64 and f32.
#[derive(Clone, Debug)]
pub struct Bf16Vector {
    words: Tensor,
    shape: Vec<usize>,
}
// ANCHOR_END: bf16_vector

impl Bf16Vector {
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The values, widened to f32 (exactly: every bf16 is an f32).
    pub fn to_f32(&self) -> Result<Tensor> {
        let len = self.shape.iter().product();
        let words = &self.words;
        let storage = words.storage().unpack_bf16(words.layout(), len)?;
        Ok(Tensor::from_storage(storage, &self.shape))
    }
}

/// One vector of a batched product or a combination.
#[derive(Clone, Copy, Debug)]
pub enum Vector<'a> {
    F32(&'a Tensor),
    Bf16(&'a Bf16Vector),
}

impl Vector<'_> {
    fn shape(&self) -> &[usize] {
        match self {
            Vector::F32(t) => t.shape(),
            Vector::Bf16(v) => v.shape(),
        }
    }

    fn view(&self) -> (&Storage, &Layout, Packing) {
        match self {
            Vector::F32(t) => (&**t.storage(), t.layout(), Packing::F32),
            Vector::Bf16(v) => (&**v.words.storage(), v.words.layout(), Packing::Bf16Pairs),
        }
    }
}

impl Tensor {
    /// Σ aᵢ·bᵢ over all elements, accumulated in f64.
    pub fn dot(&self, other: &Tensor) -> Result<f64> {
        same_shape("dot", self, other)?;
        self.storage()
            .dot(self.layout(), other.storage(), other.layout())
    }

    /// Every product `rows[i]·cols[j]` (vectors of one shape, on one device; the columns f32
    /// or kept in bf16), row-major, in f64: L-BFGS's products over its whole history in one
    /// call, one round trip on a GPU.
    pub fn dots(rows: &[&Tensor], cols: &[Vector]) -> Result<Vec<f64>> {
        let Some(shape) = rows
            .first()
            .map(|t| t.shape())
            .or(cols.first().map(|v| v.shape()))
        else {
            return Ok(Vec::new());
        };
        for s in rows
            .iter()
            .map(|t| t.shape())
            .chain(cols.iter().map(|v| v.shape()))
        {
            same_shapes("dots", shape, s)?;
        }
        let row_views: Vec<_> = rows.iter().map(|t| (&**t.storage(), t.layout())).collect();
        let col_views: Vec<_> = cols.iter().map(Vector::view).collect();
        Storage::dots(&row_views, &col_views, shape.iter().product())
    }

    /// `Σ coefs[j]·vectors[j]` (vectors of one shape, on one device, f32 or kept in bf16),
    /// each element formed in f64 and rounded once; the result is f32. Untracked.
    pub fn combination(coefs: &[f64], vectors: &[Vector]) -> Result<Tensor> {
        let shape = vectors
            .first()
            .ok_or_else(|| Error::invalid("combination", "needs at least one vector"))?
            .shape();
        for v in vectors {
            same_shapes("combination", shape, v.shape())?;
        }
        let views: Vec<_> = vectors.iter().map(Vector::view).collect();
        let storage = Storage::combination(coefs, &views, shape.iter().product())?;
        Ok(Tensor::from_storage(storage, shape))
    }

    /// This tensor's values rounded to bf16 (to nearest, ties to even) and kept in half the
    /// memory. Untracked.
    pub fn to_bf16(&self) -> Result<Bf16Vector> {
        Ok(Bf16Vector {
            words: Tensor::from_storage(
                self.storage().pack_bf16(self.layout())?,
                &[Packing::Bf16Pairs.words(self.numel())],
            ),
            shape: self.shape().to_vec(),
        })
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
