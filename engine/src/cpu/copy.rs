//! Turning strided views into dense buffers.

use crate::layout::Layout;
use std::borrow::Cow;

/// The elements of a view as one dense slice: borrowed when already dense, copied otherwise.
pub(crate) fn dense<'a>(data: &'a [f32], layout: &Layout) -> Cow<'a, [f32]> {
    if layout.is_contiguous() {
        Cow::Borrowed(&data[layout.offset()..layout.offset() + layout.numel()])
    } else {
        Cow::Owned(gather(data, layout))
    }
}

/// The elements of `layout` over `data`, densely, in row-major order.
pub fn gather(data: &[f32], layout: &Layout) -> Vec<f32> {
    let n = layout.numel();
    if layout.is_contiguous() {
        return data[layout.offset()..layout.offset() + n].to_vec();
    }
    let rank = layout.rank();
    let (inner, inner_stride) = (layout.shape()[rank - 1], layout.strides()[rank - 1]);
    let mut out = Vec::with_capacity(n);
    if inner == 0 {
        return out;
    }
    // Walk all but the last axis with the generic iterator, then copy each row with its stride.
    let outer_shape: Vec<usize> = layout.shape()[..rank - 1].to_vec();
    let outer = Layout::contiguous(&outer_shape);
    let outer_strides = &layout.strides()[..rank - 1];
    let mut index = vec![0usize; rank - 1];
    for _ in 0..outer.numel().max(1) {
        let start: usize = layout.offset()
            + index
                .iter()
                .zip(outer_strides)
                .map(|(i, s)| i * s)
                .sum::<usize>();
        out.extend((0..inner).map(|j| data[start + j * inner_stride]));
        for axis in (0..rank - 1).rev() {
            index[axis] += 1;
            if index[axis] < outer_shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    out
}

/// Dense concatenation of the parts along `axis`; all other dimensions must agree (checked by
/// the caller).
pub fn concat(parts: &[(&[f32], &Layout)], axis: usize) -> Vec<f32> {
    let dense: Vec<Vec<f32>> = parts.iter().map(|(d, l)| gather(d, l)).collect();
    let shape = parts[0].1.shape();
    let outer: usize = shape[..axis].iter().product();
    let chunk = |l: &Layout| l.shape()[axis..].iter().product::<usize>();
    let chunks: Vec<usize> = parts.iter().map(|(_, l)| chunk(l)).collect();
    let mut out = Vec::with_capacity(outer * chunks.iter().sum::<usize>());
    for o in 0..outer {
        for (d, &c) in dense.iter().zip(&chunks) {
            out.extend_from_slice(&d[o * c..(o + 1) * c]);
        }
    }
    out
}

/// `n` copies of `value`.
pub fn fill(n: usize, value: f32) -> Vec<f32> {
    vec![value; n]
}
