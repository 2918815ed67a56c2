//! How a network expects its input pixels: every pretrained model was trained on images
//! normalised one particular way, and feeding it anything else quietly ruins its features.

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// network input = (pixel / 255 · scale − mean) / std, per RGB channel, for pixels in 0..255.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InputConvention {
    pub scale: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl InputConvention {
    /// The original Caffe VGG convention (RGB order): 0..255 minus the ImageNet mean.
    pub const CAFFE: InputConvention = InputConvention {
        scale: 255.0,
        mean: [123.68, 116.779, 103.939],
        std: [1.0, 1.0, 1.0],
    };

    /// torchvision's convention: 0..1, minus mean, divided by std.
    pub const TORCHVISION: InputConvention = InputConvention {
        scale: 1.0,
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
    };

    /// Read from weight-file metadata (`input_scale`, `input_mean`, `input_std`, the latter
    /// two as JSON arrays); missing keys fall back to the Caffe convention.
    pub fn from_metadata(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let parse_triple = |key: &str, default: [f32; 3]| -> Result<[f32; 3]> {
            let Some(text) = get(key) else {
                return Ok(default);
            };
            let values: Vec<f32> = serde_json::from_str(&text).map_err(|e| {
                Error::invalid(
                    "weights metadata",
                    format!("`{key}` should be a JSON array of three numbers, got `{text}` ({e})"),
                )
            })?;
            values.try_into().map_err(|v: Vec<f32>| {
                Error::invalid(
                    "weights metadata",
                    format!(
                        "`{key}` should hold three numbers (R, G, B), got {}",
                        v.len()
                    ),
                )
            })
        };
        let scale = match get("input_scale") {
            None => Self::CAFFE.scale,
            Some(text) => text.trim().parse().map_err(|_| {
                Error::invalid(
                    "weights metadata",
                    format!("`input_scale` should be a number, got `{text}`"),
                )
            })?,
        };
        let convention = InputConvention {
            scale,
            mean: parse_triple("input_mean", Self::CAFFE.mean)?,
            std: parse_triple("input_std", Self::CAFFE.std)?,
        };
        if convention.std.iter().any(|s| *s == 0.0 || !s.is_finite()) || !scale.is_finite() {
            return Err(Error::invalid(
                "weights metadata",
                format!(
                    "input_std must be non-zero and finite, got {:?}",
                    convention.std
                ),
            ));
        }
        Ok(convention)
    }

    /// Normalise an image `[n, 3, h, w]` with pixels 0..255 (differentiable).
    pub fn normalise(&self, image: &Tensor) -> Result<Tensor> {
        if image.rank() != 4 || image.shape()[1] != 3 {
            return Err(Error::shape(
                "vgg input",
                format!(
                    "expected an RGB image [n, 3, h, w], got {:?}",
                    image.shape()
                ),
            ));
        }
        // The constants go where the image is: an op never mixes devices.
        let device = image.device();
        let mean = Tensor::from_vec_on(self.mean.to_vec(), &[1, 3, 1, 1], device)?;
        let inv_std: Vec<f32> = self.std.iter().map(|s| 1.0 / s).collect();
        let inv_std = Tensor::from_vec_on(inv_std, &[1, 3, 1, 1], device)?;
        image
            .mul_scalar(self.scale / 255.0)?
            .sub(&mean)?
            .mul(&inv_std)
    }
}
