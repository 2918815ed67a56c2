//! The two convolution algorithms agree: Winograd F(4×4, 3×3), forced on for every 3×3
//! stride-1 convolution, and im2col + GEMM (itself checked against a direct convolution in
//! conv_reference.rs). One test in its own binary, because the switch is process-wide.

mod conv_common;

use conv_common::output_and_input_gradient;
use engine::autograd::Conv2dParams;
use engine::cpu::conv::ConvAlgorithm;
use engine::{Rng, Tensor};

#[test]
fn winograd_and_im2col_agree() {
    let mut rng = Rng::new(21);
    let cases: [([usize; 4], (usize, usize)); 9] = [
        ([2, 16, 12, 13], (1, 1)),
        ([1, 8, 9, 8], (0, 0)),
        ([1, 5, 6, 7], (2, 2)),
        ([1, 4, 7, 6], (1, 2)),
        ([1, 3, 1, 1], (1, 1)),
        ([1, 3, 3, 4], (0, 1)),
        // wide and tall enough to be processed in several bands of tile rows
        ([1, 2, 66, 4000], (1, 1)),
        // a long row ending in a partial tile, with more padding at the sides
        ([1, 3, 9, 2203], (1, 2)),
        // many channels: one deep GEMM, several depth slices of the panel kernel
        ([1, 600, 5, 6], (1, 1)),
    ];
    for (shape, padding) in cases {
        let x = Tensor::randn(&shape, &mut rng);
        let w = Tensor::randn(&[6, shape[1], 3, 3], &mut rng);
        let b = Tensor::randn(&[6], &mut rng);
        let p = Conv2dParams {
            padding,
            ..Conv2dParams::default()
        };
        let fast = output_and_input_gradient(&x, &w, Some(&b), p, ConvAlgorithm::Winograd);
        let plain = output_and_input_gradient(&x, &w, Some(&b), p, ConvAlgorithm::Im2col);
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
