//! Every differentiable op against central differences, on small random inputs, including
//! broadcast shapes and non-contiguous views.

use engine::gradcheck::{check_gradients, GradCheck};
use engine::{Result, Rng, Tensor};

fn randn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(shape, &mut Rng::new(seed))
}

/// Values bounded away from zero (for ops with a kink or a pole at 0).
fn away_from_zero(shape: &[usize], seed: u64) -> Tensor {
    let mut rng = Rng::new(seed);
    let n = shape.iter().product();
    let data = (0..n)
        .map(|_| {
            let m = rng.uniform_in(0.2, 1.5);
            if rng.uniform() < 0.5 {
                -m
            } else {
                m
            }
        })
        .collect();
    Tensor::from_vec(data, shape).unwrap()
}

fn positive(shape: &[usize], seed: u64) -> Tensor {
    Tensor::rand_uniform(shape, 0.5, 2.0, &mut Rng::new(seed))
}

fn check(name: &str, inputs: &[&Tensor], f: impl Fn(&[Tensor]) -> Result<Tensor>) {
    let inputs: Vec<Tensor> = inputs.iter().map(|&t| t.clone()).collect();
    let report = check_gradients(f, &inputs, GradCheck::default()).unwrap();
    assert!(report.checked > 0, "{name}: nothing checked");
    assert!(report.passed(), "{name}: {report}");
}

#[test]
fn unary_ops() {
    let x = randn(&[3, 4], 1);
    check("neg", &[&x], |t| t[0].neg());
    check("exp", &[&x], |t| t[0].exp());
    check("tanh", &[&x], |t| t[0].tanh());
    check("sigmoid", &[&x], |t| t[0].sigmoid());
    check("affine", &[&x], |t| t[0].affine(-2.5, 0.3));
    check("square", &[&x], |t| t[0].square());
    let p = positive(&[3, 4], 2);
    check("log", &[&p], |t| t[0].log());
    check("sqrt", &[&p], |t| t[0].sqrt());
    check("recip", &[&p], |t| t[0].recip());
    check("powf", &[&p], |t| t[0].powf(1.7));
    let k = away_from_zero(&[3, 4], 3);
    check("abs", &[&k], |t| t[0].abs());
    check("relu", &[&k], |t| t[0].relu());
    check("leaky_relu", &[&k], |t| t[0].leaky_relu(0.1));
    check("step", &[&k], |t| t[0].step());
    check("clamp", &[&k], |t| t[0].clamp(-0.7, 0.9));
}

#[test]
fn binary_ops_with_broadcasting() {
    let a = randn(&[2, 3, 4], 4);
    let row = randn(&[4], 5);
    let col = away_from_zero(&[2, 1, 1], 6);
    check("add", &[&a, &row], |t| t[0].add(&t[1]));
    check("sub", &[&col, &a], |t| t[0].sub(&t[1]));
    check("mul", &[&a, &col], |t| t[0].mul(&t[1]));
    check("div", &[&a, &col], |t| t[0].div(&t[1]));
    // Distinct values so that no pair ties within the finite-difference step.
    let b = randn(&[2, 3, 4], 7).add_scalar(0.05).unwrap();
    check("maximum", &[&a, &b], |t| t[0].maximum(&t[1]));
    check("minimum", &[&a, &b], |t| t[0].minimum(&t[1]));
    check("broadcast_to", &[&row], |t| t[0].broadcast_to(&[3, 2, 4]));
}

#[test]
fn reductions() {
    let x = randn(&[2, 3, 4], 8);
    check("sum axis", &[&x], |t| t[0].sum(&[1], false));
    check("sum keepdim", &[&x], |t| t[0].sum(&[0, 2], true));
    check("sum_all", &[&x], |t| t[0].sum_all());
    check("mean", &[&x], |t| t[0].mean(&[2], false));
    check("mean_all", &[&x], |t| t[0].mean_all());
    check("max", &[&x], |t| t[0].max(&[1], false));
    check("max all", &[&x], |t| t[0].max(&[], true));
}

#[test]
fn shape_ops_and_views() {
    let x = randn(&[2, 3, 4], 9);
    check("reshape", &[&x], |t| t[0].reshape(&[6, 4]));
    check("transpose", &[&x], |t| t[0].transpose(0, 2)?.exp());
    check("permute", &[&x], |t| t[0].permute(&[1, 2, 0])?.tanh());
    check("narrow", &[&x], |t| t[0].narrow(2, 1, 2));
    check("contiguous", &[&x], |t| t[0].t()?.contiguous());
    check("reshape of a view", &[&x], |t| {
        t[0].transpose(1, 2)?.reshape(&[8, 3])
    });
    let y = randn(&[2, 2, 4], 10);
    check("concat", &[&x, &y], |t| {
        Tensor::concat(&[t[0].clone(), t[1].clone()], 1)
    });
    check("unsqueeze", &[&x], |t| t[0].unsqueeze(1));
    check("flatten", &[&x], |t| t[0].flatten_from(1));
}

#[test]
fn matmul_plain_batched_and_transposed() {
    let a = randn(&[3, 4], 11);
    let b = randn(&[4, 5], 12);
    check("matmul", &[&a, &b], |t| t[0].matmul(&t[1]));
    let ab = randn(&[2, 3, 4], 13);
    let bb = randn(&[2, 4, 2], 14);
    check("batched", &[&ab, &bb], |t| t[0].matmul(&t[1]));
    check("broadcast batch", &[&ab, &b], |t| t[0].matmul(&t[1]));
    let bt = randn(&[5, 4], 15);
    check("transposed operand", &[&a, &bt], |t| {
        t[0].matmul(&t[1].t()?)
    });
    let at = randn(&[4, 3], 17);
    check("transposed left operand", &[&at, &b], |t| {
        t[0].t()?.matmul(&t[1])
    });
    check("F·Fᵀ through matmul", &[&a], |t| t[0].matmul(&t[0].t()?));
    check("F·Fᵀ as one op", &[&a], |t| t[0].matmul_own_transpose());
}

#[test]
fn own_transpose_product_matches_the_general_matmul() {
    let f = randn(&[5, 7], 18).requires_grad();
    let seed = randn(&[5, 5], 19);
    let fused = f.matmul_own_transpose().unwrap();
    let general = f.matmul(&f.t().unwrap()).unwrap();
    let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
    assert!(close(&fused.to_vec().unwrap(), &general.to_vec().unwrap()));
    let g_fused = fused.backward_with(&seed).unwrap().get_or_zeros(&f);
    let g_general = general.backward_with(&seed).unwrap().get_or_zeros(&f);
    assert!(close(
        &g_fused.unwrap().to_vec().unwrap(),
        &g_general.unwrap().to_vec().unwrap()
    ));
    assert!(randn(&[2, 3, 4], 20).matmul_own_transpose().is_err());
}

#[test]
fn own_transpose_product_matches_the_general_matmul_at_style_layer_sizes() {
    // Channels off the kernel's 32-row panels, pixels over several slices and threads, and a
    // transposed (strided) view, which is made dense first.
    let relative_gap = |a: &Tensor, b: &Tensor| {
        let (a, b) = (a.to_vec().unwrap(), b.to_vec().unwrap());
        let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        a.iter()
            .zip(&b)
            .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()))
            / scale
    };
    // The seed is not symmetric, as the loss's gradient need not be: a backward that forgot
    // the transpose in (Ḡ + Ḡᵀ)·F would differ.
    for (seed, f) in [
        (23, randn(&[70, 1100], 21)),
        (24, randn(&[1100, 40], 22).t().unwrap()),
    ] {
        let f = f.requires_grad();
        let fused = f.matmul_own_transpose().unwrap();
        let general = f.matmul(&f.t().unwrap()).unwrap();
        assert_eq!(fused.shape(), general.shape());
        let gap = relative_gap(&fused, &general);
        assert!(
            gap < 1e-5,
            "{:?}: off by {gap} of the largest entry",
            f.shape()
        );
        let g_bar = randn(fused.shape(), seed);
        let grad = |out: &Tensor| {
            let grads = out.backward_with(&g_bar).unwrap();
            grads.get_or_zeros(&f).unwrap()
        };
        let gap = relative_gap(&grad(&fused), &grad(&general));
        assert!(
            gap < 1e-5,
            "{:?}: gradient off by {gap} of the largest entry",
            f.shape()
        );
    }
}

#[test]
fn softmax_family() {
    let x = randn(&[3, 5], 16);
    check("softmax", &[&x], |t| t[0].softmax(1));
    check("softmax axis 0", &[&x], |t| t[0].softmax(0));
    check("log_softmax", &[&x], |t| t[0].log_softmax(1));
}

#[test]
fn losses() {
    use engine::nn::loss;
    let pred = randn(&[4, 3], 17);
    let target = randn(&[4, 3], 18);
    check("mse", &[&pred, &target], |t| loss::mse(&t[0], &t[1]));
    let p = Tensor::rand_uniform(&[6], 0.1, 0.9, &mut Rng::new(19));
    let y = Tensor::from_vec(vec![0.0, 1.0, 1.0, 0.0, 1.0, 0.0], &[6]).unwrap();
    check("log loss", &[&p], |t| loss::binary_log_loss(&t[0], &y));
    let z = randn(&[6], 20).mul_scalar(3.0).unwrap();
    check("log loss with logits", &[&z, &y], |t| {
        loss::binary_log_loss_with_logits(&t[0], &t[1])
    });
    let logits = randn(&[4, 3], 21);
    check("cross entropy", &[&logits], |t| {
        loss::cross_entropy(&t[0], &[0, 2, 1, 2])
    });
}

#[test]
fn composite_network() {
    // A two-layer network: gradients flow through matmul, broadcast bias, tanh and a loss.
    let x = randn(&[5, 3], 22);
    let w1 = randn(&[3, 4], 23);
    let b1 = randn(&[4], 24);
    let w2 = randn(&[4, 2], 25);
    check("mlp", &[&x, &w1, &b1, &w2], |t| {
        let h = t[0].matmul(&t[1])?.add(&t[2])?.tanh()?;
        h.matmul(&t[3])?.softmax(1)
    });
}

#[test]
fn the_checker_catches_a_wrong_gradient() {
    // x · detach(x) has true derivative 2x, but autodiff only sees one path and reports x.
    let x = away_from_zero(&[4], 26);
    let report = check_gradients(|t| t[0].mul(&t[0].detach()), &[x], GradCheck::default()).unwrap();
    assert!(
        !report.passed(),
        "a wrong gradient went unnoticed: {report}"
    );
}
