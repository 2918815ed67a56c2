//! Writing files so that a crash never leaves half a file, and never over an input.
//!
//! [`AtomicFile`] writes to a temporary file in the destination's directory (the same
//! filesystem, so the final `rename` is atomic), flushes it to disk with `fsync`, and only then
//! renames it over the destination. Readers see the old file or the new one, never a torn one;
//! if anything fails, or the value is dropped uncommitted, the temporary file is removed.
//!
//! [`ensure_not_input`] refuses an output path that names one of the inputs, however it is
//! spelled (relative, `..`, symlinks, hard links on Unix), so `stylize photo.jpg style.jpg -o
//! photo.jpg` cannot destroy the photo.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use weights_tools::io::write::{create_temp_beside, remove_temp, rename_into_place};
use weights_tools::io::FileProblem;

use super::io_error;
use crate::error::{Error, Result};

/// A file being written to a temporary path, renamed into place by [`AtomicFile::commit`].
///
/// The temporary file is created exclusively and never through a link, beside the
/// destination, by the discipline every writer of the project shares
/// (`weights_tools::io::write`); a destination that is a device, a FIFO or a socket is refused.
#[derive(Debug)]
pub struct AtomicFile {
    dest: PathBuf,
    temp: PathBuf,
    writer: Option<BufWriter<File>>,
}

/// A refusal to write `dest`, as this crate's error.
pub(crate) fn write_refused(problem: FileProblem) -> Error {
    Error::invalid("write file", problem.detail)
}

impl AtomicFile {
    /// Start writing `dest`: creates a hidden temporary file beside it.
    pub fn create(dest: &Path) -> Result<Self> {
        if dest.is_dir() {
            return Err(Error::invalid(
                "write file",
                format!(
                    "{} is a directory; give a file name such as {}",
                    dest.display(),
                    dest.join("output.png").display()
                ),
            ));
        }
        let (file, temp) = create_temp_beside(dest).map_err(write_refused)?;
        Ok(Self {
            dest: dest.to_path_buf(),
            temp,
            writer: Some(BufWriter::new(file)),
        })
    }

    /// The path the file will have once committed.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// The temporary path being written (removed on drop unless committed).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Flush, fsync and rename the file into place.
    pub fn commit(mut self) -> Result<()> {
        let Some(writer) = self.writer.take() else {
            return Ok(());
        };
        let file = writer
            .into_inner()
            .map_err(|e| io_error("write", &self.temp, e.into_error()))?;
        file.sync_all()
            .map_err(|e| io_error("flush to disk", &self.temp, e))?;
        drop(file);
        let temp = std::mem::take(&mut self.temp);
        rename_into_place(&temp, &self.dest).map_err(write_refused)
    }

    fn writer(&mut self) -> std::io::Result<&mut BufWriter<File>> {
        self.writer
            .as_mut()
            .ok_or_else(|| std::io::Error::other("the atomic file was already committed"))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer()?.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer()?.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        self.writer.take();
        if !self.temp.as_os_str().is_empty() {
            // Best effort: the error that got us here matters more than a stray temp file.
            remove_temp(&self.temp);
        }
    }
}

/// Write `bytes` to `path` atomically (temporary file, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)
        .map_err(|e| io_error("write", file.temp_path(), e))?;
    file.commit()
}

/// Refuse to write `output` if it is the same file as any of `inputs`.
///
/// Paths are compared after canonicalisation; an output that does not exist yet is resolved
/// through its (canonicalised) parent folder, so `out/../photo.jpg` still matches `photo.jpg`.
/// On Unix, existing files are also compared by device and inode, which catches hard links.
pub fn ensure_not_input<P: AsRef<Path>>(output: &Path, inputs: &[P]) -> Result<()> {
    for input in inputs {
        let input = input.as_ref();
        if same_file(output, input) {
            return Err(Error::invalid(
                "write output",
                format!(
                    "refusing to write {} because it is the input {}; writing it would \
                     destroy the input. Choose another output path, e.g. {}",
                    output.display(),
                    input.display(),
                    suggest_output(output).display()
                ),
            ));
        }
    }
    Ok(())
}

/// Whether `a` and `b` name the same file, however they are spelled: the same canonical path
/// (a file that does not exist yet is resolved through its folder), or on Unix the same device
/// and inode (hard links).
pub fn same_file(a: &Path, b: &Path) -> bool {
    resolve(a) == resolve(b) || same_inode(a, b)
}

/// The canonical form of `path`, or of its parent joined with its name if it does not exist.
pub(crate) fn resolve(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let dir = parent_dir(path);
    let dir = dir.canonicalize().unwrap_or(dir);
    match path.file_name() {
        Some(name) => dir.join(name),
        None => dir,
    }
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

/// `photo.jpg` → `photo_out.jpg`, for error messages.
fn suggest_output(output: &Path) -> PathBuf {
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    let name = match output.extension() {
        Some(ext) => format!("{stem}_out.{}", ext.to_string_lossy()),
        None => format!("{stem}_out"),
    };
    output.with_file_name(name)
}

/// The folder holding `path` (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    weights_tools::io::parent_dir(path)
}
