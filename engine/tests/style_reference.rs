//! The style-transfer objective and L-BFGS against PyTorch's run of the same problem
//! (shared/reference/tubingen_starry_pytorch_256.json): α = 1, β = 1000, γ = 0, content init,
//! 100 function evaluations. Our final total must be within 5% of PyTorch's (lower is fine).
//!
//! Chapter 9 shows this comparison as a table, `book/src/outputs/style_reference.md`, which
//! this test writes with `PICASSO_BLESS=1` and otherwise compares with what it measured, so the
//! book's numbers are the test's.

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
    let mut ours = Vec::new();
    let outcome = optimise(
        &vgg,
        &objective,
        &content,
        ImageOptimizer::Lbfgs(LbfgsConfig::default()),
        100,
        |p| {
            if p.evaluation % 10 == 0 {
                ours.push(p.total);
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
    let table = book_table(&expected_history, expected_total, &ours, outcome.total);
    book_transcript::check_or_bless("style_reference.md", &table);
    assert!(
        outcome.total <= expected_total * 1.05,
        "total {} is more than 5% above PyTorch's {expected_total}",
        outcome.total
    );
}

/// Chapter 9's table: both totals at a few evaluations, and how close the ends are.
fn book_table(theirs: &[f64], their_final: f64, ours: &[f64], our_final: f64) -> String {
    let mut text =
        String::from("| evaluation | PyTorch total | Picasso Me total |\n| ---: | ---: | ---: |\n");
    for evaluation in [10, 20, 50, 80, 100] {
        let (t, o) = (theirs[evaluation / 10 - 1], ours[evaluation / 10 - 1]);
        let theirs = if evaluation == 100 {
            format!("{} (final {})", grouped(t, 0), grouped(their_final, 0))
        } else {
            grouped(t, 0)
        };
        text += &format!("| {evaluation} | {theirs} | {} |\n", grouped(o, 1));
    }
    let gap = (our_final - their_final) / their_final * 100.0;
    let side = if gap <= 0.0 { "below" } else { "above" };
    let digits = agreeing_digits(theirs[0], ours[0]);
    text += &format!(
        "\nThe final total is {:.1} % {side} PyTorch's final total (the test allows 5 % above); \
         at evaluation 10 the two totals agree to {digits} significant digits.\n",
        gap.abs()
    );
    text
}

/// `2711206.8` → `2 711 206.8`: digits in groups of three, as the book prints them.
fn grouped(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    if !fraction.is_empty() {
        out = format!("{out}.{fraction}");
    }
    out
}

/// How many leading significant digits two positive numbers share once rounded to that many.
fn agreeing_digits(a: f64, b: f64) -> usize {
    (1..=9)
        .take_while(|&n| {
            let scale = 10f64.powi(n - 1 - a.log10().floor() as i32);
            (a * scale).round() == (b * scale).round()
        })
        .count()
}

/// A table the book includes from `book/src/outputs/`: written with `PICASSO_BLESS=1`,
/// otherwise compared with what this run measured.
mod book_transcript {
    use std::path::Path;

    pub fn check_or_bless(name: &str, measured: &str) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../book/src/outputs")
            .join(name);
        if std::env::var_os("PICASSO_BLESS").is_some() {
            std::fs::write(&path, measured).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            return;
        }
        let book = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            book,
            measured,
            "{} is not what this run measured (the book is stale: run again with \
             PICASSO_BLESS=1 after a deliberate change; on a CPU without AVX-512 the last \
             digits of long runs differ from the development machine's)",
            path.display()
        );
    }
}
