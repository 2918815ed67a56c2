//! Element-by-element maps, parallel for large tensors.
//!
//! Dense inputs are read in place and written once into a fresh buffer (one pass, on all
//! cores); strided views are gathered first. The operation is matched once per chunk, not per
//! element, so each loop is a tight one the compiler can vectorise.

use super::copy::dense;
use super::PARALLEL_THRESHOLD;
use crate::layout::Layout;
use crate::ops::{BinaryOp, UnaryOp};
use rayon::prelude::*;
use std::mem::MaybeUninit;

const CHUNK: usize = 1 << 14;

/// `n` outputs computed by `fill(dst, start)` for consecutive chunks `dst` starting at output
/// `start`, in parallel when worth it. The buffer is never zeroed first: `fill` writes each
/// chunk exactly once, straight into the vector's spare capacity (`map1` and `map2` write
/// every element of the chunk they are given).
fn fill_chunks(n: usize, fill: impl Fn(&mut [MaybeUninit<f32>], usize) + Sync) -> Vec<f32> {
    let mut out: Vec<f32> = Vec::with_capacity(n);
    let spare = &mut out.spare_capacity_mut()[..n];
    if n >= PARALLEL_THRESHOLD {
        spare
            .par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(i, dst)| fill(dst, i * CHUNK));
    } else {
        fill(spare, 0);
    }
    // SAFETY: `fill` initialised all `n` elements (every caller maps one source element to
    // each destination element of its chunk).
    unsafe { out.set_len(n) };
    out
}

// ANCHOR: unary
pub fn unary(data: &[f32], layout: &Layout, op: UnaryOp) -> Vec<f32> {
    let src = dense(data, layout);
    fill_chunks(src.len(), |dst, start| {
        let src = &src[start..start + dst.len()];
        match op {
            // The hot ones in a CNN get a loop of their own.
            UnaryOp::Relu => map1(dst, src, |x| x.max(0.0)),
            UnaryOp::Step => map1(dst, src, |x| f32::from(x > 0.0)),
            _ => map1(dst, src, |x| op.apply(x)),
        }
    })
}
// ANCHOR_END: unary

pub fn binary(a: &[f32], la: &Layout, b: &[f32], lb: &Layout, op: BinaryOp) -> Vec<f32> {
    let (lhs, rhs) = (dense(a, la), dense(b, lb));
    fill_chunks(lhs.len(), |dst, start| {
        let range = start..start + dst.len();
        let (x, y) = (&lhs[range.clone()], &rhs[range]);
        match op {
            BinaryOp::Add => map2(dst, x, y, |a, b| a + b),
            BinaryOp::Sub => map2(dst, x, y, |a, b| a - b),
            BinaryOp::Mul => map2(dst, x, y, |a, b| a * b),
            BinaryOp::MaskPositive => map2(dst, x, y, |a, b| if b > 0.0 { a } else { 0.0 }),
            _ => map2(dst, x, y, |a, b| op.apply(a, b)),
        }
    })
}

/// `dst[i] = f(src[i])`; `src` is as long as `dst`, so every element is written.
#[inline(always)]
fn map1(dst: &mut [MaybeUninit<f32>], src: &[f32], f: impl Fn(f32) -> f32) {
    assert_eq!(dst.len(), src.len(), "map1: lengths differ");
    for (d, &s) in dst.iter_mut().zip(src) {
        d.write(f(s));
    }
}

/// `dst[i] = f(x[i], y[i])`; `x` and `y` are as long as `dst`.
#[inline(always)]
fn map2(dst: &mut [MaybeUninit<f32>], x: &[f32], y: &[f32], f: impl Fn(f32, f32) -> f32) {
    assert!(
        dst.len() == x.len() && dst.len() == y.len(),
        "map2: lengths differ"
    );
    for ((d, &a), &b) in dst.iter_mut().zip(x).zip(y) {
        d.write(f(a, b));
    }
}

/// `max(x, 0)` in place.
pub fn relu_in_place(data: &mut [f32]) {
    let relu = |chunk: &mut [f32]| chunk.iter_mut().for_each(|x| *x = x.max(0.0));
    if data.len() >= PARALLEL_THRESHOLD {
        data.par_chunks_mut(CHUNK).for_each(relu);
    } else {
        relu(data);
    }
}
