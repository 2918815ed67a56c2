//! One run at a time per output — every output a run writes, numbered frames included.
//!
//! Two runs writing one file would take turns replacing it without either noticing; so would a
//! run whose numbered frames (`out_0050.png`) are another run's `-o`. [`OutputLock`] holds,
//! for each path a run writes (`-o`, `--gif`, `--report`), the lock `.NAME.lock` beside it: an
//! advisory `flock` the kernel releases when the process ends, however it ends, so a lock is
//! never stale and no process id or program name has to be trusted
//! (`weights_tools::io::lock`). Frames are covered through the output they belong to:
//!
//! - a run writing `out_0050.png` looks whether a live run holds `out.png` with frames;
//! - a run writing frames of `out.png` looks for live runs holding any `out_NNNN.png`.

use std::path::{Path, PathBuf};

use weights_tools::io::lock::{holder_of, Holder, PathLock};

use super::atomic::{parent_dir, write_refused};
use super::frames::{frame_family, FRAME_DIGITS};
use super::outputs::PlannedOutput;
use crate::error::{Error, Result};

/// The note a run with frames leaves in its lock, so others know its frames are taken.
const WITH_FRAMES: &str = "frames";

/// Held while a run writes its outputs; dropping it releases and removes the lock files.
#[derive(Debug)]
pub struct OutputLock {
    locks: Vec<PathLock>,
}

impl OutputLock {
    /// Take the lock of one output (no frames), or explain which run holds it.
    pub fn acquire(output: &Path) -> Result<Self> {
        Self::acquire_paths(&[(output, false, "-o")])
    }

    /// Take the locks of every output of a run, or explain which run holds one of them.
    pub fn acquire_all(outputs: &[PlannedOutput]) -> Result<Self> {
        let paths: Vec<(&Path, bool, &'static str)> = outputs
            .iter()
            .map(|o| (o.path.as_path(), o.frames, o.flag))
            .collect();
        Self::acquire_paths(&paths)
    }

    fn acquire_paths(outputs: &[(&Path, bool, &'static str)]) -> Result<Self> {
        let mut locks = Vec::new();
        for &(path, frames, flag) in outputs {
            let note = if frames { WITH_FRAMES } else { "" };
            match PathLock::try_acquire(path, note).map_err(write_refused)? {
                Ok(lock) => locks.push(lock),
                Err(holder) => return Err(held_by(flag, path, &holder, None)),
            }
            if let Some((framed, holder)) = framed_by_another_run(path) {
                return Err(held_by(flag, path, &holder, Some(&framed)));
            }
            if frames {
                if let Some((frame, holder)) = frame_written_by_another_run(path) {
                    return Err(Error::invalid(
                        flag,
                        format!(
                            "{} is writing {}, which would be one of the numbered images of \
                             {}; wait for it to finish or choose another output",
                            holder.describe(),
                            frame.display(),
                            path.display()
                        ),
                    ));
                }
            }
        }
        Ok(OutputLock { locks })
    }

    /// The lock files held.
    pub fn paths(&self) -> Vec<&Path> {
        self.locks.iter().map(|l| l.path()).collect()
    }

    /// The first lock file's path.
    pub fn path(&self) -> &Path {
        self.locks.first().map_or(Path::new(""), |l| l.path())
    }
}

/// If `path` is a frame name (`out_0050.png`) and a live run holds `out.png` with frames:
/// that output and its holder.
fn framed_by_another_run(path: &Path) -> Option<(PathBuf, Holder)> {
    let owner = frame_owner(path)?;
    let holder = holder_of(&owner)?;
    (holder.note == WITH_FRAMES).then_some((owner, holder))
}

/// `out_0050.png` → `out.png`: the output whose frame this name would be.
fn frame_owner(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let (stem, ext) = name.rsplit_once('.')?;
    let (owner_stem, digits) = stem.rsplit_once('_')?;
    let is_number = digits.len() >= FRAME_DIGITS && digits.bytes().all(|b| b.is_ascii_digit());
    is_number.then(|| path.with_file_name(format!("{owner_stem}.{ext}")))
}

/// A live run that holds the lock of one of `output`'s frame names, if any.
fn frame_written_by_another_run(output: &Path) -> Option<(PathBuf, Holder)> {
    let (stem, ext) = frame_family(output);
    let (prefix, suffix) = (format!(".{stem}_"), format!(".{ext}.lock"));
    let dir = parent_dir(output);
    for entry in std::fs::read_dir(&dir).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(digits) = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(&suffix))
        else {
            continue;
        };
        if digits.len() < FRAME_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let frame = dir.join(format!("{stem}_{digits}.{ext}"));
        if let Some(holder) = holder_of(&frame) {
            return Some((frame, holder));
        }
    }
    None
}

fn held_by(flag: &'static str, output: &Path, holder: &Holder, framed: Option<&Path>) -> Error {
    let what = match framed {
        Some(owner) => format!(
            "is writing numbered images beside {}, and {} is one of their names",
            owner.display(),
            output.display()
        ),
        None => format!("is writing {}", output.display()),
    };
    Error::invalid(
        flag,
        format!(
            "{} {what}; wait for it to finish or choose another output",
            holder.describe()
        ),
    )
}
