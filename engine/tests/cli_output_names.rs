//! Issue 18, items 5, 15 and the output half of 19: every name a run will write — the last
//! numbered frame, the temporary file beside each — is checked before the run; a frame name
//! that already links to an input is found then too; a special file is never an output; and
//! each refusal names its real cause.

mod cli_common;
mod io_common;

use cli_common::{cat_and_udnie, mkfifo, picasso, refused_before_work, s, text};
use io_common::TempDir;
use std::path::Path;

fn stylize(content: &Path, style: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["stylize", s(content), s(style), "--size", "48", "--quiet"];
    args.extend_from_slice(extra);
    picasso(&args)
}

/// Item 5: a 243-byte `-o` (its own name fits in 255, its temporary file does not) is refused
/// up front, saying how long a name may be; so is a name whose frames would not fit. A name
/// that does fit runs past evaluation 10 and its final save.
#[test]
fn names_too_long_for_their_temporary_files_are_refused_up_front() {
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("long-names");
    let long = dir.join(&format!("{}.png", "a".repeat(239)));
    let r = stylize(
        &content,
        &style,
        &["-o", s(&long), "--iters", "2", "--save-every", "1"],
    );
    let said = refused_before_work(&r);
    assert!(
        said.contains("243 bytes") && said.contains("at most"),
        "{said}"
    );

    // 233 bytes: the output fits exactly, its frames (`_0001`, 5 more) do not.
    let framed = dir.join(&format!("{}.png", "b".repeat(229)));
    let r = stylize(
        &content,
        &style,
        &["-o", s(&framed), "--iters", "2", "--save-every", "1"],
    );
    let said = refused_before_work(&r);
    assert!(said.contains("numbered images"), "{said}");

    // Without frames it runs to its final save (io_output_names.rs checks that a name which
    // passes the check survives many saves).
    let r = stylize(&content, &style, &["-o", s(&framed), "--iters", "2"]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    assert!(framed.exists());
    assert_eq!(dir.names().len(), 1, "{:?}", dir.names());
}

/// Item 15: a frame name that already exists as a symbolic or hard link to the content is
/// found before the run, not when that frame is due.
#[test]
fn existing_frame_links_to_an_input_are_found_before_the_run() {
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("frame-links");
    let photo = dir.join("photo.png");
    std::fs::copy(&content, &photo).unwrap();
    let symlinked = dir.join("out_0002.png");
    std::os::unix::fs::symlink(&photo, &symlinked).unwrap();
    let r = stylize(
        &photo,
        &style,
        &[
            "-o",
            s(&dir.join("out.png")),
            "--iters",
            "2",
            "--save-every",
            "1",
        ],
    );
    let said = refused_before_work(&r);
    assert!(
        said.contains("out_0002.png") && said.contains("photo.png"),
        "{said}"
    );
    assert!(!dir.join("out.png").exists() && !dir.join("out_0001.png").exists());

    std::fs::remove_file(&symlinked).unwrap();
    std::fs::hard_link(&photo, dir.join("cat_0001.png")).unwrap();
    let r = stylize(
        &photo,
        &style,
        &[
            "-o",
            s(&dir.join("cat.png")),
            "--iters",
            "2",
            "--save-every",
            "1",
        ],
    );
    let said = refused_before_work(&r);
    assert!(said.contains("cat_0001.png"), "{said}");
}

/// A FIFO (standing for any device or socket) as `-o`, `--gif` or `--report` is refused and
/// stays a FIFO.
#[test]
fn special_files_are_never_outputs() {
    use std::os::unix::fs::FileTypeExt;
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("special-outputs");
    for (flag, name) in [
        ("-o", "fifo.png"),
        ("--gif", "fifo.gif"),
        ("--report", "fifo.json"),
    ] {
        let fifo = dir.join(name);
        mkfifo(&fifo);
        let mut extra = vec![flag, s(&fifo), "--iters", "2"];
        if flag != "-o" {
            extra.extend(["-o", "unused.png"]);
        }
        let said = refused_before_work(&stylize(&content, &style, &extra));
        assert!(said.contains("not a regular file"), "{flag}: {said}");
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo());
    }
}

/// Item 19 (outputs): a parent that is a file, or a symbolic link loop, is called that — not
/// "the folder does not exist".
#[test]
fn folder_problems_are_named_for_what_they_are() {
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("folder-problems");
    std::fs::write(dir.join("file"), "").unwrap();
    std::os::unix::fs::symlink("loop", dir.join("loop")).unwrap();
    for (out, expected) in [
        ("file/x.png", "is a file, not a folder"),
        ("loop/x.png", "symbolic link loop"),
    ] {
        let said = refused_before_work(&stylize(
            &content,
            &style,
            &["-o", s(&dir.join(out)), "--iters", "2"],
        ));
        assert!(said.contains(expected), "{out}: {said}");
        assert!(!said.contains("does not exist"), "{out}: {said}");
    }
}
