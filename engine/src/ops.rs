//! The primitive elementwise operations every device must provide.
//!
//! They are plain enums, not closures, so that a CUDA backend can translate each one into a
//! kernel; the scalar definitions here are the reference the CPU backend uses directly.

/// Operations on one tensor, element by element.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp {
    Neg,
    Exp,
    Log,
    Sqrt,
    Recip,
    Abs,
    /// -1, 0 or 1.
    Sign,
    /// 1 where x > 0, else 0 (the Heaviside step; also ReLU's derivative).
    Step,
    Relu,
    Sigmoid,
    Tanh,
    /// x for x > 0, slope·x otherwise.
    LeakyRelu(f32),
    /// Derivative of leaky ReLU: 1 for x > 0, slope otherwise.
    LeakyReluDeriv(f32),
    /// x raised to a constant power.
    Powf(f32),
    /// mul·x + add.
    Affine {
        mul: f32,
        add: f32,
    },
    /// Limit to [lo, hi].
    Clamp {
        lo: f32,
        hi: f32,
    },
    /// 1 where lo ≤ x ≤ hi, else 0 (Clamp's derivative).
    InRange {
        lo: f32,
        hi: f32,
    },
}

impl UnaryOp {
    /// The operation on one number.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            UnaryOp::Neg => -x,
            UnaryOp::Exp => x.exp(),
            UnaryOp::Log => x.ln(),
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Recip => 1.0 / x,
            UnaryOp::Abs => x.abs(),
            UnaryOp::Sign => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            UnaryOp::Step => {
                if x > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            UnaryOp::Relu => x.max(0.0),
            UnaryOp::Sigmoid => stable_sigmoid(x),
            UnaryOp::Tanh => x.tanh(),
            UnaryOp::LeakyRelu(slope) => {
                if x > 0.0 {
                    x
                } else {
                    slope * x
                }
            }
            UnaryOp::LeakyReluDeriv(slope) => {
                if x > 0.0 {
                    1.0
                } else {
                    slope
                }
            }
            UnaryOp::Powf(p) => x.powf(p),
            UnaryOp::Affine { mul, add } => mul * x + add,
            UnaryOp::Clamp { lo, hi } => x.clamp(lo, hi),
            UnaryOp::InRange { lo, hi } => {
                if (lo..=hi).contains(&x) {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }
}

/// σ(x) = 1 / (1 + e^-x), written so that neither branch overflows.
#[inline]
pub fn stable_sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Operations on two tensors of the same shape, element by element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Maximum,
    Minimum,
    /// 1 where a == b, else 0.
    Eq,
    /// 1 where a > b, else 0.
    Gt,
    /// a where b > 0, else 0: ReLU's backward in one pass (gradient a, ReLU input b).
    MaskPositive,
}

impl BinaryOp {
    #[inline]
    pub fn apply(self, a: f32, b: f32) -> f32 {
        match self {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            BinaryOp::Maximum => a.max(b),
            BinaryOp::Minimum => a.min(b),
            BinaryOp::Eq => f32::from(a == b),
            BinaryOp::Gt => f32::from(a > b),
            BinaryOp::MaskPositive => {
                if b > 0.0 {
                    a
                } else {
                    0.0
                }
            }
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Maximum => "maximum",
            BinaryOp::Minimum => "minimum",
            BinaryOp::Eq => "eq",
            BinaryOp::Gt => "gt",
            BinaryOp::MaskPositive => "mask_positive",
        }
    }
}

/// Reductions over axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    Sum,
    Max,
}
