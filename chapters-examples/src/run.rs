//! A `main` that reports failures as one readable line and a non-zero exit status.

use std::process::ExitCode;
use std::time::Instant;

/// What an example's body returns: any error type can be propagated with `?`.
pub type ExampleResult = Result<(), Box<dyn std::error::Error>>;

/// Run an example body, print how long it took, and turn an error into exit status 1.
pub fn run_example(body: impl FnOnce() -> ExampleResult) -> ExitCode {
    let started = Instant::now();
    match body() {
        Ok(()) => {
            println!("\nfinished in {:.1} s", started.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
