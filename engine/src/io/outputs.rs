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
//!   link), or would be overwritten by another output's numbered frames — including a frame
//!   name that already exists as a link (symbolic or hard, or through a bind mount) to an input;
//! - or whose longest name (the last numbered frame, and the temporary file written beside
//!   each) is more than the folder allows: checked by creating that temporary file now.

use std::path::{Path, PathBuf};

use super::atomic::{ensure_not_input, same_file, AtomicFile};
use super::frames::{could_be_frame_of, frame_path, list_frames};
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
    /// The largest frame number the run may write (its longest frame name).
    pub last_frame: usize,
}

impl PlannedOutput {
    pub fn new(flag: &'static str, path: &Path, kind: OutputKind) -> Self {
        PlannedOutput {
            flag,
            path: path.to_path_buf(),
            kind,
            frames: false,
            last_frame: 0,
        }
    }

    /// The same output, with numbered frames beside it (numbered up to 9999 unless
    /// [`PlannedOutput::with_last_frame`] says more).
    pub fn with_frames(mut self, frames: bool) -> Self {
        self.frames = frames;
        self.last_frame = self.last_frame.max(9999);
        self
    }

    /// The largest frame number the run may write: its frame names are checked up to it.
    pub fn with_last_frame(mut self, last: usize) -> Self {
        self.last_frame = last;
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
        check_existing_frames(framed, outputs, inputs)?;
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
    // uncommitted file removes it. Temporary names have one length per destination, so the
    // longest destination (the last frame) proves every name the run will use.
    let probe = AtomicFile::create(path).map_err(|e| under_flag(output.flag, e))?;
    drop(probe);
    if output.frames {
        let last = frame_path(path, output.last_frame.max(1));
        let probe = AtomicFile::create(&last).map_err(|e| {
            under_flag(
                output.flag,
                Error::invalid(
                    "write file",
                    format!(
                        "its numbered images (up to {}) cannot be written: {}",
                        last.display(),
                        match e {
                            Error::InvalidArgument { msg, .. } => msg,
                            other => other.to_string(),
                        }
                    ),
                ),
            )
        })?;
        drop(probe);
    }
    Ok(())
}

/// Frames already on disk that the run would replace must not be an input or another output
/// reached another way (a symbolic or hard link, a bind mount): found now, not when the
/// frame is due.
fn check_existing_frames<P: AsRef<Path>>(
    framed: &PlannedOutput,
    outputs: &[PlannedOutput],
    inputs: &[P],
) -> Result<()> {
    let Ok(existing) = list_frames(&framed.path) else {
        return Ok(());
    };
    for frame in existing {
        let number = frame_number(&frame);
        if number.is_some_and(|n| n > framed.last_frame) {
            continue;
        }
        let others = outputs
            .iter()
            .filter(|o| !std::ptr::eq(*o, framed))
            .map(|o| (o.path.as_path(), o.flag))
            .chain(inputs.iter().map(|p| (p.as_ref(), "an input")));
        for (path, what) in others {
            if same_file(&frame, path) {
                return Err(Error::invalid(
                    framed.flag,
                    format!(
                        "the numbered image {} that this run writes beside {} already exists \
                         and is {} ({what}, through a link); writing it would replace that \
                         file. Remove the link or choose another {}",
                        frame.display(),
                        framed.path.display(),
                        path.display(),
                        framed.flag
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// `out_0050.png` → 50.
fn frame_number(frame: &Path) -> Option<usize> {
    let stem = frame.file_stem()?.to_str()?;
    stem.rsplit_once('_')?.1.parse().ok()
}

/// The same complaint, said about the option that named the file.
fn under_flag(flag: &'static str, e: Error) -> Error {
    let msg = match e {
        Error::InvalidArgument { msg, .. } => msg,
        other => other.to_string(),
    };
    Error::invalid(flag, msg)
}
