//! max_pool2d and avg_pool2d against PyTorch: output and input gradient for the 5 cases in
//! `shared/fixtures/pool_cases.safetensors`.

mod pytorch_fixtures;

use pytorch_fixtures::{assert_close, Fixtures};

#[test]
fn pooling_matches_pytorch_fixtures() {
    let Some(fixtures) = Fixtures::open("fixtures/pool_cases.safetensors") else {
        return;
    };
    let mut cases = 0;
    while let Some(cfg) = fixtures.case(cases) {
        let k = cases;
        let get = |key: &str| cfg[key].as_u64().unwrap() as usize;
        let (kernel, stride, padding) = (get("kernel"), get("stride"), get("padding"));
        let t = |field: &str| fixtures.tensor(k, field);
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
            &grads.get_or_zeros(&x).unwrap(),
            &t("grad_input"),
        );
        cases += 1;
    }
    assert_eq!(cases, 5, "expected 5 pooling cases in the fixture file");
}
