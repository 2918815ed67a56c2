//! Spatial control (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style
//! Transfer"): a greyscale mask per painting says where that painting acts. At every style
//! layer the mask is resized to the layer's resolution and multiplies the features before the
//! Gram matrix is taken, normalised by the mask's area instead of the whole image's:
//!
//! G_l^m = (F_l ∘ m_l)(F_l ∘ m_l)ᵀ / (C_l · Σ m_l)
//!
//! so a painting's texture statistics are matched inside its region only, with the same
//! strength whatever the region's size. An all-white mask gives back the plain Gram matrix.
//! Where no mask is white, only the content term acts: the photo stays itself.

use super::gram::gram_matrix;
use crate::device::Device;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A mask at one layer's resolution: `[1, 1, h, w]` on the features' device, and the factor
/// `M / Σm` that turns `gram_matrix`'s `1/(C·M)` into `1/(C·Σm)`.
#[derive(Clone, Debug)]
pub struct LayerMask {
    values: Tensor,
    area_scale: f32,
}

/// Check a mask `[1, 1, H, W]` with values in 0..1 (any size, any device).
pub fn check_mask(mask: &Tensor, what: &str) -> Result<()> {
    let s = mask.shape();
    if s.len() != 4 || s[0] != 1 || s[1] != 1 || s[2] == 0 || s[3] == 0 {
        return Err(Error::shape(
            "style mask",
            format!("{what}: expected a greyscale mask [1, 1, H, W], got {s:?}"),
        ));
    }
    if mask.max_abs()? == 0.0 {
        return Err(Error::invalid(
            "style mask",
            format!("{what} is black everywhere: its painting would act nowhere; make the region it should paint white"),
        ));
    }
    Ok(())
}

/// The average of `mask` (`[1, 1, H, W]`) over each cell of an `h × w` grid: an area-weighted
/// resize, so a thin white stripe keeps its share of the area at coarse layers.
pub fn resize_mask(
    mask: &[f32],
    (big_h, big_w): (usize, usize),
    (h, w): (usize, usize),
) -> Vec<f32> {
    let cell = |i: usize, n: usize, big: usize| {
        let start = i * big / n;
        let end = ((i + 1) * big).div_ceil(n).max(start + 1).min(big);
        start..end
    };
    let mut out = Vec::with_capacity(h * w);
    for i in 0..h {
        let rows = cell(i, h, big_h);
        for j in 0..w {
            let cols = cell(j, w, big_w);
            let n = (rows.len() * cols.len()) as f32;
            let sum: f32 = rows
                .clone()
                .map(|r| {
                    mask[r * big_w + cols.start..r * big_w + cols.end]
                        .iter()
                        .sum::<f32>()
                })
                .sum();
            out.push(sum / n);
        }
    }
    out
}

impl LayerMask {
    /// `mask` resized to the resolution of `features` (`[1, C, h, w]`), on their device.
    pub fn for_features(mask: &Tensor, features: &Tensor, device: Device) -> Result<Self> {
        let (fh, fw) = (features.shape()[2], features.shape()[3]);
        let (mh, mw) = (mask.shape()[2], mask.shape()[3]);
        let values = resize_mask(&mask.to_vec()?, (mh, mw), (fh, fw));
        let area: f32 = values.iter().sum();
        if area <= 0.0 {
            return Err(Error::invalid(
                "style mask",
                format!("the mask's white region vanishes at {fh}×{fw} (a style layer's size); make it larger"),
            ));
        }
        Ok(LayerMask {
            area_scale: (fh * fw) as f32 / area,
            values: Tensor::from_vec_on(values, &[1, 1, fh, fw], device)?,
        })
    }
}

// ANCHOR: masked_gram
/// The Gram matrix of `features` inside `mask` (see the module's formula).
pub fn masked_gram(features: &Tensor, mask: &LayerMask) -> Result<Tensor> {
    gram_matrix(&features.mul(&mask.values)?)?.mul_scalar(mask.area_scale)
}
// ANCHOR_END: masked_gram

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_resize_keeps_the_average() {
        // A 4×6 mask, left half white, to 2×3 and to 3×5.
        let mask: Vec<f32> = (0..24).map(|i| f32::from(i % 6 < 3)).collect();
        assert_eq!(
            resize_mask(&mask, (4, 6), (2, 3)),
            vec![1.0, 0.5, 0.0, 1.0, 0.5, 0.0]
        );
        let coarse = resize_mask(&mask, (4, 6), (3, 5));
        assert!(coarse.iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(coarse[0], 1.0);
        assert_eq!(coarse[4], 0.0);
    }

    #[test]
    fn an_all_white_mask_gives_the_plain_gram_matrix() {
        let f =
            Tensor::from_vec((0..24).map(|i| (i as f32).sin()).collect(), &[1, 2, 3, 4]).unwrap();
        let white = Tensor::ones(&[1, 1, 6, 8]);
        let mask = LayerMask::for_features(&white, &f, Device::Cpu).unwrap();
        let (a, b) = (gram_matrix(&f).unwrap(), masked_gram(&f, &mask).unwrap());
        assert_eq!(a.to_vec().unwrap(), b.to_vec().unwrap());
    }

    #[test]
    fn black_masks_are_refused() {
        assert!(check_mask(&Tensor::zeros(&[1, 1, 4, 4]), "mask.png").is_err());
        assert!(check_mask(&Tensor::ones(&[1, 3, 4, 4]), "mask.png").is_err());
        assert!(check_mask(&Tensor::ones(&[1, 1, 4, 4]), "mask.png").is_ok());
    }
}
