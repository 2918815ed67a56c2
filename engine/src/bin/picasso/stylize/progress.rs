//! Progress for a long run: a bar with ETA and the current loss, or plain lines when quiet
//! (or when the output is not a terminal, e.g. in a log file).

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use weights_tools::tell;

pub struct ProgressView {
    bar: Option<ProgressBar>,
}

impl ProgressView {
    pub fn new(total_evaluations: usize, quiet: bool) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return ProgressView { bar: None };
        }
        let bar = ProgressBar::new(total_evaluations as u64);
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} evals, ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        ProgressView { bar: Some(bar) }
    }

    /// After each evaluation.
    pub fn update(&self, scale: &str, evaluation: usize, total: f64) {
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(format!("{scale} loss {total:.4e}"));
            }
            None if evaluation.is_multiple_of(10) || evaluation == 1 => {
                tell!("{scale} eval {evaluation:5}: loss {total:.6e}");
            }
            None => {}
        }
    }

    /// Print a line without tearing the bar.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => tell!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
