//! `picasso stylize`: the whole style-transfer run — plan, load, optimise scale by scale,
//! save (atomically, checkpointing as it goes), report.

mod args;
mod images;
mod plan;
mod progress;
mod report;

pub use args::StylizeArgs;

use engine::io::frames::{save_frame, write_gif_from_tensors, GifOptions};
use engine::io::save_image;
use engine::style::{optimise, Control, Objective, StopReason};
use engine::{Result, Tensor};
use images::{finished_image, initial_image, load_scale, upsample};
use plan::Plan;
use progress::ProgressView;
use report::{write_report, ScaleStats};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Save the output this often even without --save-every, so a killed run keeps recent work.
const CHECKPOINT_EVERY: usize = 20;
/// GIF frames are taken this often when --save-every is not given.
const GIF_FRAME_EVERY: usize = 10;

/// Ctrl-C sets a flag; the loop sees it after the current evaluation and stops cleanly.
fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    // If a handler is already installed (tests calling run twice), keep going without one.
    let _ = ctrlc::set_handler(move || handler_flag.store(true, Ordering::SeqCst));
    flag
}

pub fn run(args: StylizeArgs) -> Result<ExitCode> {
    let plan = Plan::from_args(&args)?;
    let vgg = args.network.load()?;
    let interrupted = interrupt_flag();
    let total_evaluations = args.iters * plan.sizes.len();
    let view = ProgressView::new(total_evaluations, args.quiet);
    view.println(&format!(
        "picasso: {} in the style of {} — sizes {:?}, {} evaluations per size, weights: {}",
        args.content.display(),
        args.styles
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" + "),
        plan.sizes,
        args.iters,
        args.network.weights_name()
    ));

    let mut scales: Vec<ScaleStats> = Vec::new();
    let mut previous: Option<Tensor> = None;
    let mut gif_frames: Vec<Tensor> = Vec::new();
    let mut frame_number = 0;
    let mut last = None;
    for (stage, &size) in plan.sizes.iter().enumerate() {
        let images = load_scale(&args, size)?;
        let init = match &previous {
            None => initial_image(&plan.init, &images, args.seed)?,
            Some(p) => upsample(p, &images.content)?,
        };
        let styles: Vec<(Tensor, f32)> = images
            .styles
            .iter()
            .cloned()
            .zip(plan.blend.iter().copied())
            .collect();
        let objective = Objective::new(&vgg, plan.objective.clone(), &images.content, &styles)?;
        let scale_label = if plan.sizes.len() > 1 {
            format!("[{}/{} {size}px]", stage + 1, plan.sizes.len())
        } else {
            format!("[{size}px]")
        };
        let start = Instant::now();
        let outcome = optimise(&vgg, &objective, &init, plan.optimizer, args.iters, |p| {
            view.update(&scale_label, p.evaluation, p.total);
            let is_checkpoint = p.evaluation % CHECKPOINT_EVERY == 0;
            let wants_frame = args.save_every.is_some_and(|n| p.evaluation % n == 0);
            let wants_gif = args.gif.is_some()
                && p.evaluation % args.save_every.unwrap_or(GIF_FRAME_EVERY) == 0;
            if is_checkpoint || wants_frame || wants_gif {
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
                    gif_frames.push(finished);
                }
            }
            Ok(if interrupted.load(Ordering::SeqCst) {
                Control::Stop
            } else {
                Control::Continue
            })
        })?;
        let seconds = start.elapsed().as_secs_f64();
        let shape = outcome.image.shape().to_vec();
        scales.push(ScaleStats {
            size,
            width: shape[3],
            height: shape[2],
            evaluations: outcome.evaluations,
            seconds,
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
        return Ok(ExitCode::FAILURE);
    };
    println!("wrote {}", args.output.display());
    if frame_number > 0 {
        println!("wrote {frame_number} intermediate images beside it");
    }
    if let Some(gif) = &args.gif {
        let written =
            write_gif_from_tensors(gif, &gif_frames, &GifOptions::default(), &plan.inputs)?;
        println!("wrote {} ({written} frames)", gif.display());
    }
    if let Some(path) = &args.report {
        write_report(
            path,
            &args,
            &plan,
            &args.network.weights_name(),
            outcome.terms,
            outcome.total,
            &scales,
        )?;
        println!("wrote {}", path.display());
    }
    Ok(match outcome.reason {
        StopReason::Interrupted => {
            eprintln!(
                "interrupted: the image so far is saved in {}",
                args.output.display()
            );
            ExitCode::from(130)
        }
        StopReason::Diverged => {
            eprintln!(
                "error: the loss became NaN or infinite; the last good image is saved in {}. \
                 Try a smaller --lr or lower --style-weight.",
                args.output.display()
            );
            ExitCode::FAILURE
        }
        StopReason::Budget | StopReason::Converged => ExitCode::SUCCESS,
    })
}
