//! Shared helpers for the chapter examples: command-line options, generated data sets, and
//! a `main` wrapper that prints errors readably.
//!
//! Each binary in `src/bin/` is one chapter's example; the book includes parts of them.

pub mod cli;
pub mod cnn_pictures;
pub mod data;
pub mod figures;
pub mod inputs;
pub mod run;
pub mod shapes;

pub use cli::{DeviceArgs, ExampleArgs};
pub use data::Dataset2d;
pub use run::{run_example, ExampleResult};
