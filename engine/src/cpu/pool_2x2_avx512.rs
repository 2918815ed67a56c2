//! The 2×2 max pool's backward row with AVX-512, 16 windows at a time.
//!
//! Left to itself, the compiler vectorises the portable row (`pool_2x2::unpool_row`) with
//! scatter stores for the four interleaved cells, which is slower than scalar code. Here the
//! interleaving is explicit: one permutation splits a row's 32 cells into the windows' left and
//! right cells, the winner is picked with mask compares, and one permutation per output pair
//! puts the gradients back in reading order.

use std::arch::x86_64::*;
use std::mem::MaybeUninit;

/// Lane indices of the even and odd cells of 32 (a row of 16 windows in two registers).
const EVEN: [i32; 16] = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30];
const ODD: [i32; 16] = [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31];
/// Lane indices that interleave two registers, `x₀ y₀ x₁ y₁ …`: the low and high halves.
const ZIP_LOW: [i32; 16] = [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23];
const ZIP_HIGH: [i32; 16] = [8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31];

/// Lanes where `v` beats `best` (as `pool_2x2::pick`): larger, or NaN where `best` is not.
#[inline(always)]
unsafe fn beats(best: __m512, v: __m512) -> __mmask16 {
    let larger_or_nan = _mm512_cmp_ps_mask::<_CMP_NLE_UQ>(v, best);
    larger_or_nan & _mm512_cmp_ps_mask::<_CMP_ORD_Q>(best, best)
}

// ANCHOR: unpool_row
/// The first `16·⌊n/16⌋` windows of `pool_2x2::unpool_row` (`n = gy.len()`); returns how many
/// it did, leaving the rest to the portable loop.
///
/// # Safety
/// The CPU must have AVX-512F, and `dst` and `src` rows must hold at least `2·n` cells.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn unpool_row(
    dst: [&mut [MaybeUninit<f32>]; 2],
    src: [&[f32]; 2],
    gy: &[f32],
) -> usize {
    let whole = gy.len() / 16 * 16;
    let [d0, d1] = dst;
    assert!(d0.len() >= 2 * whole && d1.len() >= 2 * whole);
    assert!(src[0].len() >= 2 * whole && src[1].len() >= 2 * whole);
    let load = |i: &[i32; 16]| _mm512_loadu_si512(i.as_ptr().cast());
    let (even, odd) = (load(&EVEN), load(&ODD));
    let (zip_low, zip_high) = (load(&ZIP_LOW), load(&ZIP_HIGH));
    let split = |row: &[f32], at: usize| {
        let (lo, hi) = (
            _mm512_loadu_ps(row.as_ptr().add(at)),
            _mm512_loadu_ps(row.as_ptr().add(at + 16)),
        );
        (
            _mm512_permutex2var_ps(lo, even, hi),
            _mm512_permutex2var_ps(lo, odd, hi),
        )
    };
    let store = |row: &mut [MaybeUninit<f32>], at: usize, left: __m512, right: __m512| {
        let out = row.as_mut_ptr().add(at).cast::<f32>();
        _mm512_storeu_ps(out, _mm512_permutex2var_ps(left, zip_low, right));
        _mm512_storeu_ps(out.add(16), _mm512_permutex2var_ps(left, zip_high, right));
    };
    for w in (0..whole).step_by(16) {
        let ((a, b), (c, d)) = (split(src[0], 2 * w), split(src[1], 2 * w));
        // Reading order, as the portable loop: b, then c, then d may take over from the best.
        let b_wins = beats(a, b);
        let best = _mm512_mask_blend_ps(b_wins, a, b);
        let c_wins = beats(best, c);
        let best = _mm512_mask_blend_ps(c_wins, best, c);
        let d_wins = beats(best, d);
        let (c_wins, b_wins) = (c_wins & !d_wins, b_wins & !c_wins & !d_wins);
        let a_wins = !(b_wins | c_wins | d_wins);
        let grad = _mm512_loadu_ps(gy.as_ptr().add(w));
        let to = |wins| _mm512_maskz_mov_ps(wins, grad);
        store(d0, 2 * w, to(a_wins), to(b_wins));
        store(d1, 2 * w, to(c_wins), to(d_wins));
    }
    whole
}
// ANCHOR_END: unpool_row
