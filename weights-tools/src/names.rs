//! Maps source tensor names to the project's `conv{block}_{n}.weight|bias` (OIHW) and checks that
//! the result is a coherent VGG conv stack. Blocks are the runs of convolutions between poolings.

use std::collections::BTreeMap;

use crate::error::{Result, WeightsError};
use crate::weights::{Tensor, WeightSet};

/// A convolution's place in the network: block (1-based) and index within the block (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ConvId {
    pub block: usize,
    pub index: usize,
}

impl ConvId {
    pub fn name(self) -> String {
        format!("conv{}_{}", self.block, self.index)
    }
}

/// Parses "conv4_1" → (4, 1).
pub fn parse_conv(s: &str) -> Option<ConvId> {
    let (b, n) = s.strip_prefix("conv")?.split_once('_')?;
    let block = b.parse().ok().filter(|&b| b > 0)?;
    let index = n.parse().ok().filter(|&n| n > 0)?;
    Some(ConvId { block, index })
}

/// Splits a project tensor name "conv4_1.weight" → (conv, is_weight).
fn parse_project(name: &str) -> Option<(ConvId, bool)> {
    let (layer, kind) = name.rsplit_once('.')?;
    let w = match kind {
        "weight" => true,
        "bias" => false,
        _ => return None,
    };
    Some((parse_conv(layer)?, w))
}

/// Splits a torchvision name "[prefix.]features.7.weight" → (7, is_weight).
fn parse_torchvision(name: &str) -> Option<(usize, &str)> {
    let pos = if name.starts_with("features.") {
        0
    } else {
        name.rfind(".features.")? + 1
    };
    let rest = &name[pos + "features.".len()..];
    let (i, kind) = rest.split_once('.')?;
    Some((i.parse().ok()?, kind))
}

/// Renames and reorders `ws` into project names (weight then bias per layer, network order),
/// dropping tensors that are not convolutions (e.g. torchvision's classifier). Returns notes
/// about what was dropped. Metadata is kept as is.
pub fn to_project(ws: WeightSet) -> Result<(WeightSet, Vec<String>)> {
    let mut notes = Vec::new();
    let WeightSet { tensors, metadata } = ws;
    let has_project = tensors.iter().any(|t| parse_project(&t.name).is_some());
    let mut named: Vec<(ConvId, bool, Tensor)> = Vec::new();
    let mut dropped = Vec::new();
    if has_project {
        for t in tensors {
            match parse_project(&t.name) {
                Some((id, w)) => named.push((id, w, t)),
                None => dropped.push(t.name),
            }
        }
    } else {
        let mut by_index: BTreeMap<usize, Vec<(bool, Tensor)>> = BTreeMap::new();
        for t in tensors {
            match parse_torchvision(&t.name) {
                Some((i, "weight")) if t.shape.len() == 4 => by_index.entry(i).or_default().push((true, t)),
                Some((i, "bias")) => by_index.entry(i).or_default().push((false, t)),
                Some((_, "running_mean" | "running_var")) => {
                    return Err(WeightsError::layers(
                        "this is a batch-norm VGG (e.g. vgg16_bn); only plain VGG weights (vgg16, vgg19) are supported",
                    ))
                }
                _ => dropped.push(t.name),
            }
        }
        if by_index.is_empty() {
            let sample: Vec<&str> = dropped.iter().take(4).map(String::as_str).collect();
            return Err(WeightsError::layers(format!(
                "no convolution layers recognised (found names like {sample:?}); expected conv{{b}}_{{n}}.weight or torchvision features.{{i}}.weight"
            )));
        }
        // torchvision's `features` is conv, relu, [pool,] conv, ...: index gap 2 stays in the
        // block, gap 3 means a pooling layer came in between, so a new block starts.
        let mut id = ConvId { block: 1, index: 0 };
        let mut prev: Option<usize> = None;
        for (i, ts) in by_index {
            match prev.map(|p| i - p) {
                None | Some(2) => id.index += 1,
                Some(3) => id = ConvId { block: id.block + 1, index: 1 },
                Some(g) => {
                    return Err(WeightsError::layers(format!(
                        "features.{i} follows features.{} (gap {g}); a plain VGG has gaps of 2 (conv, relu) or 3 (conv, relu, pool)",
                        i - g
                    )))
                }
            }
            prev = Some(i);
            for (w, t) in ts {
                named.push((id, w, t));
            }
        }
    }
    if !dropped.is_empty() {
        notes.push(format!(
            "dropped {} non-convolution tensors ({}, ...)",
            dropped.len(),
            dropped[0]
        ));
    }
    let mut layers: BTreeMap<ConvId, (Option<Tensor>, Option<Tensor>)> = BTreeMap::new();
    for (id, w, mut t) in named {
        let slot = layers.entry(id).or_default();
        t.name = format!("{}.{}", id.name(), if w { "weight" } else { "bias" });
        if w {
            slot.0 = Some(t)
        } else {
            slot.1 = Some(t)
        }
    }
    let mut out = WeightSet {
        tensors: Vec::new(),
        metadata,
    };
    for (id, (w, b)) in layers {
        let w =
            w.ok_or_else(|| WeightsError::layers(format!("{}.weight is missing", id.name())))?;
        let b = b.ok_or_else(|| WeightsError::layers(format!("{}.bias is missing", id.name())))?;
        out.tensors.push(w);
        out.tensors.push(b);
    }
    validate(&out)?;
    Ok((out, notes))
}

/// The layers of a project-named set, in order.
pub fn conv_ids(ws: &WeightSet) -> Vec<ConvId> {
    let mut ids: Vec<ConvId> = ws
        .tensors
        .iter()
        .filter_map(|t| parse_project(&t.name).map(|(id, _)| id))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Checks a project-named set: blocks and indices numbered without gaps from 1, every layer has
/// a 4-D weight and a matching bias, and channels chain from 3 (RGB) through the stack.
pub fn validate(ws: &WeightSet) -> Result<()> {
    let ids = conv_ids(ws);
    if ids.is_empty() {
        return Err(WeightsError::layers("no conv{b}_{n}.weight/bias tensors"));
    }
    let mut in_ch = 3usize;
    let mut expect = ConvId { block: 1, index: 1 };
    for id in ids {
        let next_block = ConvId {
            block: expect.block + 1,
            index: 1,
        };
        if id != expect && !(expect.index > 1 && id == next_block) {
            return Err(WeightsError::layers(format!(
                "{} follows {}: layers are missing in between",
                id.name(),
                if expect.index > 1 {
                    ConvId {
                        index: expect.index - 1,
                        ..expect
                    }
                    .name()
                } else {
                    "the input".into()
                },
            )));
        }
        let name = id.name();
        let w = ws
            .get(&format!("{name}.weight"))
            .ok_or_else(|| WeightsError::layers(format!("{name}.weight is missing")))?;
        let b = ws
            .get(&format!("{name}.bias"))
            .ok_or_else(|| WeightsError::layers(format!("{name}.bias is missing")))?;
        if w.shape.len() != 4 {
            return Err(WeightsError::layers(format!(
                "{name}.weight has shape {:?}; expected [out, in, kh, kw]",
                w.shape
            )));
        }
        // Every VGG convolution is 3×3 (the engine builds it so); anything else is not VGG.
        if w.shape[2..] != [3, 3] {
            return Err(WeightsError::layers(format!(
                "{name}.weight has shape {:?}: a {}×{} kernel, but every VGG convolution is 3×3 \
                 ([out, in, 3, 3])",
                w.shape, w.shape[2], w.shape[3]
            )));
        }
        if b.shape != [w.shape[0]] {
            return Err(WeightsError::layers(format!(
                "{name}.bias has shape {:?} but {name}.weight has {} output channels",
                b.shape, w.shape[0]
            )));
        }
        if w.shape[1] != in_ch {
            return Err(WeightsError::layers(format!(
                "{name}.weight expects {} input channels but {} arrive ({})",
                w.shape[1],
                in_ch,
                if in_ch == 3 {
                    "an RGB image"
                } else {
                    "the previous layer's outputs"
                }
            )));
        }
        in_ch = w.shape[0];
        expect = ConvId {
            block: id.block,
            index: id.index + 1,
        };
    }
    check_vgg_layout(&conv_ids(ws))
}

/// Convolutions per block of the networks the engine builds.
const VGG16_BLOCKS: [usize; 5] = [2, 2, 3, 3, 3];
const VGG19_BLOCKS: [usize; 5] = [2, 2, 4, 4, 4];

/// The layers must be VGG16's or VGG19's, from conv1_1 up to some layer (a trimmed file
/// stops early): every block before the last complete, none longer than the network's.
fn check_vgg_layout(ids: &[ConvId]) -> Result<()> {
    let mut per_block = Vec::new();
    for id in ids {
        if per_block.len() < id.block {
            per_block.resize(id.block, 0);
        }
        per_block[id.block - 1] += 1;
    }
    let fits = |arch: &[usize; 5]| {
        per_block.len() <= arch.len()
            && per_block
                .iter()
                .zip(arch)
                .enumerate()
                .all(|(b, (&n, &full))| n == full || (b + 1 == per_block.len() && n < full))
    };
    if fits(&VGG16_BLOCKS) || fits(&VGG19_BLOCKS) {
        return Ok(());
    }
    Err(WeightsError::layers(format!(
        "the convolutions per block are {per_block:?}; VGG16 has {VGG16_BLOCKS:?} and VGG19 \
         {VGG19_BLOCKS:?} (a trimmed file may stop early, but only after complete blocks)"
    )))
}

/// "vgg16" / "vgg19" by layer layout, otherwise a description.
pub fn architecture(ws: &WeightSet) -> String {
    let ids = conv_ids(ws);
    let mut per_block = Vec::new();
    for id in &ids {
        if per_block.len() < id.block {
            per_block.resize(id.block, 0);
        }
        per_block[id.block - 1] += 1;
    }
    match per_block.as_slice() {
        [2, 2, 3, 3, 3] => "vgg16".into(),
        [2, 2, 4, 4, 4] => "vgg19".into(),
        _ => format!("vgg-like ({} convs)", ids.len()),
    }
}

/// Parses a `--up-to` target: conv4_1 / relu4_1 (that layer) or pool4 / block4 (the whole block).
pub fn parse_up_to(s: &str) -> Option<(usize, Option<usize>)> {
    if let Some(rest) = s.strip_prefix("relu") {
        return parse_conv(&format!("conv{rest}")).map(|id| (id.block, Some(id.index)));
    }
    if let Some(id) = parse_conv(s) {
        return Some((id.block, Some(id.index)));
    }
    let b = s.strip_prefix("pool").or_else(|| s.strip_prefix("block"))?;
    b.parse().ok().filter(|&b| b > 0).map(|b| (b, None))
}

/// Keeps the layers up to and including `target` (a `parse_up_to` result).
pub fn trim(ws: &WeightSet, target: &str) -> Result<WeightSet> {
    let (block, index) = parse_up_to(target).ok_or_else(|| {
        WeightsError::Invalid(format!(
            "--up-to {target:?}: expected a layer like conv4_1, relu4_1, pool4 or block4"
        ))
    })?;
    let keep =
        |id: ConvId| id.block < block || (id.block == block && index.is_none_or(|i| id.index <= i));
    let ids = conv_ids(ws);
    let exists = ids
        .iter()
        .any(|&id| id.block == block && index.is_none_or(|i| id.index == i));
    if !exists {
        return Err(WeightsError::layers(format!(
            "--up-to {target}: the file has no such layer (it has {})",
            ids.iter().map(|i| i.name()).collect::<Vec<_>>().join(", ")
        )));
    }
    let tensors = ws
        .tensors
        .iter()
        .filter(|t| parse_project(&t.name).is_some_and(|(id, _)| keep(id)))
        .cloned()
        .collect();
    Ok(WeightSet {
        tensors,
        metadata: ws.metadata.clone(),
    })
}
