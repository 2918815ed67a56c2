//! What the cross-crate tests in tests/tests/ share: the book's location, building it, and
//! temporary folders.

use std::fs;
use std::path::{Path, PathBuf};

/// The repository's book (the folder holding book.toml).
pub fn book_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../book")
}

/// The repository's root folder.
pub fn repository_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Build the mdBook at `root` into `html_dir` with the mdBook library, as `mdbook build` would
/// (search index included), without touching the book's own `book/` output folder.
pub fn build_book(root: &Path, html_dir: &Path) -> mdbook_driver::MDBook {
    let mut book = mdbook_driver::MDBook::load(root).unwrap_or_else(|e| {
        panic!(
            "{}: book.toml and SUMMARY.md must load: {e:#}",
            root.display()
        )
    });
    book.config.build.build_dir = html_dir.to_path_buf();
    book.build()
        .unwrap_or_else(|e| panic!("mdbook build of {} failed: {e:#}", root.display()));
    book
}

/// A fresh, empty folder under the system temp folder, removed when dropped (also when the
/// test fails).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "picasso-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create a temporary folder");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Copy the folder `from` into `to` (created), recursively.
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
