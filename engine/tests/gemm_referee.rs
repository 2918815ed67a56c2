//! cuBLAS's semantics, refereed independently. The emulator runs every cuBLAS call through
//! `GemmCall::run_on_host`, the project's own reading of cuBLAS; if that reading were wrong,
//! emulator and wrapper would agree with each other and the GPU would disagree with both. So
//! each call is also computed by the reference BLAS's SGEMM (netlib's Fortran, translated loop
//! for loop below: column-major, no strides, no library), and the two must agree to float
//! rounding.
//!
//! - `a_table_of_calls`: hand-made calls covering each transpose pair, padded leading
//!   dimensions, strided and broadcast (stride 0) batches, alpha and beta, k = 0; no device;
//! - `every_call_the_engine_issues`: the engine's own calls, as they happen, on the emulator:
//!   convolution forward (with and without bias), input and weight gradients, in one tile and
//!   many and on the 1×1 path; Gram matrices and their backward; batched products with each
//!   combination of transposed operands, broadcast batches and offset views.

use engine::autograd::Conv2dParams;
use engine::cuda::emulator::observe_gemms;
use engine::cuda::gemm::GemmCall;
use engine::{Device, Tensor};
use std::collections::BTreeSet;
use std::sync::Mutex;

/// Netlib's reference SGEMM (BLAS level 3), with cuBLAS's batch loop around it. Column-major:
/// element (i, j) of a matrix with leading dimension ld is at `i + j·ld`. Accumulates in f64
/// so that it is the more exact of the two.
fn reference_sgemm(call: &GemmCall, a: &[f32], b: &[f32], c: &mut [f32]) {
    let GemmCall {
        transa,
        transb,
        m,
        n,
        k,
        alpha,
        lda,
        ldb,
        ldc,
        beta,
        ..
    } = *call;
    for batch in 0..call.batch {
        let (a0, b0, c0) = (
            batch * call.stride_a,
            batch * call.stride_b,
            batch * call.stride_c,
        );
        for j in 0..n {
            for i in 0..m {
                let mut temp = 0.0f64;
                // Netlib reads neither A nor B when alpha is zero or k is zero.
                if alpha != 0.0 {
                    for l in 0..k {
                        // op(A)(i, l) and op(B)(l, j).
                        let a_il = if transa {
                            a[a0 + l + i * lda]
                        } else {
                            a[a0 + i + l * lda]
                        };
                        let b_lj = if transb {
                            b[b0 + j + l * ldb]
                        } else {
                            b[b0 + l + j * ldb]
                        };
                        temp += a_il as f64 * b_lj as f64;
                    }
                }
                let cell = &mut c[c0 + i + j * ldc];
                // beta = 0: C is overwritten, never read (a NaN in it does not survive).
                let old = if beta == 0.0 {
                    0.0
                } else {
                    beta as f64 * *cell as f64
                };
                *cell = (alpha as f64 * temp + old) as f32;
            }
        }
    }
}

/// The scale of each entry of C for the tolerance: |alpha|·Σ|a||b| + |beta·c|.
fn magnitudes(call: &GemmCall, a: &[f32], b: &[f32], c: &[f32]) -> Vec<f32> {
    let abs = |x: &[f32]| x.iter().map(|v| v.abs()).collect::<Vec<_>>();
    let mut scale = abs(c);
    let call = GemmCall {
        alpha: call.alpha.abs(),
        beta: call.beta.abs(),
        ..*call
    };
    reference_sgemm(&call, &abs(a), &abs(b), &mut scale);
    scale
}

/// Run `call` on host copies of `a`, `b` and `c` through `run_on_host` and the reference, and
/// return the first disagreement (also in entries C does not cover, which must not change).
fn disagreement(call: &GemmCall, a: &[f32], b: &[f32], c: &[f32]) -> Option<String> {
    let mut want = c.to_vec();
    reference_sgemm(call, a, b, &mut want);
    let scale = magnitudes(call, a, b, c);
    let mut got = c.to_vec();
    let on_host = GemmCall {
        a: a.as_ptr() as u64,
        b: b.as_ptr() as u64,
        c: got.as_mut_ptr() as u64,
        ..*call
    };
    let lens = (a.len(), b.len(), got.len());
    if let Err(e) = on_host.check(lens.0, lens.1, lens.2) {
        return Some(format!("an invalid call: {e}"));
    }
    // SAFETY: the addresses are those of the three live host vectors just checked against.
    unsafe { on_host.run_on_host() };
    compare(&got, &want, &scale).map(|e| format!("{e} in {call:?}"))
}

fn compare(got: &[f32], want: &[f32], scale: &[f32]) -> Option<String> {
    for (i, ((g, w), s)) in got.iter().zip(want).zip(scale).enumerate() {
        let same = (g.is_nan() && w.is_nan()) || (g - w).abs() <= 1e-5 * s + 1e-30;
        if !same {
            return Some(format!("C[{i}] is {g}, the reference BLAS says {w}"));
        }
    }
    None
}

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// A call with the smallest leading dimensions plus `pad`, batches `gap` floats apart beyond
/// what each matrix needs (0 with `broadcast_b`: every batch reads the same B).
#[allow(clippy::too_many_arguments)]
fn call(
    (transa, transb): (bool, bool),
    [m, n, k]: [usize; 3],
    batch: usize,
    pad: usize,
    gap: usize,
    broadcast_b: bool,
    (alpha, beta): (f32, f32),
) -> GemmCall {
    let (a_rows, a_cols) = if transa { (k, m) } else { (m, k) };
    let (b_rows, b_cols) = if transb { (n, k) } else { (k, n) };
    let (lda, ldb, ldc) = (a_rows.max(1) + pad, b_rows.max(1) + pad, m.max(1) + pad);
    GemmCall {
        transa,
        transb,
        m,
        n,
        k,
        alpha,
        a: 0,
        lda,
        stride_a: lda * a_cols + gap,
        b: 0,
        ldb,
        stride_b: if broadcast_b { 0 } else { ldb * b_cols + gap },
        beta,
        c: 0,
        ldc,
        stride_c: ldc * n + gap,
        batch,
    }
}

#[test]
fn a_table_of_calls() {
    let mut cases = Vec::new();
    for transposes in [(false, false), (true, false), (false, true), (true, true)] {
        for &(dims, batch, pad, gap, broadcast_b) in &[
            ([5, 7, 3], 1, 0, 0, false),
            ([4, 3, 6], 3, 2, 5, false),
            ([6, 2, 5], 4, 1, 0, true),
            ([1, 9, 4], 2, 0, 3, false),
            ([8, 1, 7], 1, 3, 0, false),
            ([3, 4, 0], 2, 1, 1, false),
        ] {
            for scalars in [(1.0, 0.0), (0.5, 1.0), (-2.0, 0.25), (0.0, 0.5)] {
                cases.push(call(
                    transposes,
                    dims,
                    batch,
                    pad,
                    gap,
                    broadcast_b,
                    scalars,
                ));
            }
        }
    }
    for (n, c) in cases.iter().enumerate() {
        let [a_len, b_len, c_len] = c.spans();
        let a = values(a_len, 3 * n as u64 + 1);
        let b = values(b_len, 3 * n as u64 + 2);
        let mut old_c = values(c_len + 4, 3 * n as u64 + 3);
        if c.beta == 0.0 {
            // cuBLAS does not read C when beta is 0: a NaN there must not come through.
            old_c.iter_mut().step_by(3).for_each(|v| *v = f32::NAN);
        }
        if let Some(e) = disagreement(c, &a, &b, &old_c) {
            panic!("case {n}: {e}");
        }
    }
}

/// A kind of call: transa, transb, batched, and beta as written.
type CallKind = (bool, bool, bool, String);

/// The calls seen by the observer, by kind, and the failures.
static SEEN: Mutex<(BTreeSet<CallKind>, Vec<String>)> = Mutex::new((BTreeSet::new(), Vec::new()));

/// Around every emulated cuBLAS call: copy its operands, let the emulator run it, and compare
/// what it wrote with the reference BLAS on the copies.
fn referee(call: &GemmCall, run: &mut dyn FnMut()) {
    let [a_len, b_len, c_len] = call.spans();
    // SAFETY: the emulator only runs calls checked against their host buffers: every float of
    // `spans` from each address is readable.
    let read = |addr: u64, len: usize| unsafe {
        std::slice::from_raw_parts(addr as *const f32, len).to_vec()
    };
    let (a, b, c) = (
        read(call.a, a_len),
        read(call.b, b_len),
        read(call.c, c_len),
    );
    run();
    let got = read(call.c, c_len);
    let mut want = c.clone();
    reference_sgemm(call, &a, &b, &mut want);
    let scale = magnitudes(call, &a, &b, &c);
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    seen.0.insert((
        call.transa,
        call.transb,
        call.batch > 1,
        call.beta.to_string(),
    ));
    if let Some(e) = compare(&got, &want, &scale) {
        seen.1.push(format!("{e} in {call:?}"));
    }
}

/// The emulated device, or `None` without a C++ compiler (a failure under REQUIRE_EMULATOR=1).
fn emulator() -> Option<Device> {
    engine::cuda::use_host_emulator(true);
    match engine::cuda::CudaDevice::get(0) {
        Ok(_) => Some(Device::Cuda(0)),
        Err(e) if std::env::var("REQUIRE_EMULATOR").is_ok_and(|v| v == "1") => {
            panic!("REQUIRE_EMULATOR=1 but the host emulator cannot run: {e}")
        }
        Err(e) => {
            println!("skipped: no emulator ({e})");
            None
        }
    }
}

fn random(shape: &[usize], seed: u64, device: Device) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(values(n, seed), shape)
        .unwrap()
        .to_device(device)
        .unwrap()
        .requires_grad()
}

/// Forward and backward of `f`, so that every GEMM of both passes is issued.
fn both_passes(inputs: &[Tensor], f: impl Fn(&[Tensor]) -> engine::Result<Tensor>) {
    let y = f(inputs).unwrap();
    let seed = y.ones_like().unwrap();
    y.backward_with(&seed).unwrap();
}

#[test]
fn every_call_the_engine_issues() {
    let Some(device) = emulator() else { return };
    observe_gemms(Some(referee));
    let convs = [
        (
            [2, 3, 7, 6],
            [4, 3, 3, 3],
            Conv2dParams::default().padding(1),
            true,
        ),
        (
            [1, 2, 6, 9],
            [3, 2, 3, 2],
            Conv2dParams::square(2, 1, 1),
            false,
        ),
        ([2, 5, 4, 4], [6, 5, 1, 1], Conv2dParams::default(), true),
        (
            [1, 3, 8, 7],
            [2, 3, 3, 3],
            Conv2dParams::square(1, 2, 2),
            false,
        ),
    ];
    // One tile per image, then tiles of a row or two.
    for limit in [engine::cuda::conv::MAX_COL_FLOATS, 60] {
        engine::cuda::conv::set_column_buffer_floats(limit);
        for (i, (x, w, params, bias)) in convs.iter().enumerate() {
            let seed = 10 * i as u64;
            let mut t = vec![random(x, seed, device), random(w, seed + 1, device)];
            if *bias {
                t.push(random(&[w[0]], seed + 2, device));
            }
            both_passes(&t, |t| t[0].conv2d(&t[1], t.get(2), *params));
        }
    }
    engine::cuda::conv::set_column_buffer_floats(engine::cuda::conv::MAX_COL_FLOATS);
    let f = random(&[6, 20], 40, device);
    both_passes(std::slice::from_ref(&f), |t| t[0].matmul_own_transpose());
    both_passes(std::slice::from_ref(&f), |t| t[0].matmul(&t[0].t()?));
    let gram_input = random(&[1, 4, 5, 3], 41, device);
    both_passes(&[gram_input], |t| engine::style::gram_matrix(&t[0]));
    let (a, b) = (
        random(&[3, 4, 5], 42, device),
        random(&[3, 5, 2], 43, device),
    );
    let (at, bt) = (
        random(&[3, 5, 4], 44, device),
        random(&[3, 2, 5], 45, device),
    );
    both_passes(&[a.clone(), b.clone()], |t| t[0].matmul(&t[1]));
    both_passes(&[at.clone(), b.clone()], |t| {
        t[0].transpose(1, 2)?.matmul(&t[1])
    });
    both_passes(&[a.clone(), bt.clone()], |t| {
        t[0].matmul(&t[1].transpose(1, 2)?)
    });
    both_passes(&[at, bt], |t| {
        t[0].transpose(1, 2)?.matmul(&t[1].transpose(1, 2)?)
    });
    // A broadcast right operand (batch stride 0) and an offset, narrowed view.
    let (wide, shared) = (
        random(&[2, 3, 6, 9], 46, device),
        random(&[4, 7], 47, device),
    );
    both_passes(&[wide, shared], |t| t[0].narrow(3, 2, 4)?.matmul(&t[1]));
    observe_gemms(None);

    let seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    assert!(
        seen.1.is_empty(),
        "{} calls disagree: {:#?}",
        seen.1.len(),
        seen.1
    );
    let transposes: BTreeSet<_> = seen.0.iter().map(|k| (k.0, k.1)).collect();
    assert_eq!(
        transposes.len(),
        4,
        "every transpose pair issued: {:?}",
        seen.0
    );
    assert!(seen.0.iter().any(|k| k.2), "a batched call: {:?}", seen.0);
    let betas: BTreeSet<_> = seen.0.iter().map(|k| k.3.as_str()).collect();
    assert!(
        betas.contains("0") && betas.contains("1"),
        "beta 0 and 1: {betas:?}"
    );
    println!("{} kinds of call refereed: {:?}", seen.0.len(), seen.0);
}
