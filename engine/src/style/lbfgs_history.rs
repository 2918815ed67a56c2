//! L-BFGS's memory and its search direction without a round trip per dot product.
//!
//! The two-loop recursion computes −H·g with two dot products and two vector updates per
//! remembered pair, each product waiting for the one before: on a GPU, 2h round trips to the
//! host per step. But every vector it forms is a combination of the same few — the steps sᵢ,
//! the gradient differences yᵢ and g — so it can run on their *coefficients* instead, given the
//! inner products sᵢᵀyⱼ, yᵢᵀyⱼ, sᵢᵀg and yᵢᵀg (the "vector-free" form of Chen et al., 2014).
//! Those are kept on the host and brought up to date with one batched product per step (the new
//! pair and g against the whole history), and the direction is formed by one combination of the
//! history's vectors. Two calls to the device per step whatever the history's length, and the
//! same code on the CPU, where the batched product reads each remembered vector once.
//!
//! With a preconditioner (γ·M between the loops, `preconditioner.rs`) M·q is not a combination
//! of those vectors: it is formed between the loops and measured against the yᵢ, a fixed few
//! more calls and one more pass over the yᵢ per step.
//!
//! Those passes read the whole history, which at 512 × 384 px is 470 MB in f32: memory bandwidth,
//! more than arithmetic, is their cost. Kept in bf16 (`HistoryPrecision::Bf16`) each pair is rounded to
//! about three significant digits when it is offered, then measured and used as rounded, so the
//! recursion is exactly L-BFGS's on the rounded pairs (still positive definite), in half the
//! memory and half the bytes read.

use super::preconditioner::CoarseLift;
use crate::error::Result;
use crate::tensor::Tensor;
use crate::vector::{Bf16Vector, Vector};

/// A pair is only kept when yᵀs exceeds this: positive curvature keeps H positive definite.
const MIN_CURVATURE: f64 = 1e-10;

// ANCHOR: history_precision
/// How L-BFGS keeps its (s, y) pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum HistoryPrecision {
    /// f32, as the parameters: the classic method.
    #[default]
    F32,
    /// bf16, rounded when offered: half the memory and half the bytes each step reads.
    Bf16,
}
// ANCHOR_END: history_precision

/// One remembered vector, as the history keeps it.
#[derive(Clone, Debug)]
enum Kept {
    F32(Tensor),
    Bf16(Bf16Vector),
}

impl Kept {
    /// `v` kept at `precision`, with the f32 values it now stands for.
    fn new(v: Tensor, precision: HistoryPrecision) -> Result<(Kept, Tensor)> {
        match precision {
            HistoryPrecision::F32 => Ok((Kept::F32(v.clone()), v)),
            HistoryPrecision::Bf16 => {
                let packed = v.to_bf16()?;
                let rounded = packed.to_f32()?;
                Ok((Kept::Bf16(packed), rounded))
            }
        }
    }

    fn vector(&self) -> Vector<'_> {
        match self {
            Kept::F32(t) => Vector::F32(t),
            Kept::Bf16(v) => Vector::Bf16(v),
        }
    }
}

/// The last pairs (s, y), oldest first, on the parameters' device; on the host, `1/yᵢᵀsᵢ` and
/// the inner products the recursion needs.
pub(super) struct History {
    capacity: usize,
    precision: HistoryPrecision,
    steps: Vec<Kept>,
    grad_diffs: Vec<Kept>,
    rho: Vec<f64>,
    /// `sy[i][j]` = sᵢᵀyⱼ.
    sy: Vec<Vec<f64>>,
    /// `yy[i][j]` = yᵢᵀyⱼ.
    yy: Vec<Vec<f64>>,
    /// M in the scaling between the two loops, γ·M instead of γ (see `preconditioner.rs`).
    preconditioner: Option<CoarseLift>,
    /// yᵀMy of the newest pair, for γ = sᵀy / yᵀMy.
    newest_ymy: f64,
}

/// The gradient measured against the history (after its update): sᵢᵀg, yᵢᵀg and gᵀg.
pub(super) struct Measured {
    gs: Vec<f64>,
    gy: Vec<f64>,
    pub gg: f64,
}

/// Drop row and column 0 of a square table.
fn drop_first(table: &mut Vec<Vec<f64>>) {
    table.remove(0);
    for row in table.iter_mut() {
        row.remove(0);
    }
}

impl History {
    pub fn new(
        capacity: usize,
        precision: HistoryPrecision,
        preconditioner: Option<CoarseLift>,
    ) -> Self {
        History {
            capacity,
            precision,
            steps: Vec::new(),
            grad_diffs: Vec::new(),
            rho: Vec::new(),
            sy: Vec::new(),
            yy: Vec::new(),
            preconditioner,
            newest_ymy: 0.0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Forget every pair (after the active set changed, in a box).
    pub fn clear(&mut self) {
        *self = History::new(self.capacity, self.precision, self.preconditioner);
    }

    /// Offer the pair `(s, y)` (kept if its curvature yᵀs is positive, the oldest pair dropped
    /// when full) and measure `g` against the history: one batched product on the device,
    /// rows (g, y, s) against columns (s₁…, y₁…, s, y, g). The pair is measured as the
    /// history would keep it (rounded, in bf16).
    pub fn update(&mut self, pair: Option<(Tensor, Tensor)>, g: &Tensor) -> Result<Measured> {
        let m = self.steps.len();
        let pair = match pair {
            Some((s, y)) => Some((Kept::new(s, self.precision)?, Kept::new(y, self.precision)?)),
            None => None,
        };
        let mut cols: Vec<Vector> = self
            .steps
            .iter()
            .chain(&self.grad_diffs)
            .map(Kept::vector)
            .collect();
        let mut rows = vec![g];
        if let Some(((_, s), (_, y))) = &pair {
            cols.extend([Vector::F32(s), Vector::F32(y)]);
            rows.extend([y, s]);
        }
        cols.push(Vector::F32(g));
        let products = Tensor::dots(&rows, &cols)?;
        let width = cols.len();
        let at = |row: usize, col: usize| products[row * width + col];
        let (g_row, y_row, s_row) = (0, 1, 2);
        let mut measured = Measured {
            gs: (0..m).map(|i| at(g_row, i)).collect(),
            gy: (0..m).map(|j| at(g_row, m + j)).collect(),
            gg: at(g_row, width - 1),
        };
        let Some(((s, _), (y, y_values))) = pair else {
            return Ok(measured);
        };
        let (s_col, y_col) = (2 * m, 2 * m + 1);
        let ys = at(y_row, s_col);
        if ys <= MIN_CURVATURE {
            return Ok(measured);
        }
        // The new pair against the pairs kept: sᵢᵀy, sᵀyⱼ, yᵀyⱼ.
        let drop = usize::from(m == self.capacity);
        let s_i_y: Vec<f64> = (drop..m).map(|i| at(y_row, i)).collect();
        let s_y_j: Vec<f64> = (drop..m).map(|j| at(s_row, m + j)).collect();
        let y_y_j: Vec<f64> = (drop..m).map(|j| at(y_row, m + j)).collect();
        if drop == 1 {
            self.steps.remove(0);
            self.grad_diffs.remove(0);
            self.rho.remove(0);
            drop_first(&mut self.sy);
            drop_first(&mut self.yy);
            measured.gs.remove(0);
            measured.gy.remove(0);
        }
        for (row, v) in self.sy.iter_mut().zip(&s_i_y) {
            row.push(*v);
        }
        self.sy.push([s_y_j, vec![ys]].concat());
        for (row, v) in self.yy.iter_mut().zip(&y_y_j) {
            row.push(*v);
        }
        self.yy.push([y_y_j, vec![at(y_row, y_col)]].concat());
        measured.gs.push(at(g_row, s_col));
        measured.gy.push(at(g_row, y_col));
        self.newest_ymy = match &self.preconditioner {
            Some(m) => y_values.dot(&m.apply(&y_values)?)?,
            None => at(y_row, y_col),
        };
        self.steps.push(s);
        self.grad_diffs.push(y);
        self.rho.push(1.0 / ys);
        Ok(measured)
    }

    // ANCHOR: two_loop
    /// The two-loop recursion, −H·g with H the L-BFGS inverse-Hessian estimate, run on the
    /// coefficients of q over (s₁…, y₁…, g) rather than on q itself: each sᵢᵀq and yᵢᵀq is a sum
    /// over the inner products measured in [`History::update`]. Returns the direction, formed
    /// by one combination on the device, and its slope gᵀd.
    pub fn direction(&self, g: &Tensor, m: &Measured) -> Result<(Tensor, f64)> {
        let n = self.steps.len();
        if n == 0 {
            return Ok((g.neg()?, -m.gg));
        }
        let (alpha, mut cy, mut cg) = self.first_loop(m);
        if let Some(lift) = &self.preconditioner {
            return self.second_loop_preconditioned(g, m, lift, &alpha, &cy, cg);
        }
        // Scale by yᵀs / yᵀy of the newest pair: a cheap estimate of the Hessian's size.
        let gamma = self.gamma();
        cg *= gamma;
        cy.iter_mut().for_each(|c| *c *= gamma);
        let mut cs = vec![0.0f64; n];
        for (i, a) in alpha.iter().enumerate() {
            let yq = cg * m.gy[i]
                + (0..n)
                    .map(|j| cy[j] * self.yy[i][j] + cs[j] * self.sy[j][i])
                    .sum::<f64>();
            let beta = yq * self.rho[i];
            cs[i] += a - beta;
        }
        let coefs: Vec<f64> = cs.iter().chain(&cy).copied().chain([cg]).collect();
        let vectors: Vec<Vector> = self
            .steps
            .iter()
            .chain(&self.grad_diffs)
            .map(Kept::vector)
            .chain([Vector::F32(g)])
            .collect();
        let d = Tensor::combination(&coefs, &vectors)?;
        let slope = cg * m.gg
            + (0..n)
                .map(|j| cs[j] * m.gs[j] + cy[j] * m.gy[j])
                .sum::<f64>();
        Ok((d, slope))
    }

    /// The first loop, newest pair first: q = −g − Σ αᵢyᵢ as its coefficients over (y₁…, g),
    /// with the αᵢ the second loop needs.
    fn first_loop(&self, m: &Measured) -> (Vec<f64>, Vec<f64>, f64) {
        let n = self.steps.len();
        let (mut cy, cg) = (vec![0.0f64; n], -1.0f64);
        let mut alpha = vec![0.0f64; n];
        for i in (0..n).rev() {
            // sᵢᵀq (q has no s terms yet).
            let sq = cg * m.gs[i] + (0..n).map(|j| cy[j] * self.sy[i][j]).sum::<f64>();
            alpha[i] = sq * self.rho[i];
            cy[i] -= alpha[i];
        }
        (alpha, cy, cg)
    }

    /// γ = sᵀy / yᵀMy of the newest pair (M = I without a preconditioner).
    fn gamma(&self) -> f64 {
        1.0 / (self.rho[self.steps.len() - 1] * self.newest_ymy)
    }
    // ANCHOR_END: two_loop

    // ANCHOR: preconditioned
    /// The second loop after r = γ·M·q. M mixes the pixels, so M·q is no longer a
    /// combination of the history's vectors: it is formed once (q from its coefficients, then
    /// M), measured against every yᵢ in one batched product, and kept as one more vector of
    /// the final combination.
    fn second_loop_preconditioned(
        &self,
        g: &Tensor,
        m: &Measured,
        lift: &CoarseLift,
        alpha: &[f64],
        cy: &[f64],
        cg: f64,
    ) -> Result<(Tensor, f64)> {
        let n = self.steps.len();
        let q_coefs: Vec<f64> = cy.iter().copied().chain([cg]).collect();
        let q_vectors: Vec<Vector> = self
            .grad_diffs
            .iter()
            .map(Kept::vector)
            .chain([Vector::F32(g)])
            .collect();
        let mq = lift.apply(&Tensor::combination(&q_coefs, &q_vectors)?)?;
        // yᵢᵀMq for every pair, and gᵀMq for the slope.
        let products = Tensor::dots(&[&mq], &q_vectors)?;
        let gamma = self.gamma();
        let mut cs = vec![0.0f64; n];
        for (i, a) in alpha.iter().enumerate() {
            let yr = gamma * products[i] + (0..n).map(|j| cs[j] * self.sy[j][i]).sum::<f64>();
            let beta = yr * self.rho[i];
            cs[i] += a - beta;
        }
        let coefs: Vec<f64> = cs.iter().copied().chain([gamma]).collect();
        let vectors: Vec<Vector> = self
            .steps
            .iter()
            .map(Kept::vector)
            .chain([Vector::F32(&mq)])
            .collect();
        let d = Tensor::combination(&coefs, &vectors)?;
        let slope = gamma * products[n] + (0..n).map(|j| cs[j] * m.gs[j]).sum::<f64>();
        Ok((d, slope))
    }
    // ANCHOR_END: preconditioned
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kept vector's values in f32.
    fn values(kept: &Kept) -> Tensor {
        match kept {
            Kept::F32(t) => t.clone(),
            Kept::Bf16(v) => v.to_f32().unwrap(),
        }
    }

    /// The textbook two-loop recursion on the vectors themselves (the code this replaced).
    fn two_loop(h: &History, grad: &Tensor) -> Tensor {
        let mut q = grad.neg().unwrap();
        let n = h.steps.len();
        let steps: Vec<Tensor> = h.steps.iter().map(values).collect();
        let grad_diffs: Vec<Tensor> = h.grad_diffs.iter().map(values).collect();
        let mut alpha = vec![0.0f64; n];
        for i in (0..n).rev() {
            alpha[i] = steps[i].dot(&q).unwrap() * h.rho[i];
            q = q.add_scaled(-alpha[i], &grad_diffs[i]).unwrap();
        }
        let newest = n - 1;
        let m = |v: &Tensor| match &h.preconditioner {
            Some(lift) => lift.apply(v).unwrap(),
            None => v.clone(),
        };
        let y = &grad_diffs[newest];
        let ymy = y.dot(&m(y)).unwrap();
        q = m(&q).scaled(1.0 / (h.rho[newest] * ymy)).unwrap();
        for (i, a) in alpha.iter().enumerate() {
            let beta = grad_diffs[i].dot(&q).unwrap() * h.rho[i];
            q = q.add_scaled(a - beta, &steps[i]).unwrap();
        }
        q
    }

    /// The CPU cost of one direction with a full history of 100 pairs at 512 × 384 pixels,
    /// against the two-loop recursion it replaced. A measurement, not a check:
    /// `cargo test --release -p picasso-engine --lib lbfgs_history -- --ignored --nocapture`.
    #[test]
    #[ignore = "a timing, run by hand"]
    fn cpu_time_against_the_two_loop_recursion() {
        let (n, pairs) = (3 * 384 * 512, 100);
        let mut rng = crate::rng::Rng::new(7);
        let mut random = || Tensor::rand_uniform(&[1, 3, 384, 512], -1.0, 1.0, &mut rng);
        let g = random();
        let s = random();
        let y = s.neg().unwrap();
        let offered: Vec<(Tensor, Tensor)> = (0..pairs)
            .map(|_| {
                let s = random();
                // y = s + noise: positive curvature, so every pair is kept.
                let y = s.add_scaled(0.1, &random()).unwrap();
                (s, y)
            })
            .collect();
        let time = |f: &mut dyn FnMut()| {
            let start = std::time::Instant::now();
            for _ in 0..3 {
                f();
            }
            start.elapsed().as_secs_f64() / 3.0
        };
        for precision in [HistoryPrecision::F32, HistoryPrecision::Bf16] {
            let mut h = History::new(pairs, precision, None);
            for (s, y) in &offered {
                h.update(Some((s.clone(), y.clone())), &random()).unwrap();
            }
            let old = time(&mut || {
                two_loop(&h, &g);
            });
            // A step's full work: a pair offered (rows g, y, s against the whole history;
            // this one of negative curvature, so the history stays as it is), then the
            // direction.
            let new = time(&mut || {
                let measured = h.update(Some((s.clone(), y.clone())), &g).unwrap();
                h.direction(&g, &measured).unwrap();
            });
            // The same with the preconditioner, and the M·y a kept pair adds (for its yᵀMy).
            h.preconditioner = Some(CoarseLift::DEFAULT);
            let preconditioned = time(&mut || {
                let measured = h.update(Some((s.clone(), y.clone())), &g).unwrap();
                h.direction(&g, &measured).unwrap();
            });
            let kept_pair = time(&mut || {
                g.dot(&CoarseLift::DEFAULT.apply(&g).unwrap()).unwrap();
            });
            h.preconditioner = None;
            let cols: Vec<Vector> = h
                .steps
                .iter()
                .chain(&h.grad_diffs)
                .map(Kept::vector)
                .chain([Vector::F32(&s), Vector::F32(&y), Vector::F32(&g)])
                .collect();
            let products = time(&mut || {
                Tensor::dots(&[&g, &y, &s], &cols).unwrap();
            });
            let coefs = vec![0.5; cols.len()];
            let combination = time(&mut || {
                Tensor::combination(&coefs, &cols).unwrap();
            });
            println!(
                "direction at n = {n}, {pairs} pairs kept in {precision:?}: two-loop {old:.3} s, \
                 batched {new:.3} s (products {products:.3} s, combination {combination:.3} s), \
                 preconditioned {preconditioned:.3} s (+ {kept_pair:.4} s for yᵀMy when a pair \
                 is kept)"
            );
        }
    }

    /// 50 values as a picture of two 5 × 5 channels, so the preconditioner has partial blocks.
    fn vector(values: Vec<f32>) -> Tensor {
        Tensor::from_vec(values, &[1, 2, 5, 5]).unwrap()
    }

    /// Gradients along a run on a convex function with very different curvatures, pairs
    /// offered one by one (one with negative curvature, rejected), the history overflowing:
    /// after each, the direction agrees with the two-loop recursion on the same pairs.
    #[test]
    fn direction_matches_the_two_loop_recursion() {
        check_against_the_two_loop_recursion(HistoryPrecision::F32, None);
    }

    /// The same with the preconditioner: γ·M between the loops, M·q formed on the device.
    #[test]
    fn preconditioned_direction_matches_the_two_loop_recursion() {
        check_against_the_two_loop_recursion(HistoryPrecision::F32, Some(PRECONDITIONER));
    }

    /// With the pairs kept in bf16 the direction is the two-loop recursion's on the rounded
    /// pairs, with and without the preconditioner.
    #[test]
    fn bf16_history_direction_matches_the_two_loop_recursion_on_its_pairs() {
        check_against_the_two_loop_recursion(HistoryPrecision::Bf16, None);
        check_against_the_two_loop_recursion(HistoryPrecision::Bf16, Some(PRECONDITIONER));
    }

    /// Kept in bf16, the pairs are rounded: a pair's values differ from what was offered by
    /// at most half a bf16 step (at most 2⁻⁸ of the value), and some do differ.
    #[test]
    fn bf16_history_keeps_each_pair_rounded() {
        let mut rng = crate::rng::Rng::new(3);
        let s = Tensor::rand_uniform(&[1, 2, 5, 5], -1.0, 1.0, &mut rng);
        let y = s.scaled(2.0).unwrap();
        let g = Tensor::rand_uniform(&[1, 2, 5, 5], -1.0, 1.0, &mut rng);
        let mut h = History::new(3, HistoryPrecision::Bf16, None);
        h.update(Some((s.clone(), y)), &g).unwrap();
        let (offered, kept) = (s.to_vec().unwrap(), values(&h.steps[0]).to_vec().unwrap());
        assert!(matches!(h.steps[0], Kept::Bf16(_)));
        assert!(
            offered.iter().zip(&kept).any(|(a, b)| a != b),
            "nothing was rounded"
        );
        for (a, b) in offered.iter().zip(&kept) {
            assert!((a - b).abs() <= a.abs() / 256.0, "{a} kept as {b}");
        }
    }

    const PRECONDITIONER: CoarseLift = CoarseLift {
        block: 2,
        lift: 3.0,
    };

    fn check_against_the_two_loop_recursion(
        precision: HistoryPrecision,
        preconditioner: Option<CoarseLift>,
    ) {
        let n = 50;
        let curvature: Vec<f32> = (0..n).map(|i| 1.0 + (i * i) as f32 / 10.0).collect();
        // Not a quadratic (there sᵢᵀyⱼ = sᵢᵀA sⱼ would be symmetric and hide a transposition).
        let grad_at = |x: &[f32]| {
            vector(
                x.iter()
                    .zip(&curvature)
                    .map(|(x, c)| c * x + x * x * x)
                    .collect(),
            )
        };
        let mut x: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 13) as f32 / 6.0 - 1.0)
            .collect();
        let mut h = History::new(5, precision, preconditioner);
        let mut previous: Option<(Vec<f32>, Tensor)> = None;
        for step in 0..9 {
            let g = grad_at(&x);
            let pair = previous.take().map(|(old_x, old_g)| {
                let s: Vec<f32> = x.iter().zip(&old_x).map(|(a, b)| a - b).collect();
                let y = g.sub(&old_g).unwrap();
                // Step 5 offers a pair of negative curvature: not kept.
                let y = if step == 5 { y.neg().unwrap() } else { y };
                (vector(s), y)
            });
            let measured = h.update(pair, &g).unwrap();
            if step == 5 {
                assert_eq!(
                    h.steps.len(),
                    4,
                    "the pair of negative curvature was not kept"
                );
            }
            let (d, slope) = h.direction(&g, &measured).unwrap();
            if !h.is_empty() {
                let want = two_loop(&h, &g).to_vec().unwrap();
                let got = d.to_vec().unwrap();
                let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                for (a, b) in got.iter().zip(&want) {
                    assert!((a - b).abs() <= 1e-5 * scale, "step {step}: {a} vs {b}");
                }
            }
            let direct = g.dot(&d).unwrap();
            assert!(
                (slope - direct).abs() <= 1e-6 * direct.abs(),
                "step {step}: slope {slope} vs {direct}"
            );
            assert!(slope < 0.0, "step {step}: not downhill");
            let d = d.to_vec().unwrap();
            previous = Some((x.clone(), g));
            x = x.iter().zip(&d).map(|(x, d)| x + 0.5 * d).collect();
        }
        // Steps 1–8 offered 8 pairs, 7 of them good: the oldest 2 were dropped.
        assert_eq!(h.steps.len(), 5, "the history is full");
    }
}
