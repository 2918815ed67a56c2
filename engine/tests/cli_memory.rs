//! The memory estimate against what real runs take: the peak resident memory (VmHWM) the
//! `picasso` process reports in its `--report`, at a few sizes. The estimate exists to refuse
//! runs that would not fit, so it must not fall below the measured peak, and it must not be
//! so far above it that runs which would fit are refused.

mod cli_common;
mod io_common;

use cli_common::stylize_cat;
use io_common::TempDir;

/// (estimated, measured peak) bytes of a stylize run with `extra` settings.
fn estimate_and_peak(dir: &TempDir, extra: &[&str]) -> Option<(u64, u64)> {
    let report = stylize_cat(dir.path(), extra)?;
    let memory = &report["memory"];
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

/// With `--bf16 backward` the input gradient's transformed weights are kept as bf16 pairs, half
/// the bytes of f32: the estimate must shrink with them, and still bound the peak.
#[test]
fn the_estimate_counts_bf16_weights_at_half_size() {
    if !cfg!(target_os = "linux") || !engine::cpu::packed_gemm_bf16::available() {
        println!("skipping: needs /proc and a CPU with AVX-512 BF16");
        return;
    }
    let dir = TempDir::new("cli-memory-bf16");
    let case = ["--size", "192", "--iters", "40"];
    let Some((f32_estimate, _)) =
        estimate_and_peak(&dir, &[&case[..], &["--bf16", "off"]].concat())
    else {
        return;
    };
    let Some((estimate, peak)) =
        estimate_and_peak(&dir, &[&case[..], &["--bf16", "backward"]].concat())
    else {
        return;
    };
    let ratio = estimate as f64 / peak as f64;
    println!("bf16 backward: estimate {estimate} bytes (f32: {f32_estimate}), peak {peak}, ratio {ratio:.2}");
    assert!(
        estimate < f32_estimate,
        "the estimate ignores --bf16: {estimate} bytes, as with f32 ({f32_estimate})"
    );
    assert!(
        (1.0..=1.4).contains(&ratio),
        "estimated {estimate} bytes but the run peaked at {peak} (ratio {ratio:.2})"
    );
}
