//! What a user of the tensor API relies on: values, views, errors and autodiff bookkeeping.

use engine::nn::loss;
use engine::nn::optim::{Adam, Optimizer, Sgd};
use engine::{no_grad, Error, Rng, Tensor};

fn t(data: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_slice(data, shape).unwrap()
}

#[test]
fn matmul_matches_hand_computation() {
    let a = t(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
    let b = t(&[7., 8., 9., 10., 11., 12.], &[3, 2]);
    assert_eq!(
        a.matmul(&b).unwrap().to_vec().unwrap(),
        vec![58., 64., 139., 154.]
    );
    // A transposed view multiplies without a copy and gives the same as a dense transpose.
    let bt = t(&[7., 9., 11., 8., 10., 12.], &[2, 3]);
    assert_eq!(
        a.matmul(&bt.t().unwrap()).unwrap().to_vec().unwrap(),
        vec![58., 64., 139., 154.]
    );
}

#[test]
fn views_share_data_and_copy_only_when_asked() {
    let x = t(&[0., 1., 2., 3., 4., 5.], &[2, 3]);
    let xt = x.t().unwrap();
    assert!(!xt.is_contiguous());
    assert!(std::sync::Arc::ptr_eq(x.storage(), xt.storage()));
    assert_eq!(xt.to_vec().unwrap(), vec![0., 3., 1., 4., 2., 5.]);
    let dense = xt.contiguous().unwrap();
    assert!(dense.is_contiguous());
    assert_eq!(dense.to_vec().unwrap(), xt.to_vec().unwrap());
    assert_eq!(
        x.narrow(1, 1, 2).unwrap().to_vec().unwrap(),
        vec![1., 2., 4., 5.]
    );
    assert_eq!(x.get(&[1, 2]).unwrap(), 5.0);
}

#[test]
fn broadcasting_follows_numpy_rules() {
    let x = t(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
    let row = t(&[10., 20., 30.], &[3]);
    let col = t(&[100., 200.], &[2, 1]);
    assert_eq!(
        x.add(&row).unwrap().add(&col).unwrap().to_vec().unwrap(),
        vec![111., 122., 133., 214., 225., 236.]
    );
}

#[test]
fn shape_errors_name_the_op_and_shapes() {
    let a = Tensor::zeros(&[2, 3]);
    let err = a.add(&Tensor::zeros(&[4])).unwrap_err().to_string();
    assert!(
        err.contains("add") && err.contains("[2, 3]") && err.contains("[4]"),
        "{err}"
    );
    let err = a.matmul(&Tensor::zeros(&[2, 3])).unwrap_err().to_string();
    assert!(
        err.contains("matmul") && err.contains("inner dimensions"),
        "{err}"
    );
    let err = a.matmul(&Tensor::zeros(&[3])).unwrap_err().to_string();
    assert!(err.contains("at least two axes"), "{err}");
    assert!(matches!(a.sum(&[5], false), Err(Error::Axis { .. })));
    assert!(a.reshape(&[5]).is_err());
    assert!(Tensor::from_vec(vec![1.0; 5], &[2, 3]).is_err());
    assert!(a.transpose(0, 2).is_err());
    assert!(a.permute(&[0, 0]).is_err());
}

#[test]
fn nan_inputs_to_losses_are_reported() {
    let p = t(&[0.5, f32::NAN], &[2]);
    let y = t(&[1.0, 0.0], &[2]);
    let err = loss::mse(&p, &y).unwrap_err().to_string();
    assert!(err.contains("mse") && err.contains("NaN"), "{err}");
    assert!(loss::binary_log_loss(&p, &y).is_err());
    assert!(loss::cross_entropy(&t(&[1.0, 2.0], &[1, 2]), &[2]).is_err());
}

#[test]
fn gradients_accumulate_over_every_use() {
    // f = x·x + 3x  →  f' = 2x + 3
    let x = t(&[2.0], &[1]).requires_grad();
    let f = x.mul(&x).unwrap().add(&x.mul_scalar(3.0).unwrap()).unwrap();
    let grads = f.sum_all().unwrap().backward().unwrap();
    assert_eq!(grads.get(&x).unwrap().to_vec().unwrap(), vec![7.0]);
}

#[test]
fn backward_needs_a_scalar_and_no_grad_records_nothing() {
    let x = Tensor::ones(&[3]).requires_grad();
    let y = x.mul_scalar(2.0).unwrap();
    assert!(y.backward().is_err());
    let z = no_grad(|| x.mul_scalar(2.0).unwrap());
    assert!(!z.requires_grad_flag());
    // Nothing leaks between runs: a fresh graph gives a fresh map.
    let g1 = y.sum_all().unwrap().backward().unwrap();
    let g2 = y.sum_all().unwrap().backward().unwrap();
    assert_eq!(
        g1.get(&x).unwrap().to_vec().unwrap(),
        g2.get(&x).unwrap().to_vec().unwrap()
    );
}

#[test]
fn softmax_is_stable_for_large_logits() {
    let x = t(&[1000.0, 1001.0, 1002.0], &[1, 3]);
    let s = x.softmax(1).unwrap().to_vec().unwrap();
    assert!(s.iter().all(|v| v.is_finite()));
    assert!((s.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    let l = loss::binary_log_loss_with_logits(&t(&[500.0, -500.0], &[2]), &t(&[0.0, 1.0], &[2]))
        .unwrap()
        .item()
        .unwrap();
    assert!((l - 500.0).abs() < 1e-3, "{l}");
}

/// Minimise (w − 3)² + (b + 1)² from zero.
fn quadratic_descent(opt: &mut dyn Optimizer, steps: usize) -> (f32, f32) {
    let mut w = Tensor::zeros(&[1]).requires_grad();
    let mut b = Tensor::zeros(&[1]).requires_grad();
    for _ in 0..steps {
        let loss = w
            .add_scalar(-3.0)
            .unwrap()
            .square()
            .unwrap()
            .add(&b.add_scalar(1.0).unwrap().square().unwrap())
            .unwrap()
            .sum_all()
            .unwrap();
        let grads = loss.backward().unwrap();
        opt.step(&mut [&mut w, &mut b], &grads).unwrap();
    }
    (w.item().unwrap(), b.item().unwrap())
}

#[test]
fn optimisers_find_the_minimum() {
    let (w, b) = quadratic_descent(&mut Sgd::new(0.1, 0.0).unwrap(), 100);
    assert!(
        (w - 3.0).abs() < 1e-3 && (b + 1.0).abs() < 1e-3,
        "sgd: {w} {b}"
    );
    let (w, b) = quadratic_descent(&mut Sgd::new(0.05, 0.9).unwrap(), 300);
    assert!(
        (w - 3.0).abs() < 1e-3 && (b + 1.0).abs() < 1e-3,
        "momentum: {w} {b}"
    );
    let (w, b) = quadratic_descent(&mut Adam::new(0.1).unwrap(), 500);
    assert!(
        (w - 3.0).abs() < 1e-2 && (b + 1.0).abs() < 1e-2,
        "adam: {w} {b}"
    );
    assert!(Sgd::new(-1.0, 0.0).is_err());
    assert!(Adam::new(f32::NAN).is_err());
}

#[test]
fn a_diverging_step_is_an_error_not_silent_nan() {
    let mut w = t(&[f32::MAX], &[1]).requires_grad();
    let loss = w.square().unwrap().sum_all().unwrap();
    let grads = loss.backward().unwrap();
    let err = Sgd::new(0.1, 0.0)
        .unwrap()
        .step(&mut [&mut w], &grads)
        .unwrap_err()
        .to_string();
    assert!(err.contains("NaN or infinity"), "{err}");
}

#[test]
fn large_tensors_use_the_parallel_paths_correctly() {
    let mut rng = Rng::new(5);
    let x = Tensor::randn(&[300, 200], &mut rng);
    let total: f64 = x.to_vec().unwrap().iter().map(|&v| v as f64).sum();
    assert!((x.sum_all().unwrap().item().unwrap() as f64 - total).abs() < 1e-2);
    let y = x.exp().unwrap().log().unwrap();
    let max_diff = x
        .to_vec()
        .unwrap()
        .iter()
        .zip(y.to_vec().unwrap())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(max_diff < 1e-5);
    let cols = x.sum(&[0], false).unwrap().to_vec().unwrap();
    let col0: f32 = (0..300).map(|i| x.get(&[i, 0]).unwrap()).sum();
    assert!((cols[0] - col0).abs() < 1e-3);
}
