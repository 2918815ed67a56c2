//! Helpers shared by the `cli_*` integration tests: running the real `picasso` binary and
//! reading what it said.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Run `picasso` with `args` and wait for it.
pub fn picasso(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_picasso"))
        .args(args)
        .output()
        .expect("the picasso binary runs")
}

/// Everything it printed, stdout then stderr.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// The photo and painting most tests use, or `None` (after saying why) without shared data.
pub fn cat_and_udnie() -> Option<(PathBuf, PathBuf)> {
    Some((
        engine::shared_data::shared_file("images/content/chelsea.png")?,
        engine::shared_data::shared_file("images/style/udnie.jpg")?,
    ))
}

/// Refused with exit status 1, before any work: the start-up line (printed once every check
/// has passed) never appeared. Returns the message.
pub fn refused_before_work(out: &Output) -> String {
    let said = text(out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("error: "), "{said}");
    assert!(
        !said.contains("evaluations per size"),
        "work started: {said}"
    );
    said
}
