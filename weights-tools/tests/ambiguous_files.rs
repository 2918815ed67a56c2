//! Issue 18, items 16 and 19 (the readers' messages): a weights file that PyTorch or ONNX
//! Runtime would read differently from us is refused with the reason — two zip members of one
//! name, two ONNX initializers of one name, an ONNX Conv whose padding or kernel is not
//! VGG's — a negative ONNX dimension is called negative, and `inspect` never sends a file's
//! control characters to the terminal.

mod common;

use std::path::Path;
use std::process::Command;

use common::{shared, temp_dir};
use weights_tools::{convert_bytes, ConvertOptions};

// ---- a minimal protobuf writer, enough for one-Conv ONNX models ----

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn int_field(field: u64, v: u64, out: &mut Vec<u8>) {
    varint(field << 3, out);
    varint(v, out);
}

fn bytes_field(field: u64, b: &[u8], out: &mut Vec<u8>) {
    varint((field << 3) | 2, out);
    varint(b.len() as u64, out);
    out.extend_from_slice(b);
}

/// TensorProto: float32 `dims` named `name`, values 0.5 in raw_data.
fn tensor(name: &str, dims: &[i64]) -> Vec<u8> {
    let mut t = Vec::new();
    for &d in dims {
        int_field(1, d as u64, &mut t);
    }
    int_field(2, 1, &mut t);
    bytes_field(8, name.as_bytes(), &mut t);
    let n: i64 = dims.iter().product::<i64>().max(0);
    let raw: Vec<u8> = (0..n).flat_map(|_| 0.5f32.to_le_bytes()).collect();
    bytes_field(9, &raw, &mut t);
    t
}

/// AttributeProto with a list of ints.
fn ints_attribute(name: &str, values: &[i64]) -> Vec<u8> {
    let mut a = Vec::new();
    bytes_field(1, name.as_bytes(), &mut a);
    for &v in values {
        int_field(8, v as u64, &mut a);
    }
    int_field(20, 7, &mut a);
    a
}

/// A model with one Conv (x, w, b → y) carrying `attributes`, and `initializers`.
fn model(attributes: &[Vec<u8>], initializers: &[Vec<u8>]) -> Vec<u8> {
    let mut node = Vec::new();
    for input in ["x", "w", "b"] {
        bytes_field(1, input.as_bytes(), &mut node);
    }
    bytes_field(2, b"y", &mut node);
    bytes_field(3, b"conv1", &mut node);
    bytes_field(4, b"Conv", &mut node);
    for a in attributes {
        bytes_field(5, a, &mut node);
    }
    let mut graph = Vec::new();
    bytes_field(1, &node, &mut graph);
    for t in initializers {
        bytes_field(5, t, &mut graph);
    }
    let mut m = Vec::new();
    int_field(1, 7, &mut m);
    bytes_field(7, &graph, &mut m);
    m
}

fn vgg_padding() -> Vec<Vec<u8>> {
    vec![
        ints_attribute("kernel_shape", &[3, 3]),
        ints_attribute("pads", &[1, 1, 1, 1]),
    ]
}

fn conv1_1() -> Vec<Vec<u8>> {
    vec![tensor("w", &[2, 3, 3, 3]), tensor("b", &[2])]
}

fn refusal(bytes: &[u8]) -> String {
    match convert_bytes(bytes, &ConvertOptions::default()) {
        Ok(_) => panic!("the file was read"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_conv_1_1_model_with_vgg_padding_converts() {
    let converted = convert_bytes(
        &model(&vgg_padding(), &conv1_1()),
        &ConvertOptions::default(),
    )
    .expect("a plain VGG conv1_1 converts");
    assert_eq!(converted.weights.tensors[0].name, "conv1_1.weight");
}

#[test]
fn onnx_initializers_of_one_name_are_refused() {
    let mut inits = conv1_1();
    inits.push(tensor("w", &[2, 3, 3, 3]));
    let e = refusal(&model(&vgg_padding(), &inits));
    assert!(e.contains("\"w\"") && e.contains("both named"), "{e}");
}

#[test]
fn onnx_convs_padded_otherwise_than_vgg_are_refused() {
    for (what, attributes) in [
        (
            "no pads (ONNX's default is 0)",
            vec![ints_attribute("kernel_shape", &[3, 3])],
        ),
        (
            "pads = 0",
            vec![
                ints_attribute("kernel_shape", &[3, 3]),
                ints_attribute("pads", &[0, 0, 0, 0]),
            ],
        ),
        (
            "a kernel_shape that is not the weight's",
            vec![
                ints_attribute("kernel_shape", &[5, 5]),
                ints_attribute("pads", &[1, 1, 1, 1]),
            ],
        ),
    ] {
        let e = refusal(&model(&attributes, &conv1_1()));
        assert!(e.contains("conv1"), "{what}: {e}");
        assert!(
            e.contains("pads") || e.contains("kernel_shape"),
            "{what}: {e}"
        );
    }
}

#[test]
fn a_negative_onnx_dimension_is_called_negative() {
    let inits = vec![tensor("w", &[-3, 3, 3, 3]), tensor("b", &[2])];
    let e = refusal(&model(&vgg_padding(), &inits));
    assert!(e.contains("-3") && e.contains("negative"), "{e}");
    assert!(!e.contains("overflows"), "{e}");
}

/// Two members named `…/data/10` (the fixture's `…/version`, renamed: same length): torch.load
/// reads the last, a reader searching from the start the first.
#[test]
fn zip_members_of_one_name_are_refused() {
    let Some(dir) = shared("zip_members_of_one_name_are_refused") else {
        return;
    };
    let mut bytes = std::fs::read(dir.join("fixtures/tiny_vgg16.zip.pth")).unwrap();
    let (from, to) = (b"tiny_vgg16.zip/version", b"tiny_vgg16.zip/data/10");
    let mut renamed = 0;
    let mut i = 0;
    while let Some(at) = bytes[i..].windows(from.len()).position(|w| w == from) {
        bytes[i + at..i + at + to.len()].copy_from_slice(to);
        renamed += 1;
        i += at + to.len();
    }
    assert_eq!(renamed, 2, "the local header and the central directory");
    let e = match weights_tools::read_bytes(&bytes) {
        Ok(_) => panic!("read one of two members named data/10 without a word"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("data/10") && e.contains("two members"), "{e}");
}

/// Tensor names and metadata with escape sequences are printed escaped.
#[test]
fn inspect_escapes_control_characters() {
    let header = r#"{"__metadata__":{"note":"\u001b]0;pwned\u0007"},"evil\u001b[2Jname":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    let tmp = temp_dir("escapes");
    let file = tmp.join("evil.safetensors");
    std::fs::write(&file, &bytes).unwrap();
    let r = Command::new(env!("CARGO_BIN_EXE_weights-tools"))
        .arg("inspect")
        .arg(Path::new(&file))
        .output()
        .unwrap();
    let all = [r.stdout.as_slice(), r.stderr.as_slice()].concat();
    assert!(
        !all.iter().any(|&b| b == 0x1b || b == 0x07),
        "raw control bytes reached the terminal: {}",
        String::from_utf8_lossy(&all)
    );
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(out.contains("evil") && out.contains("pwned"), "{out}");
    let _ = std::fs::remove_dir_all(&tmp);
}
