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
    /// Integer attributes (strides, group, dilations, pads, kernel_shape), string ones
    /// (auto_pad), and a Constant's tensor.
    ints: HashMap<&'a str, Vec<i64>>,
    strings: HashMap<&'a str, &'a str>,
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
                let name = tensor_name(t)?;
                if inits.insert(name, t).is_some() {
                    return Err(duplicate(name, "two initializers"));
                }
            }
            _ => {}
        }
    }
    // Constant nodes are another place exporters put weights.
    for n in &nodes {
        if let (true, Some(t), Some(out)) = (n.op == "Constant", n.value, n.outputs.first()) {
            if inits.insert(out, t).is_some() {
                return Err(duplicate(
                    out,
                    "a Constant node's output and another tensor",
                ));
            }
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
                check_conv_geometry(n, &w.shape)?;
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

/// Two tensors under one name: ONNX Runtime takes one, this reader would take another, so the
/// file is refused rather than read differently.
fn duplicate(name: &str, what: &str) -> WeightsError {
    WeightsError::corrupt(
        FMT,
        format!(
            "{what} are both named {name:?}; which one a Conv reads cannot be told, so the file \
             is refused. Re-export the model"
        ),
    )
}

/// A VGG convolution keeps the picture's size: its kernel is the weight's, and it pads by
/// half the kernel on every side (explicit `pads`, or `auto_pad` SAME_*). ONNX's default is no
/// padding, which would shrink every feature map and read as a different network.
fn check_conv_geometry(n: &NodeInfo, weight: &[usize]) -> Result<()> {
    let kernel = [weight[2] as i64, weight[3] as i64];
    if let Some(k) = n.ints.get("kernel_shape") {
        if k.as_slice() != kernel {
            return Err(WeightsError::layers(format!(
                "Conv node {:?} has kernel_shape {k:?} but its weight is {}×{}",
                n.name, kernel[0], kernel[1]
            )));
        }
    }
    let same = [kernel[0] / 2, kernel[1] / 2, kernel[0] / 2, kernel[1] / 2];
    let auto_pad = n.strings.get("auto_pad").copied().unwrap_or("NOTSET");
    let pads = n.ints.get("pads").cloned().unwrap_or_else(|| vec![0; 4]);
    let padded_as_vgg = match auto_pad {
        "SAME_UPPER" | "SAME_LOWER" => kernel.iter().all(|k| k % 2 == 1),
        "NOTSET" | "" => pads.as_slice() == same,
        _ => false,
    };
    if !padded_as_vgg {
        return Err(WeightsError::layers(format!(
            "Conv node {:?} pads {} (auto_pad {auto_pad}); a VGG convolution pads by {:?} to \
             keep the picture's size, so this network is not the one the weights would be \
             used in",
            n.name,
            if auto_pad == "NOTSET" || auto_pad.is_empty() {
                format!("{pads:?}")
            } else {
                "automatically".to_string()
            },
            same
        )));
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
        strings: HashMap::new(),
        value: None,
    };
    for f in fields(b) {
        match f? {
            (1, f) => n.inputs.push(as_str(f)?),
            (2, f) => n.outputs.push(as_str(f)?),
            (3, f) => n.name = as_str(f)?,
            (4, f) => n.op = as_str(f)?,
            (5, Field::Bytes(a)) => {
                // AttributeProto: name=1, i=3, s=4, t=5, ints=8.
                let (mut name, mut ints, mut t, mut text) = ("", Vec::new(), None, None);
                for af in fields(a) {
                    match af? {
                        (1, f) => name = as_str(f)?,
                        (4, f @ Field::Bytes(_)) => text = Some(as_str(f)?),
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
                if let Some(text) = text {
                    n.strings.insert(name, text);
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
            // Dimensions are int64, sent as varints: a negative one arrives as a huge u64.
            let signed = d as i64;
            if signed < 0 {
                return Err(WeightsError::corrupt(
                    FMT,
                    format!("{name}: dimension {signed} is negative; a size cannot be"),
                ));
            }
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
