//! A restricted unpickler: enough of Python's pickle protocol (0-5 binary opcodes) to read a
//! PyTorch state_dict, and nothing more. It never imports or calls anything: the few globals a
//! state_dict needs are recognised by name and interpreted here; any other global or opcode is
//! refused with an error naming it. That is the whole point of not using a general unpickler:
//! a .pth file from the internet is untrusted input.
//!
//! Containers live in an arena (`Pickle::nodes`) and values refer to them by index, so shared
//! references (BINGET) and later mutation (SETITEMS on a memoised dict) behave like Python's
//! object identity, cycles cannot leak, and dropping never recurses.

use std::collections::HashMap;

use crate::error::{Result, WeightsError};
use crate::weights::DType;

/// Caps that no real state_dict comes near, so hostile input cannot exhaust memory.
const MAX_NODES: usize = 1 << 20;
const MAX_STACK: usize = 1 << 20;
const MAX_STRING: usize = 1 << 20;

/// A pickled scalar, or a reference to a container/object in the arena.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    /// LONG1 can hold PyTorch's 80-bit magic number, so ints are 128-bit.
    Int(i128),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Obj(usize),
}

/// The globals a state_dict may name; anything else is refused.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Global {
    OrderedDict,
    RebuildTensor,
    RebuildTensorV2,
    RebuildParameter,
    Storage(DType),
}

/// A typed storage as named by a persistent id: its key in the archive, dtype, element count,
/// and (old files only) a view into a larger root storage, as (offset, size) in elements.
#[derive(Clone, Debug, PartialEq)]
pub struct StorageRef {
    pub key: String,
    pub dtype: DType,
    pub numel: u64,
    pub view: Option<(u64, u64)>,
}

/// What `_rebuild_tensor[_v2]` was called with: a strided view of a storage.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorSpec {
    pub storage: StorageRef,
    pub offset: usize,
    pub size: Vec<usize>,
    pub stride: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// Plain dicts and OrderedDicts alike; insertion order is kept.
    Dict(Vec<(Value, Value)>),
    Global(Global),
    Storage(StorageRef),
    Tensor(TensorSpec),
}

/// A fully read pickle: the arena plus the value STOP returned.
#[derive(Debug)]
pub struct Pickle {
    pub nodes: Vec<Node>,
    pub root: Value,
}

impl Pickle {
    pub fn node(&self, v: &Value) -> Option<&Node> {
        match v {
            Value::Obj(i) => self.nodes.get(*i),
            _ => None,
        }
    }
}

fn refused(detail: impl Into<String>) -> WeightsError {
    WeightsError::refused(detail)
}

fn opcode_name(op: u8) -> &'static str {
    match op {
        b'(' => "MARK",
        b'.' => "STOP",
        b'0' => "POP",
        b'1' => "POP_MARK",
        b'2' => "DUP",
        b'F' => "FLOAT",
        b'I' => "INT",
        b'L' => "LONG",
        b'P' => "PERSID",
        b'S' => "STRING",
        b'V' => "UNICODE",
        b'b' => "BUILD",
        b'c' => "GLOBAL",
        b'd' => "DICT",
        b'g' => "GET",
        b'i' => "INST",
        b'l' => "LIST",
        b'o' => "OBJ",
        b'p' => "PUT",
        0x81 => "NEWOBJ",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x92 => "NEWOBJ_EX",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => "unknown",
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| {
                WeightsError::corrupt(
                    "pickle",
                    format!(
                        "needs {n} bytes at offset {} but the data ends at {}",
                        self.pos,
                        self.b.len()
                    ),
                )
            })?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let s = self.take(2)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Result<u32> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Result<u64> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }
    fn line(&mut self) -> Result<&'a str> {
        let rest = &self.b[self.pos..];
        let n = rest
            .iter()
            .take(1024)
            .position(|&c| c == b'\n')
            .ok_or_else(|| {
                WeightsError::corrupt("pickle", "GLOBAL name not terminated by a newline")
            })?;
        let s = std::str::from_utf8(&rest[..n])
            .map_err(|_| WeightsError::corrupt("pickle", "GLOBAL name is not UTF-8"))?;
        self.pos += n + 1;
        Ok(s)
    }
    /// A length-prefixed string/bytes body; checked against the remaining input before copying.
    fn sized(&mut self, n: u64) -> Result<&'a [u8]> {
        let n = usize::try_from(n)
            .ok()
            .filter(|&n| n <= MAX_STRING)
            .ok_or_else(|| {
                WeightsError::corrupt(
                    "pickle",
                    format!("string of {n} bytes is implausibly long for a state_dict"),
                )
            })?;
        self.take(n)
    }
}

struct Machine<'a> {
    r: Reader<'a>,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    nodes: Vec<Node>,
}

/// Reads one pickle starting at `bytes[0]`; returns it and the number of bytes consumed
/// (legacy .pth files are several pickles back to back, followed by raw data).
pub fn unpickle(bytes: &[u8]) -> Result<(Pickle, usize)> {
    let mut m = Machine {
        r: Reader { b: bytes, pos: 0 },
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        nodes: Vec::new(),
    };
    let root = m.run()?;
    Ok((
        Pickle {
            nodes: m.nodes,
            root,
        },
        m.r.pos,
    ))
}

impl Machine<'_> {
    fn push(&mut self, v: Value) -> Result<()> {
        if self.stack.len() >= MAX_STACK {
            return Err(refused("pickle stack grew beyond 1M entries"));
        }
        self.stack.push(v);
        Ok(())
    }
    fn alloc(&mut self, n: Node) -> Result<Value> {
        if self.nodes.len() >= MAX_NODES {
            return Err(refused(
                "pickle builds more than 1M objects; not a state_dict",
            ));
        }
        self.nodes.push(n);
        Ok(Value::Obj(self.nodes.len() - 1))
    }
    fn pop(&mut self, op: &str) -> Result<Value> {
        // A MARK above the top means the opcode would eat into a marked region: malformed.
        if self.marks.last().is_some_and(|&m| m >= self.stack.len()) {
            return Err(WeightsError::corrupt(
                "pickle",
                format!("{op} pops past a MARK"),
            ));
        }
        self.stack
            .pop()
            .ok_or_else(|| WeightsError::corrupt("pickle", format!("{op} on an empty stack")))
    }
    fn pop_mark(&mut self, op: &str) -> Result<Vec<Value>> {
        let m = self
            .marks
            .pop()
            .ok_or_else(|| WeightsError::corrupt("pickle", format!("{op} without a MARK")))?;
        if m > self.stack.len() {
            return Err(WeightsError::corrupt(
                "pickle",
                format!("{op}: MARK lies above the stack"),
            ));
        }
        Ok(self.stack.split_off(m))
    }
    fn top_obj(&self, op: &str) -> Result<usize> {
        match self.stack.last() {
            Some(Value::Obj(i)) => Ok(*i),
            _ => Err(WeightsError::corrupt(
                "pickle",
                format!("{op} target is not a container"),
            )),
        }
    }
    fn int(&self, v: &Value, what: &str) -> Result<i128> {
        match v {
            Value::Int(i) => Ok(*i),
            Value::Bool(b) => Ok(*b as i128),
            _ => Err(refused(format!("{what} must be an integer"))),
        }
    }
    fn usize_of(&self, v: &Value, what: &str) -> Result<usize> {
        let i = self.int(v, what)?;
        usize::try_from(i).map_err(|_| refused(format!("{what} = {i} is out of range")))
    }
    fn tuple(&self, v: &Value, what: &str) -> Result<Vec<Value>> {
        match v {
            Value::Obj(i) => match self.nodes.get(*i) {
                Some(Node::Tuple(t)) | Some(Node::List(t)) => Ok(t.clone()),
                _ => Err(refused(format!("{what} must be a tuple"))),
            },
            _ => Err(refused(format!("{what} must be a tuple"))),
        }
    }
    fn ints(&self, v: &Value, what: &str) -> Result<Vec<usize>> {
        self.tuple(v, what)?
            .iter()
            .map(|x| self.usize_of(x, what))
            .collect()
    }

    fn run(&mut self) -> Result<Value> {
        loop {
            let at = self.r.pos;
            let op = self.r.u8()?;
            match op {
                0x80 => {
                    let p = self.r.u8()?;
                    if p > 5 {
                        return Err(WeightsError::unsupported(
                            "pickle",
                            format!("protocol {p} (only 0-5 exist)"),
                        ));
                    }
                }
                0x95 => {
                    self.r.u64()?; // FRAME: a size hint only
                }
                b'(' => self.marks.push(self.stack.len()),
                b'.' => return self.pop("STOP"),
                b'}' => {
                    let v = self.alloc(Node::Dict(Vec::new()))?;
                    self.push(v)?
                }
                b']' => {
                    let v = self.alloc(Node::List(Vec::new()))?;
                    self.push(v)?
                }
                b')' => {
                    let v = self.alloc(Node::Tuple(Vec::new()))?;
                    self.push(v)?
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop("TUPLEn")?);
                    }
                    items.reverse();
                    let v = self.alloc(Node::Tuple(items))?;
                    self.push(v)?
                }
                b't' => {
                    let items = self.pop_mark("TUPLE")?;
                    let v = self.alloc(Node::Tuple(items))?;
                    self.push(v)?
                }
                b'l' => {
                    let items = self.pop_mark("LIST")?;
                    let v = self.alloc(Node::List(items))?;
                    self.push(v)?
                }
                b'd' => {
                    let items = self.pop_mark("DICT")?;
                    let pairs = pairs(items, "DICT")?;
                    let v = self.alloc(Node::Dict(pairs))?;
                    self.push(v)?
                }
                b'K' => {
                    let v = self.r.u8()? as i128;
                    self.push(Value::Int(v))?
                }
                b'M' => {
                    let v = self.r.u16()? as i128;
                    self.push(Value::Int(v))?
                }
                b'J' => {
                    let v = self.r.u32()? as i32 as i128;
                    self.push(Value::Int(v))?
                }
                0x8a | 0x8b => {
                    let n = if op == 0x8a {
                        self.r.u8()? as u64
                    } else {
                        self.r.u32()? as u64
                    };
                    if n > 16 {
                        return Err(WeightsError::unsupported(
                            "pickle",
                            format!("integer of {n} bytes"),
                        ));
                    }
                    let s = self.r.take(n as usize)?;
                    let mut v: i128 = 0;
                    for (i, &b) in s.iter().enumerate() {
                        v |= (b as i128) << (8 * i);
                    }
                    // Two's complement sign-extension from n bytes.
                    if n > 0 && n < 16 && s[s.len() - 1] & 0x80 != 0 {
                        v -= 1i128 << (8 * n);
                    }
                    self.push(Value::Int(v))?
                }
                b'X' | 0x8c | 0x8d => {
                    let n = match op {
                        b'X' => self.r.u32()? as u64,
                        0x8c => self.r.u8()? as u64,
                        _ => self.r.u64()?,
                    };
                    let s = self.r.sized(n)?;
                    let s = std::str::from_utf8(s)
                        .map_err(|_| WeightsError::corrupt("pickle", "string is not UTF-8"))?;
                    self.push(Value::Str(s.to_string()))?
                }
                // Python 2 byte strings (old torch files): keep them as text, latin-1 style.
                b'T' | b'U' => {
                    let n = if op == b'T' {
                        self.r.u32()? as u64
                    } else {
                        self.r.u8()? as u64
                    };
                    let s = self.r.sized(n)?;
                    self.push(Value::Str(s.iter().map(|&c| c as char).collect()))?
                }
                b'B' | b'C' | 0x8e => {
                    let n = match op {
                        b'B' => self.r.u32()? as u64,
                        b'C' => self.r.u8()? as u64,
                        _ => self.r.u64()?,
                    };
                    let s = self.r.sized(n)?;
                    self.push(Value::Bytes(s.to_vec()))?
                }
                b'N' => self.push(Value::None)?,
                0x88 => self.push(Value::Bool(true))?,
                0x89 => self.push(Value::Bool(false))?,
                b'G' => {
                    let s = self.r.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(s);
                    self.push(Value::Float(f64::from_be_bytes(a)))?
                }
                b'q' | b'r' => {
                    let i = if op == b'q' {
                        self.r.u8()? as u32
                    } else {
                        self.r.u32()?
                    };
                    let v =
                        self.stack.last().cloned().ok_or_else(|| {
                            WeightsError::corrupt("pickle", "PUT on an empty stack")
                        })?;
                    self.memo.insert(i, v);
                }
                0x94 => {
                    let v = self.stack.last().cloned().ok_or_else(|| {
                        WeightsError::corrupt("pickle", "MEMOIZE on an empty stack")
                    })?;
                    let i = self.memo.len() as u32;
                    self.memo.insert(i, v);
                }
                b'h' | b'j' => {
                    let i = if op == b'h' {
                        self.r.u8()? as u32
                    } else {
                        self.r.u32()?
                    };
                    let v = self.memo.get(&i).cloned().ok_or_else(|| {
                        WeightsError::corrupt(
                            "pickle",
                            format!("GET of memo slot {i} that was never PUT"),
                        )
                    })?;
                    self.push(v)?
                }
                b'c' => {
                    let module = self.r.line()?.to_string();
                    let name = self.r.line()?.to_string();
                    let g = self.global(&module, &name)?;
                    self.push(g)?
                }
                0x93 => {
                    let name = self.pop("STACK_GLOBAL")?;
                    let module = self.pop("STACK_GLOBAL")?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => {
                            let g = self.global(&m, &n)?;
                            self.push(g)?
                        }
                        _ => {
                            return Err(WeightsError::corrupt(
                                "pickle",
                                "STACK_GLOBAL needs two strings",
                            ))
                        }
                    }
                }
                b'Q' => {
                    let pid = self.pop("BINPERSID")?;
                    let v = self.persistent_load(&pid)?;
                    self.push(v)?
                }
                b'R' => {
                    let args = self.pop("REDUCE")?;
                    let func = self.pop("REDUCE")?;
                    let v = self.reduce(&func, &args)?;
                    self.push(v)?
                }
                b'b' => {
                    // BUILD sets object state. OrderedDict state is the state_dict's `_metadata`
                    // (layer versions) and tensors may carry hooks: neither matters for weights.
                    let _state = self.pop("BUILD")?;
                    let i = self.top_obj("BUILD")?;
                    if !matches!(
                        self.nodes.get(i),
                        Some(Node::Dict(_)) | Some(Node::Tensor(_))
                    ) {
                        return Err(refused(
                            "BUILD on an object that is neither a dict nor a tensor",
                        ));
                    }
                }
                b's' => {
                    let v = self.pop("SETITEM")?;
                    let k = self.pop("SETITEM")?;
                    self.dict_extend(vec![(k, v)])?
                }
                b'u' => {
                    let items = self.pop_mark("SETITEMS")?;
                    let p = pairs(items, "SETITEMS")?;
                    self.dict_extend(p)?
                }
                b'a' => {
                    let v = self.pop("APPEND")?;
                    self.list_extend(vec![v])?
                }
                b'e' => {
                    let items = self.pop_mark("APPENDS")?;
                    self.list_extend(items)?
                }
                other => {
                    return Err(refused(format!(
                        "opcode 0x{other:02x} ({}) at byte {at} is not supported",
                        opcode_name(other)
                    )))
                }
            }
        }
    }

    fn dict_extend(&mut self, items: Vec<(Value, Value)>) -> Result<()> {
        let i = self.top_obj("SETITEM")?;
        match self.nodes.get_mut(i) {
            Some(Node::Dict(d)) => {
                d.extend(items);
                Ok(())
            }
            _ => Err(WeightsError::corrupt(
                "pickle",
                "SETITEM(S) target is not a dict",
            )),
        }
    }

    fn list_extend(&mut self, items: Vec<Value>) -> Result<()> {
        let i = self.top_obj("APPEND")?;
        match self.nodes.get_mut(i) {
            Some(Node::List(l)) => {
                l.extend(items);
                Ok(())
            }
            _ => Err(WeightsError::corrupt(
                "pickle",
                "APPEND(S) target is not a list",
            )),
        }
    }

    fn global(&mut self, module: &str, name: &str) -> Result<Value> {
        let g = match (module, name) {
            ("collections", "OrderedDict") => Global::OrderedDict,
            ("torch._utils", "_rebuild_tensor") => Global::RebuildTensor,
            ("torch._utils", "_rebuild_tensor_v2") => Global::RebuildTensorV2,
            ("torch._utils", "_rebuild_parameter") => Global::RebuildParameter,
            ("torch", "FloatStorage") => Global::Storage(DType::F32),
            ("torch", "HalfStorage") => Global::Storage(DType::F16),
            ("torch", "BFloat16Storage") => Global::Storage(DType::BF16),
            ("torch", "DoubleStorage") => Global::Storage(DType::F64),
            // BatchNorm's num_batches_tracked is int64; harmless to read as a number.
            ("torch", "LongStorage") => Global::Storage(DType::I64),
            _ => return Err(refused(format!("global {module}.{name} is not allowed"))),
        };
        self.alloc(Node::Global(g))
    }

    fn global_of(&self, v: &Value) -> Option<Global> {
        match self.nodes.get(match v {
            Value::Obj(i) => *i,
            _ => return None,
        }) {
            Some(Node::Global(g)) => Some(*g),
            _ => None,
        }
    }

    /// PyTorch's persistent ids: ('storage', StorageType, key, location, numel[, view_metadata]).
    fn persistent_load(&mut self, pid: &Value) -> Result<Value> {
        let t = self.tuple(pid, "persistent id")?;
        if t.len() != 5 && t.len() != 6 {
            return Err(refused(format!(
                "persistent id with {} fields (expected 5 or 6)",
                t.len()
            )));
        }
        if t[0] != Value::Str("storage".into()) {
            return Err(refused("persistent id is not a 'storage' reference"));
        }
        let dtype = match self.global_of(&t[1]) {
            Some(Global::Storage(d)) => d,
            _ => return Err(refused("persistent id does not name a torch storage type")),
        };
        let key = match &t[2] {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            _ => return Err(refused("storage key must be a string")),
        };
        let numel = self.int(&t[4], "storage size")?;
        let numel = u64::try_from(numel).map_err(|_| refused("negative storage size"))?;
        let view = match t.get(5) {
            None | Some(Value::None) => None,
            Some(v) => {
                // (view_key, offset, size) in elements of the root storage (torch < 0.4).
                let vt = self.tuple(v, "storage view metadata")?;
                if vt.len() != 3 {
                    return Err(refused("storage view metadata must have 3 fields"));
                }
                Some((
                    self.usize_of(&vt[1], "view offset")? as u64,
                    self.usize_of(&vt[2], "view size")? as u64,
                ))
            }
        };
        self.alloc(Node::Storage(StorageRef {
            key,
            dtype,
            numel,
            view,
        }))
    }

    fn reduce(&mut self, func: &Value, args: &Value) -> Result<Value> {
        let g = self
            .global_of(func)
            .ok_or_else(|| refused("REDUCE of something that is not an allowed global"))?;
        let a = self.tuple(args, "REDUCE arguments")?;
        match g {
            Global::OrderedDict => {
                if !a.is_empty() {
                    return Err(refused("OrderedDict called with arguments"));
                }
                self.alloc(Node::Dict(Vec::new()))
            }
            Global::RebuildTensor | Global::RebuildTensorV2 => {
                let ok = match g {
                    Global::RebuildTensor => a.len() == 4,
                    _ => a.len() == 6 || a.len() == 7,
                };
                if !ok {
                    return Err(refused(format!(
                        "tensor rebuild with {} arguments",
                        a.len()
                    )));
                }
                let storage = match self.node_of(&a[0]) {
                    Some(Node::Storage(s)) => s.clone(),
                    _ => {
                        return Err(refused(
                            "tensor rebuilt from something that is not a storage",
                        ))
                    }
                };
                let offset = self.usize_of(&a[1], "storage offset")?;
                let size = self.ints(&a[2], "tensor size")?;
                let stride = self.ints(&a[3], "tensor stride")?;
                if size.len() != stride.len() {
                    return Err(WeightsError::corrupt(
                        "pickle",
                        "tensor size and stride differ in length",
                    ));
                }
                self.alloc(Node::Tensor(TensorSpec {
                    storage,
                    offset,
                    size,
                    stride,
                }))
            }
            Global::RebuildParameter => {
                if a.len() != 3 {
                    return Err(refused("_rebuild_parameter needs 3 arguments"));
                }
                match self.node_of(&a[0]) {
                    Some(Node::Tensor(_)) => Ok(a[0].clone()),
                    _ => Err(refused(
                        "_rebuild_parameter of something that is not a tensor",
                    )),
                }
            }
            Global::Storage(_) => Err(refused("storage types cannot be called")),
        }
    }

    fn node_of(&self, v: &Value) -> Option<&Node> {
        match v {
            Value::Obj(i) => self.nodes.get(*i),
            _ => None,
        }
    }
}

fn pairs(items: Vec<Value>, op: &str) -> Result<Vec<(Value, Value)>> {
    if !items.len().is_multiple_of(2) {
        return Err(WeightsError::corrupt(
            "pickle",
            format!("{op} with an odd number of items"),
        ));
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Ok(out)
}
