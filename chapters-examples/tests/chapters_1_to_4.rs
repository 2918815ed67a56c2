//! Runs the examples of chapters 1–4 the way a reader would (with `--quick`), and checks what
//! the book promises: they succeed, draw the pictures the chapters show, and print the facts
//! the text quotes.

mod common;

use common::{assert_pictures, TempDir};
use std::process::{Command, Output};

/// Run an example binary with `args`, returning its output.
fn run(binary: &str, args: &[&str]) -> Output {
    Command::new(binary)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"))
}

/// Run with `--quick --out <temp>`; assert success; return stdout and the output folder.
fn run_quick(binary: &str, name: &str) -> (String, TempDir) {
    let out = TempDir::new(name);
    let output = run(binary, &["--quick", "--out", out.0.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{name} failed with {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    (stdout, out)
}

/// The number printed right after `label` on some line of `text`.
fn number_after(text: &str, label: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no line containing {label:?} in:\n{text}"));
    let rest = &line[line.find(label).unwrap() + label.len()..];
    let number: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || ".eE+-".contains(*c))
        .collect();
    number
        .parse()
        .unwrap_or_else(|_| panic!("no number after {label:?} in {line:?}"))
}

#[test]
fn ch01_prints_the_forward_pass_the_book_shows() {
    let (stdout, out) = run_quick(env!("CARGO_BIN_EXE_ch01_neurons"), "ch01");
    assert!(
        stdout.contains("a = σ(z) = 1 / (1 + e^−z) = 0.7109"),
        "{stdout}"
    );
    assert!(
        stdout.contains("z₁ = x·W₁ᵀ + b₁ = [[-0.6000, 1.3000, 1.1000]]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("p = softmax(z₂)  = [[0.1268, 0.8732]]"),
        "{stdout}"
    );
    assert!(stdout.contains("= 17"), "parameter count: {stdout}");
    assert_pictures(
        &out.0,
        &[
            "neuron_response.png",
            "network_output.png",
            "neuron_diagram.png",
            "network_diagram.png",
        ],
        300,
    );
}

#[test]
fn ch02_autodiff_matches_the_derivative_formulas() {
    let (stdout, out) = run_quick(env!("CARGO_BIN_EXE_ch02_activations"), "ch02");
    assert!(
        stdout.contains("autodiff matches every formula"),
        "{stdout}"
    );
    assert!(number_after(&stdout, "max |autodiff − formula| =") < 1e-6);
    assert!(
        stdout.contains("softmax(z) = [0.6590, 0.2424, 0.0986]"),
        "{stdout}"
    );
    assert_pictures(
        &out.0,
        &["activations.png", "softmax.png", "saturation.png"],
        300,
    );
}

#[test]
fn ch03_neuron_matches_newtons_logistic_regression() {
    let (stdout, out) = run_quick(env!("CARGO_BIN_EXE_ch03_losses"), "ch03");
    let difference = number_after(&stdout, "max |difference| =");
    assert!(
        difference < 1e-3,
        "weights differ by {difference}:\n{stdout}"
    );
    // The loss surface's gradient descent ends near the least-squares line.
    assert!(stdout.contains("least squares (closed form): w = 1.4226, b = 0.9718"));
    assert_pictures(
        &out.0,
        &[
            "loss_curves.png",
            "loss_surface.png",
            "logistic_regression.png",
        ],
        300,
    );
}

#[test]
fn ch04_backprop_matches_autodiff_and_the_network_learns_the_spirals() {
    let (stdout, out) = run_quick(env!("CARGO_BIN_EXE_ch04_backprop"), "ch04");
    assert_eq!(
        stdout.matches("max diff 0.0e0").count(),
        4,
        "backprop by hand should equal autodiff for all four parameters:\n{stdout}"
    );
    let accuracy = number_after(&stdout, "final accuracy:");
    assert!(accuracy > 90.0, "training accuracy {accuracy}%:\n{stdout}");
    let unseen = number_after(&stdout, "unseen points:");
    assert!(
        unseen > 85.0,
        "accuracy on unseen points {unseen}%:\n{stdout}"
    );
    assert_pictures(&out.0, &["loss_curve.png", "decision_boundary.png"], 300);
}

#[test]
fn bad_arguments_fail_with_a_message_instead_of_running() {
    let unknown = run(env!("CARGO_BIN_EXE_ch01_neurons"), &["--no-such-option"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--no-such-option"));

    let zero_epochs = run(
        env!("CARGO_BIN_EXE_ch04_backprop"),
        &["--quick", "--epochs", "0"],
    );
    assert!(!zero_epochs.status.success());
    assert!(String::from_utf8_lossy(&zero_epochs.stderr).contains("--epochs"));
}
