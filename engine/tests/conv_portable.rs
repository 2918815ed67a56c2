//! The code for CPUs without AVX-512: with `PICASSO_NO_AVX512` set, the Winograd path runs the
//! portable GEMM kernel and the baseline-compiled transforms, and must agree with im2col (and
//! with the AVX-512 path, checked by `conv_algorithms.rs` on machines that have it). Its own
//! test binary, because the choice is made once per process.

use engine::autograd::Conv2dParams;
use engine::cpu::conv::{set_algorithm, ConvAlgorithm};
use engine::cpu::packed_gemm::Kernel;
use engine::cpu::simd::DISABLE_ENV;
use engine::{Rng, Tensor};

fn output_and_input_gradient(x: &Tensor, w: &Tensor, algo: ConvAlgorithm) -> [Vec<f32>; 2] {
    set_algorithm(algo);
    let x = x.requires_grad();
    let y = x
        .conv2d(w, None, Conv2dParams::default().padding(1))
        .unwrap();
    let seed = Tensor::ones(y.shape());
    let dx = y.backward_with(&seed).unwrap().get_or_zeros(&x);
    set_algorithm(ConvAlgorithm::Auto);
    [y.to_vec().unwrap(), dx.unwrap().to_vec().unwrap()]
}

#[test]
fn the_portable_winograd_path_agrees_with_im2col() {
    // Set before the first convolution: the choice is read once.
    std::env::set_var(DISABLE_ENV, "1");
    assert_eq!(Kernel::best(), Kernel::Portable);
    let mut rng = Rng::new(7);
    // Widths that are and are not multiples of the 4×4 tile and of the 32-tile panels.
    for shape in [[1, 16, 20, 37], [2, 24, 9, 64]] {
        let x = Tensor::randn(&shape, &mut rng);
        let w = Tensor::randn(&[16, shape[1], 3, 3], &mut rng)
            .mul_scalar(0.1)
            .unwrap();
        let fast = output_and_input_gradient(&x, &w, ConvAlgorithm::Winograd);
        let plain = output_and_input_gradient(&x, &w, ConvAlgorithm::Im2col);
        for (what, a, b) in [
            ("output", &fast[0], &plain[0]),
            ("input gradient", &fast[1], &plain[1]),
        ] {
            let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (i, (u, v)) in a.iter().zip(b).enumerate() {
                assert!(
                    (u - v).abs() <= 1e-5 * (1.0 + scale) * 10.0,
                    "{shape:?} {what}[{i}]: portable Winograd {u}, im2col {v}"
                );
            }
        }
    }
}
