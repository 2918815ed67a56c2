//! `picasso stylize --report` on CUDA records the device ledger of each scale: totals, counts
//! per evaluation, the peak of allocated bytes, and the checkpoints saved inside the loop
//! counted apart (on a machine without a GPU, in the host emulator). The CPU keeps none.

use std::path::{Path, PathBuf};

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Run a small stylization on `device` and return its report.
fn report(dir: &Path, device: &str, iters: usize) -> serde_json::Value {
    let (out, report) = (
        dir.join(format!("{device}.png")),
        dir.join(format!("{device}.json")),
    );
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_picasso"))
        .args(["stylize"])
        .arg(repo("assets/images/tubingen.jpg"))
        .arg(repo("assets/images/udnie.jpg"))
        .arg("-o")
        .arg(&out)
        .arg("--report")
        .arg(&report)
        .args(["--size", "32", "--iters", &iters.to_string(), "--quiet"])
        .args(["--device", device])
        .env("PICASSO_CUDA_EMULATOR", "1")
        .output()
        .expect("picasso runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap()
}

#[test]
fn the_report_records_the_device_ledger_per_evaluation() {
    if engine::cuda::emulator::available().is_err() {
        if std::env::var("REQUIRE_EMULATOR").is_ok_and(|v| v == "1") {
            panic!("REQUIRE_EMULATOR=1 but no C++ compiler for the emulator");
        }
        println!("skipped: no C++ compiler for the emulator");
        return;
    }
    let dir = std::env::temp_dir().join(format!("picasso-ledger-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // 21 evaluations: one checkpoint (every 20) is saved inside the loop.
    let evaluations = 21;
    let cuda = report(&dir, "cuda", evaluations);
    let scale = &cuda["scales"][0];
    let ledger = &scale["device_ledger"];
    let total = &ledger["optimising"];
    let per = &ledger["per_evaluation"];
    let count = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    for key in ["launches", "gemms", "syncs", "downloads", "allocations"] {
        let (all, each) = (count(&total[key]), count(&per[key]));
        assert!(all > 0.0, "{key}: {ledger}");
        assert!(
            (each * evaluations as f64 - all).abs() < 1e-6 * all,
            "{key} per evaluation is the total over {evaluations}: {ledger}"
        );
    }
    // The VGG's convolutions: at least one cuBLAS call per convolution, forward and backward.
    assert!(count(&per["gemms"]) >= 2.0 * 10.0, "{ledger}");
    assert!(count(&ledger["peak_bytes"]) > 0.0, "{ledger}");
    assert_eq!(
        count(&ledger["round_trips_per_evaluation"]),
        count(&per["syncs"])
    );
    // The checkpoint's image copy is counted apart from the optimisation.
    let saving = &ledger["saving_inside_the_loop"];
    let image_bytes = 4.0 * 3.0 * count(&scale["width"]) * count(&scale["height"]);
    assert_eq!(count(&saving["download_bytes"]), image_bytes, "{ledger}");
    assert!(count(&scale["saving_seconds"]) > 0.0, "{scale}");

    let cpu = report(&dir, "cpu", 2);
    assert!(cpu["scales"][0]["device_ledger"].is_null(), "{cpu}");
    let _ = std::fs::remove_dir_all(&dir);
}
