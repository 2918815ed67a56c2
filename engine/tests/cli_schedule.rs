//! `picasso stylize`'s schedule as a user meets it: coarse to fine by default, one flag for a
//! single size, and `--time` ending each size at its share of the budget without ending the run.

mod cli_common;
mod io_common;

use cli_common::{cat_and_udnie, picasso, refused_before_work, s, stylize_cat};
use io_common::TempDir;
use serde_json::Value;

/// Run stylize at 512 px with `extra` and return its report.
fn stylize_report(dir: &TempDir, extra: &[&str]) -> Option<Value> {
    let args = [&["--size", "512"], extra].concat();
    let report = stylize_cat(dir.path(), &args)?;
    let picture = image::open(dir.join("out.png")).unwrap();
    assert_eq!(picture.width().max(picture.height()), 512, "the final size");
    Some(report)
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
    let dir = TempDir::new("schedule-default");
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
}

#[test]
fn a_time_budget_ends_each_size_at_its_share_and_keeps_the_run_going() {
    let dir = TempDir::new("schedule-time");
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
}

#[test]
fn a_bad_time_budget_is_refused_before_any_work() {
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("schedule-bad-time");
    let out = dir.join("out.png");
    let run = |extra: &[&str]| {
        let mut args = vec!["stylize", s(&content), s(&style), "-o", s(&out)];
        args.extend_from_slice(extra);
        picasso(&args)
    };
    for bad in ["soon", "0s", "-3s", "99999h"] {
        let said = refused_before_work(&run(&[&format!("--time={bad}")]));
        assert!(
            said.contains("--time") && said.contains("90s"),
            "--time {bad}: {said}"
        );
    }
    // Two schedules at once: the command line itself refuses.
    let both = run(&["--single-scale", "--multiscale", "256,512"]);
    assert!(!both.status.success(), "{}", cli_common::text(&both));
    assert!(!out.exists(), "nothing is written for a refused run");
}
