//! What the user opens is what was optimised: by default `picasso stylize` keeps the pixels in
//! 0..255, so the PNG it writes, read back and scored under the same objective, has the loss
//! the run reported (to 8-bit rounding). `--unbounded` is the classic behaviour, whose saved
//! file scores worse.

mod cli_common;

use cli_common::{s, text};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Run stylize on the photo and Udnie at 64 px and return the total loss its report gives.
fn total(args: &[&str], report: &Path) -> f64 {
    report_of(
        "udnie.jpg",
        &[&["--size", "64", "--tv-weight", "0"], args].concat(),
        report,
    )["total"]
        .as_f64()
        .unwrap()
}

/// Run stylize on the photo and `painting` and return its report.
fn report_of(painting: &str, args: &[&str], report: &Path) -> serde_json::Value {
    let (content, style) = (
        repo("assets/images/tubingen.jpg"),
        repo(&format!("assets/images/{painting}")),
    );
    let mut all = vec![
        "stylize",
        s(&content),
        s(&style),
        "--device",
        "cpu",
        "--quiet",
    ];
    all.extend(["--report", s(report)]);
    all.extend(args);
    let run = Command::new(env!("CARGO_BIN_EXE_picasso"))
        .args(&all)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", text(&run));
    serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap()
}

#[test]
fn the_saved_file_scores_what_the_run_reports() {
    let dir = std::env::temp_dir().join(format!("picasso-cli-bounds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, extra) in [("bounded", vec![]), ("unbounded", vec!["--unbounded"])] {
        let out = dir.join(format!("{name}.png"));
        let reported = total(
            &[&["-o", s(&out), "--iters", "40"], &extra[..]].concat(),
            &dir.join(format!("{name}.json")),
        );
        // One evaluation starting from the saved file is that file's loss.
        let rescored = total(
            &[
                "-o",
                s(&dir.join(format!("{name}-rescored.png"))),
                "--iters",
                "1",
                "--init",
                s(&out),
            ],
            &dir.join(format!("{name}-rescored.json")),
        );
        let gap = (rescored - reported) / reported;
        println!(
            "{name}: reported {reported:.4e}, saved file {rescored:.4e} ({:+.2} %)",
            100.0 * gap
        );
        if name == "bounded" {
            assert!(
                gap.abs() < 0.01,
                "the saved file scores {rescored}, the run reported {reported}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// In the box, L-BFGS searches each step's length by default: a fixed step that the range cuts
/// short can climb (on the shared 256 px problem it ended 35 times above the unconstrained
/// run). The default must do as well as the classic method on the painting where the fixed
/// step failed, and a fixed step in the box is refused with the way out. Each report counts the
/// steps the budget bought.
#[test]
fn the_bounded_default_searches_its_steps_and_keeps_up_with_the_classic_method() {
    let dir = std::env::temp_dir().join(format!("picasso-cli-bounds-ls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let common = ["--size", "128", "--iters", "30"];
    let run = |name: &str, extra: &[&str]| {
        let out = dir.join(format!("{name}.png"));
        let args = [&["-o", s(&out)], &common[..], extra].concat();
        report_of("starry_night.jpg", &args, &dir.join(format!("{name}.json")))
    };
    let bounded = run("bounded", &[]);
    let classic = run("classic", &["--unbounded"]);
    assert_eq!(bounded["settings"]["line_search"], "strong-wolfe");
    assert_eq!(classic["settings"]["line_search"], "none");
    let (b, c) = (
        bounded["total"].as_f64().unwrap(),
        classic["total"].as_f64().unwrap(),
    );
    let start = bounded["scales"][0]["history"][0].as_f64().unwrap();
    println!("start {start:.4e}, bounded {b:.4e}, classic {c:.4e}");
    assert!(b < start / 2.0, "the bounded run went from {start} to {b}");
    assert!(b < 1.1 * c, "bounded {b} against the classic method's {c}");
    // The report says how the budget was spent: after the start's evaluation, a fixed step
    // costs one evaluation, a searched one at least one; only a box can make L-BFGS forget.
    let spent = |report: &serde_json::Value, key: &str| {
        report["scales"][0][key]
            .as_u64()
            .unwrap_or_else(|| panic!("no {key} in {}", report["scales"][0]))
    };
    let evaluations = spent(&classic, "evaluations");
    assert_eq!(spent(&classic, "steps"), evaluations - 1, "{classic}");
    assert_eq!(spent(&classic, "history_restarts"), 0, "{classic}");
    let (evaluations, steps) = (spent(&bounded, "evaluations"), spent(&bounded, "steps"));
    println!(
        "bounded: {steps} steps in {evaluations} evaluations, {} restarts",
        spent(&bounded, "history_restarts")
    );
    assert!((1..evaluations).contains(&steps), "{bounded}");

    let refused = Command::new(env!("CARGO_BIN_EXE_picasso"))
        .args(["stylize", s(&repo("assets/images/tubingen.jpg"))])
        .arg(repo("assets/images/starry_night.jpg"))
        .args(["-o", s(&dir.join("fixed.png")), "--line-search", "none"])
        .output()
        .unwrap();
    let said = text(&refused);
    assert!(!refused.status.success(), "{said}");
    assert!(
        said.contains("--unbounded") && said.contains("strong-wolfe"),
        "{said}"
    );
    assert!(!dir.join("fixed.png").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
