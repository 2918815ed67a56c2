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

/// Stylize the cat in udnie's style with `extra` settings, quietly, into `dir/out.png` with its
/// report in `dir/report.json`; asserts that it succeeded and returns the report (`None`, after
/// saying why, without shared data).
pub fn stylize_cat(dir: &Path, extra: &[&str]) -> Option<serde_json::Value> {
    let (content, style) = cat_and_udnie()?;
    let (out, report) = (dir.join("out.png"), dir.join("report.json"));
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
    Some(serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap())
}

/// In the first line a run prints once its work starts: the schedule, e.g.
/// `256 px × 75 → 512 px × 300 evaluations, weights: …`.
pub const STARTED: &str = " evaluations, weights: ";

/// Refused with exit status 1, before any work: the start-up line (printed once every check
/// has passed) never appeared. Returns the message.
pub fn refused_before_work(out: &Output) -> String {
    let said = text(out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("error: "), "{said}");
    assert!(!said.contains(STARTED), "work started: {said}");
    said
}

/// `picasso` with `args`, or `None` if it has not finished after `secs` seconds (it is then
/// killed): a test of something that used to block must fail, not hang.
pub fn picasso_within(args: &[&str], secs: u64) -> Option<Output> {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_picasso"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the picasso binary runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if child.try_wait().expect("wait").is_some() {
            return Some(child.wait_with_output().expect("output"));
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A run of `program` (the picasso binary, or a copy of it) started in the background; it is
/// returned once it has printed its start-up line, so it holds its locks and handles signals.
/// What it prints on stderr is collected by a thread.
pub struct Running {
    pub child: std::process::Child,
    stderr: std::sync::mpsc::Receiver<String>,
}

impl Running {
    pub fn start(program: &Path, args: &[&str]) -> Running {
        use std::io::BufRead;
        use std::process::Stdio;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start picasso");
        let stderr = child.stderr.take().expect("stderr");
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (text_tx, text_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut all = String::new();
            let mut started = Some(started_tx);
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(|l| l.ok())
            {
                if line.contains(STARTED) {
                    if let Some(tx) = started.take() {
                        let _ = tx.send(());
                    }
                }
                all.push_str(&line);
                all.push('\n');
            }
            let _ = text_tx.send(all);
        });
        let started = started_rx.recv_timeout(std::time::Duration::from_secs(60));
        let mut running = Running {
            child,
            stderr: text_rx,
        };
        if started.is_err() {
            let _ = running.child.kill();
            panic!("the run did not start: {}", running.finish().1);
        }
        running
    }

    /// Send `signal` (e.g. "TERM") with the `kill` command.
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{signal}");
    }

    /// Wait for the end: its exit code and everything it printed on stderr.
    pub fn finish(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().expect("wait");
        let text = self
            .stderr
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap_or_default();
        (status.code(), text)
    }
}

/// Make a FIFO at `path` with the `mkfifo` command.
pub fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo")
        .success();
    assert!(ok, "mkfifo {}", path.display());
}
