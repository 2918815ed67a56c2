//! Loading images into tensors and back: formats, resizing, round trips, and every way a file
//! can be unusable (each must be an `Err` naming the file, never a panic).

mod io_common;

use std::path::Path;

use engine::io::image::{
    jpeg_looks_truncated, load_image, load_rgb8, long_side_dimensions, rgb8_to_tensor,
    tensor_to_rgb8, LoadOptions, DEFAULT_MAX_PIXELS,
};
use engine::io::save::save_image;
use engine::{Error, Tensor};
use image::{ImageBuffer, Luma, Rgb, Rgba, RgbaImage};
use io_common::{max_abs_diff, noise_image, png_claiming, shared_image, TempDir};

const NO_INPUTS: &[&Path] = &[];

fn load(path: &Path) -> engine::Result<Tensor> {
    load_image(path, &LoadOptions::default())
}

/// The error message, asserting it is an image error about `path`.
fn image_err(result: engine::Result<Tensor>, path: &Path) -> String {
    match result {
        Err(e @ Error::Image { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&path.display().to_string()),
                "message should name the file: {msg}"
            );
            msg
        }
        Err(other) => panic!("expected an image error, got {other:?}"),
        Ok(t) => panic!("expected an error, got a tensor {:?}", t.shape()),
    }
}

#[test]
fn loads_a_jpeg_as_rgb_0_255() {
    let Some(path) = shared_image("images/content/tubingen.jpg") else {
        return;
    };
    let t = load(&path).unwrap();
    let s = t.shape().to_vec();
    assert_eq!((s.len(), s[0], s[1]), (4, 1, 3));
    let v = t.to_vec().unwrap();
    assert!(v
        .iter()
        .all(|&x| (0.0..=255.0).contains(&x) && x.fract() == 0.0));
    let mean = v.iter().sum::<f32>() / v.len() as f32;
    assert!(mean > 20.0 && mean < 235.0, "mean {mean}");
}

#[test]
fn resize_sets_the_long_side_and_keeps_the_aspect() {
    for rel in ["images/content/tubingen.jpg", "images/content/chelsea.png"] {
        let Some(path) = shared_image(rel) else {
            return;
        };
        let full = load_rgb8(&path, DEFAULT_MAX_PIXELS).unwrap();
        let (w, h) = full.dimensions();
        for long in [64u32, 256, 3000] {
            let t = load_image(&path, &LoadOptions::long_side(long)).unwrap();
            let (th, tw) = (t.shape()[2] as u32, t.shape()[3] as u32);
            assert_eq!(th.max(tw), long, "{rel} at {long}");
            let want = w as f64 / h as f64;
            let got = tw as f64 / th as f64;
            // The short side is rounded to a whole pixel.
            let tolerance = 1.0 / th.min(tw) as f64 * want.max(1.0 / want) + 1e-9;
            assert!((want - got).abs() <= tolerance, "{rel}: {want} vs {got}");
        }
    }
}

#[test]
fn long_side_dimensions_for_portrait_and_tiny_images() {
    assert_eq!(long_side_dimensions(400, 600, 300), (200, 300));
    assert_eq!(long_side_dimensions(600, 400, 300), (300, 200));
    assert_eq!(long_side_dimensions(1000, 1, 10), (10, 1));
    assert_eq!(long_side_dimensions(5, 5, 7), (7, 7));
}

#[test]
fn resize_of_a_synthetic_portrait_image() {
    let dir = TempDir::new("portrait");
    let path = dir.join("p.png");
    save_image(&noise_image(90, 30, 1), &path, NO_INPUTS).unwrap();
    let t = load_image(&path, &LoadOptions::long_side(45)).unwrap();
    assert_eq!(t.shape(), &[1, 3, 45, 15]);
    assert!(load_image(&path, &LoadOptions::long_side(0)).is_err());
}

#[test]
fn png_round_trip_is_exact() {
    let dir = TempDir::new("roundtrip");
    let noise = noise_image(17, 23, 7);
    let out = dir.join("noise.png");
    save_image(&noise, &out, NO_INPUTS).unwrap();
    assert_eq!(
        load(&out).unwrap().to_vec().unwrap(),
        noise.to_vec().unwrap()
    );

    let Some(path) = shared_image("images/content/chelsea.png") else {
        return;
    };
    let original = load(&path).unwrap();
    let copy = dir.join("chelsea.png");
    save_image(&original, &copy, &[&path]).unwrap();
    assert_eq!(
        load(&copy).unwrap().to_vec().unwrap(),
        original.to_vec().unwrap()
    );
}

#[test]
fn rank3_tensors_save_too_and_values_clamp_only_on_save() {
    let t = Tensor::from_vec(vec![-10.0, 300.0, 127.6, 0.4, 254.5, 1e9], &[3, 1, 2]).unwrap();
    let img = tensor_to_rgb8(&t).unwrap();
    assert_eq!(img.get_pixel(0, 0).0, [0, 128, 255]);
    assert_eq!(img.get_pixel(1, 0).0, [255, 0, 255]);
    assert_eq!(rgb8_to_tensor(&img).unwrap().shape(), &[1, 3, 1, 2]);
    let nan = Tensor::from_vec(vec![f32::NAN; 3], &[1, 3, 1, 1]).unwrap();
    assert!(tensor_to_rgb8(&nan).is_err());
    assert!(tensor_to_rgb8(&Tensor::zeros(&[1, 4, 2, 2])).is_err());
    assert!(tensor_to_rgb8(&Tensor::zeros(&[1, 3, 0, 2])).is_err());
}

#[test]
fn alpha_is_composited_on_white() {
    let dir = TempDir::new("alpha");
    let path = dir.join("a.png");
    let img: RgbaImage = ImageBuffer::from_fn(3, 1, |x, _| match x {
        0 => Rgba([0, 0, 0, 0]),
        1 => Rgba([0, 0, 0, 255]),
        _ => Rgba([0, 0, 0, 128]),
    });
    img.save(&path).unwrap();
    let v = load(&path).unwrap().to_vec().unwrap();
    // Channel-major: R of the 3 pixels first.
    assert_eq!(&v[0..3], &[255.0, 0.0, 127.0]);
}

#[test]
fn sixteen_bit_and_grey_images_become_8_bit_rgb() {
    let dir = TempDir::new("depth");
    let p16 = dir.join("deep.png");
    let deep: ImageBuffer<Rgb<u16>, Vec<u16>> = ImageBuffer::from_fn(2, 1, |x, _| {
        Rgb(if x == 0 {
            [65535, 0, 32896]
        } else {
            [257, 514, 771]
        })
    });
    deep.save(&p16).unwrap();
    let v = load(&p16).unwrap().to_vec().unwrap();
    assert_eq!(v, vec![255.0, 1.0, 0.0, 2.0, 128.0, 3.0]);

    let pg = dir.join("grey.png");
    let grey: ImageBuffer<Luma<u8>, Vec<u8>> =
        ImageBuffer::from_fn(2, 2, |x, y| Luma([(x * 100 + y * 10) as u8]));
    grey.save(&pg).unwrap();
    let t = load(&pg).unwrap();
    assert_eq!(t.shape(), &[1, 3, 2, 2]);
    let v = t.to_vec().unwrap();
    assert_eq!(&v[0..4], &v[4..8]);
    assert_eq!(&v[0..4], &v[8..12]);
    assert_eq!(&v[0..4], &[0.0, 100.0, 10.0, 110.0]);
}

#[test]
fn format_comes_from_content_not_extension() {
    let dir = TempDir::new("sniff");
    let png = dir.join("really_png.png");
    save_image(&noise_image(4, 5, 3), &png, NO_INPUTS).unwrap();
    let misnamed = dir.join("misnamed.jpg");
    std::fs::copy(&png, &misnamed).unwrap();
    assert_eq!(
        load(&misnamed).unwrap().to_vec().unwrap(),
        load(&png).unwrap().to_vec().unwrap()
    );
}

#[test]
fn truncated_jpegs_are_refused() {
    let Some(path) = shared_image("images/content/tubingen.jpg") else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    assert!(!jpeg_looks_truncated(&bytes));
    let dir = TempDir::new("truncjpeg");
    let n = bytes.len();
    for cut in [3, 10, 200, n / 4, n / 2, n * 9 / 10, n - 2, n - 1] {
        let p = dir.join(&format!("cut_{cut}.jpg"));
        std::fs::write(&p, &bytes[..cut]).unwrap();
        let msg = image_err(load(&p), &p);
        assert!(
            msg.contains("truncated") || msg.contains("corrupt"),
            "cut at {cut}: {msg}"
        );
    }
    // Bytes after the end-of-image marker are harmless (some cameras append data).
    let p = dir.join("trailing.jpg");
    let mut padded = bytes.clone();
    padded.extend_from_slice(b"trailing junk\0\0\0");
    std::fs::write(&p, &padded).unwrap();
    assert!(load(&p).is_ok());
}

#[test]
fn truncated_and_corrupt_pngs_are_refused() {
    let Some(path) = shared_image("images/content/chelsea.png") else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let dir = TempDir::new("truncpng");
    let n = bytes.len();
    for cut in [8, 20, 33, 100, n / 2, n - 20] {
        let p = dir.join(&format!("cut_{cut}.png"));
        std::fs::write(&p, &bytes[..cut]).unwrap();
        image_err(load(&p), &p);
    }
    // Scribble over the middle of the compressed data.
    let mut corrupt = bytes.clone();
    for b in &mut corrupt[n / 2..n / 2 + 64] {
        *b ^= 0x5A;
    }
    let p = dir.join("corrupt.png");
    std::fs::write(&p, &corrupt).unwrap();
    let msg = image_err(load(&p), &p);
    assert!(msg.contains("corrupt"), "{msg}");
}

#[test]
fn truncated_gif_is_refused() {
    let dir = TempDir::new("truncgif");
    let gif = dir.join("a.gif");
    let frames = [noise_image(20, 30, 1), noise_image(20, 30, 2)];
    engine::io::frames::write_gif_from_tensors(&gif, &frames, &Default::default(), NO_INPUTS)
        .unwrap();
    let bytes = std::fs::read(&gif).unwrap();
    // The first frame decodes on its own.
    assert_eq!(load(&gif).unwrap().shape(), &[1, 3, 20, 30]);
    for cut in [6, 13, 40, bytes.len() / 4] {
        let p = dir.join(&format!("cut_{cut}.gif"));
        std::fs::write(&p, &bytes[..cut]).unwrap();
        image_err(load(&p), &p);
    }
}

#[test]
fn missing_empty_directory_and_non_image_files() {
    let dir = TempDir::new("bad");
    let missing = dir.join("nope.jpg");
    let msg = image_err(load(&missing), &missing);
    assert!(msg.contains("no such file"), "{msg}");

    let empty = dir.join("empty.png");
    std::fs::write(&empty, b"").unwrap();
    assert!(image_err(load(&empty), &empty).contains("empty"));

    let msg = image_err(load(dir.path()), dir.path());
    assert!(msg.contains("directory"), "{msg}");

    let text = dir.join("notes.png");
    std::fs::write(&text, b"this is not an image at all, just some text\n").unwrap();
    let msg = image_err(load(&text), &text);
    assert!(msg.contains("not a recognised image"), "{msg}");
}

#[test]
fn unsupported_formats_are_named() {
    let dir = TempDir::new("unsupported");
    let bmp = dir.join("old.bmp");
    let mut bytes = b"BM".to_vec();
    bytes.extend_from_slice(&[0u8; 60]);
    std::fs::write(&bmp, &bytes).unwrap();
    let msg = image_err(load(&bmp), &bmp);
    assert!(
        msg.contains("Bmp") && msg.contains("PNG, JPEG, GIF"),
        "{msg}"
    );

    let webp = dir.join("x.webp");
    std::fs::write(&webp, b"RIFF\x24\0\0\0WEBPVP8 \x18\0\0\0").unwrap();
    let msg = image_err(load(&webp), &webp);
    assert!(msg.contains("not supported"), "{msg}");
}

#[test]
fn absurd_and_zero_dimensions_are_refused_before_decoding() {
    let dir = TempDir::new("dims");
    let huge = dir.join("huge.png");
    std::fs::write(&huge, png_claiming(100_000, 100_000)).unwrap();
    let msg = image_err(load(&huge), &huge);
    assert!(
        msg.contains("megapixels") && msg.contains("resize"),
        "{msg}"
    );
    // Nothing raises the limit, so the message does not offer to.
    assert!(!msg.contains("raise"), "{msg}");
    // The header alone tells: refused without decoding.
    let msg = image_err(
        engine::io::image::read_dimensions(&huge, engine::io::image::DEFAULT_MAX_PIXELS)
            .map(|_| Tensor::zeros(&[1])),
        &huge,
    );
    assert!(msg.contains("megapixels"), "{msg}");

    let zero = dir.join("zero.png");
    std::fs::write(&zero, png_claiming(0, 10)).unwrap();
    image_err(load(&zero), &zero);

    let Some(path) = shared_image("images/content/tubingen.jpg") else {
        return;
    };
    let tight = LoadOptions {
        long_side: None,
        max_pixels: 10_000,
    };
    let msg = image_err(load_image(&path, &tight), &path);
    assert!(msg.contains("megapixels"), "{msg}");
}

#[test]
fn jpeg_save_is_close_to_the_original() {
    let Some(path) = shared_image("images/content/chelsea.png") else {
        return;
    };
    let dir = TempDir::new("jpeg");
    let original = load_image(&path, &LoadOptions::long_side(128)).unwrap();
    let out = dir.join("c.JPG");
    save_image(&original, &out, &[&path]).unwrap();
    let back = load(&out).unwrap();
    let v = original.to_vec().unwrap();
    let mean_err = v
        .iter()
        .zip(back.to_vec().unwrap())
        .map(|(a, b)| (a - b).abs())
        .sum::<f32>()
        / v.len() as f32;
    assert!(mean_err < 4.0, "mean error {mean_err}");
    assert!(max_abs_diff(&original, &back) < 128.0);
}
