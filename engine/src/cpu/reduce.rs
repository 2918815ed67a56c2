//! Sums and maxima over chosen axes.

use super::copy::gather;
use super::PARALLEL_THRESHOLD;
use crate::layout::Layout;
use crate::ops::ReduceOp;
use rayon::prelude::*;

/// Reduce the axes flagged in `reduce`; the result has the kept axes in their original order.
pub fn reduce(data: &[f32], layout: &Layout, reduce: &[bool], op: ReduceOp) -> Vec<f32> {
    // Move the reduced axes to the end so each output element reduces one dense run.
    let kept: Vec<usize> = (0..layout.rank()).filter(|&a| !reduce[a]).collect();
    let gone: Vec<usize> = (0..layout.rank()).filter(|&a| reduce[a]).collect();
    let perm: Vec<usize> = kept.iter().chain(&gone).copied().collect();
    let permuted = layout
        .permute(&perm)
        .expect("kept and reduced axes form a permutation");
    let dense = gather(data, &permuted);
    let run: usize = gone.iter().map(|&a| layout.shape()[a]).product();
    let outputs: usize = kept.iter().map(|&a| layout.shape()[a]).product();
    let fold = |chunk: &[f32]| match op {
        // Pairwise-ish accumulation in f64 keeps large sums accurate.
        ReduceOp::Sum => chunk.iter().map(|&x| x as f64).sum::<f64>() as f32,
        ReduceOp::Max => chunk.iter().copied().fold(f32::NEG_INFINITY, f32::max),
    };
    if run == 0 {
        let empty = match op {
            ReduceOp::Sum => 0.0,
            ReduceOp::Max => f32::NEG_INFINITY,
        };
        return vec![empty; outputs];
    }
    if dense.len() >= PARALLEL_THRESHOLD && outputs > 1 {
        dense.par_chunks(run).map(fold).collect()
    } else {
        dense.chunks(run).map(fold).collect()
    }
}
