//! Total variation: the summed squared difference between neighbouring pixels. A small weight
//! on it smooths away the high-frequency noise the optimisation otherwise leaves behind.

use crate::error::{Error, Result};
use crate::tensor::Tensor;

// ANCHOR: tv
/// (Σ (x[i,j+1] − x[i,j])² + Σ (x[i+1,j] − x[i,j])²) / (3·H·W) for an image `[1, 3, H, W]`,
/// summed over all channels and valid neighbour pairs.
pub fn total_variation(image: &Tensor) -> Result<Tensor> {
    let shape = image.shape();
    if shape.len() != 4 || shape[2] < 2 || shape[3] < 2 {
        return Err(Error::shape(
            "total_variation",
            format!("expected an image [N, C, H, W] with H, W ≥ 2, got {shape:?}"),
        ));
    }
    let (h, w) = (shape[2], shape[3]);
    let horizontal = image
        .narrow(3, 1, w - 1)?
        .sub(&image.narrow(3, 0, w - 1)?)?
        .square()?
        .sum_all()?;
    let vertical = image
        .narrow(2, 1, h - 1)?
        .sub(&image.narrow(2, 0, h - 1)?)?
        .square()?
        .sum_all()?;
    horizontal
        .add(&vertical)?
        .mul_scalar(1.0 / (3 * h * w) as f32)
}
// ANCHOR_END: tv

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_image_has_none_and_a_step_is_counted_once_per_pair() {
        assert_eq!(
            total_variation(&Tensor::ones(&[1, 3, 4, 4]))
                .unwrap()
                .item()
                .unwrap(),
            0.0
        );
        // One channel has a vertical edge of height 2 between columns 0 and 1 (2 rows).
        let mut data = vec![0.0; 3 * 2 * 2];
        data[1] = 2.0;
        data[3] = 2.0;
        let x = Tensor::from_vec(data, &[1, 3, 2, 2]).unwrap();
        let tv = total_variation(&x).unwrap().item().unwrap();
        assert!((tv - 8.0 / 12.0).abs() < 1e-6, "{tv}");
    }
}
