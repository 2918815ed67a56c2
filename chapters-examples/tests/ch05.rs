//! Chapter 5's examples run, draw every picture the book shows, and the CNN learns.
//!
//! Each test runs a binary with `--quick --out <fresh folder>`, then checks the exit status,
//! that each promised PNG exists and decodes, and (for the CNN) the accuracy it printed.

mod common;

use common::{assert_pictures, TempDir};
use std::path::Path;
use std::process::{Command, Output};

fn run_quick(binary: &str, out: &Path) -> Output {
    let output = Command::new(binary)
        .args(["--quick", "--out"])
        .arg(out)
        .output()
        .expect("start the example");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{binary} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    output
}

/// The number after `label` on the line that starts with it, e.g. "final test accuracy: 97.3 %".
fn printed_number(stdout: &str, label: &str) -> f32 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no line starting with {label:?} in:\n{stdout}"));
    line[label.len()..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {label:?} in {line:?}"))
}

/// Quick mode trains on 2 000 pictures for 3 epochs. With the default seed it reaches 88 %
/// test accuracy; seeds 1 and 2 give 76 % and 85 % (see the book chapter), and guessing gives
/// 33 %. 70 % is below every seed we tried, so floating-point differences between machines
/// (another summation order in the GEMM changes the path of training a little) do not make the
/// test flaky, yet it fails as soon as the network stops learning.
const QUICK_MIN_ACCURACY: f32 = 70.0;

#[test]
fn cnn_learns_the_shapes_and_draws_its_pictures() {
    let out = TempDir::new("ch05-cnn");
    let output = run_quick(env!("CARGO_BIN_EXE_ch05_cnn"), &out.0);
    let stdout = String::from_utf8_lossy(&output.stdout);

    let accuracy = printed_number(&stdout, "final test accuracy:");
    assert!(
        accuracy >= QUICK_MIN_ACCURACY,
        "quick-mode test accuracy {accuracy} % is below {QUICK_MIN_ACCURACY} %:\n{stdout}"
    );
    // One log line per epoch, from 1 to 3.
    assert!(stdout.lines().any(|l| l.trim_start().starts_with("3 ")));

    let mut files = vec![
        "shapes_examples.png",
        "training_curves.png",
        "learned_filters.png",
    ];
    let per_class = ["feature_input", "feature_maps_conv1", "feature_maps_conv2"];
    let names: Vec<String> = ["circle", "square", "triangle"]
        .iter()
        .flat_map(|shape| per_class.iter().map(move |p| format!("{p}_{shape}.png")))
        .collect();
    files.extend(names.iter().map(String::as_str));
    assert_pictures(&out.0, &files, 60);
}

#[test]
fn filters_example_matches_conv2d_and_draws_its_pictures() {
    let out = TempDir::new("ch05-filters");
    let output = run_quick(env!("CARGO_BIN_EXE_ch05_filters"), &out.0);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("every by-hand result matches conv2d"),
        "{stdout}"
    );
    assert_pictures(
        &out.0,
        &[
            "photo_grey.png",
            "sliding_window.png",
            "filter_sobel_x.png",
            "filter_sobel_y.png",
            "filter_edges.png",
            "filter_box_blur.png",
            "filter_gaussian_blur.png",
            "filter_gaussian_blur_x4.png",
            "filter_sharpen.png",
            "pool_max_2x2.png",
            "pool_max_4x4.png",
            "pool_avg_4x4.png",
        ],
        60,
    );
}

#[test]
fn filters_example_reports_a_missing_image_clearly() {
    let out = TempDir::new("ch05-missing");
    let output = Command::new(env!("CARGO_BIN_EXE_ch05_filters"))
        .args(["--quick", "--image", "no/such/photo.png", "--out"])
        .arg(&out.0)
        .output()
        .expect("start the example");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no/such/photo.png"), "{stderr}");
}
