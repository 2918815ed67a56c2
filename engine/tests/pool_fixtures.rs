//! max_pool2d and avg_pool2d against PyTorch: output and input gradient for the 5 cases in
//! `shared/fixtures/pool_cases.safetensors`.

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
fn pooling_matches_pytorch_fixtures() {
    let Some(path) = shared_file("fixtures/pool_cases.safetensors") else {
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
        let (kernel, stride, padding) = (get("kernel"), get("stride"), get("padding"));
        let t = |field: &str| tensor(&st, &format!("case{k}.{field}"));
        let x = t("input").requires_grad();
        let y = match cfg["kind"].as_str().unwrap() {
            "max" => x.max_pool2d(kernel, stride, padding),
            "avg" => x.avg_pool2d(kernel, stride, padding),
            other => panic!("unknown pooling kind {other}"),
        }
        .unwrap();
        assert_close(&format!("case{k} output"), &y, &t("output"));
        let grads = y.backward_with(&t("grad_output")).unwrap();
        assert_close(
            &format!("case{k} grad_input"),
            &grads.get_or_zeros(&x),
            &t("grad_input"),
        );
        cases += 1;
    }
    assert_eq!(cases, 5, "expected 5 pooling cases in the fixture file");
}
