//! Hostile input: seeded byte flips, truncations and size corruption for every parser. Each case
//! must end in Ok or a non-empty error, never a panic (and, by construction, never an allocation
//! beyond what the file's length justifies).

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::shared;
use weights_tools::pickle::unpickle;
use weights_tools::{convert_bytes, read_bytes, ConvertOptions};

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Parses and converts `bytes`; panics (failing the test) only if the library panicked or
/// returned an empty message. Returns whether reading succeeded.
fn must_not_panic(bytes: &[u8], what: &str) -> bool {
    let r = catch_unwind(AssertUnwindSafe(|| {
        let read = read_bytes(bytes).map(|_| ());
        let conv = convert_bytes(bytes, &ConvertOptions::default()).map(|_| ());
        (read, conv)
    }));
    let (read, conv) = r.unwrap_or_else(|_| panic!("panic on {what}"));
    for e in [&read, &conv].into_iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            !e.to_string().trim().is_empty(),
            "empty error message on {what}"
        );
    }
    read.is_ok()
}

fn mutate_and_truncate(ext: &str, seed: u64) {
    let Some(dir) = shared(&format!("fuzz {ext}")) else {
        return;
    };
    let orig = std::fs::read(dir.join("fixtures").join(format!("tiny_vgg16.{ext}"))).unwrap();
    assert!(must_not_panic(&orig, "the original"));
    let mut rng = Rng(seed);

    // Truncations: every length in the first 300 bytes (headers), then ~300 spread over the file.
    let mut lens: Vec<usize> = (0..300.min(orig.len())).collect();
    lens.extend((0..300).map(|_| rng.below(orig.len())));
    let mut failed = 0;
    for len in lens {
        if !must_not_panic(&orig[..len], &format!("{ext} truncated to {len}")) {
            failed += 1;
        }
    }
    assert!(failed > 0, "no truncation of {ext} was detected");

    // Random flips, 1-8 bytes; half of them within the first 4 KB where the structure lives.
    for i in 0..400 {
        let mut b = orig.clone();
        for _ in 0..1 + rng.below(8) {
            let at = if i % 2 == 0 {
                rng.below(b.len().min(4096))
            } else {
                rng.below(b.len())
            };
            b[at] ^= 1 << rng.below(8);
        }
        must_not_panic(&b, &format!("{ext} flip #{i}"));
    }

    // Random bytes overwriting runs (simulates garbage sizes and offsets).
    for i in 0..200 {
        let mut b = orig.clone();
        let at = rng.below(b.len().min(4096));
        for x in b.iter_mut().skip(at).take(1 + rng.below(8)) {
            *x = rng.next() as u8;
        }
        must_not_panic(&b, &format!("{ext} overwrite #{i}"));
    }
}

#[test]
fn safetensors_survives_mutation() {
    mutate_and_truncate("safetensors", 1);
}

#[test]
fn zip_pth_survives_mutation() {
    mutate_and_truncate("zip.pth", 2);
}

#[test]
fn legacy_pth_survives_mutation() {
    mutate_and_truncate("legacy.pth", 3);
}

#[test]
fn onnx_survives_mutation() {
    mutate_and_truncate("onnx", 4);
}

fn err(bytes: &[u8]) -> String {
    let r = catch_unwind(AssertUnwindSafe(|| read_bytes(bytes).map(|_| ())));
    match r.expect("panicked") {
        Ok(()) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

/// Replaces the first occurrence of `from` (same length as `to`).
fn replace(b: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = b
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern");
    let mut out = b.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    out
}

#[test]
fn safetensors_header_size_corruption() {
    let Some(dir) = shared("safetensors_header_size_corruption") else {
        return;
    };
    let orig = std::fs::read(dir.join("fixtures/tiny_vgg16.safetensors")).unwrap();
    for n in [orig.len() as u64, orig.len() as u64 - 7, u64::MAX, 1 << 40] {
        let mut b = orig.clone();
        b[..8].copy_from_slice(&n.to_le_bytes());
        let e = err(&b);
        assert!(e.contains("header length"), "{e}");
    }
    // An offset past the data section.
    let e = err(&replace(&orig, b"[194448,231312]", b"[194448,931312]"));
    assert!(e.contains("outside"), "{e}");
    // An unsupported dtype.
    let e = err(&replace(&orig, b"\"F32\"", b"\"I32\""));
    assert!(e.contains("dtype I32"), "{e}");
}

#[test]
fn legacy_storage_size_corruption() {
    let Some(dir) = shared("legacy_storage_size_corruption") else {
        return;
    };
    let orig = std::fs::read(dir.join("fixtures/tiny_vgg16.legacy.pth")).unwrap();
    // The first storage's u64 element count follows the five pickles; find it by its value
    // (27 * 4 * ... any listed storage works: 108 = 4*3*3*3 for features.0.weight).
    let needle = 108u64.to_le_bytes();
    let at = orig
        .windows(8)
        .rposition(|w| w == needle)
        .expect("storage header");
    for n in [u64::MAX, u64::MAX / 4, 1 << 40, 1_000_000] {
        let mut b = orig.clone();
        b[at..at + 8].copy_from_slice(&n.to_le_bytes());
        let e = err(&b);
        assert!(
            e.contains("remain") || e.contains("outside") || e.contains("reaches"),
            "{e}"
        );
    }
}

#[test]
fn zip_directory_corruption() {
    let Some(dir) = shared("zip_directory_corruption") else {
        return;
    };
    let orig = std::fs::read(dir.join("fixtures/tiny_vgg16.zip.pth")).unwrap();
    let eocd = orig.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
    for (off, val) in [
        (12usize, u32::MAX - 1),
        (16, u32::MAX - 1),
        (16, 3),
        (12, 0),
    ] {
        let mut b = orig.clone();
        b[eocd + off..eocd + off + 4].copy_from_slice(&val.to_le_bytes());
        let e = err(&b);
        assert!(!e.is_empty());
    }
}

#[test]
fn onnx_without_convolutions_is_refused() {
    // ModelProto { ir_version: 7, graph: GraphProto { node: NodeProto { op_type: "Relu" } } }
    let node = [&[0x22, 4][..], b"Relu"].concat();
    let graph = [&[0x0a, node.len() as u8][..], &node].concat();
    let model = [&[0x08, 7, 0x3a, graph.len() as u8][..], &graph].concat();
    let e = err(&model);
    assert!(e.contains("no Conv nodes"), "{e}");
}

#[test]
fn unknown_bytes_are_refused() {
    assert!(err(b"").contains("empty"));
    assert!(err(b"GIF89a hello").contains("unrecognised"));
}

// ---- the restricted unpickler ----

fn pickle_err(p: &[u8]) -> String {
    let r = catch_unwind(|| unpickle(p).map(|_| ()));
    r.expect("panicked")
        .expect_err("expected refusal")
        .to_string()
}

#[test]
fn pickle_refuses_other_globals() {
    let e = pickle_err(b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85R.");
    assert!(e.contains("global os.system is not allowed"), "{e}");
    // STACK_GLOBAL form (protocol 4).
    let e = pickle_err(b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93.");
    assert!(e.contains("builtins.eval"), "{e}");
    // A legacy .pth whose state_dict pickle names a forbidden global fails the whole read.
    let mut legacy = weights_tools::pth_legacy::PREFIX.to_vec();
    legacy.extend_from_slice(b".\x80\x02M\xe9\x03.\x80\x02}.\x80\x02csubprocess\nPopen\n.");
    let e = err(&legacy);
    assert!(e.contains("subprocess.Popen"), "{e}");
}

#[test]
fn pickle_refuses_unknown_opcodes() {
    let e = pickle_err(b"\x80\x02(ios\nsystem\n.");
    assert!(e.contains("INST"), "{e}");
    let e = pickle_err(b"\x80\x02\x81.");
    assert!(e.contains("NEWOBJ"), "{e}");
}

#[test]
fn pickle_structural_errors() {
    assert!(pickle_err(b"\x80\x02").contains("needs 1 bytes"));
    assert!(pickle_err(b"\x80\x02h\x05.").contains("never PUT"));
    assert!(pickle_err(b"\x80\x02t.").contains("without a MARK"));
    assert!(pickle_err(b"\x80\x02X\xff\xff\xff\x7f.").contains("implausibly long"));
    assert!(pickle_err(b"\x80\x02.").contains("empty stack"));
}

#[test]
fn pickle_deep_nesting_and_cycles_do_not_overflow() {
    let mut p = b"\x80\x02N".to_vec();
    p.extend(std::iter::repeat_n(0x85u8, 200_000));
    p.push(b'.');
    assert!(unpickle(&p).is_ok());
    // d = {}; d["a"] = d — a cycle; reading it as a state_dict must stop, not recurse forever.
    let mut legacy = weights_tools::pth_legacy::PREFIX.to_vec();
    legacy.extend_from_slice(
        b".\x80\x02M\xe9\x03.\x80\x02}.\x80\x02}q\x00X\x01\x00\x00\x00ah\x00s.\x80\x02].",
    );
    let e = err(&legacy);
    assert!(e.contains("nested too deeply"), "{e}");
}

// ---- values and headers that parse but must not be used ----

/// The fixture's header entries in offset order, and its data section.
fn fixture_entries(orig: &[u8]) -> (Vec<(String, serde_json::Value)>, Vec<u8>) {
    let n = u64::from_le_bytes(orig[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&orig[8..8 + n]).unwrap();
    let mut entries: Vec<(String, serde_json::Value)> = header
        .into_iter()
        .filter(|(k, _)| k != "__metadata__")
        .collect();
    entries.sort_by_key(|(_, v)| v["data_offsets"][0].as_u64().unwrap());
    (entries, orig[8 + n..].to_vec())
}

/// A safetensors file from entries written in this order (duplicates and all).
fn safetensors_from(entries: &[(String, serde_json::Value)], data: &[u8]) -> Vec<u8> {
    let items: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}:{}", serde_json::to_string(k).unwrap(), v))
        .collect();
    let header = format!("{{{}}}", items.join(","));
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn non_finite_values_are_refused_by_name() {
    let Some(dir) = shared("non_finite_values_are_refused_by_name") else {
        return;
    };
    let orig = std::fs::read(dir.join("fixtures/tiny_vgg16.safetensors")).unwrap();
    let (_, clean) = read_bytes(&orig).unwrap();
    let mut rng = Rng(5);
    let bad = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -f32::NAN];
    for case in 0..200 {
        let mut set = clean.clone();
        let t = rng.below(set.tensors.len());
        for _ in 0..1 + rng.below(3) {
            let n = set.tensors[t].data.len();
            set.tensors[t].data[rng.below(n)] = bad[rng.below(bad.len())];
        }
        let name = set.tensors[t].name.clone();
        // Both stored widths: f16 has its own NaN and infinity encodings.
        let f16 = case % 2 == 1;
        let bytes = weights_tools::to_safetensors(&set, f16).unwrap();
        let what = format!("case {case}: {name}, f16 {f16}");
        // Reading keeps the values (inspect must be able to show them)...
        let (_, read) = read_bytes(&bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(!read.non_finite().is_empty(), "{what}");
        // ...converting refuses them, naming the tensor.
        let e = convert_bytes(&bytes, &ConvertOptions::default())
            .expect_err(&what)
            .to_string();
        assert!(e.contains(&name) && e.contains("of its"), "{what}: {e}");
        let kept = ConvertOptions {
            allow_non_finite: true,
            ..Default::default()
        };
        assert!(convert_bytes(&bytes, &kept).is_ok(), "{what}");
    }
}

#[test]
fn duplicate_names_and_overlapping_ranges_are_refused() {
    let Some(dir) = shared("duplicate_names_and_overlapping_ranges_are_refused") else {
        return;
    };
    let orig = std::fs::read(dir.join("fixtures/tiny_vgg16.safetensors")).unwrap();
    let (entries, data) = fixture_entries(&orig);
    assert!(read_bytes(&safetensors_from(&entries, &data)).is_ok());
    let mut rng = Rng(6);
    for case in 0..100 {
        // A name used twice: JSON parsers keep one silently; which one is meant is unknown.
        let mut dup = entries.clone();
        let (from, to) = (rng.below(dup.len()), rng.below(dup.len()));
        if from != to {
            dup[to].0 = dup[from].0.clone();
            let e = err(&safetensors_from(&dup, &data));
            assert!(e.contains("twice"), "case {case}: {e}");
        }
        // Two tensors sharing bytes: move one onto its neighbour's range.
        let mut overlap = entries.clone();
        let i = 1 + rng.below(overlap.len() - 1);
        let len = {
            let o = &overlap[i].1["data_offsets"];
            o[1].as_u64().unwrap() - o[0].as_u64().unwrap()
        };
        let start = overlap[i - 1].1["data_offsets"][0].as_u64().unwrap() + rng.below(4) as u64 * 4;
        overlap[i].1["data_offsets"] = serde_json::json!([start, start + len]);
        let e = err(&safetensors_from(&overlap, &data));
        assert!(
            e.contains("overlap") || e.contains("outside"),
            "case {case}: {e}"
        );
    }
}
