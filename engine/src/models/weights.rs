//! Loading pretrained VGG weights: from any file `weights-tools` can read, or the compact
//! ImageNet VGG16 embedded in the program so everything works offline on a fresh clone.

use super::input::InputConvention;
use super::vgg::Vgg;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::collections::BTreeMap;
use std::path::Path;

/// Turn a parsed weights file into a network.
fn vgg_from_set(set: weights_tools::WeightSet, source: &str) -> Result<Vgg> {
    let input = InputConvention::from_metadata(|k| set.metadata.get(k).cloned())?;
    let mut tensors = BTreeMap::new();
    for t in set.tensors {
        let tensor = Tensor::from_vec(t.data, &t.shape).map_err(|e| Error::Weights {
            source_name: source.to_string(),
            msg: format!("tensor {}: {e}", t.name),
        })?;
        tensors.insert(t.name, tensor);
    }
    Vgg::from_tensors(&tensors, input).map_err(|e| Error::Weights {
        source_name: source.to_string(),
        msg: e.to_string(),
    })
}

/// A VGG from a weights file in any supported format (safetensors, PyTorch .pth, ONNX).
pub fn load_vgg(path: &Path) -> Result<Vgg> {
    let set = weights_tools::load(path).map_err(|e| Error::Weights {
        source_name: path.display().to_string(),
        msg: format!("{e}"),
    })?;
    vgg_from_set(set, &path.display().to_string())
}

/// The ImageNet VGG16 shipped with the program (f16, made with `weights-tools trim --f16` from
/// the shared f32 file; CC BY 4.0, Simonyan & Zisserman — see engine/weights/README.md).
#[cfg(feature = "embedded-weights")]
const EMBEDDED_VGG16: &[u8] = include_bytes!("../../weights/vgg16-imagenet-f16.safetensors");

/// Where the same file sits in the repository, for builds without the `embedded-weights`
/// feature (the binaries carried to a GPU machine, which must stay small): beside the sources
/// when they are there, else relative to the repository root the program runs in.
#[cfg(not(feature = "embedded-weights"))]
fn weights_file() -> std::path::PathBuf {
    let relative = "weights/vgg16-imagenet-f16.safetensors";
    let beside_sources = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    if beside_sources.is_file() {
        beside_sources
    } else {
        Path::new("engine").join(relative)
    }
}

/// The default weights' bytes: in the program, or read from the repository's copy.
fn default_weights() -> Result<std::borrow::Cow<'static, [u8]>> {
    #[cfg(feature = "embedded-weights")]
    return Ok(std::borrow::Cow::Borrowed(EMBEDDED_VGG16));
    #[cfg(not(feature = "embedded-weights"))]
    {
        let path = weights_file();
        std::fs::read(&path)
            .map(std::borrow::Cow::Owned)
            .map_err(|e| Error::Weights {
                source_name: path.display().to_string(),
                msg: format!("this build has no embedded weights and could not read them from the repository ({e}); run from the repository root or pass --weights FILE"),
            })
    }
}

/// Name shown to users for the embedded weights.
pub const EMBEDDED_NAME: &str = "embedded ImageNet VGG16 (f16)";

/// Bytes of the embedded weight file still resident once the network is built: none on Linux,
/// where [`load_embedded_vgg16`] hands their pages back; elsewhere they stay in memory, mapped
/// from the program, once read.
pub fn embedded_file_bytes() -> usize {
    #[cfg(all(feature = "embedded-weights", not(target_os = "linux")))]
    return EMBEDDED_VGG16.len();
    #[cfg(not(all(feature = "embedded-weights", not(target_os = "linux"))))]
    0
}

/// The embedded ImageNet VGG16: works offline, no download.
pub fn load_embedded_vgg16() -> Result<Vgg> {
    let bytes = default_weights()?;
    let converted = weights_tools::convert_bytes(&bytes, &weights_tools::ConvertOptions::default())
        .map_err(|e| Error::Weights {
            source_name: EMBEDDED_NAME.to_string(),
            msg: e.to_string(),
        })?;
    drop(bytes);
    // The f16 file has been converted to f32 tensors and is not read again: its 29 MB of the
    // program's pages need not stay resident beside them.
    #[cfg(feature = "embedded-weights")]
    crate::cpu::heap::release_program_pages(EMBEDDED_VGG16);
    vgg_from_set(converted.weights, EMBEDDED_NAME)
}

/// `path` when given, the embedded VGG16 otherwise.
pub fn load_vgg_or_default(path: Option<&Path>) -> Result<Vgg> {
    match path {
        Some(p) => load_vgg(p),
        None => load_embedded_vgg16(),
    }
}
