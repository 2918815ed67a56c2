//! The `--report` JSON: enough to compare runs and to reproduce one.

use super::args::StylizeArgs;
use super::ledger::ScaleLedger;
use super::plan::Plan;
use engine::io::write_atomic;
use engine::models::memory::MemoryEstimate;
use engine::style::{ImageOptimizer, LbfgsConfig, LineSearch, Outcome, StopReason};
use engine::Result;
use serde_json::{json, Value};
use std::path::Path;

/// What one scale of the run did.
pub struct ScaleStats {
    pub size: u32,
    pub width: usize,
    pub height: usize,
    pub evaluations: usize,
    /// Steps the optimiser took: `evaluations` less the starting point's and any extra
    /// line-search trials.
    pub steps: usize,
    /// Times L-BFGS forgot its history because the box's active set changed.
    pub history_restarts: usize,
    pub seconds: f64,
    /// Of `seconds`, the time spent saving images inside the loop (checkpoints, frames).
    pub saving_seconds: f64,
    /// What the device did (CUDA only).
    pub ledger: Option<ScaleLedger>,
    pub history: Vec<f64>,
    pub stop_reason: String,
}

impl ScaleStats {
    /// What `outcome`, the run at `size`, did in `seconds` (`saving` of them writing images).
    /// `by_time_limit`: whether an interruption came from the run's time budget rather than
    /// the user, so that the report says `time` instead of `interrupted`.
    pub fn new(
        size: u32,
        outcome: &Outcome,
        seconds: f64,
        saving_seconds: f64,
        ledger: Option<ScaleLedger>,
        by_time_limit: bool,
    ) -> Self {
        let shape = outcome.image.shape();
        let stop_reason = match outcome.reason {
            StopReason::Interrupted if by_time_limit => "time".to_string(),
            reason => format!("{reason:?}").to_lowercase(),
        };
        ScaleStats {
            size,
            width: shape[3],
            height: shape[2],
            evaluations: outcome.evaluations,
            steps: outcome.steps,
            history_restarts: outcome.restarts,
            seconds,
            saving_seconds,
            ledger,
            history: outcome.history.clone(),
            stop_reason,
        }
    }
}

/// What the run was estimated to need and what it took.
pub struct MemoryStats<'a> {
    pub estimate: &'a MemoryEstimate,
    /// What the check compared the estimate with (`None`: nothing known, nothing checked).
    pub available: Option<u64>,
    /// The process's peak resident memory (Linux), to compare with the estimate.
    pub peak_resident: Option<u64>,
}

pub fn write_report(
    path: &Path,
    args: &StylizeArgs,
    plan: &Plan,
    weights: &str,
    outcome: &Outcome,
    scales: &[ScaleStats],
    memory: &MemoryStats,
) -> Result<()> {
    let (terms, total) = (outcome.terms, outcome.total);
    let c = &plan.objective;
    let evaluations: usize = scales.iter().map(|s| s.evaluations).sum();
    let seconds: f64 = scales.iter().map(|s| s.seconds).sum();
    let layers = |ls: &[engine::style::LayerWeight]| -> Value {
        ls.iter()
            .map(|l| json!({"layer": l.layer, "weight": l.weight}))
            .collect()
    };
    let report = json!({
        "content": args.content.display().to_string(),
        "styles": args.styles.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "output": args.output.display().to_string(),
        "weighted": {
            "content": c.content_weight as f64 * terms.content,
            "style": c.style_weight as f64 * terms.style,
            "tv": c.tv_weight as f64 * terms.tv.unwrap_or(0.0),
        },
        "raw": {"content": terms.content, "style": terms.style, "tv": terms.tv},
        "total": total,
        "evaluations": evaluations,
        "seconds": seconds,
        "seconds_per_evaluation": if evaluations > 0 { seconds / evaluations as f64 } else { 0.0 },
        "scales": scales.iter().map(|s| json!({
            "size": s.size,
            "width": s.width,
            "height": s.height,
            "evaluations": s.evaluations,
            "steps": s.steps,
            "history_restarts": s.history_restarts,
            "seconds": s.seconds,
            "saving_seconds": s.saving_seconds,
            "device_ledger": s.ledger.as_ref().map(|l| l.to_json(s.evaluations)),
            "stop_reason": s.stop_reason,
            // Every 10th evaluation, like the PyTorch reference file.
            "history": s.history.iter().skip(9).step_by(10).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "memory": {
            "estimated_bytes": memory.estimate.total(),
            "estimate_phase": memory.estimate.phase,
            "estimate": memory.estimate.items.iter()
                .map(|i| json!({"what": i.what, "bytes": i.bytes}))
                .collect::<Vec<_>>(),
            "available_bytes": memory.available,
            "peak_resident_bytes": memory.peak_resident,
        },
        "settings": {
            "weights": weights,
            "device": args.network.chosen()?.line(),
            "optimizer": format!("{:?}", plan.optimizer),
            "bounds": match plan.optimizer.bounds() {
                Some(b) => json!([b.lo, b.hi]),
                None => Value::Null,
            },
            "line_search": match plan.optimizer {
                ImageOptimizer::Lbfgs(config) => match config.line_search {
                    LineSearch::None => "none",
                    LineSearch::StrongWolfe => "strong-wolfe",
                },
                ImageOptimizer::Adam { .. } => "none",
            },
            "precondition": match plan.optimizer {
                ImageOptimizer::Lbfgs(LbfgsConfig { preconditioner: Some(m), .. }) => {
                    format!("coarse ({} px blocks, lift {})", m.block, m.lift)
                }
                _ => "none".into(),
            },
            "history_precision": match plan.optimizer {
                ImageOptimizer::Lbfgs(config) => format!("{:?}", config.history_precision).to_lowercase(),
                ImageOptimizer::Adam { .. } => "none".into(),
            },
            "content_weight": c.content_weight,
            "style_weight": c.style_weight,
            "tv_weight": c.tv_weight,
            "content_layers": layers(&c.content_layers),
            "style_layers": layers(&c.style_layers),
            "style_blend": plan.blend,
            "style_scale": args.style_scale,
            "pooling": format!("{:?}", args.network.pooling).to_lowercase(),
            // What held, not only what was asked: f32 where the CPU has no AVX-512 BF16.
            "bf16": format!("{:?}", engine::cpu::packed_gemm_bf16::bf16_use()).to_lowercase(),
            "init": args.init,
            "seed": args.seed,
            "sizes": plan.sizes,
            "iters": args.iters,
            "evaluations_per_size": plan.evaluations,
            "time_budget_seconds": plan.time_budget.map(|b| b.as_secs_f64()),
            "original_colors": args.original_colors,
            "luminance_only": args.luminance_only,
            "color_transfer": format!("{:?}", args.color_transfer).to_lowercase(),
            "style_masks": plan.masks.iter()
                .map(|m| m.as_ref().map(|p| p.display().to_string()))
                .collect::<Vec<_>>(),
        },
    });
    let text = serde_json::to_string_pretty(&report)
        .map_err(|e| engine::Error::invalid("--report", e.to_string()))?;
    write_atomic(path, text.as_bytes())
}
