//! Chapters 7 and 9: the VGG tour and the minimal style transfer run as a reader runs them.

mod common;

use common::{assert_pictures, TempDir};
use std::process::Command;

#[test]
fn ch07_lists_every_layer_and_the_parameter_count() {
    let run = Command::new(env!("CARGO_BIN_EXE_ch07_vgg"))
        .arg("--quick")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // VGG16's 13 convolutions hold 14,714,688 parameters (weights README).
    assert!(stdout.contains("14714688 parameters"), "{stdout}");
    for layer in ["conv1_1", "relu4_2", "pool5"] {
        assert!(stdout.contains(layer), "{layer} missing:\n{stdout}");
    }
    // relu5_3's receptive field: 196 pixels.
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("relu5_3") && l.contains(" 196 ")),
        "{stdout}"
    );
}

#[test]
fn ch09_stylizes_and_lowers_the_loss() {
    let dir = TempDir::new("ch09");
    let run = Command::new(env!("CARGO_BIN_EXE_ch09_style_transfer"))
        .args(["--quick", "--out"])
        .arg(&dir.0)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let first: f64 = stdout
        .lines()
        .find(|l| l.starts_with("eval    1:"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .expect("first evaluation printed");
    let last: f64 = stdout
        .lines()
        .find(|l| l.starts_with("final total"))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|v| v.parse().ok())
        .expect("final total printed");
    assert!(last < first, "loss went from {first} to {last}");
    assert_pictures(&dir.0, &["stylized.png", "loss_curve.png"], 1);
}
