//! `picasso stylize`: the whole style-transfer run — plan, check that it fits, load, optimise
//! scale by scale, save (atomically, checkpointing as it goes), report.

mod args;
mod diagnose;
mod fit;
mod images;
mod ledger;
mod masks;
mod plan;
mod progress;
mod report;

pub use args::StylizeArgs;

use crate::resources::memory_line;
use engine::io::frames::{list_frames, save_frame, write_gif, GifOptions};
use engine::io::image::resize_long_side;
use engine::io::output_lock::OutputLock;
use engine::io::{save_image, tensor_to_rgb8};
use engine::style::{optimise, Control, Objective, StopReason};
use engine::{Error, Result, Tensor};
use images::{finished_image, initial_image, load_scale, upsample};
use plan::{Init, Plan};
use progress::ProgressView;
use report::{write_report, MemoryStats, ScaleStats};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Save the output this often even without --save-every, so a killed run keeps recent work.
const CHECKPOINT_EVERY: usize = 20;
/// GIF frames are taken this often when --save-every is not given.
const GIF_FRAME_EVERY: usize = 10;
/// The exit status of a run stopped by a signal (128 + SIGINT, as shells report Ctrl-C).
const INTERRUPTED: u8 = 130;

/// Ctrl-C or SIGTERM (a `kill`, a job scheduler's time limit, a closing terminal) sets a
/// flag; the loop sees it after the current evaluation, saves the image it stands on and
/// stops. A second signal, for someone who cannot wait that long, exits at once: the last
/// checkpoint stays on disk.
fn interrupt_flag(output: &std::path::Path) -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    let output = output.display().to_string();
    // If a handler is already installed (tests calling run twice), keep going without one.
    let _ = ctrlc::set_handler(move || {
        if handler_flag.swap(true, Ordering::SeqCst) {
            eprintln!("\nsecond interrupt: stopping now; the last checkpoint is in {output}");
            std::process::exit(INTERRUPTED.into());
        }
        eprintln!("\nstopping after this evaluation (interrupt again to stop at once)…");
    });
    flag
}

pub fn run(args: StylizeArgs) -> Result<ExitCode> {
    let plan = Plan::from_args(&args)?;
    let _lock = OutputLock::acquire(&args.output)?;
    let interrupted = interrupt_flag(&args.output);
    let vgg = args.network.load()?;
    let estimate = fit::check(&args, &plan, &vgg, GIF_FRAME_EVERY)?;
    let budget = args.network.memory_budget();
    let total_evaluations = args.iters * plan.sizes.len();
    let view = ProgressView::new(total_evaluations, args.quiet);
    view.println(&format!(
        "picasso: {} in the style of {} — sizes {:?}, {} evaluations per size, weights: {}, \
         device: {}, memory: {}",
        args.content.display(),
        args.styles
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" + "),
        plan.sizes,
        args.iters,
        args.network.weights_name(),
        args.network.chosen()?.line(),
        memory_line(&estimate, budget.as_ref())
    ));
    for warning in warnings(&args, &plan)? {
        view.println(&format!("warning: {warning}"));
    }

    let mut scales: Vec<ScaleStats> = Vec::new();
    let mut previous: Option<Tensor> = None;
    let mut gif_frames: Vec<image::RgbImage> = Vec::new();
    let gif_options = GifOptions::default();
    let mut frame_number = 0;
    let mut last = None;
    for (stage, &size) in plan.sizes.iter().enumerate() {
        if interrupted.load(Ordering::SeqCst) {
            break;
        }
        let images = load_scale(&args, &plan, size)?.moved_to(vgg.device())?;
        let init = match &previous {
            None => initial_image(&plan.init, &images, args.seed)?,
            Some(p) => upsample(p, &images.content)?,
        }
        .to_device(vgg.device())?;
        let styles: Vec<(Tensor, f32)> = images
            .styles
            .iter()
            .cloned()
            .zip(plan.blend.iter().copied())
            .collect();
        let objective = Objective::with_masks(
            &vgg,
            plan.objective.clone(),
            &images.content,
            &styles,
            &images.masks,
        )?;
        let scale_label = if plan.sizes.len() > 1 {
            format!("[{}/{} {size}px]", stage + 1, plan.sizes.len())
        } else {
            format!("[{size}px]")
        };
        let start = Instant::now();
        // Time spent saving checkpoints, frames and GIF frames inside the loop: reported apart
        // so that a benchmark can time the optimisation alone.
        let mut saving = std::time::Duration::ZERO;
        let mut ledger = ledger::LoopLedger::start(vgg.device())?;
        let result = optimise(&vgg, &objective, &init, plan.optimizer, args.iters, |p| {
            view.update(&scale_label, p.evaluation, p.total);
            let is_checkpoint = p.evaluation % CHECKPOINT_EVERY == 0;
            let wants_frame = args.save_every.is_some_and(|n| p.evaluation % n == 0);
            let wants_gif = args.gif.is_some()
                && p.evaluation % args.save_every.unwrap_or(GIF_FRAME_EVERY) == 0;
            if is_checkpoint || wants_frame || wants_gif {
                let saving_start = Instant::now();
                ledger.saving_begins()?;
                // The accepted image, not a line-search trial that may be rejected.
                let finished = finished_image(&args, p.current, &images)?;
                if is_checkpoint {
                    save_image(&finished, &args.output, &plan.inputs)?;
                }
                if wants_frame {
                    frame_number += 1;
                    let n = scales.iter().map(|s| s.evaluations).sum::<usize>() + p.evaluation;
                    save_frame(&finished, &args.output, n, &plan.inputs)?;
                }
                if wants_gif {
                    // Shrunk now, as the GIF will be: a few hundred full-size frames would
                    // not fit in memory at a large --size.
                    let mut frame = tensor_to_rgb8(&finished)?;
                    if let Some(side) = gif_options.max_long_side {
                        if frame.width().max(frame.height()) > side {
                            frame = resize_long_side(&frame, side)?;
                        }
                    }
                    gif_frames.push(frame);
                }
                ledger.saving_ends()?;
                saving += saving_start.elapsed();
            }
            Ok(if interrupted.load(Ordering::SeqCst) {
                Control::Stop
            } else {
                Control::Continue
            })
        });
        let outcome = match result {
            Ok(outcome) => outcome,
            // Not even the starting image has a finite loss: say which term overflows.
            Err(Error::NonFinite { .. }) => {
                let why = match objective.evaluate(&vgg, &init) {
                    Ok(eval) => diagnose::advice(&eval.terms, &plan.objective),
                    Err(e) => e.to_string(),
                };
                return Err(Error::invalid(
                    "stylize",
                    format!("the loss of the starting image is not a finite number: {why}"),
                ));
            }
            Err(e) => return Err(e),
        };
        let seconds = start.elapsed().as_secs_f64();
        let device_ledger = ledger.finish()?;
        let shape = outcome.image.shape().to_vec();
        scales.push(ScaleStats {
            size,
            width: shape[3],
            height: shape[2],
            evaluations: outcome.evaluations,
            seconds,
            saving_seconds: saving.as_secs_f64(),
            ledger: device_ledger,
            history: outcome.history.clone(),
            stop_reason: format!("{:?}", outcome.reason).to_lowercase(),
        });
        view.println(&format!(
            "{scale_label} {} evaluations in {seconds:.1} s ({:.3} s each), loss {:.4e}",
            outcome.evaluations,
            seconds / outcome.evaluations.max(1) as f64,
            outcome.total
        ));
        let finished = finished_image(&args, &outcome.image, &images)?;
        save_image(&finished, &args.output, &plan.inputs)?;
        let stopped_early = matches!(
            outcome.reason,
            StopReason::Interrupted | StopReason::Diverged
        );
        previous = Some(outcome.image.clone());
        last = Some(outcome);
        if stopped_early {
            break;
        }
    }
    view.finish();
    let Some(outcome) = last else {
        eprintln!("interrupted before the first evaluation; nothing was written");
        return Ok(ExitCode::from(INTERRUPTED));
    };
    println!("wrote {}", args.output.display());
    if frame_number > 0 {
        println!("wrote {frame_number} intermediate images beside it");
    }
    if let Some(gif) = &args.gif {
        if gif_frames.is_empty() {
            println!("no GIF: the run stopped before its first frame");
        } else {
            let frames = gif_frames.into_iter().map(Ok);
            let written = write_gif(gif, frames, &gif_options, &plan.inputs)?;
            println!("wrote {} ({written} frames)", gif.display());
        }
    }
    if let Some(path) = &args.report {
        let memory = MemoryStats {
            estimate: &estimate,
            available: budget.as_ref().map(|b| b.bytes),
            peak_resident: engine::io::host_memory::peak_resident_bytes(),
        };
        write_report(
            path,
            &args,
            &plan,
            &args.network.weights_name(),
            &outcome,
            &scales,
            &memory,
        )?;
        println!("wrote {}", path.display());
    }
    Ok(match outcome.reason {
        StopReason::Interrupted => {
            eprintln!(
                "interrupted: the image so far is saved in {}",
                args.output.display()
            );
            ExitCode::from(INTERRUPTED)
        }
        StopReason::Diverged => {
            eprintln!(
                "error: the loss became NaN or infinite; the last good image is saved in {}. \
                 Why: {}",
                args.output.display(),
                diagnose::advice(&outcome.terms, &plan.objective)
            );
            ExitCode::FAILURE
        }
        StopReason::Budget | StopReason::Converged => ExitCode::SUCCESS,
    })
}

/// Things the user should know before the run, that do not stop it.
fn warnings(args: &StylizeArgs, plan: &Plan) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    if let (Init::File(path), Some((w, h))) = (&plan.init, plan.init_file) {
        let (cw, ch) = plan.content_file;
        let ratio = |w: u32, h: u32| w as f64 / h.max(1) as f64;
        if (ratio(w, h) / ratio(cw, ch) - 1.0).abs() > 0.01 {
            warnings.push(format!(
                "--init {} is {w}×{h}, a different shape from the content ({cw}×{ch}); it is \
                 stretched to the content's shape",
                path.display()
            ));
        }
    }
    if args.save_every.is_some() {
        let old = list_frames(&args.output)?;
        if let (Some(first), Some(last)) = (old.first(), old.last()) {
            warnings.push(format!(
                "{} numbered images from an earlier run are beside {} ({} … {}); this run \
                 replaces those it reaches and leaves the others",
                old.len(),
                args.output.display(),
                first.display(),
                last.display()
            ));
        }
    }
    Ok(warnings)
}
