//! Chapter 9 — Style transfer, implemented.
//!
//! The whole algorithm from library pieces: a pretrained VGG16, content features at relu4_2,
//! Gram matrices at relu1_1 … relu5_1, and L-BFGS moving the pixels, kept in 0..255 — what
//! `picasso stylize` runs by default, without its options, progress bars and safety nets.
//! The saved picture is loaded back and scored again, and the first step's line search is
//! drawn (chapter 9.1).
//!
//! Run: `cargo run --release -p chapters-examples --bin ch09_style_transfer -- --out out/ch09`

use chapters_examples::inputs::image_or_example;
use chapters_examples::{run_example, DeviceArgs, ExampleArgs, ExampleResult};
use clap::Parser;
use engine::io::{load_image, save_image, LoadOptions};
use engine::models::{load_embedded_vgg16, Vgg};
use engine::no_grad;
use engine::style::line_search::{strong_wolfe, SearchLimits, SUFFICIENT_DECREASE};
use engine::style::{
    gram_matrix, optimise, Bounds, Control, ImageOptimizer, LbfgsConfig, LineSearch, Objective,
    ObjectiveConfig, Sample,
};
use engine::vis::{save_line_plot_grid, LegendCorner, LinePlot};
use engine::Tensor;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Chapter 9: paint a photo in the style of a painting with L-BFGS on the pixels.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: ExampleArgs,

    #[command(flatten)]
    device: DeviceArgs,
    /// The photo (default: the repository's Tübingen photo).
    #[arg(long)]
    content: Option<PathBuf>,
    /// The painting (default: the repository's Starry Night).
    #[arg(long)]
    style: Option<PathBuf>,
    /// Long side in pixels (default 256; 48 with --quick).
    #[arg(long)]
    size: Option<u32>,
    /// Function evaluations (default 100; 10 with --quick).
    #[arg(long)]
    evals: Option<usize>,
    /// The classic method instead (`picasso stylize --unbounded`): no box, fixed steps.
    #[arg(long)]
    unbounded: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example(|| run(&args))
}

// ANCHOR: optimiser
/// The optimiser `picasso stylize` uses by default: L-BFGS with every pixel kept in 0..255
/// and each step's length found by the strong-Wolfe line search (chapter 9.1). `unbounded`
/// gives the classic method of Gatys et al. and PyTorch: no box, fixed steps.
fn optimiser(unbounded: bool) -> ImageOptimizer {
    let config = if unbounded {
        LbfgsConfig::default()
    } else {
        LbfgsConfig {
            bounds: Some(Bounds::PIXELS),
            line_search: LineSearch::StrongWolfe,
            ..LbfgsConfig::default()
        }
    };
    ImageOptimizer::Lbfgs(config)
}
// ANCHOR_END: optimiser

fn run(args: &Args) -> ExampleResult {
    let out = args.common.output_dir("ch09")?;
    let quick = args.common.quick;
    let size = args.size.unwrap_or(if quick { 48 } else { 256 });
    let evals = args.evals.unwrap_or(if quick { 10 } else { 100 });
    let content_path = image_or_example(args.content.as_ref(), "tubingen.jpg")?;
    let style_path = image_or_example(args.style.as_ref(), "starry_night.jpg")?;

    // ANCHOR: setup
    let device = args.device.open()?; // the GPU when one is usable
    let vgg = load_embedded_vgg16()?.to_device(device)?;
    let content = load_image(&content_path, &LoadOptions::long_side(size))?.to_device(device)?;
    let style = load_image(&style_path, &LoadOptions::long_side(size))?.to_device(device)?;
    // ANCHOR_END: setup

    println!("== Style targets");
    // ANCHOR: gram
    // What the style target looks like: one C×C Gram matrix per style layer.
    let layers: Vec<String> = ["relu1_1", "relu3_1", "relu5_1"].map(String::from).to_vec();
    let features = no_grad(|| vgg.forward(&style, &layers))?;
    for name in &layers {
        let f = &features[name];
        let g = gram_matrix(f)?;
        println!("{name}: features {:?} → Gram {:?}", f.shape(), g.shape());
    }
    // ANCHOR_END: gram

    // ANCHOR: objective
    // α = 1, β = 1000, γ = 0.1: `picasso stylize`'s default weights.
    let config = ObjectiveConfig::paper(1.0, 1000.0, 0.1);
    let objective = Objective::new(&vgg, config, &content, &[(style, 1.0)])?;
    // ANCHOR_END: objective

    println!("\n== Optimisation ({size} px, {evals} evaluations)");
    // ANCHOR: optimise
    // The pixels are the parameters: start from the photo and let L-BFGS repaint it.
    let mut curve = Vec::new();
    let outcome = optimise(
        &vgg,
        &objective,
        &content,
        optimiser(args.unbounded),
        evals,
        |p| {
            if p.evaluation % 10 == 0 || p.evaluation == 1 {
                println!(
                    "eval {:4}: total {:12.1}  content {:10.1}  style×β {:10.1}  tv×γ {:6.1}",
                    p.evaluation,
                    p.total,
                    p.terms.content,
                    1000.0 * p.terms.style,
                    0.1 * p.terms.tv.unwrap_or(0.0)
                );
            }
            curve.push((p.evaluation as f32, p.total.log10() as f32));
            Ok(Control::Continue)
        },
    )?;
    println!(
        "final total {:.1} after {} evaluations ({:?})",
        outcome.total, outcome.evaluations, outcome.reason
    );
    // ANCHOR_END: optimise

    println!("\n== The saved picture, scored again");
    // ANCHOR: rescore
    // The file is what a reader opens: load it back and score it under the same objective.
    let saved_path = out.join("stylized.png");
    save_image(&outcome.image, &saved_path, &[&content_path, &style_path])?;
    let saved = load_image(&saved_path, &LoadOptions::default())?.to_device(device)?;
    let saved_total = objective.evaluate(&vgg, &saved)?.total;
    let pixels = outcome.image.to_vec()?;
    let lo = pixels.iter().fold(f32::INFINITY, |m, &v| m.min(v));
    let hi = pixels.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    println!("pixel values of the optimised image: {lo:.1} … {hi:.1}");
    println!("loss the optimiser reported:     {:.1}", outcome.total);
    println!(
        "loss of stylized.png, loaded back: {saved_total:.1} ({:.4} × the report)",
        saved_total / outcome.total
    );
    // ANCHOR_END: rescore

    LinePlot::new("Style transfer: total loss per evaluation (L-BFGS)")
        .axes("function evaluation", "log10(total loss)")
        .line("α·L_content + β·L_style + γ·L_tv", curve)
        .save(out.join("loss_curve.png"))?;

    println!("\n== One line search, drawn");
    let grid = if quick { 10 } else { 20 };
    draw_first_line_search(
        &vgg,
        &objective,
        &content,
        grid,
        &out.join("line_search.png"),
    )?;
    println!("pictures in {}", out.display());
    Ok(())
}

/// The step length t at which `point` = P(x + t·d) lies on the projected path: the largest
/// (point − x)/d over the entries that moved most, since the projection only shortens steps.
fn step_length(x: &Tensor, d: &Tensor, point: &Tensor) -> engine::Result<f64> {
    let (x, d, p) = (x.to_vec()?, d.to_vec()?, point.to_vec()?);
    let d_max = d.iter().fold(0f32, |m, v| m.max(v.abs()));
    Ok(x.iter()
        .zip(&d)
        .zip(&p)
        .filter(|((_, d), _)| d.abs() >= 0.5 * d_max)
        .map(|((x, d), p)| (*p as f64 - *x as f64) / *d as f64)
        .fold(0.0, f64::max))
}

/// The (t, φ(t)) of every point a search tried, and of the one it accepted.
type Trials = (Vec<(f64, f64)>, (f64, f64));

/// The first step of L-BFGS in the box, seen along its line: from `x`, the direction `d` is the
/// negative gradient of the free pixels, and t is measured in grey levels moved by the
/// steepest pixel (the optimiser's first try is t = 1).
struct FirstStep<'a> {
    vgg: &'a Vgg,
    objective: &'a Objective,
    x: &'a Tensor,
    start: Sample<()>,
    d: Tensor,
    /// φ′(0) per grey level.
    slope: f64,
    /// The step length, in the units of d, that moves the steepest pixel by one grey level.
    grey_level: f64,
}

impl<'a> FirstStep<'a> {
    fn new(vgg: &'a Vgg, objective: &'a Objective, x: &'a Tensor) -> engine::Result<Self> {
        let e = objective.evaluate(vgg, x)?;
        let d = e.grad.mul(&Bounds::PIXELS.free_mask(x, &e.grad)?)?.neg()?;
        let grey_level = 1.0 / d.max_abs()?;
        let slope = e.grad.dot(&d)? * grey_level;
        let start = Sample {
            loss: e.total,
            grad: e.grad,
            tag: (),
        };
        Ok(FirstStep {
            vgg,
            objective,
            x,
            start,
            d,
            slope,
            grey_level,
        })
    }

    /// φ(t) = f(P(x + t·d)), t in grey levels.
    fn phi(&self, t: f64) -> engine::Result<f64> {
        let point = Bounds::PIXELS
            .step_along(self.x, t * self.grey_level, &self.d)?
            .0;
        Ok(self.objective.evaluate(self.vgg, &point)?.total)
    }

    /// The strong-Wolfe search from a first try of `first` grey levels: the (t, φ) of every
    /// point it tried, and the accepted one.
    fn search(&self, first: f64) -> Result<Trials, Box<dyn std::error::Error>> {
        let mut trials = Vec::new();
        let mut evaluate = |point: &Tensor| -> engine::Result<Option<Sample<()>>> {
            let e = self.objective.evaluate(self.vgg, point)?;
            let t = step_length(self.x, &self.d, point)? / self.grey_level;
            trials.push((t, e.total));
            let (loss, grad) = (e.total, e.grad);
            Ok(Some(Sample {
                loss,
                grad,
                tag: (),
            }))
        };
        let limits = SearchLimits {
            tolerance_change: LbfgsConfig::default().tolerance_change,
            max_ls: 24,
            bounds: Some(Bounds::PIXELS),
        };
        let (t, slope) = (first * self.grey_level, self.slope / self.grey_level);
        let found = strong_wolfe(
            self.x,
            &self.d,
            t,
            &self.start,
            slope,
            limits,
            &mut evaluate,
        )?
        .ok_or("the search was refused an evaluation")?;
        Ok((trials, (found.t / self.grey_level, found.sample.loss)))
    }
}

/// Run the line search of L-BFGS's first step in the box twice — from the optimiser's first
/// try (one grey level) and from a try far too long — and plot the loss along the path (at
/// `grid` + 1 points) with the sufficient-decrease line and the points each search tried.
fn draw_first_line_search(
    vgg: &Vgg,
    objective: &Objective,
    x: &Tensor,
    grid: usize,
    path: &Path,
) -> ExampleResult {
    let step = FirstStep::new(vgg, objective, x)?;
    let phi0 = step.start.loss;
    println!("φ(0) = {phi0:.1}, φ′(0) = {:.1} per grey level", step.slope);
    // Where the loss climbs back above φ(0): double the step until it does, then halve the
    // interval three times.
    let (mut below, mut above) = (0.0, 8.0);
    while step.phi(above)? <= phi0 && above < 4096.0 {
        (below, above) = (above, above * 2.0);
    }
    for _ in 0..3 {
        let middle = (below + above) / 2.0;
        if step.phi(middle)? <= phi0 {
            below = middle;
        } else {
            above = middle;
        }
    }
    let reach = above * 1.1;
    let millions = |v: f64| (v / 1e6) as f32;
    let (mut phi, mut armijo) = (Vec::new(), Vec::new());
    for k in 0..=grid {
        let t = reach * k as f64 / grid as f64;
        phi.push((t as f32, millions(step.phi(t)?)));
        armijo.push((
            t as f32,
            millions(phi0 + SUFFICIENT_DECREASE * t * step.slope),
        ));
    }
    let mut panels = Vec::new();
    for (first, title) in [
        (1.0, "The optimiser's search: a first try of one grey level"),
        (above, "A first try too long: bracket, then zoom"),
    ] {
        let (trials, accepted) = step.search(first)?;
        println!("first try {first} grey levels:");
        for (i, (t, loss)) in trials.iter().enumerate() {
            println!("  trial {}: t = {t:7.2}, φ(t) = {loss:12.1}", i + 1);
        }
        println!("  accepted t = {:.2}, φ = {:.1}", accepted.0, accepted.1);
        let rejected = trials.iter().filter(|&&p| p != accepted);
        let rejected = rejected.map(|&(t, l)| (t as f32, millions(l))).collect();
        panels.push(
            LinePlot::new(title)
                .axes(
                    "step length t (grey levels moved by the steepest pixel)",
                    "loss φ(t), millions",
                )
                .legend(LegendCorner::UpperRight)
                .line("φ(t): the loss along the step's path", phi.clone())
                .dashed("sufficient decrease: φ(0) + c₁·t·φ′(0)", armijo.clone())
                .points("tried, not accepted", rejected)
                .points("accepted", vec![(accepted.0 as f32, millions(accepted.1))]),
        );
    }
    save_line_plot_grid(path, &panels, 1, (1000, 440))?;
    Ok(())
}
