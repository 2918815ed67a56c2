//! Before the first pixel moves: every stage's pictures large enough for the deepest layer
//! the objective reads, and the memory of the busiest stage within what the machine has.
//! Both are refused here with the setting that would work, instead of an internal error or an
//! allocation failure minutes into the run.

use super::args::StylizeArgs;
use super::plan::{Init, Plan};
use super::schedule::evaluations_per_size;
use crate::resources::{check_memory, smallest_long_side, working_size, SizeNeed};
use engine::models::memory::{
    estimate, largest_fitting, Decode, ImageSize, MemoryEstimate, OptimizerMemory,
    StyleTransferRun, Workload,
};
use engine::models::Vgg;
use engine::style::{HistoryPrecision, ImageOptimizer, LbfgsConfig};
use engine::{Error, Result};

/// GIF frames are shrunk to this long side when taken (see `GifOptions`).
const GIF_LONG_SIDE: u32 = 512;
/// Bytes kept per evaluation for the loss history: an f64 in the optimiser's list and one in
/// the stage's statistics.
const LOSS_HISTORY_BYTES: u64 = 16;
/// Bytes per evaluation the report's JSON needs while it is built (a value and its text).
const REPORT_BYTES: u64 = 48;

/// Long side of the style images at a stage whose content has long side `size`.
pub fn style_long_side(size: u32, scale: f32) -> u32 {
    (size as f64 * scale as f64)
        .round()
        .clamp(1.0, u32::MAX as f64) as u32
}

/// The settings a memory estimate depends on, so alternatives can be tried.
#[derive(Clone, Copy)]
struct Knobs {
    size: u32,
    style_scale: f32,
    optimizer: OptimizerMemory,
    /// Evaluations per stage (`--iters`), for what each one keeps: its loss, GIF frames.
    iters: usize,
}

/// Check sizes and memory; returns the estimate of the busiest stage for the start-up line.
pub fn check(
    args: &StylizeArgs,
    plan: &Plan,
    vgg: &Vgg,
    gif_frame_every: usize,
) -> Result<MemoryEstimate> {
    let layers: Vec<String> = plan
        .objective
        .content_layers
        .iter()
        .chain(&plan.objective.style_layers)
        .map(|l| l.layer.clone())
        .collect();
    // Total variation compares neighbouring pixels: two each way, whatever the layers.
    let need = SizeNeed::of(vgg, &layers)?.at_least(2);
    for &size in &plan.sizes {
        check_sizes(args, plan, &need, size)?;
    }

    let optimizer = match plan.optimizer {
        ImageOptimizer::Lbfgs(LbfgsConfig {
            history,
            history_precision,
            preconditioner,
            ..
        }) => OptimizerMemory::Lbfgs {
            history,
            bf16_history: history_precision == HistoryPrecision::Bf16,
            preconditioned: preconditioner.is_some(),
        },
        ImageOptimizer::Adam { .. } => OptimizerMemory::Adam,
    };
    let estimate_with = |k: Knobs| -> Result<MemoryEstimate> {
        let run = run_at(args, plan, k);
        let evaluations = evaluations_per_size(&plan.counts, k.iters)
            .iter()
            .fold(0u64, |sum, &n| sum.saturating_add(n as u64));
        let gif_frames = match &args.gif {
            Some(_) => {
                let every = args.save_every.unwrap_or(gif_frame_every).max(1) as u64;
                // One more per stage: its final picture ends the animation.
                let frames = evaluations.div_ceil(every) + plan.sizes.len() as u64;
                let frame = working_size(
                    (run.content.width as u32, run.content.height as u32),
                    GIF_LONG_SIDE.min(k.size),
                );
                frames.saturating_mul((frame.width * frame.height * 3) as u64)
            }
            None => 0,
        };
        // The loss after every evaluation is kept (the optimiser's history and the stage's
        // copy, and the report's JSON of it): what makes an absurd --iters too large, rather
        // than an allocation failure once the run starts.
        let per_evaluation = history_bytes_per_evaluation(args);
        Ok(
            estimate(vgg, &Workload::StyleTransfer(run), args.network.backend()?)?
                .with("the embedded weight file", args.network.weight_file_bytes())
                .with("GIF frames", gif_frames)
                .with(
                    "the loss history",
                    evaluations.saturating_mul(per_evaluation),
                ),
        )
    };
    // The finest stage is the busiest: memory grows with the size.
    let finest = *plan.sizes.last().unwrap_or(&args.size);
    let wanted = Knobs {
        size: finest,
        style_scale: args.style_scale,
        optimizer,
        iters: args.iters,
    };
    let estimate = estimate_with(wanted)?;
    let budget = args.network.memory_budget();
    let fits = |k: Knobs| {
        budget
            .as_ref()
            .is_none_or(|b| estimate_with(k).is_ok_and(|e| e.fits(b.bytes)))
    };
    // The default schedule ends at --size; only a list given with --multiscale sets its own.
    let size_flag = if plan.sizes_listed {
        "the finest --multiscale size"
    } else {
        "--size"
    };
    check_memory(
        &format!("stylizing at {finest} pixels"),
        &estimate,
        budget.as_ref(),
        || {
            let mut advice = Vec::new();
            // Only when the evaluations' own memory (their losses, GIF frames) is what does
            // not fit: the picture at that size already fits with a handful.
            let few = Knobs {
                iters: 10.min(args.iters),
                ..wanted
            };
            if args.iters > 10 && fits(few) {
                let iters = largest_fitting(10, args.iters as u64 - 1, |i| {
                    fits(Knobs {
                        iters: i as usize,
                        ..wanted
                    })
                });
                if let Some(iters) = iters {
                    advice.push(format!("--iters {iters}"));
                }
            }
            let smallest = smallest_long_side(plan.content_file, need.min_side);
            let size = largest_fitting(smallest as u64, (finest as u64).saturating_sub(1), |s| {
                fits(Knobs {
                    size: s as u32,
                    ..wanted
                })
            });
            if let Some(size) = size {
                advice.push(format!("{size_flag} {size}"));
            }
            if let OptimizerMemory::Lbfgs {
                history,
                bf16_history,
                preconditioned,
            } = optimizer
            {
                let fewer = largest_fitting(1, history.saturating_sub(1) as u64, |h| {
                    fits(Knobs {
                        optimizer: OptimizerMemory::Lbfgs {
                            history: h as usize,
                            bf16_history,
                            preconditioned,
                        },
                        ..wanted
                    })
                });
                if let Some(h) = fewer {
                    advice.push(format!("--size {finest} with --history {h}"));
                }
                if fits(Knobs {
                    optimizer: OptimizerMemory::Adam,
                    ..wanted
                }) {
                    advice.push(format!("--size {finest} with --optimizer adam"));
                }
            }
            if args.style_scale > 1.0 {
                let side =
                    largest_fitting(1, style_long_side(finest, args.style_scale) as u64, |s| {
                        fits(Knobs {
                            style_scale: s as f32 / finest as f32,
                            ..wanted
                        })
                    });
                if let Some(side) = side {
                    let scale = side as f64 / finest as f64;
                    if scale >= 1.0 {
                        advice.push(format!("--style-scale {}", two_digits(scale, false)));
                    }
                }
            }
            advice
        },
    )?;
    Ok(estimate)
}

/// Bytes kept per evaluation for its loss (see [`LOSS_HISTORY_BYTES`], [`REPORT_BYTES`]).
fn history_bytes_per_evaluation(args: &StylizeArgs) -> u64 {
    LOSS_HISTORY_BYTES
        + if args.report.is_some() {
            REPORT_BYTES
        } else {
            0
        }
}

/// The content and every style image at stage `size` must be large enough for `need`.
fn check_sizes(args: &StylizeArgs, plan: &Plan, need: &SizeNeed, size: u32) -> Result<()> {
    let content = working_size(plan.content_file, size);
    if !need.allows(content) {
        let smallest = smallest_long_side(plan.content_file, need.min_side);
        let flag = if plan.sizes.len() > 1 {
            "--multiscale"
        } else {
            "--size"
        };
        return Err(Error::invalid(
            flag,
            format!(
                "at {flag} {size}, {} ({}×{}) becomes {content}, but {}. Use {flag} \
                 {smallest} or more{}",
                args.content.display(),
                plan.content_file.0,
                plan.content_file.1,
                need.reason(),
                if plan.content_file.0.max(plan.content_file.1)
                    >= 8 * plan.content_file.0.min(plan.content_file.1)
                {
                    " (or crop the picture: it is very long and thin)"
                } else {
                    ""
                }
            ),
        ));
    }
    for (path, &file) in args.styles.iter().zip(&plan.style_files) {
        let style = working_size(file, style_long_side(size, args.style_scale));
        if !need.allows(style) {
            let smallest = smallest_long_side(file, need.min_side);
            let scale = two_digits(smallest as f64 / size as f64, true);
            return Err(Error::invalid(
                "--style-scale",
                format!(
                    "with --size {size} and --style-scale {} the style image {} ({}×{}) \
                     becomes {style}, but {}. Use --style-scale {scale} or more",
                    args.style_scale,
                    path.display(),
                    file.0,
                    file.1,
                    need.reason()
                ),
            ));
        }
    }
    Ok(())
}

/// The memory-relevant description of the run's stage at `k`.
fn run_at(args: &StylizeArgs, plan: &Plan, k: Knobs) -> StyleTransferRun {
    let content = working_size(plan.content_file, k.size);
    let style_side = style_long_side(k.size, k.style_scale);
    let styles: Vec<ImageSize> = plan
        .style_files
        .iter()
        .map(|&f| working_size(f, style_side))
        .collect();
    let as_size = |f: (u32, u32)| ImageSize::new(f.0 as usize, f.1 as usize);
    let mut decodes = vec![Decode {
        file: as_size(plan.content_file),
        working: content,
    }];
    decodes.extend(plan.style_files.iter().zip(&styles).map(|(&f, &s)| Decode {
        file: as_size(f),
        working: s,
    }));
    if let (Init::File(_), Some(f)) = (&plan.init, plan.init_file) {
        decodes.push(Decode {
            file: as_size(f),
            working: content,
        });
    }
    let names = |ls: &[engine::style::LayerWeight]| ls.iter().map(|l| l.layer.clone()).collect();
    StyleTransferRun {
        content,
        styles,
        content_layers: names(&plan.objective.content_layers),
        style_layers: names(&plan.objective.style_layers),
        optimizer: k.optimizer,
        // The L-BFGS pairs follow --iters too, but --history is the advice for those.
        evaluations: args.iters,
        decodes,
    }
}

/// `x` to two significant digits, rounded up (a scale surely large enough) or down (one
/// that surely fits), as it would be typed: `0.036`, `3.2`, `13`.
fn two_digits(x: f64, up: bool) -> String {
    let decimals = (1 - x.abs().log10().floor() as i32).max(0) as usize;
    let factor = 10f64.powi(decimals as i32);
    let value = if up {
        (x * factor).ceil()
    } else {
        (x * factor).floor()
    } / factor;
    format!("{value:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_are_written_as_typed() {
        assert_eq!(two_digits(0.0355, true), "0.036");
        assert_eq!(two_digits(3.21, false), "3.2");
        assert_eq!(two_digits(12.5, true), "13");
        assert_eq!(style_long_side(512, 0.5), 256);
        assert_eq!(style_long_side(512, 1e-9), 1);
    }
}
