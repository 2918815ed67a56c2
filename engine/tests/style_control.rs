//! Controlling where and in which colours a painting acts (Gatys et al. 2017): spatial masks
//! and colour transfer, from the library and from the command line.

mod cli_common;

use cli_common::{picasso, refused_before_work, s, text};
use engine::io::colour::match_color_histogram;
use engine::io::histogram::match_histograms;
use engine::io::{load_image, LoadOptions};
use engine::models::load_vgg;
use engine::style::{Objective, ObjectiveConfig};
use engine::Tensor;
use std::path::{Path, PathBuf};

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn picture(name: &str, size: u32) -> Tensor {
    load_image(
        &repo(&format!("assets/images/{name}")),
        &LoadOptions::long_side(size),
    )
    .unwrap()
}

fn channel_stats(t: &Tensor) -> Vec<(f64, f64)> {
    let v = t.to_vec().unwrap();
    let plane = v.len() / 3;
    (0..3)
        .map(|c| {
            let xs = &v[c * plane..(c + 1) * plane];
            let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / plane as f64;
            let var = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / plane as f64;
            (mean, var.sqrt())
        })
        .collect()
}

#[test]
fn colour_transfer_matches_each_channels_mean_and_spread() {
    let (painting, photo) = (
        picture("starry_night.jpg", 96),
        picture("tubingen.jpg", 128),
    );
    let want = channel_stats(&photo);
    for (name, matched) in [
        ("histogram", match_histograms(&painting, &photo).unwrap()),
        (
            "mean-cov",
            match_color_histogram(&painting, &photo).unwrap(),
        ),
    ] {
        assert_eq!(matched.shape(), painting.shape());
        for (c, ((m, sd), (wm, wsd))) in channel_stats(&matched).into_iter().zip(&want).enumerate()
        {
            assert!((m - wm).abs() < 1.0, "{name} channel {c}: mean {m} vs {wm}");
            assert!(
                (sd - wsd).abs() < 0.02 * wsd,
                "{name} channel {c}: std {sd} vs {wsd}"
            );
        }
    }
}

#[test]
fn an_all_white_mask_gives_the_unmasked_objective() {
    let vgg = load_vgg(&repo("weights/vgg16-imagenet-f16.safetensors")).unwrap();
    let (photo, painting) = (picture("tubingen.jpg", 48), picture("udnie.jpg", 48));
    let config = ObjectiveConfig::paper(1.0, 1000.0, 0.0);
    let start = photo.affine(0.9, 10.0).unwrap();
    let plain = Objective::new(&vgg, config.clone(), &photo, &[(painting.clone(), 1.0)])
        .unwrap()
        .evaluate(&vgg, &start)
        .unwrap();
    let white = Some(Tensor::ones(&[1, 1, 48, 64]));
    let masked = Objective::with_masks(&vgg, config, &photo, &[(painting, 1.0)], &[white])
        .unwrap()
        .evaluate(&vgg, &start)
        .unwrap();
    assert!(
        (plain.total - masked.total).abs() <= 1e-5 * plain.total,
        "{} vs {}",
        plain.total,
        masked.total
    );
    let (a, b) = (plain.grad.to_vec().unwrap(), masked.grad.to_vec().unwrap());
    let scale = a.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() <= 1e-4 * scale));
}

fn mask_png(path: &Path, width: u32, height: u32, white: impl Fn(u32, u32) -> bool) {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        if white(x, y) {
            image::Rgb([255, 255, 255])
        } else {
            image::Rgb([0, 0, 0])
        }
    });
    img.save(path).unwrap();
}

#[test]
fn masks_from_the_command_line() {
    let dir = std::env::temp_dir().join(format!("picasso-style-masks-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // The Tübingen photo is 4:3 (1024×768 here).
    let (photo, udnie) = (
        repo("assets/images/tubingen.jpg"),
        repo("assets/images/udnie.jpg"),
    );
    let right = dir.join("right.png");
    mask_png(&right, 200, 150, |x, _| x >= 100);
    let square = dir.join("square.png");
    mask_png(&square, 100, 100, |_, _| true);
    let black = dir.join("black.png");
    mask_png(&black, 200, 150, |_, _| false);
    let out = dir.join("out.png");
    let base = [
        "stylize",
        s(&photo),
        s(&udnie),
        "-o",
        s(&out),
        "--device",
        "cpu",
        "--size",
        "64",
    ];
    let with = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend(extra);
        picasso(&a)
    };
    let mask_of = |m: &Path| format!("udnie.jpg={}", m.display());
    for (spec, expect) in [
        (
            format!("monet.jpg={}", right.display()),
            "none of the paintings",
        ),
        (mask_of(&square), "not the photo's shape"),
        (mask_of(&black), "black everywhere"),
        (format!("2={}", right.display()), "none of the paintings"),
        ("udnie.jpg".to_string(), "PAINTING=MASK"),
    ] {
        let said = refused_before_work(&with(&["--style-mask", &spec, "--iters", "2"]));
        assert!(said.contains(expect), "{spec}: {said}");
    }
    let said = refused_before_work(&with(&[
        "--style-mask",
        &mask_of(&right),
        "--style-mask",
        &format!("1={}", right.display()),
    ]));
    assert!(said.contains("two masks"), "{said}");

    // Painting on the right only: the left half stays much closer to the photo.
    let run = with(&["--style-mask", &mask_of(&right), "--iters", "30", "--quiet"]);
    assert!(run.status.success(), "{}", text(&run));
    let result = image::open(&out).unwrap().to_rgb8();
    let original = image::imageops::resize(
        &image::open(&photo).unwrap().to_rgb8(),
        result.width(),
        result.height(),
        image::imageops::FilterType::Triangle,
    );
    let change = |left: bool| {
        let (mut sum, mut n) = (0.0, 0.0);
        for (x, y, p) in result.enumerate_pixels() {
            if (x < result.width() / 2 - 4) == left && (x > result.width() / 2 + 4 || left) {
                let q = original.get_pixel(x, y);
                sum += (0..3)
                    .map(|c| (p[c] as f64 - q[c] as f64).abs())
                    .sum::<f64>();
                n += 3.0;
            }
        }
        sum / n
    };
    let (unpainted, painted) = (change(true), change(false));
    println!(
        "mean change from the photo: left (no painting) {unpainted:.1}, right (Udnie) {painted:.1}"
    );
    assert!(
        painted > 1.5 * unpainted,
        "left {unpainted}, right {painted}"
    );

    let run = with(&["--color-transfer", "histogram", "--iters", "3", "--quiet"]);
    assert!(run.status.success(), "{}", text(&run));
    let said = text(&with(&[
        "--color-transfer",
        "histogram",
        "--original-colors",
        "--iters",
        "3",
    ]));
    assert!(said.contains("cannot be used with"), "{said}");
    let _ = std::fs::remove_dir_all(&dir);
}
