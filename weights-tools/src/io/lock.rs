//! One writer at a time per output, kept by the kernel.
//!
//! A lock is the file `.NAME.lock` beside the output, held with an advisory `flock`: the
//! kernel releases it when the process ends, however it ends, so a lock is never "stale" and
//! no process id has to be trusted (a pid is reused; a program can be renamed). The file holds
//! the holder's pid and a note, for messages only.
//!
//! The holder removes the file when it is done. Because someone may have opened the old file
//! just before, a taker checks after locking that the path still names the file it locked;
//! if not, it starts again with the new file.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::cleanup;
use super::write::{folder_problem, parent_dir};
use super::FileProblem;

/// The lock file that guards `output`: `.NAME.lock` beside it.
pub fn lock_path(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    parent_dir(output).join(format!(".{name}.lock"))
}

/// Who holds a lock, as its file says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub pid: Option<u32>,
    pub note: String,
}

impl Holder {
    /// "another run (process 1234)".
    pub fn describe(&self) -> String {
        match self.pid {
            Some(pid) => format!("another run (process {pid})"),
            None => "another run".into(),
        }
    }
}

/// A held lock; dropping it removes the lock file and releases the lock.
#[derive(Debug)]
pub struct PathLock {
    /// Held open for the lock's life: closing it is what releases the `flock`.
    _held: File,
    path: PathBuf,
}

impl PathLock {
    /// Take the lock for `output` without waiting: `Ok(Err(holder))` when another process
    /// holds it. `note` is stored for that other process's messages.
    pub fn try_acquire(
        output: &Path,
        note: &str,
    ) -> Result<std::result::Result<PathLock, Holder>, FileProblem> {
        let path = lock_path(output);
        for _ in 0..8 {
            let mut file = open_lock_file(&path).map_err(|e| lock_problem(output, &path, e))?;
            if !try_flock(&file, true) {
                return Ok(Err(read_holder(&mut file)));
            }
            if !still_named(&file, &path) {
                // The previous holder removed this file after we opened it: try the new one.
                continue;
            }
            let _ = file.set_len(0);
            let _ = file.rewind();
            let _ = writeln!(file, "{}\n{note}", std::process::id());
            let _ = file.flush();
            cleanup::register(&path);
            return Ok(Ok(PathLock { _held: file, path }));
        }
        Err(FileProblem::new(format!(
            "cannot take the lock {} for {}: it keeps being replaced",
            path.display(),
            output.display()
        )))
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PathLock {
    fn drop(&mut self) {
        // Removed while still locked (`_held` closes after this body), so a process that opened
        // it meanwhile finds, once it gets the lock, that the path names another file.
        let _ = std::fs::remove_file(&self.path);
        cleanup::unregister(&self.path);
    }
}

/// Whether some other process holds the lock of `output`, and its note; `None` when nobody
/// does (or there is no lock file).
pub fn holder_of(output: &Path) -> Option<Holder> {
    let path = lock_path(output);
    let mut file = open_existing_lock_file(&path).ok()?;
    if try_flock(&file, false) {
        unlock(&file);
        None
    } else {
        Some(read_holder(&mut file))
    }
}

fn read_holder(file: &mut File) -> Holder {
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.take(4096).read_to_string(&mut text);
    let mut lines = text.lines();
    Holder {
        pid: lines.next().and_then(|l| l.trim().parse().ok()),
        note: lines.next().unwrap_or("").trim().to_string(),
    }
}

fn lock_problem(output: &Path, path: &Path, e: std::io::Error) -> FileProblem {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) && path.parent().is_some() {
        return FileProblem::new(format!(
            "the lock file {} beside {} is a symbolic link; a lock file is never a link. \
             Remove it, then try again",
            path.display(),
            output.display()
        ));
    }
    let _ = path;
    folder_problem(output, e)
}

#[cfg(unix)]
fn open_lock_file(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .mode(0o644)
        .open(path)
}

#[cfg(unix)]
fn open_existing_lock_file(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
}

/// `flock` without waiting: exclusive to take a lock, shared to look whether one is held.
#[cfg(unix)]
fn try_flock(file: &File, exclusive: bool) -> bool {
    use std::os::fd::AsRawFd;
    let mode = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    };
    // SAFETY: flock on a descriptor this File owns.
    unsafe { libc::flock(file.as_raw_fd(), mode | libc::LOCK_NB) == 0 }
}

#[cfg(unix)]
fn unlock(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: as above.
    unsafe {
        libc::flock(file.as_raw_fd(), libc::LOCK_UN);
    }
}

/// Whether `path` still names the open `file` (same device and inode).
#[cfg(unix)]
fn still_named(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

// Elsewhere: an exclusive create stands in for the lock (no kernel release on a crash).
#[cfg(not(unix))]
fn open_lock_file(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(not(unix))]
fn open_existing_lock_file(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

#[cfg(not(unix))]
fn try_flock(_file: &File, exclusive: bool) -> bool {
    exclusive
}

#[cfg(not(unix))]
fn unlock(_file: &File) {}

#[cfg(not(unix))]
fn still_named(_file: &File, _path: &Path) -> bool {
    true
}
