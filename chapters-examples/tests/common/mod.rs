#![allow(dead_code)] // each test binary uses some of these helpers
//! What the chapter-example tests share: a temporary output folder and the picture check.

use std::path::{Path, PathBuf};

/// A fresh, empty folder for one test's pictures, removed when dropped (also when the test
/// fails).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("picasso-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a temporary folder");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every file exists in `dir` and decodes as a picture of at least `min_side` pixels per side.
pub fn assert_pictures(dir: &Path, files: &[&str], min_side: u32) {
    for file in files {
        let path = dir.join(file);
        let picture = image::open(&path)
            .unwrap_or_else(|e| panic!("{} does not decode: {e}", path.display()));
        assert!(
            picture.width() >= min_side && picture.height() >= min_side,
            "{file} is only {}×{}",
            picture.width(),
            picture.height()
        );
    }
}
