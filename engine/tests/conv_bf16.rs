//! The 3×3 convolutions with bf16 dot products (`--bf16 all`) against the f32 im2col path,
//! forward and input gradient: close, and not as close as f32 (so the bf16 kernel really ran).
//! One test in its own binary, because the choice is process-wide.
//!
//! "Close" is looser than bf16's own rounding (2⁻⁹ ≈ 0.2 %): F(4×4, 3×3) multiplies in the
//! Winograd domain, whose values are sums and differences of the pixels with factors up to
//! 8, and the output transform cancels most of them again, so a rounding error there comes
//! out about 20 times larger. On random data the largest error is 4–10 % of the largest
//! output (f32 Winograd: about 10⁻⁶).

mod conv_common;

use conv_common::output_and_input_gradient;
use engine::autograd::Conv2dParams;
use engine::cpu::conv::ConvAlgorithm;
use engine::cpu::packed_gemm_bf16::{available, choose_bf16_use, Bf16Use};
use engine::{Rng, Tensor};

/// The largest difference relative to the largest value of the f32 result.
fn relative_error(bf16: &[f32], f32: &[f32]) -> f32 {
    let scale = f32.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let worst = bf16
        .iter()
        .zip(f32)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    worst / scale
}

#[test]
fn bf16_winograd_stays_close_to_f32() {
    if !available() {
        println!("skipped: this CPU has no AVX-512 BF16");
        return;
    }
    assert_eq!(choose_bf16_use(Bf16Use::All), Bf16Use::All);
    let mut rng = Rng::new(5);
    // Channel counts odd and even (an odd depth pads its last pair with a zero), images wide
    // enough for several panels of tiles.
    for (channels, out_channels, side) in [(16, 24, 20), (17, 16, 33), (64, 32, 40)] {
        let x = Tensor::randn(&[1, channels, side, side + 3], &mut rng);
        let w = Tensor::randn(&[out_channels, channels, 3, 3], &mut rng);
        let p = Conv2dParams::default().padding(1);
        let bf16 = output_and_input_gradient(&x, &w, None, p, ConvAlgorithm::Winograd);
        let f32 = output_and_input_gradient(&x, &w, None, p, ConvAlgorithm::Im2col);
        for (what, a, b) in [
            ("output", &bf16[0], &f32[0]),
            ("input gradient", &bf16[1], &f32[1]),
        ] {
            let error = relative_error(a, b);
            println!("{channels} → {out_channels} channels, {what}: {error:.2e}");
            assert!(
                error < 0.15,
                "{channels} channels, {what}: {error} of the largest value"
            );
            assert!(
                error > 1e-3,
                "{channels} channels, {what}: as close as f32 ({error}): did bf16 run?"
            );
        }
    }
}
