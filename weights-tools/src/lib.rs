//! Reading, converting, trimming and fetching VGG weight files for Picasso Me.
//!
//! Every reader produces a [`WeightSet`] (ordered named f32 tensors plus string metadata).
//! The engine's entry point is [`load`]: any supported file → `conv{b}_{n}.weight` (OIHW) and
//! `conv{b}_{n}.bias` tensors, with `input_scale`, `input_mean`, `input_std` metadata.
//!
//! Formats: safetensors (F32/F16/BF16), PyTorch .pth (zip and legacy) through a restricted
//! unpickler that never executes anything, and ONNX through a minimal protobuf decoder.
//! All parsers check sizes against the real file length before allocating. Files are read and
//! written through [`io`]: regular inputs only, with a size bound; outputs atomic, locked,
//! never through a link or over a device (the engine's `picasso` shares these).

pub mod convert;
pub mod error;
pub mod fetch;
pub mod io;
pub mod names;
pub mod onnx;
pub mod pickle;
pub mod protobuf;
pub mod pth_legacy;
pub mod pth_zip;
pub mod read;
pub mod safetensors;
pub mod torch;
pub mod weights;
pub mod zip;

pub use convert::{
    convert_bytes, load, to_project, to_safetensors, ConvertOptions, Converted, Preset,
};
pub use error::{Result, WeightsError};
pub use read::{detect, read_bytes, read_path, read_weights_file, Format};
pub use weights::{DType, Tensor, WeightSet};

/// Hex SHA-256 of some bytes (provenance metadata and download verification).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
