//! Atomic file output: write a temporary file beside the target, flush it to disk, rename it over
//! the target. A crash or a full disk never leaves a half-written weights file behind.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Result, WeightsError};

/// Fails if `out` names the same file as `input` (writing would destroy the source mid-read).
pub fn refuse_same_file(input: &Path, out: &Path) -> Result<()> {
    if let (Ok(a), Ok(b)) = (input.canonicalize(), out.canonicalize()) {
        if a == b {
            return Err(WeightsError::Invalid(format!(
                "output {} is the input file; choose another output path",
                out.display()
            )));
        }
    }
    Ok(())
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path.file_name().ok_or_else(|| {
        WeightsError::Invalid(format!("output path {} has no file name", path.display()))
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(|e| WeightsError::io("create", &tmp, e))?;
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
