//! Chapter 4.1 — Inside the engine: the autograd tape.
//!
//! Records a small expression, prints its tape in the order `backward()` sorts it, compares the
//! gradients of the reverse walk with the chain rule worked out by hand, shows that `no_grad`
//! records nothing, and runs the engine's independent check, `gradcheck`: on correct rules, on
//! a deliberately wrong gradient, and with steps ε from 1 to 10⁻⁵ to show why f32 needs care.
//!
//! Run: `cargo run --release -p chapters-examples --bin ch04_autograd`

use chapters_examples::{run_example, ExampleArgs, ExampleResult};
use clap::Parser;
use engine::gradcheck::{check_gradients, GradCheck};
use engine::{no_grad, Result, Rng, Tensor, TensorId};
use std::collections::HashMap;
use std::process::ExitCode;

/// Chapter 4.1: the autograd tape, and gradcheck.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: ExampleArgs,
}

/// Autodiff and the hand-written chain rule must agree this closely (f32 arithmetic).
const TOLERANCE: f32 = 1e-6;

fn main() -> ExitCode {
    let args = Args::parse();
    // Everything here is tiny and draws no pictures: `--quick` and `--out` change nothing.
    let _ = (args.common.quick, &args.common.out);
    run_example(run)
}

fn run() -> ExampleResult {
    let worst = tape_of_a_small_expression()?;
    no_grad_records_nothing()?;
    gradcheck_on_some_rules()?;
    gradcheck_catches_a_wrong_gradient()?;
    choosing_the_step()?;
    if worst > TOLERANCE {
        return Err(format!("autodiff and the chain rule differ by {worst:e}").into());
    }
    Ok(())
}

// ANCHOR: tape
/// L = Σ h·σ(h) with h = x·w: `h` feeds two ops, and `w` (one number) is broadcast to x's shape.
fn tape_of_a_small_expression() -> Result<f32> {
    println!("== The tape: L = sum(h * sigmoid(h)) with h = x * w");
    let x = Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3])?.requires_grad();
    let w = Tensor::from_vec(vec![1.5], &[1])?.requires_grad();
    let h = x.mul(&w)?;
    let s = h.sigmoid()?;
    let y = h.mul(&s)?;
    let loss = y.sum_all()?;

    let mut names = Names::default();
    for (t, name) in [&x, &w, &h, &s, &y, &loss]
        .into_iter()
        .zip(["x", "w", "h", "s", "y", "L"])
    {
        names.set(t, name);
    }
    println!(" step  tensor  made by       from     shape");
    for (step, t) in loss.tape().iter().enumerate() {
        let inputs: Vec<String> = t.op_inputs().iter().map(|i| names.get(i)).collect();
        let op = t.op_name().unwrap_or("(leaf)");
        let (name, from, shape) = (names.get(t), inputs.join(", "), format!("{:?}", t.shape()));
        println!("{:>5}  {name:<6}  {op:<12}  {from:<7}  {shape}", step + 1);
    }
    compare_with_the_chain_rule(&loss, &x, &w)
}
// ANCHOR_END: tape

/// The gradients `backward()` finds for x and w, next to the chain rule worked out by hand.
fn compare_with_the_chain_rule(loss: &Tensor, x: &Tensor, w: &Tensor) -> Result<f32> {
    let grads = loss.backward()?;
    println!("\n== Reverse walk: the gradients, and the chain rule by hand");
    let (dx, dw) = by_hand(&x.to_vec()?, w.to_vec()?[0]);
    let autodiff_dx = grads.get_or_zeros(x)?.to_vec()?;
    let autodiff_dw = grads.get_or_zeros(w)?.to_vec()?;
    println!(
        "∂L/∂x: autodiff {}   by hand {}",
        list(&autodiff_dx),
        list(&dx)
    );
    println!(
        "∂L/∂w: autodiff {}   by hand {}",
        list(&autodiff_dw),
        list(&[dw])
    );
    let worst = autodiff_dx
        .iter()
        .zip(&dx)
        .chain(autodiff_dw.iter().zip(&[dw]))
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    println!("max |autodiff − by hand| = {worst:.1e}");
    Ok(worst)
}

// ANCHOR: by_hand
/// The chain rule for L = Σ h·σ(h), h = x·w. `h` is used twice (by the product and by σ), so
/// ∂L/∂h is a sum of two paths: σ(h) through the product's left factor, h·σ′(h) through σ.
fn by_hand(x: &[f32], w: f32) -> (Vec<f32>, f32) {
    let sigmoid = |v: f32| 1.0 / (1.0 + (-v).exp());
    let dl_dh: Vec<f32> = x
        .iter()
        .map(|&xi| {
            let (h, s) = (xi * w, sigmoid(xi * w));
            s + h * s * (1.0 - s)
        })
        .collect();
    let dx = dl_dh.iter().map(|d| d * w).collect();
    // w was broadcast to every element: its gradient sums over them.
    let dw = dl_dh.iter().zip(x).map(|(d, xi)| d * xi).sum();
    (dx, dw)
}
// ANCHOR_END: by_hand

/// Short names for the tensors of a graph, for printing; unnamed ones get t1, t2, ...
#[derive(Default)]
struct Names {
    known: HashMap<TensorId, String>,
    unnamed: std::cell::RefCell<HashMap<TensorId, String>>,
}

impl Names {
    fn set(&mut self, t: &Tensor, name: &str) {
        self.known.insert(t.id(), name.to_string());
    }

    fn get(&self, t: &Tensor) -> String {
        if let Some(name) = self.known.get(&t.id()) {
            return name.clone();
        }
        let mut unnamed = self.unnamed.borrow_mut();
        let next = format!("t{}", unnamed.len() + 1);
        unnamed.entry(t.id()).or_insert(next).clone()
    }
}

fn no_grad_records_nothing() -> Result<()> {
    println!("\n== no_grad: the same op, recorded and not");
    let x = Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3])?.requires_grad();
    let tracked = x.tanh()?;
    let untracked = no_grad(|| x.tanh())?;
    for (name, t) in [("x.tanh()", &tracked), ("no_grad(|| x.tanh())", &untracked)] {
        println!(
            "{name:<22} op {:<8} inputs {}  requires grad {}",
            t.op_name().unwrap_or("none"),
            t.op_inputs().len(),
            t.requires_grad_flag()
        );
    }
    Ok(())
}

/// One line per check: what was checked and the report's first line.
fn show(name: &str, f: impl Fn(&[Tensor]) -> Result<Tensor>, inputs: &[&Tensor]) -> Result<()> {
    let inputs: Vec<Tensor> = inputs.iter().map(|&t| t.clone()).collect();
    let report = check_gradients(f, &inputs, GradCheck::default())?;
    let first_line = report.to_string();
    println!("{name:<26} {}", first_line.lines().next().unwrap_or(""));
    for failure in first_line.lines().skip(1).take(3) {
        println!("{:<26} {}", "", failure.trim());
    }
    Ok(())
}

// ANCHOR: gradcheck_use
fn gradcheck_on_some_rules() -> Result<()> {
    println!("\n== gradcheck: autodiff against central differences");
    let mut rng = Rng::new(7);
    let a = Tensor::randn(&[3, 4], &mut rng);
    let b = Tensor::randn(&[4, 2], &mut rng);
    let row = Tensor::randn(&[4], &mut rng);
    show("tanh", |t| t[0].tanh(), &[&a])?;
    show("matmul", |t| t[0].matmul(&t[1]), &[&a, &b])?;
    show("add, row broadcast", |t| t[0].add(&t[1]), &[&a, &row])?;
    show("mean over axis 1", |t| t[0].mean(&[1], false), &[&a])?;
    show("softmax over axis 1", |t| t[0].softmax(1), &[&a])?;
    Ok(())
}
// ANCHOR_END: gradcheck_use

// ANCHOR: wrong_gradient
/// x·detach(x) has the values of x², but autodiff sees the second factor as a constant: it
/// reports x where the derivative is 2x. Central differences see only the values.
fn gradcheck_catches_a_wrong_gradient() -> Result<()> {
    println!("\n== A wrong gradient: x * x.detach()");
    let x = Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3])?;
    show("x * x", |t| t[0].mul(&t[0]), &[&x])?;
    show("x * x.detach()", |t| t[0].mul(&t[0].detach()), &[&x])?;
    Ok(())
}
// ANCHOR_END: wrong_gradient

// ANCHOR: choosing_the_step
/// The worst error of exp's gradient for steps ε from 1 to 10⁻⁵: too large a step measures the
/// curvature, too small a step measures f32's rounding.
fn choosing_the_step() -> Result<()> {
    println!("\n== Choosing the step: exp on 12 numbers in f32");
    let x = Tensor::randn(&[3, 4], &mut Rng::new(3));
    println!("       ε   max |autodiff − numeric|");
    for eps in [1.0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5] {
        let config = GradCheck {
            eps,
            ..GradCheck::default()
        };
        let report = check_gradients(|t| t[0].exp(), std::slice::from_ref(&x), config)?;
        println!("{eps:>8.0e}   {:.1e}", report.max_abs_error);
    }
    Ok(())
}
// ANCHOR_END: choosing_the_step

fn list(values: &[f32]) -> String {
    let items: Vec<String> = values.iter().map(|v| format!("{v:.4}")).collect();
    format!("[{}]", items.join(", "))
}
