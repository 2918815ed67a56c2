//! conv2d's backward rule against finite differences (engine::gradcheck), small shapes.

use engine::autograd::Conv2dParams;
use engine::gradcheck::{check_gradients, GradCheck};
use engine::{Rng, Tensor};

fn gradcheck(x: &[usize], w: &[usize], params: Conv2dParams, seed: u64) {
    let mut rng = Rng::new(seed);
    let inputs = [
        Tensor::randn(x, &mut rng),
        Tensor::randn(w, &mut rng),
        Tensor::randn(&[w[0]], &mut rng),
    ];
    let report = check_gradients(
        |t| t[0].conv2d(&t[1], Some(&t[2]), params),
        &inputs,
        GradCheck::default(),
    )
    .unwrap();
    assert!(report.passed(), "x {x:?} w {w:?} {params:?}: {report}");
}

#[test]
fn plain_3x3_same_padding() {
    gradcheck(
        &[2, 2, 5, 5],
        &[3, 2, 3, 3],
        Conv2dParams::default().padding(1),
        1,
    );
}

#[test]
fn stride_and_rectangular_kernel() {
    let p = Conv2dParams {
        stride: (2, 1),
        padding: (1, 0),
        dilation: (1, 1),
    };
    gradcheck(&[1, 3, 7, 6], &[2, 3, 3, 2], p, 2);
}

#[test]
fn dilation() {
    gradcheck(
        &[1, 2, 7, 7],
        &[2, 2, 3, 3],
        Conv2dParams::square(1, 2, 2),
        3,
    );
}

#[test]
fn pointwise() {
    gradcheck(&[2, 3, 4, 3], &[2, 3, 1, 1], Conv2dParams::default(), 4);
}

#[test]
fn through_a_small_network() {
    // conv → tanh → average pool → conv: gradients flow through the composition. (A smooth
    // activation: ReLU's kink sits within the finite-difference step of some pre-activations.)
    let mut rng = Rng::new(5);
    let inputs = [
        Tensor::randn(&[1, 2, 6, 6], &mut rng),
        Tensor::randn(&[3, 2, 3, 3], &mut rng),
        Tensor::randn(&[2, 3, 2, 2], &mut rng),
    ];
    let same = Conv2dParams::default().padding(1);
    let report = check_gradients(
        |t| {
            t[0].conv2d(&t[1], None, same)?
                .tanh()?
                .avg_pool2d(2, 2, 0)?
                .conv2d(&t[2], None, Conv2dParams::default())
        },
        &inputs,
        GradCheck::default(),
    )
    .unwrap();
    assert!(report.passed(), "{report}");
}

#[test]
fn fused_conv_relu_equals_conv_then_relu() {
    // The fused op must give the same numbers and the same gradients for x, w and b as the two
    // ops it replaces, on an im2col-sized and a Winograd-sized layer.
    let mut rng = Rng::new(6);
    for (x_shape, w_shape) in [
        ([2, 3, 7, 5], [4, 3, 3, 3]),
        ([1, 16, 12, 12], [16, 16, 3, 3]),
    ] {
        let x = Tensor::randn(&x_shape, &mut rng).requires_grad();
        let w = Tensor::randn(&w_shape, &mut rng).requires_grad();
        let b = Tensor::randn(&[w_shape[0]], &mut rng).requires_grad();
        let same = Conv2dParams::default().padding(1);
        let fused = x.conv2d_relu(&w, Some(&b), same).unwrap();
        let plain = x.conv2d(&w, Some(&b), same).unwrap().relu().unwrap();
        assert_eq!(
            fused.to_vec().unwrap(),
            plain.to_vec().unwrap(),
            "{x_shape:?} values"
        );
        assert!(
            fused.to_vec().unwrap().contains(&0.0)
                && fused.to_vec().unwrap().iter().any(|&v| v > 0.0)
        );
        let seed = Tensor::randn(fused.shape(), &mut rng);
        let (gf, gp) = (
            fused.backward_with(&seed).unwrap(),
            plain.backward_with(&seed).unwrap(),
        );
        for (name, t) in [("x", &x), ("w", &w), ("b", &b)] {
            assert_eq!(
                gf.get_or_zeros(t).unwrap().to_vec().unwrap(),
                gp.get_or_zeros(t).unwrap().to_vec().unwrap(),
                "{x_shape:?} gradient of {name}"
            );
        }
    }
}

#[test]
fn fused_conv_relu_with_fixed_weights_equals_conv_then_relu() {
    // When only the input wants a gradient (style transfer: the network is fixed), the fused
    // op's backward masks dy inside the input gradient (as the Winograd input transform reads
    // it, or in a pass of its own before im2col). The gradient must be the one of the two
    // separate ops, on batches of two so that each image's mask is checked: a Winograd layer,
    // an im2col layer, and a strided one (no transposed convolution).
    let mut rng = Rng::new(7);
    let same = Conv2dParams::default().padding(1);
    for (x_shape, w_shape, params) in [
        ([2, 16, 12, 12], [16, 16, 3, 3], same),
        ([2, 3, 7, 5], [4, 3, 3, 3], same),
        ([2, 16, 9, 9], [8, 16, 3, 3], same.stride(2)),
    ] {
        let x = Tensor::randn(&x_shape, &mut rng).requires_grad();
        let w = Tensor::randn(&w_shape, &mut rng);
        let b = Tensor::randn(&[w_shape[0]], &mut rng);
        let fused = x.conv2d_relu(&w, Some(&b), params).unwrap();
        let plain = x.conv2d(&w, Some(&b), params).unwrap().relu().unwrap();
        let values = fused.to_vec().unwrap();
        assert!(values.contains(&0.0) && values.iter().any(|&v| v > 0.0));
        let seed = Tensor::randn(fused.shape(), &mut rng);
        let (gf, gp) = (
            fused.backward_with(&seed).unwrap(),
            plain.backward_with(&seed).unwrap(),
        );
        assert_eq!(
            gf.get_or_zeros(&x).unwrap().to_vec().unwrap(),
            gp.get_or_zeros(&x).unwrap().to_vec().unwrap(),
            "{x_shape:?} {w_shape:?} gradient of x"
        );
    }
}
