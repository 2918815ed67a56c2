//! One error type for the whole engine: every failure names the operation and what was wrong.

use thiserror::Error;

/// Everything that can go wrong inside the engine.
#[derive(Debug, Error)]
pub enum Error {
    /// Two shapes cannot be broadcast to a common shape.
    #[error("{op}: shapes {lhs:?} and {rhs:?} cannot be broadcast together (trailing dimensions must be equal or 1)")]
    Broadcast {
        op: &'static str,
        lhs: Vec<usize>,
        rhs: Vec<usize>,
    },
    /// Shapes that do not fit the operation (wrong rank, mismatched inner dimensions, ...).
    #[error("{op}: {msg}")]
    Shape { op: &'static str, msg: String },
    /// An axis outside the tensor's rank.
    #[error("{op}: axis {axis} is out of range for a tensor of shape {shape:?}")]
    Axis {
        op: &'static str,
        axis: usize,
        shape: Vec<usize>,
    },
    /// NaN or infinity where a finite number is required (a diverging optimisation, bad data).
    #[error("{op}: {what} contains NaN or infinity (shape {shape:?}); check the input data and lower the learning rate if training diverged")]
    NonFinite {
        op: &'static str,
        what: &'static str,
        shape: Vec<usize>,
    },
    /// An argument outside its valid range (a negative learning rate, a zero stride, ...).
    #[error("{op}: {msg}")]
    InvalidArgument { op: &'static str, msg: String },
    /// Operands live on different devices.
    #[error(
        "{op}: operands are on different devices ({lhs} and {rhs}); move them to one device first"
    )]
    DeviceMismatch {
        op: &'static str,
        lhs: String,
        rhs: String,
    },
    /// Autodiff was asked for something it cannot do.
    #[error("backward: {0}")]
    Backward(String),
    /// Drawing a picture or writing it to disk failed (a plot, an image file).
    #[error("{op}: {msg}")]
    Plot { op: &'static str, msg: String },
    /// A file could not be read, written or renamed; `action` says what was being attempted.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// A file is not a usable image (corrupt, truncated, unsupported, too large, wrong
    /// extension, ...); `msg` says what was wrong and what to do about it.
    #[error("{}: {msg}", path.display())]
    Image {
        path: std::path::PathBuf,
        msg: String,
    },
    /// A weights file could not be used (unreadable, corrupt, wrong layers).
    #[error("weights {source_name}: {msg}")]
    Weights { source_name: String, msg: String },
    /// A device cannot be used at all here: no driver, no GPU with that number, a missing
    /// library. `msg` says what is missing and what to do.
    #[error("{device} is not available: {msg}")]
    DeviceUnavailable { device: String, msg: String },
    /// A device allocation failed for lack of memory.
    #[error(
        "{op}: out of memory on {device}: asked for {} with {} free of {}; \
         try a smaller image (--size), a shorter L-BFGS history (--history) or --device cpu",
        human_bytes(*requested), human_bytes(*free), human_bytes(*total)
    )]
    OutOfMemory {
        op: &'static str,
        device: String,
        requested: usize,
        free: usize,
        total: usize,
    },
    /// The device reported an error while running an operation (a failed launch, a driver
    /// error, a kernel that does not compile).
    #[error("{op} on {device}: {msg}")]
    Device {
        op: &'static str,
        device: String,
        msg: String,
    },
}

/// `1536` → `1.5 KiB`: sizes in messages people read.
pub fn human_bytes(bytes: usize) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Result with the engine's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Shorthand for a shape error.
    pub fn shape(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Shape {
            op,
            msg: msg.into(),
        }
    }

    /// Shorthand for an invalid-argument error.
    pub fn invalid(op: &'static str, msg: impl Into<String>) -> Self {
        Error::InvalidArgument {
            op,
            msg: msg.into(),
        }
    }
}
