//! A GEMM on operands stored ahead of time as *panels*, the layout its inner loop reads.
//!
//! A general GEMM (matrixmultiply, BLAS) copies both operands into panels on every call. In
//! Winograd convolution we can do better: the weights are transformed once and cached, so they
//! are written straight into panels, and the input transform writes its output straight into
//! panels too. The GEMM then only streams through memory it reads contiguously.
//!
//! `C = A · B` with
//! - `A` (`m × k`) stored as `m/MR` panels, each `[k][MR]`: for every `p`, the `MR` values of
//!   one column next to each other;
//! - `B` (`k × n`) stored as `n/NR` panels, each `[k][NR]`: for every `p`, `NR` values of one row;
//! - `C` row-major with row stride `ldc`.
//!
//! The micro-kernel keeps an `MR × NR` block of `C` in registers (16 AVX-512 registers of 16
//! floats) and, for each `p`, multiplies one broadcast value of `A` with two vectors of `B`:
//! 16 fused multiply-adds per 2 vector loads and 8 broadcasts.

/// Rows of `A` (output channels) per micro-tile.
pub const MR: usize = 8;
/// Columns of `B` (Winograd tiles) per micro-tile.
pub const NR: usize = 32;
/// Depth per pass: a `KC × NR` slice of B is 32 KB, two thirds of a 48 KB L1.
const KC: usize = 256;

/// Which micro-kernel runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// Plain Rust the compiler vectorises for the baseline target: runs anywhere.
    Portable,
    /// Explicit AVX-512 fused multiply-adds (x86-64 with AVX-512F only).
    Avx512,
}

impl Kernel {
    /// The fastest kernel this CPU supports (the portable one when
    /// [`super::simd::DISABLE_ENV`] is set).
    pub fn best() -> Kernel {
        if super::simd::has_avx512() {
            Kernel::Avx512
        } else {
            Kernel::Portable
        }
    }
}

/// `C[m × n] = A · B` for panel-stored `A` (`m/MR` panels of `k × MR`) and `B` (`n/NR` panels
/// of `k × NR`); `m` and `n` are multiples of `MR` and `NR`.
pub fn gemm_panels(
    kernel: Kernel,
    dims: [usize; 3],
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    ldc: usize,
) {
    gemm_panels_updating(kernel, dims, a, b, c, ldc, Update::Overwrite);
}

/// `C += A · B` on the blocks that reach the diagonal or above it; the others are left as they
/// are. For a symmetric product (a Gram matrix, `A` = `Bᵀ`) that is every entry on or above
/// the diagonal for little more than half the work: the caller mirrors the rest.
pub fn gemm_panels_add_upper(
    kernel: Kernel,
    dims: [usize; 3],
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    ldc: usize,
) {
    gemm_panels_updating(kernel, dims, a, b, c, ldc, Update::AddUpperBlocks);
}

fn gemm_panels_updating(
    kernel: Kernel,
    [m, k, n]: [usize; 3],
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    ldc: usize,
    update: Update,
) {
    #[cfg(target_arch = "x86_64")]
    if kernel == Kernel::Avx512 {
        assert!(
            std::arch::is_x86_feature_detected!("avx512f"),
            "this CPU has no AVX-512F"
        );
    }
    let shape = PanelShape {
        name: "gemm_panels",
        m,
        depth: k,
        n,
        per_step: [MR, NR],
        slice: KC,
        update,
    };
    for_each_block(
        shape,
        a,
        b,
        c,
        ldc,
        |kc, a_slice, b_slice, c_block, accumulate| {
            match kernel {
                Kernel::Portable => kernel_portable(kc, a_slice, b_slice, c_block, ldc, accumulate),
                #[cfg(target_arch = "x86_64")]
                Kernel::Avx512 => {
                    // SAFETY: AVX-512F is present (asserted at the top); the slices hold kc·MR
                    // and kc·NR floats and the MR rows of C at stride ldc hold NR floats each
                    // (for_each_block checks the lengths).
                    unsafe {
                        kernel_avx512(
                            kc,
                            a_slice.as_ptr(),
                            b_slice.as_ptr(),
                            c_block,
                            ldc,
                            accumulate,
                        )
                    }
                }
                #[cfg(not(target_arch = "x86_64"))]
                Kernel::Avx512 => panic!("the AVX-512 kernel needs an x86-64 CPU"),
            }
        },
    );
}

/// What a panel GEMM does to `C`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Update {
    /// Every block is overwritten with its product.
    Overwrite,
    /// Only blocks with an entry on or above the diagonal, and their product is added on.
    AddUpperBlocks,
}

/// The shape of a panel GEMM, for [`for_each_block`].
pub(super) struct PanelShape {
    /// The caller, for the messages of a broken contract.
    pub name: &'static str,
    pub m: usize,
    /// Steps along the depth (k for f32 panels, ⌈k/2⌉ pairs for bf16).
    pub depth: usize,
    pub n: usize,
    /// Values per depth step of one A panel and one B panel.
    pub per_step: [usize; 2],
    /// Depth steps per pass.
    pub slice: usize,
    /// Which blocks of C, and whether they are overwritten or added to.
    pub update: Update,
}

/// The loops around a micro-kernel, for panels of any element type: the depth is split into
/// slices, so that one slice of a B panel stays in L1 while every A panel's slice streams past
/// it, and C accumulates across slices. `kernel(steps, a_slice, b_slice, c_block,
/// accumulate)` computes one `MR × NR` block of C at row stride `ldc` (`+=` after the first
/// slice, or from the first with [`Update::AddUpperBlocks`]). Checks every length the kernel
/// relies on first.
pub(super) fn for_each_block<T>(
    shape: PanelShape,
    a: &[T],
    b: &[T],
    c: &mut [f32],
    ldc: usize,
    mut kernel: impl FnMut(usize, &[T], &[T], &mut [f32], bool),
) {
    let PanelShape {
        name,
        m,
        depth,
        n,
        per_step: [a_step, b_step],
        slice,
        update,
    } = shape;
    assert!(
        m % MR == 0 && n % NR == 0,
        "{name}: {m}×{n} is not in whole panels"
    );
    let (a_panel_len, b_panel_len) = (depth * a_step, depth * b_step);
    assert!(
        a.len() >= m / MR * a_panel_len && b.len() >= n / NR * b_panel_len,
        "{name}: operands too short"
    );
    assert!(
        m == 0 || c.len() >= (m - 1) * ldc + n,
        "{name}: output too short"
    );
    assert!(ldc >= n, "{name}: ldc {ldc} < n {n}");
    for k0 in (0..depth).step_by(slice) {
        let steps = slice.min(depth - k0);
        for (nb, b_panel) in b.chunks_exact(b_panel_len).take(n / NR).enumerate() {
            let b_slice = &b_panel[k0 * b_step..(k0 + steps) * b_step];
            for (mb, a_panel) in a.chunks_exact(a_panel_len).take(m / MR).enumerate() {
                let below_diagonal = nb * NR + NR <= mb * MR;
                if update == Update::AddUpperBlocks && below_diagonal {
                    continue;
                }
                let a_slice = &a_panel[k0 * a_step..(k0 + steps) * a_step];
                let c_block = &mut c[mb * MR * ldc + nb * NR..];
                kernel(
                    steps,
                    a_slice,
                    b_slice,
                    c_block,
                    k0 > 0 || update != Update::Overwrite,
                );
            }
        }
    }
}

/// One `MR × NR` block of `C` (`+=` with `accumulate`), in plain Rust.
fn kernel_portable(k: usize, a: &[f32], b: &[f32], c: &mut [f32], ldc: usize, accumulate: bool) {
    let mut acc = [[0.0f32; NR]; MR];
    if accumulate {
        for (r, acc_row) in acc.iter_mut().enumerate() {
            acc_row.copy_from_slice(&c[r * ldc..r * ldc + NR]);
        }
    }
    for (a_col, b_row) in a.chunks_exact(MR).zip(b.chunks_exact(NR)).take(k) {
        for (acc_row, &a_value) in acc.iter_mut().zip(a_col) {
            for (sum, &b_value) in acc_row.iter_mut().zip(b_row) {
                *sum += a_value * b_value;
            }
        }
    }
    for (r, acc_row) in acc.iter().enumerate() {
        c[r * ldc..r * ldc + NR].copy_from_slice(acc_row);
    }
}

/// One `MR × NR` block of `C` with AVX-512: 16 accumulator registers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn kernel_avx512(
    k: usize,
    a: *const f32,
    b: *const f32,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
) {
    use std::arch::x86_64::*;
    let mut acc = load_block(c, ldc, accumulate);
    for p in 0..k {
        let b0 = _mm512_loadu_ps(b.add(p * NR));
        let b1 = _mm512_loadu_ps(b.add(p * NR + 16));
        for (r, acc_row) in acc.iter_mut().enumerate() {
            let a_value = _mm512_set1_ps(*a.add(p * MR + r));
            acc_row[0] = _mm512_fmadd_ps(a_value, b0, acc_row[0]);
            acc_row[1] = _mm512_fmadd_ps(a_value, b1, acc_row[1]);
        }
    }
    store_block(&acc, c, ldc);
}

/// An `MR × NR` block of accumulators: `C`'s values to add onto (`accumulate`), else zeros.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
pub(super) fn load_block(
    c: &[f32],
    ldc: usize,
    accumulate: bool,
) -> [[std::arch::x86_64::__m512; 2]; MR] {
    use std::arch::x86_64::*;
    std::array::from_fn(|r| match accumulate {
        true => {
            let row = &c[r * ldc..r * ldc + NR];
            // SAFETY: `row` holds NR = 32 floats, two vectors of 16.
            unsafe {
                [
                    _mm512_loadu_ps(row.as_ptr()),
                    _mm512_loadu_ps(row.as_ptr().add(16)),
                ]
            }
        }
        false => [_mm512_setzero_ps(); 2],
    })
}

/// Write an `MR × NR` block of accumulators into `C` (row stride `ldc`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
pub(super) fn store_block(acc: &[[std::arch::x86_64::__m512; 2]; MR], c: &mut [f32], ldc: usize) {
    use std::arch::x86_64::*;
    for (r, acc_row) in acc.iter().enumerate() {
        let row = &mut c[r * ldc..r * ldc + NR];
        // SAFETY: `row` holds NR = 32 floats, two vectors of 16.
        unsafe {
            _mm512_storeu_ps(row.as_mut_ptr(), acc_row[0]);
            _mm512_storeu_ps(row.as_mut_ptr().add(16), acc_row[1]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pack a row-major `m × k` matrix into `[m/MR][k][MR]` panels, and `k × n` into `[n/NR][k][NR]`.
    fn pack_a(a: &[f32], m: usize, k: usize) -> Vec<f32> {
        let mut out = Vec::new();
        for mb in 0..m / MR {
            for p in 0..k {
                out.extend((0..MR).map(|r| a[(mb * MR + r) * k + p]));
            }
        }
        out
    }

    fn pack_b(b: &[f32], k: usize, n: usize) -> Vec<f32> {
        let mut out = Vec::new();
        for nb in 0..n / NR {
            for p in 0..k {
                out.extend_from_slice(&b[p * n + nb * NR..p * n + nb * NR + NR]);
            }
        }
        out
    }

    #[test]
    fn both_kernels_match_the_textbook_product() {
        let (m, k, n, ldc) = (2 * MR, 2 * KC + 37, 3 * NR, 3 * NR + 5);
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 31) % 13) as f32 - 6.0).collect();
        let b: Vec<f32> = (0..k * n)
            .map(|i| ((i * 17) % 11) as f32 * 0.5 - 2.0)
            .collect();
        let (pa, pb) = (pack_a(&a, m, k), pack_b(&b, k, n));
        for kernel in [Kernel::Portable, Kernel::best()] {
            let mut c = vec![f32::NAN; m * ldc];
            gemm_panels(kernel, [m, k, n], &pa, &pb, &mut c, ldc);
            for i in 0..m {
                for j in 0..n {
                    let want: f32 = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
                    assert_eq!(c[i * ldc + j], want, "{kernel:?} at ({i}, {j})");
                }
                let beyond_n = &c[i * ldc + n..(i + 1) * ldc];
                assert!(
                    beyond_n.iter().all(|v| v.is_nan()),
                    "{kernel:?} wrote past n"
                );
            }
        }
    }

    /// The kernel's speed on one thread at the shapes of VGG's Winograd GEMMs (`o × c` weights
    /// by `c × tiles`), to hold against the core's peak (two 16-lane FMA units: 64 FLOP per
    /// cycle). A measurement, not a check:
    /// `cargo test --release -p picasso-engine --lib packed_gemm_speed -- --ignored --nocapture`.
    #[test]
    #[ignore = "a timing, run by hand"]
    fn packed_gemm_speed() {
        let shapes = [
            (64, 64, 12288),
            (128, 128, 3072),
            (256, 256, 768),
            (512, 512, 192),
        ];
        for (m, k, n) in shapes {
            let (a, b) = (vec![0.5f32; m * k], vec![0.25f32; k * n]);
            let mut c = vec![0.0f32; m * n];
            let flop = 2.0 * (m * k * n) as f64;
            // About 20 GFLOP per shape: long enough for the clock to settle.
            let reps = (2e10 / flop).ceil() as usize;
            let start = std::time::Instant::now();
            for _ in 0..reps {
                gemm_panels(Kernel::best(), [m, k, n], &a, &b, &mut c, n);
            }
            let gflops = flop * reps as f64 / start.elapsed().as_secs_f64() / 1e9;
            println!(
                "{m} × {k} · {k} × {n} ({:?}): {gflops:.1} GFLOP/s",
                Kernel::best()
            );
        }
    }
}
