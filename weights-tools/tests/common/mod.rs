//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use weights_tools::WeightSet;

/// The shared data folder: $PICASSO_SHARED, else `<repo>/../shared`, else `../shared` from the
/// working directory. None (and a "skipping" line) when absent, so the suite still passes on a
/// machine without it.
pub fn shared(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("PICASSO_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let beside_repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared");
            if beside_repo.is_dir() {
                beside_repo
            } else {
                PathBuf::from("../shared")
            }
        });
    if dir.join("fixtures").is_dir() {
        Some(dir)
    } else {
        println!(
            "skipping {test}: shared data folder {} not found (set PICASSO_SHARED)",
            dir.display()
        );
        None
    }
}

/// A fresh empty directory under the system temp dir, unique per test.
pub fn temp_dir(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("weights-tools-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create temp dir");
    d
}

/// Asserts that every tensor of `expected` is in `actual` with the same shape and bit-identical
/// values, and that `actual` has nothing else.
pub fn assert_same_tensors(actual: &WeightSet, expected: &WeightSet) {
    for e in &expected.tensors {
        let a = actual
            .get(&e.name)
            .unwrap_or_else(|| panic!("missing {}", e.name));
        assert_eq!(a.shape, e.shape, "shape of {}", e.name);
        let same = a
            .data
            .iter()
            .zip(&e.data)
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "values of {} differ", e.name);
    }
    assert_eq!(actual.tensors.len(), expected.tensors.len(), "tensor count");
}

/// Keeps only the tensors of `ws` whose names are in `like`.
pub fn subset(ws: &WeightSet, like: &WeightSet) -> WeightSet {
    WeightSet {
        tensors: ws
            .tensors
            .iter()
            .filter(|t| like.get(&t.name).is_some())
            .cloned()
            .collect(),
        metadata: ws.metadata.clone(),
    }
}

/// Runs `cmd` to completion, or kills it after `secs` seconds and returns `None`: a test of
/// something that used to block forever must fail, not hang.
pub fn output_within(mut cmd: std::process::Command, secs: u64) -> Option<std::process::Output> {
    use std::process::Stdio;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if child.try_wait().expect("wait").is_some() {
            return Some(child.wait_with_output().expect("output"));
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Makes a FIFO at `path` (the `mkfifo` command, present wherever these tests run).
pub fn mkfifo(path: &std::path::Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo")
        .success();
    assert!(ok, "mkfifo {}", path.display());
}
