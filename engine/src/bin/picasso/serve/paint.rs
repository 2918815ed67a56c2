//! One job's optimisation: `picasso stylize`'s run (its plan, size and memory checks, scales,
//! colour handling, checkpoints and report), with the page's picture and loss curve fed as it
//! goes and the job's Stop button in place of Ctrl-C. The page's time limit is `stylize --time`:
//! split over the sizes, so a job always ends at the size asked for.

use super::jobs::{Job, State};
use super::settings::JobSettings;
use crate::stylize::parts::{
    diagnose_advice, finished_image, fit_check, load_scale, starting_image, unusable_start,
    write_report, Handover, Init, LastGood, MemoryStats, Plan, ScaleStats,
};
use engine::io::save::{encode_rgb8, OutputFormat};
use engine::io::{save_image, tensor_to_rgb8};
use engine::models::Vgg;
use engine::style::{optimise, Control, Objective, StopReason};
use engine::{Error, Result, Tensor};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The output is saved this often (as `stylize` does), so a crash keeps recent work.
const CHECKPOINT_EVERY: usize = 20;

/// How a job that did not fail ended.
pub struct Painted {
    pub state: State,
    pub reason: String,
}

/// Run `job` with `settings` on `vgg`, publishing its progress; the result and the report
/// are written to the job's folder.
pub fn paint(job: &Job, settings: &JobSettings, vgg: &Vgg) -> Result<Painted> {
    let args = &settings.args;
    let mut plan = Plan::from_args(args)?;
    // The report says which budget the job ran under, as `stylize --time`'s does.
    plan.time_budget = settings.time_limit.map(Duration::from_secs_f64);
    // No GIF: the frame interval does not matter.
    let estimate = fit_check(args, &plan, vgg, 1)?;
    let planned = plan.evaluations.iter().sum();
    job.update(|p| p.evaluations = planned);
    let started = Instant::now();
    // Each size hands over at its share of the limit (see `stylize/schedule.rs`).
    let deadlines = plan.deadlines();

    let mut scales: Vec<ScaleStats> = Vec::new();
    let mut previous: Option<Handover> = None;
    let mut last = None;
    // Whether a scale ended above its starting loss, so an earlier picture was kept.
    let mut kept_earlier = false;
    // After a divergence, the terms that explain it.
    let mut diverged_terms = None;
    for (stage, (&size, &evaluations)) in plan.sizes.iter().zip(&plan.evaluations).enumerate() {
        if job.stop_requested() {
            break;
        }
        let deadline = deadlines.as_ref().map(|d| started + d[stage]);
        let time_up = || deadline.is_some_and(|d| Instant::now() >= d);
        let images = load_scale(args, &plan, size)?.moved_to(vgg.device())?;
        let init = starting_image(&plan.init, previous.as_ref(), &images, args.seed)?
            .to_device(vgg.device())?;
        if previous.is_none() && plan.init == Init::Content {
            // The photo itself is the first picture the page shows.
            publish(job, &finished_image(args, &init, &images)?)?;
        }
        let styles: Vec<(Tensor, f32)> = images
            .styles
            .iter()
            .cloned()
            .zip(plan.blend.iter().copied())
            .collect();
        let objective = Objective::with_masks(
            vgg,
            plan.objective.clone(),
            &images.content,
            &styles,
            &images.masks,
        )?;
        let done_before: usize = scales.iter().map(|s| s.evaluations).sum();
        let start = Instant::now();
        // As `stylize` does: never show or keep a picture whose loss climbed above the start.
        let mut good = LastGood::new();
        // Time spent publishing previews and saving checkpoints, reported apart as `stylize`
        // does.
        let mut saving = std::time::Duration::ZERO;
        let result = optimise(vgg, &objective, &init, plan.optimizer, evaluations, |p| {
            let n = done_before + p.evaluation;
            job.update(|progress| {
                progress.evaluation = n;
                progress.total = Some(p.total);
                progress.history.push((n, p.total));
                progress.first_evaluation.get_or_insert_with(Instant::now);
            });
            good.see(p);
            let preview = p.evaluation % settings.preview_every == 0;
            let checkpoint = p.evaluation % CHECKPOINT_EVERY == 0;
            if preview || checkpoint {
                let saving_start = Instant::now();
                let finished = finished_image(args, good.standing(p), &images)?;
                if preview {
                    publish(job, &finished)?;
                }
                if checkpoint {
                    save_image(&finished, &args.output, &plan.inputs)?;
                }
                saving += saving_start.elapsed();
            }
            Ok(if job.stop_requested() || time_up() {
                Control::Stop
            } else {
                Control::Continue
            })
        });
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(Error::NonFinite { .. }) => {
                return Err(unusable_start(
                    "serve",
                    &objective,
                    vgg,
                    &init,
                    &plan.objective,
                ))
            }
            Err(e) => return Err(e),
        };
        diverged_terms = Some(outcome.terms);
        let (outcome, kept) = good.keep(outcome);
        kept_earlier |= kept;
        // The page's loss is the kept picture's.
        let kept_total = outcome.total;
        job.update(|p| p.total = Some(kept_total));
        scales.push(ScaleStats::new(
            size,
            &outcome,
            start.elapsed().as_secs_f64(),
            saving.as_secs_f64(),
            // The device ledger is `stylize --report`'s; a served job's report leaves it out.
            None,
            // A job is interrupted by its Stop button or else by its time limit.
            !job.stop_requested(),
        ));
        let finished = finished_image(args, &outcome.image, &images)?;
        save_image(&finished, &args.output, &plan.inputs)?;
        publish(job, &finished)?;
        // The time limit ends a size, not the job; the Stop button or a divergence ends it.
        let stopped_early = match outcome.reason {
            StopReason::Interrupted => job.stop_requested(),
            StopReason::Diverged => true,
            _ => false,
        };
        previous = Some(Handover::new(&outcome.image, &images)?);
        last = Some(outcome);
        if stopped_early {
            break;
        }
    }
    let Some(outcome) = last else {
        return Ok(Painted {
            state: State::Stopped,
            reason: "stopped before the first evaluation".into(),
        });
    };
    let report = args.report.as_ref().ok_or_else(|| {
        Error::invalid("serve", "a job always has a report file; this one has none")
    })?;
    let memory = MemoryStats {
        estimate: &estimate,
        available: args.network.memory_budget().map(|b| b.bytes),
        peak_resident: engine::io::host_memory::peak_resident_bytes(),
    };
    write_report(
        report,
        args,
        &plan,
        &args.network.weights_name(),
        &outcome,
        &scales,
        &memory,
    )?;
    job.update(|p| p.report_written = true);
    Ok(match outcome.reason {
        StopReason::Interrupted if job.stop_requested() => Painted {
            state: State::Stopped,
            reason: "stopped".into(),
        },
        StopReason::Interrupted => Painted {
            state: State::Done,
            reason: "time limit".into(),
        },
        StopReason::Diverged => {
            return Err(Error::invalid(
                "serve",
                format!(
                    "the loss became NaN or infinite; the last picture whose loss was finite \
                     and not above the start is kept. Why: {}",
                    diagnose_advice(&diverged_terms.unwrap_or(outcome.terms), &plan.objective)
                ),
            ))
        }
        StopReason::Budget | StopReason::Converged if kept_earlier => Painted {
            state: State::Done,
            reason: "the loss ended above its start, so the last picture not above it is kept \
                     (a smaller lr, or the default line search, keeps it going down)"
                .into(),
        },
        StopReason::Budget => Painted {
            state: State::Done,
            reason: "budget".into(),
        },
        StopReason::Converged => Painted {
            state: State::Done,
            reason: "converged".into(),
        },
    })
}

/// Make `picture` the job's latest, as a PNG the page can fetch.
fn publish(job: &Job, picture: &Tensor) -> Result<()> {
    let rgb = tensor_to_rgb8(picture)?;
    let mut png = Vec::new();
    encode_rgb8(&rgb, OutputFormat::Png, &mut png)
        .map_err(|e| Error::invalid("serve", format!("could not encode the picture: {e}")))?;
    let size = rgb.dimensions();
    let png = Arc::new(png);
    job.update(|p| {
        p.image = Some(png);
        p.image_version += 1;
        p.image_size = Some(size);
    });
    Ok(())
}
