//! Colour transfer by histogram matching (Gatys et al. 2017, §5): recolour the painting so
//! that, channel by channel, its colours are distributed exactly like the photo's, before the
//! style transfer starts. The brush strokes and textures stay; the palette becomes the photo's.
//! (`colour::match_color_histogram` is the other variant the paper describes: matching only
//! the mean and the 3×3 covariance of the colours, with one linear map.)

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The `q`-quantile (0..1) of sorted values, linearly interpolated.
fn quantile(sorted: &[f32], q: f64) -> f32 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let t = (pos - lo as f64) as f32;
    sorted[lo] + t * (sorted[hi] - sorted[lo])
}

/// `style` recoloured so each channel's histogram is `content`'s: the pixel of rank r among n
/// takes the value found at the same fraction r/(n−1) through the photo's sorted values. Both
/// are `[1, 3, H, W]` images of any sizes; the result has `style`'s shape, on the host.
pub fn match_histograms(style: &Tensor, content: &Tensor) -> Result<Tensor> {
    for (what, t) in [("painting", style), ("photo", content)] {
        let s = t.shape();
        if s.len() != 4 || s[0] != 1 || s[1] != 3 || s[2] * s[3] == 0 {
            return Err(Error::shape(
                "match_histograms",
                format!("the {what} must be an RGB image [1, 3, H, W], got {s:?}"),
            ));
        }
    }
    let (sp, cp) = (
        style.shape()[2] * style.shape()[3],
        content.shape()[2] * content.shape()[3],
    );
    let (s, c) = (style.to_vec()?, content.to_vec()?);
    let mut out = vec![0.0f32; s.len()];
    for ch in 0..3 {
        // ANCHOR: rank_match
        let src = &s[ch * sp..(ch + 1) * sp];
        let mut target = c[ch * cp..(ch + 1) * cp].to_vec();
        target.sort_by(f32::total_cmp);
        // Rank the painting's pixels; equal values share the middle of their ranks, so a flat
        // area stays flat.
        let mut order: Vec<usize> = (0..sp).collect();
        order.sort_by(|&a, &b| src[a].total_cmp(&src[b]));
        let mut start = 0;
        while start < sp {
            let mut end = start + 1;
            while end < sp && src[order[end]] == src[order[start]] {
                end += 1;
            }
            let rank = (start + end - 1) as f64 / 2.0;
            let q = if sp > 1 { rank / (sp - 1) as f64 } else { 0.5 };
            let value = quantile(&target, q);
            for &i in &order[start..end] {
                out[ch * sp + i] = value;
            }
            start = end;
        }
        // ANCHOR_END: rank_match
    }
    Tensor::from_vec(out, style.shape())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_painting_takes_the_photos_values_in_its_own_order() {
        // One channel pattern repeated: the painting 4, 1, 3, 2; the photo 10, 40, 20, 30.
        let style = Tensor::from_vec([4.0, 1.0, 3.0, 2.0].repeat(3), &[1, 3, 2, 2]).unwrap();
        let content = Tensor::from_vec([10.0, 40.0, 20.0, 30.0].repeat(3), &[1, 3, 2, 2]).unwrap();
        let m = match_histograms(&style, &content)
            .unwrap()
            .to_vec()
            .unwrap();
        assert_eq!(&m[..4], &[40.0, 10.0, 30.0, 20.0]);
    }
}
