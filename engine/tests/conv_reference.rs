//! conv2d (tiled im2col + GEMM) against a direct six-loop convolution, forward and backward,
//! on random shapes with stride, padding, dilation and batches.

use engine::autograd::Conv2dParams;
use engine::{Rng, Tensor};

struct Case {
    x: [usize; 4],
    w: [usize; 4],
    p: Conv2dParams,
}

/// The textbook definition, one multiply-add at a time, with its two adjoints.
struct Direct<'a> {
    case: &'a Case,
    out: [usize; 2],
}

impl<'a> Direct<'a> {
    fn new(case: &'a Case) -> Self {
        let len = |i: usize, k: usize, s: usize, p: usize, d: usize| {
            (i + 2 * p - d * (k - 1) - 1) / s + 1
        };
        let p = case.p;
        let out = [
            len(case.x[2], case.w[2], p.stride.0, p.padding.0, p.dilation.0),
            len(case.x[3], case.w[3], p.stride.1, p.padding.1, p.dilation.1),
        ];
        Direct { case, out }
    }

    /// Calls `f(x_index, w_index, y_index)` for every multiply-add of the convolution.
    fn for_each_tap(&self, mut f: impl FnMut(usize, usize, usize)) {
        let ([n, c, h, w], [o, _, kh, kw]) = (self.case.x, self.case.w);
        let p = self.case.p;
        let [oh, ow] = self.out;
        for b in 0..n {
            for oc in 0..o {
                for y in 0..oh {
                    for x in 0..ow {
                        let yi = ((b * o + oc) * oh + y) * ow + x;
                        for ic in 0..c {
                            for i in 0..kh {
                                let ih = (y * p.stride.0 + i * p.dilation.0) as isize
                                    - p.padding.0 as isize;
                                if ih < 0 || ih >= h as isize {
                                    continue;
                                }
                                for j in 0..kw {
                                    let iw = (x * p.stride.1 + j * p.dilation.1) as isize
                                        - p.padding.1 as isize;
                                    if iw < 0 || iw >= w as isize {
                                        continue;
                                    }
                                    let xi = ((b * c + ic) * h + ih as usize) * w + iw as usize;
                                    let wi = ((oc * c + ic) * kh + i) * kw + j;
                                    f(xi, wi, yi);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Float32 against the float64 direct sum. The tolerance scales with the tensor's largest
/// value, not each element's own: an output that is a near-cancelling sum of large products
/// carries the rounding of those products, and Winograd F(4×4) — whose transforms multiply by
/// up to 8 and divide by 24 — rounds more than im2col. A wrong tap or index gives errors of
/// the order of the values themselves, far above this bound.
fn assert_close(what: &str, got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let tolerance = 1e-4 + 2e-5 * scale;
    for (i, (&a, &b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a as f64 - b).abs() <= tolerance,
            "{what}[{i}]: ours {a}, direct {b} (tolerance {tolerance:.2e}, largest |value| {scale:.3})"
        );
    }
}

fn check(case: &Case, rng: &mut Rng) {
    let d = Direct::new(case);
    let x = Tensor::randn(&case.x, rng).requires_grad();
    let w = Tensor::randn(&case.w, rng).requires_grad();
    let b = Tensor::randn(&[case.w[0]], rng).requires_grad();
    let y = x.conv2d(&w, Some(&b), case.p).unwrap();
    let [oh, ow] = d.out;
    assert_eq!(y.shape(), [case.x[0], case.w[0], oh, ow], "output shape");
    let dy = Tensor::randn(y.shape(), rng);

    let (xv, wv, bv, dyv) = (
        x.to_vec().unwrap(),
        w.to_vec().unwrap(),
        b.to_vec().unwrap(),
        dy.to_vec().unwrap(),
    );
    let plane = oh * ow;
    let mut want_y: Vec<f64> = (0..y.numel())
        .map(|i| bv[(i / plane) % case.w[0]] as f64)
        .collect();
    let mut want_dx = vec![0.0f64; xv.len()];
    let mut want_dw = vec![0.0f64; wv.len()];
    d.for_each_tap(|xi, wi, yi| {
        want_y[yi] += xv[xi] as f64 * wv[wi] as f64;
        want_dx[xi] += wv[wi] as f64 * dyv[yi] as f64;
        want_dw[wi] += xv[xi] as f64 * dyv[yi] as f64;
    });
    let mut want_db = vec![0.0f64; bv.len()];
    for (i, g) in dyv.iter().enumerate() {
        want_db[(i / plane) % case.w[0]] += *g as f64;
    }
    let label = format!("x {:?} w {:?} {:?}", case.x, case.w, case.p);
    assert_close(&format!("{label} output"), &y.to_vec().unwrap(), &want_y);
    let grads = y.backward_with(&dy).unwrap();
    assert_close(
        &format!("{label} dx"),
        &grads.get_or_zeros(&x).unwrap().to_vec().unwrap(),
        &want_dx,
    );
    assert_close(
        &format!("{label} dw"),
        &grads.get_or_zeros(&w).unwrap().to_vec().unwrap(),
        &want_dw,
    );
    assert_close(
        &format!("{label} db"),
        &grads.get_or_zeros(&b).unwrap().to_vec().unwrap(),
        &want_db,
    );
}

#[test]
fn random_shapes_match_direct_convolution() {
    let mut rng = Rng::new(7);
    let mut pick = |lo: usize, hi: usize| lo + (rng.next_u64() as usize) % (hi - lo + 1);
    let mut cases = Vec::new();
    while cases.len() < 40 {
        let (kh, kw) = (pick(1, 4), pick(1, 4));
        let p = Conv2dParams {
            stride: (pick(1, 3), pick(1, 3)),
            padding: (pick(0, 2), pick(0, 2)),
            dilation: (pick(1, 2), pick(1, 2)),
        };
        let x = [pick(1, 3), pick(1, 5), pick(1, 12), pick(1, 12)];
        let w = [pick(1, 6), x[1], kh, kw];
        // skip configurations whose kernel does not fit (conv2d rejects them; tested elsewhere)
        if p.dilation.0 * (kh - 1) + 1 > x[2] + 2 * p.padding.0
            || p.dilation.1 * (kw - 1) + 1 > x[3] + 2 * p.padding.1
        {
            continue;
        }
        cases.push(Case { x, w, p });
    }
    let mut rng = Rng::new(11);
    for case in &cases {
        check(case, &mut rng);
    }
}

#[test]
fn pointwise_fast_path_matches_direct_convolution() {
    let mut rng = Rng::new(3);
    check(
        &Case {
            x: [2, 5, 6, 7],
            w: [4, 5, 1, 1],
            p: Conv2dParams::default(),
        },
        &mut rng,
    );
    // 1×1 with padding or stride goes through im2col instead
    check(
        &Case {
            x: [2, 5, 6, 7],
            w: [4, 5, 1, 1],
            p: Conv2dParams::square(2, 1, 1),
        },
        &mut rng,
    );
}

#[test]
fn images_larger_than_one_tile_match_direct_convolution() {
    // 198 output columns: a tile holds ~21 rows, so 38 output rows need two tiles, and with a
    // stride of 1 consecutive tiles share input rows (col2im must add, not overwrite).
    let mut rng = Rng::new(5);
    check(
        &Case {
            x: [2, 2, 40, 200],
            w: [3, 2, 3, 3],
            p: Conv2dParams::default(),
        },
        &mut rng,
    );
    check(
        &Case {
            x: [1, 3, 50, 170],
            w: [2, 3, 3, 3],
            p: Conv2dParams::square(1, 1, 2),
        },
        &mut rng,
    );
}

#[test]
fn strided_views_are_accepted() {
    // A transposed input view must give the same result as its dense copy.
    let mut rng = Rng::new(9);
    let x = Tensor::randn(&[1, 3, 9, 8], &mut rng)
        .transpose(2, 3)
        .unwrap();
    let w = Tensor::randn(&[2, 3, 3, 3], &mut rng);
    let p = Conv2dParams::default().padding(1);
    let a = x.conv2d(&w, None, p).unwrap().to_vec().unwrap();
    let b = x
        .contiguous()
        .unwrap()
        .conv2d(&w, None, p)
        .unwrap()
        .to_vec()
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn only_requested_gradients_are_computed() {
    // Style transfer: the weights are constants, only the image needs a gradient.
    let mut rng = Rng::new(1);
    let x = Tensor::randn(&[1, 2, 5, 5], &mut rng).requires_grad();
    let w = Tensor::randn(&[3, 2, 3, 3], &mut rng);
    let b = Tensor::randn(&[3], &mut rng);
    let y = x.conv2d(&w, Some(&b), Conv2dParams::default()).unwrap();
    let grads = y.sum_all().unwrap().backward().unwrap();
    assert!(grads.get(&x).is_some());
    assert!(grads.get(&w).is_none() && grads.get(&b).is_none());
    assert_eq!(grads.len(), 1);
}

#[test]
fn three_by_three_layers_match_direct_convolution() {
    // 3×3 stride-1 layers: small ones take im2col, VGG-like ones (≥ 16 channels, ≥ 64×64)
    // Winograd — forward and input gradient. Odd and even sizes, paddings 0–2, rectangular.
    let mut rng = Rng::new(13);
    let pads = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 1)];
    for (i, &padding) in pads.iter().enumerate() {
        let p = Conv2dParams {
            padding,
            ..Conv2dParams::default()
        };
        check(
            &Case {
                x: [1 + i % 2, 3, 7 + i, 9 - i],
                w: [4, 3, 3, 3],
                p,
            },
            &mut rng,
        );
    }
    let p = Conv2dParams::default().padding(1);
    check(
        &Case {
            x: [1, 2, 1, 1],
            w: [3, 2, 3, 3],
            p,
        },
        &mut rng,
    );
    check(
        &Case {
            x: [1, 16, 64, 65],
            w: [16, 16, 3, 3],
            p,
        },
        &mut rng,
    );
}
