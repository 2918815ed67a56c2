//! The in-memory model every reader produces and every writer consumes: an ordered list of named
//! f32 tensors plus string metadata. f32 is the engine's compute type, so converting once on load
//! keeps the rest of the code simple; the original dtype is remembered for `inspect`.

use std::collections::BTreeMap;

use crate::error::{Result, WeightsError};

/// Element type a tensor had in its source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F32,
    F16,
    BF16,
    F64,
    I64,
}

impl DType {
    /// Bytes per element in the source file.
    pub fn size(self) -> usize {
        match self {
            DType::F16 | DType::BF16 => 2,
            DType::F32 => 4,
            DType::F64 | DType::I64 => 8,
        }
    }

    /// Name as safetensors spells it.
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "F32",
            DType::F16 => "F16",
            DType::BF16 => "BF16",
            DType::F64 => "F64",
            DType::I64 => "I64",
        }
    }
}

/// One named tensor, row-major, always held as f32.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
    /// Element type in the file it came from (or will be written as).
    pub dtype: DType,
}

impl Tensor {
    /// Checks that `data` matches `shape` so later code can index without surprises.
    pub fn new(
        name: impl Into<String>,
        shape: Vec<usize>,
        data: Vec<f32>,
        dtype: DType,
    ) -> Result<Self> {
        let name = name.into();
        let n = numel(&shape).ok_or_else(|| {
            WeightsError::Invalid(format!("tensor {name}: shape {shape:?} overflows"))
        })?;
        if n != data.len() {
            return Err(WeightsError::Invalid(format!(
                "tensor {name}: shape {shape:?} needs {n} values but {} were given",
                data.len()
            )));
        }
        Ok(Tensor {
            name,
            shape,
            data,
            dtype,
        })
    }

    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// How many values are NaN and how many infinite.
    pub fn non_finite_counts(&self) -> (usize, usize) {
        self.data.iter().fold((0, 0), |(nan, inf), v| {
            (
                nan + usize::from(v.is_nan()),
                inf + usize::from(v.is_infinite()),
            )
        })
    }
}

/// Product of the dimensions, or None on overflow (a corrupt header can claim anything).
pub fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// Ordered named tensors plus string metadata (safetensors' `__metadata__` model).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WeightSet {
    pub tensors: Vec<Tensor>,
    pub metadata: BTreeMap<String, String>,
}

impl WeightSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// The tensor called `name`, if present.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Appends a tensor; duplicate names are an error because later lookups would be ambiguous.
    pub fn push(&mut self, t: Tensor) -> Result<()> {
        if self.get(&t.name).is_some() {
            return Err(WeightsError::Invalid(format!(
                "duplicate tensor name {}",
                t.name
            )));
        }
        self.tensors.push(t);
        Ok(())
    }

    /// A set of `tensors`, refusing duplicate names; linear in their number (a file may hold
    /// hundreds of thousands of names, and [`WeightSet::push`] compares each with all before).
    pub fn from_tensors(tensors: Vec<Tensor>) -> Result<Self> {
        let mut seen = std::collections::HashSet::with_capacity(tensors.len());
        if let Some(dup) = tensors.iter().find(|t| !seen.insert(t.name.as_str())) {
            return Err(WeightsError::Invalid(format!(
                "duplicate tensor name {}; which of the two is meant cannot be told",
                dup.name
            )));
        }
        Ok(WeightSet {
            tensors,
            metadata: BTreeMap::new(),
        })
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.iter().map(|t| t.name.as_str())
    }

    /// Total number of scalar parameters.
    pub fn param_count(&self) -> usize {
        self.tensors.iter().map(|t| t.numel()).sum()
    }

    /// Every tensor holding NaN or infinite values, as the error that names it (file order).
    pub fn non_finite(&self) -> Vec<WeightsError> {
        self.tensors
            .iter()
            .filter_map(|t| {
                let (nan, inf) = t.non_finite_counts();
                (nan + inf > 0).then(|| WeightsError::NonFinite {
                    tensor: t.name.clone(),
                    nan,
                    inf,
                    total: t.numel(),
                })
            })
            .collect()
    }

    /// Refuse a set with NaN or infinite values, naming the first tensor that has them.
    pub fn ensure_finite(&self) -> Result<()> {
        match self.non_finite().into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Metadata value parsed as a JSON array of numbers (how `input_mean`/`input_std` are stored).
    pub fn metadata_f32s(&self, key: &str) -> Option<Vec<f32>> {
        let v: serde_json::Value = serde_json::from_str(self.metadata.get(key)?).ok()?;
        v.as_array()?
            .iter()
            .map(|x| x.as_f64().map(|f| f as f32))
            .collect()
    }

    /// Metadata value parsed as one number (how `input_scale` is stored).
    pub fn metadata_f32(&self, key: &str) -> Option<f32> {
        self.metadata.get(key)?.trim().parse().ok()
    }
}

/// Decodes little-endian raw bytes of `dtype` into f32. The caller has already checked that
/// `bytes.len()` is exactly `numel * dtype.size()`, so this never over-allocates.
pub(crate) fn decode_le(bytes: &[u8], dtype: DType) -> Vec<f32> {
    match dtype {
        DType::F32 => bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        DType::F16 => bytes
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        DType::BF16 => bytes
            .chunks_exact(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        DType::F64 => bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
        DType::I64 => bytes
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
    }
}
