//! safetensors reader and writer, hand-written so every size in the header is checked against the
//! real file length before anything is allocated.
//!
//! Layout: u64 little-endian header length N, N bytes of JSON
//! `{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}}`,
//! then the data buffer (offsets are relative to its start).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{Result, WeightsError};
use crate::weights::{decode_le, numel, DType, Tensor, WeightSet};

const FMT: &str = "safetensors";
/// The reference implementation refuses headers above 100 MB; so do we.
const MAX_HEADER: u64 = 100_000_000;

/// True if the bytes look like a safetensors file: a header length then `{`. An implausible
/// length still counts (unless the bytes could be ONNX), so the reader can say what is wrong
/// with it instead of "unrecognised format".
pub fn looks_like(bytes: &[u8]) -> bool {
    if bytes.len() < 9 || bytes[8] != b'{' {
        return false;
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap_or([0; 8]));
    (2..=MAX_HEADER).contains(&n) || !crate::onnx::looks_like(bytes)
}

/// Parses a whole safetensors file held in memory.
pub fn read(bytes: &[u8]) -> Result<WeightSet> {
    if bytes.len() < 8 {
        return Err(WeightsError::corrupt(
            FMT,
            format!(
                "file is {} bytes, shorter than the 8-byte header length",
                bytes.len()
            ),
        ));
    }
    let n = u64::from_le_bytes(
        bytes[..8]
            .try_into()
            .map_err(|_| WeightsError::corrupt(FMT, "header"))?,
    );
    let avail = (bytes.len() - 8) as u64;
    if n > avail {
        return Err(WeightsError::corrupt(
            FMT,
            format!("header length {n} is larger than the {avail} bytes after it"),
        ));
    }
    if n > MAX_HEADER {
        return Err(WeightsError::corrupt(
            FMT,
            format!("header length {n} exceeds the 100 MB limit"),
        ));
    }
    let header_end = 8 + n as usize;
    let header: HeaderEntries = serde_json::from_slice(&bytes[8..header_end]).map_err(|e| {
        WeightsError::corrupt(FMT, format!("header is not a valid JSON object: {e}"))
    })?;
    let data = &bytes[header_end..];

    let mut ws = WeightSet::new();
    let mut entries = Vec::new();
    let mut seen = std::collections::HashSet::with_capacity(header.0.len());
    for (name, entry) in &header.0 {
        // A JSON parser keeps one of two equal keys silently; which tensor is meant is
        // anybody's guess, so the file is refused.
        if !seen.insert(name.as_str()) {
            return Err(WeightsError::corrupt(
                FMT,
                format!("the header names {name:?} twice; a tensor name must be unique"),
            ));
        }
        if name == "__metadata__" {
            ws.metadata = read_metadata(entry)?;
            continue;
        }
        let (dtype, shape, begin, end) = read_entry(name, entry, data.len())?;
        entries.push((begin, name.clone(), dtype, shape, end));
    }
    // JSON objects are unordered; file order (by offset) is the natural order for inspect.
    entries.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    // Two tensors sharing bytes would alias each other's values: refused, as the reference
    // implementation does. (Empty tensors occupy no bytes and overlap nothing.)
    let mut previous: Option<(&str, usize)> = None;
    for (begin, name, _, _, end) in &entries {
        if let Some((other, other_end)) = previous.filter(|&(_, e)| *begin < e && begin < end) {
            return Err(WeightsError::corrupt(
                FMT,
                format!(
                    "tensors {other:?} and {name:?} overlap: {name:?} starts at byte {begin}, \
                     before {other:?} ends at byte {other_end}"
                ),
            ));
        }
        if end > begin {
            previous = Some((name, *end));
        }
    }
    // Names are known to be unique (checked above), so the set is built in one pass.
    let tensors = entries
        .into_iter()
        .map(|(begin, name, dtype, shape, end)| {
            Tensor::new(name, shape, decode_le(&data[begin..end], dtype), dtype)
        })
        .collect::<Result<Vec<_>>>()?;
    ws.tensors = tensors;
    Ok(ws)
}

/// The header's entries in the order written, duplicate keys included (a map would keep only
/// one of them without a word).
struct HeaderEntries(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for HeaderEntries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = HeaderEntries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object of tensor entries")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<HeaderEntries, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(HeaderEntries(entries))
            }
        }
        d.deserialize_map(Visitor)
    }
}

fn read_metadata(v: &Value) -> Result<BTreeMap<String, String>> {
    let obj = v
        .as_object()
        .ok_or_else(|| WeightsError::corrupt(FMT, "__metadata__ is not an object"))?;
    obj.iter()
        .map(|(k, v)| match v.as_str() {
            Some(s) => Ok((k.clone(), s.to_string())),
            None => Err(WeightsError::corrupt(
                FMT,
                format!("__metadata__ value for {k:?} is not a string"),
            )),
        })
        .collect()
}

fn read_entry(name: &str, v: &Value, data_len: usize) -> Result<(DType, Vec<usize>, usize, usize)> {
    let bad = |what: &str| WeightsError::corrupt(FMT, format!("tensor {name:?}: {what}"));
    let dtype_s = v
        .get("dtype")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("missing dtype"))?;
    let dtype = match dtype_s {
        "F32" => DType::F32,
        "F16" => DType::F16,
        "BF16" => DType::BF16,
        "F64" => DType::F64,
        "I64" => DType::I64,
        other => {
            return Err(WeightsError::unsupported(
                FMT,
                format!(
                "tensor {name:?} has dtype {other}; only F32, F16, BF16, F64 and I64 can be read"
            ),
            ))
        }
    };
    let shape: Vec<usize> = v
        .get("shape")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("missing shape"))?
        .iter()
        .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
        .collect::<Option<_>>()
        .ok_or_else(|| bad("shape must be a list of non-negative integers"))?;
    let offs = v
        .get("data_offsets")
        .and_then(Value::as_array)
        .filter(|a| a.len() == 2)
        .ok_or_else(|| bad("data_offsets must be [begin, end]"))?;
    let begin = offs[0].as_u64().ok_or_else(|| bad("bad begin offset"))?;
    let end = offs[1].as_u64().ok_or_else(|| bad("bad end offset"))?;
    if begin > end || end > data_len as u64 {
        return Err(bad(&format!(
            "data_offsets [{begin}, {end}] lie outside the {data_len}-byte data section"
        )));
    }
    let need = numel(&shape)
        .and_then(|n| n.checked_mul(dtype.size()))
        .ok_or_else(|| bad("shape overflows"))?;
    if (end - begin) as usize != need {
        return Err(bad(&format!(
            "shape {shape:?} of {} needs {need} bytes but data_offsets span {}",
            dtype.name(),
            end - begin
        )));
    }
    Ok((dtype, shape, begin as usize, end as usize))
}

/// Element type to store when writing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreAs {
    F32,
    F16,
}

/// Serialises a weight set; tensors keep their order, metadata goes in `__metadata__`.
/// Storing f16 fails if a value would overflow to infinity (that would silently break a model).
pub fn write(ws: &WeightSet, store: StoreAs) -> Result<Vec<u8>> {
    let (dtype, size) = match store {
        StoreAs::F32 => ("F32", 4),
        StoreAs::F16 => ("F16", 2),
    };
    // Build the JSON by hand to keep tensor order (serde_json's map would sort it).
    let mut header = String::from("{");
    let js = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    if !ws.metadata.is_empty() {
        header.push_str("\"__metadata__\":{");
        let items: Vec<String> = ws
            .metadata
            .iter()
            .map(|(k, v)| format!("{}:{}", js(k), js(v)))
            .collect();
        header.push_str(&items.join(","));
        header.push('}');
    }
    let mut offset = 0usize;
    for t in &ws.tensors {
        if header.len() > 1 {
            header.push(',');
        }
        let len = t.numel() * size;
        let shape: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
        header.push_str(&format!(
            "{}:{{\"dtype\":\"{dtype}\",\"shape\":[{}],\"data_offsets\":[{offset},{}]}}",
            js(&t.name),
            shape.join(","),
            offset + len
        ));
        offset += len;
    }
    header.push('}');
    // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
    while !header.len().is_multiple_of(8) {
        header.push(' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for t in &ws.tensors {
        match store {
            StoreAs::F32 => t
                .data
                .iter()
                .for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
            StoreAs::F16 => {
                for &v in &t.data {
                    let h = half::f16::from_f32(v);
                    if h.is_infinite() && v.is_finite() {
                        return Err(WeightsError::Invalid(format!(
                            "tensor {}: value {v} does not fit in f16; store it as f32 (drop --f16)",
                            t.name
                        )));
                    }
                    out.extend_from_slice(&h.to_le_bytes());
                }
            }
        }
    }
    Ok(out)
}
