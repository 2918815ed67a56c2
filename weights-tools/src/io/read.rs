//! Reading an input with a bound: regular files only, their size checked before anything is
//! allocated.
//!
//! `std::fs::read` trusts the path: `/dev/zero` grows the buffer until the kernel kills the
//! process, and a FIFO with no writer blocks the open itself, forever. Here the file is opened
//! without blocking (`O_NONBLOCK`, which a regular file ignores), what was opened is asked what
//! it is (`fstat` on the open file, so nothing can be swapped in between), and only a regular
//! file no larger than the limit is read. A pipe (`<(cat photo.png)`, `/dev/stdin`) is refused
//! with a message saying so: its bytes can be read once, and the programs read an input more
//! than once (its header first, then all of it).

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::FileProblem;

/// Open `path` for reading and check that it is a regular file of at most `limit` bytes;
/// returns the open file and its length.
pub fn open_regular(path: &Path, limit: u64, what: &str) -> Result<(File, u64), FileProblem> {
    let file = open_without_blocking(path).map_err(|e| open_problem(path, what, e))?;
    let meta = file
        .metadata()
        .map_err(|e| FileProblem::io(format!("cannot read {}", path.display()), e))?;
    let kind = meta.file_type();
    if kind.is_dir() {
        return Err(FileProblem::new(format!(
            "{} is a folder, not {what}; give the path of a file",
            path.display()
        )));
    }
    if !kind.is_file() {
        return Err(not_regular(path, what, describe_kind(&kind)));
    }
    if meta.len() > limit {
        return Err(too_large(path, what, meta.len(), limit));
    }
    Ok((file, meta.len()))
}

/// The whole of `path`, which must be a regular file of at most `limit` bytes (see the module
/// documentation). `what` names the file in messages ("an image file", "a weights file").
pub fn read_regular(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, FileProblem> {
    let (file, len) = open_regular(path, limit, what)?;
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    // One byte past the limit tells a file that grew while it was read.
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| FileProblem::io(format!("cannot read {}", path.display()), e))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(path, what, bytes.len() as u64, limit));
    }
    Ok(bytes)
}

/// Check, without reading it, that `path` is a regular file of at most `limit` bytes.
pub fn check_regular(path: &Path, limit: u64, what: &str) -> Result<(), FileProblem> {
    open_regular(path, limit, what).map(|_| ())
}

#[cfg(unix)]
fn open_without_blocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_without_blocking(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

fn open_problem(path: &Path, what: &str, e: std::io::Error) -> FileProblem {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            let mut p = FileProblem::new(format!(
                "cannot read {}: it does not exist; check the path{}",
                path.display(),
                relative_hint(path)
            ));
            p.not_found = true;
            p
        }
        // Opening a Unix socket fails with ENXIO: it is not a file at all.
        _ if e.raw_os_error() == Some(libc_enxio()) => not_regular(path, what, "a socket"),
        _ => FileProblem::io(format!("cannot open {}", path.display()), e),
    }
}

fn libc_enxio() -> i32 {
    #[cfg(unix)]
    return libc::ENXIO;
    #[cfg(not(unix))]
    return -1;
}

#[cfg(unix)]
fn describe_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a pipe"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
fn describe_kind(_kind: &std::fs::FileType) -> &'static str {
    "not a regular file"
}

fn not_regular(path: &Path, what: &str, kind: &str) -> FileProblem {
    let advice = if kind == "a pipe" {
        "its bytes can be read only once, and an input is read more than once (its header \
         first, then all of it). Save it to a file first and give that file's path"
    } else {
        "reading it might never end. Give the path of a file"
    };
    FileProblem::new(format!(
        "{} is {kind}, not a regular file, so it cannot be used as {what}: {advice}",
        path.display()
    ))
}

fn too_large(path: &Path, what: &str, len: u64, limit: u64) -> FileProblem {
    FileProblem::new(format!(
        "{} is {} bytes, more than the {} bytes read as {what}; check that it is the file \
         you meant",
        path.display(),
        len,
        limit
    ))
}

/// A hint for relative paths, which are resolved from the working directory.
fn relative_hint(path: &Path) -> String {
    match (path.is_relative(), std::env::current_dir()) {
        (true, Ok(dir)) => format!(" (relative paths start from {})", dir.display()),
        _ => String::new(),
    }
}
