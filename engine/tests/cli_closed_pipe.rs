//! Issue 18, item 6: a closed stdout (`picasso … | true`) ends the run quietly once its files
//! are written — the picture, the GIF and the report, no panic.

mod cli_common;
mod io_common;

use cli_common::{cat_and_udnie, s};
use io_common::TempDir;
use std::process::{Command, Stdio};

#[test]
fn a_closed_stdout_loses_no_file() {
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("closed-pipe");
    let (out, gif, report) = (dir.join("o.png"), dir.join("g.gif"), dir.join("r.json"));
    // The reading end is closed before picasso starts: its first line meets a closed pipe.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let r = Command::new(env!("CARGO_BIN_EXE_picasso"))
        .args([
            "stylize",
            s(&content),
            s(&style),
            "-o",
            s(&out),
            "--gif",
            s(&gif),
        ])
        .args([
            "--report",
            s(&report),
            "--size",
            "48",
            "--iters",
            "12",
            "--quiet",
        ])
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(0), "{said}");
    assert!(!said.contains("panicked"), "{said}");
    for file in [&out, &gif, &report] {
        assert!(file.is_file(), "{} was lost: {said}", file.display());
    }
}
