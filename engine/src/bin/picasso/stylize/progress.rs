//! Progress for a long run: a bar with ETA and the current loss, or plain lines when quiet
//! (or when the output is not a terminal, e.g. in a log file).

use super::schedule::work_units;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};
use weights_tools::tell;

pub struct ProgressView {
    bar: Option<ProgressBar>,
    /// What one evaluation at each size adds to the bar (see `schedule::work_units`), or
    /// `None` when the bar counts the seconds of a time budget.
    units: Option<Vec<u64>>,
    started: Instant,
}

impl ProgressView {
    /// A bar over the schedule's work (an evaluation at 256 px moves it a quarter as far as
    /// one at 512 px, so its ETA holds across sizes), or over the time budget with `--time`.
    pub fn new(
        sizes: &[u32],
        evaluations: &[usize],
        budget: Option<Duration>,
        quiet: bool,
    ) -> Self {
        let units = work_units(sizes);
        let started = Instant::now();
        if quiet || !std::io::stderr().is_terminal() {
            return ProgressView {
                bar: None,
                units: None,
                started,
            };
        }
        let (length, units) = match budget {
            Some(budget) => (budget.as_millis() as u64, None),
            None => (
                units
                    .iter()
                    .zip(evaluations)
                    .map(|(u, &n)| u * n as u64)
                    .sum(),
                Some(units),
            ),
        };
        let bar = ProgressBar::new(length);
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}%, ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        ProgressView {
            bar: Some(bar),
            units,
            started,
        }
    }

    /// After each evaluation at the schedule's `stage`.
    pub fn update(&self, stage: usize, scale: &str, evaluation: usize, total: f64) {
        match &self.bar {
            Some(bar) => {
                match &self.units {
                    Some(units) => bar.inc(units[stage]),
                    None => bar.set_position(self.started.elapsed().as_millis() as u64),
                }
                bar.set_message(format!("{scale} eval {evaluation}, loss {total:.4e}"));
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
