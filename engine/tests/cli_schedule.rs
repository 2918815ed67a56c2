//! `picasso stylize`'s schedule as a user meets it: coarse to fine by default, one flag for a
//! single size, and `--time` ending each size at its share of the budget without ending the run.

mod cli_common;

use cli_common::{picasso, s, text};
use engine::shared_data::shared_file;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("picasso-schedule-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Run stylize at 512 px with `extra` and return its report.
fn stylize_report(dir: &Path, extra: &[&str]) -> Option<Value> {
    let (Some(content), Some(style)) = (
        shared_file("images/content/chelsea.png"),
        shared_file("images/style/udnie.jpg"),
    ) else {
        return None;
    };
    let out = dir.join("out.png");
    let report = dir.join("report.json");
    let mut args = vec![
        "stylize",
        s(&content),
        s(&style),
        "-o",
        s(&out),
        "--size",
        "512",
        "--report",
        s(&report),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let run = picasso(&args);
    assert!(run.status.success(), "{}", text(&run));
    let picture = image::open(&out).unwrap();
    assert_eq!(picture.width().max(picture.height()), 512, "the final size");
    Some(serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap())
}

fn sizes(report: &Value) -> Vec<u64> {
    report["scales"]
        .as_array()
        .unwrap()
        .iter()
        .map(|scale| scale["size"].as_u64().unwrap())
        .collect()
}

fn evaluations(report: &Value) -> Vec<u64> {
    report["scales"]
        .as_array()
        .unwrap()
        .iter()
        .map(|scale| scale["evaluations"].as_u64().unwrap())
        .collect()
}

#[test]
fn the_default_paints_coarse_to_fine_and_single_scale_is_one_flag_away() {
    let dir = temp_dir("default");
    let Some(report) = stylize_report(&dir, &["--iters", "4"]) else {
        return;
    };
    assert_eq!(sizes(&report), vec![256, 512], "512 px starts at 256 px");
    assert_eq!(
        evaluations(&report),
        vec![1, 4],
        "--iters at the final size, a quarter before it"
    );
    let report = stylize_report(&dir, &["--iters", "2", "--single-scale"]).unwrap();
    assert_eq!(sizes(&report), vec![512]);
    assert_eq!(report["evaluations"], 2);
    let report = stylize_report(&dir, &["--multiscale", "256:3,512:2"]).unwrap();
    assert_eq!(evaluations(&report), vec![3, 2], "counts given per size");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_time_budget_ends_each_size_at_its_share_and_keeps_the_run_going() {
    let dir = temp_dir("time");
    // 200 evaluations at 512 px take minutes on a CPU: only the budget can end this run soon.
    let Some(report) = stylize_report(&dir, &["--iters", "200", "--time", "4s"]) else {
        return;
    };
    assert_eq!(
        sizes(&report),
        vec![256, 512],
        "the budget ends the coarse size, not the run"
    );
    let scales = report["scales"].as_array().unwrap();
    for scale in scales {
        assert_eq!(scale["stop_reason"], "time", "{scale}");
        assert!(scale["evaluations"].as_u64().unwrap() < 200, "{scale}");
    }
    assert_eq!(report["settings"]["time_budget_seconds"], 4.0);
    // Each size may finish the evaluation it is in when its time is up.
    let seconds: f64 = scales.iter().map(|x| x["seconds"].as_f64().unwrap()).sum();
    let slowest = scales
        .iter()
        .map(|x| x["seconds"].as_f64().unwrap() / x["evaluations"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert!(
        seconds <= 4.0 + 2.0 * slowest + 0.5,
        "{seconds} s for a budget of 4 s"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_bad_time_budget_is_refused_before_any_work() {
    let Some(content) = shared_file("images/content/chelsea.png") else {
        return;
    };
    let dir = temp_dir("bad-time");
    let out = dir.join("out.png");
    for bad in ["soon", "0s", "-3s", "99999h"] {
        let time = format!("--time={bad}");
        let run = picasso(&["stylize", s(&content), s(&content), "-o", s(&out), &time]);
        assert!(!run.status.success(), "--time {bad} was accepted");
        let said = text(&run);
        assert!(
            said.contains("--time") && said.contains("90s"),
            "--time {bad}: {said}"
        );
        assert!(!out.exists(), "nothing is written for a refused run");
    }
    let run = picasso(&[
        "stylize",
        s(&content),
        s(&content),
        "-o",
        s(&out),
        "--single-scale",
        "--multiscale",
        "256,512",
    ]);
    assert!(!run.status.success(), "{}", text(&run));
    std::fs::remove_dir_all(&dir).ok();
}
