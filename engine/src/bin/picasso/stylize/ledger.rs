//! The device ledger of each scale's optimisation for `--report`: launches, cuBLAS calls,
//! copies, round trips and memory per evaluation, on CUDA (the CPU keeps none).
//!
//! The images saved inside the loop (checkpoints, frames) are counted apart: a checkpoint
//! copies the whole image to the host, which is the program's choice, not the optimiser's cost.

use engine::cuda::Ledger;
use engine::{Device, Result};
use serde_json::{json, Value};

/// Counting one scale: the device's ledger where the loop started, and the saving so far.
pub struct LoopLedger {
    device: Device,
    start: Option<Ledger>,
    saving: Ledger,
    saving_start: Option<Ledger>,
}

/// What one scale's loop did on the device.
pub struct ScaleLedger {
    /// The loop without the saving.
    pub optimising: Ledger,
    /// The saving inside the loop.
    pub saving: Ledger,
}

impl LoopLedger {
    pub fn start(device: Device) -> Result<Self> {
        device.reset_ledger_marks()?;
        Ok(LoopLedger {
            device,
            start: device.ledger()?,
            saving: Ledger::default(),
            saving_start: None,
        })
    }

    pub fn saving_begins(&mut self) -> Result<()> {
        self.saving_start = self.device.ledger()?;
        Ok(())
    }

    pub fn saving_ends(&mut self) -> Result<()> {
        if let (Some(start), Some(now)) = (self.saving_start.take(), self.device.ledger()?) {
            self.saving = self.saving.plus(&now.since(&start));
        }
        Ok(())
    }

    pub fn finish(&self) -> Result<Option<ScaleLedger>> {
        let (Some(start), Some(now)) = (self.start, self.device.ledger()?) else {
            return Ok(None);
        };
        Ok(Some(ScaleLedger {
            optimising: now.since(&start).since(&self.saving),
            saving: self.saving,
        }))
    }
}

impl ScaleLedger {
    /// The report's entry: totals, per evaluation, and what saving took.
    pub fn to_json(&self, evaluations: usize) -> Value {
        json!({
            "per_evaluation": self.optimising.per(evaluations),
            "round_trips_per_evaluation": self.optimising.round_trips() as f64
                / evaluations.max(1) as f64,
            "optimising": self.optimising,
            "saving_inside_the_loop": self.saving,
            "peak_bytes": self.optimising.peak_bytes,
        })
    }
}
