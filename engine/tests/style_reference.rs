//! The style-transfer objective and L-BFGS against PyTorch's run of the same problem
//! (shared/reference/tubingen_starry_pytorch_256.json): α = 1, β = 1000, γ = 0, content init,
//! 100 function evaluations. Our final total must be within 5% of PyTorch's (lower is fine).

use engine::io::{load_image, LoadOptions};
use engine::models::load_vgg;
use engine::shared_data::shared_file;
use engine::style::{optimise, Control, ImageOptimizer, LbfgsConfig, Objective, ObjectiveConfig};
use std::time::Instant;

#[test]
fn lbfgs_run_matches_pytorch_reference() {
    let (Some(weights), Some(content), Some(style), Some(reference)) = (
        shared_file("weights/vgg16-imagenet.safetensors"),
        shared_file("reference/tubingen_starry_content_256.png"),
        shared_file("reference/tubingen_starry_style_256.png"),
        shared_file("reference/tubingen_starry_pytorch_256.json"),
    ) else {
        return;
    };
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reference).unwrap()).unwrap();
    let expected_total = expected["total"].as_f64().unwrap();
    let expected_history: Vec<f64> = expected["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();

    let vgg = load_vgg(&weights).unwrap();
    let content = load_image(&content, &LoadOptions::default()).unwrap();
    let style = load_image(&style, &LoadOptions::default()).unwrap();
    let objective = Objective::new(
        &vgg,
        ObjectiveConfig::paper(1.0, 1000.0, 0.0),
        &content,
        &[(style, 1.0)],
    )
    .unwrap();
    let start = Instant::now();
    let outcome = optimise(
        &vgg,
        &objective,
        &content,
        ImageOptimizer::Lbfgs(LbfgsConfig::default()),
        100,
        |p| {
            if p.evaluation % 10 == 0 {
                let theirs = expected_history.get(p.evaluation / 10 - 1).copied();
                println!(
                    "eval {:3}: total {:.1} (pytorch {theirs:?})",
                    p.evaluation, p.total
                );
            }
            Ok(Control::Continue)
        },
    )
    .unwrap();
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "final: content {:.1} style {:.3} total {:.1} vs pytorch {expected_total:.1}; {:.3} s/eval",
        outcome.terms.content,
        outcome.terms.style,
        outcome.total,
        seconds / outcome.evaluations as f64
    );
    assert_eq!(outcome.evaluations, 100);
    assert!(
        outcome.total <= expected_total * 1.05,
        "total {} is more than 5% above PyTorch's {expected_total}",
        outcome.total
    );
}
