//! Every elementwise, copy, reduction, matrix and vector op: CPU against CUDA, forward and
//! backward, on dense, transposed, narrowed, permuted, broadcast and offset views.
//! (On a machine without a GPU these run in the host emulator; see common.rs.)

use super::common::{assert_close, check_op, cuda, random, values};
use super::settings::{turn, wide_indices};
use engine::vector::Vector;
use engine::{Device, Error, Tensor};

const TIGHT: f32 = 1e-5;

/// Inputs in (0.5, 1.5) for ops defined only for positive numbers.
fn positive(shape: &[usize], seed: u64) -> Tensor {
    random(shape, seed).affine(0.5, 1.0).unwrap()
}

#[test]
fn unary_ops_on_transposed_views() {
    run_unary_ops_on_transposed_views();
}

fn run_unary_ops_on_transposed_views() {
    let x = random(&[5, 7], 1).mul_scalar(3.0).unwrap();
    type Op = fn(&Tensor) -> engine::Result<Tensor>;
    let ops: [(&str, Op); 13] = [
        ("neg", |x| x.neg()),
        ("exp", |x| x.exp()),
        ("abs", |x| x.abs()),
        ("step", |x| x.step()),
        ("relu", |x| x.relu()),
        ("sigmoid", |x| x.sigmoid()),
        ("tanh", |x| x.tanh()),
        ("leaky_relu", |x| x.leaky_relu(0.1)),
        ("affine", |x| x.affine(-2.5, 0.75)),
        ("clamp", |x| x.clamp(-1.0, 0.5)),
        ("square", |x| x.square()),
        ("add_scalar", |x| x.add_scalar(4.0)),
        ("mul_scalar", |x| x.mul_scalar(-0.3)),
    ];
    for (name, op) in ops {
        check_op(name, std::slice::from_ref(&x), TIGHT, |t| op(&t[0].t()?));
    }
    let p = positive(&[6, 4], 2);
    type PosOp = fn(&Tensor) -> engine::Result<Tensor>;
    let positive_ops: [(&str, PosOp); 4] = [
        ("log", |x| x.log()),
        ("sqrt", |x| x.sqrt()),
        ("recip", |x| x.recip()),
        ("powf", |x| x.powf(1.7)),
    ];
    for (name, op) in positive_ops {
        check_op(name, std::slice::from_ref(&p), TIGHT, |t| {
            op(&t[0].narrow(1, 1, 2)?)
        });
    }
}

#[test]
fn special_values_follow_the_cpu() {
    let Some(device) = cuda() else { return };
    let special = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        -0.0,
        1e-40,
        -3.0,
        2.0,
    ];
    let x = Tensor::from_slice(&special, &[8]).unwrap();
    let on_gpu = x.to_device(device).unwrap();
    type Op = fn(&Tensor) -> engine::Result<Tensor>;
    let ops: [(&str, Op); 7] = [
        ("relu", |x| x.relu()),
        ("clamp", |x| x.clamp(-1.0, 1.0)),
        ("sigmoid", |x| x.sigmoid()),
        ("abs", |x| x.abs()),
        ("step", |x| x.step()),
        ("exp", |x| x.exp()),
        ("tanh", |x| x.tanh()),
    ];
    for (name, op) in ops {
        let (a, b) = (op(&x).unwrap(), op(&on_gpu).unwrap());
        assert_close(name, &a.to_vec().unwrap(), &b.to_vec().unwrap(), TIGHT);
    }
    assert!(!on_gpu.all_finite().unwrap());
    assert!(on_gpu.narrow(0, 3, 5).unwrap().all_finite().unwrap());
}

#[test]
fn binary_ops_broadcast_and_permuted() {
    run_binary_ops_broadcast_and_permuted();
}

fn run_binary_ops_broadcast_and_permuted() {
    let a = random(&[3, 1, 4], 3);
    let b = random(&[5, 4], 4).affine(1.0, 0.0).unwrap();
    type Op = fn(&Tensor, &Tensor) -> engine::Result<Tensor>;
    let ops: [(&str, Op); 6] = [
        ("add", |a, b| a.add(b)),
        ("sub", |a, b| a.sub(b)),
        ("mul", |a, b| a.mul(b)),
        ("maximum", |a, b| a.maximum(b)),
        ("minimum", |a, b| a.minimum(b)),
        ("div", |a, b| a.div(&b.affine(0.25, 2.0)?)),
    ];
    for (name, op) in ops {
        check_op(name, &[a.clone(), b.clone()], TIGHT, |t| op(&t[0], &t[1]));
        // The same with the left operand seen through a permutation.
        let c = random(&[4, 5, 3], 5);
        check_op(&format!("{name} permuted"), &[c, b.clone()], TIGHT, |t| {
            op(&t[0].permute(&[2, 1, 0])?, &t[1])
        });
    }
    check_op("masks", &[a.clone(), b.clone()], TIGHT, |t| {
        t[0].eq_mask(&t[0].maximum(&t[1])?)?
            .add(&t[0].gt_mask(&t[1])?)
    });
}

#[test]
fn copies_concat_and_narrow() {
    run_copies_concat_and_narrow();
}

fn run_copies_concat_and_narrow() {
    let x = random(&[4, 6, 5], 6);
    check_op(
        "contiguous of a permutation",
        std::slice::from_ref(&x),
        TIGHT,
        |t| t[0].permute(&[1, 2, 0])?.contiguous(),
    );
    check_op(
        "narrow (backward is a concat)",
        std::slice::from_ref(&x),
        TIGHT,
        |t| t[0].narrow(1, 2, 3)?.narrow(2, 1, 3)?.contiguous(),
    );
    let y = random(&[4, 2, 5], 7);
    check_op("concat of views", &[x.clone(), y], TIGHT, |t| {
        Tensor::concat(
            &[t[0].narrow(1, 1, 4)?, t[1].clone(), t[0].narrow(1, 0, 1)?],
            1,
        )
    });
    check_op("reshape of a transpose", &[x], TIGHT, |t| {
        t[0].transpose(0, 2)?.reshape(&[5, 24])
    });
}

#[test]
fn reductions_over_any_axes() {
    run_reductions_over_any_axes();
}

fn run_reductions_over_any_axes() {
    let x = random(&[3, 4, 5, 6], 8);
    for axes in [vec![], vec![0], vec![1, 3], vec![0, 2, 3], vec![3]] {
        let name = format!("sum over {axes:?}");
        check_op(&name, std::slice::from_ref(&x), TIGHT, |t| {
            t[0].sum(&axes, false)
        });
        let name = format!("mean over {axes:?} (keepdim)");
        check_op(&name, std::slice::from_ref(&x), TIGHT, |t| {
            t[0].mean(&axes, true)
        });
        let name = format!("max over {axes:?} of a transpose");
        check_op(&name, std::slice::from_ref(&x), TIGHT, |t| {
            t[0].transpose(1, 2)?.max(&axes, false)
        });
    }
    // Long runs are shared by the threads of several blocks, whose partial results are folded
    // by a second launch; runs of 90 and 120 (above) by one block each.
    let long = random(&[2, 50_000], 9);
    check_op("long sums", std::slice::from_ref(&long), TIGHT, |t| {
        t[0].sum(&[1], false)
    });
    check_op("long max", std::slice::from_ref(&long), TIGHT, |t| {
        t[0].max(&[], false)
    });
    check_op("sum of everything", &[long], TIGHT, |t| t[0].sum_all());
    // Ties share the gradient equally, as on the CPU.
    let ties = Tensor::from_slice(&[1.0, 3.0, 3.0, 2.0, 3.0, 0.0], &[2, 3]).unwrap();
    check_op("max with ties", &[ties], TIGHT, |t| t[0].max(&[], false));
}

/// The element-wise maps, copies and reductions again with their 64-bit kernels, whose index
/// arithmetic (a division per axis per element of a strided view) differs from the 32-bit
/// kernels' that serve every tensor below 2³¹ floats.
#[test]
fn strided_ops_with_64_bit_indices() {
    let _turn = turn();
    let _defaults = wide_indices();
    run_unary_ops_on_transposed_views();
    run_binary_ops_broadcast_and_permuted();
    run_copies_concat_and_narrow();
    run_reductions_over_any_axes();
}

#[test]
fn matrix_products() {
    let a = random(&[2, 3, 5, 4], 10);
    let b = random(&[4, 6], 11);
    check_op(
        "batched, broadcast right",
        &[a.clone(), b.clone()],
        TIGHT,
        |t| t[0].matmul(&t[1]),
    );
    let at = random(&[3, 4, 5], 12);
    let bt = random(&[3, 7, 4], 13);
    check_op("both transposed", &[at, bt], TIGHT, |t| {
        t[0].transpose(1, 2)?.matmul(&t[1].transpose(1, 2)?)
    });
    let wide = random(&[6, 9], 14);
    check_op(
        "narrowed rows and columns",
        &[wide, b.clone()],
        TIGHT,
        |t| t[0].narrow(0, 1, 4)?.narrow(1, 2, 4)?.matmul(&t[1]),
    );
    // Every other column of a [3, 8] matrix: no unit stride, so the operand is copied first.
    let every_other = random(&[3, 8], 26);
    check_op(
        "strided columns (copied first)",
        &[every_other, b],
        TIGHT,
        |t| {
            t[0].reshape(&[3, 4, 2])?
                .narrow(2, 0, 1)?
                .permute(&[2, 0, 1])?
                .matmul(&t[1])
        },
    );
    let f = random(&[8, 30], 15);
    check_op(
        "gram (own transpose)",
        std::slice::from_ref(&f),
        TIGHT,
        |t| t[0].matmul_own_transpose(),
    );
    check_op("gram through matmul", &[f], TIGHT, |t| {
        t[0].matmul(&t[0].t()?)
    });
    let v = random(&[1, 5], 16);
    let m = random(&[5, 1], 17);
    check_op("row times column", &[v, m], TIGHT, |t| t[0].matmul(&t[1]));
}

#[test]
fn softmax_and_losses() {
    let x = random(&[4, 7], 18).mul_scalar(4.0).unwrap();
    check_op("softmax", std::slice::from_ref(&x), TIGHT, |t| {
        t[0].softmax(1)
    });
    check_op(
        "log_softmax of a transpose",
        std::slice::from_ref(&x),
        TIGHT,
        |t| t[0].t()?.log_softmax(0),
    );
    check_op("cross entropy", std::slice::from_ref(&x), TIGHT, |t| {
        engine::nn::loss::cross_entropy(&t[0], &[0, 6, 3, 3])
    });
    let y = random(&[4, 7], 19).step().unwrap();
    check_op("mse", &[x, y], TIGHT, |t| {
        engine::nn::loss::mse(&t[0], &t[1])
    });
}

#[test]
fn vector_arithmetic_for_optimisers() {
    let Some(device) = cuda() else { return };
    for n in [1, 1000, 300_000] {
        let (a, b) = (random(&[n], 20), random(&[n], 21));
        let (ga, gb) = (a.to_device(device).unwrap(), b.to_device(device).unwrap());
        let close = |x: f64, y: f64, what: &str| {
            assert!(
                (x - y).abs() <= 1e-9 * (1.0 + x.abs()),
                "{what} n={n}: {x} vs {y}"
            )
        };
        close(a.dot(&b).unwrap(), ga.dot(&gb).unwrap(), "dot");
        close(a.sum_abs().unwrap(), ga.sum_abs().unwrap(), "sum_abs");
        close(a.max_abs().unwrap(), ga.max_abs().unwrap(), "max_abs");
        let (y_cpu, y_gpu) = (
            a.add_scaled(-0.37, &b).unwrap(),
            ga.add_scaled(-0.37, &gb).unwrap(),
        );
        assert_eq!(
            y_cpu.to_vec().unwrap(),
            y_gpu.to_vec().unwrap(),
            "axpy n={n}"
        );
        let (s_cpu, s_gpu) = (a.scaled(1.5e3).unwrap(), ga.scaled(1.5e3).unwrap());
        assert_eq!(
            s_cpu.to_vec().unwrap(),
            s_gpu.to_vec().unwrap(),
            "scale n={n}"
        );
        assert!(ga.all_finite().unwrap());
        // L-BFGS's batched products and its one combination over the history, with columns in
        // f32 and kept in bf16 (its history with --history-precision bf16): the same on both.
        let c = random(&[n], 23).narrow(0, 0, n).unwrap();
        let gc = c.to_device(device).unwrap();
        let (rows, grows) = ([&a, &b], [&ga, &gb]);
        let coefs = [0.5, -1.25, 3.0];
        let same_on_both = |cols: &[Vector], gcols: &[Vector], what: &str| -> Vec<f64> {
            let (dots_cpu, dots_gpu) = (
                Tensor::dots(&rows, cols).unwrap(),
                Tensor::dots(&grows, gcols).unwrap(),
            );
            assert_eq!(dots_cpu.len(), 6);
            for (k, (x, y)) in dots_cpu.iter().zip(&dots_gpu).enumerate() {
                close(*x, *y, &format!("dots over {what} [{k}]"));
            }
            assert_eq!(
                Tensor::combination(&coefs, cols).unwrap().to_vec().unwrap(),
                Tensor::combination(&coefs, gcols)
                    .unwrap()
                    .to_vec()
                    .unwrap(),
                "combination over {what} n={n}"
            );
            dots_cpu
        };
        let dots = same_on_both(
            &[Vector::F32(&b), Vector::F32(&c), Vector::F32(&a)],
            &[Vector::F32(&gb), Vector::F32(&gc), Vector::F32(&ga)],
            "f32 columns",
        );
        close(dots[4], b.dot(&c).unwrap(), "dots[1][1] is b·c");
        let (pb, pc) = (b.to_bf16().unwrap(), c.to_bf16().unwrap());
        let (gpb, gpc) = (gb.to_bf16().unwrap(), gc.to_bf16().unwrap());
        assert_eq!(
            pc.to_f32().unwrap().to_vec().unwrap(),
            gpc.to_f32().unwrap().to_vec().unwrap(),
            "bf16 rounding n={n}"
        );
        same_on_both(
            &[Vector::Bf16(&pb), Vector::Bf16(&pc), Vector::F32(&a)],
            &[Vector::Bf16(&gpb), Vector::Bf16(&gpc), Vector::F32(&ga)],
            "bf16 columns",
        );
    }
    let mut poisoned = values(5000, 22);
    poisoned[4321] = f32::NAN;
    let p = Tensor::from_vec(poisoned, &[5000])
        .unwrap()
        .to_device(device)
        .unwrap();
    assert!(!p.all_finite().unwrap(), "a NaN must be found");
    assert!(!Tensor::full(&[3], f32::INFINITY)
        .to_device(device)
        .unwrap()
        .all_finite()
        .unwrap());
}

#[test]
fn constructors_follow_the_device() {
    let Some(device) = cuda() else { return };
    let x = random(&[2, 3], 23).to_device(device).unwrap();
    assert_eq!(x.zeros_like().unwrap().device(), device);
    assert_eq!(x.ones_like().unwrap().to_vec().unwrap(), vec![1.0; 6]);
    let z = Tensor::full_on(&[4], 2.5, device).unwrap();
    assert_eq!(z.to_vec().unwrap(), vec![2.5; 4]);
    // backward() seeds with ones on the loss's device; get_or_zeros gives zeros there too.
    let leaf = x.requires_grad();
    let unused = random(&[2, 3], 24)
        .to_device(device)
        .unwrap()
        .requires_grad();
    let grads = leaf.sum_all().unwrap().backward().unwrap();
    assert_eq!(grads.get(&leaf).unwrap().device(), device);
    assert_eq!(grads.get_or_zeros(&unused).unwrap().device(), device);
}

#[test]
fn to_device_is_tracked_and_mixing_devices_is_an_error() {
    let Some(device) = cuda() else { return };
    let x = random(&[3, 4], 25).requires_grad();
    let y = x
        .to_device(device)
        .unwrap()
        .square()
        .unwrap()
        .sum_all()
        .unwrap();
    let g = y.backward().unwrap();
    let gx = g
        .get(&x)
        .expect("the gradient flows back through to_device");
    assert_eq!(gx.device(), Device::Cpu);
    let expected: Vec<f32> = x.to_vec().unwrap().iter().map(|v| 2.0 * v).collect();
    assert_close("d/dx sum(x²)", &expected, &gx.to_vec().unwrap(), TIGHT);

    let on_gpu = x.to_device(device).unwrap();
    let err = x.add(&on_gpu).unwrap_err();
    assert!(matches!(err, Error::DeviceMismatch { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("cpu") && text.contains("cuda:0"), "{text}");
    assert!(x.matmul(&on_gpu.t().unwrap()).is_err());
    assert!(Tensor::concat(&[x.detach(), on_gpu.detach()], 0).is_err());
}
