//! The Gram matrix: which feature channels fire together, wherever they fire. Comparing Gram
//! matrices compares textures while ignoring where things are — that is what "style" means here.

use crate::error::{Error, Result};
use crate::tensor::Tensor;

// ANCHOR: gram
/// G = F·Fᵀ / (C·M) for features F of shape `[1, C, H, W]` seen as a C × M matrix, M = H·W.
pub fn gram_matrix(features: &Tensor) -> Result<Tensor> {
    let shape = features.shape();
    if shape.len() != 4 || shape[0] != 1 {
        return Err(Error::shape(
            "gram_matrix",
            format!("expected features of shape [1, C, H, W], got {shape:?}"),
        ));
    }
    let (c, m) = (shape[1], shape[2] * shape[3]);
    let f = features.reshape(&[c, m])?;
    // F·Fᵀ, i.e. f.matmul(&f.t()?), as one op whose backward needs one product, not two.
    f.matmul_own_transpose()?.mul_scalar(1.0 / (c * m) as f32)
}
// ANCHOR_END: gram

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gram_of_two_channels() {
        // Channel 0 = [1, 2], channel 1 = [3, 4] (a 1×2 image); C·M = 4.
        let f = Tensor::from_vec(vec![1., 2., 3., 4.], &[1, 2, 1, 2]).unwrap();
        let g = gram_matrix(&f).unwrap();
        assert_eq!(g.shape(), &[2, 2]);
        assert_eq!(
            g.to_vec().unwrap(),
            vec![5. / 4., 11. / 4., 11. / 4., 25. / 4.]
        );
    }

    #[test]
    fn ignores_where_features_are() {
        let f = Tensor::from_vec(vec![1., 0., 0., 2., 5., 6.], &[1, 2, 1, 3]).unwrap();
        // The same pixels in another order, moved together in both channels.
        let shuffled = Tensor::from_vec(vec![0., 0., 1., 5., 6., 2.], &[1, 2, 1, 3]).unwrap();
        assert_eq!(
            gram_matrix(&f).unwrap().to_vec().unwrap(),
            gram_matrix(&shuffled).unwrap().to_vec().unwrap()
        );
        assert!(gram_matrix(&Tensor::zeros(&[2, 3])).is_err());
    }
}
