//! The panel GEMM of [`super::packed_gemm`] with bf16 operands and f32 sums, for CPUs with
//! AVX-512 BF16.
//!
//! bf16 keeps f32's 8 exponent bits and only 7 of its 23 mantissa bits, so a value is rounded
//! to about 3 significant digits. In exchange, one `VDPBF16PS` instruction multiplies 32 pairs
//! of bf16 values and adds them, two by two, onto 16 f32 sums: twice the multiplications of a
//! fused multiply-add on f32, and half the bytes to read. The sums stay in f32, so the error
//! is the rounding of the operands, not of a long accumulation.
//!
//! `VDPBF16PS` adds the products of *neighbouring* elements, so the operands are stored in
//! pairs along the depth: `A` as `[m/MR][k/2][MR][2]` and `B` as `[n/NR][k/2][NR][2]`
//! ([`pair_panels`] makes them from the f32 panels), an odd depth padded with a zero.

use super::packed_gemm::{for_each_block, PanelShape, Update, MR, NR};

/// Depth pairs per pass: a `KC2 × NR` pair slice of B is 16 KB, a third of a 48 KB L1.
const KC2: usize = 128;

/// `x` rounded to the nearest bf16 (ties to even), as its 16 bits; NaN stays NaN.
#[inline(always)]
pub fn to_bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    if x.is_nan() {
        return ((bits >> 16) | 0x0040) as u16;
    }
    let rounding = 0x7fff + ((bits >> 16) & 1);
    (bits.wrapping_add(rounding) >> 16) as u16
}

/// The f32 value of a bf16.
pub fn from_bf16(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// Whether this CPU runs the bf16 kernel: AVX-512 BF16, and AVX-512 not switched off
/// ([`super::simd::DISABLE_ENV`]).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        super::simd::has_avx512() && std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Which of the Winograd-domain GEMMs run in bf16.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bf16Use {
    /// None: f32 throughout.
    Off,
    /// The input gradient's only (the backward pass); the forward pass, which gives the loss
    /// the line search compares, stays f32.
    Backward,
    /// Forward and backward.
    All,
}

/// Set this environment variable to `off`, `backward` or `all` to choose [`Bf16Use`] in a
/// program that does not call [`choose_bf16_use`] (tests, examples).
pub const BF16_ENV: &str = "PICASSO_BF16";

static CHOICE: std::sync::OnceLock<Bf16Use> = std::sync::OnceLock::new();

/// What holds where the CPU may not have AVX-512 BF16: `asked`, or `Off`.
fn if_available(asked: Bf16Use) -> Bf16Use {
    if available() {
        asked
    } else {
        Bf16Use::Off
    }
}

/// Choose which GEMMs run in bf16 for the rest of the process: call it before the first
/// convolution (the choice is made once, then kept). Returns what holds: `Off` where the CPU
/// has no AVX-512 BF16.
pub fn choose_bf16_use(asked: Bf16Use) -> Bf16Use {
    *CHOICE.get_or_init(|| if_available(asked))
}

/// The GEMMs that run in bf16 in this process: as chosen, else as [`BF16_ENV`] says, else
/// none.
pub fn bf16_use() -> Bf16Use {
    *CHOICE.get_or_init(|| {
        if_available(match std::env::var(BF16_ENV).as_deref() {
            Ok("backward") => Bf16Use::Backward,
            Ok("all") => Bf16Use::All,
            _ => Bf16Use::Off,
        })
    })
}

/// Whether the GEMMs with weights transformed for the input gradient (`flipped`) or for the
/// forward pass run in bf16.
pub fn in_bf16(flipped: bool) -> bool {
    match bf16_use() {
        Bf16Use::Off => false,
        Bf16Use::Backward => flipped,
        Bf16Use::All => true,
    }
}

// ANCHOR: pair_panels
/// Re-lay f32 panels `[panels][k][width]` as bf16 pairs `[panels][k2][width][2]`,
/// `k2 = ⌈k/2⌉`: element `(p, j)` of a panel goes to `(p/2, j, p%2)`; an odd `k` gets a zero.
pub fn pair_panels(src: &[f32], k: usize, width: usize, dst: &mut [u16]) {
    #[cfg(target_arch = "x86_64")]
    if width == NR && available() {
        // SAFETY: AVX-512 BF16 (and so AVX-512F/BW on every CPU that has it) is present.
        return unsafe { pair_panels_32(src, k, dst) };
    }
    pair_panels_portable(src, k, width, dst)
}

fn pair_panels_portable(src: &[f32], k: usize, width: usize, dst: &mut [u16]) {
    let k2 = k.div_ceil(2);
    for (panel, out) in src
        .chunks_exact(k * width)
        .zip(dst.chunks_exact_mut(k2 * 2 * width))
    {
        for (p2, pairs) in out.chunks_exact_mut(2 * width).enumerate() {
            let even = &panel[2 * p2 * width..][..width];
            let odd = panel.get((2 * p2 + 1) * width..(2 * p2 + 2) * width);
            for (j, pair) in pairs.chunks_exact_mut(2).enumerate() {
                pair[0] = to_bf16(even[j]);
                pair[1] = odd.map_or(0, |odd| to_bf16(odd[j]));
            }
        }
    }
}
// ANCHOR_END: pair_panels

/// [`pair_panels`] for panels 32 wide, 16 pairs per instruction: `VCVTNE2PS2BF16` rounds two
/// rows of 16 floats to bf16 (to nearest even, as [`to_bf16`]; denormals become zero) side by
/// side, and a permutation interleaves them into pairs.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
unsafe fn pair_panels_32(src: &[f32], k: usize, dst: &mut [u16]) {
    use std::arch::x86_64::*;
    const WIDTH: usize = NR;
    let k2 = k.div_ceil(2);
    // Output position 2j takes input j (the even row), 2j + 1 takes input 16 + j (the odd).
    let interleave = _mm512_set_epi16(
        31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20, 4,
        19, 3, 18, 2, 17, 1, 16, 0,
    );
    for (panel, out) in src
        .chunks_exact(k * WIDTH)
        .zip(dst.chunks_exact_mut(k2 * 2 * WIDTH))
    {
        for p2 in 0..k2 {
            let even = panel.as_ptr().add(2 * p2 * WIDTH);
            let odd_row = 2 * p2 + 1 < k;
            for half in 0..2 {
                let e = _mm512_loadu_ps(even.add(16 * half));
                let o = match odd_row {
                    true => _mm512_loadu_ps(even.add(WIDTH + 16 * half)),
                    false => _mm512_setzero_ps(),
                };
                let side_by_side: __m512i = std::mem::transmute(_mm512_cvtne2ps_pbh(o, e));
                let pairs = _mm512_permutexvar_epi16(interleave, side_by_side);
                let at = out.as_mut_ptr().add(p2 * 2 * WIDTH + 32 * half);
                _mm512_storeu_si512(at.cast(), pairs);
            }
        }
    }
}

/// `C[m × n] = A · B` for pair-panel `A` (`m/MR` panels of `k2 × MR × 2`) and `B` (`n/NR`
/// panels of `k2 × NR × 2`), `k2` pairs deep. Requires [`available`].
pub fn gemm_panels_bf16([m, k2, n]: [usize; 3], a: &[u16], b: &[u16], c: &mut [f32], ldc: usize) {
    assert!(available(), "this CPU has no AVX-512 BF16");
    let shape = PanelShape {
        name: "gemm_panels_bf16",
        m,
        depth: k2,
        n,
        per_step: [2 * MR, 2 * NR],
        slice: KC2,
        update: Update::Overwrite,
    };
    for_each_block(
        shape,
        a,
        b,
        c,
        ldc,
        |kc, a_slice, b_slice, c_block, accumulate| {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: AVX-512 BF16 is present (asserted at the top); the slices hold kc·2·MR and
            // kc·2·NR values and the MR rows of C at stride ldc hold NR floats each
            // (for_each_block checks the lengths).
            unsafe {
                kernel_bf16(
                    kc,
                    a_slice.as_ptr(),
                    b_slice.as_ptr(),
                    c_block,
                    ldc,
                    accumulate,
                )
            }
        },
    );
}

// ANCHOR: kernel_bf16
/// One `MR × NR` block of `C` (`+=` with `accumulate`): per depth pair, two 32-value loads of
/// B, and for each of the MR rows one broadcast pair of A and two `VDPBF16PS`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn kernel_bf16(
    k2: usize,
    a: *const u16,
    b: *const u16,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
) {
    use super::packed_gemm::{load_block, store_block};
    use std::arch::x86_64::*;
    let mut acc = load_block(c, ldc, accumulate);
    for p in 0..k2 {
        // Lane j of b0: the pair (B[2p][j], B[2p+1][j]) for columns 0..16; b1 columns 16..32.
        let b0: __m512bh = std::mem::transmute(_mm512_loadu_si512(b.add(p * 2 * NR).cast()));
        let b1: __m512bh = std::mem::transmute(_mm512_loadu_si512(b.add(p * 2 * NR + 32).cast()));
        for (r, acc_row) in acc.iter_mut().enumerate() {
            let pair = a.add((p * MR + r) * 2).cast::<i32>().read_unaligned();
            let a_pair: __m512bh = std::mem::transmute(_mm512_set1_epi32(pair));
            acc_row[0] = _mm512_dpbf16_ps(acc_row[0], a_pair, b0);
            acc_row[1] = _mm512_dpbf16_ps(acc_row[1], a_pair, b1);
        }
    }
    store_block(&acc, c, ldc);
}
// ANCHOR_END: kernel_bf16

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_to_bf16_is_to_nearest_even() {
        assert_eq!(to_bf16(1.0), 0x3f80);
        // 1 + 2⁻⁸ lies halfway between 1 and 1 + 2⁻⁷: ties go to the even mantissa, 1.
        assert_eq!(from_bf16(to_bf16(1.0 + 1.0 / 256.0)), 1.0);
        // 1 + 3·2⁻⁸ is halfway between 1 + 2⁻⁷ and 1 + 2⁻⁶: to the even one, 1 + 2⁻⁶.
        assert_eq!(from_bf16(to_bf16(1.0 + 3.0 / 256.0)), 1.0 + 1.0 / 64.0);
        assert_eq!(from_bf16(to_bf16(-2.5)), -2.5);
        assert!(from_bf16(to_bf16(f32::NAN)).is_nan());
        assert_eq!(from_bf16(to_bf16(f32::INFINITY)), f32::INFINITY);
    }

    #[test]
    fn the_vector_pairing_is_the_portable_one() {
        if !available() {
            println!("skipped: this CPU has no AVX-512 BF16");
            return;
        }
        for k in [1, 2, 7, 64] {
            let src: Vec<f32> = (0..3 * k * NR)
                .map(|i| (i as f32 * 0.37).sin() * 1e3)
                .collect();
            let (mut vector, mut portable) = (vec![1u16; 3 * k.div_ceil(2) * 2 * NR], vec![]);
            portable.resize(vector.len(), 2);
            pair_panels(&src, k, NR, &mut vector);
            pair_panels_portable(&src, k, NR, &mut portable);
            assert_eq!(vector, portable, "depth {k}");
        }
    }

    /// The product of the bf16-rounded operands, summed in f64: what the kernel computes up to
    /// the f32 rounding of its sums.
    #[test]
    fn the_kernel_computes_the_product_of_the_rounded_operands() {
        if !available() {
            println!("skipped: this CPU has no AVX-512 BF16");
            return;
        }
        // An odd depth (a zero pads the last pair) longer than one pass of KC2 pairs.
        let (m, k, n, ldc) = (2 * MR, 2 * 2 * KC2 + 37, 2 * NR, 2 * NR + 3);
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 31) % 13) as f32 * 0.3 - 2.0)
            .collect();
        let b: Vec<f32> = (0..k * n)
            .map(|i| ((i * 17) % 11) as f32 * 0.7 - 3.1)
            .collect();
        // f32 panels as packed_gemm lays them out: A [m/MR][k][MR], B [n/NR][k][NR].
        let pack = |x: &[f32], rows: usize, cols: usize, width: usize, by_row: bool| {
            let mut out = Vec::new();
            for block in 0..(if by_row { rows } else { cols }) / width {
                for p in 0..k {
                    out.extend((0..width).map(|w| match by_row {
                        true => x[(block * width + w) * cols + p],
                        false => x[p * cols + block * width + w],
                    }));
                }
            }
            out
        };
        let (fa, fb) = (pack(&a, m, k, MR, true), pack(&b, k, n, NR, false));
        let k2 = k.div_ceil(2);
        let mut pa = vec![0u16; m * k2 * 2];
        let mut pb = vec![0u16; k2 * 2 * n];
        pair_panels(&fa, k, MR, &mut pa);
        pair_panels(&fb, k, NR, &mut pb);
        let mut c = vec![f32::NAN; m * ldc];
        gemm_panels_bf16([m, k2, n], &pa, &pb, &mut c, ldc);
        let round = |x: f32| from_bf16(to_bf16(x)) as f64;
        for i in 0..m {
            for j in 0..n {
                let terms = (0..k).map(|p| round(a[i * k + p]) * round(b[p * n + j]));
                let (want, scale) = terms.fold((0.0, 0.0), |(s, t), x| (s + x, t + x.abs()));
                let got = c[i * ldc + j] as f64;
                // f32 sums: an error of a few units of f32's last place of the terms' size.
                assert!(
                    (got - want).abs() <= 1e-6 * scale,
                    "({i}, {j}): {got} against {want}"
                );
            }
            assert!(c[i * ldc + n..(i + 1) * ldc].iter().all(|v| v.is_nan()));
        }
    }
}
