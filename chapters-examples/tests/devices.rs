//! `--device`: the examples that train or run networks give the book's numbers on the GPU
//! path too. Without a GPU the CUDA path runs in the host emulator (`PICASSO_CUDA_EMULATOR=1`,
//! the same kernels compiled for the CPU), so CI checks it; with one, on the GPU.

mod common;

use common::TempDir;
use std::process::Command;

/// stdout of `binary --quick --out <temp> --device <device>`.
fn run(binary: &str, device: &str) -> String {
    let name = std::path::Path::new(binary)
        .file_name()
        .unwrap()
        .to_string_lossy();
    let out = TempDir::new(&format!("devices-{name}-{device}"));
    let output = Command::new(binary)
        .args([
            "--quick",
            "--device",
            device,
            "--out",
            out.0.to_str().unwrap(),
        ])
        .env("PICASSO_CUDA_EMULATOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{binary} --device {device}:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn emulator_missing() -> bool {
    let missing = engine::cuda::emulator::available().is_err();
    if missing {
        println!("skipped: no C++ compiler for the CUDA emulator");
    }
    missing
}

/// The lines a reader compares: everything but timings and the device line.
fn results(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| !l.starts_with("device:") && !l.contains(" s") && !l.contains("written to"))
        .map(String::from)
        .collect()
}

#[test]
fn backprop_trains_to_the_same_numbers_on_the_cuda_path() {
    if emulator_missing() {
        return;
    }
    let (cpu, cuda) = (
        run(env!("CARGO_BIN_EXE_ch04_backprop"), "cpu"),
        run(env!("CARGO_BIN_EXE_ch04_backprop"), "cuda"),
    );
    assert!(cuda.contains("device: cuda:0"), "{cuda}");
    assert_eq!(results(&cpu), results(&cuda));
}

#[test]
fn style_transfer_reaches_the_same_loss_on_the_cuda_path() {
    if emulator_missing() {
        return;
    }
    let total = |text: &str| -> f64 {
        let line = text.lines().find(|l| l.starts_with("final total")).unwrap();
        line.split_whitespace().nth(2).unwrap().parse().unwrap()
    };
    let (cpu, cuda) = (
        run(env!("CARGO_BIN_EXE_ch09_style_transfer"), "cpu"),
        run(env!("CARGO_BIN_EXE_ch09_style_transfer"), "cuda"),
    );
    let (a, b) = (total(&cpu), total(&cuda));
    assert!((a - b).abs() <= 0.01 * a, "cpu {a} vs cuda {b}");
}
