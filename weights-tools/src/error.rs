//! One error type for the whole crate: every message says what was wrong and, where it helps,
//! what to do about it, because these errors end up in front of users of the CLI and engine.

use std::path::PathBuf;

/// Everything that can go wrong while reading, converting, writing or fetching weights.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("unrecognised weights file ({detail}); supported formats: safetensors, PyTorch .pth (zip or legacy), ONNX")]
    UnknownFormat { detail: String },

    /// The file claims to be format `format` but its bytes are inconsistent (truncated, corrupt,
    /// or sizes pointing past the end of the file).
    #[error("corrupt or truncated {format} file: {detail}")]
    Corrupt {
        format: &'static str,
        detail: String,
    },

    #[error("unsupported {format} content: {detail}")]
    Unsupported {
        format: &'static str,
        detail: String,
    },

    /// The restricted unpickler refused something; it never imports or calls arbitrary code.
    #[error("refused pickle content: {detail} (only plain PyTorch state_dicts of tensors are accepted; nothing in the file is executed)")]
    PickleRefused { detail: String },

    /// The tensors do not form a VGG-style stack of convolutions the project can use.
    #[error("not a usable VGG conv stack: {detail}")]
    Layers { detail: String },

    /// A tensor holds NaN or infinite values: a network computing with it produces NaN
    /// everywhere, so the file is refused by name rather than used.
    #[error("tensor {tensor} holds {} of its {total} values; the weights are damaged (or were saved from a diverged training run) and cannot be used. Re-download the file or convert it again from its source", describe_non_finite(*nan, *inf))]
    NonFinite {
        tensor: String,
        nan: usize,
        inf: usize,
        total: usize,
    },

    #[error("invalid argument: {0}")]
    Invalid(String),

    /// A file that cannot be read or written as asked (missing, a pipe, a device, too large, a
    /// folder that refuses new files); the message names the path and the cause.
    #[error("{0}")]
    File(String),

    #[error("download failed: {0}")]
    Download(String),
}

pub type Result<T> = std::result::Result<T, WeightsError>;

/// "3 NaN and 1 infinite", "12 NaN", "1 infinite".
fn describe_non_finite(nan: usize, inf: usize) -> String {
    match (nan, inf) {
        (0, inf) => format!("{inf} infinite"),
        (nan, 0) => format!("{nan} NaN"),
        (nan, inf) => format!("{nan} NaN and {inf} infinite"),
    }
}

impl WeightsError {
    pub(crate) fn corrupt(format: &'static str, detail: impl Into<String>) -> Self {
        WeightsError::Corrupt {
            format,
            detail: detail.into(),
        }
    }

    pub(crate) fn unsupported(format: &'static str, detail: impl Into<String>) -> Self {
        WeightsError::Unsupported {
            format,
            detail: detail.into(),
        }
    }

    pub(crate) fn refused(detail: impl Into<String>) -> Self {
        WeightsError::PickleRefused {
            detail: detail.into(),
        }
    }

    pub(crate) fn layers(detail: impl Into<String>) -> Self {
        WeightsError::Layers {
            detail: detail.into(),
        }
    }

    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        WeightsError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
