//! The two Winograd tile sizes the engine uses: F(4×4, 3×3) and F(6×6, 3×3).
//!
//! Each is three small matrices (Lavin & Gray, 2015): `G` turns a 3×3 kernel into an α×α
//! tile, `Bᵀ` an α×α input tile likewise, and `Aᵀ` turns their elementwise product back into
//! m×m outputs, α = m + 2. Both sizes use the interpolation points 0, ±1, ±2 and ∞; F(6×6) adds
//! ±½. A bigger tile needs fewer multiplies per output (α²/m²: 2.25 for F(4×4), 1.78 for
//! F(6×6), against 9 for direct convolution), but its matrices hold larger and smaller numbers,
//! so it rounds more, and its transformed kernels take α² = 64 values instead of 36.
//!
//! Each matrix is written as the function that applies it to one column, with the common
//! sums factored out: the transforms in `conv_winograd` call these on whole rows of tiles.

/// One tile size F(m×m, 3×3), α = m + 2: `M` outputs and `A` = α inputs per side.
pub trait Tile<const M: usize, const A: usize> {
    /// `G` applied to one column `[a, b, c]` of a 3×3 kernel.
    fn g(k: [f32; 3]) -> [f32; A];
    /// `Bᵀ d` for one column of α input values.
    fn bt(d: [f32; A]) -> [f32; A];
    /// `Aᵀ m` for one column of α products.
    fn at(m: [f32; A]) -> [f32; M];
}

/// F(4×4, 3×3): 6×6 tiles, 36 multiplies per 16 outputs.
pub struct F4x4;

/// F(6×6, 3×3): 8×8 tiles, 64 multiplies per 36 outputs.
pub struct F6x6;

// ANCHOR: f4x4
impl Tile<4, 6> for F4x4 {
    /// G = [[¼, 0, 0], [−⅙, −⅙, −⅙], [−⅙, ⅙, −⅙], [1/24, 1/12, ⅙], [1/24, −1/12, ⅙], [0, 0, 1]].
    fn g([a, b, c]: [f32; 3]) -> [f32; 6] {
        [
            a / 4.0,
            -(a + b + c) / 6.0,
            -(a - b + c) / 6.0,
            a / 24.0 + b / 12.0 + c / 6.0,
            a / 24.0 - b / 12.0 + c / 6.0,
            c,
        ]
    }

    /// Bᵀ = [[4,0,−5,0,1,0], [0,−4,−4,1,1,0], [0,4,−4,−1,1,0], [0,−2,−1,2,1,0],
    /// [0,2,−1,−2,1,0], [0,4,0,−5,0,1]].
    #[inline(always)]
    fn bt(d: [f32; 6]) -> [f32; 6] {
        [
            4.0 * d[0] - 5.0 * d[2] + d[4],
            -4.0 * (d[1] + d[2]) + d[3] + d[4],
            4.0 * (d[1] - d[2]) - d[3] + d[4],
            2.0 * (d[3] - d[1]) - d[2] + d[4],
            2.0 * (d[1] - d[3]) - d[2] + d[4],
            4.0 * d[1] - 5.0 * d[3] + d[5],
        ]
    }

    /// Aᵀ = [[1,1,1,1,1,0], [0,1,−1,2,−2,0], [0,1,1,4,4,0], [0,1,−1,8,−8,1]].
    #[inline(always)]
    fn at(m: [f32; 6]) -> [f32; 4] {
        let (sum, diff) = (m[1] + m[2], m[1] - m[2]);
        let (sum2, diff2) = (m[3] + m[4], m[3] - m[4]);
        [
            m[0] + sum + sum2,
            diff + 2.0 * diff2,
            sum + 4.0 * sum2,
            diff + 8.0 * diff2 + m[5],
        ]
    }
}
// ANCHOR_END: f4x4

// ANCHOR: f6x6
impl Tile<6, 8> for F6x6 {
    /// G = [[1, 0, 0], [−2/9, −2/9, −2/9], [−2/9, 2/9, −2/9], [1/90, 1/45, 2/45],
    /// [1/90, −1/45, 2/45], [32/45, 16/45, 8/45], [32/45, −16/45, 8/45], [0, 0, 1]].
    fn g([a, b, c]: [f32; 3]) -> [f32; 8] {
        [
            a,
            -2.0 * (a + b + c) / 9.0,
            -2.0 * (a - b + c) / 9.0,
            (a + 2.0 * b + 4.0 * c) / 90.0,
            (a - 2.0 * b + 4.0 * c) / 90.0,
            (32.0 * a + 16.0 * b + 8.0 * c) / 45.0,
            (32.0 * a - 16.0 * b + 8.0 * c) / 45.0,
            c,
        ]
    }

    /// Bᵀ = [[1,0,−21/4,0,21/4,0,−1,0], [0,1,1,−17/4,−17/4,1,1,0], [0,−1,1,17/4,−17/4,−1,1,0],
    /// [0,½,¼,−5/2,−5/4,2,1,0], [0,−½,¼,5/2,−5/4,−2,1,0], [0,2,4,−5/2,−5,½,1,0],
    /// [0,−2,4,5/2,−5,−½,1,0], [0,−1,0,21/4,0,−21/4,0,1]]: rows come in ± pairs that share
    /// an even and an odd part.
    #[inline(always)]
    fn bt(d: [f32; 8]) -> [f32; 8] {
        let even1 = d[2] + d[6] - 4.25 * d[4];
        let odd1 = d[1] + d[5] - 4.25 * d[3];
        let even2 = 0.25 * d[2] - 1.25 * d[4] + d[6];
        let odd2 = 0.5 * d[1] - 2.5 * d[3] + 2.0 * d[5];
        let even3 = 4.0 * d[2] - 5.0 * d[4] + d[6];
        let odd3 = 2.0 * d[1] - 2.5 * d[3] + 0.5 * d[5];
        [
            d[0] - d[6] + 5.25 * (d[4] - d[2]),
            even1 + odd1,
            even1 - odd1,
            even2 + odd2,
            even2 - odd2,
            even3 + odd3,
            even3 - odd3,
            d[7] - d[1] + 5.25 * (d[3] - d[5]),
        ]
    }

    /// Aᵀ = [[1,1,1,1,1,1,1,0], [0,1,−1,2,−2,½,−½,0], [0,1,1,4,4,¼,¼,0], [0,1,−1,8,−8,⅛,−⅛,0],
    /// [0,1,1,16,16,1/16,1/16,0], [0,1,−1,32,−32,1/32,−1/32,1]].
    #[inline(always)]
    fn at(m: [f32; 8]) -> [f32; 6] {
        let (sum1, diff1) = (m[1] + m[2], m[1] - m[2]);
        let (sum2, diff2) = (m[3] + m[4], m[3] - m[4]);
        let (sum3, diff3) = (m[5] + m[6], m[5] - m[6]);
        [
            m[0] + sum1 + sum2 + sum3,
            diff1 + 2.0 * diff2 + 0.5 * diff3,
            sum1 + 4.0 * sum2 + 0.25 * sum3,
            diff1 + 8.0 * diff2 + 0.125 * diff3,
            sum1 + 16.0 * sum2 + 0.0625 * sum3,
            diff1 + 32.0 * diff2 + 0.03125 * diff3 + m[7],
        ]
    }
}
// ANCHOR_END: f6x6

#[cfg(test)]
mod tests {
    use super::*;

    /// `Aᵀ[(G g) ⊙ (Bᵀ d)]` is the 1-D correlation of `d` with the 3-tap kernel `g`.
    fn check<T: Tile<M, A>, const M: usize, const A: usize>() {
        let d: [f32; A] = std::array::from_fn(|i| ((i * 7 + 3) % 11) as f32 / 4.0 - 1.0);
        let k = [0.5f32, -1.25, 2.0];
        let (u, v) = (T::g(k), T::bt(d));
        let y = T::at(std::array::from_fn(|i| u[i] * v[i]));
        for (i, yi) in y.into_iter().enumerate() {
            let direct: f32 = (0..3).map(|t| d[i + t] * k[t]).sum();
            assert!(
                (yi - direct).abs() < 1e-4,
                "output {i}: {yi} against {direct}"
            );
        }
    }

    #[test]
    fn each_tile_size_computes_a_correlation() {
        check::<F4x4, 4, 6>();
        check::<F6x6, 6, 8>();
    }
}
