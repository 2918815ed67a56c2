//! Box-constrained optimisation: the image the optimiser reports is an image a PNG can hold.
//!
//! - on a problem whose minimum lies outside the box, projected L-BFGS finds the constrained
//!   minimum (the clamped point);
//! - on a real style-transfer problem, every accepted image of L-BFGS (with its strong-Wolfe
//!   search; a fixed step in a box is refused) and Adam stays in 0..255, and the image as
//!   saved (rounded to 8 bits) scores within 1 % of the loss the run reports — which the
//!   unconstrained run does not.

use engine::io::{load_image, tensor_to_rgb8, LoadOptions};
use engine::models::{load_vgg, Vgg};
use engine::style::{
    optimise, Bounds, Control, ImageOptimizer, Iteration, Lbfgs, LbfgsConfig, LineSearch,
    Objective, ObjectiveConfig, Outcome, Sample,
};
use engine::{Result, Tensor};
use std::path::Path;

/// f = Σ (x − c)² with c = (−3, 0.5, 7): in the box [0, 1] the minimum is (0, 0.5, 1).
fn quadratic(x: &Tensor) -> Result<Sample<()>> {
    let c = Tensor::from_slice(&[-3.0, 0.5, 7.0], &[3])?;
    let diff = x.sub(&c)?;
    Ok(Sample {
        loss: diff.dot(&diff)?,
        grad: diff.mul_scalar(2.0)?,
        tag: (),
    })
}

#[test]
fn projected_lbfgs_finds_the_constrained_minimum() {
    let unit_box = Some(Bounds::new(0.0, 1.0).unwrap());
    // A fixed step in a box is refused: the projection can turn it uphill.
    let fixed = Lbfgs::new(LbfgsConfig {
        bounds: unit_box,
        ..LbfgsConfig::default()
    });
    assert!(fixed.is_err_and(|e| e.to_string().contains("line search")));
    for lr in [0.5, 1.0] {
        let line_search = LineSearch::StrongWolfe;
        let config = LbfgsConfig {
            bounds: unit_box,
            line_search,
            lr,
            ..LbfgsConfig::default()
        };
        let mut opt = Lbfgs::new(config).unwrap();
        let mut x = Tensor::from_slice(&[0.5, 0.2, 0.9], &[3]).unwrap();
        let mut current = quadratic(&x).unwrap();
        for _ in 0..50 {
            let mut evaluate = |p: &Tensor| -> Result<Option<Sample<()>>> {
                let v = p.to_vec()?;
                assert!(
                    v.iter().all(|v| (0.0..=1.0).contains(v)),
                    "left the box: {v:?}"
                );
                quadratic(p).map(Some)
            };
            match opt.iterate(&mut x, &current, 20, &mut evaluate).unwrap() {
                Iteration::Moved(next) => current = next,
                Iteration::Converged(_) => break,
                Iteration::Stopped => unreachable!(),
            }
        }
        let x = x.to_vec().unwrap();
        for (got, want) in x.iter().zip([0.0, 0.5, 1.0]) {
            assert!((got - want).abs() < 1e-4, "lr {lr}: {x:?}");
        }
    }
}

fn shared_or_repo(relative: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn setup() -> (Vgg, Objective, Tensor) {
    let vgg = load_vgg(&shared_or_repo("weights/vgg16-imagenet-f16.safetensors")).unwrap();
    let options = LoadOptions {
        long_side: Some(64),
        ..LoadOptions::default()
    };
    let content = load_image(&shared_or_repo("assets/images/tubingen.jpg"), &options).unwrap();
    let style = load_image(&shared_or_repo("assets/images/udnie.jpg"), &options).unwrap();
    let objective = Objective::new(
        &vgg,
        ObjectiveConfig::paper(1.0, 1000.0, 0.0),
        &content,
        &[(style, 1.0)],
    )
    .unwrap();
    (vgg, objective, content)
}

/// Run `optimizer` for `evaluations`, checking every accepted image against the box.
fn run(vgg: &Vgg, objective: &Objective, init: &Tensor, optimizer: ImageOptimizer) -> Outcome {
    let bounds = optimizer.bounds();
    optimise(vgg, objective, init, optimizer, 40, |p| {
        if let Some(b) = bounds {
            assert!(b.contains(p.current)?, "an accepted image left the box");
        }
        Ok(Control::Continue)
    })
    .unwrap()
}

/// The loss of the image as the PNG holds it: rounded and clamped to 8 bits.
fn saved_loss(vgg: &Vgg, objective: &Objective, image: &Tensor) -> f64 {
    let rgb = tensor_to_rgb8(image).unwrap();
    let (w, h) = rgb.dimensions();
    let mut planes = vec![0.0f32; 3 * (w * h) as usize];
    for (i, p) in rgb.pixels().enumerate() {
        for c in 0..3 {
            planes[c * (w * h) as usize + i] = p[c] as f32;
        }
    }
    let saved = Tensor::from_vec(planes, &[1, 3, h as usize, w as usize]).unwrap();
    objective.evaluate(vgg, &saved).unwrap().total
}

#[test]
fn the_saved_image_scores_what_the_bounded_run_reports() {
    let (vgg, objective, content) = setup();
    let box_ = Some(Bounds::PIXELS);
    let optimizers = [
        (
            "L-BFGS + strong Wolfe",
            ImageOptimizer::Lbfgs(LbfgsConfig {
                bounds: box_,
                line_search: LineSearch::StrongWolfe,
                ..LbfgsConfig::default()
            }),
        ),
        (
            "Adam",
            ImageOptimizer::Adam {
                lr: 10.0,
                bounds: box_,
            },
        ),
    ];
    for (name, optimizer) in optimizers {
        let outcome = run(&vgg, &objective, &content, optimizer);
        let saved = saved_loss(&vgg, &objective, &outcome.image);
        let gap = (saved - outcome.total).abs() / outcome.total;
        println!(
            "{name}: reported {:.4e}, saved file {saved:.4e} ({:+.2} %)",
            outcome.total,
            100.0 * gap
        );
        assert!(
            gap < 0.01,
            "{name}: reported {} but the saved image scores {saved}",
            outcome.total
        );
        assert!(outcome.total < objective.evaluate(&vgg, &content).unwrap().total);
    }
    // The classic unconstrained run reports a loss its own saved file does not reach.
    let free = run(
        &vgg,
        &objective,
        &content,
        ImageOptimizer::Lbfgs(LbfgsConfig::default()),
    );
    let saved = saved_loss(&vgg, &objective, &free.image);
    println!(
        "unconstrained: reported {:.4e}, saved file {saved:.4e}",
        free.total
    );
}
