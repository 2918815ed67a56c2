//! The output discipline every writer shares (picasso's images, frames, GIF and report,
//! weights-tools' `convert`, `trim` and `fetch`):
//!
//! - a destination that is a folder, a device, a FIFO or a socket is refused: only a regular
//!   file (or nothing yet) may be replaced;
//! - the bytes go to a temporary file created exclusively (`O_CREAT | O_EXCL`, and
//!   `O_NOFOLLOW`), so a link planted under its name is never followed, in the destination's
//!   folder so the final rename is atomic;
//! - temporary names have a fixed length (`.NAME.` + 16 hex digits + `.tmp`), so the check
//!   made before a run, which creates and removes one, proves every later one fits too;
//! - when the folder refuses the file, the message names the real cause: a missing folder, a
//!   path through a file or a symlink loop, a name too long, no permission, a full disk.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::cleanup;
use super::FileProblem;

/// Bytes a temporary name adds to the destination's: `.` + `.` + 16 hex digits + `.tmp`.
pub const TEMP_NAME_EXTRA: usize = 22;

/// Distinguishes the temporary files of one process.
static TEMP_COUNTER: AtomicU32 = AtomicU32::new(0);

/// The folder holding `path` (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `.NAME.PPPPPPPPCCCCCCCC.tmp` beside `dest`: always the same length for one destination.
fn temp_path(dest: &Path, name: &std::ffi::OsStr) -> PathBuf {
    let counter = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut temp = OsString::from(".");
    temp.push(name);
    temp.push(format!(".{:08x}{counter:08x}.tmp", std::process::id()));
    parent_dir(dest).join(temp)
}

/// Refuse a destination that is not a regular file (or absent), before anything is written.
pub fn check_destination(dest: &Path) -> Result<(), FileProblem> {
    if dest.file_name().is_none() {
        return Err(FileProblem::new(format!(
            "{} does not name a file; give a file name such as {}",
            dest.display(),
            dest.join("output").display()
        )));
    }
    match std::fs::metadata(dest) {
        Ok(meta) if meta.is_dir() => Err(FileProblem::new(format!(
            "{} is a folder; give a file name in it",
            dest.display()
        ))),
        Ok(meta) if !meta.is_file() => Err(FileProblem::new(format!(
            "{} is {}, not a regular file; writing would replace it. Give the path of a file",
            dest.display(),
            describe_special(&meta)
        ))),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            // A dangling symlink resolves nowhere: the rename replaces the link, which is fine,
            // but a missing folder is worth saying now.
            check_folder(dest)
        }
        Err(e) => Err(folder_problem(dest, e)),
    }
}

/// The folder `dest` goes in must exist and be a folder.
fn check_folder(dest: &Path) -> Result<(), FileProblem> {
    let dir = parent_dir(dest);
    match std::fs::metadata(&dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(FileProblem::new(format!(
            "cannot write {}: {} is a file, not a folder",
            dest.display(),
            dir.display()
        ))),
        Err(e) => Err(folder_problem(dest, e)),
    }
}

/// Create a temporary file beside `dest`, exclusively and never through a link; it is
/// registered for removal if the process is stopped before it is renamed or removed.
pub fn create_temp_beside(dest: &Path) -> Result<(File, PathBuf), FileProblem> {
    check_destination(dest)?;
    let name = dest.file_name().unwrap_or_default();
    // A name taken by someone else (another process, a planted link) is skipped, never opened.
    for _ in 0..16 {
        let temp = temp_path(dest, name);
        match open_exclusive(&temp) {
            Ok(file) => {
                cleanup::register(&temp);
                return Ok((file, temp));
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(folder_problem(dest, e)),
        }
    }
    Err(FileProblem::new(format!(
        "cannot write {}: every temporary name tried beside it already exists",
        dest.display()
    )))
}

/// Prove that `dest` can be written, now: its temporary file is created and removed.
pub fn probe_writable(dest: &Path) -> Result<(), FileProblem> {
    let (file, temp) = create_temp_beside(dest)?;
    drop(file);
    remove_temp(&temp);
    Ok(())
}

/// Remove a temporary file made by [`create_temp_beside`] (best effort).
pub fn remove_temp(temp: &Path) {
    let _ = std::fs::remove_file(temp);
    cleanup::unregister(temp);
}

/// Rename a finished temporary file onto `dest`, after checking once more that `dest` is not
/// something other than a regular file, then make the rename durable.
pub fn rename_into_place(temp: &Path, dest: &Path) -> Result<(), FileProblem> {
    if let Err(e) = check_destination(dest) {
        remove_temp(temp);
        return Err(e);
    }
    if let Err(e) = std::fs::rename(temp, dest) {
        remove_temp(temp);
        return Err(FileProblem::io(
            format!("cannot rename the finished file onto {}", dest.display()),
            e,
        ));
    }
    cleanup::unregister(temp);
    sync_dir(&parent_dir(dest));
    Ok(())
}

#[cfg(unix)]
fn open_exclusive(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .mode(0o644)
        .open(path)
}

#[cfg(not(unix))]
fn open_exclusive(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// What stopped a file from being created beside `dest`, said about the real cause.
pub fn folder_problem(dest: &Path, e: std::io::Error) -> FileProblem {
    let dir = parent_dir(dest);
    let name_len = dest.file_name().map_or(0, |n| n.len());
    let detail = match e.raw_os_error() {
        Some(code) if code == errno::NAMETOOLONG => {
            let max = name_max(&dir);
            format!(
                "cannot write {}: its name is {name_len} bytes, and the temporary file \
                 written beside it first needs {TEMP_NAME_EXTRA} more; this folder allows {max} \
                 bytes per name. Use a name of at most {} bytes",
                dest.display(),
                max.saturating_sub(TEMP_NAME_EXTRA)
            )
        }
        Some(code) if code == errno::NOTDIR => format!(
            "cannot write {}: part of the folder path {} is a file, not a folder",
            dest.display(),
            dir.display()
        ),
        Some(code) if code == errno::LOOP => format!(
            "cannot write {}: the folder path {} goes through a symbolic link loop",
            dest.display(),
            dir.display()
        ),
        Some(code) if code == errno::NOSPC || code == errno::DQUOT => format!(
            "cannot write {}: the disk (or your quota) holding {} is full; free some space",
            dest.display(),
            dir.display()
        ),
        _ if e.kind() == ErrorKind::NotFound => format!(
            "cannot write {}: the folder {} does not exist; create it first",
            dest.display(),
            dir.display()
        ),
        _ if e.kind() == ErrorKind::PermissionDenied || e.raw_os_error() == Some(errno::ROFS) => {
            format!(
                "cannot write {} because the folder {} does not accept new files ({e}); \
                 choose a folder you can write to",
                dest.display(),
                dir.display()
            )
        }
        _ => format!("cannot write {} in {}: {e}", dest.display(), dir.display()),
    };
    FileProblem::new(detail)
}

/// The longest file name the folder's file system allows (255 where it cannot be asked).
fn name_max(dir: &Path) -> usize {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        if let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) {
            // SAFETY: a valid NUL-terminated path; pathconf only reads it.
            let n = unsafe { libc::pathconf(c.as_ptr(), libc::_PC_NAME_MAX) };
            if n > 0 {
                return n as usize;
            }
        }
    }
    let _ = dir;
    255
}

#[cfg(unix)]
fn describe_special(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a pipe (FIFO)"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn describe_special(_meta: &std::fs::Metadata) -> &'static str {
    "a special file"
}

/// Persist a rename; best effort, as not every platform can open a folder.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// The error numbers the messages tell apart (no such numbers off Unix).
mod errno {
    #[cfg(unix)]
    pub use libc::{EDQUOT as DQUOT, ELOOP as LOOP, ENAMETOOLONG as NAMETOOLONG};
    #[cfg(unix)]
    pub use libc::{ENOSPC as NOSPC, ENOTDIR as NOTDIR, EROFS as ROFS};
    #[cfg(not(unix))]
    pub const NAMETOOLONG: i32 = -1;
    #[cfg(not(unix))]
    pub const NOTDIR: i32 = -2;
    #[cfg(not(unix))]
    pub const LOOP: i32 = -3;
    #[cfg(not(unix))]
    pub const NOSPC: i32 = -4;
    #[cfg(not(unix))]
    pub const DQUOT: i32 = -5;
    #[cfg(not(unix))]
    pub const ROFS: i32 = -6;
}
