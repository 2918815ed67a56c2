//! conv2d against PyTorch: output and all three gradients for the 8 cases in
//! `shared/fixtures/conv_cases.safetensors` (made in float64, stored as float32).

use engine::autograd::Conv2dParams;
use engine::shared_data::shared_file;
use engine::Tensor;
use safetensors::SafeTensors;
use std::collections::HashMap;

fn tensor(st: &SafeTensors, name: &str) -> Tensor {
    let view = st.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let data: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Tensor::from_vec(data, view.shape()).unwrap()
}

fn assert_close(name: &str, got: &Tensor, want: &Tensor) {
    assert_eq!(got.shape(), want.shape(), "{name}: shape");
    for (i, (a, b)) in got.to_vec().iter().zip(want.to_vec()).enumerate() {
        assert!(
            (a - b).abs() <= 1e-4 + 1e-4 * b.abs(),
            "{name}[{i}]: ours {a}, PyTorch {b}"
        );
    }
}

#[test]
fn conv2d_matches_pytorch_fixtures() {
    let Some(path) = shared_file("fixtures/conv_cases.safetensors") else {
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta: HashMap<String, String> = header.metadata().clone().unwrap_or_default();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut cases = 0;
    for k in 0.. {
        let Some(json) = meta.get(&format!("case{k}")) else {
            break;
        };
        let cfg: serde_json::Value = serde_json::from_str(json).unwrap();
        let get = |key: &str| cfg[key].as_u64().unwrap() as usize;
        let params = Conv2dParams::square(get("stride"), get("padding"), get("dilation"));
        let t = |field: &str| tensor(&st, &format!("case{k}.{field}"));
        let (x, w, b) = (
            t("input").requires_grad(),
            t("weight").requires_grad(),
            t("bias").requires_grad(),
        );
        let y = x.conv2d(&w, Some(&b), params).unwrap();
        assert_close(&format!("case{k} output"), &y, &t("output"));
        let grads = y.backward_with(&t("grad_output")).unwrap();
        assert_close(
            &format!("case{k} grad_input"),
            &grads.get_or_zeros(&x),
            &t("grad_input"),
        );
        assert_close(
            &format!("case{k} grad_weight"),
            &grads.get_or_zeros(&w),
            &t("grad_weight"),
        );
        assert_close(
            &format!("case{k} grad_bias"),
            &grads.get_or_zeros(&b),
            &t("grad_bias"),
        );
        cases += 1;
    }
    assert_eq!(cases, 8, "expected 8 conv cases in the fixture file");
}
