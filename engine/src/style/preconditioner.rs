//! A preconditioner for L-BFGS on pictures: lift the coarse structure.
//!
//! Between its two loops, L-BFGS scales whatever its remembered pairs have not explored by one
//! number γ, the same guess of the curvature in every direction. With a preconditioner M (a
//! symmetric positive definite map) it scales by γ·M instead, so some directions go further
//! than others before the history has learned them. On style transfer the picture's coarse
//! structure keeps moving, slowly, long after the fine detail has settled around it; lifting
//! it reaches the same loss in fewer evaluations, while lifting the finest detail slows the
//! run down (`engine/benches/RESULTS.md`, "A preconditioner for L-BFGS").

use crate::error::{Error, Result};
use crate::tensor::Tensor;

// ANCHOR: coarse_lift
/// M·v = v + lift · (the mean of v over each `block` × `block` block, put back on every pixel
/// of the block), per channel. The block means are average pooling P followed by its transpose,
/// times block², so M = I + lift·block²·PᵀP: symmetric, and every eigenvalue between 1 and
/// 1 + lift. Pixels past the last whole block (when the size is not a multiple of `block`) are
/// left as they are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CoarseLift {
    pub block: usize,
    pub lift: f64,
}

impl CoarseLift {
    /// 16-pixel blocks lifted 3×: as good as any width (2 to 16 px) and strength measured.
    pub const DEFAULT: CoarseLift = CoarseLift {
        block: 16,
        lift: 3.0,
    };

    /// M·v for a picture-shaped `[n, c, h, w]` tensor.
    pub fn apply(&self, v: &Tensor) -> Result<Tensor> {
        let shape = v.shape();
        let [_, _, h, w] = shape else {
            return Err(Error::shape(
                "preconditioner",
                format!("needs a picture [n, c, h, w], got shape {shape:?}"),
            ));
        };
        if *h < self.block || *w < self.block {
            return Ok(v.clone()); // no whole block: M is the identity
        }
        let b = self.block;
        let means = v.avg_pool2d(b, b, 0)?;
        let spread = means.avg_pool2d_transpose(shape, b, b, 0)?;
        v.add_scaled(self.lift * (b * b) as f64, &spread)
    }
}
// ANCHOR_END: coarse_lift

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    const LIFT: CoarseLift = CoarseLift {
        block: 4,
        lift: 3.0,
    };

    #[test]
    fn a_block_of_one_value_is_lifted_and_its_detail_is_not() {
        // 1 × 1 × 4 × 8: two blocks, the first constant, the second with zero mean.
        let mut data = vec![2.0f32; 32];
        for i in 0..4 {
            for j in 4..8 {
                data[i * 8 + j] = if (i + j) % 2 == 0 { 1.0 } else { -1.0 };
            }
        }
        let v = Tensor::from_vec(data.clone(), &[1, 1, 4, 8]).unwrap();
        let m = LIFT.apply(&v).unwrap().to_vec().unwrap();
        for i in 0..4 {
            assert!((m[i * 8] - 8.0).abs() < 1e-5, "{m:?}"); // 2 · (1 + 3)
            assert_eq!(m[i * 8 + 5], data[i * 8 + 5], "{m:?}");
        }
    }

    #[test]
    fn it_is_symmetric_and_lifts_between_one_and_one_plus_lift() {
        // Sizes that are not multiples of the block, two channels.
        let shape = [1, 2, 10, 7];
        let mut rng = Rng::new(3);
        let u = Tensor::rand_uniform(&shape, -1.0, 1.0, &mut rng);
        let v = Tensor::rand_uniform(&shape, -1.0, 1.0, &mut rng);
        let (mu, mv) = (LIFT.apply(&u).unwrap(), LIFT.apply(&v).unwrap());
        let (a, b) = (u.dot(&mv).unwrap(), v.dot(&mu).unwrap());
        assert!(
            (a - b).abs() < 1e-4 * a.abs().max(1.0),
            "uᵀMv {a} against vᵀMu {b}"
        );
        let (vv, vmv) = (v.dot(&v).unwrap(), v.dot(&mv).unwrap());
        assert!(vv <= vmv && vmv <= (1.0 + LIFT.lift) * vv, "{vv} {vmv}");
        // The pixels past the last whole block are unchanged.
        let (vd, md) = (v.to_vec().unwrap(), mv.to_vec().unwrap());
        assert_eq!(vd[9 * 7 + 2], md[9 * 7 + 2]);
        assert_eq!(vd[7 - 1], md[7 - 1]);
    }

    #[test]
    fn a_picture_smaller_than_a_block_is_left_alone_and_a_vector_is_refused() {
        let v = Tensor::from_vec(vec![1.0; 9], &[1, 1, 3, 3]).unwrap();
        assert_eq!(LIFT.apply(&v).unwrap().to_vec().unwrap(), vec![1.0; 9]);
        let flat = Tensor::from_vec(vec![1.0; 9], &[9]).unwrap();
        let err = LIFT.apply(&flat).unwrap_err().to_string();
        assert!(err.contains("[n, c, h, w]"), "{err}");
    }
}
