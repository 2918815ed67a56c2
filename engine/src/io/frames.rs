//! Intermediate images of an optimisation, and an animated GIF of them.
//!
//! Frames are named after the output: `out.png` → `out_0010.png` for step 10. The GIF is
//! built from an iterator of frames, so only one frame is decoded and held at a time, and each
//! is downscaled (by default to 512 px on the long side) before palette quantisation, which is
//! the slow, memory-hungry part.

use std::path::{Path, PathBuf};

use ::image::codecs::gif::{GifEncoder, Repeat};
use ::image::imageops::{self, FilterType};
use ::image::{Delay, DynamicImage, Frame, RgbImage};

use super::atomic::{ensure_not_input, parent_dir, resolve, AtomicFile};
use super::image::{load_rgb8, resize_long_side, tensor_to_rgb8, DEFAULT_MAX_PIXELS};
use super::image_error;
use super::save::{save_image, OutputFormat};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Digits in a frame number: `_0010`. Wider numbers are written in full.
pub const FRAME_DIGITS: usize = 4;

/// The path of frame `index` for `output`: `out.png` → `out_0010.png`. Frames keep the
/// output's extension when it is a still-image format, and use PNG otherwise (`out.gif` →
/// `out_0010.png`).
pub fn frame_path(output: &Path, index: usize) -> PathBuf {
    let (stem, ext) = frame_name_parts(output);
    output.with_file_name(format!("{stem}_{index:0FRAME_DIGITS$}.{ext}"))
}

/// The stem and extension frame names are built from: `out.png` → (`out`, `png`).
pub fn frame_family(output: &Path) -> (String, String) {
    frame_name_parts(output)
}

fn frame_name_parts(output: &Path) -> (String, String) {
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "frame".into());
    let ext = match (OutputFormat::from_path(output), output.extension()) {
        (Ok(_), Some(ext)) => ext.to_string_lossy().into_owned(),
        _ => "png".into(),
    };
    (stem, ext)
}

/// Whether `candidate` could be one of `output`'s frames (same folder, `{stem}_NNNN.{ext}`
/// with four or more digits), so that writing frames might replace it.
pub fn could_be_frame_of(output: &Path, candidate: &Path) -> bool {
    let folder = |p: &Path| resolve(&parent_dir(p));
    let Some(name) = candidate
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
    else {
        return false;
    };
    let (stem, ext) = frame_name_parts(output);
    let digits = name
        .strip_prefix(&format!("{stem}_"))
        .and_then(|rest| rest.strip_suffix(&format!(".{ext}")));
    digits.is_some_and(|d| d.len() >= FRAME_DIGITS && d.bytes().all(|b| b.is_ascii_digit()))
        && folder(output) == folder(candidate)
}

/// Save `tensor` as frame `index` of `output` (see [`frame_path`]); returns the frame's path.
pub fn save_frame<P: AsRef<Path>>(
    tensor: &Tensor,
    output: &Path,
    index: usize,
    inputs: &[P],
) -> Result<PathBuf> {
    let path = frame_path(output, index);
    save_image(tensor, &path, inputs)?;
    Ok(path)
}

/// The frames of `output` present on disk, sorted by number.
pub fn list_frames(output: &Path) -> Result<Vec<PathBuf>> {
    let dir = parent_dir(output);
    let (stem, ext) = frame_name_parts(output);
    let (prefix, suffix) = (format!("{stem}_"), format!(".{ext}"));
    let entries = std::fs::read_dir(&dir).map_err(|e| super::io_error("list", &dir, e))?;
    let mut frames: Vec<(usize, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            let digits = file.strip_prefix(&prefix)?.strip_suffix(&suffix)?;
            if digits.len() < FRAME_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((digits.parse().ok()?, e.path()))
        })
        .collect();
    frames.sort();
    Ok(frames.into_iter().map(|(_, p)| p).collect())
}

/// How [`write_gif`] encodes an animation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GifOptions {
    /// How long each frame shows, in milliseconds (GIF stores hundredths of a second).
    pub delay_ms: u32,
    /// `None` loops forever; `Some(n)` repeats `n` times after the first play, so `Some(0)`
    /// plays once (the GIF loop-count convention).
    pub loops: Option<u16>,
    /// Downscale frames so the long side is at most this many pixels.
    pub max_long_side: Option<u32>,
    /// Palette quantisation speed, 1 (best, slowest) to 30 (fastest).
    pub speed: i32,
}

impl Default for GifOptions {
    fn default() -> Self {
        Self {
            delay_ms: 100,
            loops: None,
            max_long_side: Some(512),
            speed: 10,
        }
    }
}

/// Write an animated GIF of `frames` to `path`, atomically, refusing to overwrite any of
/// `inputs`. Every frame is scaled to the first frame's (possibly downscaled) size. Frames are
/// consumed one at a time. Returns the number of frames written.
pub fn write_gif<I, P>(path: &Path, frames: I, options: &GifOptions, inputs: &[P]) -> Result<usize>
where
    I: IntoIterator<Item = Result<RgbImage>>,
    P: AsRef<Path>,
{
    ensure_not_input(path, inputs)?;
    if options.max_long_side == Some(0) {
        return Err(Error::invalid(
            "write_gif",
            "max_long_side must be at least 1 pixel",
        ));
    }
    let gif_error =
        |e: ::image::ImageError| image_error(path, format!("could not encode GIF: {e}"));
    let mut file = AtomicFile::create(path)?;
    let mut count = 0;
    {
        // The encoder borrows the file and writes the GIF trailer when dropped, so it must
        // be gone before the file is committed.
        let mut encoder = GifEncoder::new_with_speed(&mut file, options.speed.clamp(1, 30));
        encoder
            .set_repeat(match options.loops {
                None => Repeat::Infinite,
                Some(n) => Repeat::Finite(n),
            })
            .map_err(gif_error)?;
        let delay = Delay::from_numer_denom_ms(options.delay_ms, 1);
        let mut size = None;
        for frame in frames {
            let mut img = frame?;
            let (w, h) = match size {
                Some(size) => size,
                None => {
                    let (w, h) = gif_size(&img, options.max_long_side);
                    if w > u32::from(u16::MAX) || h > u32::from(u16::MAX) {
                        return Err(image_error(
                            path,
                            format!(
                                "GIF frames can be at most 65535 pixels wide and high, not \
                                 {w}×{h}; set a smaller max_long_side"
                            ),
                        ));
                    }
                    *size.insert((w, h))
                }
            };
            if img.dimensions() != (w, h) {
                img = imageops::resize(&img, w, h, FilterType::Triangle);
            }
            let rgba = DynamicImage::ImageRgb8(img).into_rgba8();
            encoder
                .encode_frame(Frame::from_parts(rgba, 0, 0, delay))
                .map_err(gif_error)?;
            count += 1;
        }
    }
    if count == 0 {
        return Err(image_error(
            path,
            "no frames to write; save some frames first",
        ));
    }
    file.commit()?;
    Ok(count)
}

/// Write a GIF of `[1, 3, H, W]` tensors (values `0..=255`); see [`write_gif`].
pub fn write_gif_from_tensors<P: AsRef<Path>>(
    path: &Path,
    frames: &[Tensor],
    options: &GifOptions,
    inputs: &[P],
) -> Result<usize> {
    write_gif(path, frames.iter().map(tensor_to_rgb8), options, inputs)
}

/// Write a GIF of image files (for example the frames from [`list_frames`]), loading one at a
/// time; see [`write_gif`].
pub fn write_gif_from_files<P: AsRef<Path>, Q: AsRef<Path>>(
    path: &Path,
    frame_files: &[Q],
    options: &GifOptions,
    inputs: &[P],
) -> Result<usize> {
    let frames = frame_files.iter().map(|f| {
        let img = load_rgb8(f.as_ref(), DEFAULT_MAX_PIXELS)?;
        // Downscale right away so no full-size frame outlives this closure.
        match options.max_long_side {
            Some(n) if img.width().max(img.height()) > n => resize_long_side(&img, n),
            _ => Ok(img),
        }
    });
    write_gif(path, frames, options, inputs)
}

/// The GIF's size: the first frame's, shrunk to `max_long_side` if it is larger.
fn gif_size(first: &RgbImage, max_long_side: Option<u32>) -> (u32, u32) {
    let (w, h) = first.dimensions();
    match max_long_side {
        Some(n) if w.max(h) > n => super::image::long_side_dimensions(w, h, n),
        _ => (w, h),
    }
}
