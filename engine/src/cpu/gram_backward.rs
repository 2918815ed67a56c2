//! The gradient of a Gram product: for `G = F·Fᵀ` and the loss's gradient `Ḡ = ∂L/∂G`,
//! `∂L/∂F = (Ḡ + Ḡᵀ)·F`, a `c × c` matrix times the `c × k` feature map.
//!
//! `S = Ḡ + Ḡᵀ` is symmetric, and that makes it cheap to store as the panel GEMM's left
//! operand: panel `[p][lane]` needs `S[row + lane][p]`, which equals `S[p][row + lane]`, eight
//! neighbours in row `p`. The pixels of `F` are cut into chunks; each chunk's columns are
//! packed into the right operand's panels while they are in cache, multiplied into a small
//! block of the output that stays in L2, and copied into place. Chunks are independent, so
//! threads share them out and never write the same output column.

use super::gram::PARALLEL_WORK;
use super::packed_gemm::{gemm_panels, Kernel, MR, NR};
use rayon::prelude::*;

/// The most pixels per chunk: for 512 channels its packed columns are 512 KB, its output
/// block as much.
const MAX_CHUNK: usize = 8 * NR;

// ANCHOR: gram_backward
/// `(Ḡ + Ḡᵀ)·F` for the `c × c` matrix `g_bar` and the `c × k` matrix `f`, both row-major.
pub fn gram_backward(g_bar: &[f32], f: &[f32], c: usize, k: usize, kernel: Kernel) -> Vec<f32> {
    assert_eq!(g_bar.len(), c * c, "gram_backward: Ḡ must be {c}×{c}");
    assert_eq!(f.len(), c * k, "gram_backward: F must be {c}×{k}");
    if c == 0 || k == 0 {
        return vec![0.0; c * k];
    }
    let s_panels = symmetric_sum_as_panels(g_bar, c);
    // Every entry is written exactly once below, so the vector starts uninitialised.
    let mut df = Vec::with_capacity(c * k);
    let out = OutputColumns {
        ptr: df.as_mut_ptr(),
        c,
        k,
    };
    let threads = match c * c * k >= PARALLEL_WORK {
        true => rayon::current_num_threads(),
        false => 1,
    };
    let chunk_width = chunk_width(k, threads);
    let padded_rows = c.div_ceil(MR) * MR;
    let each_chunk = |buffers: &mut ChunkBuffers, chunk: usize| {
        let columns = chunk * chunk_width..((chunk + 1) * chunk_width).min(k);
        let width = columns.len().div_ceil(NR) * NR;
        pack_columns(f, c, k, columns.clone(), &mut buffers.f_panels[..c * width]);
        gemm_panels(
            kernel,
            [padded_rows, c, width],
            &s_panels,
            &buffers.f_panels,
            &mut buffers.block,
            chunk_width,
        );
        out.write(columns, &buffers.block, chunk_width);
    };
    // Each thread takes a run of consecutive chunks, with work space allocated here, once.
    let chunks = k.div_ceil(chunk_width);
    let runs = threads.min(chunks);
    let mut work_spaces: Vec<ChunkBuffers> = (0..runs)
        .map(|_| ChunkBuffers::new(c, padded_rows, chunk_width))
        .collect();
    work_spaces
        .par_iter_mut()
        .enumerate()
        .for_each(|(run, buffers)| {
            let run_chunks = run * chunks / runs..(run + 1) * chunks / runs;
            run_chunks.for_each(|chunk| each_chunk(buffers, chunk));
        });
    // SAFETY: the chunks cover columns 0..k and each writes all c rows of its columns.
    unsafe { df.set_len(c * k) };
    df
}
// ANCHOR_END: gram_backward

/// Columns per chunk, a multiple of `NR`: at most `MAX_CHUNK`, and small enough for some four
/// chunks per thread, so that a small map still keeps every thread busy.
fn chunk_width(k: usize, threads: usize) -> usize {
    let panels = k.div_ceil(NR) / (4 * threads);
    NR * panels.clamp(1, MAX_CHUNK / NR)
}

/// A thread's work space: one chunk's packed columns of `F` and its block of the output.
struct ChunkBuffers {
    f_panels: Vec<f32>,
    block: Vec<f32>,
}

impl ChunkBuffers {
    fn new(c: usize, padded_rows: usize, chunk_width: usize) -> Self {
        ChunkBuffers {
            f_panels: vec![0.0; c * chunk_width],
            block: vec![0.0; padded_rows * chunk_width],
        }
    }
}

/// `Ḡ + Ḡᵀ` as the left operand's panels of `MR` rows, `[c/MR][c][MR]`; rows past `c` are
/// zeros. The symmetry lets each panel read rows of the sum instead of its columns.
fn symmetric_sum_as_panels(g_bar: &[f32], c: usize) -> Vec<f32> {
    let padded_rows = c.div_ceil(MR) * MR;
    let mut panels = vec![0.0f32; padded_rows * c];
    for (panel_index, panel) in panels.chunks_exact_mut(c * MR).enumerate() {
        for p in 0..c {
            for lane in 0..MR {
                let row = panel_index * MR + lane;
                if row < c {
                    panel[p * MR + lane] = g_bar[p * c + row] + g_bar[row * c + p];
                }
            }
        }
    }
    panels
}

/// Columns `columns` of `F` as the right operand's panels of `NR` columns, `[n/NR][c][NR]`;
/// columns past the end (the last chunk's tail) are zeros.
fn pack_columns(f: &[f32], c: usize, k: usize, columns: std::ops::Range<usize>, out: &mut [f32]) {
    for (panel_index, panel) in out.chunks_exact_mut(c * NR).enumerate() {
        let start = columns.start + panel_index * NR;
        let valid = NR.min(columns.end - start);
        for (p, row) in panel.chunks_exact_mut(NR).enumerate() {
            row[..valid].copy_from_slice(&f[p * k + start..p * k + start + valid]);
            row[valid..].fill(0.0);
        }
    }
}

/// The output `∂L/∂F`, written one chunk of columns at a time from several threads.
struct OutputColumns {
    ptr: *mut f32,
    c: usize,
    k: usize,
}

// SAFETY: threads write through the pointer only in `write`, each to the columns of its own
// chunk, and no chunk is written twice; the vector outlives the parallel loop.
unsafe impl Sync for OutputColumns {}

impl OutputColumns {
    /// Copy the first `c` rows of `block` (row stride `stride`) into columns `columns`.
    fn write(&self, columns: std::ops::Range<usize>, block: &[f32], stride: usize) {
        assert!(columns.end <= self.k && columns.len() <= stride);
        for row in 0..self.c {
            let source = &block[row * stride..row * stride + columns.len()];
            // SAFETY: row < c and columns.end <= k, so the target lies inside the c × k
            // output; other threads write other columns (see the Sync impl).
            unsafe {
                let target = self.ptr.add(row * self.k + columns.start);
                std::ptr::copy_nonoverlapping(source.as_ptr(), target, source.len());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn textbook(g_bar: &[f32], f: &[f32], c: usize, k: usize) -> Vec<f64> {
        let mut df = vec![0.0f64; c * k];
        for i in 0..c {
            for p in 0..c {
                let s = g_bar[i * c + p] as f64 + g_bar[p * c + i] as f64;
                for j in 0..k {
                    df[i * k + j] += s * f[p * k + j] as f64;
                }
            }
        }
        df
    }

    fn values(n: usize, seed: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 37 + seed * 11 + 5) % 101) as f32 / 50.0 - 1.0)
            .collect()
    }

    /// An asymmetric Ḡ (so that a missing transpose shows), channel counts off the panel
    /// height, pixel counts off the panel width and the chunk, one thread and several.
    #[test]
    fn equals_the_textbook_product() {
        for (c, k) in [
            (1, 1),
            (3, 5),
            (9, 33),
            (37, MAX_CHUNK + 1),
            (64, 3 * MAX_CHUNK + 40),
            (70, 20_000),
            (96, 2000),
        ] {
            let (g_bar, f) = (values(c * c, 1), values(c * k, 2));
            let want = textbook(&g_bar, &f, c, k);
            for kernel in [Kernel::Portable, Kernel::best()] {
                let got = gram_backward(&g_bar, &f, c, k, kernel);
                assert_eq!(got.len(), c * k);
                for (index, (got, want)) in got.iter().zip(&want).enumerate() {
                    let tolerance = 1e-5 * (c as f64).sqrt() * (1.0 + want.abs());
                    assert!(
                        (*got as f64 - want).abs() <= tolerance,
                        "{kernel:?} {c}×{k} at {index}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn no_entries_give_an_empty_gradient() {
        assert!(gram_backward(&[], &[], 0, 5, Kernel::best()).is_empty());
        assert!(gram_backward(&[1.0; 4], &[], 2, 0, Kernel::Portable).is_empty());
    }

    /// The five style layers at 512 × 384, this kernel against matrixmultiply's general
    /// product of `Ḡ + Ḡᵀ` and `F` that it replaces, the sum included (fastest of 3 × 10):
    /// `cargo test --release -p picasso-engine --lib gram_backward_timing -- --ignored
    /// --nocapture`.
    #[test]
    #[ignore = "a timing, run by hand"]
    fn gram_backward_timing() {
        use crate::cpu::gram::tests::{fastest_ms, STYLE_LAYERS_512};
        use crate::layout::Layout;
        println!("| C × M | (Ḡ + Ḡᵀ)·F, general SGEMM ms | (Ḡ + Ḡᵀ)·F, panels ms | ratio |");
        for (c, k) in STYLE_LAYERS_512 {
            let (g_bar, f) = (values(c * c, 1), values(c * k, 2));
            let (lg, lf) = (Layout::contiguous(&[c, c]), Layout::contiguous(&[c, k]));
            let general = fastest_ms(&mut || {
                let s: Vec<f32> = (0..c * c)
                    .map(|i| g_bar[i] + g_bar[(i % c) * c + i / c])
                    .collect();
                std::hint::black_box(crate::cpu::matmul::matmul(&s, &lg, &f, &lf).unwrap());
            });
            let panels = fastest_ms(&mut || {
                std::hint::black_box(gram_backward(&g_bar, &f, c, k, Kernel::best()));
            });
            println!(
                "| {c} × {k} | {general:.2} | {panels:.2} | {:.2} |",
                panels / general
            );
        }
    }
}
