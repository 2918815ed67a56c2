//! Reading and writing images and tensors on disk.
//!
//! Images cross into the engine as `[1, 3, H, W]` tensors holding RGB values in `0..=255`
//! (not normalised: models apply their own normalisation). One file per idea:
//!
//! - [`image`]: decode a file into a tensor (with an optional resize) and a tensor back into
//!   an RGB8 image.
//! - [`atomic`]: write files atomically (exclusive, no-follow temporary files shared with
//!   `weights-tools`, see `weights_tools::io`) and refuse to overwrite an input.
//! - [`save`]: encode PNG or JPEG chosen by the output extension, written atomically.
//! - [`frames`]: numbered intermediate images and animated GIFs.
//! - [`colour`]: RGB ↔ YIQ, luminance, colour preservation and colour matching.
//! - [`outputs`]: every output of a run checked before it starts.
//! - [`output_lock`]: one run at a time writing each output, its numbered frames, GIF and
//!   report (a kernel-held `flock`).
//! - [`host_memory`]: how much memory the machine can give a run.

pub mod atomic;
pub mod colour;
pub mod frames;
pub mod histogram;
pub mod host_memory;
pub mod image;
pub mod output_lock;
pub mod outputs;
pub mod save;

pub use self::atomic::{ensure_not_input, write_atomic, AtomicFile};
pub use self::image::{load_image, rgb8_to_tensor, tensor_to_rgb8, LoadOptions};
pub use self::outputs::{check_outputs, OutputKind, PlannedOutput};
pub use self::save::{save_image, OutputFormat};

use std::path::Path;

use crate::error::Error;

/// An [`Error::Io`] for `path`.
pub(crate) fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// An [`Error::Image`] for `path`.
pub(crate) fn image_error(path: &Path, msg: impl Into<String>) -> Error {
    Error::Image {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}
