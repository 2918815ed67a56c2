//! The whole style-transfer objective through the real (embedded) VGG16 — normalisation, 13
//! convolutions with fused ReLU, pooling, Gram matrices, total variation — and its gradient with
//! respect to the image: CPU against CUDA.

use super::common::{assert_close, cuda, random};
use engine::models::{load_vgg, Pooling};
use engine::style::{Objective, ObjectiveConfig};

/// An image of pixels 0..255.
fn image(h: usize, w: usize, seed: u64) -> engine::Tensor {
    random(&[1, 3, h, w], seed).affine(127.0, 128.0).unwrap()
}

/// The embedded network's file, read from disk so that this test binary does not carry 29 MB
/// of weights to the GPU machine: beside the sources when they are there, else from the
/// repository root the device check runs in.
fn vgg16() -> engine::models::Vgg {
    let relative = "weights/vgg16-imagenet-f16.safetensors";
    let beside_sources = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let path = if beside_sources.is_file() {
        beside_sources
    } else {
        std::path::Path::new("engine").join(relative)
    };
    load_vgg(&path).unwrap()
}

#[test]
fn objective_and_gradient_match_the_cpu() {
    let Some(device) = cuda() else { return };
    // Small, so that the emulator gets through it in seconds; relu5_1 is then 2×3.
    let (h, w) = (32, 48);
    for pooling in [Pooling::Max, Pooling::Avg] {
        let cpu_net = vgg16().with_pooling(pooling);
        let gpu_net = cpu_net.to_device(device).unwrap();
        assert_eq!(gpu_net.device(), device);
        let (content, style, start) = (image(h, w, 1), image(h, w, 2), image(h, w, 3));
        let config = ObjectiveConfig::paper(1.0, 1000.0, 0.5);
        let on = |t: &engine::Tensor| t.to_device(device).unwrap();

        let cpu = Objective::new(&cpu_net, config.clone(), &content, &[(style.clone(), 1.0)])
            .unwrap()
            .evaluate(&cpu_net, &start)
            .unwrap();
        let gpu = Objective::new(&gpu_net, config, &on(&content), &[(on(&style), 1.0)])
            .unwrap()
            .evaluate(&gpu_net, &on(&start))
            .unwrap();

        let what = format!("{pooling:?} pooling");
        for (name, a, b) in [
            ("content", cpu.terms.content, gpu.terms.content),
            ("style", cpu.terms.style, gpu.terms.style),
            ("tv", cpu.terms.tv.unwrap(), gpu.terms.tv.unwrap()),
            ("total", cpu.total, gpu.total),
        ] {
            assert!(
                (a - b).abs() <= 1e-4 * a.abs().max(1e-6),
                "{what}: {name} term: cpu {a} vs cuda {b}"
            );
        }
        assert_eq!(
            gpu.grad.device(),
            device,
            "{what}: the gradient left the device"
        );
        assert_close(
            &format!("{what}: ∂L/∂image"),
            &cpu.grad.to_vec().unwrap(),
            &gpu.grad.to_vec().unwrap(),
            1e-4,
        );
    }
}
