//! `picasso stylize`: the whole style-transfer run — plan, check that it fits, load, optimise
//! scale by scale, save (atomically, checkpointing as it goes), report.

pub(crate) mod args;
mod diagnose;
mod fit;
mod images;
mod ledger;
mod masks;
pub(crate) mod parts;
mod plan;
mod progress;
mod report;
mod schedule;

pub use args::StylizeArgs;

use crate::resources::memory_line;
use args::Bf16Arg;
use engine::cpu::packed_gemm_bf16::Bf16Use;
use engine::io::frames::{list_frames, save_frame, write_gif, GifOptions};
use engine::io::image::resize_long_side;
use engine::io::output_lock::OutputLock;
use engine::io::{save_image, tensor_to_rgb8};
use engine::style::{optimise, Control, Objective, StopReason};
use engine::{Error, Result, Tensor};
use images::{finished_image, load_scale, starting_image, Handover};
use plan::{Init, Plan};
use progress::ProgressView;
use report::{write_report, MemoryStats, ScaleStats};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use weights_tools::{say, tell};

/// Save the output this often even without --save-every, so a killed run keeps recent work.
const CHECKPOINT_EVERY: usize = 20;
/// GIF frames are taken this often when --save-every is not given.
const GIF_FRAME_EVERY: usize = 10;
/// The exit status of a run stopped by a signal (128 + SIGINT, as shells report Ctrl-C).
const INTERRUPTED: u8 = 130;

/// Ctrl-C or SIGTERM (a `kill`, a job scheduler's time limit, a closing terminal) sets a
/// flag; the loop sees it after the current evaluation, saves the image it stands on and
/// stops. A second signal, for someone who cannot wait that long, exits at once: temporary and
/// lock files are removed first (exiting runs no destructors), and the message says whether a
/// checkpoint exists.
fn interrupt_flag(output: &std::path::Path, checkpointed: Arc<AtomicBool>) -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    let output = output.display().to_string();
    // If a handler is already installed (tests calling run twice), keep going without one.
    let _ = ctrlc::set_handler(move || {
        if handler_flag.swap(true, Ordering::SeqCst) {
            weights_tools::io::cleanup::remove_all();
            if checkpointed.load(Ordering::SeqCst) {
                tell!("\nsecond interrupt: stopping now; the last checkpoint is in {output}");
            } else {
                tell!("\nsecond interrupt: stopping now; nothing was saved yet");
            }
            std::process::exit(INTERRUPTED.into());
        }
        tell!("\nstopping after this evaluation (interrupt again to stop at once)…");
    });
    flag
}

/// The last image of a scale that is safe to keep: its loss finite and not above the loss the
/// scale started from. After a divergence (or fixed steps that climbed), this, not the last
/// finite image, is what is saved.
pub(crate) struct LastGood {
    start: Option<f64>,
    image: Option<Tensor>,
    terms: Option<engine::style::LossTerms>,
    total: f64,
}

impl LastGood {
    pub(crate) fn new() -> Self {
        LastGood {
            start: None,
            image: None,
            terms: None,
            total: f64::INFINITY,
        }
    }

    /// After each evaluation: remember the evaluated image if its loss qualifies.
    pub(crate) fn see(&mut self, p: &engine::style::Progress) {
        let start = *self.start.get_or_insert(p.total);
        if p.total.is_finite() && p.total <= start {
            self.image = Some(p.image.clone());
            self.terms = Some(p.terms);
            self.total = p.total;
        }
    }

    /// The picture to save or show now: the accepted image, not a line-search trial that may be
    /// rejected; but never one whose loss climbed above the start (fixed steps can), which the
    /// last good image replaces.
    pub(crate) fn standing<'a>(&'a self, p: &engine::style::Progress<'a>) -> &'a Tensor {
        let climbed = std::ptr::eq(p.current, p.image) && self.total < p.total;
        match (&self.image, climbed) {
            (Some(image), true) => image,
            _ => p.current,
        }
    }

    /// The outcome to keep: the optimiser's (after a divergence, its last finite image), unless
    /// that ended above the start.
    pub(crate) fn keep(&self, outcome: engine::style::Outcome) -> (engine::style::Outcome, bool) {
        let start = self.start.unwrap_or(f64::INFINITY);
        // NaN counts as worse: only a loss known to be at most the start is kept as is.
        let worse = outcome.total.is_nan() || outcome.total > start;
        match (&self.image, self.terms, worse) {
            (Some(image), Some(terms), true) => (
                engine::style::Outcome {
                    image: image.clone(),
                    terms,
                    total: self.total,
                    ..outcome
                },
                true,
            ),
            _ => (outcome, false),
        }
    }
}

pub fn run(args: StylizeArgs) -> Result<ExitCode> {
    let plan = Plan::from_args(&args)?;
    // Every file the run writes, frames included, is locked before anything is.
    let _lock = OutputLock::acquire_all(&plan.outputs)?;
    let checkpointed = Arc::new(AtomicBool::new(false));
    let interrupted = interrupt_flag(&args.output, checkpointed.clone());
    // Before the first convolution: the transformed weights are made for this choice.
    let bf16 = engine::cpu::packed_gemm_bf16::choose_bf16_use(args.bf16.into());
    let vgg = args.network.load()?;
    let estimate = fit::check(&args, &plan, &vgg, GIF_FRAME_EVERY)?;
    let budget = args.network.memory_budget();
    let view = ProgressView::new(&plan.sizes, &plan.evaluations, plan.time_budget, args.quiet);
    let deadlines = plan.deadlines();
    let budget_note = match plan.time_budget {
        Some(budget) => format!(", time budget {:.0} s", budget.as_secs_f64()),
        None => String::new(),
    };
    view.println(&format!(
        "picasso: {} in the style of {} — {}, weights: {}, device: {}, memory: {}{budget_note}",
        args.content.display(),
        args.styles
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" + "),
        schedule::describe(&plan.sizes, &plan.evaluations),
        args.network.weights_name(),
        args.network.chosen()?.line(),
        memory_line(&estimate, budget.as_ref())
    ));
    if args.bf16 != Bf16Arg::Off && bf16 == Bf16Use::Off {
        view.println(
            "warning: --bf16 needs a CPU with AVX-512 BF16 (and PICASSO_NO_AVX512 unset); \
             this run computes in f32 throughout",
        );
    }
    for warning in warnings(&args, &plan)? {
        view.println(&format!("warning: {warning}"));
    }

    let mut scales: Vec<ScaleStats> = Vec::new();
    let mut previous: Option<Handover> = None;
    let mut gif_frames: Vec<image::RgbImage> = Vec::new();
    let gif_options = GifOptions::default();
    let gif_frame = |finished: &Tensor| -> Result<image::RgbImage> {
        // Shrunk now, as the GIF will be: a few hundred full-size frames would not fit in
        // memory at a large --size.
        let mut frame = tensor_to_rgb8(finished)?;
        if let Some(side) = gif_options.max_long_side {
            if frame.width().max(frame.height()) > side {
                frame = resize_long_side(&frame, side)?;
            }
        }
        Ok(frame)
    };
    let mut frame_number = 0;
    let mut last = None;
    let mut kept_earlier = false;
    let run_start = Instant::now();
    for (stage, &size) in plan.sizes.iter().enumerate() {
        if interrupted.load(Ordering::SeqCst) {
            break;
        }
        let images = load_scale(&args, &plan, size)?.moved_to(vgg.device())?;
        let init = starting_image(&plan.init, previous.as_ref(), &images, args.seed)?
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
        let mut good = LastGood::new();
        let mut last_gif_evaluation = 0;
        // Time spent saving checkpoints, frames and GIF frames inside the loop: reported apart
        // so that a benchmark can time the optimisation alone.
        let mut saving = std::time::Duration::ZERO;
        let mut ledger = ledger::LoopLedger::start(vgg.device())?;
        // With --time, this size hands over at its deadline (see `schedule.rs`).
        let deadline = deadlines.as_ref().map(|d| run_start + d[stage]);
        let mut time_up = false;
        let evaluations = plan.evaluations[stage];
        let result = optimise(&vgg, &objective, &init, plan.optimizer, evaluations, |p| {
            view.update(stage, &scale_label, p.evaluation, p.total);
            good.see(p);
            let is_checkpoint = p.evaluation % CHECKPOINT_EVERY == 0;
            let wants_frame = args.save_every.is_some_and(|n| p.evaluation % n == 0);
            let wants_gif = args.gif.is_some()
                && p.evaluation % args.save_every.unwrap_or(GIF_FRAME_EVERY) == 0;
            if is_checkpoint || wants_frame || wants_gif {
                let saving_start = Instant::now();
                ledger.saving_begins()?;
                let finished = finished_image(&args, good.standing(p), &images)?;
                if is_checkpoint {
                    save_image(&finished, &args.output, &plan.inputs)?;
                    checkpointed.store(true, Ordering::SeqCst);
                }
                if wants_frame {
                    frame_number += 1;
                    let n = scales.iter().map(|s| s.evaluations).sum::<usize>() + p.evaluation;
                    save_frame(&finished, &args.output, n, &plan.inputs)?;
                }
                if wants_gif {
                    gif_frames.push(gif_frame(&finished)?);
                    last_gif_evaluation = p.evaluation;
                }
                ledger.saving_ends()?;
                saving += saving_start.elapsed();
            }
            time_up = deadline.is_some_and(|d| Instant::now() >= d);
            Ok(if interrupted.load(Ordering::SeqCst) || time_up {
                Control::Stop
            } else {
                Control::Continue
            })
        });
        let outcome = match result {
            Ok(outcome) => outcome,
            // Not even the starting image has a finite loss: say which term overflows.
            Err(Error::NonFinite { .. }) => {
                return Err(diagnose::unusable_start(
                    "stylize",
                    &objective,
                    &vgg,
                    &init,
                    &plan.objective,
                ))
            }
            Err(e) => return Err(e),
        };
        let diverged_terms = outcome.terms;
        let (outcome, kept) = good.keep(outcome);
        kept_earlier |= kept;
        let seconds = start.elapsed().as_secs_f64();
        let device_ledger = ledger.finish()?;
        scales.push(ScaleStats::new(
            size,
            &outcome,
            seconds,
            saving.as_secs_f64(),
            device_ledger,
            time_up,
        ));
        view.println(&format!(
            "{scale_label} {} evaluations in {seconds:.1} s ({:.3} s each), loss {:.4e}",
            outcome.evaluations,
            seconds / outcome.evaluations.max(1) as f64,
            outcome.total
        ));
        let finished = finished_image(&args, &outcome.image, &images)?;
        save_image(&finished, &args.output, &plan.inputs)?;
        checkpointed.store(true, Ordering::SeqCst);
        // The GIF ends on the picture that was saved, however few evaluations there were.
        if args.gif.is_some() && (last_gif_evaluation != outcome.evaluations || kept) {
            gif_frames.push(gif_frame(&finished)?);
        }
        // The time budget ends a size, not the run; Ctrl-C or divergence ends the run.
        let stopped_early = match outcome.reason {
            StopReason::Interrupted => interrupted.load(Ordering::SeqCst),
            StopReason::Diverged => true,
            _ => false,
        };
        previous = Some(Handover::new(&outcome.image, &images)?);
        last = Some((outcome, diverged_terms));
        if stopped_early {
            break;
        }
    }
    view.finish();
    let Some((outcome, diverged_terms)) = last else {
        tell!("interrupted before the first evaluation; nothing was written");
        return Ok(ExitCode::from(INTERRUPTED));
    };
    say!("wrote {}", args.output.display());
    if frame_number > 0 {
        say!("wrote {frame_number} intermediate images beside it");
    }
    if let Some(gif) = &args.gif {
        let frames = gif_frames.into_iter().map(Ok);
        let written = write_gif(gif, frames, &gif_options, &plan.inputs)?;
        say!("wrote {} ({written} frames)", gif.display());
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
        say!("wrote {}", path.display());
    }
    // A stop asked for by the time budget is a normal end; only Ctrl-C is an interruption.
    Ok(match outcome.reason {
        StopReason::Interrupted if interrupted.load(Ordering::SeqCst) => {
            tell!(
                "interrupted: the image so far is saved in {}",
                args.output.display()
            );
            ExitCode::from(INTERRUPTED)
        }
        StopReason::Diverged => {
            tell!(
                "error: the loss became NaN or infinite; the last image whose loss was finite \
                 and not above the start (loss {:.4e}) is saved in {}. Why: {}",
                outcome.total,
                args.output.display(),
                diagnose::advice(&diverged_terms, &plan.objective)
            );
            ExitCode::FAILURE
        }
        StopReason::Budget | StopReason::Converged | StopReason::Interrupted if kept_earlier => {
            tell!(
                "warning: the loss ended above where it started, so the last image whose loss \
                 was not above the start (loss {:.4e}) is saved in {}; a smaller --lr, or the \
                 default line search, keeps it going down",
                outcome.total,
                args.output.display()
            );
            ExitCode::SUCCESS
        }
        StopReason::Budget | StopReason::Converged | StopReason::Interrupted => ExitCode::SUCCESS,
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
