//! Atomic file output: write a temporary file beside the target, flush it to disk, rename it over
//! the target. A crash or a full disk never leaves a half-written weights file behind.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Result, WeightsError};

/// Fails if `out` names the same file as `input` (writing would destroy the source mid-read),
/// however it is spelled: the same canonical path, or on Unix the same device and inode (a
/// hard link).
pub fn refuse_same_file(input: &Path, out: &Path) -> Result<()> {
    let same_path = matches!((input.canonicalize(), out.canonicalize()), (Ok(a), Ok(b)) if a == b);
    if same_path || same_inode(input, out) {
        return Err(WeightsError::Invalid(format!(
            "output {} is the input file; choose another output path",
            out.display()
        )));
    }
    Ok(())
}

#[cfg(unix)]
fn same_inode(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_inode(_a: &Path, _b: &Path) -> bool {
    false
}

/// The folder `path` will be written in (`.` for a bare name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Checks, before any slow work, that `path` can be written: it names a file (not a folder) in
/// a folder that exists.
pub fn check_writable(path: &Path) -> Result<()> {
    if path.is_dir()
        || path
            .as_os_str()
            .to_string_lossy()
            .ends_with(std::path::MAIN_SEPARATOR)
    {
        return Err(WeightsError::Invalid(format!(
            "output {} is a folder; give a file name in it, e.g. {}",
            path.display(),
            path.join("vgg16.safetensors").display()
        )));
    }
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(WeightsError::Invalid(format!(
            "cannot write {}: the folder {} does not exist; create it first",
            path.display(),
            dir.display()
        )));
    }
    Ok(())
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    check_writable(path)?;
    let dir = parent_dir(path);
    let file_name = path.file_name().ok_or_else(|| {
        WeightsError::Invalid(format!("output path {} has no file name", path.display()))
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        // A failure to create the temporary file is the folder's (read-only, no permission,
        // full): say so rather than name a file the user never asked for.
        let mut f = std::fs::File::create(&tmp)
            .map_err(|e| WeightsError::io("write in the folder", &dir, e))?;
        f.write_all(bytes)
            .map_err(|e| WeightsError::io("write", &tmp, e))?;
        f.sync_all()
            .map_err(|e| WeightsError::io("flush", &tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| WeightsError::io("rename into", path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
