//! The Gram product `G = F·Fᵀ` of a row-major `c × k` matrix `F` (channels × pixels), with
//! each symmetric pair of entries computed once.
//!
//! A general GEMM given `F` and `Fᵀ` packs the same numbers twice on every call and computes
//! the whole `c × c` square, though `G[i][j] = G[j][i]`. Here the depth (the pixels, up to
//! hundreds of thousands) is cut into slices; each slice of `F` is packed once into the panel
//! GEMM's two layouts while it is in cache, only the blocks that reach the upper triangle are
//! multiplied (53–75 % of the square for VGG's 64–512 channels), and the lower triangle is
//! mirrored at the end. Each thread sums its own run of slices into its own `G`; the runs are
//! added last, so no two threads ever write one block.

use super::packed_gemm::{gemm_panels_add_upper, Kernel, MR, NR};
use rayon::prelude::*;

/// Pixels per slice: one slice of a 32-row B panel is 32 KB, half of L1.
const SLICE: usize = 256;
/// Below this many multiply-adds one thread does it all (the backward uses it too).
pub(super) const PARALLEL_WORK: usize = 1 << 22;

// ANCHOR: gram
/// `F·Fᵀ` for row-major `f` of `c` rows and `k` columns, as a dense `c × c` matrix.
pub fn gram(f: &[f32], c: usize, k: usize, kernel: Kernel) -> Vec<f32> {
    assert_eq!(f.len(), c * k, "gram: {c}×{k} needs {} values", c * k);
    if c == 0 || k == 0 {
        return vec![0.0; c * c];
    }
    // Rows padded to whole panels (a multiple of NR is one of MR too); the padding is zeros.
    let padded = c.div_ceil(NR) * NR;
    let runs = match c * c * k >= PARALLEL_WORK {
        true => rayon::current_num_threads().clamp(1, k),
        false => 1,
    };
    let partial_sums: Vec<Vec<f32>> = (0..runs)
        .into_par_iter()
        .map(|run| {
            let columns = run * k / runs..(run + 1) * k / runs;
            upper_sum_over(f, [c, k, padded], columns, kernel)
        })
        .collect();
    let sum = partial_sums.into_iter().reduce(add).unwrap_or_default();
    mirrored_and_cropped(&sum, c, padded)
}
// ANCHOR_END: gram

// ANCHOR: gram_slices
/// The upper blocks of `F[:, columns]·F[:, columns]ᵀ`, slice by slice, as a `padded²`
/// matrix (entries below the upper blocks stay zero).
fn upper_sum_over(
    f: &[f32],
    [c, k, padded]: [usize; 3],
    columns: std::ops::Range<usize>,
    kernel: Kernel,
) -> Vec<f32> {
    let mut g = vec![0.0f32; padded * padded];
    let mut rows_as_a = vec![0.0f32; padded * SLICE];
    let mut rows_as_b = vec![0.0f32; padded * SLICE];
    for start in columns.clone().step_by(SLICE) {
        let slice = start..(start + SLICE).min(columns.end);
        let depth = slice.len();
        pack_rows(f, c, k, slice.clone(), MR, &mut rows_as_a[..padded * depth]);
        pack_rows(f, c, k, slice, NR, &mut rows_as_b[..padded * depth]);
        gemm_panels_add_upper(
            kernel,
            [padded, depth, padded],
            &rows_as_a,
            &rows_as_b,
            &mut g,
            padded,
        );
    }
    g
}
// ANCHOR_END: gram_slices

/// Columns `columns` of `F`'s rows as panels of `width` rows, `[rows/width][depth][width]`:
/// the layout of both the panel GEMM's operands. Rows past `c` are zeros.
fn pack_rows(
    f: &[f32],
    c: usize,
    k: usize,
    columns: std::ops::Range<usize>,
    width: usize,
    out: &mut [f32],
) {
    let depth = columns.len();
    for (panel_index, panel) in out.chunks_exact_mut(depth * width).enumerate() {
        for lane in 0..width {
            let row = panel_index * width + lane;
            let values = panel[lane..].iter_mut().step_by(width);
            match row < c {
                true => {
                    let source = &f[row * k + columns.start..row * k + columns.end];
                    values.zip(source).for_each(|(v, &s)| *v = s);
                }
                false => values.for_each(|v| *v = 0.0),
            }
        }
    }
}

fn add(mut a: Vec<f32>, b: Vec<f32>) -> Vec<f32> {
    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
    a
}

/// The top-left `c × c` of `upper` with its lower triangle copied from the upper one.
fn mirrored_and_cropped(upper: &[f32], c: usize, padded: usize) -> Vec<f32> {
    let mut g = vec![0.0f32; c * c];
    for i in 0..c {
        for j in 0..c {
            let (row, col) = if i <= j { (i, j) } else { (j, i) };
            g[i * c + j] = upper[row * padded + col];
        }
    }
    g
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// `C × M` of the five style layers' feature maps at 512 × 384 (relu1_1 … relu5_1).
    pub(in crate::cpu) const STYLE_LAYERS_512: [(usize, usize); 5] = [
        (64, 196_608),
        (128, 49_152),
        (256, 12_288),
        (512, 3_072),
        (512, 768),
    ];

    /// Milliseconds per call of `f`: the fastest of 3 runs of 10 calls (this VM is noisy).
    pub(in crate::cpu) fn fastest_ms(f: &mut dyn FnMut()) -> f64 {
        (0..3)
            .map(|_| {
                let start = std::time::Instant::now();
                (0..10).for_each(|_| f());
                start.elapsed().as_secs_f64() / 10.0 * 1e3
            })
            .fold(f64::INFINITY, f64::min)
    }

    fn textbook(f: &[f32], c: usize, k: usize) -> Vec<f64> {
        let mut g = vec![0.0f64; c * c];
        for i in 0..c {
            for j in 0..c {
                g[i * c + j] = (0..k)
                    .map(|p| f[i * k + p] as f64 * f[j * k + p] as f64)
                    .sum();
            }
        }
        g
    }

    #[test]
    fn equals_the_textbook_product_and_is_symmetric() {
        // Channel counts off the panel sizes, depths off the slice, one run and several.
        for (c, k) in [
            (1, 1),
            (3, 5),
            (37, 255),
            (64, 257),
            (70, 3 * SLICE + 11),
            (96, 2000),
        ] {
            let f: Vec<f32> = (0..c * k)
                .map(|i| ((i * 37 + 11) % 101) as f32 / 50.0 - 1.0)
                .collect();
            let want = textbook(&f, c, k);
            for kernel in [Kernel::Portable, Kernel::best()] {
                let g = gram(&f, c, k, kernel);
                assert_eq!(g.len(), c * c);
                for i in 0..c {
                    for j in 0..c {
                        let (got, want) = (g[i * c + j] as f64, want[i * c + j]);
                        let tolerance = 1e-5 * (k as f64).sqrt() * (1.0 + want.abs());
                        assert!(
                            (got - want).abs() <= tolerance,
                            "{kernel:?} {c}×{k} at ({i}, {j}): {got} vs {want}"
                        );
                        assert_eq!(got, g[j * c + i] as f64, "not symmetric at ({i}, {j})");
                    }
                }
            }
        }
    }

    #[test]
    fn no_pixels_give_zeros() {
        assert_eq!(gram(&[], 3, 0, Kernel::Portable), vec![0.0; 9]);
        assert!(gram(&[], 0, 5, Kernel::best()).is_empty());
    }

    /// The five style layers' Gram products at 512 × 384, this kernel against matrixmultiply's
    /// general product of `F` and `Fᵀ` (fastest of 3 × 10):
    /// `cargo test --release -p picasso-engine --lib gram_timing -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn gram_timing() {
        use crate::layout::Layout;
        println!("| C × M | general SGEMM ms | symmetric panels ms | ratio |");
        for (c, k) in STYLE_LAYERS_512 {
            let f: Vec<f32> = (0..c * k).map(|i| (i % 97) as f32 / 97.0).collect();
            let lf = Layout::contiguous(&[c, k]);
            let lt = lf.transpose(0, 1).unwrap();
            let general = fastest_ms(&mut || {
                std::hint::black_box(crate::cpu::matmul::matmul(&f, &lf, &f, &lt).unwrap());
            });
            let symmetric = fastest_ms(&mut || {
                std::hint::black_box(gram(&f, c, k, Kernel::best()));
            });
            println!(
                "| {c} × {k} | {general:.2} | {symmetric:.2} | {:.2} |",
                symmetric / general
            );
        }
    }
}
