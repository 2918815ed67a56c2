//! Chapter 8 — What the content and style costs compare.
//!
//! Runs a short style transfer, then puts the Gram matrices of the photo, the painting and the
//! result side by side at three depths of VGG, prints how far each is from the painting's, and
//! plots the three loss terms over the optimisation.
//!
//! Run: `cargo run --release -p chapters-examples --bin ch08_style_costs -- --out out/ch08`

use chapters_examples::figures::gram::{draw_gram_matrices, GramRow};
use chapters_examples::inputs::image_or_example;
use chapters_examples::{run_example, ExampleArgs, ExampleResult};
use clap::Parser;
use engine::io::{load_image, save_image, tensor_to_rgb8, LoadOptions};
use engine::models::{load_embedded_vgg16, Vgg};
use engine::style::{
    gram_matrix, optimise, Control, ImageOptimizer, LbfgsConfig, Objective, ObjectiveConfig,
};
use engine::vis::{LegendCorner, LinePlot};
use engine::{no_grad, Tensor};
use std::path::PathBuf;
use std::process::ExitCode;

/// Chapter 8: the Gram matrices of photo, painting and result, and the loss terms.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: ExampleArgs,
    /// The photo (default: the repository's Tübingen photo).
    #[arg(long)]
    content: Option<PathBuf>,
    /// The painting (default: the repository's Starry Night).
    #[arg(long)]
    style: Option<PathBuf>,
    /// Long side in pixels (default 128; 48 with --quick).
    #[arg(long)]
    size: Option<u32>,
    /// Function evaluations (default 60; 5 with --quick).
    #[arg(long)]
    evals: Option<usize>,
}

/// The layers whose Gram matrices the figure shows: fine texture, middle, large motifs.
const SHOWN_LAYERS: [&str; 3] = ["relu1_1", "relu3_1", "relu5_1"];
/// How many channels of each Gram matrix the figure draws (the top-left block).
const SHOWN_CHANNELS: usize = 32;
/// The weights of `picasso stylize`'s defaults: α, β, γ.
const WEIGHTS: (f32, f32, f32) = (1.0, 1000.0, 0.1);

fn main() -> ExitCode {
    let args = Args::parse();
    run_example(|| run(&args))
}

// ANCHOR: style_distance
/// mean((G(x) − G(a))²) at one layer: the style cost's term for that layer, before its
/// weight w_l.
fn style_distance(features: &Tensor, painting_features: &Tensor) -> engine::Result<f64> {
    let difference = gram_matrix(features)?.sub(&gram_matrix(painting_features)?)?;
    Ok(difference.square()?.mean_all()?.item()? as f64)
}
// ANCHOR_END: style_distance

fn run(args: &Args) -> ExampleResult {
    let out = args.common.output_dir("ch08")?;
    let quick = args.common.quick;
    let size = args.size.unwrap_or(if quick { 48 } else { 128 });
    let evals = args.evals.unwrap_or(if quick { 5 } else { 60 });
    let photo_path = image_or_example(args.content.as_ref(), "tubingen.jpg")?;
    let painting_path = image_or_example(args.style.as_ref(), "starry_night.jpg")?;

    let vgg = load_embedded_vgg16()?;
    let photo = load_image(&photo_path, &LoadOptions::long_side(size))?;
    let painting = load_image(&painting_path, &LoadOptions::long_side(size))?;

    // ANCHOR: terms
    // A short style transfer from the photo, recording the three weighted terms each time.
    let (alpha, beta, gamma) = WEIGHTS;
    let config = ObjectiveConfig::paper(alpha, beta, gamma);
    let objective = Objective::new(&vgg, config, &photo, &[(painting.clone(), 1.0)])?;
    let mut terms = Vec::new();
    let outcome = optimise(
        &vgg,
        &objective,
        &photo,
        ImageOptimizer::Lbfgs(LbfgsConfig::default()),
        evals,
        |p| {
            let t = &p.terms;
            terms.push((
                p.evaluation,
                alpha as f64 * t.content,
                beta as f64 * t.style,
                gamma as f64 * t.tv.unwrap_or(0.0),
            ));
            Ok(Control::Continue)
        },
    )?;
    // ANCHOR_END: terms
    let result = outcome.image;
    save_image(
        &result,
        &out.join("result.png"),
        &[&photo_path, &painting_path],
    )?;

    println!("== The loss terms (weighted: α = {alpha}, β = {beta}, γ = {gamma})");
    println!(
        "{:>5} {:>14} {:>14} {:>14}",
        "eval", "α·L_content", "β·L_style", "γ·L_tv"
    );
    for &(evaluation, content, style, tv) in &terms {
        if evaluation == 1 || evaluation % 10 == 0 || evaluation == terms.len() {
            println!("{evaluation:>5} {content:>14.1} {style:>14.1} {tv:>14.1}");
        }
    }
    draw_terms(&terms, &out.join("loss_terms.png"))?;

    let rows = compare_grams(&vgg, [&photo, &painting, &result])?;
    println!("\n== Gram matrices: how far from the painting's (mean squared difference)");
    println!(
        "{:<8} {:>10} {:>14} {:>14} {:>8}",
        "layer", "G size", "photo", "result", "ratio"
    );
    for row in &rows {
        let [from_photo, from_result] = row.distance_to_painting;
        println!(
            "{:<8} {:>10} {from_photo:>14.4e} {from_result:>14.4e} {:>7.1}×",
            row.layer,
            format!("{0}×{0}", row.channels),
            from_photo / from_result
        );
    }
    let content_layer = "relu4_2".to_string();
    let features = no_grad(|| {
        Ok::<_, engine::Error>((
            vgg.forward(&photo, std::slice::from_ref(&content_layer))?,
            vgg.forward(&result, std::slice::from_ref(&content_layer))?,
        ))
    })?;
    let content_distance = features.0[&content_layer]
        .sub(&features.1[&content_layer])?
        .square()?
        .mean_all()?
        .item()?;
    println!(
        "\ncontent cost at {content_layer}: the result is {content_distance:.1} from the photo \
         (mean squared difference of the features)"
    );

    let thumbnails = [&photo, &painting, &result]
        .map(|image| load_thumbnail(image).expect("a loaded image converts back to pixels"));
    draw_gram_matrices(
        &out.join("gram_matrices.png"),
        [&thumbnails[0], &thumbnails[1], &thumbnails[2]],
        ["photo", "painting", "result"],
        &rows,
        SHOWN_CHANNELS,
    )?;
    println!(
        "\nfinal total {:.1} after {} evaluations; pictures in {}",
        outcome.total,
        outcome.evaluations,
        out.display()
    );
    Ok(())
}

/// The Gram matrices of the three pictures at each shown layer, with each one's distance to
/// the painting's.
fn compare_grams(vgg: &Vgg, images: [&Tensor; 3]) -> engine::Result<Vec<GramRow>> {
    let layers: Vec<String> = SHOWN_LAYERS.map(String::from).to_vec();
    let features = no_grad(|| {
        images
            .iter()
            .map(|image| vgg.forward(image, &layers))
            .collect::<engine::Result<Vec<_>>>()
    })?;
    layers
        .iter()
        .map(|layer| {
            let [photo, painting, result] = [0, 1, 2].map(|i| &features[i][layer]);
            let grams = [photo, painting, result].map(|f| gram_matrix(f).and_then(|g| g.to_vec()));
            let [a, b, c] = grams;
            Ok(GramRow {
                layer: layer.clone(),
                channels: photo.shape()[1],
                grams: [a?, b?, c?],
                distance_to_painting: [
                    style_distance(photo, painting)?,
                    style_distance(result, painting)?,
                ],
            })
        })
        .collect()
}

/// A picture tensor as pixels, as wide as a heat map of the figure.
fn load_thumbnail(image: &Tensor) -> engine::Result<image::RgbImage> {
    const WIDTH: u32 = 192;
    let pixels = tensor_to_rgb8(image)?;
    let (w, h) = pixels.dimensions();
    let height = (h * WIDTH / w.max(1)).max(1);
    Ok(image::imageops::resize(
        &pixels,
        WIDTH,
        height,
        image::imageops::FilterType::Triangle,
    ))
}

/// log10 of each weighted term per evaluation. Values below 1 are left out: the content term
/// starts at exactly 0 (the image *is* the photo) and would pull the axis down to −∞.
fn draw_terms(terms: &[(usize, f64, f64, f64)], path: &std::path::Path) -> engine::Result<()> {
    let series = |pick: fn(&(usize, f64, f64, f64)) -> f64| -> Vec<(f32, f32)> {
        terms
            .iter()
            .filter(|t| pick(t) >= 1.0)
            .map(|t| (t.0 as f32, pick(t).log10() as f32))
            .collect()
    };
    let top = terms
        .iter()
        .map(|t| t.1.max(t.2).max(t.3).max(1.0).log10().ceil() as f32)
        .fold(1.0, f32::max);
    LinePlot::new("The weighted terms during style transfer (L-BFGS)")
        .axes("function evaluation", "log10(term)")
        .line("β·L_style (Gram matrices)", series(|t| t.2))
        .line("α·L_content (relu4_2)", series(|t| t.1))
        .line("γ·L_tv (smoothness)", series(|t| t.3))
        .y_range(0.0, top)
        .legend(LegendCorner::LowerRight)
        .save(path)
}
