//! conv2d rejects bad arguments with messages that say what is wrong.

use engine::autograd::Conv2dParams;
use engine::Tensor;

fn error(x: &[usize], w: &[usize], bias: Option<&[usize]>, p: Conv2dParams) -> String {
    let b = bias.map(Tensor::zeros);
    Tensor::zeros(x)
        .conv2d(&Tensor::zeros(w), b.as_ref(), p)
        .expect_err("conv2d should have failed")
        .to_string()
}

#[test]
fn messages_name_the_problem() {
    let p = Conv2dParams::default();
    let e = error(&[1, 3, 2, 2], &[4, 3, 3, 3], None, p);
    assert!(
        e.starts_with("conv2d:") && e.contains("spans more than the padded input"),
        "{e}"
    );
    let e = error(&[1, 3, 8, 8], &[4, 2, 3, 3], None, p);
    assert!(
        e.contains("input has 3 channels but the weight expects 2"),
        "{e}"
    );
    let e = error(&[3, 8, 8], &[4, 3, 3, 3], None, p);
    assert!(
        e.contains("input must be [batch, channels, height, width]"),
        "{e}"
    );
    let e = error(&[1, 3, 8, 8], &[4, 3, 3], None, p);
    assert!(
        e.contains("weight must be [out_channels, in_channels, kernel_h, kernel_w]"),
        "{e}"
    );
    let e = error(&[1, 3, 8, 8], &[4, 3, 3, 3], None, p.stride(0));
    assert!(e.contains("stride must be at least 1"), "{e}");
    let e = error(&[1, 3, 8, 8], &[4, 3, 3, 3], None, p.dilation(0));
    assert!(e.contains("dilation must be at least 1"), "{e}");
    let e = error(&[1, 3, 8, 8], &[4, 3, 3, 3], Some(&[3]), p);
    assert!(e.contains("bias must have shape [4]"), "{e}");
}

#[test]
fn padding_can_make_a_kernel_fit() {
    let y = Tensor::zeros(&[1, 3, 2, 2])
        .conv2d(
            &Tensor::zeros(&[4, 3, 3, 3]),
            None,
            Conv2dParams::default().padding(1),
        )
        .unwrap();
    assert_eq!(y.shape(), [1, 4, 2, 2]);
}
