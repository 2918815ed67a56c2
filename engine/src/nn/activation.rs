//! Activation functions as values, so a network or a plot can be given one by name.

use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::fmt;
use std::str::FromStr;

/// A neuron's non-linearity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// 1 for x > 0, else 0: the original perceptron. Zero gradient everywhere.
    Step,
    /// 1/(1+e⁻ˣ): squashes to (0, 1); saturates (gradient → 0) for large |x|.
    Sigmoid,
    /// Squashes to (-1, 1), centred on zero; also saturates.
    Tanh,
    /// max(0, x): no saturation for x > 0, zero gradient for x < 0.
    Relu,
    /// Like ReLU but with a small slope for x < 0, so no unit dies completely.
    LeakyRelu(f32),
    /// The identity: a layer without a non-linearity.
    Identity,
}

impl Activation {
    /// Every activation the book plots, in order.
    pub const ALL: [Activation; 5] = [
        Activation::Step,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::LeakyRelu(0.1),
    ];

    pub fn apply(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Activation::Step => x.step(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.relu(),
            Activation::LeakyRelu(slope) => x.leaky_relu(slope),
            Activation::Identity => Ok(x.clone()),
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activation::Step => write!(f, "step"),
            Activation::Sigmoid => write!(f, "sigmoid"),
            Activation::Tanh => write!(f, "tanh"),
            Activation::Relu => write!(f, "relu"),
            Activation::LeakyRelu(s) => write!(f, "leaky_relu({s})"),
            Activation::Identity => write!(f, "identity"),
        }
    }
}

impl FromStr for Activation {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "step" => Ok(Activation::Step),
            "sigmoid" => Ok(Activation::Sigmoid),
            "tanh" => Ok(Activation::Tanh),
            "relu" => Ok(Activation::Relu),
            "leaky_relu" => Ok(Activation::LeakyRelu(0.1)),
            "identity" => Ok(Activation::Identity),
            other => Err(Error::invalid(
                "activation",
                format!("unknown activation `{other}`; expected step, sigmoid, tanh, relu, leaky_relu or identity"),
            )),
        }
    }
}
