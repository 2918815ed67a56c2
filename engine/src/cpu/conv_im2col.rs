//! im2col and col2im: turning a convolution into a matrix product and back.
//!
//! A convolution output pixel is a dot product between the weight of one output channel
//! (`c·kh·kw` numbers) and the input patch under the kernel. im2col copies every patch into a
//! column of a matrix `col[c·kh·kw, pixels]`; then *all* output channels at *all* pixels are
//! one GEMM, `out[o, pixels] = weight[o, c·kh·kw] · col`, which runs at near-peak speed.
//!
//! Row `(c, ki, kj)` of `col` holds, for every output pixel, the input value that kernel tap
//! `(ki, kj)` of channel `c` sees — or 0 where the tap falls in the zero padding.
//!
//! The full matrix repeats every input value kh·kw times (conv1_2 of VGG at 512 px: 576 rows ×
//! 262 144 pixels = 600 MB), so these functions fill only a *tile* of output rows `rows`; the
//! callers walk the image tile by tile and memory stays bounded.
//!
//! col2im is the adjoint: it adds each entry of a column matrix back onto the input pixel it
//! was copied from. Overlapping patches sum, which is exactly the chain rule for a value that
//! fed several outputs.

use crate::geometry::Conv2dGeometry;
use rayon::prelude::*;
use std::ops::Range;

// ANCHOR: valid_range
/// Output columns `ow` whose tap at input offset `ow·stride + shift` lands inside `0..len`.
fn valid_range(out_w: usize, len: usize, stride: usize, shift: isize) -> Range<usize> {
    // first ow with ow·stride + shift >= 0
    let start = if shift >= 0 {
        0
    } else {
        ((-shift) as usize).div_ceil(stride)
    };
    // first ow with ow·stride + shift >= len
    let end = if shift >= len as isize {
        0
    } else {
        ((len as isize - shift) as usize).div_ceil(stride)
    };
    start.min(out_w)..end.min(out_w).max(start.min(out_w))
}
// ANCHOR_END: valid_range

// ANCHOR: tap
/// Kernel tap `(c, ki, kj)`, which fills row `c·kh·kw + ki·kw + kj` of the column matrix.
struct Tap {
    /// The input channel it reads.
    c: usize,
    /// Its row in the kernel.
    ki: usize,
    /// Output column `ow` reads input column `ow·stride + shift_w`…
    shift_w: isize,
    /// …which lies inside the image for these output columns (the rest is padding).
    cols: Range<usize>,
}

impl Tap {
    fn of_row(g: &Conv2dGeometry, row: usize) -> Tap {
        let taps = g.kernel_h * g.kernel_w;
        let (c, tap) = (row / taps, row % taps);
        let (ki, kj) = (tap / g.kernel_w, tap % g.kernel_w);
        let shift_w = (kj * g.params.dilation.1) as isize - g.params.padding.1 as isize;
        let cols = valid_range(g.out_w, g.in_w, g.params.stride.1, shift_w);
        Tap {
            c,
            ki,
            shift_w,
            cols,
        }
    }

    /// The input row this tap reads for output row `r`, or `None` where it is padding.
    fn input_row(&self, g: &Conv2dGeometry, r: usize) -> Option<usize> {
        let (sh, dh, ph) = (g.params.stride.0, g.params.dilation.0, g.params.padding.0);
        let ih = (r * sh + self.ki * dh) as isize - ph as isize;
        (0..g.in_h as isize).contains(&ih).then_some(ih as usize)
    }

    /// The input column read by the first output column in `cols`.
    fn first_col(&self, stride: usize) -> usize {
        ((self.cols.start * stride) as isize + self.shift_w) as usize
    }
}
// ANCHOR_END: tap

// ANCHOR: im2col
/// Fill `col` (`[c·kh·kw, rows.len()·out_w]`, row-major) with the patches of output rows
/// `rows` of one image `x` (`[c, h, w]`).
pub fn im2col(x: &[f32], g: &Conv2dGeometry, rows: Range<usize>, col: &mut [f32]) {
    let tile = rows.len() * g.out_w;
    let plane_len = g.in_h * g.in_w;
    // One row of `col` per task: a tap, at every output pixel of the tile.
    let fill_row = |(row, dst): (usize, &mut [f32])| {
        let tap = Tap::of_row(g, row);
        let plane = &x[tap.c * plane_len..][..plane_len];
        for (r, out_row) in rows.clone().zip(dst.chunks_exact_mut(g.out_w)) {
            match tap.input_row(g, r) {
                Some(ih) => copy_taps(&plane[ih * g.in_w..][..g.in_w], &tap, g, out_row),
                None => out_row.fill(0.0),
            }
        }
    };
    col[..g.patch_len() * tile]
        .par_chunks_mut(tile)
        .enumerate()
        .for_each(fill_row);
}
// ANCHOR_END: im2col

// ANCHOR: copy_taps
/// One output row's worth of one tap: the values it sees along input row `src`, with zeros
/// where it falls in the padding.
fn copy_taps(src: &[f32], tap: &Tap, g: &Conv2dGeometry, out_row: &mut [f32]) {
    let (cols, sw) = (tap.cols.clone(), g.params.stride.1);
    out_row[..cols.start].fill(0.0);
    out_row[cols.end..].fill(0.0);
    if cols.is_empty() {
        return;
    }
    let first = tap.first_col(sw);
    if sw == 1 {
        // Stride 1: the patch row is a contiguous slice of the input row.
        out_row[cols.clone()].copy_from_slice(&src[first..first + cols.len()]);
    } else {
        for (k, v) in out_row[cols].iter_mut().enumerate() {
            *v = src[first + k * sw];
        }
    }
}
// ANCHOR_END: copy_taps

// ANCHOR: col2im
/// Add the column matrix `col` (`[c·kh·kw, rows.len()·out_w]`) back onto the image gradient
/// `dx` (`[c, h, w]`): the adjoint of [`im2col`].
pub fn col2im(col: &[f32], g: &Conv2dGeometry, rows: Range<usize>, dx: &mut [f32]) {
    let tile = rows.len() * g.out_w;
    let taps = g.kernel_h * g.kernel_w;
    // One channel per task: channel c's taps only ever touch plane c, so tasks never collide.
    let channel = |(c, plane): (usize, &mut [f32])| {
        for row in c * taps..(c + 1) * taps {
            let tap = Tap::of_row(g, row);
            if tap.cols.is_empty() {
                continue;
            }
            let src_rows = &col[row * tile..(row + 1) * tile];
            for (r, src) in rows.clone().zip(src_rows.chunks_exact(g.out_w)) {
                if let Some(ih) = tap.input_row(g, r) {
                    add_taps(src, &tap, g, &mut plane[ih * g.in_w..][..g.in_w]);
                }
            }
        }
    };
    dx.par_chunks_mut(g.in_h * g.in_w)
        .enumerate()
        .for_each(channel);
}
// ANCHOR_END: col2im

// ANCHOR: add_taps
/// The adjoint of [`copy_taps`]: add each value of `src` onto the input cell it was copied
/// from (the padding's share is dropped).
fn add_taps(src: &[f32], tap: &Tap, g: &Conv2dGeometry, dst: &mut [f32]) {
    let (cols, sw) = (tap.cols.clone(), g.params.stride.1);
    let first = tap.first_col(sw);
    if sw == 1 {
        let dst = &mut dst[first..first + cols.len()];
        for (d, s) in dst.iter_mut().zip(&src[cols]) {
            *d += s;
        }
    } else {
        for (k, s) in src[cols].iter().enumerate() {
            dst[first + k * sw] += s;
        }
    }
}
// ANCHOR_END: add_taps

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Conv2dParams;

    #[test]
    fn valid_range_clips_both_ends() {
        // w = 5, stride 1, shift -1 (padding 1, first tap): ow = 0 reads -1 → invalid.
        assert_eq!(valid_range(5, 5, 1, -1), 1..5);
        // last tap with shift +1: ow = 4 reads 5 → invalid.
        assert_eq!(valid_range(5, 5, 1, 1), 0..4);
        // stride 2, shift -3: ow·2 - 3 >= 0 from ow = 2; < 5 until ow = 3.
        assert_eq!(valid_range(4, 5, 2, -3), 2..4);
        // nothing valid at all
        assert!(valid_range(2, 3, 1, 7).is_empty());
    }

    /// col2im must be the adjoint of im2col: <im2col(x), y> = <x, col2im(y)>.
    #[test]
    fn col2im_is_adjoint_of_im2col() {
        let g = Conv2dGeometry::new(&[1, 2, 6, 7], &[1, 2, 3, 2], Conv2dParams::square(2, 1, 2))
            .unwrap();
        let x: Vec<f32> = (0..2 * 6 * 7).map(|i| (i as f32 * 0.37).sin()).collect();
        let n = g.patch_len() * g.out_h * g.out_w;
        let y: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut col = vec![f32::NAN; n];
        im2col(&x, &g, 0..g.out_h, &mut col);
        let mut dx = vec![0.0; x.len()];
        col2im(&y, &g, 0..g.out_h, &mut dx);
        let lhs: f64 = col.iter().zip(&y).map(|(a, b)| (a * b) as f64).sum();
        let rhs: f64 = x.iter().zip(&dx).map(|(a, b)| (a * b) as f64).sum();
        assert!((lhs - rhs).abs() < 1e-4, "{lhs} vs {rhs}");
    }
}
