//! Issue 18, items 8, 18 and 20: every input is checked before it is trusted — a device is
//! never read without end, a FIFO never blocks, a pipe is refused by name — and what can be
//! refused from the command line and the files' headers (a truncated picture, a bad step
//! size, an empty history, a bad blend) is refused before the network loads.

mod cli_common;
mod io_common;

use cli_common::{cat_and_udnie, mkfifo, picasso, picasso_within, refused_before_work, s, text};
use io_common::TempDir;
use std::path::Path;

fn stylize_args<'a>(content: &'a str, style: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "stylize", content, style, "-o", out, "--size", "48", "--iters", "2",
    ]
}

/// Item 8: `/dev/zero` and a FIFO with no writer, as the content, `--weights`, `features
/// --image` or `visualize features --image`: refused at once, saying what they are.
#[test]
fn devices_and_fifos_are_refused_without_reading_them() {
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("special-inputs");
    let fifo = dir.join("fifo.png");
    mkfifo(&fifo);
    let out = dir.join("o.png");
    for special in [Path::new("/dev/zero"), fifo.as_path()] {
        let kind = if special == fifo {
            "pipe"
        } else {
            "character device"
        };
        let as_content = stylize_args(s(special), s(&style), s(&out));
        let mut as_weights = stylize_args(s(&content), s(&style), s(&out));
        as_weights.extend(["--weights", s(special)]);
        let features = vec![
            "features",
            "--image",
            s(special),
            "--layers",
            "relu1_1",
            "-o",
            "f.safetensors",
        ];
        let visualize = vec![
            "visualize",
            "features",
            "--image",
            s(special),
            "-o",
            "v.png",
        ];
        for args in [as_content, as_weights, features, visualize] {
            let r = picasso_within(&args, 30).unwrap_or_else(|| panic!("{args:?} did not finish"));
            let said = text(&r);
            assert_eq!(r.status.code(), Some(1), "{args:?}: {said}");
            assert!(
                said.contains(kind) && said.contains("not a regular file"),
                "{args:?}: {said}"
            );
        }
    }
    assert!(!out.exists());
}

/// Item 18: a pipe as the content (`/dev/stdin` fed by a pipe, like `<(cat photo.png)`) is
/// refused as a pipe, not called an empty file after its bytes were consumed.
#[test]
fn a_pipe_is_refused_by_name() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("pipe-input");
    let out = dir.join("o.png");
    let mut child = Command::new(env!("CARGO_BIN_EXE_picasso"))
        .args(stylize_args("/dev/stdin", s(&style), s(&out)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let bytes = std::fs::read(&content).unwrap();
    // The photo's bytes arrive as they would from `cat`; a refusal may close the pipe first.
    std::thread::spawn(move || {
        let _ = stdin.write_all(&bytes);
    });
    let r = child.wait_with_output().unwrap();
    let said = refused_before_work(&r);
    assert!(said.contains("is a pipe"), "{said}");
    assert!(!said.contains("empty"), "{said}");
}

/// Item 20: refused before the network loads (the start-up line never appears).
#[test]
fn bad_settings_and_truncated_pictures_are_refused_before_work() {
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("early-refusals");
    let png = std::fs::read(&content).unwrap();
    let truncated_png = dir.join("cut.png");
    std::fs::write(&truncated_png, &png[..png.len() * 2 / 3]).unwrap();
    let jpeg = std::fs::read(&style).unwrap();
    let truncated_jpeg = dir.join("cut.jpg");
    std::fs::write(&truncated_jpeg, &jpeg[..jpeg.len() * 2 / 3]).unwrap();
    let out = dir.join("o.png");
    let (c, st, o) = (s(&content), s(&style), s(&out));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (stylize_args(s(&truncated_png), st, o), "truncated"),
        (stylize_args(c, s(&truncated_jpeg), o), "truncated"),
        ([stylize_args(c, st, o), vec!["--lr", "0"]].concat(), "--lr"),
        ([stylize_args(c, st, o), vec!["--lr=-1"]].concat(), "--lr"),
        (
            [stylize_args(c, st, o), vec!["--lr", "NaN"]].concat(),
            "--lr",
        ),
        (
            [stylize_args(c, st, o), vec!["--history", "0"]].concat(),
            "--history",
        ),
        (
            [stylize_args(c, st, o), vec!["--style-blend=-1"]].concat(),
            "--style-blend",
        ),
        (
            [stylize_args(c, st, o), vec!["--style-blend", "0"]].concat(),
            "--style-blend",
        ),
        (
            [stylize_args(c, st, o), vec!["--style-blend", "inf"]].concat(),
            "--style-blend",
        ),
    ];
    for (args, expected) in cases {
        let said = refused_before_work(&picasso(&args));
        assert!(said.contains(expected), "{args:?}: {said}");
    }
    assert!(!out.exists());
}
