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

use integration_tests::{repository_dir, TempDir};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Set to `required` to make a missing browser a failure instead of a skip.
const REQUIRE: &str = "PICASSO_BROWSER_TEST";

struct Tools {
    node: PathBuf,
    chromium: PathBuf,
    picasso: PathBuf,
}

/// The first of `names` found on PATH.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
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
    let node = std::env::var_os("PICASSO_NODE")
        .map(PathBuf::from)
        .or_else(|| on_path(&["node", "nodejs"]));
    let chromium = std::env::var_os("PICASSO_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            on_path(&[
                "chromium",
                "chromium-browser",
                "google-chrome",
                "google-chrome-stable",
            ])
        });
    let playwright = repository_dir().join("tests/browser/node_modules/playwright-core");
    let picasso = picasso_binary();
    let mut missing = Vec::new();
    if node.is_none() {
        missing.push("Node.js (`node` on PATH, or PICASSO_NODE)".to_string());
    }
    if !chromium.as_deref().is_some_and(Path::is_file) {
        missing.push(
            "Chromium (Debian: `apt-get install chromium`; or set PICASSO_CHROMIUM)".to_string(),
        );
    }
    if !playwright.join("package.json").is_file() {
        missing.push("playwright-core (`npm ci --prefix tests/browser`)".to_string());
    }
    if picasso.is_none() {
        missing.push(
            "the picasso binary (`cargo build --release --bin picasso`, or PICASSO_BIN)"
                .to_string(),
        );
    }
    if missing.is_empty() {
        return Some(Tools {
            node: node?,
            chromium: chromium?,
            picasso: picasso?,
        });
    }
    let message = format!(
        "the browser test of `picasso serve` needs {}",
        missing.join(", and ")
    );
    if std::env::var(REQUIRE).is_ok_and(|v| v == "required") {
        panic!("{message} ({REQUIRE}=required)");
    }
    eprintln!("skipping: {message}");
    None
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

#[test]
fn the_serve_page_paints_in_a_real_browser() {
    let Some(tools) = tools() else { return };
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
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    println!("{report}");
    assert!(
        matches!(run.status.code(), Some(0 | 1)),
        "the browser check could not run ({}):\n{report}",
        run.status
    );
    assert!(
        run.status.success(),
        "what a person would see go wrong on the page:\n{report}"
    );
    for shot in ["serve-desktop.jpg", "serve-phone.jpg"] {
        assert!(screenshots.join(shot).is_file(), "no {shot}:\n{report}");
    }
    // The downloads were saved where the script was told.
    assert!(temporary
        .0
        .join("downloads")
        .read_dir()
        .is_ok_and(|mut d| d.next().is_some()));
    drop(served);
}
