//! ONNX reader: walks ModelProto.graph with the hand-written protobuf decoder and takes each Conv
//! node's weight and bias (initializers, or Constant node outputs) in graph order. ONNX names are
//! arbitrary (exporter-generated), so the graph structure is what gives the project names: the
//! n-th Conv after the (b-1)-th pooling node is `conv{b}_{n}`.

use std::collections::HashMap;

use crate::error::{Result, WeightsError};
use crate::protobuf::{as_str, fields, push_varints, Field};
use crate::weights::{decode_le, numel, DType, Tensor, WeightSet};

const FMT: &str = "ONNX";

/// ONNX files have no magic; a ModelProto starts with ir_version (field 1, varint, small).
pub fn looks_like(bytes: &[u8]) -> bool {
    bytes.len() > 2 && bytes[0] == 0x08 && (1..=32).contains(&bytes[1])
}

struct NodeInfo<'a> {
    op: &'a str,
    name: &'a str,
    inputs: Vec<&'a str>,
    outputs: Vec<&'a str>,
    /// Integer attributes (strides, group, dilations), and a Constant's tensor.
    ints: HashMap<&'a str, Vec<i64>>,
    value: Option<&'a [u8]>,
}

pub fn read(bytes: &[u8]) -> Result<WeightSet> {
    let mut graph = None;
    for f in fields(bytes) {
        if let (7, Field::Bytes(g)) = f? {
            graph = Some(g);
        }
    }
    let graph = graph.ok_or_else(|| WeightsError::corrupt(FMT, "model has no graph"))?;

    let mut inits: HashMap<&str, &[u8]> = HashMap::new();
    let mut nodes = Vec::new();
    for f in fields(graph) {
        match f? {
            (1, Field::Bytes(n)) => nodes.push(node(n)?),
            (5, Field::Bytes(t)) => {
                inits.insert(tensor_name(t)?, t);
            }
            _ => {}
        }
    }
    // Constant nodes are another place exporters put weights.
    for n in &nodes {
        if let (true, Some(t), Some(out)) = (n.op == "Constant", n.value, n.outputs.first()) {
            inits.insert(out, t);
        }
    }

    let mut ws = WeightSet::new();
    let (mut block, mut idx) = (1usize, 0usize);
    for n in &nodes {
        match n.op {
            "MaxPool" | "AveragePool" if idx > 0 => {
                block += 1;
                idx = 0;
            }
            "Conv" => {
                check_conv_attrs(n)?;
                idx += 1;
                let stem = format!("conv{block}_{idx}");
                let w_name = n.inputs.get(1).copied().unwrap_or("");
                let w_bytes = inits.get(w_name).ok_or_else(|| {
                    WeightsError::unsupported(
                        FMT,
                        format!("Conv node {:?}'s weight {w_name:?} is computed at run time, not stored; export with constant weights", n.name),
                    )
                })?;
                let w = decode_tensor(&format!("{stem}.weight"), w_bytes)?;
                if w.shape.len() != 4 {
                    return Err(WeightsError::layers(format!(
                        "Conv node {:?}: weight shape {:?} is not 4-D",
                        n.name, w.shape
                    )));
                }
                let out_ch = w.shape[0];
                let b = match n.inputs.get(2).filter(|s| !s.is_empty()) {
                    Some(b_name) => {
                        let b = inits.get(b_name).ok_or_else(|| {
                            WeightsError::unsupported(
                                FMT,
                                format!(
                                    "Conv node {:?}'s bias {b_name:?} is not stored in the file",
                                    n.name
                                ),
                            )
                        })?;
                        decode_tensor(&format!("{stem}.bias"), b)?
                    }
                    // A Conv without bias is the same as one with a zero bias.
                    None => Tensor::new(
                        format!("{stem}.bias"),
                        vec![out_ch],
                        vec![0.0; out_ch],
                        w.dtype,
                    )?,
                };
                ws.push(w)?;
                ws.push(b)?;
            }
            _ => {}
        }
    }
    if ws.tensors.is_empty() {
        return Err(WeightsError::layers(
            "the ONNX graph has no Conv nodes; only convolutional (VGG-style) models can be converted",
        ));
    }
    Ok(ws)
}

fn check_conv_attrs(n: &NodeInfo) -> Result<()> {
    let bad = |what: &str, v: &Vec<i64>| {
        Err(WeightsError::layers(format!(
            "Conv node {:?} has {what} {v:?}; VGG convolutions need stride 1, dilation 1, one group",
            n.name
        )))
    };
    for (k, v) in &n.ints {
        match *k {
            "strides" | "dilations" if v.iter().any(|&x| x != 1) => return bad(k, v),
            "group" if v.iter().any(|&x| x != 1) => return bad(k, v),
            _ => {}
        }
    }
    Ok(())
}

fn node(b: &[u8]) -> Result<NodeInfo<'_>> {
    let mut n = NodeInfo {
        op: "",
        name: "",
        inputs: vec![],
        outputs: vec![],
        ints: HashMap::new(),
        value: None,
    };
    for f in fields(b) {
        match f? {
            (1, f) => n.inputs.push(as_str(f)?),
            (2, f) => n.outputs.push(as_str(f)?),
            (3, f) => n.name = as_str(f)?,
            (4, f) => n.op = as_str(f)?,
            (5, Field::Bytes(a)) => {
                // AttributeProto: name=1, i=3, t=5, ints=8.
                let (mut name, mut ints, mut t) = ("", Vec::new(), None);
                for af in fields(a) {
                    match af? {
                        (1, f) => name = as_str(f)?,
                        (3, Field::Varint(v)) => ints.push(v),
                        (8, f) => push_varints(f, &mut ints)?,
                        (5, Field::Bytes(tb)) => t = Some(tb),
                        _ => {}
                    }
                }
                n.ints
                    .insert(name, ints.into_iter().map(|v| v as i64).collect());
                if name == "value" {
                    n.value = t;
                }
            }
            _ => {}
        }
    }
    Ok(n)
}

fn tensor_name(t: &[u8]) -> Result<&str> {
    for f in fields(t) {
        if let (8, f) = f? {
            return as_str(f);
        }
    }
    Ok("")
}

/// Decodes a TensorProto (FLOAT, FLOAT16, BFLOAT16 or DOUBLE; raw_data or typed fields).
fn decode_tensor(name: &str, t: &[u8]) -> Result<Tensor> {
    let (mut dims, mut data_type, mut raw) = (Vec::new(), 0u64, None);
    let mut floats: Vec<f32> = Vec::new();
    let mut int32s: Vec<u64> = Vec::new();
    let mut doubles: Vec<f64> = Vec::new();
    for f in fields(t) {
        match f? {
            (1, f) => push_varints(f, &mut dims)?,
            (2, Field::Varint(v)) => data_type = v,
            (4, Field::Bytes(b)) => floats.extend(b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
            (4, Field::Fixed32(v)) => floats.push(f32::from_bits(v)),
            (5, f) => push_varints(f, &mut int32s)?,
            (9, Field::Bytes(b)) => raw = Some(b),
            (10, Field::Bytes(b)) => doubles.extend(b.chunks_exact(8).map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                f64::from_le_bytes(a)
            })),
            (10, Field::Fixed64(v)) => doubles.push(f64::from_bits(v)),
            (14, Field::Varint(1)) => {
                return Err(WeightsError::unsupported(
                    FMT,
                    format!("tensor for {name} is stored in an external data file; re-export the model with the weights inside the .onnx file"),
                ))
            }
            _ => {}
        }
    }
    let shape: Vec<usize> = dims
        .iter()
        .map(|&d| {
            usize::try_from(d)
                .map_err(|_| WeightsError::corrupt(FMT, format!("{name}: bad dimension {d}")))
        })
        .collect::<Result<_>>()?;
    let n = numel(&shape)
        .ok_or_else(|| WeightsError::corrupt(FMT, format!("{name}: shape overflows")))?;
    let dtype = match data_type {
        1 => DType::F32,
        10 => DType::F16,
        16 => DType::BF16,
        11 => DType::F64,
        other => {
            return Err(WeightsError::unsupported(
                FMT,
                format!("{name}: tensor data type {other}; only float, float16, bfloat16 and double weights are supported"),
            ))
        }
    };
    let data = if let Some(raw) = raw {
        if n.checked_mul(dtype.size()) != Some(raw.len()) {
            return Err(WeightsError::corrupt(
                FMT,
                format!(
                    "{name}: shape {shape:?} needs {n} values but raw_data holds {} bytes",
                    raw.len()
                ),
            ));
        }
        decode_le(raw, dtype)
    } else {
        let vals: Vec<f32> = match dtype {
            DType::F32 => floats,
            DType::F64 => doubles.into_iter().map(|v| v as f32).collect(),
            DType::F16 => int32s
                .into_iter()
                .map(|v| half::f16::from_bits(v as u16).to_f32())
                .collect(),
            _ => int32s
                .into_iter()
                .map(|v| half::bf16::from_bits(v as u16).to_f32())
                .collect(),
        };
        if vals.len() != n {
            return Err(WeightsError::corrupt(
                FMT,
                format!(
                    "{name}: shape {shape:?} needs {n} values but the tensor holds {}",
                    vals.len()
                ),
            ));
        }
        vals
    };
    Tensor::new(name, shape, data, dtype)
}
