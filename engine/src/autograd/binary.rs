//! Element-by-element functions of two tensors. Operands are first broadcast to a common shape
//! by an explicit `broadcast_to`, whose backward rule is the only place gradients are summed
//! back to a smaller shape.

use crate::error::{Error, Result};
use crate::layout::{broadcast_shape, Layout};
use crate::ops::BinaryOp;
use crate::tensor::Tensor;

impl Tensor {
    /// Both operands as views of their common broadcast shape.
    pub(crate) fn broadcast_pair(
        &self,
        rhs: &Tensor,
        op: &'static str,
    ) -> Result<(Tensor, Tensor)> {
        if self.device() != rhs.device() {
            return Err(Error::DeviceMismatch {
                op,
                lhs: self.device().to_string(),
                rhs: rhs.device().to_string(),
            });
        }
        if self.shape() == rhs.shape() {
            return Ok((self.clone(), rhs.clone()));
        }
        let shape = broadcast_shape(op, self.shape(), rhs.shape())?;
        Ok((self.broadcast_to(&shape)?, rhs.broadcast_to(&shape)?))
    }

    /// The raw kernel on two same-shape tensors, never tracked.
    pub(crate) fn zip_raw(&self, rhs: &Tensor, op: BinaryOp) -> Result<Tensor> {
        let storage = self
            .storage()
            .binary(self.layout(), rhs.storage(), rhs.layout(), op)?;
        Ok(Tensor::from_storage(storage, self.shape()))
    }

    // ANCHOR: binary
    /// Apply `op` to `self` and `rhs` broadcast to a common shape, recording `backward`, which
    /// turns the output's gradient into the gradients of the two broadcast views.
    fn binary<R>(&self, rhs: &Tensor, op: BinaryOp, backward: R) -> Result<Tensor>
    where
        R: Fn(&Tensor, &Tensor, &Tensor) -> Result<(Tensor, Tensor)> + Send + Sync + 'static,
    {
        let (a, b) = self.broadcast_pair(rhs, op.name())?;
        let out = a.zip_raw(&b, op)?;
        let (ia, ib) = (a.clone(), b.clone());
        Ok(Tensor::from_op(
            out.storage().clone(),
            Layout::contiguous(a.shape()),
            op.name(),
            &[&a, &b],
            move |g, _| {
                let (ga, gb) = backward(g, &ia, &ib)?;
                Ok(vec![Some(ga), Some(gb)])
            },
        ))
    }
    // ANCHOR_END: binary

    // ANCHOR: arithmetic
    /// a + b (broadcasting).
    pub fn add(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Add, |g, _, _| Ok((g.clone(), g.clone())))
    }

    /// a - b (broadcasting).
    pub fn sub(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Sub, |g, _, _| Ok((g.clone(), g.neg()?)))
    }

    /// a · b elementwise (broadcasting).
    pub fn mul(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Mul, |g, a, b| Ok((g.mul(b)?, g.mul(a)?)))
    }

    /// a / b elementwise (broadcasting); ∂/∂b = -a/b².
    pub fn div(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Div, |g, a, b| {
            let ga = g.div(b)?;
            let gb = ga.mul(a)?.div(b)?.neg()?;
            Ok((ga, gb))
        })
    }
    // ANCHOR_END: arithmetic

    // ANCHOR: maximum
    /// Elementwise maximum; the gradient goes to the larger operand (to `self` on ties).
    pub fn maximum(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Maximum, |g, a, b| {
            let to_b = b.zip_raw(a, BinaryOp::Gt)?;
            let to_a = to_b.one_minus()?;
            Ok((g.mul(&to_a)?, g.mul(&to_b)?))
        })
    }

    // ANCHOR_END: maximum

    /// Elementwise minimum; the gradient goes to the smaller operand (to `self` on ties).
    pub fn minimum(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Minimum, |g, a, b| {
            let to_b = a.zip_raw(b, BinaryOp::Gt)?;
            let to_a = to_b.one_minus()?;
            Ok((g.mul(&to_a)?, g.mul(&to_b)?))
        })
    }

    /// 1 where a == b, else 0. Not differentiable: the result is never tracked.
    pub fn eq_mask(&self, rhs: &Tensor) -> Result<Tensor> {
        let (a, b) = self.broadcast_pair(rhs, "eq")?;
        a.zip_raw(&b, BinaryOp::Eq)
    }

    /// 1 where a > b, else 0. Not differentiable: the result is never tracked.
    pub fn gt_mask(&self, rhs: &Tensor) -> Result<Tensor> {
        let (a, b) = self.broadcast_pair(rhs, "gt")?;
        a.zip_raw(&b, BinaryOp::Gt)
    }
}
