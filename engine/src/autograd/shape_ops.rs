//! Operations that move elements around without changing them: reshape, transpose, permute,
//! narrow (slicing), concatenation. Most are views that only change the layout.

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::storage::Storage;
use crate::tensor::Tensor;
use std::sync::Arc;

impl Tensor {
    /// A dense row-major copy (or the tensor itself when it already is one).
    pub fn contiguous(&self) -> Result<Tensor> {
        if self.is_contiguous() {
            return Ok(self.clone());
        }
        let storage = self.storage().contiguous(self.layout())?;
        Ok(Tensor::from_op(
            Arc::new(storage),
            Layout::contiguous(self.shape()),
            "contiguous",
            &[self],
            |g, _| Ok(vec![Some(g.clone())]),
        ))
    }

    /// The same elements in a new shape with the same number of elements. A view when the
    /// tensor is contiguous, a copy otherwise.
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        if n != self.numel() {
            return Err(Error::shape(
                "reshape",
                format!(
                    "cannot reshape {:?} ({} elements) into {shape:?} ({n} elements)",
                    self.shape(),
                    self.numel()
                ),
            ));
        }
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let source = self.contiguous()?;
        let layout = source
            .layout()
            .reshape(shape)
            .expect("a contiguous layout can always be reshaped");
        let input_shape = self.shape().to_vec();
        Ok(Tensor::from_op(
            source.storage().clone(),
            layout,
            "reshape",
            &[&source],
            move |g, _| Ok(vec![Some(g.reshape(&input_shape)?)]),
        ))
    }

    /// Insert a size-1 axis at `axis`.
    pub fn unsqueeze(&self, axis: usize) -> Result<Tensor> {
        if axis > self.rank() {
            return Err(Error::Axis {
                op: "unsqueeze",
                axis,
                shape: self.shape().to_vec(),
            });
        }
        let mut shape = self.shape().to_vec();
        shape.insert(axis, 1);
        self.reshape(&shape)
    }

    /// Collapse to two dimensions: the first axis stays, the rest are flattened.
    pub fn flatten_from(&self, axis: usize) -> Result<Tensor> {
        if axis > self.rank() {
            return Err(Error::Axis {
                op: "flatten_from",
                axis,
                shape: self.shape().to_vec(),
            });
        }
        let mut shape = self.shape()[..axis].to_vec();
        shape.push(self.shape()[axis..].iter().product());
        self.reshape(&shape)
    }

    // ANCHOR: transpose
    /// Swap two axes (a view).
    pub fn transpose(&self, a: usize, b: usize) -> Result<Tensor> {
        let layout = self.layout().transpose(a, b)?;
        Ok(Tensor::from_op(
            self.storage().clone(),
            layout,
            "transpose",
            &[self],
            move |g, _| Ok(vec![Some(g.transpose(a, b)?)]),
        ))
    }
    // ANCHOR_END: transpose

    /// Matrix transpose of the last two axes (a view).
    pub fn t(&self) -> Result<Tensor> {
        if self.rank() < 2 {
            return Err(Error::shape(
                "t",
                format!("needs at least two axes, got shape {:?}", self.shape()),
            ));
        }
        self.transpose(self.rank() - 2, self.rank() - 1)
    }

    /// Reorder axes: output axis `i` is input axis `perm[i]` (a view).
    pub fn permute(&self, perm: &[usize]) -> Result<Tensor> {
        let layout = self.layout().permute(perm)?;
        let mut inverse = vec![0; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            inverse[p] = i;
        }
        Ok(Tensor::from_op(
            self.storage().clone(),
            layout,
            "permute",
            &[self],
            move |g, _| Ok(vec![Some(g.permute(&inverse)?)]),
        ))
    }

    // ANCHOR: narrow
    /// Keep `len` entries of `axis` from `start` (a view). The gradient is zero elsewhere.
    pub fn narrow(&self, axis: usize, start: usize, len: usize) -> Result<Tensor> {
        let layout = self.layout().narrow(axis, start, len)?;
        let full = self.shape()[axis];
        Ok(Tensor::from_op(
            self.storage().clone(),
            layout,
            "narrow",
            &[self],
            move |g, _| {
                let zeros_of = |n: usize| {
                    let mut shape = g.shape().to_vec();
                    shape[axis] = n;
                    Tensor::zeros_on(&shape, g.device())
                };
                let parts = [zeros_of(start)?, g.clone(), zeros_of(full - start - len)?];
                Ok(vec![Some(Tensor::concat(&parts, axis)?)])
            },
        ))
    }
    // ANCHOR_END: narrow

    /// Join tensors along `axis`; all other dimensions must match.
    pub fn concat(parts: &[Tensor], axis: usize) -> Result<Tensor> {
        let first = parts
            .first()
            .ok_or_else(|| Error::invalid("concat", "needs at least one tensor"))?;
        if axis >= first.rank() {
            return Err(Error::Axis {
                op: "concat",
                axis,
                shape: first.shape().to_vec(),
            });
        }
        for p in parts {
            let same_rank = p.rank() == first.rank();
            let others_match =
                same_rank && (0..p.rank()).all(|a| a == axis || p.shape()[a] == first.shape()[a]);
            if !others_match {
                return Err(Error::shape(
                    "concat",
                    format!(
                        "shapes {:?} and {:?} differ outside axis {axis}",
                        first.shape(),
                        p.shape()
                    ),
                ));
            }
        }
        let storages: Vec<(&Storage, &Layout)> = parts
            .iter()
            .map(|p| (p.storage().as_ref(), p.layout()))
            .collect();
        let storage = Storage::concat(&storages, axis)?;
        let sizes: Vec<usize> = parts.iter().map(|p| p.shape()[axis]).collect();
        let mut shape = first.shape().to_vec();
        shape[axis] = sizes.iter().sum();
        let inputs: Vec<&Tensor> = parts.iter().collect();
        Ok(Tensor::from_op(
            Arc::new(storage),
            Layout::contiguous(&shape),
            "concat",
            &inputs,
            move |g, _| {
                let mut start = 0;
                sizes
                    .iter()
                    .map(|&n| {
                        let piece = g.narrow(axis, start, n)?;
                        start += n;
                        Ok(Some(piece))
                    })
                    .collect()
            },
        ))
    }
}
