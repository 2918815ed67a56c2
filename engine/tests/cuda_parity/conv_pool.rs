//! Convolution (forward, input, weight and bias gradients, fused ReLU) and pooling (max with
//! ties and NaN, average with padding): CPU against CUDA. Convolutions run twice, with the
//! default column buffer and with one so small that every image is cut into many tiles, and
//! with the 64-bit index kernels (convolution and pooling) as well as the 32-bit ones.

use super::common::{assert_close, check_op, cuda, random};
use super::settings::{turn, wide_indices, Defaults};
use engine::autograd::Conv2dParams;
use engine::Tensor;

/// Summation order differs (cuBLAS against matrixmultiply and Winograd): scaled tolerance.
const CONV: f32 = 2e-5;

/// (name, input shape, weight shape, parameters, with a bias)
type ConvCase = (&'static str, [usize; 4], [usize; 4], Conv2dParams, bool);

fn conv_cases() -> Vec<ConvCase> {
    let p = Conv2dParams::default();
    vec![
        ("3x3 same", [1, 3, 9, 11], [4, 3, 3, 3], p.padding(1), true),
        (
            "3x3 VGG-like, 16 channels",
            [1, 16, 20, 20],
            [8, 16, 3, 3],
            p.padding(1),
            true,
        ),
        (
            "stride 2 padding 1",
            [2, 2, 9, 8],
            [3, 2, 3, 3],
            p.stride(2).padding(1),
            true,
        ),
        (
            "dilation 2",
            [1, 2, 10, 9],
            [2, 2, 3, 3],
            p.dilation(2).padding(2),
            false,
        ),
        (
            "5x2 kernel, no padding",
            [1, 3, 8, 7],
            [2, 3, 5, 2],
            p,
            true,
        ),
        ("1x1 pointwise", [2, 5, 4, 6], [3, 5, 1, 1], p, true),
        (
            "1x1 with stride",
            [1, 4, 7, 7],
            [2, 4, 1, 1],
            p.stride(2),
            false,
        ),
        (
            "asymmetric",
            [1, 2, 6, 9],
            [3, 2, 3, 2],
            Conv2dParams {
                stride: (1, 2),
                padding: (2, 1),
                dilation: (1, 1),
            },
            true,
        ),
    ]
}

fn run_conv_cases(label: &str) {
    for (name, x_shape, w_shape, params, with_bias) in conv_cases() {
        let x = random(&x_shape, 1);
        let w = random(&w_shape, 2).mul_scalar(0.5).unwrap();
        let b = random(&[w_shape[0]], 3);
        let inputs = if with_bias { vec![x, w, b] } else { vec![x, w] };
        check_op(&format!("{label} conv2d {name}"), &inputs, CONV, |t| {
            t[0].conv2d(&t[1], t.get(2), params)
        });
        check_op(&format!("{label} conv2d_relu {name}"), &inputs, CONV, |t| {
            t[0].conv2d_relu(&t[1], t.get(2), params)
        });
    }
    // A strided input view: the kernel gets a dense copy, the gradient flows back through it.
    let x = random(&[1, 9, 3, 8], 4);
    let w = random(&[2, 3, 3, 3], 5);
    check_op(
        &format!("{label} conv2d of a permuted view"),
        &[x, w],
        CONV,
        |t| {
            t[0].permute(&[0, 2, 1, 3])?.narrow(2, 1, 7)?.conv2d(
                &t[1],
                None,
                Conv2dParams::default().padding(1),
            )
        },
    );
}

#[test]
fn convolution_in_one_tile() {
    let _turn = turn();
    engine::cuda::conv::set_column_buffer_floats(engine::cuda::conv::MAX_COL_FLOATS);
    run_conv_cases("one tile:");
}

#[test]
fn convolution_in_many_tiles() {
    let _turn = turn();
    let _defaults = Defaults;
    // Room for about two output rows of the widest case: tiles of 1–3 rows.
    engine::cuda::conv::set_column_buffer_floats(300);
    run_conv_cases("many tiles:");
}

#[test]
fn convolution_and_pooling_with_64_bit_indices() {
    let _turn = turn();
    let _defaults = wide_indices();
    engine::cuda::conv::set_column_buffer_floats(300);
    run_conv_cases("64-bit indices:");
    run_pool_cases("64-bit indices:");
    run_max_pool_ties_and_nan("64-bit indices:");
}

#[test]
fn pooling_forward_and_backward() {
    let _turn = turn();
    run_pool_cases("");
}

fn run_pool_cases(label: &str) {
    let x = random(&[2, 3, 9, 8], 6);
    for (kernel, stride, padding) in [(2, 2, 0), (3, 1, 1), (3, 2, 1), (2, 1, 0), (4, 3, 2)] {
        let name = format!("kernel {kernel} stride {stride} padding {padding}");
        check_op(
            &format!("{label} max_pool2d {name}"),
            std::slice::from_ref(&x),
            1e-6,
            |t| t[0].max_pool2d(kernel, stride, padding),
        );
        check_op(
            &format!("{label} avg_pool2d {name}"),
            std::slice::from_ref(&x),
            1e-6,
            |t| t[0].avg_pool2d(kernel, stride, padding),
        );
    }
    // L-BFGS's preconditioner: average pooling, its transpose and a scaled sum, on a picture
    // whose sides are not multiples of the block.
    let lift = engine::style::CoarseLift {
        block: 4,
        lift: 3.0,
    };
    check_op(
        &format!("{label} the coarse-lift preconditioner"),
        std::slice::from_ref(&x),
        1e-6,
        |t| lift.apply(&t[0].detach()),
    );
    let name = format!("{label} max_pool2d of a transposed view");
    check_op(&name, &[x], 1e-6, |t| {
        t[0].transpose(2, 3)?.max_pool2d(2, 2, 0)
    });
}

#[test]
fn max_pooling_ties_and_nan_follow_the_cpu() {
    let _turn = turn();
    run_max_pool_ties_and_nan("");
}

fn run_max_pool_ties_and_nan(label: &str) {
    let Some(device) = cuda() else { return };
    // Every window of the first plane ties; the second holds a NaN.
    let mut data = vec![3.0; 16];
    data.extend([
        1.0,
        2.0,
        0.0,
        5.0,
        f32::NAN,
        4.0,
        1.0,
        1.0,
        0.0,
        0.0,
        9.0,
        9.0,
        2.0,
        1.0,
        9.0,
        0.0,
    ]);
    let x = Tensor::from_vec(data, &[1, 2, 4, 4]).unwrap();
    for (kernel, stride, padding) in [(2, 2, 0), (3, 1, 1)] {
        let cpu = x.requires_grad();
        let gpu = x.to_device(device).unwrap().requires_grad();
        let (y_cpu, y_gpu) = (
            cpu.max_pool2d(kernel, stride, padding).unwrap(),
            gpu.max_pool2d(kernel, stride, padding).unwrap(),
        );
        let what = format!("{label} kernel {kernel}");
        assert_close(
            &what,
            &y_cpu.to_vec().unwrap(),
            &y_gpu.to_vec().unwrap(),
            0.0,
        );
        let g_cpu = y_cpu.sum_all().unwrap().backward().unwrap();
        let g_gpu = y_gpu.sum_all().unwrap().backward().unwrap();
        assert_eq!(
            g_cpu.get(&cpu).unwrap().to_vec().unwrap(),
            g_gpu.get(&gpu).unwrap().to_vec().unwrap(),
            "{what}: ties must go to the first maximum, NaN must win"
        );
    }
}
