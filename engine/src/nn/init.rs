//! Seeded weight initialisers. Their scales keep the variance of activations (and gradients)
//! roughly constant from layer to layer, so deep networks start trainable.

use crate::rng::Rng;
use crate::tensor::Tensor;

// ANCHOR: xavier
/// Xavier/Glorot uniform: U(−a, a) with a = √(6 / (fan_in + fan_out)). Suited to tanh/sigmoid.
pub fn xavier_uniform(shape: &[usize], fan_in: usize, fan_out: usize, rng: &mut Rng) -> Tensor {
    let a = (6.0 / (fan_in + fan_out) as f32).sqrt();
    Tensor::rand_uniform(shape, -a, a, rng)
}

/// Xavier/Glorot normal: N(0, 2 / (fan_in + fan_out)).
pub fn xavier_normal(shape: &[usize], fan_in: usize, fan_out: usize, rng: &mut Rng) -> Tensor {
    let std = (2.0 / (fan_in + fan_out) as f32).sqrt();
    scaled_normal(shape, std, rng)
}
// ANCHOR_END: xavier

// ANCHOR: he
/// He/Kaiming normal: N(0, 2 / fan_in). Suited to ReLU, which zeroes half its inputs.
pub fn he_normal(shape: &[usize], fan_in: usize, rng: &mut Rng) -> Tensor {
    let std = (2.0 / fan_in as f32).sqrt();
    scaled_normal(shape, std, rng)
}

/// He/Kaiming uniform: U(−a, a) with a = √(6 / fan_in).
pub fn he_uniform(shape: &[usize], fan_in: usize, rng: &mut Rng) -> Tensor {
    let a = (6.0 / fan_in as f32).sqrt();
    Tensor::rand_uniform(shape, -a, a, rng)
}
// ANCHOR_END: he

// ANCHOR: scaled_normal
/// Samples of N(0, std²): a standard normal sample, times `std`.
fn scaled_normal(shape: &[usize], std: f32, rng: &mut Rng) -> Tensor {
    let n = shape.iter().product();
    let data = (0..n).map(|_| std * rng.normal()).collect();
    Tensor::from_vec(data, shape).expect("length matches shape")
}
// ANCHOR_END: scaled_normal

// ANCHOR: init
/// Which initialiser a layer uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    XavierUniform,
    XavierNormal,
    HeNormal,
    HeUniform,
}

impl Init {
    pub fn tensor(self, shape: &[usize], fan_in: usize, fan_out: usize, rng: &mut Rng) -> Tensor {
        match self {
            Init::XavierUniform => xavier_uniform(shape, fan_in, fan_out, rng),
            Init::XavierNormal => xavier_normal(shape, fan_in, fan_out, rng),
            Init::HeNormal => he_normal(shape, fan_in, rng),
            Init::HeUniform => he_uniform(shape, fan_in, rng),
        }
    }
}
// ANCHOR_END: init

#[cfg(test)]
mod tests {
    use super::*;

    fn variance(t: &Tensor) -> f32 {
        let v = t.to_vec().unwrap();
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / v.len() as f32
    }

    #[test]
    fn scales_match_their_formulas() {
        let mut rng = Rng::new(1);
        let he = he_normal(&[400, 100], 100, &mut rng);
        assert!((variance(&he) - 0.02).abs() < 0.002);
        let xavier = xavier_uniform(&[300, 100], 100, 300, &mut rng);
        assert!((variance(&xavier) - 2.0 / 400.0).abs() < 0.0005);
    }

    #[test]
    fn seeded_initialisation_is_reproducible() {
        let a = he_uniform(&[3, 3], 3, &mut Rng::new(42)).to_vec().unwrap();
        let b = he_uniform(&[3, 3], 3, &mut Rng::new(42)).to_vec().unwrap();
        assert_eq!(a, b);
    }
}
