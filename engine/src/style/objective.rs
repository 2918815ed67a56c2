//! The style-transfer objective (Gatys et al.): match the content image's features at a deep
//! layer, the style image's Gram matrices at several layers, and keep the picture smooth.
//!
//! L = α·L_content + β·L_style + γ·L_tv, exactly as in `docs/objective.md` of the shared data.

use super::gram::gram_matrix;
use super::masks::{check_mask, masked_gram, LayerMask};
use super::total_variation::total_variation;
use crate::autograd::no_grad;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::Device;
use std::collections::BTreeMap;

/// Anything that maps an image to named activations (VGG, here).
pub trait FeatureExtractor {
    /// Activations of `layers` for an image `[1, 3, H, W]` with RGB values 0..255.
    fn features(&self, image: &Tensor, layers: &[String]) -> Result<BTreeMap<String, Tensor>>;
}

/// A layer and how much its term counts.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerWeight {
    pub layer: String,
    pub weight: f32,
}

impl LayerWeight {
    pub fn new(layer: &str, weight: f32) -> Self {
        LayerWeight {
            layer: layer.to_string(),
            weight,
        }
    }
}

/// Which layers to match and how the three terms are weighted.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectiveConfig {
    pub content_layers: Vec<LayerWeight>,
    pub style_layers: Vec<LayerWeight>,
    /// α
    pub content_weight: f32,
    /// β
    pub style_weight: f32,
    /// γ
    pub tv_weight: f32,
}

/// The paper's layers: content at relu4_2; style at relu1_1 … relu5_1, equal weights.
pub const PAPER_STYLE_LAYERS: [&str; 5] = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"];
pub const PAPER_CONTENT_LAYER: &str = "relu4_2";

impl ObjectiveConfig {
    /// The objective of `docs/objective.md` with the given α, β, γ.
    pub fn paper(content_weight: f32, style_weight: f32, tv_weight: f32) -> Self {
        let w = 1.0 / PAPER_STYLE_LAYERS.len() as f32;
        ObjectiveConfig {
            content_layers: vec![LayerWeight::new(PAPER_CONTENT_LAYER, 1.0)],
            style_layers: PAPER_STYLE_LAYERS
                .iter()
                .map(|l| LayerWeight::new(l, w))
                .collect(),
            content_weight,
            style_weight,
            tv_weight,
        }
    }

    fn all_layers(&self) -> Vec<String> {
        let mut layers: Vec<String> = self
            .content_layers
            .iter()
            .chain(&self.style_layers)
            .map(|l| l.layer.clone())
            .collect();
        layers.sort();
        layers.dedup();
        layers
    }
}

/// The raw (unweighted) terms of one evaluation.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LossTerms {
    pub content: f64,
    pub style: f64,
    /// `None` when its weight is 0: then it is not computed at all.
    pub tv: Option<f64>,
}

/// One evaluation of the objective at an image.
pub struct Evaluation {
    pub terms: LossTerms,
    /// α·L_c + β·L_s + γ·L_tv
    pub total: f64,
    /// ∂L/∂image, same shape as the image.
    pub grad: Tensor,
}

/// An activation the extractor was asked for; a missing one is the extractor's bug or an
/// unknown layer name, reported rather than panicking.
fn layer<'a>(features: &'a BTreeMap<String, Tensor>, name: &str) -> Result<&'a Tensor> {
    features.get(name).ok_or_else(|| {
        Error::invalid(
            "style objective",
            format!("the network returned no activation named `{name}`"),
        )
    })
}

/// What the style term compares the image with.
enum StyleTargets {
    /// One Gram matrix per layer: the paintings' blended by their weights (no masks).
    Blended(Vec<Tensor>),
    /// Each painting in its own region: its Gram matrices, its mask at every layer, and its
    /// weight.
    Masked(Vec<MaskedStyle>),
}

struct MaskedStyle {
    weight: f32,
    grams: Vec<Tensor>,
    masks: Vec<LayerMask>,
}

/// Targets computed once from the content and style images.
pub struct Objective {
    config: ObjectiveConfig,
    layers: Vec<String>,
    content_targets: Vec<Tensor>,
    style_targets: StyleTargets,
}

impl Objective {
    /// Precompute the content features and the (blended) style Gram matrices.
    /// `styles` pairs each style image with its blend weight; weights are normalised to sum 1.
    pub fn new(
        net: &dyn FeatureExtractor,
        config: ObjectiveConfig,
        content: &Tensor,
        styles: &[(Tensor, f32)],
    ) -> Result<Self> {
        Self::with_masks(net, config, content, styles, &[])
    }

    /// As [`Objective::new`], with a spatial mask per painting (`[1, 1, H, W]`, values 0..1,
    /// any size, white where the painting acts; see `masks.rs`). `masks` is empty for no
    /// masks, else has one entry per style, `None` for a painting that acts everywhere. With
    /// masks, each painting's term counts with its blend weight relative to the average one.
    pub fn with_masks(
        net: &dyn FeatureExtractor,
        config: ObjectiveConfig,
        content: &Tensor,
        styles: &[(Tensor, f32)],
        masks: &[Option<Tensor>],
    ) -> Result<Self> {
        if !masks.is_empty() && masks.len() != styles.len() {
            return Err(Error::invalid(
                "style objective",
                format!(
                    "{} masks for {} paintings: give one per painting (or none)",
                    masks.len(),
                    styles.len()
                ),
            ));
        }
        for (i, mask) in masks.iter().enumerate() {
            if let Some(m) = mask {
                check_mask(m, &format!("the mask of painting {}", i + 1))?;
            }
        }
        if styles.is_empty() {
            return Err(Error::invalid(
                "style objective",
                "at least one style image is needed",
            ));
        }
        let blend_total: f32 = styles.iter().map(|(_, w)| w).sum();
        if styles.iter().any(|(_, w)| !(w.is_finite() && *w >= 0.0)) || blend_total <= 0.0 {
            return Err(Error::invalid(
                "style objective",
                "style blend weights must be non-negative numbers that do not all equal zero",
            ));
        }
        let layers = config.all_layers();
        let (content_targets, style_targets) = no_grad(|| -> Result<_> {
            let features = net.features(content, &layers)?;
            let content_targets = config
                .content_layers
                .iter()
                .map(|l| Ok(layer(&features, &l.layer)?.clone()))
                .collect::<Result<Vec<_>>>()?;
            if masks.iter().any(|m| m.is_some()) {
                let mean_weight = blend_total / styles.len() as f32;
                let ones = Tensor::ones(&[1, 1, 1, 1]);
                let mut masked = Vec::new();
                for ((style, blend), mask) in styles.iter().zip(masks) {
                    let style_features = net.features(style, &layers)?;
                    let mask = mask.as_ref().unwrap_or(&ones);
                    let mut grams = Vec::new();
                    let mut layer_masks = Vec::new();
                    for l in &config.style_layers {
                        grams.push(gram_matrix(layer(&style_features, &l.layer)?)?);
                        let at_layer = layer(&features, &l.layer)?;
                        layer_masks.push(LayerMask::for_features(
                            mask,
                            at_layer,
                            content.device(),
                        )?);
                    }
                    masked.push(MaskedStyle {
                        weight: blend / mean_weight,
                        grams,
                        masks: layer_masks,
                    });
                }
                return Ok((content_targets, StyleTargets::Masked(masked)));
            }
            let mut style_targets: Vec<Option<Tensor>> = vec![None; config.style_layers.len()];
            for (style, blend) in styles {
                let features = net.features(style, &layers)?;
                for (target, l) in style_targets.iter_mut().zip(&config.style_layers) {
                    let gram = gram_matrix(layer(&features, &l.layer)?)?
                        .mul_scalar(blend / blend_total)?;
                    *target = Some(match target.take() {
                        Some(sum) => sum.add(&gram)?,
                        None => gram,
                    });
                }
            }
            Ok((
                content_targets,
                StyleTargets::Blended(style_targets.into_iter().flatten().collect()),
            ))
        })?;
        Ok(Objective {
            config,
            layers,
            content_targets,
            style_targets,
        })
    }

    pub fn config(&self) -> &ObjectiveConfig {
        &self.config
    }

    // ANCHOR: content_loss
    /// L_content: the mean squared difference from the photo's features, at each content layer.
    fn content_loss(&self, features: &BTreeMap<String, Tensor>, device: Device) -> Result<Tensor> {
        let mut content = Tensor::zeros_on(&[], device)?;
        for (l, target) in self.config.content_layers.iter().zip(&self.content_targets) {
            let term = layer(features, &l.layer)?
                .sub(target)?
                .square()?
                .mean_all()?;
            content = content.add(&term.mul_scalar(l.weight)?)?;
        }
        Ok(content)
    }
    // ANCHOR_END: content_loss

    // ANCHOR: style_loss
    /// L_style: the mean squared difference from the painting's Gram matrices, at each style
    /// layer (with masks, each painting compares only its own region; see `masks.rs`).
    fn style_loss(&self, features: &BTreeMap<String, Tensor>, device: Device) -> Result<Tensor> {
        let mut style = Tensor::zeros_on(&[], device)?;
        match &self.style_targets {
            StyleTargets::Blended(targets) => {
                for (l, target) in self.config.style_layers.iter().zip(targets) {
                    let gram = gram_matrix(layer(features, &l.layer)?)?;
                    let term = gram.sub(target)?.square()?.mean_all()?;
                    style = style.add(&term.mul_scalar(l.weight)?)?;
                }
            }
            StyleTargets::Masked(paintings) => {
                for painting in paintings {
                    let per_layer = self.config.style_layers.iter();
                    for ((l, target), mask) in per_layer.zip(&painting.grams).zip(&painting.masks) {
                        let gram = masked_gram(layer(features, &l.layer)?, mask)?;
                        let term = gram.sub(target)?.square()?.mean_all()?;
                        style = style.add(&term.mul_scalar(l.weight * painting.weight)?)?;
                    }
                }
            }
        }
        Ok(style)
    }
    // ANCHOR_END: style_loss

    /// The loss at `image` and its gradient with respect to the image's pixels.
    pub fn evaluate(&self, net: &dyn FeatureExtractor, image: &Tensor) -> Result<Evaluation> {
        // ANCHOR: evaluate
        let image = image.detach().requires_grad();
        let features = net.features(&image, &self.layers)?;
        let content = self.content_loss(&features, image.device())?;
        let style = self.style_loss(&features, image.device())?;
        let mut total = content
            .mul_scalar(self.config.content_weight)?
            .add(&style.mul_scalar(self.config.style_weight)?)?;
        // At weight 0 (the default) total variation is not computed: no work for nothing.
        let tv = if self.config.tv_weight == 0.0 {
            None
        } else {
            Some(total_variation(&image)?)
        };
        if let Some(tv) = &tv {
            total = total.add(&tv.mul_scalar(self.config.tv_weight)?)?;
        }
        let grads = total.backward()?;
        // ANCHOR_END: evaluate
        let terms = LossTerms {
            content: content.item()? as f64,
            style: style.item()? as f64,
            tv: tv.map(|tv| tv.item()).transpose()?.map(f64::from),
        };
        let c = &self.config;
        let total = c.content_weight as f64 * terms.content
            + c.style_weight as f64 * terms.style
            + c.tv_weight as f64 * terms.tv.unwrap_or(0.0);
        Ok(Evaluation {
            // The sum is taken in f64 for accuracy, but the loss being optimised is the f32
            // tensor above: past f32's range it is infinite, and so is what we report.
            total: if total > f32::MAX as f64 {
                f64::INFINITY
            } else {
                total
            },
            terms,
            grad: grads.get_or_zeros(&image)?,
        })
    }
}
