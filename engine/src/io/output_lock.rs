//! One run at a time per output.
//!
//! Two runs writing `-o out.png` would take turns replacing it and interleave their numbered
//! frames (`out_0010.png` from one run, `out_0020.png` from the other) without either noticing.
//! [`OutputLock`] is a small file beside the output, `.out.png.lock`, holding the process id of
//! the run that writes it: created before the run starts, removed when it ends. A lock left by a
//! run that no longer exists (it was killed) is taken over; on Linux that is checked through
//! `/proc`, elsewhere the message says which file to remove.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::atomic::parent_dir;
use crate::error::{Error, Result};

/// Held while a run writes an output; dropping it removes the lock file.
#[derive(Debug)]
pub struct OutputLock {
    path: PathBuf,
}

impl OutputLock {
    /// Take the lock for `output`, or explain which run holds it.
    pub fn acquire(output: &Path) -> Result<Self> {
        let name = output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let path = parent_dir(output).join(format!(".{name}.lock"));
        // Twice at most: once more after removing a stale lock.
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    // Best effort: an empty lock still locks, it just cannot be checked for
                    // staleness.
                    let _ = writeln!(file, "{}", std::process::id());
                    return Ok(OutputLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|s| s.trim().parse::<u32>().ok());
                    match holder {
                        Some(pid) if is_stale(pid) => {
                            let _ = std::fs::remove_file(&path);
                        }
                        holder => return Err(held_by(output, &path, holder)),
                    }
                }
                Err(e) => {
                    return Err(Error::invalid(
                        "write output",
                        format!(
                            "cannot create the lock file {} beside {} ({e})",
                            path.display(),
                            output.display()
                        ),
                    ))
                }
            }
        }
        Err(held_by(output, &path, None))
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn held_by(output: &Path, lock: &Path, pid: Option<u32>) -> Error {
    let who = match pid {
        Some(pid) => format!("another run (process {pid})"),
        None => "another run".to_string(),
    };
    Error::invalid(
        "write output",
        format!(
            "{who} is writing {} and its numbered images; wait for it to finish or choose \
             another output. If no such run exists, delete {}",
            output.display(),
            lock.display()
        ),
    )
}

/// Whether the process that wrote a lock is gone. A process id now used by something other
/// than `picasso` counts as gone, and so does this process's own id: a lock this process is
/// only now asking for was left by an earlier process that had the same id.
fn is_stale(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    if cfg!(target_os = "linux") {
        match std::fs::read_to_string(format!("/proc/{pid}/comm")) {
            Ok(name) => !name.trim().starts_with("picasso"),
            Err(_) => true,
        }
    } else {
        false
    }
}
