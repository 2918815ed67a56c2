//! Checking a run's outputs before it starts, and the lock that keeps two runs apart.

mod io_common;

use engine::io::frames::could_be_frame_of;
use engine::io::output_lock::OutputLock;
use engine::io::{check_outputs, OutputKind, PlannedOutput};
use io_common::TempDir;
use std::path::Path;

fn refusal(outputs: &[PlannedOutput], inputs: &[&Path]) -> String {
    check_outputs(outputs, inputs)
        .expect_err("the outputs should be refused")
        .to_string()
}

#[test]
fn each_output_needs_its_own_file_a_known_extension_and_a_folder() {
    let dir = TempDir::new("outputs");
    let image = PlannedOutput::new("-o", &dir.join("out.png"), OutputKind::Image);
    let report = PlannedOutput::new("--report", &dir.join("run.json"), OutputKind::Json);
    assert!(check_outputs(&[image.clone(), report.clone()], &[] as &[&Path]).is_ok());
    // Checking leaves nothing behind (the probe is removed).
    assert!(dir.names().is_empty(), "{:?}", dir.names());

    let msg = refusal(
        &[
            image.clone(),
            PlannedOutput::new("--report", &dir.join("run.txt"), OutputKind::Json),
        ],
        &[],
    );
    assert!(
        msg.starts_with("--report") && msg.contains(".json"),
        "{msg}"
    );
    let msg = refusal(
        &[PlannedOutput::new(
            "--gif",
            &dir.join("a.png"),
            OutputKind::Gif,
        )],
        &[],
    );
    assert!(msg.contains("run.gif") || msg.contains(".gif"), "{msg}");
    let msg = refusal(
        &[PlannedOutput::new(
            "-o",
            &dir.join("no/out.png"),
            OutputKind::Image,
        )],
        &[],
    );
    assert!(msg.contains("does not exist"), "{msg}");
    let msg = refusal(
        &[PlannedOutput::new("-o", dir.path(), OutputKind::Image)],
        &[],
    );
    assert!(msg.contains("is a folder"), "{msg}");

    // Two outputs that are one file: a symlink with the other's extension.
    std::fs::write(dir.join("out.png"), b"x").unwrap();
    std::os::unix::fs::symlink(dir.join("out.png"), dir.join("alias.json")).unwrap();
    let alias = PlannedOutput::new("--report", &dir.join("alias.json"), OutputKind::Json);
    let msg = refusal(&[image.clone(), alias], &[]);
    assert!(msg.contains("-o and --report both name"), "{msg}");

    // An input among an output's numbered frames.
    let input = dir.join("out_0020.png");
    std::fs::write(&input, b"precious").unwrap();
    let framed = image.clone().with_frames(true);
    let msg = refusal(std::slice::from_ref(&framed), &[input.as_path()]);
    assert!(
        msg.contains("out_0020.png") && msg.contains("an input"),
        "{msg}"
    );
    assert!(
        check_outputs(&[image], &[input.as_path()]).is_ok(),
        "no frames, no clash"
    );
}

#[test]
fn frame_names_are_recognised_by_folder_stem_digits_and_extension() {
    let dir = TempDir::new("frame-names");
    let out = dir.join("cat.png");
    assert!(could_be_frame_of(&out, &dir.join("cat_0010.png")));
    assert!(could_be_frame_of(&out, &dir.join("cat_123456.png")));
    assert!(!could_be_frame_of(&out, &dir.join("cat_010.png")));
    assert!(!could_be_frame_of(&out, &dir.join("cat_0010.jpg")));
    assert!(!could_be_frame_of(&out, &dir.join("dog_0010.png")));
    std::fs::create_dir(dir.join("sub")).unwrap();
    assert!(!could_be_frame_of(&out, &dir.join("sub/cat_0010.png")));
    assert!(could_be_frame_of(&out, &dir.join("sub/../cat_0010.png")));
}

#[test]
fn one_lock_per_output_and_stale_ones_are_taken_over() {
    let dir = TempDir::new("lock");
    let out = dir.join("out.png");
    let lock = OutputLock::acquire(&out).unwrap();
    assert!(lock.path().is_file());
    // Held (a kernel lock on the open file): refused, naming the holder and the output.
    let msg = OutputLock::acquire(&out).unwrap_err().to_string();
    assert!(
        msg.contains("another run") && msg.contains(&std::process::id().to_string()),
        "{msg}"
    );
    assert!(msg.contains("out.png"), "{msg}");
    let path = lock.path().to_path_buf();
    drop(lock);
    assert!(!path.exists(), "dropping the lock removes it");
    // A lock file left by a process that is gone holds no kernel lock, whatever it says:
    // taken over.
    for left in ["4000000000\n", "not a number\n", ""] {
        std::fs::write(&path, left).unwrap();
        let lock = OutputLock::acquire(&out).unwrap();
        drop(lock);
    }
}
