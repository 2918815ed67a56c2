//! Image files ↔ `[1, 3, H, W]` tensors of RGB values in `0..=255`.
//!
//! Decoding goes through the `image` crate (PNG, JPEG, GIF — first frame only). Whatever the
//! file holds becomes 8-bit RGB: grey is expanded to three channels, 16-bit samples are scaled
//! to 8 bits, and transparency is composited onto white (what a viewer would show on a page).
//! The format is detected from the file's content, not its extension.
//!
//! Decoding is strict where the `image` crate is lenient: its JPEG decoder fills a truncated
//! file's missing rows with grey and reports success, so a JPEG whose last scan has no
//! end-of-image marker is refused here as truncated (see [`jpeg_looks_truncated`]); a PNG
//! without its closing `IEND` chunk likewise ([`png_looks_truncated`]). Both are checked when
//! the header is read, so a run refuses a damaged picture before any slow work.
//!
//! A photo is shown the way its camera meant: the EXIF orientation (a phone's portrait photo
//! is stored sideways with Orientation = 6) is applied when decoding, and the dimensions read
//! from the header are the turned ones.
//!
//! Files are read with a bound (`weights_tools::io::read`): regular files only, at most
//! [`MAX_IMAGE_FILE`] bytes; a pipe or a device is refused with a message that says so.

use std::io::Cursor;
use std::path::Path;

use ::image::error::{ImageError, LimitErrorKind};
use ::image::imageops::{self, FilterType};
use ::image::metadata::Orientation;
use ::image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};

use super::{image_error, io_error};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The largest image decoded by default, in pixels (about 8000 × 5000). A `[1, 3, H, W]` f32
/// tensor of this size takes 480 MB, and style transfer keeps several such tensors alive.
pub const DEFAULT_MAX_PIXELS: u64 = 40_000_000;

/// The largest image file read, in bytes: far above any real photo at [`DEFAULT_MAX_PIXELS`]
/// (a 16-bit RGBA PNG of 40 megapixels stored uncompressed is 320 MB).
pub const MAX_IMAGE_FILE: u64 = 1 << 30;

/// The formats [`load_image`] decodes.
pub const SUPPORTED_INPUTS: &str = "PNG, JPEG, GIF";

/// How [`load_image`] reads a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// Resize so the longer side has this many pixels, keeping the aspect ratio (up or down).
    pub long_side: Option<u32>,
    /// Refuse images with more pixels than this, before decoding them.
    pub max_pixels: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            long_side: None,
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

impl LoadOptions {
    /// Load with the longer side resized to `long_side` pixels.
    pub fn long_side(long_side: u32) -> Self {
        Self {
            long_side: Some(long_side),
            ..Self::default()
        }
    }
}

/// Load an image file as a `[1, 3, H, W]` tensor of RGB values in `0..=255`.
pub fn load_image(path: &Path, options: &LoadOptions) -> Result<Tensor> {
    let mut img = load_rgb8(path, options.max_pixels)?;
    if let Some(long_side) = options.long_side {
        img = resize_long_side(&img, long_side)?;
    }
    rgb8_to_tensor(&img)
}

/// Load an image file as 8-bit RGB, refusing images with more than `max_pixels` pixels.
pub fn load_rgb8(path: &Path, max_pixels: u64) -> Result<RgbImage> {
    let bytes = read_image_file(path)?;
    decode_rgb8(path, &bytes, max_pixels)
}

/// The width and height of an image file as it will be decoded (EXIF orientation applied),
/// read from its header without decoding the pixels, so a run can check its sizes before doing
/// any work. Refuses what [`load_rgb8`] would (folders, pipes, missing, empty or truncated
/// files, unsupported formats, more than `max_pixels` pixels).
pub fn read_dimensions(path: &Path, max_pixels: u64) -> Result<(u32, u32)> {
    let bytes = read_image_file(path)?;
    let (_, mut decoder) = open_decoder(path, &bytes, max_pixels)?;
    let (width, height) = decoder.dimensions();
    check_dimensions(path, width, height, max_pixels)?;
    Ok(match orientation_of(&mut decoder) {
        o if swaps_sides(o) => (height, width),
        _ => (width, height),
    })
}

/// A decoder for the bytes of `path`, after the checks every read makes: not empty, a
/// supported format, not truncated.
fn open_decoder<'a>(
    path: &Path,
    bytes: &'a [u8],
    max_pixels: u64,
) -> Result<(ImageFormat, Box<dyn ImageDecoder + 'a>)> {
    if bytes.is_empty() {
        return Err(image_error(
            path,
            "the file is empty (0 bytes); re-export or re-download the image",
        ));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| io_error("read image file", path, e))?;
    let format = supported_format(path, reader.format())?;
    if format == ImageFormat::Jpeg && jpeg_looks_truncated(bytes) {
        return Err(image_error(
            path,
            "the JPEG is truncated (no end-of-image marker after its last scan), so part \
             of the picture is missing; re-download or re-export the file",
        ));
    }
    if format == ImageFormat::Png && png_looks_truncated(bytes) {
        return Err(image_error(
            path,
            "the PNG is truncated (it does not end with the IEND chunk), so part of the \
             picture may be missing; re-download or re-export the file",
        ));
    }
    reader.limits(decode_limits(max_pixels));
    let decoder = reader
        .into_decoder()
        .map_err(|e| describe_decode_error(path, format, e))?;
    Ok((format, Box::new(decoder)))
}

/// The EXIF orientation, or none when the file has none (or an unreadable one: the picture
/// is then used as stored, as most viewers do).
fn orientation_of(decoder: &mut Box<dyn ImageDecoder + '_>) -> Orientation {
    decoder.orientation().unwrap_or(Orientation::NoTransforms)
}

/// Whether an orientation turns the picture a quarter, so width and height trade places.
fn swaps_sides(o: Orientation) -> bool {
    matches!(
        o,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// The file's bytes, or an error that says whether it is missing, a folder, a pipe or a device,
/// or unreadable.
fn read_image_file(path: &Path) -> Result<Vec<u8>> {
    if path.is_dir() {
        return Err(image_error(
            path,
            "is a directory, not an image file; give the path of a PNG, JPEG or GIF file",
        ));
    }
    weights_tools::io::read_regular(path, MAX_IMAGE_FILE, "an image").map_err(|p| {
        if p.not_found {
            image_error(
                path,
                format!("no such file; check the path{}", relative_hint(path)),
            )
        } else {
            Error::invalid("read image", p.detail)
        }
    })
}

/// The formats this module decodes, or an error naming what the file is instead.
fn supported_format(path: &Path, format: Option<ImageFormat>) -> Result<ImageFormat> {
    match format {
        Some(f @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif)) => Ok(f),
        Some(other) => Err(image_error(
            path,
            format!(
                "{other:?} images are not supported (supported: {SUPPORTED_INPUTS}); \
                 convert it first, e.g. `magick input output.png`"
            ),
        )),
        None => Err(image_error(
            path,
            format!(
                "not a recognised image file (supported: {SUPPORTED_INPUTS}); \
                 check that the path names an image, not some other file"
            ),
        )),
    }
}

/// Decode an in-memory image file, turned as its EXIF orientation says; `path` only names it
/// in errors.
pub fn decode_rgb8(path: &Path, bytes: &[u8], max_pixels: u64) -> Result<RgbImage> {
    let (format, mut decoder) = open_decoder(path, bytes, max_pixels)?;
    let (width, height) = decoder.dimensions();
    check_dimensions(path, width, height, max_pixels)?;
    let orientation = orientation_of(&mut decoder);
    let mut img =
        DynamicImage::from_decoder(decoder).map_err(|e| describe_decode_error(path, format, e))?;
    img.apply_orientation(orientation);
    Ok(flatten_onto_white(img))
}

/// Whether a PNG file ends before its closing `IEND` chunk (length 0, type `IEND`, CRC).
/// Bytes after it are tolerated, as decoders do; anything cut before it is truncated.
pub fn png_looks_truncated(bytes: &[u8]) -> bool {
    const IEND: [u8; 12] = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82];
    !bytes.windows(IEND.len()).rev().any(|w| w == IEND)
}

/// Whether a JPEG file ends before its image data does.
///
/// A complete JPEG has an end-of-image marker (`FF D9`) after its last start-of-scan marker
/// (`FF DA`). Inside entropy-coded data every `FF` byte is followed by `00` or a restart
/// marker, so neither pair can occur there by accident; an `FF D9` inside an EXIF thumbnail
/// comes before the main scans and does not count. Trailing bytes after the marker are fine.
pub fn jpeg_looks_truncated(bytes: &[u8]) -> bool {
    let Some(last_scan) = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]) else {
        // No scan at all: the decoder reports that more precisely.
        return false;
    };
    !bytes[last_scan..].windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Refuse empty and oversized images before anything large is allocated.
pub fn check_dimensions(path: &Path, width: u32, height: u32, max_pixels: u64) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(image_error(
            path,
            format!("the image is {width}×{height} pixels: it has no pixels to use"),
        ));
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(image_error(
            path,
            format!(
                "the image is {width}×{height} ({:.1} megapixels), more than the {:.1} \
                 megapixels this program decodes; resize it first, e.g. `magick input -resize \
                 4000x4000 smaller.png`",
                pixels as f64 / 1e6,
                max_pixels as f64 / 1e6
            ),
        ));
    }
    Ok(())
}

/// Memory limits for the decoder: room for the image at 16-bit RGBA plus the decoder's own
/// working buffers, and never less than the `image` crate's default.
fn decode_limits(max_pixels: u64) -> Limits {
    let mut limits = Limits::default();
    let needed = max_pixels.saturating_mul(8).saturating_add(64 << 20);
    limits.max_alloc = Some(needed.max(limits.max_alloc.unwrap_or(0)));
    limits
}

/// Turn the `image` crate's error into what went wrong and what to do.
fn describe_decode_error(path: &Path, format: ImageFormat, e: ImageError) -> Error {
    let what = format!("{format:?}");
    match e {
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => image_error(
            path,
            format!("the {what} file is truncated; re-download or re-export it"),
        ),
        ImageError::IoError(io) => io_error("read image file", path, io),
        ImageError::Limits(l) => match l.kind() {
            LimitErrorKind::DimensionError => image_error(
                path,
                "the image dimensions are too large; resize it first, e.g. \
                 `magick input -resize 2000x2000 smaller.png`",
            ),
            _ => image_error(
                path,
                format!(
                    "decoding would need more memory than allowed ({l}); resize it first, \
                     e.g. `magick input -resize 2000x2000 smaller.png`"
                ),
            ),
        },
        ImageError::Unsupported(u) => image_error(
            path,
            format!(
                "this {what} variant is not supported ({u}); re-save it as a plain 8-bit \
                 PNG or JPEG"
            ),
        ),
        other => image_error(
            path,
            format!(
                "the {what} file is corrupt or truncated ({other}); re-download or \
                 re-export it"
            ),
        ),
    }
}

/// 8-bit RGB with any transparency composited onto white.
fn flatten_onto_white(img: DynamicImage) -> RgbImage {
    let color = img.color();
    if !color.has_alpha() {
        // Grey expands to RGB, 16-bit samples scale to 8 bits with rounding.
        return img.to_rgb8();
    }
    let (width, height) = (img.width(), img.height());
    if color.bytes_per_pixel() / color.channel_count() == 1 {
        let rgba = img.to_rgba8();
        RgbImage::from_fn(width, height, |x, y| {
            let [r, g, b, a] = rgba.get_pixel(x, y).0;
            let a = u32::from(a);
            // c·a + 255·(1 − a), in integers with rounding.
            let over = |c: u8| ((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
            ::image::Rgb([over(r), over(g), over(b)])
        })
    } else {
        // Wider samples: composite at full precision, then quantise once.
        let rgba = img.to_rgba32f();
        RgbImage::from_fn(width, height, |x, y| {
            let [r, g, b, a] = rgba.get_pixel(x, y).0;
            let a = a.clamp(0.0, 1.0);
            let over = |c: f32| ((c.clamp(0.0, 1.0) * a + (1.0 - a)) * 255.0).round() as u8;
            ::image::Rgb([over(r), over(g), over(b)])
        })
    }
}

/// Resize so the longer side is `long_side` pixels, keeping the aspect ratio (the shorter side
/// is rounded, and at least 1). Uses Lanczos3, a windowed-sinc filter that stays sharp when
/// enlarging and widens its support when shrinking, so downscaled photos do not alias.
pub fn resize_long_side(img: &RgbImage, long_side: u32) -> Result<RgbImage> {
    if long_side == 0 {
        return Err(Error::invalid(
            "resize_long_side",
            "the long side must be at least 1 pixel",
        ));
    }
    let (width, height) = img.dimensions();
    if width == 0 || height == 0 {
        return Err(Error::invalid(
            "resize_long_side",
            "the image has no pixels",
        ));
    }
    let (new_w, new_h) = long_side_dimensions(width, height, long_side);
    if (new_w, new_h) == (width, height) {
        return Ok(img.clone());
    }
    Ok(imageops::resize(img, new_w, new_h, FilterType::Lanczos3))
}

/// The `(width, height)` with the longer side equal to `long_side` and the same aspect ratio.
pub fn long_side_dimensions(width: u32, height: u32, long_side: u32) -> (u32, u32) {
    let scale = |short: u32, long: u32| {
        let s = (f64::from(short) * f64::from(long_side) / f64::from(long)).round();
        (s as u32).max(1)
    };
    if width >= height {
        (long_side, scale(height, width))
    } else {
        (scale(width, height), long_side)
    }
}

/// An RGB8 image as a `[1, 3, H, W]` tensor of values in `0..=255`.
pub fn rgb8_to_tensor(img: &RgbImage) -> Result<Tensor> {
    let (width, height) = (img.width() as usize, img.height() as usize);
    let plane = width * height;
    let mut data = vec![0.0f32; 3 * plane];
    for (i, px) in img.pixels().enumerate() {
        for c in 0..3 {
            data[c * plane + i] = f32::from(px.0[c]);
        }
    }
    Tensor::from_vec(data, &[1, 3, height, width])
}

/// A `[1, 3, H, W]` or `[3, H, W]` tensor of values in `0..=255` as an RGB8 image. Values are
/// rounded and clamped to `0..=255` here, and only here: keep tensors unclamped until saving.
pub fn tensor_to_rgb8(tensor: &Tensor) -> Result<RgbImage> {
    let (height, width) = match tensor.shape() {
        [1, 3, h, w] | [3, h, w] => (*h, *w),
        other => {
            return Err(Error::shape(
                "tensor_to_rgb8",
                format!("expected an image of shape [1, 3, H, W] or [3, H, W], got {other:?}"),
            ))
        }
    };
    if height == 0 || width == 0 {
        return Err(Error::shape(
            "tensor_to_rgb8",
            format!("the image is {width}×{height} pixels: nothing to save"),
        ));
    }
    let too_big = |_| Error::shape("tensor_to_rgb8", "the image is too large to save");
    let (w32, h32) = (
        u32::try_from(width).map_err(too_big)?,
        u32::try_from(height).map_err(too_big)?,
    );
    tensor.ensure_finite("tensor_to_rgb8", "the image")?;
    let data = tensor.to_vec()?;
    let plane = width * height;
    let to_u8 = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    Ok(RgbImage::from_fn(w32, h32, |x, y| {
        let i = y as usize * width + x as usize;
        ::image::Rgb([
            to_u8(data[i]),
            to_u8(data[plane + i]),
            to_u8(data[2 * plane + i]),
        ])
    }))
}

/// A hint for relative paths, which are resolved from the working directory.
fn relative_hint(path: &Path) -> String {
    if path.is_relative() {
        match std::env::current_dir() {
            Ok(dir) => format!(" (relative paths start from {})", dir.display()),
            Err(_) => String::new(),
        }
    } else {
        String::new()
    }
}
