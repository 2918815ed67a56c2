//! L-BFGS with the strong-Wolfe line search (`LineSearch::StrongWolfe`) on the Rosenbrock
//! function: it converges, every accepted step satisfies the strong Wolfe conditions, and the
//! loss at every evaluation matches PyTorch's `LBFGS(line_search_fn="strong_wolfe")` on the same
//! problems (tests/fixtures/lbfgs_strong_wolfe.json, made by lbfgs_strong_wolfe.py beside it).

use engine::style::line_search::{CURVATURE, SUFFICIENT_DECREASE};
use engine::style::{Iteration, Lbfgs, LbfgsConfig, LineSearch, Sample};
use engine::{Result, Tensor};

/// A gradient computed in f64, rounded to f32 like the engine's, as a tensor.
fn gradient(grad: &[f64]) -> Tensor {
    Tensor::from_vec(grad.iter().map(|&g| g as f32).collect(), &[grad.len()]).unwrap()
}

/// Σᵢ 100 (xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)², minimum 0 at (1, …, 1). Computed in f64 from the f32
/// parameters; the gradient is rounded to f32 like the engine's.
fn rosenbrock(x: &[f32]) -> Sample<()> {
    let x: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let mut loss = 0.0;
    let mut grad = vec![0.0f64; x.len()];
    for i in 0..x.len() - 1 {
        let valley = x[i + 1] - x[i] * x[i];
        let off = 1.0 - x[i];
        loss += 100.0 * valley * valley + off * off;
        grad[i] += -400.0 * x[i] * valley - 2.0 * off;
        grad[i + 1] += 200.0 * valley;
    }
    Sample {
        loss,
        grad: gradient(&grad),
        tag: (),
    }
}

/// Σᵢ (i+1)(√(1 + (xᵢ − 1)²) − 1) + ½ Σᵢ (xᵢ₊₁ − xᵢ)², minimum 0 at (1, …, 1): nearly linear
/// far from the minimum, so long steps overshoot and the line search zooms back.
fn pseudo_huber(x: &[f32]) -> Sample<()> {
    let x: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let mut loss = 0.0;
    let mut grad = vec![0.0f64; x.len()];
    for (i, &v) in x.iter().enumerate() {
        let w = (i + 1) as f64;
        let root = (1.0 + (v - 1.0) * (v - 1.0)).sqrt();
        loss += w * (root - 1.0);
        grad[i] += w * (v - 1.0) / root;
    }
    for i in 0..x.len() - 1 {
        let gap = x[i + 1] - x[i];
        loss += 0.5 * gap * gap;
        grad[i] -= gap;
        grad[i + 1] += gap;
    }
    Sample {
        loss,
        grad: gradient(&grad),
        tag: (),
    }
}

/// One accepted step: the objective before and after, and the parameters before and after.
struct Step {
    before: Sample<()>,
    after: Sample<()>,
    x_before: Vec<f32>,
    x_after: Vec<f32>,
}

struct Run {
    /// The loss at every evaluation, trials included.
    losses: Vec<f64>,
    steps: Vec<Step>,
    x: Vec<f32>,
    converged: bool,
}

/// Minimise from `start` with at most `budget` evaluations, the way the style-transfer loop
/// drives the optimiser.
fn minimise(start: &[f32], config: LbfgsConfig, budget: usize) -> Run {
    minimise_fn(rosenbrock, start, config, budget)
}

fn minimise_fn(
    objective: fn(&[f32]) -> Sample<()>,
    start: &[f32],
    config: LbfgsConfig,
    budget: usize,
) -> Run {
    let mut opt = Lbfgs::new(config).unwrap();
    let mut x = Tensor::from_slice(start, &[start.len()]).unwrap();
    let mut losses = vec![];
    let mut steps = vec![];
    let mut current = objective(&x.to_vec().unwrap());
    losses.push(current.loss);
    let mut converged = false;
    while losses.len() < budget {
        let remaining = budget - losses.len();
        let mut evaluate = |p: &Tensor| -> Result<Option<Sample<()>>> {
            assert!(
                losses.len() < budget,
                "asked for more evaluations than allowed"
            );
            let sample = objective(&p.to_vec()?);
            losses.push(sample.loss);
            Ok(Some(sample))
        };
        let x_before = x.to_vec().unwrap();
        match opt
            .iterate(&mut x, &current, remaining, &mut evaluate)
            .unwrap()
        {
            Iteration::Moved(after) => {
                steps.push(Step {
                    before: current,
                    after: after.clone(),
                    x_before,
                    x_after: x.to_vec().unwrap(),
                });
                current = after;
            }
            Iteration::Converged(_) => {
                converged = true;
                break;
            }
            Iteration::Stopped => unreachable!("this objective never refuses"),
        }
    }
    Run {
        losses,
        steps,
        x: x.to_vec().unwrap(),
        converged,
    }
}

fn strong_wolfe() -> LbfgsConfig {
    LbfgsConfig {
        line_search: LineSearch::StrongWolfe,
        ..LbfgsConfig::default()
    }
}

fn classic_start(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| if i % 2 == 0 { -1.2 } else { 1.0 })
        .collect()
}

fn dot(a: &[f32], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y).sum()
}

#[test]
fn strong_wolfe_lbfgs_converges_on_rosenbrock_and_every_step_satisfies_the_conditions() {
    for n in [2, 10] {
        let run = minimise(&classic_start(n), strong_wolfe(), 1000);
        assert!(run.converged, "{n}-D: still going after 1000 evaluations");
        let end = rosenbrock(&run.x).loss;
        assert!(end < 1e-8, "{n}-D: final loss {end} at {:?}", run.x);
        assert!(
            run.x.iter().all(|v| (v - 1.0).abs() < 1e-3),
            "{n}-D: ended at {:?}",
            run.x
        );
        // The strong Wolfe conditions, checked from outside with the step s = x₊ − x = t·d
        // (multiplying both conditions by t > 0 turns slopes along d into slopes along s):
        //   f(x₊) ≤ f(x) + c₁ g·s   and   |g₊·s| ≤ c₂ |g·s|.
        // Only steps long enough for s to be known to float32 precision are judged.
        let mut judged = 0;
        for (k, step) in run.steps.iter().enumerate() {
            let s: Vec<f64> = step
                .x_after
                .iter()
                .zip(&step.x_before)
                .map(|(&a, &b)| a as f64 - b as f64)
                .collect();
            let longest = s.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            if longest < 1e-4 {
                continue;
            }
            judged += 1;
            let slope = dot(&step.before.grad.to_vec().unwrap(), &s);
            let slope_after = dot(&step.after.grad.to_vec().unwrap(), &s);
            assert!(slope < 0.0, "{n}-D step {k}: not a descent direction");
            let decrease = step.before.loss + SUFFICIENT_DECREASE * slope;
            assert!(
                step.after.loss <= decrease + 1e-9 * step.before.loss.abs(),
                "{n}-D step {k}: loss {} above the Armijo line {decrease}",
                step.after.loss
            );
            assert!(
                slope_after.abs() <= CURVATURE * slope.abs() * (1.0 + 1e-6),
                "{n}-D step {k}: slope {slope_after} not flat enough (was {slope})"
            );
        }
        assert!(judged >= 10, "{n}-D: only {judged} steps judged");
        println!(
            "{n}-D: {} evaluations, {} steps ({judged} judged), final loss {end:.2e}",
            run.losses.len(),
            run.steps.len()
        );
    }
}

#[test]
fn the_line_search_beats_the_fixed_step_on_rosenbrock() {
    // Same budget, same start: the fixed step (lr = 1) zig-zags down the valley.
    let budget = 60;
    let wolfe = minimise(&classic_start(10), strong_wolfe(), budget);
    let fixed = minimise(&classic_start(10), LbfgsConfig::default(), budget);
    let (w, f) = (
        wolfe.losses.iter().copied().fold(f64::INFINITY, f64::min),
        fixed.losses.iter().copied().fold(f64::INFINITY, f64::min),
    );
    println!("best loss in {budget} evaluations: strong Wolfe {w:.3e}, fixed step {f:.3e}");
    assert!(w < f, "strong Wolfe {w} vs fixed {f}");
}

/// The fixture's cases by name, with the objective each one minimises.
fn pytorch_cases() -> Vec<(String, serde_json::Value)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lbfgs_strong_wolfe.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = fixture["cases"].as_object().unwrap();
    cases.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Our run of a fixture case, and PyTorch's loss at every evaluation.
fn run_case(case: &serde_json::Value) -> (Vec<f64>, Vec<f64>) {
    let floats = |key: &str| -> Vec<f64> {
        case[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let objective = match case["function"].as_str().unwrap() {
        "rosenbrock" => rosenbrock,
        "pseudo_huber" => pseudo_huber,
        other => panic!("unknown function {other}"),
    };
    // The script rounded the start to float32, so this conversion is exact.
    let start: Vec<f32> = floats("start").iter().map(|&v| v as f32).collect();
    let config = LbfgsConfig {
        history: case["history_size"].as_u64().unwrap() as usize,
        lr: case["lr"].as_f64().unwrap() as f32,
        ..strong_wolfe()
    };
    let budget = case["max_eval"].as_u64().unwrap() as usize;
    let ours = minimise_fn(objective, &start, config, budget).losses;
    (ours, floats("evaluations"))
}

fn close(ours: f64, theirs: f64) -> bool {
    (ours - theirs).abs() <= 1e-4 * theirs.abs() + 1e-8
}

#[test]
fn every_evaluation_matches_pytorch_on_a_well_conditioned_problem() {
    // Pseudo-Huber: the same points are tried in the same order, so every loss (trials
    // included) agrees to float32 rounding, and the runs end after the same evaluation.
    let mut checked = 0;
    for (name, case) in pytorch_cases() {
        if case["function"] != "pseudo_huber" {
            continue;
        }
        let (ours, theirs) = run_case(&case);
        for (k, (&a, &b)) in ours.iter().zip(&theirs).enumerate() {
            assert!(close(a, b), "{name}, evaluation {k}: ours {a}, PyTorch {b}");
        }
        assert_eq!(ours.len(), theirs.len(), "{name}: number of evaluations");
        checked += 1;
    }
    assert_eq!(checked, 5);
}

#[test]
fn rosenbrock_matches_pytorch_until_rounding_takes_over() {
    // In Rosenbrock's curved valley float32 and float64 runs drift apart after a dozen or two
    // evaluations (PyTorch float32 against float64 does the same), so: the first 12 evaluations
    // (the first extrapolation and the first zoom among them) agree to rounding, and both runs
    // end equally well: at the minimum within 10 % of PyTorch's evaluation count, or, on a short
    // budget, with the same budget spent and a best loss within 10 %.
    let mut checked = 0;
    for (name, case) in pytorch_cases() {
        if case["function"] != "rosenbrock" {
            continue;
        }
        let (ours, theirs) = run_case(&case);
        for (k, (&a, &b)) in ours.iter().zip(&theirs).take(12).enumerate() {
            assert!(close(a, b), "{name}, evaluation {k}: ours {a}, PyTorch {b}");
        }
        let best = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
        let (our_best, their_best) = (best(&ours), best(&theirs));
        let budget = case["max_eval"].as_u64().unwrap() as usize;
        if theirs.len() < budget {
            assert!(our_best < 1e-8, "{name}: best loss {our_best}");
            let (a, b) = (ours.len() as f64, theirs.len() as f64);
            assert!(
                (a - b).abs() <= 0.1 * b,
                "{name}: {a} evaluations, PyTorch {b}"
            );
        } else {
            assert_eq!(ours.len(), budget, "{name}");
            assert!(
                (our_best - their_best).abs() <= 0.1 * their_best,
                "{name}: best loss {our_best}, PyTorch {their_best}"
            );
        }
        println!(
            "{name}: {} evaluations (PyTorch {}), best loss {our_best:.3e} (PyTorch {their_best:.3e})",
            ours.len(),
            theirs.len()
        );
        checked += 1;
    }
    assert_eq!(checked, 3);
}

/// The functions of one variable of the fixture's single line searches: value and derivative.
fn line_function(name: &str, x: f64) -> (f64, f64) {
    match name {
        "wavy" => (
            0.5 * (x - 2.0).powi(2) + 0.6 * (1.0 - (3.0 * (x - 2.0)).cos()),
            (x - 2.0) + 1.8 * (3.0 * (x - 2.0)).sin(),
        ),
        "exp" => ((3.0 * x).exp() - 6.0 * x, 3.0 * (3.0 * x).exp() - 6.0),
        "wall" => (x.powi(8) - 2.0 * x, 8.0 * x.powi(7) - 2.0),
        "sqrt" => {
            let root = (1.0 + (x - 3.0).powi(2)).sqrt();
            (root, (x - 3.0) / root)
        }
        other => panic!("unknown function {other}"),
    }
}

#[test]
fn single_line_searches_try_the_same_step_lengths_as_pytorch() {
    // From x = 0 along d = 1 the trial point is the step length itself, so the sequence of
    // points tried is the search's sequence of decisions: extrapolations, cubic fits, and the
    // guard that pushes a trial away from the end of the bracket.
    use engine::style::line_search::{strong_wolfe, SearchLimits};
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lbfgs_strong_wolfe.json"
    );
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let searches = fixture["line_searches"].as_object().unwrap();
    assert_eq!(searches.len(), 5);
    for (name, search) in searches {
        let function = search["function"].as_str().unwrap();
        let sample = |x: f64| {
            let (loss, slope) = line_function(function, x);
            Sample {
                loss,
                grad: gradient(&[slope]),
                tag: (),
            }
        };
        let start = sample(0.0);
        let slope = start.grad.item().unwrap() as f64;
        let mut tried = vec![];
        let mut evaluate = |p: &Tensor| -> Result<Option<Sample<()>>> {
            let x = p.item()? as f64;
            tried.push(x);
            Ok(Some(sample(x)))
        };
        let limits = SearchLimits {
            tolerance_change: 1e-9,
            max_ls: 25,
            bounds: None,
        };
        let t0 = search["t0"].as_f64().unwrap();
        let (x, d) = (gradient(&[0.0]), gradient(&[1.0]));
        let found = strong_wolfe(&x, &d, t0, &start, slope, limits, &mut evaluate)
            .unwrap()
            .unwrap();
        let theirs: Vec<f64> = search["tried"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(tried.len(), theirs.len(), "{name}: {tried:?} vs {theirs:?}");
        for (k, (a, b)) in tried.iter().zip(&theirs).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * b.abs(),
                "{name}, trial {k}: {a} vs PyTorch {b}"
            );
        }
        let t = search["t"].as_f64().unwrap();
        assert!(
            (found.t - t).abs() <= 1e-5 * t,
            "{name}: {} vs {t}",
            found.t
        );
        assert_eq!(found.evaluations, theirs.len());
    }
}
