//! Conversion to the project's convention: project layer names, OIHW, and metadata telling the
//! engine how to normalise its input: `input = (pixel/255 * input_scale - input_mean) / input_std`
//! for RGB pixels in 0..255.
//!
//! Defaults when no `--preset` is given:
//! - safetensors: keep the file's own input metadata (the project's files carry it);
//! - .pth: torchvision convention — virtually every .pth VGG is a torchvision model;
//! - ONNX, or a safetensors file without input metadata: torchvision as well (PyTorch exports are
//!   the common case), with a note saying so; Keras/Caffe exports need `--preset caffe --bgr-to-rgb`.

use std::path::Path;

use crate::error::{Result, WeightsError};
use crate::read::{read_bytes, Format};
use crate::weights::WeightSet;
use crate::{names, safetensors};

/// Known input normalisations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// RGB in 0..1, ImageNet mean/std (torchvision models).
    Torchvision,
    /// RGB in 0..255 minus the ImageNet mean, no std (original Caffe VGG, Keras).
    Caffe,
}

impl Preset {
    pub fn parse(s: &str) -> Option<Preset> {
        match s {
            "torchvision" | "pytorch" => Some(Preset::Torchvision),
            "caffe" | "keras" => Some(Preset::Caffe),
            _ => None,
        }
    }

    /// (input_scale, mean, std, description).
    fn values(self) -> (f64, [f64; 3], [f64; 3], &'static str) {
        match self {
            Preset::Torchvision => (
                1.0,
                [0.485, 0.456, 0.406],
                [0.229, 0.224, 0.225],
                "RGB, 0..1, minus ImageNet mean, divided by ImageNet std (torchvision convention)",
            ),
            Preset::Caffe => (
                255.0,
                [123.68, 116.779, 103.939],
                [1.0, 1.0, 1.0],
                "RGB, 0..255, minus mean, no std scaling (Caffe convention)",
            ),
        }
    }

    /// Writes the input convention keys into `meta`.
    pub fn apply(self, ws: &mut WeightSet) {
        let (scale, mean, std, desc) = self.values();
        // Python-like number formatting ("255", "[1.0, 1.0, 1.0]") to match the shared files.
        let arr = |a: [f64; 3]| {
            format!(
                "[{}]",
                a.iter()
                    .map(|v| format!("{v:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let m = &mut ws.metadata;
        m.insert(
            "input_scale".into(),
            if scale.fract() == 0.0 {
                format!("{}", scale as i64)
            } else {
                format!("{scale:?}")
            },
        );
        m.insert("input_mean".into(), arr(mean));
        m.insert("input_std".into(), arr(std));
        m.insert("input".into(), desc.into());
    }
}

/// How to convert.
#[derive(Clone, Debug, Default)]
pub struct ConvertOptions {
    /// Input convention to record; None = the per-format default described above.
    pub preset: Option<Preset>,
    /// Reverse conv1_1's input channels (for weights trained on BGR images).
    pub bgr_to_rgb: bool,
    /// Recorded in the metadata as provenance, if given.
    pub source_name: Option<String>,
    pub source_sha256: Option<String>,
    /// Keep NaN and infinite values instead of refusing the file (for inspecting damaged
    /// weights; the engine refuses them anyway).
    pub allow_non_finite: bool,
}

/// A converted weight set plus human-readable notes about defaults taken and tensors dropped.
#[derive(Clone, Debug)]
pub struct Converted {
    pub weights: WeightSet,
    pub notes: Vec<String>,
}

fn has_input_convention(ws: &WeightSet) -> bool {
    ws.metadata_f32("input_scale").is_some()
        && ws.metadata_f32s("input_mean").is_some_and(|v| v.len() == 3)
        && ws.metadata_f32s("input_std").is_some_and(|v| v.len() == 3)
}

/// Maps names, checks the layer stack, applies BGR→RGB and records metadata.
pub fn to_project(format: Format, ws: WeightSet, opts: &ConvertOptions) -> Result<Converted> {
    let (mut ws, mut notes) = names::to_project(ws)?;
    if !opts.allow_non_finite {
        ws.ensure_finite()?;
    }
    if format != Format::Safetensors {
        // Only safetensors carries metadata the project understands; other formats' names and
        // keys would be misleading, so start clean.
        ws.metadata.clear();
    }
    match opts.preset {
        Some(p) => p.apply(&mut ws),
        None if format == Format::Safetensors && has_input_convention(&ws) => {}
        None => {
            Preset::Torchvision.apply(&mut ws);
            if format != Format::PthZip && format != Format::PthLegacy {
                notes.push(format!(
                    "{} files do not record an input convention; assumed torchvision (RGB 0..1, ImageNet mean/std). \
                     For Caffe/Keras weights pass --preset caffe (and --bgr-to-rgb if they expect BGR).",
                    format.describe()
                ));
            }
        }
    }
    if opts.bgr_to_rgb {
        let w = ws
            .tensors
            .iter_mut()
            .find(|t| t.name == "conv1_1.weight")
            .ok_or_else(|| WeightsError::layers("conv1_1.weight is missing"))?;
        let (o, i, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3]);
        let plane = kh * kw;
        let src = w.data.clone();
        for oc in 0..o {
            for ic in 0..i {
                let to = (oc * i + ic) * plane;
                let from = (oc * i + (i - 1 - ic)) * plane;
                w.data[to..to + plane].copy_from_slice(&src[from..from + plane]);
            }
        }
        ws.metadata.insert(
            "bgr_to_rgb".into(),
            "conv1_1 input channels reversed from BGR to RGB".into(),
        );
    }
    if format != Format::Safetensors || !ws.metadata.contains_key("architecture") {
        ws.metadata
            .insert("architecture".into(), names::architecture(&ws));
    }
    ws.metadata.insert("layout".into(), "OIHW".into());
    let m = &mut ws.metadata;
    m.insert(
        "converted_by".into(),
        format!("weights-tools {}", env!("CARGO_PKG_VERSION")),
    );
    m.insert("converted_from_format".into(), format.describe().into());
    if let Some(n) = &opts.source_name {
        m.insert("converted_from".into(), n.clone());
    }
    if let Some(h) = &opts.source_sha256 {
        m.insert("converted_from_sha256".into(), h.clone());
    }
    Ok(Converted { weights: ws, notes })
}

/// Reads any supported file and converts it with `opts`.
pub fn convert_bytes(bytes: &[u8], opts: &ConvertOptions) -> Result<Converted> {
    let (format, ws) = read_bytes(bytes)?;
    to_project(format, ws, opts)
}

/// What the engine calls: load any supported weights file as project-named f32 tensors
/// (`conv{b}_{n}.weight` OIHW / `.bias`) with input-convention metadata, using the per-format
/// defaults documented at the top of this module.
pub fn load(path: &Path) -> Result<WeightSet> {
    let bytes = crate::read::read_weights_file(path)?;
    Ok(convert_bytes(&bytes, &ConvertOptions::default())?.weights)
}

/// Serialises to safetensors bytes (see `safetensors::write`).
pub fn to_safetensors(ws: &WeightSet, f16: bool) -> Result<Vec<u8>> {
    safetensors::write(
        ws,
        if f16 {
            safetensors::StoreAs::F16
        } else {
            safetensors::StoreAs::F32
        },
    )
}
