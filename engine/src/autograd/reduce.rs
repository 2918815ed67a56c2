//! Sums, means and maxima over axes.

use crate::error::{Error, Result};
use crate::ops::ReduceOp;
use crate::tensor::Tensor;

impl Tensor {
    /// Which axes to reduce, validated; an empty list means all of them.
    fn reduce_flags(&self, axes: &[usize], op: &'static str) -> Result<Vec<bool>> {
        let mut flags = vec![axes.is_empty(); self.rank()];
        for &a in axes {
            if a >= self.rank() {
                return Err(Error::Axis {
                    op,
                    axis: a,
                    shape: self.shape().to_vec(),
                });
            }
            flags[a] = true;
        }
        Ok(flags)
    }

    /// The shape after reducing `flags`, with the reduced axes kept as size 1 or dropped.
    fn reduced_shape(&self, flags: &[bool], keepdim: bool) -> Vec<usize> {
        self.shape()
            .iter()
            .zip(flags)
            .filter_map(|(&d, &f)| match (f, keepdim) {
                (false, _) => Some(d),
                (true, true) => Some(1),
                (true, false) => None,
            })
            .collect()
    }

    fn reduce_raw(&self, flags: &[bool], op: ReduceOp, keepdim: bool) -> Result<Tensor> {
        let storage = self.storage().reduce(self.layout(), flags, op)?;
        Ok(Tensor::from_storage(
            storage,
            &self.reduced_shape(flags, keepdim),
        ))
    }

    // ANCHOR: sum
    /// Sum over `axes` (all axes when empty). The gradient is broadcast back unchanged.
    pub fn sum(&self, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        let flags = self.reduce_flags(axes, "sum")?;
        let out = self.reduce_raw(&flags, ReduceOp::Sum, keepdim)?;
        let kept_shape = self.reduced_shape(&flags, true);
        let input_shape = self.shape().to_vec();
        Ok(out.with_backward("sum", &[self], move |g, _| {
            Ok(vec![Some(
                g.reshape(&kept_shape)?.broadcast_to(&input_shape)?,
            )])
        }))
    }

    // ANCHOR_END: sum

    /// Sum of every element, as a rank-0 tensor.
    pub fn sum_all(&self) -> Result<Tensor> {
        self.sum(&[], false)
    }

    // ANCHOR: mean
    /// Mean over `axes` (all axes when empty).
    pub fn mean(&self, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        let flags = self.reduce_flags(axes, "mean")?;
        let count: usize = self
            .shape()
            .iter()
            .zip(&flags)
            .filter(|(_, &f)| f)
            .map(|(d, _)| d)
            .product();
        self.sum(axes, keepdim)?
            .mul_scalar(1.0 / count.max(1) as f32)
    }

    // ANCHOR_END: mean

    /// Mean of every element, as a rank-0 tensor.
    pub fn mean_all(&self) -> Result<Tensor> {
        self.mean(&[], false)
    }

    // ANCHOR: max
    /// Maximum over `axes` (all axes when empty). The gradient flows to the maximal
    /// elements, shared equally between ties.
    pub fn max(&self, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        let flags = self.reduce_flags(axes, "max")?;
        let out = self.reduce_raw(&flags, ReduceOp::Max, keepdim)?;
        let kept_shape = self.reduced_shape(&flags, true);
        let input = self.clone();
        let axes = axes.to_vec();
        Ok(out.with_backward("max", &[self], move |g, out| {
            let best = out.reshape(&kept_shape)?;
            let mask = input.eq_mask(&best)?;
            let ties = mask.sum(&axes, true)?;
            let g = g.reshape(&kept_shape)?.div(&ties)?;
            Ok(vec![Some(mask.mul(&g)?)])
        }))
    }
    // ANCHOR_END: max
}
