//! Reading the PyTorch-made fixture files (`shared/fixtures/*_cases.safetensors`): float32
//! tensors named `case{k}.{field}` and a JSON settings string per case in the metadata.

use engine::shared_data::shared_file;
use engine::Tensor;
use safetensors::SafeTensors;
use std::collections::HashMap;

/// One fixture file, read once.
pub struct Fixtures {
    bytes: Vec<u8>,
    metadata: HashMap<String, String>,
}

impl Fixtures {
    /// The file under the shared folder, or `None` (after a skip message) when absent.
    pub fn open(relative: &str) -> Option<Self> {
        let bytes = std::fs::read(shared_file(relative)?).unwrap();
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let metadata = header.metadata().clone().unwrap_or_default();
        Some(Fixtures { bytes, metadata })
    }

    /// Settings of case `k`, or `None` past the last case.
    pub fn case(&self, k: usize) -> Option<serde_json::Value> {
        let json = self.metadata.get(&format!("case{k}"))?;
        Some(serde_json::from_str(json).unwrap())
    }

    /// Tensor `case{k}.{field}`.
    pub fn tensor(&self, k: usize, field: &str) -> Tensor {
        let name = format!("case{k}.{field}");
        let st = SafeTensors::deserialize(&self.bytes).unwrap();
        let view = st.tensor(&name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let data: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Tensor::from_vec(data, view.shape()).unwrap()
    }
}

/// Equal shapes and every element within 1e-4 absolute + 1e-4 relative of PyTorch's.
pub fn assert_close(name: &str, got: &Tensor, want: &Tensor) {
    assert_eq!(got.shape(), want.shape(), "{name}: shape");
    for (i, (a, b)) in got
        .to_vec()
        .unwrap()
        .iter()
        .zip(want.to_vec().unwrap())
        .enumerate()
    {
        assert!(
            (a - b).abs() <= 1e-4 + 1e-4 * b.abs(),
            "{name}[{i}]: ours {a}, PyTorch {b}"
        );
    }
}
