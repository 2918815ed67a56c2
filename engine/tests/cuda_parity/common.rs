//! Which CUDA device the parity tests run on, and how they compare results with the CPU's.
//!
//! A real GPU when one is usable. Without one, the host emulator (the same `.cu` kernels
//! compiled for the CPU and run thread by thread), so that every launch, view and cuBLAS call
//! is still checked; the reason is printed. `REQUIRE_CUDA=1` turns a missing GPU into a
//! failure (the GPU machine's device check sets it), `REQUIRE_EMULATOR=1` a missing emulator
//! (CI sets it).

#![allow(dead_code)]

use engine::cuda::CudaDevice;
use engine::{Device, Tensor};
use std::sync::OnceLock;

/// The device under test, or `None` (after printing why) when neither a GPU nor a C++
/// compiler for the emulator is there.
pub fn cuda() -> Option<Device> {
    static CHOSEN: OnceLock<Option<Device>> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let required = std::env::var("REQUIRE_CUDA").is_ok_and(|v| v == "1");
        match CudaDevice::get(0) {
            Ok(gpu) => {
                println!("CUDA parity on {}", gpu.describe());
                return Some(Device::Cuda(0));
            }
            Err(e) if required => panic!("REQUIRE_CUDA=1 but no usable GPU: {e}"),
            Err(e) => println!("no GPU ({e}); checking the CUDA kernels in the host emulator"),
        }
        engine::cuda::use_host_emulator(true);
        match CudaDevice::get(0) {
            Ok(_) => Some(Device::Cuda(0)),
            Err(e) if std::env::var("REQUIRE_EMULATOR").is_ok_and(|v| v == "1") => {
                panic!("REQUIRE_EMULATOR=1 but the host emulator cannot run: {e}")
            }
            Err(e) => {
                println!("skipped: no GPU and no emulator ({e})");
                None
            }
        }
    })
}

/// Whether the run is on real hardware (speed-sensitive sizes are only worth it there).
pub fn on_gpu() -> bool {
    cuda().is_some_and(|_| !engine::cuda::CudaDevice::get(0).unwrap().is_emulated())
}

/// Deterministic pseudo-random values in [-1, 1).
pub fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

pub fn random(shape: &[usize], seed: u64) -> Tensor {
    Tensor::from_vec(values(shape.iter().product(), seed), shape).unwrap()
}

/// `a` and `b` agree to `rel` of the larger of 1 and the largest |value| (rounding differs
/// with summation order, and grows with the size of the numbers summed, not of each result).
pub fn assert_close(what: &str, cpu: &[f32], gpu: &[f32], rel: f32) {
    assert_eq!(cpu.len(), gpu.len(), "{what}: lengths differ");
    let scale = cpu.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    for (i, (a, b)) in cpu.iter().zip(gpu).enumerate() {
        let same_nan = a.is_nan() && b.is_nan();
        let same_inf = a.is_infinite() && a == b;
        assert!(
            same_nan || same_inf || (a - b).abs() <= rel * scale,
            "{what}: element {i}: cpu {a} vs cuda {b} (tolerance {})",
            rel * scale
        );
    }
}

/// Run `f` on CPU copies and CUDA copies of `inputs` (as gradient-tracking leaves), compare the
/// outputs, then the gradients of `sum(output · cotangent)` with respect to every input.
pub fn check_op(
    what: &str,
    inputs: &[Tensor],
    rel: f32,
    f: impl Fn(&[Tensor]) -> engine::Result<Tensor>,
) {
    let Some(device) = cuda() else { return };
    let cpu: Vec<Tensor> = inputs.iter().map(|t| t.requires_grad()).collect();
    let gpu: Vec<Tensor> = inputs
        .iter()
        .map(|t| t.to_device(device).unwrap().detach().requires_grad())
        .collect();
    let (y_cpu, y_gpu) = (f(&cpu).unwrap(), f(&gpu).unwrap());
    assert_eq!(y_gpu.device(), device, "{what}: the result left the device");
    assert_eq!(y_cpu.shape(), y_gpu.shape(), "{what}: shapes differ");
    assert_close(
        &format!("{what} forward"),
        &y_cpu.to_vec().unwrap(),
        &y_gpu.to_vec().unwrap(),
        rel,
    );
    if !y_cpu.requires_grad_flag() {
        return;
    }
    let seed = random(y_cpu.shape(), 99);
    let g_cpu = y_cpu.backward_with(&seed).unwrap();
    let g_gpu = y_gpu
        .backward_with(&seed.to_device(device).unwrap())
        .unwrap();
    for (i, (a, b)) in cpu.iter().zip(&gpu).enumerate() {
        let (ga, gb) = (
            g_cpu.get_or_zeros(a).unwrap(),
            g_gpu.get_or_zeros(b).unwrap(),
        );
        assert_eq!(gb.device(), device, "{what}: gradient {i} left the device");
        assert_close(
            &format!("{what} gradient of input {i}"),
            &ga.to_vec().unwrap(),
            &gb.to_vec().unwrap(),
            rel,
        );
    }
}
