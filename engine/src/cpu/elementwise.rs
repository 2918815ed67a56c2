//! Element-by-element maps, parallel for large tensors.

use super::copy::gather;
use super::PARALLEL_THRESHOLD;
use crate::layout::Layout;
use crate::ops::{BinaryOp, UnaryOp};
use rayon::prelude::*;

const CHUNK: usize = 1 << 14;

pub fn unary(data: &[f32], layout: &Layout, op: UnaryOp) -> Vec<f32> {
    let mut out = gather(data, layout);
    if out.len() >= PARALLEL_THRESHOLD {
        out.par_chunks_mut(CHUNK)
            .for_each(|c| c.iter_mut().for_each(|x| *x = op.apply(*x)));
    } else {
        out.iter_mut().for_each(|x| *x = op.apply(*x));
    }
    out
}

pub fn binary(a: &[f32], la: &Layout, b: &[f32], lb: &Layout, op: BinaryOp) -> Vec<f32> {
    let mut out = gather(a, la);
    let rhs_dense;
    let rhs: &[f32] = if lb.is_contiguous() {
        &b[lb.offset()..lb.offset() + lb.numel()]
    } else {
        rhs_dense = gather(b, lb);
        &rhs_dense
    };
    if out.len() >= PARALLEL_THRESHOLD {
        out.par_chunks_mut(CHUNK)
            .zip(rhs.par_chunks(CHUNK))
            .for_each(|(o, r)| o.iter_mut().zip(r).for_each(|(x, &y)| *x = op.apply(*x, y)));
    } else {
        out.iter_mut()
            .zip(rhs)
            .for_each(|(x, &y)| *x = op.apply(*x, y));
    }
    out
}
