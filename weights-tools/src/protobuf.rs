//! A tiny protobuf wire-format reader: just enough to walk ONNX messages field by field.
//! Lengths are checked against the buffer, so a corrupt file yields an error, not a panic.

use crate::error::{Result, WeightsError};

const FMT: &str = "ONNX (protobuf)";

/// One field's payload.
#[derive(Clone, Copy, Debug)]
pub enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Iterates over `(field_number, payload)` pairs of one message.
pub struct Fields<'a> {
    b: &'a [u8],
    pos: usize,
}

pub fn fields(b: &[u8]) -> Fields<'_> {
    Fields { b, pos: 0 }
}

fn err(d: impl Into<String>) -> WeightsError {
    WeightsError::corrupt(FMT, d)
}

/// Reads a base-128 varint at `*pos`.
pub fn varint(b: &[u8], pos: &mut usize) -> Result<u64> {
    let mut v = 0u64;
    for shift in (0..70).step_by(7) {
        let byte = *b
            .get(*pos)
            .ok_or_else(|| err("varint runs past the end of the data"))?;
        *pos += 1;
        if shift == 63 && byte > 1 {
            return Err(err("varint longer than 64 bits"));
        }
        v |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(err("varint longer than 10 bytes"))
}

impl<'a> Fields<'a> {
    fn take(&mut self, n: u64) -> Result<&'a [u8]> {
        let end = (self.pos as u64)
            .checked_add(n)
            .filter(|&e| e <= self.b.len() as u64)
            .ok_or_else(|| {
                err(format!(
                    "field of {n} bytes at offset {} runs past the end ({} bytes)",
                    self.pos,
                    self.b.len()
                ))
            })?;
        let s = &self.b[self.pos..end as usize];
        self.pos = end as usize;
        Ok(s)
    }

    fn next_field(&mut self) -> Result<(u64, Field<'a>)> {
        let key = varint(self.b, &mut self.pos)?;
        let (num, wire) = (key >> 3, key & 7);
        if num == 0 {
            return Err(err("field number 0"));
        }
        let f = match wire {
            0 => Field::Varint(varint(self.b, &mut self.pos)?),
            1 => {
                let s = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                Field::Fixed64(u64::from_le_bytes(a))
            }
            2 => {
                let n = varint(self.b, &mut self.pos)?;
                Field::Bytes(self.take(n)?)
            }
            5 => {
                let s = self.take(4)?;
                Field::Fixed32(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
            }
            w => return Err(err(format!("unsupported wire type {w} (field {num})"))),
        };
        Ok((num, f))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Field<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.b.len() {
            return None;
        }
        let r = self.next_field();
        if r.is_err() {
            self.pos = self.b.len(); // stop after the first error
        }
        Some(r)
    }
}

/// Repeated varints: either packed in one length-delimited field or one per field.
pub fn push_varints(f: Field<'_>, out: &mut Vec<u64>) -> Result<()> {
    match f {
        Field::Varint(v) => out.push(v),
        Field::Bytes(b) => {
            let mut p = 0;
            while p < b.len() {
                out.push(varint(b, &mut p)?);
            }
        }
        _ => return Err(err("expected varint field")),
    }
    Ok(())
}

pub fn as_str<'a>(f: Field<'a>) -> Result<&'a str> {
    match f {
        Field::Bytes(b) => std::str::from_utf8(b).map_err(|_| err("string field is not UTF-8")),
        _ => Err(err("expected string field")),
    }
}
