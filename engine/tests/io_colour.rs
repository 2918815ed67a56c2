//! Colour controls: YIQ round trips, luminance, colour preservation and colour matching.

mod io_common;

use engine::io::colour::{
    luminance, match_color_histogram, match_luminance, original_colors, rgb_to_yiq, yiq_to_rgb,
};
use engine::Tensor;
use image::imageops::{self, FilterType};
use io_common::{max_abs_diff, noise_image, shared_image, shared_tensor};

/// Channel `c` of a `[1, 3, H, W]` tensor.
fn channel(t: &Tensor, c: usize) -> Vec<f32> {
    let plane = t.shape()[2] * t.shape()[3];
    t.to_vec().unwrap()[c * plane..(c + 1) * plane].to_vec()
}

fn mean_std(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / n;
    (m, var.sqrt())
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Per-channel means and the channel covariance of a `[1, 3, H, W]` tensor.
fn mean_cov(t: &Tensor) -> ([f64; 3], [[f64; 3]; 3]) {
    let ch: Vec<Vec<f32>> = (0..3).map(|c| channel(t, c)).collect();
    let n = ch[0].len() as f64;
    let mean = [0, 1, 2].map(|c| ch[c].iter().map(|&x| x as f64).sum::<f64>() / n);
    let mut cov = [[0.0; 3]; 3];
    for r in 0..3 {
        for c in 0..3 {
            cov[r][c] = (0..ch[0].len())
                .map(|i| (ch[r][i] as f64 - mean[r]) * (ch[c][i] as f64 - mean[c]))
                .sum::<f64>()
                / n;
        }
    }
    (mean, cov)
}

/// The style image resized to exactly the content's size.
fn style_like(content: &Tensor, style: &str) -> Option<Tensor> {
    let path = shared_image(style)?;
    let img = engine::io::image::load_rgb8(&path, engine::io::image::DEFAULT_MAX_PIXELS).unwrap();
    let (h, w) = (content.shape()[2] as u32, content.shape()[3] as u32);
    let resized = imageops::resize(&img, w, h, FilterType::Triangle);
    Some(engine::io::rgb8_to_tensor(&resized).unwrap())
}

#[test]
fn yiq_round_trip_within_1e_3() {
    let noise = noise_image(16, 16, 9);
    let back = yiq_to_rgb(&rgb_to_yiq(&noise).unwrap()).unwrap();
    assert!(max_abs_diff(&noise, &back) < 1e-3);

    let Some(photo) = shared_tensor("images/content/tubingen.jpg", 128) else {
        return;
    };
    let back = yiq_to_rgb(&rgb_to_yiq(&photo).unwrap()).unwrap();
    assert!(max_abs_diff(&photo, &back) < 1e-3);
}

#[test]
fn grey_has_no_chrominance_and_rank3_works() {
    let t = Tensor::from_vec(
        vec![0.0, 128.0, 255.0, 0.0, 128.0, 255.0, 0.0, 128.0, 255.0],
        &[3, 1, 3],
    )
    .unwrap();
    let yiq = rgb_to_yiq(&t).unwrap().to_vec().unwrap();
    for (got, want) in yiq
        .iter()
        .zip([0.0, 128.0, 255.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    {
        assert!((got - want).abs() < 1e-3, "{yiq:?}");
    }
    assert!(rgb_to_yiq(&Tensor::zeros(&[1, 4, 2, 2])).is_err());
    assert!(luminance(&Tensor::zeros(&[1, 3, 0, 2])).is_err());
}

#[test]
fn luminance_is_a_grey_image_of_luma() {
    let t = noise_image(6, 5, 2);
    let lum = luminance(&t).unwrap();
    assert_eq!(lum.shape(), t.shape());
    let (r, g, b) = (channel(&t, 0), channel(&t, 1), channel(&t, 2));
    let y: Vec<f32> = (0..r.len())
        .map(|i| 0.299 * r[i] + 0.587 * g[i] + 0.114 * b[i])
        .collect();
    for c in 0..3 {
        assert!(max_diff(&channel(&lum, c), &y) < 1e-3);
    }
}

#[test]
fn original_colors_keeps_content_chrominance_and_stylized_luminance() {
    let Some(content) = shared_tensor("images/content/tubingen.jpg", 128) else {
        return;
    };
    let Some(stylized) = style_like(&content, "images/style/starry_night.jpg") else {
        return;
    };
    let out = original_colors(&stylized, &content).unwrap();
    assert_eq!(out.shape(), content.shape());
    let (yo, yc, ys) = (
        rgb_to_yiq(&out).unwrap(),
        rgb_to_yiq(&content).unwrap(),
        rgb_to_yiq(&stylized).unwrap(),
    );
    assert!(max_diff(&channel(&yo, 0), &channel(&ys, 0)) < 1e-2);
    assert!(max_diff(&channel(&yo, 1), &channel(&yc, 1)) < 1e-2);
    assert!(max_diff(&channel(&yo, 2), &channel(&yc, 2)) < 1e-2);

    // Luminance-only transfer hands over a grey image: same result.
    let grey = luminance(&stylized).unwrap();
    let from_grey = original_colors(&grey, &content).unwrap();
    assert!(max_abs_diff(&from_grey, &out) < 1e-2);

    // Recolouring the content with its own luminance gives the content back.
    let same = original_colors(&content, &content).unwrap();
    assert!(max_abs_diff(&same, &content) < 1e-2);

    let other = noise_image(4, 4, 1);
    let msg = original_colors(&other, &content).unwrap_err().to_string();
    assert!(msg.contains("differ in size"), "{msg}");
}

#[test]
fn match_luminance_matches_mean_and_std() {
    let Some(content) = shared_tensor("images/content/tubingen.jpg", 128) else {
        return;
    };
    let Some(style) = shared_tensor("images/style/starry_night.jpg", 96) else {
        return;
    };
    let (sl, cl) = (luminance(&style).unwrap(), luminance(&content).unwrap());
    let matched = match_luminance(&sl, &cl).unwrap();
    assert_eq!(matched.shape(), style.shape());
    let (mc, sc) = mean_std(&channel(&cl, 0));
    for c in 0..3 {
        let (m, s) = mean_std(&channel(&matched, c));
        assert!(
            (m - mc).abs() < 1e-2 && (s - sc).abs() < 1e-2,
            "{m} {s} vs {mc} {sc}"
        );
    }
    // Colour inputs give the same answer as their luminance.
    let from_rgb = match_luminance(&style, &content).unwrap();
    assert!(max_abs_diff(&from_rgb, &matched) < 1e-2);

    // A flat style image stays finite and takes the content's mean.
    let flat = Tensor::full(&[1, 3, 4, 4], 77.0);
    let m = match_luminance(&flat, &cl).unwrap();
    assert!(m.all_finite().unwrap());
    assert!((mean_std(&m.to_vec().unwrap()).0 - mc).abs() < 1e-2);
}

#[test]
fn match_color_histogram_matches_mean_and_covariance() {
    let Some(content) = shared_tensor("images/content/tubingen.jpg", 128) else {
        return;
    };
    let Some(style) = shared_tensor("images/style/starry_night.jpg", 96) else {
        return;
    };
    let matched = match_color_histogram(&style, &content).unwrap();
    assert_eq!(matched.shape(), style.shape());
    let (mm, cm) = mean_cov(&matched);
    let (mc, cc) = mean_cov(&content);
    for r in 0..3 {
        assert!((mm[r] - mc[r]).abs() < 1e-2, "{mm:?} vs {mc:?}");
        for c in 0..3 {
            assert!(
                (cm[r][c] - cc[r][c]).abs() < 1e-3 * cc[r][r].max(1.0),
                "{cm:?} vs {cc:?}"
            );
        }
    }
    // Matching an image to itself changes nothing.
    let same = match_color_histogram(&content, &content).unwrap();
    assert!(max_abs_diff(&same, &content) < 1e-2);

    // Grey or flat styles have singular covariances: still finite.
    let grey = luminance(&style).unwrap();
    assert!(match_color_histogram(&grey, &content)
        .unwrap()
        .all_finite()
        .unwrap());
    let flat = Tensor::full(&[1, 3, 3, 3], 10.0);
    assert!(match_color_histogram(&flat, &content)
        .unwrap()
        .all_finite()
        .unwrap());
}
