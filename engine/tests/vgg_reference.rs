//! Our VGG16 against PyTorch's activations for the same image and the same ImageNet weights.

use engine::models::load_vgg;
use engine::shared_data::shared_file;
use engine::Tensor;

/// A tensor of the PyTorch reference file, by name.
fn reference_tensor(set: &weights_tools::WeightSet, name: &str) -> Tensor {
    let t = set
        .get(name)
        .unwrap_or_else(|| panic!("reference has no `{name}`"));
    Tensor::from_slice(&t.data, &t.shape).unwrap()
}

#[test]
fn vgg16_features_match_pytorch() {
    let (Some(weights), Some(reference)) = (
        shared_file("weights/vgg16-imagenet.safetensors"),
        shared_file("reference/vgg16_features_tubingen_starry.safetensors"),
    ) else {
        return;
    };
    let vgg = load_vgg(&weights).unwrap();
    let (_, set) = weights_tools::read_path(&reference).unwrap();
    let get = |name: &str| reference_tensor(&set, name);
    let image = get("image");
    let layers: Vec<String> = vgg
        .layer_names()
        .into_iter()
        .filter(|n| !n.starts_with("conv"))
        .collect();
    assert_eq!(layers.len(), 18, "13 relus and 5 pools: {layers:?}");
    let ours = vgg.forward(&image, &layers).unwrap();
    for name in &layers {
        let expected = get(name);
        let got = &ours[name];
        assert_eq!(got.shape(), expected.shape(), "{name}");
        let scale = expected
            .to_vec()
            .unwrap()
            .iter()
            .fold(0.0f32, |m, v| m.max(v.abs()));
        let worst = got
            .to_vec()
            .unwrap()
            .iter()
            .zip(expected.to_vec().unwrap())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        println!("{name}: max |ours − pytorch| = {worst:.3e} (largest activation {scale:.1})");
        assert!(
            worst <= 1e-5 * scale.max(1.0) * 10.0,
            "{name}: {worst} vs scale {scale}"
        );
    }
}

#[test]
fn unknown_layers_and_bad_files_are_clear_errors() {
    let Some(weights) = shared_file("weights/vgg16-imagenet.safetensors") else {
        return;
    };
    let vgg = load_vgg(&weights).unwrap();
    let err = vgg
        .forward(&Tensor::zeros(&[1, 3, 32, 32]), &["relu9_9".to_string()])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unknown layer `relu9_9`") && err.contains("relu4_2"),
        "{err}"
    );
    let err = vgg
        .forward(&Tensor::zeros(&[1, 4, 32, 32]), &["relu1_1".to_string()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("RGB"), "{err}");
    let dir = std::env::temp_dir().join(format!("picasso-vgg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bogus = dir.join("not-weights.safetensors");
    std::fs::write(&bogus, b"this is not a weights file").unwrap();
    let err = load_vgg(&bogus).unwrap_err().to_string();
    assert!(err.contains("not-weights.safetensors"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn embedded_f16_weights_give_nearly_the_same_features() {
    let Some(reference) = shared_file("reference/vgg16_features_tubingen_starry.safetensors")
    else {
        return;
    };
    let vgg = engine::models::load_embedded_vgg16().unwrap();
    assert_eq!(
        vgg.input_convention(),
        engine::models::InputConvention::CAFFE
    );
    let (_, set) = weights_tools::read_path(&reference).unwrap();
    let get = |name: &str| reference_tensor(&set, name);
    let layer = "relu4_2".to_string();
    let ours = vgg
        .forward(&get("image"), std::slice::from_ref(&layer))
        .unwrap();
    let (a, b) = (
        ours[&layer].to_vec().unwrap(),
        get(&layer).to_vec().unwrap(),
    );
    let norm = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let diff: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x - y).collect();
    let relative = norm(&diff) / norm(&b);
    println!("relu4_2 with f16 weights: relative L2 error {relative:.2e}");
    assert!(relative < 5e-3, "{relative}");
}
