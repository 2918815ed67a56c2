//! Small labelled 2-D data sets made in code, so every example runs without downloads and the
//! pictures can show the whole data set at once.

use engine::{Result, Rng, Tensor};
use std::f32::consts::PI;

/// Points in the plane with a class label (0 or 1) each.
#[derive(Clone, Debug, Default)]
pub struct Dataset2d {
    pub points: Vec<[f32; 2]>,
    pub labels: Vec<usize>,
}

impl Dataset2d {
    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    fn push(&mut self, point: [f32; 2], label: usize) {
        self.points.push(point);
        self.labels.push(label);
    }

    /// The points as a `[n, 2]` tensor: one row per example, as layers expect.
    pub fn inputs(&self) -> Result<Tensor> {
        let flat = self.points.iter().flat_map(|p| *p).collect();
        Tensor::from_vec(flat, &[self.len(), 2])
    }

    /// The labels as a `[n, 1]` tensor of 0.0 and 1.0, the shape of a one-output network.
    pub fn targets(&self) -> Result<Tensor> {
        let flat = self.labels.iter().map(|&l| l as f32).collect();
        Tensor::from_vec(flat, &[self.len(), 1])
    }

    /// The examples at `indices`, in that order (a mini-batch).
    pub fn subset(&self, indices: &[usize]) -> Dataset2d {
        Dataset2d {
            points: indices.iter().map(|&i| self.points[i]).collect(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }
}

/// Two round clouds of points, centred at `centre_0` and `centre_1`, each with standard
/// deviation `spread`. When the clouds overlap no straight line separates them perfectly —
/// which is exactly what logistic regression needs to have a finite best answer.
pub fn gaussian_blobs(
    per_class: usize,
    centre_0: [f32; 2],
    centre_1: [f32; 2],
    spread: f32,
    rng: &mut Rng,
) -> Dataset2d {
    let mut data = Dataset2d::default();
    for i in 0..2 * per_class {
        // Alternate the classes so any prefix of the data set is balanced.
        let label = i % 2;
        let centre = if label == 0 { centre_0 } else { centre_1 };
        let point = [
            centre[0] + spread * rng.normal(),
            centre[1] + spread * rng.normal(),
        ];
        data.push(point, label);
    }
    data
}

/// Two interleaved spirals, one per class: the classic data set no straight line (and no
/// single neuron) can separate. `turns` is how many times each arm winds around the centre.
///
/// The arms reach out to radius 2, so each coordinate has a standard deviation near 1. That
/// matters: tanh networks fed inputs much smaller than 1 start out almost linear and can
/// stall on a straight-line answer (try shrinking `SPIRAL_RADIUS` to 1 and train ch04).
pub fn two_spirals(per_class: usize, turns: f32, noise: f32, rng: &mut Rng) -> Dataset2d {
    const SPIRAL_RADIUS: f32 = 2.0;
    let mut data = Dataset2d::default();
    for i in 0..per_class {
        // Start a little away from the centre, where the two arms would otherwise touch.
        let t = 0.15 + 0.85 * i as f32 / per_class as f32;
        let angle = t * turns * 2.0 * PI;
        let radius = SPIRAL_RADIUS * t;
        for label in 0..2 {
            // The second arm is the first rotated by half a turn.
            let phase = label as f32 * PI;
            let point = [
                radius * (angle + phase).cos() + noise * rng.normal(),
                radius * (angle + phase).sin() + noise * rng.normal(),
            ];
            data.push(point, label);
        }
    }
    data
}

/// Two interlocking half circles ("moons"), a gentler non-linear problem than the spirals.
pub fn two_moons(per_class: usize, noise: f32, rng: &mut Rng) -> Dataset2d {
    let mut data = Dataset2d::default();
    for i in 0..per_class {
        let angle = PI * i as f32 / (per_class.max(2) - 1) as f32;
        let upper = [angle.cos(), angle.sin()];
        let lower = [1.0 - angle.cos(), 0.5 - angle.sin()];
        for (label, p) in [(0, upper), (1, lower)] {
            data.push(
                [p[0] + noise * rng.normal(), p[1] + noise * rng.normal()],
                label,
            );
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_are_balanced_and_seeded() {
        let a = two_spirals(50, 1.5, 0.05, &mut Rng::new(1));
        let b = two_spirals(50, 1.5, 0.05, &mut Rng::new(1));
        assert_eq!(a.len(), 100);
        assert_eq!(a.labels.iter().filter(|&&l| l == 1).count(), 50);
        assert_eq!(a.points, b.points);
        let blobs = gaussian_blobs(20, [-1.0, 0.0], [1.0, 0.0], 1.0, &mut Rng::new(2));
        assert_eq!(blobs.inputs().unwrap().shape(), &[40, 2]);
        assert_eq!(blobs.targets().unwrap().shape(), &[40, 1]);
        assert_eq!(two_moons(10, 0.1, &mut Rng::new(3)).len(), 20);
    }
}
