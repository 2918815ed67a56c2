//! PyTorch's legacy serialisation (before 1.6; torchvision's published VGG files use it):
//! five things back to back —
//! 1. pickle of the magic number 0x1950a86a20f9469cfc6c,
//! 2. pickle of the protocol version 1001,
//! 3. pickle of sys_info (endianness, C type sizes),
//! 4. pickle of the state_dict, storages referenced by persistent id,
//! 5. pickle of the list of storage keys,
//!
//! then, for each key in that list, a u64 element count followed by the raw storage bytes.

use std::collections::HashMap;

use crate::error::{Result, WeightsError};
use crate::pickle::{self, Node, Value};
use crate::torch;
use crate::weights::{DType, WeightSet};

const FMT: &str = "legacy .pth";
const MAGIC: i128 = 0x1950a86a20f9469cfc6c;

/// Opening bytes: PROTO 2, LONG1 of 10 bytes, the magic number little-endian.
pub const PREFIX: [u8; 14] = [
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19,
];

pub fn looks_like(bytes: &[u8]) -> bool {
    bytes.starts_with(&PREFIX)
}

pub fn read(bytes: &[u8]) -> Result<WeightSet> {
    let mut pos = 0usize;
    let mut next = |what: &str| -> Result<pickle::Pickle> {
        // A refusal stays a refusal: the file may be intact, just not a plain state_dict.
        let (p, used) = pickle::unpickle(&bytes[pos..]).map_err(|e| match e {
            WeightsError::PickleRefused { detail } => WeightsError::PickleRefused {
                detail: format!("in the {what}: {detail}"),
            },
            e => WeightsError::corrupt(FMT, format!("while reading the {what}: {e}")),
        })?;
        pos += used;
        Ok(p)
    };
    let magic = next("magic number")?;
    if magic.root != Value::Int(MAGIC) {
        return Err(WeightsError::corrupt(FMT, "wrong magic number"));
    }
    let version = next("protocol version")?;
    if version.root != Value::Int(1001) {
        return Err(WeightsError::unsupported(
            FMT,
            format!("protocol version {:?} (expected 1001)", version.root),
        ));
    }
    let sys = next("sys_info")?;
    if let Some(Node::Dict(items)) = sys.node(&sys.root) {
        for (k, v) in items {
            if *k == Value::Str("little_endian".into()) && *v == Value::Bool(false) {
                return Err(WeightsError::unsupported(
                    FMT,
                    "big-endian file; only little-endian is supported",
                ));
            }
        }
    }
    let state = next("state_dict")?;
    let keys_p = next("storage key list")?;
    let specs = torch::tensor_specs(&state)?;

    // Each storage's dtype comes from the persistent ids in the state_dict.
    let dtypes: HashMap<&str, DType> = state
        .nodes
        .iter()
        .filter_map(|n| match n {
            Node::Storage(s) => Some((s.key.as_str(), s.dtype)),
            _ => None,
        })
        .collect();
    let keys: Vec<String> = match keys_p.node(&keys_p.root) {
        Some(Node::List(items)) | Some(Node::Tuple(items)) => items
            .iter()
            .map(|v| match v {
                Value::Str(s) => Ok(s.clone()),
                Value::Int(i) => Ok(i.to_string()),
                _ => Err(WeightsError::corrupt(
                    FMT,
                    "storage key list holds a non-string",
                )),
            })
            .collect::<Result<_>>()?,
        _ => return Err(WeightsError::corrupt(FMT, "storage key list is not a list")),
    };

    let mut storages: HashMap<String, &[u8]> = HashMap::new();
    for key in &keys {
        let dtype = *dtypes.get(key.as_str()).ok_or_else(|| {
            WeightsError::corrupt(
                FMT,
                format!("storage {key} is listed but no tensor uses it"),
            )
        })?;
        let head = bytes.get(pos..pos + 8).ok_or_else(|| {
            WeightsError::corrupt(FMT, format!("file ends before storage {key}'s size"))
        })?;
        let mut a = [0u8; 8];
        a.copy_from_slice(head);
        let n = u64::from_le_bytes(a);
        pos += 8;
        let len = n
            .checked_mul(dtype.size() as u64)
            .filter(|&l| l <= (bytes.len() - pos) as u64)
            .ok_or_else(|| {
                WeightsError::corrupt(
                    FMT,
                    format!(
                        "storage {key} claims {n} elements but only {} bytes remain",
                        bytes.len() - pos
                    ),
                )
            })? as usize;
        storages.insert(key.clone(), &bytes[pos..pos + len]);
        pos += len;
    }
    torch::build(&specs, |key| {
        storages.get(key).copied().ok_or_else(|| {
            WeightsError::corrupt(
                FMT,
                format!("storage {key} is used by a tensor but not in the file"),
            )
        })
    })
}
