//! Issue 18, item 12: a photo is used the way its camera meant — the EXIF orientation is
//! applied when decoding (JPEG APP1, PNG eXIf), and the dimensions read from the header
//! before a run are the turned ones.

mod cli_common;
mod io_common;

use cli_common::{cat_and_udnie, picasso, s, text};
use engine::io::image::{read_dimensions, DEFAULT_MAX_PIXELS};
use engine::io::{load_image, LoadOptions};
use image::{ImageEncoder, Rgb, RgbImage};
use io_common::{png_chunk, TempDir};

/// A TIFF block holding one tag: Orientation = `orientation`.
fn tiff_orientation(orientation: u16) -> Vec<u8> {
    let mut t = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
    t.extend_from_slice(&1u16.to_le_bytes());
    t.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
    t.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(&u32::from(orientation).to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    t
}

/// `width × height`, red on the left half and blue on the right, as stored.
fn halves(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, _| {
        if x < width / 2 {
            Rgb([220, 20, 20])
        } else {
            Rgb([20, 20, 220])
        }
    })
}

fn jpeg_with_orientation(img: &RgbImage, orientation: u16) -> Vec<u8> {
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 95)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff_orientation(orientation));
    let mut out = plain[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend(app1);
    out.extend_from_slice(&plain[2..]);
    out
}

fn png_with_orientation(img: &RgbImage, orientation: u16) -> Vec<u8> {
    let mut plain = Vec::new();
    image::codecs::png::PngEncoder::new(&mut plain)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    let chunk = png_chunk(b"eXIf", &tiff_orientation(orientation));
    // After the signature (8 bytes) and IHDR (25 bytes), before the pixels.
    [&plain[..33], &chunk, &plain[33..]].concat()
}

/// Orientation 6 (turn 90° clockwise): stored 30×20 with red on the left, shown 20×30 with
/// red on top.
#[test]
fn exif_orientation_turns_the_picture_and_its_dimensions() {
    let dir = TempDir::new("exif");
    let stored = halves(30, 20);
    for (name, bytes) in [
        ("portrait.jpg", jpeg_with_orientation(&stored, 6)),
        ("portrait.png", png_with_orientation(&stored, 6)),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(
            read_dimensions(&path, DEFAULT_MAX_PIXELS).unwrap(),
            (20, 30),
            "{name}"
        );
        let t = load_image(&path, &LoadOptions::default()).unwrap();
        assert_eq!(t.shape(), &[1, 3, 30, 20], "{name}");
        let v = t.to_vec().unwrap();
        let plane = 30 * 20;
        let (top, bottom) = (5 * 20 + 10, 25 * 20 + 10);
        assert!(
            v[top] > 150.0 && v[2 * plane + top] < 100.0,
            "{name}: the top is not red"
        );
        assert!(
            v[bottom] < 100.0 && v[2 * plane + bottom] > 150.0,
            "{name}: the bottom is not blue"
        );
    }
}

/// End to end: a portrait phone photo (stored 300×200, Orientation 6) is stylized upright.
#[test]
fn a_portrait_photo_is_stylized_upright() {
    let Some((_, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("exif-run");
    let photo = dir.join("phone.jpg");
    std::fs::write(&photo, jpeg_with_orientation(&halves(300, 200), 6)).unwrap();
    let out = dir.join("o.png");
    let r = picasso(&[
        "stylize",
        s(&photo),
        s(&style),
        "-o",
        s(&out),
        "--size",
        "48",
        "--iters",
        "2",
        "--quiet",
    ]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    let saved = image::open(&out).unwrap();
    assert_eq!((saved.width(), saved.height()), (32, 48));
}
