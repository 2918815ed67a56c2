//! Files in and out, the same way for every program of the project (`weights-tools`, and
//! `picasso`, which reuses these through the engine):
//!
//! - [`read`]: inputs read with a bound — regular files only, sizes checked before allocation;
//! - [`write`]: outputs written atomically through exclusively created temporary files, never
//!   over a device or through a link, with messages that name the real cause of a refusal;
//! - [`lock`]: one writer per output, an advisory `flock` the kernel releases with the process;
//! - [`cleanup`]: temporary and lock files removed even when a second signal exits at once;
//! - [`console`]: printing that survives a closed pipe.

pub mod cleanup;
pub mod console;
pub mod lock;
pub mod read;
pub mod write;

use std::io::Write as _;
use std::path::Path;

pub use self::read::{check_regular, read_regular};
pub use self::write::{check_destination, create_temp_beside, parent_dir, probe_writable};

use crate::error::{Result, WeightsError};

/// The largest weights file read (VGG19 in f32 is 550 MB).
pub const MAX_WEIGHTS_FILE: u64 = 2 << 30;

/// Why a file could not be read or written, in words for the user (the path included), with
/// the underlying error when there is one.
#[derive(Debug)]
pub struct FileProblem {
    pub detail: String,
    /// The path named nothing (for callers that phrase that case themselves).
    pub not_found: bool,
    pub source: Option<std::io::Error>,
}

impl FileProblem {
    pub fn new(detail: impl Into<String>) -> Self {
        FileProblem {
            detail: detail.into(),
            not_found: false,
            source: None,
        }
    }

    /// `detail`, followed by the system's own words.
    pub fn io(detail: impl Into<String>, source: std::io::Error) -> Self {
        FileProblem {
            detail: format!("{}: {source}", detail.into()),
            not_found: false,
            source: Some(source),
        }
    }
}

impl std::fmt::Display for FileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for FileProblem {}

impl From<FileProblem> for WeightsError {
    fn from(p: FileProblem) -> Self {
        WeightsError::File(p.detail)
    }
}

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

/// Checks, before any slow work, that `path` can be written as a safetensors file: its name
/// ends in `.safetensors`, it is not a folder or a device, and its folder accepts the
/// temporary file the write will use (created and removed now).
pub fn check_writable(path: &Path) -> Result<()> {
    if path
        .as_os_str()
        .to_string_lossy()
        .ends_with(std::path::MAIN_SEPARATOR)
        || path.is_dir()
    {
        return Err(WeightsError::Invalid(format!(
            "output {} is a folder; give a file name in it, e.g. {}",
            path.display(),
            path.join("vgg16.safetensors").display()
        )));
    }
    let is_safetensors = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("safetensors"));
    if !is_safetensors {
        return Err(WeightsError::Invalid(format!(
            "output {} is written as a safetensors file, so its name must end in \
             .safetensors, e.g. {}",
            path.display(),
            path.with_extension("safetensors").display()
        )));
    }
    probe_writable(path)?;
    Ok(())
}

/// Write `bytes` to `path` atomically: a temporary file created exclusively beside it,
/// flushed to disk, renamed over it. A crash or a full disk never leaves half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let (mut file, temp) = create_temp_beside(path)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| WeightsError::io("write", &temp, e));
    drop(file);
    if let Err(e) = written {
        write::remove_temp(&temp);
        return Err(e);
    }
    write::rename_into_place(&temp, path)?;
    Ok(())
}
