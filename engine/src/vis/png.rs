//! Writing pixels to a PNG file without ever leaving a half-written file behind.

use crate::error::{Error, Result};
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Encode `rgb` (`width × height` pixels, 3 bytes each, row-major) as a PNG at `path`.
///
/// The image goes to a temporary file beside `path` first and is renamed into place only once
/// it is complete, so readers (a browser, the book build, a test) never see a partial file.
/// Missing parent folders are created.
pub fn write_rgb_png(path: &Path, width: u32, height: u32, rgb: &[u8]) -> Result<()> {
    let expected = width as usize * height as usize * 3;
    if rgb.len() != expected {
        return Err(Error::invalid(
            "write_rgb_png",
            format!(
                "{} bytes cannot be a {width}×{height} RGB image ({expected} bytes)",
                rgb.len()
            ),
        ));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| failure(parent, "create the folder", e))?;
    }
    let temporary = temporary_path(path);
    let written = encode(&temporary, width, height, rgb)
        .and_then(|()| fs::rename(&temporary, path).map_err(|e| failure(path, "rename into", e)));
    if written.is_err() {
        // Best effort: the temporary file is useless now; the original error matters more.
        let _ = fs::remove_file(&temporary);
    }
    written
}

fn encode(path: &Path, width: u32, height: u32, rgb: &[u8]) -> Result<()> {
    let file = File::create(path).map_err(|e| failure(path, "create", e))?;
    let mut writer = BufWriter::new(file);
    // A picture with only greys (feature maps, filter outputs) is stored with one byte per
    // pixel: the same picture in a third of the file.
    let is_grey = rgb.chunks_exact(3).all(|p| p[0] == p[1] && p[1] == p[2]);
    let (bytes, colour) = if is_grey {
        let grey: Vec<u8> = rgb.chunks_exact(3).map(|p| p[0]).collect();
        (std::borrow::Cow::Owned(grey), ExtendedColorType::L8)
    } else {
        (std::borrow::Cow::Borrowed(rgb), ExtendedColorType::Rgb8)
    };
    PngEncoder::new(&mut writer)
        .write_image(&bytes, width, height, colour)
        .map_err(|e| Error::Plot {
            op: "write_rgb_png",
            msg: format!("cannot encode {}: {e}", path.display()),
        })?;
    writer.flush().map_err(|e| failure(path, "write", e))
}

/// `dir/.name.png.tmp-<pid>`: hidden, beside the target (so the rename stays on one file
/// system), and unique per process.
fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image.png".into());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

fn failure(path: &Path, action: &str, e: std::io::Error) -> Error {
    Error::Plot {
        op: "write_rgb_png",
        msg: format!("cannot {action} {}: {e}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_decodable_png_and_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("picasso-png-test-{}", std::process::id()));
        let path = dir.join("nested").join("red.png");
        let red: Vec<u8> = [255u8, 0, 0].repeat(4 * 3);
        write_rgb_png(&path, 4, 3, &red).unwrap();
        let decoded = image::open(&path).unwrap().to_rgb8();
        assert_eq!(decoded.dimensions(), (4, 3));
        assert_eq!(decoded.get_pixel(2, 1).0, [255, 0, 0]);
        let leftovers = fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "only the PNG itself should remain");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn rejects_a_buffer_of_the_wrong_size() {
        let path = std::env::temp_dir().join("never-written.png");
        assert!(write_rgb_png(&path, 4, 4, &[0; 5]).is_err());
        assert!(!path.exists());
    }

    #[test]
    fn an_all_grey_picture_is_stored_with_one_channel() {
        let dir = std::env::temp_dir().join(format!("picasso-png-grey-{}", std::process::id()));
        let path = dir.join("grey.png");
        let grey: Vec<u8> = (0..12u8).flat_map(|v| [v * 20; 3]).collect();
        write_rgb_png(&path, 4, 3, &grey).unwrap();
        let decoded = image::open(&path).unwrap();
        assert_eq!(decoded.color(), image::ColorType::L8);
        assert_eq!(decoded.to_rgb8().get_pixel(1, 0).0, [20, 20, 20]);
        fs::remove_dir_all(dir).unwrap();
    }
}
