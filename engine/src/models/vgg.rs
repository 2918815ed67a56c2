//! VGG (Simonyan & Zisserman, 2014): blocks of 3×3 convolutions with ReLU, each block ended by
//! a 2×2 pooling. Its layers see ever larger, ever more abstract patterns, which is why style
//! transfer reads textures from its early layers and content from a deep one.

use super::input::InputConvention;
use crate::autograd::Conv2dParams;
use crate::device::Device;
use crate::error::{Error, Result};
use crate::style::FeatureExtractor;
use crate::tensor::Tensor;
use std::collections::BTreeMap;

/// Which VGG: they differ only in how many convolutions each block has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VggArch {
    Vgg16,
    Vgg19,
}

impl VggArch {
    /// Convolutions per block.
    pub fn blocks(self) -> [usize; 5] {
        match self {
            VggArch::Vgg16 => [2, 2, 3, 3, 3],
            VggArch::Vgg19 => [2, 2, 4, 4, 4],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            VggArch::Vgg16 => "vgg16",
            VggArch::Vgg19 => "vgg19",
        }
    }
}

/// The pooling between blocks. Gatys et al. found average pooling gives smoother results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Pooling {
    #[default]
    Max,
    Avg,
}

/// What kind of layer a [`LayerInfo`] describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerKind {
    /// A 3×3 convolution (before its ReLU).
    Conv {
        in_channels: usize,
    },
    Relu,
    /// The 2×2, stride-2 pooling that ends a block.
    Pool,
}

/// One named layer and the shape of its output: `channels` maps of the input's size halved
/// `pools` times (rounded down each time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    pub name: String,
    pub kind: LayerKind,
    pub channels: usize,
    pub pools: u32,
}

impl LayerInfo {
    fn new(name: String, kind: LayerKind, channels: usize, pools: u32) -> Self {
        LayerInfo {
            name,
            kind,
            channels,
            pools,
        }
    }

    /// Height and width of this layer's output for an input of `height × width`.
    pub fn output_size(&self, height: usize, width: usize) -> (usize, usize) {
        (height >> self.pools, width >> self.pools)
    }
}

/// One 3×3 convolution (weight `[out, in, 3, 3]`, bias `[out]`).
#[derive(Clone, Debug)]
struct Conv {
    block: usize,
    index: usize,
    weight: Tensor,
    bias: Tensor,
}

/// A VGG feature stack with its weights and input convention.
#[derive(Clone, Debug)]
pub struct Vgg {
    arch: VggArch,
    convs: Vec<Conv>,
    input: InputConvention,
    pooling: Pooling,
}

impl Vgg {
    /// Build from tensors named `conv{b}_{c}.weight|bias`. A trimmed set (missing the deepest
    /// layers) is accepted; asking for a missing layer later is an error.
    pub fn from_tensors(
        tensors: &BTreeMap<String, Tensor>,
        input: InputConvention,
    ) -> Result<Self> {
        let arch = if tensors.contains_key("conv3_4.weight") {
            VggArch::Vgg19
        } else {
            VggArch::Vgg16
        };
        let mut convs = Vec::new();
        let mut in_channels = 3;
        'blocks: for (b, &count) in arch.blocks().iter().enumerate() {
            for c in 1..=count {
                let name = format!("conv{}_{c}", b + 1);
                let (Some(weight), Some(bias)) = (
                    tensors.get(&format!("{name}.weight")),
                    tensors.get(&format!("{name}.bias")),
                ) else {
                    break 'blocks;
                };
                let out = weight.shape().first().copied().unwrap_or(0);
                if weight.shape() != [out, in_channels, 3, 3] || bias.shape() != [out] {
                    return Err(Error::shape(
                        "vgg weights",
                        format!(
                            "{name}: expected weight [out, {in_channels}, 3, 3] and bias [out], got {:?} and {:?}",
                            weight.shape(),
                            bias.shape()
                        ),
                    ));
                }
                convs.push(Conv {
                    block: b + 1,
                    index: c,
                    weight: weight.detach(),
                    bias: bias.detach(),
                });
                in_channels = out;
            }
        }
        if convs.is_empty() {
            let found: Vec<&String> = tensors.keys().take(6).collect();
            return Err(Error::invalid(
                "vgg weights",
                format!("no `conv1_1.weight`/`conv1_1.bias` found (tensors start with {found:?}); convert the file with `weights-tools convert` first"),
            ));
        }
        Ok(Vgg {
            arch,
            convs,
            input,
            pooling: Pooling::Max,
        })
    }

    /// The same network with its weights on `device` (images given to it must be there too).
    pub fn to_device(&self, device: Device) -> Result<Self> {
        let convs = self
            .convs
            .iter()
            .map(|c| {
                Ok(Conv {
                    weight: c.weight.to_device(device)?.detach(),
                    bias: c.bias.to_device(device)?.detach(),
                    ..c.clone()
                })
            })
            .collect::<Result<_>>()?;
        Ok(Vgg {
            convs,
            ..self.clone()
        })
    }

    /// Where the weights are.
    pub fn device(&self) -> Device {
        self.convs[0].weight.device()
    }

    pub fn with_pooling(mut self, pooling: Pooling) -> Self {
        self.pooling = pooling;
        self
    }

    pub fn arch(&self) -> VggArch {
        self.arch
    }

    pub fn input_convention(&self) -> InputConvention {
        self.input
    }

    /// Weights and biases of every convolution held, whether a pass uses them or not.
    pub fn parameter_count(&self) -> usize {
        self.convs
            .iter()
            .map(|c| c.weight.numel() + c.bias.numel())
            .sum()
    }

    /// First-layer filters `[64, 3, 3, 3]`, for visualisation.
    pub fn first_layer_weights(&self) -> &Tensor {
        &self.convs[0].weight
    }

    /// Every layer this network can return, in order: conv1_1, relu1_1, …, pool5.
    pub fn layer_names(&self) -> Vec<String> {
        self.layers().into_iter().map(|l| l.name).collect()
    }

    /// Every layer this network can return, in order, with the shape of what it produces.
    pub fn layers(&self) -> Vec<LayerInfo> {
        let mut layers = Vec::new();
        for (i, conv) in self.convs.iter().enumerate() {
            let [out, in_channels, ..] = conv.weight.shape() else {
                continue;
            };
            let (channels, pools) = (*out, conv.block as u32 - 1);
            let id = format!("{}_{}", conv.block, conv.index);
            let conv_kind = LayerKind::Conv {
                in_channels: *in_channels,
            };
            layers.push(LayerInfo::new(
                format!("conv{id}"),
                conv_kind,
                channels,
                pools,
            ));
            layers.push(LayerInfo::new(
                format!("relu{id}"),
                LayerKind::Relu,
                channels,
                pools,
            ));
            let block_done = self.convs.get(i + 1).is_none_or(|n| n.block != conv.block);
            let block_complete = conv.index == self.arch.blocks()[conv.block - 1];
            if block_done && block_complete {
                let name = format!("pool{}", conv.block);
                layers.push(LayerInfo::new(name, LayerKind::Pool, channels, pools + 1));
            }
        }
        layers
    }

    /// The layers a pass computes to return `requested`: from the input up to the deepest of
    /// them. An unknown name is an error listing the layers there are.
    pub fn layers_up_to(&self, requested: &[String]) -> Result<Vec<LayerInfo>> {
        let mut layers = self.layers();
        let mut deepest = 0;
        for l in requested {
            let pos = layers.iter().position(|n| &n.name == l).ok_or_else(|| {
                Error::invalid(
                    "vgg",
                    format!(
                        "unknown layer `{l}`; this {} has: {}",
                        self.arch.name(),
                        self.layer_names().join(", ")
                    ),
                )
            })?;
            deepest = deepest.max(pos);
        }
        layers.truncate(deepest + 1);
        Ok(layers)
    }

    /// The smallest height and width an input may have for every layer of `requested` to be
    /// computed: each 2×2 pooling halves the picture and needs at least 2 pixels each way, so
    /// a layer after `k` poolings needs 2^k (relu5_1: 16, pool5: 32).
    pub fn min_input_side(&self, requested: &[String]) -> Result<usize> {
        let layers = self.layers_up_to(requested)?;
        Ok(layers.last().map_or(1, |l| 1 << l.pools))
    }

    /// Activations of the requested layers for an RGB image `[n, 3, h, w]` with pixels 0..255.
    /// The pass stops after the deepest requested layer. It runs where the weights are; an
    /// image elsewhere is copied there first (a tracked copy: gradients flow back to it).
    pub fn forward(&self, image: &Tensor, layers: &[String]) -> Result<BTreeMap<String, Tensor>> {
        let names = self.layer_names();
        let mut deepest = 0;
        for l in layers {
            let pos = names.iter().position(|n| n == l).ok_or_else(|| {
                Error::invalid(
                    "vgg",
                    format!(
                        "unknown layer `{l}`; this {} has: {}",
                        self.arch.name(),
                        names.join(", ")
                    ),
                )
            })?;
            deepest = deepest.max(pos);
        }
        let mut out = BTreeMap::new();
        let mut keep = |name: &str, x: &Tensor| {
            if layers.iter().any(|l| l == name) {
                out.insert(name.to_string(), x.clone());
            }
        };
        let mut x = self.input.normalise(&image.to_device(self.device())?)?;
        let same = Conv2dParams::square(1, 1, 1);
        let mut position = 0;
        for conv in &self.convs {
            if position > deepest {
                break;
            }
            let conv_name = format!("conv{}_{}", conv.block, conv.index);
            if layers.contains(&conv_name) {
                x = x.conv2d(&conv.weight, Some(&conv.bias), same)?;
                keep(&conv_name, &x);
                x = x.relu()?;
            } else {
                // Nobody asked for the pre-ReLU values: the fused op never keeps them.
                x = x.conv2d_relu(&conv.weight, Some(&conv.bias), same)?;
            }
            keep(&format!("relu{}_{}", conv.block, conv.index), &x);
            position += 2;
            if names.get(position).is_some_and(|n| n.starts_with("pool")) {
                if position > deepest {
                    break;
                }
                x = match self.pooling {
                    Pooling::Max => x.max_pool2d(2, 2, 0)?,
                    Pooling::Avg => x.avg_pool2d(2, 2, 0)?,
                };
                keep(&format!("pool{}", conv.block), &x);
                position += 1;
            }
        }
        Ok(out)
    }
}

impl FeatureExtractor for Vgg {
    fn features(&self, image: &Tensor, layers: &[String]) -> Result<BTreeMap<String, Tensor>> {
        self.forward(image, layers)
    }
}
