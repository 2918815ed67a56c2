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
    /// Apply `op` to `self` and `rhs` broadcast to a common shape, recording the two partial
    /// rules, which turn the output's gradient into the gradient of one broadcast view each.
    /// A rule runs only if its operand needs a gradient: a constant (a loss's target, the
    /// network's normalisation) costs nothing in the backward pass.
    fn binary<A, B>(&self, rhs: &Tensor, op: BinaryOp, grad_a: A, grad_b: B) -> Result<Tensor>
    where
        A: Fn(&Tensor, &Tensor, &Tensor) -> Result<Tensor> + Send + Sync + 'static,
        B: Fn(&Tensor, &Tensor, &Tensor) -> Result<Tensor> + Send + Sync + 'static,
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
                let ga = ia.requires_grad_flag().then(|| grad_a(g, &ia, &ib));
                let gb = ib.requires_grad_flag().then(|| grad_b(g, &ia, &ib));
                Ok(vec![ga.transpose()?, gb.transpose()?])
            },
        ))
    }
    // ANCHOR_END: binary

    // ANCHOR: arithmetic
    /// a + b (broadcasting).
    pub fn add(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(
            rhs,
            BinaryOp::Add,
            |g, _, _| Ok(g.clone()),
            |g, _, _| Ok(g.clone()),
        )
    }

    /// a - b (broadcasting).
    pub fn sub(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(
            rhs,
            BinaryOp::Sub,
            |g, _, _| Ok(g.clone()),
            |g, _, _| g.neg(),
        )
    }

    /// a · b elementwise (broadcasting).
    pub fn mul(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Mul, |g, _, b| g.mul(b), |g, a, _| g.mul(a))
    }

    /// a / b elementwise (broadcasting); ∂/∂b = -a/b².
    pub fn div(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(
            rhs,
            BinaryOp::Div,
            |g, _, b| g.div(b),
            |g, a, b| g.div(b)?.mul(a)?.div(b)?.neg(),
        )
    }
    // ANCHOR_END: arithmetic

    // ANCHOR: maximum
    /// Elementwise maximum; the gradient goes to the larger operand (to `self` on ties).
    pub fn maximum(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(
            rhs,
            BinaryOp::Maximum,
            |g, a, b| g.mul(&b.zip_raw(a, BinaryOp::Gt)?.one_minus()?),
            |g, a, b| g.mul(&b.zip_raw(a, BinaryOp::Gt)?),
        )
    }

    // ANCHOR_END: maximum

    /// Elementwise minimum; the gradient goes to the smaller operand (to `self` on ties).
    pub fn minimum(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(
            rhs,
            BinaryOp::Minimum,
            |g, a, b| g.mul(&a.zip_raw(b, BinaryOp::Gt)?.one_minus()?),
            |g, a, b| g.mul(&a.zip_raw(b, BinaryOp::Gt)?),
        )
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
