//! Checking autodiff against finite differences.
//!
//! For a function f and a fixed random cotangent r, the scalar s(x) = Σ f(x)·r has gradient
//! Jᵀr. Autodiff computes it in one backward pass; central differences estimate each element
//! as (s(x + εeᵢ) − s(x − εeᵢ)) / 2ε, with the sum accumulated in f64.

use crate::error::Result;
use crate::rng::Rng;
use crate::tensor::Tensor;
use std::fmt;

/// Step and tolerances for [`check_gradients`].
#[derive(Clone, Copy, Debug)]
pub struct GradCheck {
    pub eps: f32,
    pub atol: f64,
    pub rtol: f64,
    pub seed: u64,
}

// ANCHOR: tolerances
impl Default for GradCheck {
    /// Tolerances for f32 arithmetic: the finite difference itself is only good to ~1e-3.
    fn default() -> Self {
        GradCheck {
            eps: 1e-2,
            atol: 2e-3,
            rtol: 1e-2,
            seed: 0,
        }
    }
}
// ANCHOR_END: tolerances

/// The worst disagreement found.
#[derive(Clone, Debug)]
pub struct GradCheckReport {
    pub checked: usize,
    pub failures: Vec<String>,
    pub max_abs_error: f64,
}

impl GradCheckReport {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

impl fmt::Display for GradCheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} elements checked, max |autodiff − numeric| = {:.3e}, {} failures",
            self.checked,
            self.max_abs_error,
            self.failures.len()
        )?;
        for line in self.failures.iter().take(10) {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

// ANCHOR: check_gradients
/// Compare autodiff and central differences for every element of every input.
///
/// `f` receives leaf tensors with the values of `inputs`; it may view them in any way
/// (transpose, broadcast, slice) before computing its output.
pub fn check_gradients(
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
    inputs: &[Tensor],
    config: GradCheck,
) -> Result<GradCheckReport> {
    let values: Vec<Vec<f32>> = inputs.iter().map(|t| t.to_vec()).collect::<Result<_>>()?;
    let shapes: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape().to_vec()).collect();
    let leaves = |values: &[Vec<f32>]| -> Result<Vec<Tensor>> {
        values
            .iter()
            .zip(&shapes)
            .map(|(v, s)| Ok(Tensor::from_slice(v, s)?.requires_grad()))
            .collect()
    };

    // Autodiff: one backward pass, seeded with a random r, gives Jᵀr for every input.
    let x = leaves(&values)?;
    let out = f(&x)?;
    let cotangent = Tensor::randn(out.shape(), &mut Rng::new(config.seed));
    let r = cotangent.to_vec()?;
    let grads = out.backward_with(&cotangent)?;

    // The scalar s(x) = Σ f(x)·r that both methods differentiate, summed in f64.
    let objective = |values: &[Vec<f32>]| -> Result<f64> {
        let y = crate::autograd::no_grad(|| f(&leaves(values)?))?.to_vec()?;
        Ok(y.iter().zip(&r).map(|(&a, &b)| a as f64 * b as f64).sum())
    };

    let mut report = GradCheckReport::empty();
    let mut probe = values.clone();
    for (i, leaf) in x.iter().enumerate() {
        let analytic = grads.get_or_zeros(leaf)?.to_vec()?;
        for (j, &a) in analytic.iter().enumerate() {
            let numeric = central_difference(&objective, &mut probe, i, j, config.eps)?;
            report.compare(i, j, a as f64, numeric, &config);
        }
    }
    Ok(report)
}
// ANCHOR_END: check_gradients

// ANCHOR: central_difference
/// (s(x + εeⱼ) − s(x − εeⱼ)) / 2ε for element `j` of input `i`, where eⱼ is that element's
/// unit vector; `probe` holds the inputs' values and is left as it was found.
fn central_difference(
    objective: &impl Fn(&[Vec<f32>]) -> Result<f64>,
    probe: &mut [Vec<f32>],
    i: usize,
    j: usize,
    eps: f32,
) -> Result<f64> {
    let original = probe[i][j];
    probe[i][j] = original + eps;
    let plus = objective(probe)?;
    probe[i][j] = original - eps;
    let minus = objective(probe)?;
    probe[i][j] = original;
    Ok((plus - minus) / (2.0 * eps as f64))
}

impl GradCheckReport {
    fn empty() -> Self {
        GradCheckReport {
            checked: 0,
            failures: Vec::new(),
            max_abs_error: 0.0,
        }
    }

    /// Record one element: it fails when |autodiff − numeric| > atol + rtol·|numeric|.
    fn compare(&mut self, i: usize, j: usize, analytic: f64, numeric: f64, config: &GradCheck) {
        let error = (analytic - numeric).abs();
        self.checked += 1;
        self.max_abs_error = self.max_abs_error.max(error);
        if error > config.atol + config.rtol * numeric.abs() {
            self.failures.push(format!(
                "input {i} element {j}: autodiff {analytic:.6} vs numeric {numeric:.6}"
            ));
        }
    }
}
// ANCHOR_END: central_difference
