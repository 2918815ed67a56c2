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

    let x = leaves(&values)?;
    let out = f(&x)?;
    let mut rng = Rng::new(config.seed);
    let cotangent = Tensor::randn(out.shape(), &mut rng);
    let r = cotangent.to_vec()?;
    let grads = out.backward_with(&cotangent)?;

    let objective = |values: &[Vec<f32>]| -> Result<f64> {
        let y = crate::autograd::no_grad(|| f(&leaves(values)?))?.to_vec()?;
        Ok(y.iter().zip(&r).map(|(&a, &b)| a as f64 * b as f64).sum())
    };

    let mut report = GradCheckReport {
        checked: 0,
        failures: Vec::new(),
        max_abs_error: 0.0,
    };
    let mut probe = values.clone();
    for (i, leaf) in x.iter().enumerate() {
        let analytic = grads.get_or_zeros(leaf)?.to_vec()?;
        for j in 0..values[i].len() {
            probe[i][j] = values[i][j] + config.eps;
            let plus = objective(&probe)?;
            probe[i][j] = values[i][j] - config.eps;
            let minus = objective(&probe)?;
            probe[i][j] = values[i][j];
            let numeric = (plus - minus) / (2.0 * config.eps as f64);
            let error = (analytic[j] as f64 - numeric).abs();
            report.checked += 1;
            report.max_abs_error = report.max_abs_error.max(error);
            if error > config.atol + config.rtol * numeric.abs() {
                report.failures.push(format!(
                    "input {i} element {j}: autodiff {:.6} vs numeric {numeric:.6}",
                    analytic[j]
                ));
            }
        }
    }
    Ok(report)
}
