//! Issue 18, items 3, 4 and 6: `weights-tools` writes as safely as `picasso` — never through a
//! planted link, never over a device, a FIFO or a file of another format — and a closed stdout
//! ends it quietly.

mod common;

use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{mkfifo, shared, temp_dir};

fn weights_tools() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weights-tools"))
}

fn ps(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Item 3: symbolic links planted under every temporary name the process could use first
/// (the old `.NAME.tmp-PID` and the current `.NAME.PPPPPPPP00000000.tmp`, PID known through
/// `exec`) are never followed: the victim keeps its bytes, and the output is a regular file.
#[test]
fn a_planted_temp_link_is_never_followed() {
    let Some(dir) = shared("a_planted_temp_link_is_never_followed") else {
        return;
    };
    let tmp = temp_dir("planted_link");
    std::fs::write(tmp.join("victim.txt"), "victim\n").unwrap();
    let script = format!(
        "ln -s victim.txt .out.safetensors.tmp-$$; \
         for n in 0 1 2 3; do ln -s victim.txt .out.safetensors.$(printf %08x $$)0000000$n.tmp; done; \
         exec '{}' convert '{}' out.safetensors",
        env!("CARGO_BIN_EXE_weights-tools"),
        ps(&dir.join("fixtures/tiny_vgg16.safetensors"))
    );
    let r = Command::new("sh")
        .args(["-c", &script])
        .current_dir(&tmp)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&r.stderr);
    assert!(
        std::fs::read(tmp.join("victim.txt")).unwrap() == b"victim\n",
        "the victim was written through the link: {said}"
    );
    let out = std::fs::symlink_metadata(tmp.join("out.safetensors")).unwrap();
    assert!(
        out.file_type().is_file(),
        "out.safetensors is not a regular file"
    );
    assert!(r.status.success(), "{said}");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Item 4: an output that is not a safetensors name, or not a regular file, is refused and
/// left as it was.
#[test]
fn outputs_of_another_format_or_kind_are_refused() {
    let Some(dir) = shared("outputs_of_another_format_or_kind_are_refused") else {
        return;
    };
    let input = dir.join("fixtures/tiny_vgg16.safetensors");
    let tmp = temp_dir("output_kinds");
    let photo = tmp.join("photo.png");
    std::fs::write(&photo, "a photo").unwrap();
    let r = weights_tools()
        .args(["convert", ps(&input), ps(&photo)])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{said}");
    assert!(said.contains(".safetensors"), "{said}");
    assert_eq!(std::fs::read_to_string(&photo).unwrap(), "a photo");

    // A FIFO stands for any special file (a device would need root to make).
    let fifo = tmp.join("fifo.safetensors");
    mkfifo(&fifo);
    for command in ["convert", "trim"] {
        let mut args = vec![command, ps(&input), ps(&fifo)];
        if command == "trim" {
            args.push("--f16");
        }
        let r = weights_tools().args(&args).output().unwrap();
        let said = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(1), "{command}: {said}");
        assert!(said.contains("not a regular file"), "{command}: {said}");
        let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(kind.is_fifo(), "{command} replaced the FIFO");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Item 6: `weights-tools inspect … | head -1` ends quietly: a closed stdout is not a panic.
#[test]
fn a_closed_stdout_ends_inspect_quietly() {
    let Some(dir) = shared("a_closed_stdout_ends_inspect_quietly") else {
        return;
    };
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let r = weights_tools()
        .args(["inspect", ps(&dir.join("fixtures/tiny_vgg16.safetensors"))])
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(0), "{said}");
    assert!(!said.contains("panicked"), "{said}");
}
