//! Issue 18, items 1, 2 and 11: the lock covers every file a run writes — its numbered frames,
//! GIF and report included — is held by the kernel (a renamed binary cannot take it over), and
//! a second signal leaves neither temporary files nor locks behind.

mod cli_common;
mod io_common;

use cli_common::{cat_and_udnie, picasso, s, text, Running};
use io_common::TempDir;
use std::path::Path;

const PICASSO: &str = env!("CARGO_BIN_EXE_picasso");

/// A long run (it is stopped by the test) writing `out` with frames every 50 evaluations.
fn long_run(program: &Path, content: &Path, style: &Path, out: &Path, extra: &[&str]) -> Running {
    let mut args = vec![
        "stylize",
        s(content),
        s(style),
        "-o",
        s(out),
        "--size",
        "48",
        "--iters",
        "100000",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    Running::start(program, &args)
}

fn stop(run: Running) -> String {
    run.signal("TERM");
    run.finish().1
}

/// Item 1: while run A writes `cc/out.png` with frames and a report, run B may not take one of
/// A's frame names as its `-o`, nor A's report; nor may a run with frames start while another
/// writes one of its frame names.
#[test]
fn frames_gif_and_report_are_locked_too() {
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("locks-frames");
    let out = dir.join("out.png");
    let report = dir.join("r.json");
    let a = long_run(
        Path::new(PICASSO),
        &content,
        &style,
        &out,
        &[
            "--save-every",
            "50",
            "--report",
            s(&report),
            "--gif",
            s(&dir.join("a.gif")),
        ],
    );
    let quick = |extra: &[&str]| {
        let mut args = vec![
            "stylize",
            s(&content),
            s(&style),
            "--size",
            "48",
            "--iters",
            "2",
        ];
        args.extend_from_slice(extra);
        picasso(&args)
    };
    let frame = dir.join("out_0050.png");
    let b = quick(&["-o", s(&frame)]);
    let b_report = quick(&["-o", s(&dir.join("b.png")), "--report", s(&report)]);
    let b_gif = quick(&["-o", s(&dir.join("c.png")), "--gif", s(&dir.join("a.gif"))]);
    let a_said = stop(a);
    for (what, r) in [
        ("a frame name", &b),
        ("the report", &b_report),
        ("the GIF", &b_gif),
    ] {
        assert_eq!(r.status.code(), Some(1), "{what}: {}", text(r));
        assert!(text(r).contains("another run"), "{what}: {}", text(r));
    }
    assert!(!frame.exists(), "B wrote one of A's frames");
    assert!(!dir.join("b.png").exists() && !dir.join("c.png").exists());
    assert!(a_said.contains("interrupted"), "{a_said}");

    // The other way round: B writes x_0050.png, then A asks for frames of x.png.
    let b = long_run(
        Path::new(PICASSO),
        &content,
        &style,
        &dir.join("x_0050.png"),
        &[],
    );
    let a = quick(&["-o", s(&dir.join("x.png")), "--save-every", "1"]);
    stop(b);
    assert_eq!(a.status.code(), Some(1), "{}", text(&a));
    assert!(text(&a).contains("x_0050.png"), "{}", text(&a));
}

/// Item 2: the lock does not depend on the program's name: two runs of a copy called
/// `stylizer` on one `-o` — the second is refused and the first keeps its lock.
#[test]
fn a_renamed_binary_keeps_its_lock() {
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("locks-renamed");
    let stylizer = dir.join("stylizer");
    std::fs::copy(PICASSO, &stylizer).unwrap();
    let out = dir.join("o.png");
    let first = long_run(&stylizer, &content, &style, &out, &[]);
    let second = std::process::Command::new(&stylizer)
        .args([
            "stylize",
            s(&content),
            s(&style),
            "-o",
            s(&out),
            "--size",
            "48",
            "--iters",
            "2",
        ])
        .output()
        .unwrap();
    let lock_kept = dir.join(".o.png.lock").exists();
    stop(first);
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    assert!(text(&second).contains("another run"), "{}", text(&second));
    assert!(lock_kept, "the second run removed the first one's lock");
}

/// Item 11: two SIGTERMs stop a run at once — without leaving a hidden temporary file or a
/// lock, and saying truly whether a checkpoint exists.
#[test]
fn a_second_signal_leaves_no_temp_files_or_locks() {
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("locks-signal");
    let out = dir.join("o.png");
    let run = long_run(
        Path::new(PICASSO),
        &content,
        &style,
        &out,
        &[
            "--gif",
            s(&dir.join("g.gif")),
            "--report",
            s(&dir.join("r.json")),
        ],
    );
    run.signal("TERM");
    std::thread::sleep(std::time::Duration::from_millis(50));
    run.signal("TERM");
    let (code, said) = run.finish();
    assert_eq!(code, Some(130), "{said}");
    let hidden: Vec<String> = dir
        .names()
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "left behind: {hidden:?}\n{said}");
    if out.exists() {
        assert!(said.contains("last checkpoint is in"), "{said}");
    } else {
        assert!(said.contains("nothing was saved"), "{said}");
    }
}
