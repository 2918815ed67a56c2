//! The options every chapter example understands.

use clap::Args;
use std::path::PathBuf;

/// `--quick` and `--out DIR`, flattened into each example's own argument list.
#[derive(Args, Debug, Clone)]
pub struct ExampleArgs {
    /// Run a smaller version that finishes in seconds (used by the tests).
    #[arg(long)]
    pub quick: bool,

    /// Folder for the pictures this example draws (default: out/<chapter>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

impl ExampleArgs {
    /// The output folder, created if missing. `chapter` names the default, e.g. "ch01".
    pub fn output_dir(&self, chapter: &str) -> std::io::Result<PathBuf> {
        let dir = self
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("out").join(chapter));
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }
}
