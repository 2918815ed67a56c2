//! Element-by-element functions of one tensor, each forward next to its derivative.

use crate::error::Result;
use crate::ops::{BinaryOp, UnaryOp};
use crate::tensor::Tensor;
use std::sync::Arc;

impl Tensor {
    // ANCHOR: unary
    /// Apply `op` to every element, recording `backward` for autodiff.
    fn unary(
        &self,
        op: UnaryOp,
        name: &'static str,
        backward: impl Fn(&Tensor, &Tensor, &Tensor) -> Result<Tensor> + Send + Sync + 'static,
    ) -> Result<Tensor> {
        let storage = self.storage().unary(self.layout(), op)?;
        let layout = crate::layout::Layout::contiguous(self.shape());
        let input = self.clone();
        Ok(Tensor::from_op(
            Arc::new(storage),
            layout,
            name,
            &[self],
            move |g, out| Ok(vec![Some(backward(g, &input, out)?)]),
        ))
    }
    // ANCHOR_END: unary

    /// The raw map, never tracked: for masks and derivatives inside backward rules.
    pub(crate) fn map(&self, op: UnaryOp) -> Result<Tensor> {
        let storage = self.storage().unary(self.layout(), op)?;
        Ok(Tensor::from_storage(storage, self.shape()))
    }

    // ANCHOR: simple_rules
    /// 1 − x, never tracked: for derivatives inside backward rules.
    pub(crate) fn one_minus(&self) -> Result<Tensor> {
        self.map(UnaryOp::Affine {
            mul: -1.0,
            add: 1.0,
        })
    }

    /// -x
    pub fn neg(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Neg, "neg", |g, _, _| g.neg())
    }

    /// eˣ; d/dx = eˣ, the output itself.
    pub fn exp(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Exp, "exp", |g, _, out| g.mul(out))
    }

    /// ln x; d/dx = 1/x.
    pub fn log(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Log, "log", |g, x, _| g.div(x))
    }

    // ANCHOR_END: simple_rules

    /// √x; d/dx = 1/(2√x).
    pub fn sqrt(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Sqrt, "sqrt", |g, _, out| {
            g.div(out)?.mul_scalar(0.5)
        })
    }

    /// 1/x; d/dx = -1/x².
    pub fn recip(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Recip, "recip", |g, _, out| {
            g.mul(&out.mul(out)?)?.neg()
        })
    }

    /// |x|; d/dx = sign(x).
    pub fn abs(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Abs, "abs", |g, x, _| g.mul(&x.map(UnaryOp::Sign)?))
    }

    /// xᵖ; d/dx = p·xᵖ⁻¹.
    pub fn powf(&self, p: f32) -> Result<Tensor> {
        self.unary(UnaryOp::Powf(p), "powf", move |g, x, _| {
            g.mul(&x.map(UnaryOp::Powf(p - 1.0))?)?.mul_scalar(p)
        })
    }

    /// x², as x·x: a multiply is far cheaper than `powf`, and the product rule gives 2x.
    pub fn square(&self) -> Result<Tensor> {
        self.mul(self)
    }

    /// a·x + b with constants a and b.
    pub fn affine(&self, mul: f32, add: f32) -> Result<Tensor> {
        self.unary(UnaryOp::Affine { mul, add }, "affine", move |g, _, _| {
            g.mul_scalar(mul)
        })
    }

    /// x + c.
    pub fn add_scalar(&self, c: f32) -> Result<Tensor> {
        self.affine(1.0, c)
    }

    /// c·x.
    pub fn mul_scalar(&self, c: f32) -> Result<Tensor> {
        self.affine(c, 0.0)
    }

    /// Limit every element to [lo, hi]; the gradient is zero where the limit was hit.
    pub fn clamp(&self, lo: f32, hi: f32) -> Result<Tensor> {
        self.unary(UnaryOp::Clamp { lo, hi }, "clamp", move |g, x, _| {
            g.mul(&x.map(UnaryOp::InRange { lo, hi })?)
        })
    }

    // ANCHOR: activations
    /// The Heaviside step: 1 for x > 0, else 0. Its derivative is zero everywhere it exists,
    /// which is why networks of step neurons cannot be trained by gradient descent.
    pub fn step(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Step, "step", |g, _, _| g.zeros_like())
    }

    /// max(0, x); d/dx = step(x).
    pub fn relu(&self) -> Result<Tensor> {
        // One fused pass (g where x > 0) instead of building the 0/1 mask and multiplying.
        self.unary(UnaryOp::Relu, "relu", |g, x, _| {
            g.zip_raw(x, BinaryOp::MaskPositive)
        })
    }

    /// x for x > 0, slope·x otherwise; d/dx = 1 or slope.
    pub fn leaky_relu(&self, slope: f32) -> Result<Tensor> {
        self.unary(UnaryOp::LeakyRelu(slope), "leaky_relu", move |g, x, _| {
            g.mul(&x.map(UnaryOp::LeakyReluDeriv(slope))?)
        })
    }

    /// σ(x) = 1/(1+e⁻ˣ); d/dx = σ(x)(1-σ(x)).
    pub fn sigmoid(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Sigmoid, "sigmoid", |g, _, out| {
            g.mul(&out.mul(&out.one_minus()?)?)
        })
    }

    /// tanh x; d/dx = 1 - tanh²x.
    pub fn tanh(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Tanh, "tanh", |g, _, out| {
            g.mul(&out.mul(out)?.one_minus()?)
        })
    }
    // ANCHOR_END: activations
}
