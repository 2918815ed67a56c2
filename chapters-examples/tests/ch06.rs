//! Chapter 6's example runs with `--quick` and writes every picture the book shows, and each
//! one decodes; a missing photo gives a clear error rather than a panic.

mod common;

use common::{assert_pictures, TempDir};
use std::path::Path;
use std::process::{Command, Output};

const BINARY: &str = env!("CARGO_BIN_EXE_ch06_what_cnns_learn");

fn run(args: &[&str], out: &Path) -> Output {
    Command::new(BINARY)
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .expect("start the example")
}

/// The pictures chapter 6 includes.
const PICTURES: [&str; 11] = [
    "filters_conv1_1.png",
    "feature_maps_relu1_1.png",
    "feature_maps_relu2_1.png",
    "feature_maps_relu3_1.png",
    "feature_maps_relu4_1.png",
    "feature_maps_relu5_1.png",
    "activation_max_relu1_1.png",
    "activation_max_relu2_1.png",
    "activation_max_relu3_1.png",
    "activation_max_relu4_1.png",
    "activation_max_relu5_1.png",
];

#[test]
fn quick_run_writes_every_picture() {
    // No --image: the example photo that ships with the repository.
    let out = TempDir::new("ch06-quick");
    let output = run(&["--quick"], &out.0);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the example failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert_pictures(&out.0, &PICTURES, 16);
    // The 64 filters of conv1_1: 8×8 tiles of 24 px with 2-px gaps.
    let filters = image::open(out.0.join(PICTURES[0])).unwrap();
    assert_eq!((filters.width(), filters.height()), (210, 210));
    // Timings are printed per picture.
    assert!(stdout.contains("activation_max_relu5_1.png"), "{stdout}");
    assert!(stdout.contains(" s"), "{stdout}");
}

#[test]
fn a_missing_photo_is_a_clear_error() {
    let out = TempDir::new("ch06-missing");
    let output = run(&["--quick", "--image", "no/such/photo.jpg"], &out.0);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no/such/photo.jpg"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
