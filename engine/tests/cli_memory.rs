//! The memory estimate against what real runs take: the peak resident memory (VmHWM) the
//! `picasso` process reports in its `--report`, at a few sizes. The estimate exists to refuse
//! runs that would not fit, so it must not fall below the measured peak, and it must not be
//! so far above it that runs which would fit are refused.

mod cli_common;
mod io_common;

use cli_common::{cat_and_udnie, picasso, s, text};
use io_common::TempDir;

/// (estimated, measured peak) bytes of a stylize run with `extra` settings.
fn estimate_and_peak(dir: &TempDir, extra: &[&str]) -> Option<(u64, u64)> {
    let (content, style) = cat_and_udnie()?;
    let report = dir.join("report.json");
    let out = dir.join("out.png");
    let mut args = vec![
        "stylize",
        s(&content),
        s(&style),
        "-o",
        s(&out),
        "--quiet",
        "--report",
        s(&report),
    ];
    args.extend_from_slice(extra);
    let run = picasso(&args);
    assert!(run.status.success(), "{}", text(&run));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let memory = &r["memory"];
    let estimate = memory["estimated_bytes"].as_u64().expect("an estimate");
    // Not on every platform.
    let peak = memory["peak_resident_bytes"].as_u64()?;
    Some((estimate, peak))
}

#[test]
fn memory_estimate_bounds_the_measured_peak() {
    if !cfg!(target_os = "linux") {
        println!("skipping: peak resident memory is read from /proc");
        return;
    }
    let dir = TempDir::new("cli-memory-peak");
    let cases: [&[&str]; 4] = [
        &["--size", "64", "--iters", "5"],
        // 40 evaluations fill 40 pairs of L-BFGS history.
        &["--size", "192", "--iters", "40"],
        &["--size", "160", "--iters", "20", "--optimizer", "adam"],
        &["--size", "96", "--iters", "10", "--style-scale", "3"],
    ];
    for case in cases {
        let Some((estimate, peak)) = estimate_and_peak(&dir, case) else {
            return;
        };
        let ratio = estimate as f64 / peak as f64;
        println!("{case:?}: estimate {estimate} bytes, peak {peak} bytes, ratio {ratio:.2}");
        assert!(
            (1.0..=1.4).contains(&ratio),
            "{case:?}: estimated {estimate} bytes but the run peaked at {peak} (ratio {ratio:.2})"
        );
    }
}
