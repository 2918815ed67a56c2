//! The `weights-tools` binary end to end: inspect, convert, trim, fetch (from a loopback HTTP
//! server), and the exit codes and messages of failures.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

use common::{assert_same_tensors, shared, temp_dir};
use weights_tools::{read_path, sha256_hex};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weights-tools"))
        .args(args)
        .env_remove(weights_tools::fetch::URL_ENV)
        .output()
        .expect("run weights-tools")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ps(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn inspect_lists_tensors_metadata_and_count() {
    let Some(dir) = shared("inspect_lists_tensors_metadata_and_count") else {
        return;
    };
    for (ext, fmt) in [
        ("safetensors", "safetensors"),
        ("legacy.pth", "legacy"),
        ("zip.pth", "zip"),
        ("onnx", "ONNX"),
    ] {
        let out = run(&[
            "inspect",
            ps(&dir.join(format!("fixtures/tiny_vgg16.{ext}"))),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let s = text(&out.stdout);
        assert!(s.contains("format: ") && s.contains(fmt), "{s}");
        assert!(s.contains("[4, 3, 3, 3]") && s.contains("F32"), "{s}");
    }
    let out = run(&["inspect", ps(&dir.join("fixtures/tiny_vgg16.safetensors"))]);
    let s = text(&out.stdout);
    assert!(s.contains("parameters: 57828"), "{s}");
    assert!(s.contains("input_scale = 255"), "{s}");
    assert!(s.contains("project layers: vgg16, 13 convolutions"), "{s}");
}

#[test]
fn convert_and_trim_produce_the_reference() {
    let Some(dir) = shared("convert_and_trim_produce_the_reference") else {
        return;
    };
    let tmp = temp_dir("convert_and_trim");
    let (_, reference) = read_path(&dir.join("fixtures/tiny_vgg16.safetensors")).unwrap();
    let out = tmp.join("from_legacy.safetensors");
    let r = run(&[
        "convert",
        ps(&dir.join("fixtures/tiny_vgg16.legacy.pth")),
        ps(&out),
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(text(&r.stdout).contains("26 tensors"));
    let (_, got) = read_path(&out).unwrap();
    assert_same_tensors(&got, &reference);
    assert_eq!(got.metadata["input_std"], "[0.229, 0.224, 0.225]");
    assert_eq!(got.metadata["converted_from"], "tiny_vgg16.legacy.pth");

    let out = tmp.join("onnx_caffe.safetensors");
    let r = run(&[
        "convert",
        ps(&dir.join("fixtures/tiny_vgg16.onnx")),
        ps(&out),
        "--preset",
        "caffe",
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert_eq!(read_path(&out).unwrap().1.metadata["input_scale"], "255");

    let trimmed = tmp.join("trimmed.safetensors");
    let r = run(&[
        "trim",
        ps(&dir.join("fixtures/tiny_vgg16.zip.pth")),
        ps(&trimmed),
        "--up-to",
        "relu3_1",
        "--f16",
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let (_, t) = read_path(&trimmed).unwrap();
    let names: Vec<&str> = t.names().collect();
    assert_eq!(names.len(), 10);
    assert_eq!(names.last(), Some(&"conv3_1.bias"));
    assert_eq!(t.metadata["trimmed_up_to"], "relu3_1");
    assert!(t
        .tensors
        .iter()
        .all(|x| x.dtype == weights_tools::DType::F16));
    // No temp files left behind.
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 3, "{left:?}");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn failures_exit_nonzero_with_a_message() {
    let tmp = temp_dir("failures");
    let junk = tmp.join("junk.bin");
    std::fs::write(&junk, b"this is not a weights file at all").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["inspect".into(), ps(&junk).into()],
            "unrecognised weights file",
        ),
        (
            vec!["inspect".into(), ps(&tmp.join("missing.pth")).into()],
            "cannot read",
        ),
        (
            vec!["convert".into(), ps(&junk).into(), ps(&junk).into()],
            "is the input file",
        ),
        (
            vec!["trim".into(), ps(&junk).into(), ps(&tmp.join("o")).into()],
            "nothing to do",
        ),
        (
            vec![
                "fetch".into(),
                "alexnet".into(),
                "--cache-dir".into(),
                ps(&tmp).into(),
            ],
            "unknown model",
        ),
    ];
    for (args, want) in cases {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run(&a);
        assert_eq!(r.status.code(), Some(1), "{args:?}");
        let e = text(&r.stderr);
        assert!(
            e.starts_with("error: ") && e.contains(want),
            "{args:?}: {e}"
        );
    }
    // Usage errors are clap's exit code 2.
    let r = run(&["convert", ps(&junk), "x.safetensors", "--preset", "nope"]);
    assert_eq!(r.status.code(), Some(2));
    assert!(text(&r.stderr).contains("choose torchvision or caffe"));
    if let Some(dir) = shared("failures_exit_nonzero_with_a_message") {
        let r = run(&[
            "trim",
            ps(&dir.join("fixtures/tiny_vgg16.safetensors")),
            ps(&tmp.join("o.safetensors")),
            "--up-to",
            "conv6_1",
        ]);
        assert_eq!(r.status.code(), Some(1));
        assert!(
            text(&r.stderr).contains("no such layer"),
            "{}",
            text(&r.stderr)
        );
        assert!(!tmp.join("o.safetensors").exists());
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The tiny fixture with `damage` applied, written to `tmp/name`.
fn damaged_fixture(
    dir: &Path,
    tmp: &Path,
    name: &str,
    damage: impl FnOnce(&mut weights_tools::WeightSet),
) -> std::path::PathBuf {
    let (_, mut set) = read_path(&dir.join("fixtures/tiny_vgg16.safetensors")).unwrap();
    damage(&mut set);
    let path = tmp.join(name);
    std::fs::write(&path, weights_tools::to_safetensors(&set, false).unwrap()).unwrap();
    path
}

#[test]
fn non_finite_values_are_reported_and_refused_by_name() {
    let Some(dir) = shared("non_finite_values_are_reported_and_refused_by_name") else {
        return;
    };
    let tmp = temp_dir("non_finite");
    let nan = damaged_fixture(&dir, &tmp, "nan.safetensors", |set| {
        let t = set
            .tensors
            .iter_mut()
            .find(|t| t.name == "conv2_1.weight")
            .unwrap();
        t.data[0] = f32::NAN;
        t.data[1] = f32::INFINITY;
    });
    // inspect lists everything, marks the tensor, and fails naming it.
    let r = run(&["inspect", ps(&nan)]);
    assert_eq!(r.status.code(), Some(1));
    let (out, err) = (text(&r.stdout), text(&r.stderr));
    assert!(out.contains("NON-FINITE: 1 NaN, 1 infinite"), "{out}");
    assert!(out.contains("project layers: vgg16"), "{out}");
    assert!(
        err.contains("conv2_1.weight") && err.contains("1 NaN and 1 infinite"),
        "{err}"
    );
    // convert refuses unless asked to keep them, and says how.
    let out_file = tmp.join("out.safetensors");
    let r = run(&["convert", ps(&nan), ps(&out_file)]);
    assert_eq!(r.status.code(), Some(1));
    let err = text(&r.stderr);
    assert!(
        err.contains("conv2_1.weight") && err.contains("--allow-non-finite"),
        "{err}"
    );
    assert!(!out_file.exists());
    let r = run(&["convert", ps(&nan), ps(&out_file), "--allow-non-finite"]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(
        text(&r.stderr).contains("warning: kept as asked"),
        "{}",
        text(&r.stderr)
    );
    let (_, kept) = read_path(&out_file).unwrap();
    assert!(kept.get("conv2_1.weight").unwrap().data[0].is_nan());
    // The library's loader, which the engine uses, refuses them too.
    let e = weights_tools::load(&out_file).unwrap_err().to_string();
    assert!(e.contains("conv2_1.weight"), "{e}");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn convert_checks_shapes_and_the_output_folder_first() {
    let Some(dir) = shared("convert_checks_shapes_and_the_output_folder_first") else {
        return;
    };
    let tmp = temp_dir("convert_checks");
    let source = dir.join("fixtures/tiny_vgg16.safetensors");
    // A [4, 3, 1, 9] kernel: as many values as 3×3, but not a VGG convolution.
    let odd = damaged_fixture(&dir, &tmp, "odd.safetensors", |set| {
        let t = set
            .tensors
            .iter_mut()
            .find(|t| t.name == "conv1_1.weight")
            .unwrap();
        t.shape = vec![4, 3, 1, 9];
    });
    let r = run(&["convert", ps(&odd), ps(&tmp.join("o.safetensors"))]);
    assert_eq!(r.status.code(), Some(1));
    let err = text(&r.stderr);
    assert!(
        err.contains("conv1_1.weight") && err.contains("3×3"),
        "{err}"
    );
    // A missing folder is named as such, not as a temporary file's OS error.
    let r = run(&["convert", ps(&source), ps(&tmp.join("nodir/x.safetensors"))]);
    assert_eq!(r.status.code(), Some(1));
    let err = text(&r.stderr);
    assert!(
        err.contains("the folder") && err.contains("does not exist"),
        "{err}"
    );
    assert!(!err.contains("tmp-") && !err.contains("os error"), "{err}");
    // A hard link to the input is the input.
    let link = tmp.join("link.safetensors");
    std::fs::hard_link(&odd, &link).unwrap();
    let r = run(&["convert", ps(&odd), ps(&link)]);
    assert!(
        text(&r.stderr).contains("is the input file"),
        "{}",
        text(&r.stderr)
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_refused_pickle_is_not_called_corrupt() {
    let tmp = temp_dir("refused_pickle");
    // A legacy .pth whose state_dict pickle calls os.system.
    let mut legacy = weights_tools::pth_legacy::PREFIX.to_vec();
    legacy.extend_from_slice(b".\x80\x02M\xe9\x03.\x80\x02}.\x80\x02cos\nsystem\n.");
    let file = tmp.join("evil.pth");
    std::fs::write(&file, &legacy).unwrap();
    let r = run(&["inspect", ps(&file)]);
    assert_eq!(r.status.code(), Some(1));
    let err = text(&r.stderr);
    assert!(
        err.contains("refused pickle") && err.contains("os.system"),
        "{err}"
    );
    assert!(!err.contains("corrupt"), "{err}");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Serves `body` to exactly one HTTP request on 127.0.0.1; returns the port.
fn serve_once(body: Vec<u8>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    port
}

#[test]
fn fetch_downloads_verifies_converts_and_caches() {
    let Some(dir) = shared("fetch_downloads_verifies_converts_and_caches") else {
        return;
    };
    let body = std::fs::read(dir.join("fixtures/tiny_vgg16.legacy.pth")).unwrap();
    let prefix = &sha256_hex(&body)[..8];
    let cache = temp_dir("fetch_ok");
    let port = serve_once(body);
    let url = format!("http://127.0.0.1:{port}/models/tiny-{prefix}.pth");
    let r = run(&["fetch", "vgg16", "--cache-dir", ps(&cache), "--url", &url]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let path = text(&r.stdout).trim().to_string();
    assert!(
        path.ends_with(&format!("tiny-{prefix}.safetensors")),
        "{path}"
    );
    let (_, got) = read_path(Path::new(&path)).unwrap();
    let (_, reference) = read_path(&dir.join("fixtures/tiny_vgg16.safetensors")).unwrap();
    assert_same_tensors(&got, &reference);
    assert_eq!(got.metadata["input_mean"], "[0.485, 0.456, 0.406]");
    assert_eq!(got.metadata["converted_from"], url);
    // Cached: the server is gone, yet a second fetch succeeds (via the env var this time).
    let r = Command::new(env!("CARGO_BIN_EXE_weights-tools"))
        .args(["fetch", "vgg16", "--cache-dir", ps(&cache)])
        .env(weights_tools::fetch::URL_ENV, &url)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert_eq!(text(&r.stdout).trim(), path);
    let _ = std::fs::remove_dir_all(&cache);
}

#[test]
fn fetch_rejects_a_wrong_hash_and_saves_nothing() {
    let Some(dir) = shared("fetch_rejects_a_wrong_hash_and_saves_nothing") else {
        return;
    };
    let body = std::fs::read(dir.join("fixtures/tiny_vgg16.legacy.pth")).unwrap();
    let cache = temp_dir("fetch_bad_hash");
    let port = serve_once(body);
    let url = format!("http://127.0.0.1:{port}/tiny-00000000.pth");
    let r = run(&["fetch", "vgg16", "--cache-dir", ps(&cache), "--url", &url]);
    assert_eq!(r.status.code(), Some(1));
    let e = text(&r.stderr);
    assert!(e.contains("does not start with 00000000"), "{e}");
    assert_eq!(
        std::fs::read_dir(&cache).unwrap().count(),
        0,
        "cache dir should stay empty"
    );
    let _ = std::fs::remove_dir_all(&cache);
}

#[test]
fn fetch_offline_explains_what_to_do() {
    // A port nobody listens on: bind, note the port, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cache = temp_dir("fetch_offline");
    let url = format!("http://127.0.0.1:{port}/vgg16-397923af.pth");
    let r = run(&["fetch", "vgg16", "--cache-dir", ps(&cache), "--url", &url]);
    assert_eq!(r.status.code(), Some(1));
    let e = text(&r.stderr);
    assert!(
        e.contains("offline") && e.contains("--weights") && e.contains("weights-tools convert"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&cache);
}
