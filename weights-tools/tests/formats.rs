//! Every format reader reproduces the reference tiny VGG bit for bit; writer round trips.

mod common;

use common::{assert_same_tensors, shared, subset, temp_dir};
use weights_tools::{
    convert_bytes, load, read_bytes, read_path, to_safetensors, ConvertOptions, DType, Format,
    Preset, Tensor, WeightSet,
};

fn fixture(dir: &std::path::Path, ext: &str) -> Vec<u8> {
    std::fs::read(dir.join("fixtures").join(format!("tiny_vgg16.{ext}"))).expect("read fixture")
}

#[test]
fn every_format_reproduces_the_reference_tensors() {
    let Some(dir) = shared("every_format_reproduces_the_reference_tensors") else {
        return;
    };
    let (fmt, reference) = read_bytes(&fixture(&dir, "safetensors")).unwrap();
    assert_eq!(fmt, Format::Safetensors);
    assert_eq!(reference.tensors.len(), 26);
    for (ext, want) in [
        ("zip.pth", Format::PthZip),
        ("legacy.pth", Format::PthLegacy),
        ("onnx", Format::Onnx),
    ] {
        let bytes = fixture(&dir, ext);
        let (fmt, _) = read_bytes(&bytes).unwrap();
        assert_eq!(fmt, want, "{ext} detected as {fmt:?}");
        let c = convert_bytes(&bytes, &ConvertOptions::default()).unwrap();
        if want == Format::Onnx {
            // The ONNX export stops at relu5_1: 11 convolutions.
            assert_eq!(c.weights.tensors.len(), 22);
            assert_same_tensors(&c.weights, &subset(&reference, &c.weights));
        } else {
            assert_same_tensors(&c.weights, &reference);
            assert_eq!(c.weights.metadata["architecture"], "vgg16");
        }
        assert_eq!(c.weights.metadata["layout"], "OIHW");
    }
}

#[test]
fn pth_defaults_to_torchvision_and_presets_override() {
    let Some(dir) = shared("pth_defaults_to_torchvision_and_presets_override") else {
        return;
    };
    let bytes = fixture(&dir, "legacy.pth");
    let c = convert_bytes(&bytes, &ConvertOptions::default()).unwrap();
    assert_eq!(c.weights.metadata_f32("input_scale"), Some(1.0));
    assert_eq!(
        c.weights.metadata_f32s("input_mean"),
        Some(vec![0.485, 0.456, 0.406])
    );
    assert_eq!(
        c.weights.metadata_f32s("input_std"),
        Some(vec![0.229, 0.224, 0.225])
    );
    let opts = ConvertOptions {
        preset: Some(Preset::Caffe),
        ..Default::default()
    };
    let c = convert_bytes(&bytes, &opts).unwrap();
    assert_eq!(c.weights.metadata["input_scale"], "255");
    assert_eq!(
        c.weights.metadata["input_mean"],
        "[123.68, 116.779, 103.939]"
    );
    assert_eq!(c.weights.metadata["input_std"], "[1.0, 1.0, 1.0]");
}

#[test]
fn safetensors_keeps_its_metadata() {
    let Some(dir) = shared("safetensors_keeps_its_metadata") else {
        return;
    };
    let c = convert_bytes(&fixture(&dir, "safetensors"), &ConvertOptions::default()).unwrap();
    let m = &c.weights.metadata;
    assert_eq!(m["input_scale"], "255");
    assert_eq!(m["note"], "random weights, for format tests only");
    assert_eq!(m["architecture"], "vgg16-tiny (widths 4,8,16,32,32)");
    assert!(c.notes.is_empty(), "{:?}", c.notes);
}

#[test]
fn bgr_to_rgb_reverses_conv1_1_input_channels_only() {
    let Some(dir) = shared("bgr_to_rgb_reverses_conv1_1_input_channels_only") else {
        return;
    };
    let bytes = fixture(&dir, "zip.pth");
    let plain = convert_bytes(&bytes, &ConvertOptions::default())
        .unwrap()
        .weights;
    let opts = ConvertOptions {
        bgr_to_rgb: true,
        ..Default::default()
    };
    let flipped = convert_bytes(&bytes, &opts).unwrap().weights;
    let (a, b) = (
        plain.get("conv1_1.weight").unwrap(),
        flipped.get("conv1_1.weight").unwrap(),
    );
    for o in 0..4 {
        for c in 0..3 {
            for k in 0..9 {
                assert_eq!(
                    b.data[(o * 3 + c) * 9 + k],
                    a.data[(o * 3 + (2 - c)) * 9 + k]
                );
            }
        }
    }
    assert_eq!(plain.get("conv1_2.weight"), flipped.get("conv1_2.weight"));
}

#[test]
fn safetensors_round_trip_f32_and_f16() {
    let mut ws = WeightSet::new();
    let vals = vec![0.1f32, -2.5, 3.0e-5, 65504.0, f32::MIN_POSITIVE, 1.0 / 3.0];
    ws.push(Tensor::new("a", vec![2, 3], vals.clone(), DType::F32).unwrap())
        .unwrap();
    ws.push(Tensor::new("empty", vec![0, 4], vec![], DType::F32).unwrap())
        .unwrap();
    ws.metadata.insert("k \"quoted\"".into(), "v\n".into());
    let (_, back) = read_bytes(&to_safetensors(&ws, false).unwrap()).unwrap();
    assert_eq!(back, ws);
    let (_, half) = read_bytes(&to_safetensors(&ws, true).unwrap()).unwrap();
    let t = half.get("a").unwrap();
    assert_eq!(t.dtype, DType::F16);
    for (x, y) in t.data.iter().zip(&vals) {
        assert_eq!(x.to_bits(), half::f16::from_f32(*y).to_f32().to_bits());
    }
    // A value that overflows f16 is an error, not a silent infinity.
    let mut big = WeightSet::new();
    big.push(Tensor::new("b", vec![1], vec![1.0e6], DType::F32).unwrap())
        .unwrap();
    let e = to_safetensors(&big, true).unwrap_err().to_string();
    assert!(e.contains("does not fit in f16"), "{e}");
}

#[test]
fn real_vgg16_trims_to_f16_by_rounding() {
    let Some(dir) = shared("real_vgg16_trims_to_f16_by_rounding") else {
        return;
    };
    let path = dir.join("weights/vgg16-imagenet.safetensors");
    let (_, full) = read_path(&path).unwrap();
    assert_eq!(full.param_count(), 14_714_688);
    let c = convert_bytes(&std::fs::read(&path).unwrap(), &ConvertOptions::default()).unwrap();
    let bytes = to_safetensors(&c.weights, true).unwrap();
    assert!(bytes.len() < 32 << 20);
    let out = temp_dir("real_vgg16_trims_to_f16_by_rounding").join("v.safetensors");
    std::fs::write(&out, &bytes).unwrap();
    let half_ws = load(&out).unwrap();
    assert_eq!(half_ws.metadata["input_scale"], "255");
    assert_eq!(half_ws.metadata["license"], full.metadata["license"]);
    for t in &full.tensors {
        let h = half_ws.get(&t.name).unwrap();
        assert_eq!(h.shape, t.shape);
        assert_eq!(h.dtype, DType::F16);
        assert!(t
            .data
            .iter()
            .zip(&h.data)
            .all(|(x, y)| half::f16::from_f32(*x).to_f32().to_bits() == y.to_bits()));
    }
    let trimmed = weights_tools::names::trim(&c.weights, "relu4_1").unwrap();
    assert_eq!(weights_tools::names::conv_ids(&trimmed).len(), 8);
    let _ = std::fs::remove_dir_all(out.parent().unwrap());
}

#[test]
fn layer_problems_are_reported() {
    let t = |n: &str, s: Vec<usize>| {
        let k = s.iter().product();
        Tensor::new(n, s, vec![0.0; k], DType::F32).unwrap()
    };
    let conv = |ws: &mut WeightSet, n: &str, o: usize, i: usize| {
        ws.push(t(&format!("{n}.weight"), vec![o, i, 3, 3]))
            .unwrap();
        ws.push(t(&format!("{n}.bias"), vec![o])).unwrap();
    };
    let err = |ws: WeightSet| {
        weights_tools::names::to_project(ws)
            .unwrap_err()
            .to_string()
    };

    let mut ws = WeightSet::new();
    conv(&mut ws, "conv1_1", 4, 3);
    conv(&mut ws, "conv1_3", 4, 4);
    assert!(err(ws).contains("missing"));

    let mut ws = WeightSet::new();
    conv(&mut ws, "conv1_1", 4, 3);
    conv(&mut ws, "conv1_2", 4, 5);
    assert!(err(ws).contains("input channels"));

    let mut ws = WeightSet::new();
    conv(&mut ws, "conv1_1", 4, 3);
    ws.tensors.pop();
    assert!(err(ws).contains("conv1_1.bias is missing"));

    let mut ws = WeightSet::new();
    ws.push(t("conv1_1.weight", vec![4, 3, 3, 3])).unwrap();
    ws.push(t("conv1_1.bias", vec![5])).unwrap();
    assert!(err(ws).contains("output channels"));

    let mut ws = WeightSet::new();
    ws.push(t("fc.weight", vec![4, 3])).unwrap();
    assert!(err(ws).contains("no convolution layers"));

    let mut ws = WeightSet::new();
    conv(&mut ws, "features.0", 4, 3);
    conv(&mut ws, "features.4", 4, 4);
    assert!(err(ws).contains("gap 4"));

    // As many values as a 3×3 kernel, another shape: not a VGG convolution.
    let mut ws = WeightSet::new();
    ws.push(t("conv1_1.weight", vec![4, 3, 1, 9])).unwrap();
    ws.push(t("conv1_1.bias", vec![4])).unwrap();
    let e = err(ws);
    assert!(e.contains("conv1_1.weight") && e.contains("3×3"), "{e}");

    // Blocks must be VGG16's or VGG19's: a third convolution in block 1 is neither.
    let mut ws = WeightSet::new();
    for (i, name) in ["conv1_1", "conv1_2", "conv1_3", "conv2_1"]
        .iter()
        .enumerate()
    {
        conv(&mut ws, name, 4, if i == 0 { 3 } else { 4 });
    }
    assert!(err(ws).contains("VGG16 has [2, 2, 3, 3, 3]"));
    // A file trimmed after a complete block is fine.
    let mut ws = WeightSet::new();
    for (i, name) in ["conv1_1", "conv1_2", "conv2_1"].iter().enumerate() {
        conv(&mut ws, name, 4, if i == 0 { 3 } else { 4 });
    }
    assert!(weights_tools::names::to_project(ws).is_ok());
}
