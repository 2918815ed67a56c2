//! Colour controls for style transfer (Gatys et al. 2017, "Controlling Perceptual Factors in
//! Neural Style Transfer"), on image tensors of RGB values in `0..=255`.
//!
//! The luminance/chrominance split is **YIQ** (NTSC, as in the paper): Y is luma with the
//! Rec. 601 weights `0.299 R + 0.587 G + 0.114 B`; I and Q carry colour. The transform is linear
//! and applied to the values as they are (no gamma handling), so Y stays in `0..=255`.
//!
//! Two ways to keep the content's colours:
//! - *Luminance-only transfer*: stylise `luminance(content)` with
//!   `match_luminance(luminance(style), luminance(content))`, then recombine with
//!   [`original_colors`].
//! - *Colour histogram matching*: recolour the style with [`match_color_histogram`] before
//!   stylising.
//!
//! These work on plain data (`to_vec`/`from_vec`) and are not differentiated. Results may leave
//! `0..=255` (a swap can produce out-of-gamut colours); saving clamps.

use crate::error::{Error, Result};
use crate::tensor::Tensor;

type Mat3 = [[f64; 3]; 3];

/// RGB → YIQ (rows: Y, I, Q), FCC NTSC coefficients.
const RGB_TO_YIQ: Mat3 = [
    [0.299, 0.587, 0.114],
    [0.595716, -0.274453, -0.321263],
    [0.211456, -0.522591, 0.311135],
];

/// Guards variances against zero (a flat image), in squared `0..=255` units.
const VARIANCE_EPS: f64 = 1e-6;

/// Convert `[N, 3, H, W]` (or `[3, H, W]`) RGB to YIQ: channel 0 is luma Y, 1 and 2 are I, Q.
pub fn rgb_to_yiq(x: &Tensor) -> Result<Tensor> {
    apply_matrix(x, &RGB_TO_YIQ, "rgb_to_yiq")
}

/// Convert YIQ back to RGB (the exact inverse of [`rgb_to_yiq`]).
pub fn yiq_to_rgb(x: &Tensor) -> Result<Tensor> {
    apply_matrix(x, &invert(&RGB_TO_YIQ), "yiq_to_rgb")
}

/// The luminance of `x` as a grey image: Y copied into all three channels, same shape.
pub fn luminance(x: &Tensor) -> Result<Tensor> {
    let (batch, plane) = image_dims(x, "luminance")?;
    let y = luma_planes(&x.to_vec()?, batch, plane);
    let mut out = Vec::with_capacity(3 * batch * plane);
    for b in 0..batch {
        let yb = &y[b * plane..(b + 1) * plane];
        for _ in 0..3 {
            out.extend_from_slice(yb);
        }
    }
    Tensor::from_vec(out, x.shape())
}

/// Recombine the luminance of `stylized` with the chrominance (I, Q) of `content`: a stylised
/// image in the content's original colours. Both must have the same shape; `stylized` may be a
/// grey image from luminance-only transfer.
pub fn original_colors(stylized: &Tensor, content: &Tensor) -> Result<Tensor> {
    let op = "original_colors";
    image_dims(stylized, op)?;
    image_dims(content, op)?;
    if stylized.shape() != content.shape() {
        return Err(Error::shape(
            op,
            format!(
                "the stylised image {:?} and the content {:?} differ in size; load the content \
                 at the stylised image's size",
                stylized.shape(),
                content.shape()
            ),
        ));
    }
    let s = rgb_to_yiq(stylized)?.to_vec()?;
    let mut c = rgb_to_yiq(content)?.to_vec()?;
    let (batch, plane) = image_dims(content, op)?;
    for b in 0..batch {
        let y = b * 3 * plane..b * 3 * plane + plane;
        c[y.clone()].copy_from_slice(&s[y]);
    }
    yiq_to_rgb(&Tensor::from_vec(c, content.shape())?)
}

/// The style's luminance shifted and scaled so its mean and standard deviation match the
/// content's: `(σc / σs) (Ls − μs) + μc`. Takes grey or colour images (of any sizes) and returns
/// a grey image the shape of `style_lum`. Used by luminance-only transfer, so that a dark
/// painting does not darken a bright photo.
pub fn match_luminance(style_lum: &Tensor, content_lum: &Tensor) -> Result<Tensor> {
    let op = "match_luminance";
    let (sb, sp) = image_dims(style_lum, op)?;
    let (cb, cp) = image_dims(content_lum, op)?;
    let ys = luma_planes(&style_lum.to_vec()?, sb, sp);
    let yc = luma_planes(&content_lum.to_vec()?, cb, cp);
    let (mean_s, std_s) = mean_std(&ys);
    let (mean_c, std_c) = mean_std(&yc);
    let gain = std_c / std_s.max(VARIANCE_EPS.sqrt());
    let matched: Vec<f32> = ys
        .iter()
        .map(|&v| (gain * (f64::from(v) - mean_s) + mean_c) as f32)
        .collect();
    let mut out = Vec::with_capacity(3 * matched.len());
    for b in 0..sb {
        for _ in 0..3 {
            out.extend_from_slice(&matched[b * sp..(b + 1) * sp]);
        }
    }
    Tensor::from_vec(out, style_lum.shape())
}

/// Recolour `style` so the mean and covariance of its RGB pixels match `content`'s:
/// `x' = A (x − μs) + μc` with `A = Σc^½ Σs^−½` (symmetric matrix square roots, the
/// "Image Analogies" variant of Gatys et al. 2017, §5.1). Returns a tensor shaped like `style`.
pub fn match_color_histogram(style: &Tensor, content: &Tensor) -> Result<Tensor> {
    let op = "match_color_histogram";
    let (sb, sp) = image_dims(style, op)?;
    let (cb, cp) = image_dims(content, op)?;
    let s = style.to_vec()?;
    let (mean_s, cov_s) = mean_cov(&s, sb, sp);
    let (mean_c, cov_c) = mean_cov(&content.to_vec()?, cb, cp);
    let a = mat_mul(&sym_power(&cov_c, 0.5), &sym_power(&cov_s, -0.5));
    let mut out = vec![0.0f32; s.len()];
    for b in 0..sb {
        let base = b * 3 * sp;
        for i in 0..sp {
            let d = [0, 1, 2].map(|c| f64::from(s[base + c * sp + i]) - mean_s[c]);
            for (r, row) in a.iter().enumerate() {
                let v = row[0] * d[0] + row[1] * d[1] + row[2] * d[2] + mean_c[r];
                out[base + r * sp + i] = v as f32;
            }
        }
    }
    Tensor::from_vec(out, style.shape())
}

/// `(batch, H·W)` of a `[N, 3, H, W]` or `[3, H, W]` tensor.
fn image_dims(x: &Tensor, op: &'static str) -> Result<(usize, usize)> {
    match x.shape() {
        [n, 3, h, w] if n * h * w > 0 => Ok((*n, h * w)),
        [3, h, w] if h * w > 0 => Ok((1, h * w)),
        other => Err(Error::shape(
            op,
            format!("expected a non-empty RGB image [N, 3, H, W] or [3, H, W], got {other:?}"),
        )),
    }
}

/// Multiply every pixel's three channels by `m`.
fn apply_matrix(x: &Tensor, m: &Mat3, op: &'static str) -> Result<Tensor> {
    let (batch, plane) = image_dims(x, op)?;
    let mut data = x.to_vec()?;
    for b in 0..batch {
        let base = b * 3 * plane;
        for i in 0..plane {
            let p = [0, 1, 2].map(|c| f64::from(data[base + c * plane + i]));
            for (r, row) in m.iter().enumerate() {
                data[base + r * plane + i] = (row[0] * p[0] + row[1] * p[1] + row[2] * p[2]) as f32;
            }
        }
    }
    Tensor::from_vec(data, x.shape())
}

/// Luma Y of every pixel, image after image.
fn luma_planes(data: &[f32], batch: usize, plane: usize) -> Vec<f32> {
    let [wr, wg, wb] = RGB_TO_YIQ[0];
    let mut y = Vec::with_capacity(batch * plane);
    for b in 0..batch {
        let base = b * 3 * plane;
        y.extend((0..plane).map(|i| {
            let (r, g, bl) = (
                f64::from(data[base + i]),
                f64::from(data[base + plane + i]),
                f64::from(data[base + 2 * plane + i]),
            );
            (wr * r + wg * g + wb * bl) as f32
        }));
    }
    y
}

fn mean_std(values: &[f32]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, var.sqrt())
}

/// Per-channel mean and the 3×3 channel covariance over all pixels of all images.
// Index loops mirror the matrix notation; iterators would obscure it.
#[allow(clippy::needless_range_loop)]
fn mean_cov(data: &[f32], batch: usize, plane: usize) -> ([f64; 3], Mat3) {
    let n = (batch * plane) as f64;
    let mut mean = [0.0; 3];
    for b in 0..batch {
        for (c, m) in mean.iter_mut().enumerate() {
            let start = (b * 3 + c) * plane;
            *m += data[start..start + plane]
                .iter()
                .map(|&v| f64::from(v))
                .sum::<f64>();
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut cov = [[0.0; 3]; 3];
    for b in 0..batch {
        let base = b * 3 * plane;
        for i in 0..plane {
            let d = [0, 1, 2].map(|c| f64::from(data[base + c * plane + i]) - mean[c]);
            for r in 0..3 {
                for c in r..3 {
                    cov[r][c] += d[r] * d[c];
                }
            }
        }
    }
    for r in 0..3 {
        for c in r..3 {
            cov[r][c] /= n;
            cov[c][r] = cov[r][c];
        }
    }
    (mean, cov)
}

fn mat_mul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut out = [[0.0; 3]; 3];
    for r in 0..3 {
        for c in 0..3 {
            out[r][c] = (0..3).map(|k| a[r][k] * b[k][c]).sum();
        }
    }
    out
}

/// The inverse of an invertible 3×3 matrix (adjugate over determinant).
fn invert(m: &Mat3) -> Mat3 {
    let cof =
        |r0: usize, r1: usize, c0: usize, c1: usize| m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
    let adj = [
        [cof(1, 2, 1, 2), -cof(0, 2, 1, 2), cof(0, 1, 1, 2)],
        [-cof(1, 2, 0, 2), cof(0, 2, 0, 2), -cof(0, 1, 0, 2)],
        [cof(1, 2, 0, 1), -cof(0, 2, 0, 1), cof(0, 1, 0, 1)],
    ];
    let det = m[0][0] * adj[0][0] + m[0][1] * adj[1][0] + m[0][2] * adj[2][0];
    adj.map(|row| row.map(|v| v / det))
}

/// `m^p` for a symmetric positive semi-definite `m`, via its eigendecomposition; eigenvalues are
/// floored at [`VARIANCE_EPS`] so flat or grey images do not divide by zero.
fn sym_power(m: &Mat3, p: f64) -> Mat3 {
    let (values, vectors) = jacobi_eigen(m);
    let mut out = [[0.0; 3]; 3];
    for k in 0..3 {
        let scale = values[k].max(VARIANCE_EPS).powf(p);
        for r in 0..3 {
            for c in 0..3 {
                out[r][c] += vectors[r][k] * scale * vectors[c][k];
            }
        }
    }
    out
}

/// Eigenvalues and eigenvectors (as columns) of a symmetric 3×3 matrix, by cyclic Jacobi
/// rotations: simple, and accurate to rounding for matrices this small.
// Index loops mirror the matrix notation; iterators would obscure it.
#[allow(clippy::needless_range_loop)]
fn jacobi_eigen(m: &Mat3) -> ([f64; 3], Mat3) {
    let mut a = *m;
    let mut v = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    for _sweep in 0..50 {
        let off = a[0][1].powi(2) + a[0][2].powi(2) + a[1][2].powi(2);
        let scale = a[0][0].powi(2) + a[1][1].powi(2) + a[2][2].powi(2);
        if off <= 1e-30 * scale.max(1e-300) {
            break;
        }
        for (p, q) in [(0, 1), (0, 2), (1, 2)] {
            if a[p][q] == 0.0 {
                continue;
            }
            // The rotation angle that zeroes a[p][q].
            let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
            // signum(0.0) is 1.0, so a zero angle still rotates by 45°.
            let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
            let c = 1.0 / (t * t + 1.0).sqrt();
            let s = t * c;
            for k in 0..3 {
                let (akp, akq) = (a[k][p], a[k][q]);
                a[k][p] = c * akp - s * akq;
                a[k][q] = s * akp + c * akq;
            }
            for k in 0..3 {
                let (apk, aqk) = (a[p][k], a[q][k]);
                a[p][k] = c * apk - s * aqk;
                a[q][k] = s * apk + c * aqk;
            }
            for row in v.iter_mut() {
                let (vp, vq) = (row[p], row[q]);
                row[p] = c * vp - s * vq;
                row[q] = s * vp + c * vq;
            }
        }
    }
    ([a[0][0], a[1][1], a[2][2]], v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_is_exact() {
        let id = mat_mul(&RGB_TO_YIQ, &invert(&RGB_TO_YIQ));
        for (r, row) in id.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let want = if r == c { 1.0 } else { 0.0 };
                assert!((v - want).abs() < 1e-12, "{id:?}");
            }
        }
    }

    #[test]
    fn sym_power_squares_back() {
        let m = [[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]];
        let h = sym_power(&m, 0.5);
        let back = mat_mul(&h, &h);
        let inv_h = sym_power(&m, -0.5);
        let id = mat_mul(&h, &inv_h);
        for r in 0..3 {
            for c in 0..3 {
                assert!((back[r][c] - m[r][c]).abs() < 1e-9, "{back:?}");
                let want = if r == c { 1.0 } else { 0.0 };
                assert!((id[r][c] - want).abs() < 1e-9, "{id:?}");
            }
        }
    }
}
