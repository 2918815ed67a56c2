//! conv2d against PyTorch: output and all three gradients for the 8 cases in
//! `shared/fixtures/conv_cases.safetensors` (made in float64, stored as float32).

mod pytorch_fixtures;

use engine::autograd::Conv2dParams;
use pytorch_fixtures::{assert_close, Fixtures};

#[test]
fn conv2d_matches_pytorch_fixtures() {
    let Some(fixtures) = Fixtures::open("fixtures/conv_cases.safetensors") else {
        return;
    };
    let mut cases = 0;
    while let Some(cfg) = fixtures.case(cases) {
        let k = cases;
        let get = |key: &str| cfg[key].as_u64().unwrap() as usize;
        let params = Conv2dParams::square(get("stride"), get("padding"), get("dilation"));
        let t = |field: &str| fixtures.tensor(k, field);
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
            &grads.get_or_zeros(&x).unwrap(),
            &t("grad_input"),
        );
        assert_close(
            &format!("case{k} grad_weight"),
            &grads.get_or_zeros(&w).unwrap(),
            &t("grad_weight"),
        );
        assert_close(
            &format!("case{k} grad_bias"),
            &grads.get_or_zeros(&b).unwrap(),
            &t("grad_bias"),
        );
        cases += 1;
    }
    assert_eq!(cases, 8, "expected 8 conv cases in the fixture file");
}
