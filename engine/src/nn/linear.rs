//! A fully connected layer: every output neuron sees every input.

use crate::error::{Error, Result};
use crate::nn::init::Init;
use crate::rng::Rng;
use crate::tensor::Tensor;

// ANCHOR: linear
/// y = x·Wᵀ + b for a batch of row vectors x (`[batch, inputs]`).
#[derive(Clone, Debug)]
pub struct Linear {
    /// `[outputs, inputs]`: row i holds neuron i's weights.
    pub weight: Tensor,
    /// `[outputs]`: one bias per neuron.
    pub bias: Tensor,
}

impl Linear {
    /// A layer with seeded random weights and zero biases.
    pub fn new(inputs: usize, outputs: usize, init: Init, rng: &mut Rng) -> Self {
        Linear {
            weight: init
                .tensor(&[outputs, inputs], inputs, outputs, rng)
                .requires_grad(),
            bias: Tensor::zeros(&[outputs]).requires_grad(),
        }
    }
    // ANCHOR_END: linear

    /// A layer from given weights `[outputs, inputs]` and biases `[outputs]`.
    pub fn from_tensors(weight: Tensor, bias: Tensor) -> Result<Self> {
        if weight.rank() != 2 || bias.shape() != [weight.shape()[0]] {
            return Err(Error::shape(
                "linear",
                format!(
                    "weight must be [outputs, inputs] and bias [outputs]; got {:?} and {:?}",
                    weight.shape(),
                    bias.shape()
                ),
            ));
        }
        Ok(Linear {
            weight: weight.requires_grad(),
            bias: bias.requires_grad(),
        })
    }

    // ANCHOR: forward
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.rank() != 2 || x.shape()[1] != self.weight.shape()[1] {
            return Err(Error::shape(
                "linear",
                format!(
                    "expected input [batch, {}], got {:?}",
                    self.weight.shape()[1],
                    x.shape()
                ),
            ));
        }
        x.matmul(&self.weight.t()?)?.add(&self.bias)
    }
    // ANCHOR_END: forward

    /// The same layer with its weights on `device`, still trainable there.
    pub fn to_device(&self, device: crate::Device) -> Result<Self> {
        Ok(Linear {
            weight: self.weight.to_device(device)?.detach().requires_grad(),
            bias: self.bias.to_device(device)?.detach().requires_grad(),
        })
    }

    // ANCHOR: parameters
    /// The trainable tensors, for an optimiser to update.
    pub fn parameters_mut(&mut self) -> Vec<&mut Tensor> {
        vec![&mut self.weight, &mut self.bias]
    }
    // ANCHOR_END: parameters
}
