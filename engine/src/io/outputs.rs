//! Every file a run will write, checked before the run starts.
//!
//! A style transfer at the default settings takes minutes; finding out at the end that the
//! report cannot be written, or that it was written over the result image, throws that work
//! away. [`check_outputs`] refuses, in one line and before anything slow, an output that:
//!
//! - has an extension that does not say the format it will be written in;
//! - names a folder, or lies in a folder that does not exist or does not accept new files
//!   (checked by creating, and removing, the temporary file the atomic write would use);
//! - is one of the inputs, or another output (same path by any spelling, symlink or hard
//!   link), or would be overwritten by another output's numbered frames.

use std::path::{Path, PathBuf};

use super::atomic::{ensure_not_input, same_file, AtomicFile};
use super::frames::{could_be_frame_of, frame_path};
use super::save::OutputFormat;
use crate::error::{Error, Result};

/// What an output holds, which decides the extensions it may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    /// A still picture: `.png`, `.jpg`, `.jpeg`.
    Image,
    /// An animation: `.gif`.
    Gif,
    /// A report: `.json`.
    Json,
    /// Tensors: `.safetensors`.
    Safetensors,
}

impl OutputKind {
    /// The extensions accepted (lower case, without the dot) and a word for messages.
    fn extensions(self) -> (&'static [&'static str], &'static str) {
        match self {
            OutputKind::Image => (&["png", "jpg", "jpeg"], "an image"),
            OutputKind::Gif => (&["gif"], "an animated GIF"),
            OutputKind::Json => (&["json"], "a JSON report"),
            OutputKind::Safetensors => (&["safetensors"], "a safetensors file"),
        }
    }
}

/// One file a run will write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedOutput {
    /// The option that names it, for messages (`-o`, `--gif`, `--report`).
    pub flag: &'static str,
    pub path: PathBuf,
    pub kind: OutputKind,
    /// Whether numbered frames (`out_0010.png`, see [`frame_path`]) are written beside it.
    pub frames: bool,
}

impl PlannedOutput {
    pub fn new(flag: &'static str, path: &Path, kind: OutputKind) -> Self {
        PlannedOutput {
            flag,
            path: path.to_path_buf(),
            kind,
            frames: false,
        }
    }

    /// The same output, with numbered frames beside it.
    pub fn with_frames(mut self, frames: bool) -> Self {
        self.frames = frames;
        self
    }
}

/// Check every output of a run against each other and against its `inputs`; see the module
/// documentation for what is refused.
pub fn check_outputs<P: AsRef<Path>>(outputs: &[PlannedOutput], inputs: &[P]) -> Result<()> {
    for output in outputs {
        check_one(output)?;
        ensure_not_input(&output.path, inputs).map_err(|e| under_flag(output.flag, e))?;
    }
    for (i, a) in outputs.iter().enumerate() {
        for b in &outputs[i + 1..] {
            if same_file(&a.path, &b.path) {
                return Err(Error::invalid(
                    b.flag,
                    format!(
                        "{} and {} both name {}; writing one would replace the other. Give \
                         each its own file",
                        a.flag,
                        b.flag,
                        b.path.display()
                    ),
                ));
            }
        }
    }
    for framed in outputs.iter().filter(|o| o.frames) {
        let others = outputs
            .iter()
            .filter(|o| !std::ptr::eq(*o, framed))
            .map(|o| (o.path.as_path(), o.flag))
            .chain(inputs.iter().map(|p| (p.as_ref(), "an input")));
        for (path, what) in others {
            if could_be_frame_of(&framed.path, path) {
                return Err(Error::invalid(
                    framed.flag,
                    format!(
                        "the numbered images written beside {} ({}, …) would replace {} ({what}); \
                         choose another {} or rename that file",
                        framed.path.display(),
                        frame_path(&framed.path, 10).display(),
                        path.display(),
                        framed.flag
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn check_one(output: &PlannedOutput) -> Result<()> {
    let path = &output.path;
    let (extensions, what) = output.kind.extensions();
    let example = match path.file_stem() {
        Some(stem) => path.with_file_name(format!("{}.{}", stem.to_string_lossy(), extensions[0])),
        None => PathBuf::from(format!("output.{}", extensions[0])),
    };
    let names_folder = path.is_dir()
        || path
            .as_os_str()
            .to_string_lossy()
            .ends_with(std::path::MAIN_SEPARATOR);
    if names_folder {
        return Err(Error::invalid(
            output.flag,
            format!(
                "{} is a folder; give a file name in it, e.g. {}",
                path.display(),
                path.join(format!("result.{}", extensions[0])).display()
            ),
        ));
    }
    if output.kind == OutputKind::Image {
        OutputFormat::from_path(path).map_err(|e| under_flag(output.flag, e))?;
    } else {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        if !ext.as_deref().is_some_and(|e| extensions.contains(&e)) {
            return Err(Error::invalid(
                output.flag,
                format!(
                    "{} is written as {what}, so its name must end in .{}, e.g. {}",
                    path.display(),
                    extensions[0],
                    example.display()
                ),
            ));
        }
    }
    // The atomic write's own first step: any folder problem shows up here, now. Dropping the
    // uncommitted file removes it.
    let probe = AtomicFile::create(path).map_err(|e| under_flag(output.flag, e))?;
    drop(probe);
    Ok(())
}

/// The same complaint, said about the option that named the file.
fn under_flag(flag: &'static str, e: Error) -> Error {
    let msg = match e {
        Error::InvalidArgument { msg, .. } => msg,
        other => other.to_string(),
    };
    Error::invalid(flag, msg)
}
