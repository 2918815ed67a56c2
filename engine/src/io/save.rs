//! Saving images as PNG or JPEG, chosen by the output's extension, written atomically.

use std::path::Path;

use ::image::codecs::jpeg::JpegEncoder;
use ::image::codecs::png::PngEncoder;
use ::image::{ExtendedColorType, ImageEncoder, RgbImage};

use super::atomic::{ensure_not_input, AtomicFile};
use super::image::tensor_to_rgb8;
use super::image_error;
use crate::error::Result;
use crate::tensor::Tensor;

/// The extensions [`OutputFormat::from_path`] accepts.
pub const SUPPORTED_OUTPUTS: &str = ".png, .jpg, .jpeg";

/// JPEG quality used when saving by extension: high, since results are looked at closely.
pub const DEFAULT_JPEG_QUALITY: u8 = 95;

/// An image file format the engine writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// Lossless; the default choice for results and frames.
    Png,
    /// Lossy, with a quality from 1 (worst) to 100 (best).
    Jpeg { quality: u8 },
}

impl OutputFormat {
    /// The format named by `path`'s extension (case-insensitive).
    pub fn from_path(path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("png") => Ok(Self::Png),
            Some("jpg" | "jpeg") => Ok(Self::Jpeg {
                quality: DEFAULT_JPEG_QUALITY,
            }),
            Some(other) => Err(image_error(
                path,
                format!(
                    "cannot save images as .{other}; use one of {SUPPORTED_OUTPUTS} \
                     (e.g. {})",
                    path.with_extension("png").display()
                ),
            )),
            None => Err(image_error(
                path,
                format!(
                    "the output has no file extension, so its format is unknown; use one of \
                     {SUPPORTED_OUTPUTS} (e.g. {})",
                    path.with_extension("png").display()
                ),
            )),
        }
    }

    /// The usual extension for this format, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg { .. } => "jpg",
        }
    }
}

/// Encode `img` into any writer.
pub fn encode_rgb8<W: std::io::Write>(
    img: &RgbImage,
    format: OutputFormat,
    writer: W,
) -> ::image::ImageResult<()> {
    let (w, h) = img.dimensions();
    match format {
        OutputFormat::Png => {
            PngEncoder::new(writer).write_image(img.as_raw(), w, h, ExtendedColorType::Rgb8)
        }
        OutputFormat::Jpeg { quality } => JpegEncoder::new_with_quality(
            writer,
            quality.clamp(1, 100),
        )
        .write_image(img.as_raw(), w, h, ExtendedColorType::Rgb8),
    }
}

/// Save `img` to `path` in the format its extension names, atomically, refusing to overwrite
/// any of `inputs`.
pub fn save_rgb8<P: AsRef<Path>>(img: &RgbImage, path: &Path, inputs: &[P]) -> Result<()> {
    let format = OutputFormat::from_path(path)?;
    save_rgb8_as(img, path, format, inputs)
}

/// Save `img` to `path` in `format` (whatever the extension), atomically, refusing to
/// overwrite any of `inputs`.
pub fn save_rgb8_as<P: AsRef<Path>>(
    img: &RgbImage,
    path: &Path,
    format: OutputFormat,
    inputs: &[P],
) -> Result<()> {
    ensure_not_input(path, inputs)?;
    let mut file = AtomicFile::create(path)?;
    encode_rgb8(img, format, &mut file).map_err(|e| {
        image_error(
            path,
            format!("could not encode the image as {format:?}: {e}"),
        )
    })?;
    file.commit()
}

/// Save a `[1, 3, H, W]` (or `[3, H, W]`) tensor of values in `0..=255` as an image, clamping
/// to `0..=255` on the way out; the format follows the extension. Refuses to overwrite any of
/// `inputs` and writes atomically.
pub fn save_image<P: AsRef<Path>>(tensor: &Tensor, path: &Path, inputs: &[P]) -> Result<()> {
    // Check the cheap things (extension, not an input) before converting the tensor.
    let format = OutputFormat::from_path(path)?;
    ensure_not_input(path, inputs)?;
    let img = tensor_to_rgb8(tensor)?;
    save_rgb8_as(&img, path, format, inputs)
}
