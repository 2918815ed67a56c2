//! The page of `picasso serve` in a real browser: `tests/browser/serve-page.mjs` drives
//! headless Chromium, offline, against a real server on a free port of 127.0.0.1 — the bundled
//! photo and painting picked, a small job started, the picture changing and the loss curve
//! growing, a second job queued with its position, Stop keeping the picture, the PNG and the
//! report downloaded, a refusal shown on the page, and the layout at a phone's width.
//!
//! Needs Node.js, Chromium, `npm ci --prefix tests/browser` (playwright-core) and the `picasso`
//! binary of this build (`cargo test --workspace` builds it; `PICASSO_BIN` names another).
//! Without them the test skips with a message, unless `PICASSO_BROWSER_TEST=required` (set by
//! `.ci/run`), which turns the skip into a failure. `PICASSO_CHROMIUM` names the browser;
//! `PICASSO_SERVE_SCREENSHOTS=DIR` keeps the screenshots and `PICASSO_SERVE_SIZE=PIXELS` sets
//! the jobs' size (default 64); the book's screenshots are made this way, at 160 px.

use integration_tests::browser;
use integration_tests::{repository_dir, TempDir};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

struct Tools {
    node: PathBuf,
    chromium: PathBuf,
    picasso: PathBuf,
}

/// The `picasso` binary built with this test: `target/PROFILE/picasso`, beside the `deps`
/// folder holding this test's executable.
fn picasso_binary() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("PICASSO_BIN") {
        return Some(PathBuf::from(bin));
    }
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let bin = profile_dir.join(format!("picasso{}", std::env::consts::EXE_SUFFIX));
    bin.is_file().then_some(bin)
}

/// Node, Chromium, playwright-core and picasso, or `None` after saying what is missing (a
/// panic when the browser test is required).
fn tools() -> Option<Tools> {
    let found = browser::find();
    let picasso = picasso_binary();
    let mut missing = found.as_ref().err().cloned().unwrap_or_default();
    if picasso.is_none() {
        missing.push(
            "the picasso binary (`cargo build --release --bin picasso`, or PICASSO_BIN)"
                .to_string(),
        );
    }
    match (found, picasso) {
        (Ok(found), Some(picasso)) => Some(Tools {
            node: found.node,
            chromium: found.chromium,
            picasso,
        }),
        _ => {
            browser::skip("the browser test of `picasso serve`", &missing);
            None
        }
    }
}

/// A `picasso serve` child process, killed when dropped.
struct Served {
    child: Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(picasso: &Path, out: &Path) -> Served {
    let mut child = Command::new(picasso)
        .args([
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--device",
            "cpu",
            "--out",
        ])
        .arg(out)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", picasso.display()));
    let mut first = String::new();
    let mut lines = BufReader::new(child.stdout.take().expect("stdout"));
    lines
        .read_line(&mut first)
        .expect("the server prints its URL");
    // Keep reading, so that the server's later lines have somewhere to go.
    std::thread::spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
    // "picasso serve: http://127.0.0.1:PORT/ — results in …"
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_string();
    Served { child, url }
}

/// What one run of the page check saw: whether it passed, and its report.
struct Attempt {
    passed: bool,
    report: String,
    _temporary: TempDir,
}

/// One run of the page check against a fresh server with fresh folders.
fn check_the_page(tools: &Tools) -> Attempt {
    let temporary = TempDir::new("serve-browser");
    let served = serve(&tools.picasso, &temporary.0.join("results"));
    let screenshots = std::env::var_os("PICASSO_SERVE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| temporary.0.join("screenshots"));
    let size = std::env::var("PICASSO_SERVE_SIZE").unwrap_or_else(|_| "64".into());
    let run = Command::new(&tools.node)
        .arg(repository_dir().join("tests/browser/serve-page.mjs"))
        .arg("--size")
        .arg(&size)
        .arg("--url")
        .arg(&served.url)
        .arg("--chromium")
        .arg(&tools.chromium)
        .arg("--screenshots")
        .arg(&screenshots)
        .arg("--downloads")
        .arg(temporary.0.join("downloads"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", tools.node.display()));
    let mut report = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        matches!(run.status.code(), Some(0 | 1)),
        "the browser check could not run ({}):\n{report}",
        run.status
    );
    let mut passed = run.status.success();
    for shot in ["serve-desktop.jpg", "serve-phone.jpg"] {
        if !screenshots.join(shot).is_file() {
            passed = false;
            report.push_str(&format!("\nno {shot} was saved"));
        }
    }
    // The downloads were saved where the script was told.
    let downloaded = temporary
        .0
        .join("downloads")
        .read_dir()
        .is_ok_and(|mut d| d.next().is_some());
    if !downloaded {
        passed = false;
        report.push_str("\nnothing was downloaded");
    }
    drop(served);
    Attempt {
        passed,
        report,
        _temporary: temporary,
    }
}

/// A real browser on a loaded 2-core machine can miss a moment (one failure in several dozen
/// runs was seen, and could not be made to happen again): a failed check runs once more, with
/// the first report printed, and the test fails only when both runs saw the page go wrong — as
/// a real mistake on the page does.
#[test]
fn the_serve_page_paints_in_a_real_browser() {
    let Some(tools) = tools() else { return };
    let first = check_the_page(&tools);
    println!("{}", first.report);
    if first.passed {
        return;
    }
    eprintln!(
        "the first run of the page check failed; running it once more:\n{}",
        first.report
    );
    let second = check_the_page(&tools);
    println!("{}", second.report);
    assert!(
        second.passed,
        "what a person would see go wrong on the page (twice):\nfirst run:\n{}\nsecond run:\n{}",
        first.report, second.report
    );
}
