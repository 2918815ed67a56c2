//! The two convolution algorithms agree: Winograd F(2×2, 3×3), forced on for every 3×3
//! stride-1 convolution, and im2col + GEMM (itself checked against a direct convolution in
//! conv_reference.rs). One test in its own binary, because the switch is process-wide.

use engine::autograd::Conv2dParams;
use engine::cpu::conv::{set_algorithm, ConvAlgorithm};
use engine::{Rng, Tensor};

fn run(x: &Tensor, w: &Tensor, b: &Tensor, p: Conv2dParams, algo: ConvAlgorithm) -> [Vec<f32>; 2] {
    set_algorithm(algo);
    let x = x.requires_grad();
    let y = x.conv2d(w, Some(b), p).unwrap();
    let dx = y.backward_with(&seed(&y)).unwrap().get_or_zeros(&x);
    set_algorithm(ConvAlgorithm::Auto);
    [y.to_vec().unwrap(), dx.unwrap().to_vec().unwrap()]
}

/// A fixed, non-constant output gradient.
fn seed(like: &Tensor) -> Tensor {
    let data = (0..like.numel())
        .map(|i| ((i * 7919) % 17) as f32 / 8.0 - 1.0)
        .collect();
    Tensor::from_vec(data, like.shape()).unwrap()
}

#[test]
fn winograd_and_im2col_agree() {
    let mut rng = Rng::new(21);
    let cases: [([usize; 4], (usize, usize)); 7] = [
        ([2, 16, 12, 13], (1, 1)),
        ([1, 8, 9, 8], (0, 0)),
        ([1, 5, 6, 7], (2, 2)),
        ([1, 4, 7, 6], (1, 2)),
        ([1, 3, 1, 1], (1, 1)),
        ([1, 3, 3, 4], (0, 1)),
        // wide and tall enough to be processed in several bands of tile rows
        ([1, 2, 66, 4000], (1, 1)),
    ];
    for (shape, padding) in cases {
        let x = Tensor::randn(&shape, &mut rng);
        let w = Tensor::randn(&[6, shape[1], 3, 3], &mut rng);
        let b = Tensor::randn(&[6], &mut rng);
        let p = Conv2dParams {
            padding,
            ..Conv2dParams::default()
        };
        let fast = run(&x, &w, &b, p, ConvAlgorithm::Winograd);
        let plain = run(&x, &w, &b, p, ConvAlgorithm::Im2col);
        for (what, a, b) in [
            ("output", &fast[0], &plain[0]),
            ("input gradient", &fast[1], &plain[1]),
        ] {
            assert_eq!(a.len(), b.len());
            for (i, (u, v)) in a.iter().zip(b.iter()).enumerate() {
                assert!(
                    (u - v).abs() <= 1e-4 * (1.0 + v.abs()),
                    "{shape:?} padding {padding:?} {what}[{i}]: Winograd {u}, im2col {v}"
                );
            }
        }
    }
}
