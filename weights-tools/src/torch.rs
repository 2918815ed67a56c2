//! Turns an unpickled PyTorch state_dict into tensors, given a way to fetch each storage's bytes.
//! Shared by the zip (torch.save >= 1.6) and legacy (pre-1.6) .pth readers, which differ only in
//! where storages live.

use crate::error::{Result, WeightsError};
use crate::pickle::{Node, Pickle, TensorSpec, Value};
use crate::weights::{decode_le, numel, Tensor, WeightSet};

/// Nested dicts deeper than this are not a state_dict (and would be a recursion hazard).
const MAX_DEPTH: usize = 8;

/// Tensors found in the pickle with their dotted names, in dict order. Nested dicts (a checkpoint
/// like {"state_dict": {...}, "epoch": 3}) are flattened with a "key." prefix; non-tensor
/// values are skipped.
pub fn tensor_specs(p: &Pickle) -> Result<Vec<(String, TensorSpec)>> {
    let mut out = Vec::new();
    match p.node(&p.root) {
        Some(Node::Dict(_)) => walk(p, &p.root, "", 0, &mut out)?,
        _ => return Err(WeightsError::unsupported(
            "pth",
            "the pickled object is not a dict of tensors; save `model.state_dict()`, not the model",
        )),
    }
    if out.is_empty() {
        return Err(WeightsError::unsupported(
            "pth",
            "the state_dict holds no tensors",
        ));
    }
    Ok(out)
}

fn walk(
    p: &Pickle,
    v: &Value,
    prefix: &str,
    depth: usize,
    out: &mut Vec<(String, TensorSpec)>,
) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(WeightsError::unsupported("pth", "dicts nested too deeply"));
    }
    let Some(Node::Dict(items)) = p.node(v) else {
        return Ok(());
    };
    for (k, v) in items {
        let key = match k {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            _ => continue,
        };
        let name = format!("{prefix}{key}");
        match p.node(v) {
            Some(Node::Tensor(spec)) => out.push((name, spec.clone())),
            Some(Node::Dict(_)) => walk(p, v, &format!("{name}."), depth + 1, out)?,
            _ => {}
        }
    }
    Ok(())
}

/// Reads one tensor out of its storage bytes, honouring offset, strides and old-style views.
/// `storage` is the storage's full little-endian byte content.
pub fn materialize(name: &str, spec: &TensorSpec, storage: &[u8]) -> Result<Tensor> {
    let bad = |d: String| WeightsError::corrupt("pth", format!("tensor {name}: {d}"));
    let es = spec.storage.dtype.size();
    let mut elems = storage;
    if let Some((off, size)) = spec.storage.view {
        let start = off.checked_mul(es as u64);
        let end = off.checked_add(size).and_then(|e| e.checked_mul(es as u64));
        match (start, end) {
            (Some(s), Some(e)) if e <= storage.len() as u64 => {
                elems = &storage[s as usize..e as usize]
            }
            _ => {
                return Err(bad(format!(
                    "storage view [{off}, +{size}) lies outside its storage"
                )))
            }
        }
    }
    let avail = elems.len() / es;
    let n = numel(&spec.size).ok_or_else(|| bad("shape overflows".into()))?;
    if n == 0 {
        return Tensor::new(name, spec.size.clone(), Vec::new(), spec.storage.dtype);
    }
    // Highest element index the view touches; must lie inside the storage.
    let mut last = spec.offset;
    for (&d, &s) in spec.size.iter().zip(&spec.stride) {
        last = (d - 1)
            .checked_mul(s)
            .and_then(|x| last.checked_add(x))
            .ok_or_else(|| bad("strides overflow".into()))?;
    }
    if last >= avail {
        return Err(bad(format!(
            "view (offset {}, size {:?}, stride {:?}) reaches element {last} but the storage holds {avail}",
            spec.offset, spec.size, spec.stride
        )));
    }
    // A saved parameter never has more elements than its storage; a broadcast view
    // (stride 0) could claim billions and must not drive an allocation.
    if n > avail {
        return Err(bad(format!(
            "{n} elements from a storage of {avail}: broadcast views are not supported"
        )));
    }
    let contiguous = {
        let mut expect = 1usize;
        let mut ok = true;
        for (&d, &s) in spec.size.iter().zip(&spec.stride).rev() {
            if d != 1 && s != expect {
                ok = false;
            }
            expect = expect.saturating_mul(d);
        }
        ok
    };
    let data = if contiguous {
        decode_le(
            &elems[spec.offset * es..(spec.offset + n) * es],
            spec.storage.dtype,
        )
    } else {
        let all = decode_le(&elems[..(last + 1) * es], spec.storage.dtype);
        let mut data = Vec::with_capacity(n);
        let mut idx = vec![0usize; spec.size.len()];
        for _ in 0..n {
            let at = spec.offset
                + idx
                    .iter()
                    .zip(&spec.stride)
                    .map(|(i, s)| i * s)
                    .sum::<usize>();
            data.push(all[at]);
            // Odometer increment over the dims, last dim fastest.
            for k in (0..idx.len()).rev() {
                idx[k] += 1;
                if idx[k] < spec.size[k] {
                    break;
                }
                idx[k] = 0;
            }
        }
        data
    };
    Tensor::new(name, spec.size.clone(), data, spec.storage.dtype)
}

/// Builds the weight set from specs and a storage lookup (by storage key).
pub fn build<'a>(
    specs: &[(String, TensorSpec)],
    mut storage: impl FnMut(&str) -> Result<&'a [u8]>,
) -> Result<WeightSet> {
    let tensors = specs
        .iter()
        .map(|(name, spec)| materialize(name, spec, storage(&spec.storage.key)?))
        .collect::<Result<Vec<_>>>()?;
    WeightSet::from_tensors(tensors)
}
