//! Format detection by magic bytes and the one entry point that reads any supported file.

use std::path::Path;

use crate::error::{Result, WeightsError};
use crate::io::{read_regular, MAX_WEIGHTS_FILE};
use crate::weights::WeightSet;
use crate::{onnx, pth_legacy, pth_zip, safetensors};

/// The file formats this crate reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Safetensors,
    /// torch.save >= 1.6 (a zip archive).
    PthZip,
    /// torch.save before 1.6 (torchvision's published VGG files).
    PthLegacy,
    Onnx,
}

impl Format {
    pub fn describe(self) -> &'static str {
        match self {
            Format::Safetensors => "safetensors",
            Format::PthZip => "PyTorch .pth (zip, torch.save >= 1.6)",
            Format::PthLegacy => "PyTorch .pth (legacy, pre-1.6)",
            Format::Onnx => "ONNX",
        }
    }
}

/// Guesses the format from the first bytes; None if nothing matches.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(b"PK\x03\x04") {
        Some(Format::PthZip)
    } else if pth_legacy::looks_like(bytes) {
        Some(Format::PthLegacy)
    } else if safetensors::looks_like(bytes) {
        Some(Format::Safetensors)
    } else if onnx::looks_like(bytes) {
        Some(Format::Onnx)
    } else {
        None
    }
}

/// Reads a weights file held in memory, whatever its format. Tensors keep their source names
/// (except ONNX, whose graph structure is what names them; see `onnx`).
pub fn read_bytes(bytes: &[u8]) -> Result<(Format, WeightSet)> {
    let format = detect(bytes).ok_or_else(|| {
        let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
        WeightsError::UnknownFormat {
            detail: if bytes.is_empty() {
                "the file is empty".into()
            } else {
                format!("first bytes {}", head.join(" "))
            },
        }
    })?;
    let ws = match format {
        Format::Safetensors => safetensors::read(bytes)?,
        Format::PthZip => pth_zip::read(bytes)?,
        Format::PthLegacy => pth_legacy::read(bytes)?,
        Format::Onnx => onnx::read(bytes)?,
    };
    Ok((format, ws))
}

/// Reads the whole file, then parses it (every size is checked against its real length).
/// Only a regular file of at most [`MAX_WEIGHTS_FILE`] bytes is read: a device or a pipe is
/// refused before a byte is taken from it.
pub fn read_path(path: &Path) -> Result<(Format, WeightSet)> {
    read_bytes(&read_weights_file(path)?)
}

/// The bytes of a weights file, read with the bound of [`crate::io::read_regular`].
pub fn read_weights_file(path: &Path) -> Result<Vec<u8>> {
    Ok(read_regular(path, MAX_WEIGHTS_FILE, "a weights file")?)
}
