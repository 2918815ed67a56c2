//! Hand-built legacy .pth files exercising what the fixtures do not: the pre-0.4
//! `_rebuild_tensor`, storage views (6-field persistent ids), non-contiguous strides, f16, and
//! the committed default weights file.

use weights_tools::{read_bytes, sha256_hex, DType};

fn s(out: &mut Vec<u8>, text: &str) {
    out.push(b'X');
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// A legacy file with one f16 tensor "w" that is a transposed 2×2 view into elements 2..6 of an
/// 8-element root storage.
fn legacy_view_file() -> Vec<u8> {
    let mut f = weights_tools::pth_legacy::PREFIX.to_vec();
    f.push(b'.');
    f.extend_from_slice(b"\x80\x02M\xe9\x03.");
    f.extend_from_slice(b"\x80\x02}(X\x0d\x00\x00\x00little_endian\x88u.");
    // state_dict
    f.extend_from_slice(b"\x80\x02}q\x00(");
    s(&mut f, "w");
    f.extend_from_slice(b"ctorch._utils\n_rebuild_tensor\n((");
    s(&mut f, "storage");
    f.extend_from_slice(b"ctorch\nHalfStorage\n");
    s(&mut f, "k1");
    s(&mut f, "cpu");
    f.extend_from_slice(b"K\x08(");
    s(&mut f, "k1");
    f.extend_from_slice(b"K\x02K\x04t"); // view metadata (key, offset 2, size 4)
    f.extend_from_slice(b"tQK\x00K\x02K\x02\x86K\x01K\x02\x86tRu.");
    // storage keys
    f.extend_from_slice(b"\x80\x02]q\x00(");
    s(&mut f, "k1");
    f.extend_from_slice(b"e.");
    f.extend_from_slice(&8u64.to_le_bytes());
    for v in 0..8 {
        f.extend_from_slice(&half::f16::from_f32(v as f32).to_le_bytes());
    }
    f
}

#[test]
fn old_rebuild_tensor_with_view_and_strides() {
    let (_, ws) = read_bytes(&legacy_view_file()).unwrap();
    let t = ws.get("w").unwrap();
    assert_eq!(t.shape, vec![2, 2]);
    assert_eq!(t.dtype, DType::F16);
    assert_eq!(t.data, vec![2.0, 4.0, 3.0, 5.0]);
}

#[test]
fn view_beyond_storage_is_an_error() {
    let mut f = legacy_view_file();
    // Make the view start at element 6: 6 + 4 > 8.
    let at = f.windows(5).position(|w| w == b"K\x02K\x04t").unwrap();
    f[at + 1] = 6;
    let e = read_bytes(&f).unwrap_err().to_string();
    assert!(e.contains("outside its storage"), "{e}");
}

#[test]
fn committed_default_weights_match_their_readme() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/weights");
    let file = dir.join("vgg16-imagenet-f16.safetensors");
    let Ok(bytes) = std::fs::read(&file) else {
        println!("skipping: {} not found", file.display());
        return;
    };
    assert!(bytes.len() <= 32 << 20);
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(
        readme.contains(&sha256_hex(&bytes)),
        "README does not state the file's sha256"
    );
    assert!(readme.contains("CC BY 4.0"));
    let ws = weights_tools::load(&file).unwrap();
    assert_eq!(weights_tools::names::architecture(&ws), "vgg16");
    assert_eq!(ws.param_count(), 14_714_688);
    assert!(ws.tensors.iter().all(|t| t.dtype == DType::F16));
    assert_eq!(
        ws.metadata_f32s("input_mean"),
        Some(vec![123.68, 116.779, 103.939])
    );
    assert!(ws.metadata["license"].contains("CC BY 4.0"));
}
