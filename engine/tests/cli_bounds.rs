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

/// Run stylize and return the total loss its report gives.
fn total(args: &[&str], report: &Path) -> f64 {
    let (content, style) = (
        repo("assets/images/tubingen.jpg"),
        repo("assets/images/udnie.jpg"),
    );
    let mut all = vec![
        "stylize",
        s(&content),
        s(&style),
        "--device",
        "cpu",
        "--quiet",
    ];
    all.extend(["--size", "64", "--tv-weight", "0", "--report", s(report)]);
    all.extend(args);
    let run = Command::new(env!("CARGO_BIN_EXE_picasso"))
        .args(&all)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", text(&run));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    json["total"].as_f64().unwrap()
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
