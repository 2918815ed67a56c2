//! Minimal read-only ZIP reader for torch.save archives. PyTorch writes every entry uncompressed
//! ("stored"), so no inflate is needed; a compressed entry gets a clear error. Every offset is
//! checked against the buffer before use. Supports ZIP64 (PyTorch uses it for files > 4 GB).

use std::collections::HashMap;

use crate::error::{Result, WeightsError};

const FMT: &str = "zip (.pth)";
const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD64_SIG: u32 = 0x0606_4b50;
const EOCD64_LOC_SIG: u32 = 0x0706_4b50;
const CDIR_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;

/// One archive member: its name and where its (stored) bytes are.
#[derive(Clone, Debug)]
pub struct Entry {
    pub name: String,
    method: u16,
    size: u64,
    local_offset: u64,
}

pub struct Archive<'a> {
    bytes: &'a [u8],
    pub entries: Vec<Entry>,
    /// Member name → position in `entries`, so each lookup is O(1).
    index: HashMap<String, usize>,
}

fn err(d: impl Into<String>) -> WeightsError {
    WeightsError::corrupt(FMT, d)
}

fn slice(b: &[u8], at: u64, len: u64) -> Result<&[u8]> {
    let end = at.checked_add(len).filter(|&e| e <= b.len() as u64);
    match end {
        Some(e) => Ok(&b[at as usize..e as usize]),
        None => Err(err(format!(
            "{len} bytes at offset {at} lie beyond the end of the {}-byte file",
            b.len()
        ))),
    }
}

fn u16_at(b: &[u8], at: u64) -> Result<u16> {
    let s = slice(b, at, 2)?;
    Ok(u16::from_le_bytes([s[0], s[1]]))
}
fn u32_at(b: &[u8], at: u64) -> Result<u32> {
    let s = slice(b, at, 4)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}
fn u64_at(b: &[u8], at: u64) -> Result<u64> {
    let s = slice(b, at, 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Ok(u64::from_le_bytes(a))
}

impl<'a> Archive<'a> {
    pub fn open(bytes: &'a [u8]) -> Result<Self> {
        // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
        let min = bytes.len().saturating_sub(22 + 65_535);
        let eocd = (min..bytes.len().saturating_sub(21))
            .rev()
            .find(|&i| bytes[i..i + 4] == EOCD_SIG.to_le_bytes())
            .ok_or_else(|| err("no end-of-central-directory record (file truncated?)"))?
            as u64;
        let mut count = u16_at(bytes, eocd + 10)? as u64;
        let mut cd_size = u32_at(bytes, eocd + 12)? as u64;
        let mut cd_off = u32_at(bytes, eocd + 16)? as u64;
        if count == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_off == 0xFFFF_FFFF {
            let loc = eocd
                .checked_sub(20)
                .ok_or_else(|| err("missing ZIP64 locator"))?;
            if u32_at(bytes, loc)? != EOCD64_LOC_SIG {
                return Err(err("missing ZIP64 locator"));
            }
            let e64 = u64_at(bytes, loc + 8)?;
            if u32_at(bytes, e64)? != EOCD64_SIG {
                return Err(err("bad ZIP64 end record"));
            }
            count = u64_at(bytes, e64 + 32)?;
            cd_size = u64_at(bytes, e64 + 40)?;
            cd_off = u64_at(bytes, e64 + 48)?;
        }
        let cd = slice(bytes, cd_off, cd_size)?;
        let mut entries = Vec::new();
        let mut index = HashMap::new();
        let mut p = 0u64;
        for _ in 0..count {
            if u32_at(cd, p)? != CDIR_SIG {
                return Err(err(format!(
                    "bad central directory entry at offset {}",
                    cd_off + p
                )));
            }
            let method = u16_at(cd, p + 10)?;
            let mut csize = u32_at(cd, p + 20)? as u64;
            let mut usize_ = u32_at(cd, p + 24)? as u64;
            let nlen = u16_at(cd, p + 28)? as u64;
            let xlen = u16_at(cd, p + 30)? as u64;
            let clen = u16_at(cd, p + 32)? as u64;
            let mut local = u32_at(cd, p + 42)? as u64;
            let name = String::from_utf8_lossy(slice(cd, p + 46, nlen)?).into_owned();
            // ZIP64 extra field: 64-bit values for whichever fields were saturated, in order.
            let extra = slice(cd, p + 46 + nlen, xlen)?;
            let mut q = 0u64;
            while q + 4 <= xlen {
                let id = u16_at(extra, q)?;
                let len = u16_at(extra, q + 2)? as u64;
                if id == 1 {
                    let mut r = q + 4;
                    for field in [&mut usize_, &mut csize, &mut local] {
                        if *field == 0xFFFF_FFFF {
                            *field = u64_at(extra, r)?;
                            r += 8;
                        }
                    }
                }
                q += 4 + len;
            }
            if method == 0 && csize != usize_ {
                return Err(err(format!(
                    "entry {name}: stored size {csize} differs from size {usize_}"
                )));
            }
            // Two members of one name: torch.load reads the last, a reader that searches from
            // the start the first. Which one is meant cannot be told, so the file is refused.
            if index.insert(name.clone(), entries.len()).is_some() {
                return Err(err(format!(
                    "the archive holds two members named {name:?}; torch.load would read the \
                     last and other readers the first, so which one is meant is unknown. \
                     Re-save the file with torch.save"
                )));
            }
            entries.push(Entry {
                name,
                method,
                size: csize,
                local_offset: local,
            });
            p += 46 + nlen + xlen + clen;
        }
        Ok(Archive {
            bytes,
            entries,
            index,
        })
    }

    pub fn find(&self, name: &str) -> Option<&Entry> {
        self.index.get(name).map(|&i| &self.entries[i])
    }

    /// The bytes of a stored entry, bounds-checked.
    pub fn data(&self, e: &Entry) -> Result<&'a [u8]> {
        if e.method != 0 {
            return Err(WeightsError::unsupported(
                FMT,
                format!(
                    "entry {} is compressed (method {}); torch.save never compresses, so re-save it with torch.save",
                    e.name, e.method
                ),
            ));
        }
        if u32_at(self.bytes, e.local_offset)? != LOCAL_SIG {
            return Err(err(format!(
                "entry {}: bad local header at offset {}",
                e.name, e.local_offset
            )));
        }
        let nlen = u16_at(self.bytes, e.local_offset + 26)? as u64;
        let xlen = u16_at(self.bytes, e.local_offset + 28)? as u64;
        slice(self.bytes, e.local_offset + 30 + nlen + xlen, e.size)
    }
}
