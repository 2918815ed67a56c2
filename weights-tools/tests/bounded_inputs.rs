//! Issue 18, items 8, 10 and 18: every input is bounded before it is trusted — a device is
//! never read without end, a FIFO never blocks, a pipe is refused by name, and a safetensors
//! header is checked in time linear in its number of tensors.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{mkfifo, output_within, temp_dir};

fn inspect(path: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_weights-tools"));
    cmd.arg("inspect").arg(path);
    cmd
}

/// Item 8: `/dev/zero` (endless) and a FIFO without a writer (blocks the open) are refused at
/// once, saying what they are.
#[test]
fn devices_and_fifos_are_refused_without_reading_them() {
    let tmp = temp_dir("special_inputs");
    let fifo = tmp.join("weights.safetensors");
    mkfifo(&fifo);
    for (path, kind) in [
        (Path::new("/dev/zero"), "character device"),
        (&fifo, "pipe"),
    ] {
        let r = output_within(inspect(path), 20)
            .unwrap_or_else(|| panic!("inspect {} did not finish", path.display()));
        let said = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(1), "{said}");
        assert!(
            said.contains(kind) && said.contains("not a regular file"),
            "{said}"
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Item 18: a pipe (`/dev/stdin` fed by a pipe, like `<(cat file)`) is refused with a message
/// that says it is a pipe, not that the file is empty or corrupt.
#[test]
fn a_pipe_is_refused_by_name() {
    let mut cmd = inspect(Path::new("/dev/stdin"));
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Some bytes, then the end: an unbounded reader would take them and report a format.
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(b"\x08\x00\x00\x00\x00\x00\x00\x00{}");
    drop(stdin);
    let r = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{said}");
    assert!(said.contains("is a pipe"), "{said}");
}

/// Item 10: 100 000 tensors (empty ones, so the file is all header) are read in well under a
/// second; the reader that compared every name with every other took about 16 s here.
#[test]
fn a_header_with_many_tensors_is_read_in_linear_time() {
    let count = 100_000;
    let mut header = String::from("{");
    for i in 0..count {
        if i > 0 {
            header.push(',');
        }
        header.push_str(&format!(
            "\"t{i}\":{{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}"
        ));
    }
    header.push('}');
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    let start = Instant::now();
    let (_, set) = weights_tools::read_bytes(&bytes).expect("a valid file");
    let took = start.elapsed();
    assert_eq!(set.tensors.len(), count);
    assert!(
        took < Duration::from_secs(4),
        "{count} tensors took {took:?}: the header check is not linear"
    );
}
