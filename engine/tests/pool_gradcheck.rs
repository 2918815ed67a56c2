//! Pooling backward rules against finite differences, and the pooling argument checks.

use engine::gradcheck::{check_gradients, GradCheck};
use engine::{Rng, Tensor};

/// Distinct values at least 0.05 apart, so a finite-difference step (0.01) never changes
/// which input wins a max-pooling window.
fn well_separated(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Rng::new(seed);
    for i in (1..n).rev() {
        order.swap(i, rng.next_u64() as usize % (i + 1));
    }
    let data = order.iter().map(|&k| k as f32 * 0.05 - 1.0).collect();
    Tensor::from_vec(data, shape).unwrap()
}

fn gradcheck(kind: &str, shape: &[usize], kernel: usize, stride: usize, padding: usize) {
    let x = well_separated(shape, kernel as u64 * 10 + stride as u64);
    let report = check_gradients(
        |t| match kind {
            "max" => t[0].max_pool2d(kernel, stride, padding),
            _ => t[0].avg_pool2d(kernel, stride, padding),
        },
        &[x],
        GradCheck::default(),
    )
    .unwrap();
    assert!(
        report.passed(),
        "{kind} k{kernel} s{stride} p{padding}: {report}"
    );
}

#[test]
fn max_pool_gradients() {
    gradcheck("max", &[2, 2, 6, 6], 2, 2, 0);
    gradcheck("max", &[1, 2, 7, 5], 3, 2, 1);
    gradcheck("max", &[1, 1, 5, 5], 3, 1, 1); // overlapping windows
}

#[test]
fn avg_pool_gradients() {
    gradcheck("avg", &[2, 2, 6, 6], 2, 2, 0);
    gradcheck("avg", &[1, 2, 7, 5], 3, 2, 1);
    gradcheck("avg", &[1, 1, 5, 5], 3, 1, 1);
}

#[test]
fn max_pool_pads_with_negative_infinity() {
    // All inputs negative: zero padding would win the corner windows, −∞ padding never does.
    let x = Tensor::full(&[1, 1, 2, 2], -3.0);
    let y = x.max_pool2d(2, 1, 1).unwrap();
    assert!(y.to_vec().unwrap().iter().all(|&v| v == -3.0), "{y}");
    // Average pooling counts the padded zeros: the corner window holds one -3 and three zeros.
    let a = x.avg_pool2d(2, 1, 1).unwrap();
    assert_eq!(a.get(&[0, 0, 0, 0]).unwrap(), -0.75);
}

#[test]
fn bad_pooling_arguments_are_rejected_with_clear_errors() {
    let x = Tensor::zeros(&[1, 1, 4, 4]);
    let msg = |r: engine::Result<Tensor>| r.unwrap_err().to_string();
    assert!(msg(x.max_pool2d(0, 1, 0)).contains("at least 1"));
    assert!(msg(x.avg_pool2d(2, 0, 0)).contains("at least 1"));
    assert!(msg(x.max_pool2d(2, 2, 2)).contains("padding"));
    assert!(msg(x.max_pool2d(5, 1, 0)).contains("larger than the padded input"));
    assert!(msg(Tensor::zeros(&[4, 4]).avg_pool2d(2, 2, 0))
        .contains("[batch, channels, height, width]"));
}
