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

/// Node.js, Chromium and playwright-core, as the browser tests (`book_browser.rs`,
/// `serve_browser.rs`) find them.
pub mod browser {
    use super::repository_dir;
    use std::path::{Path, PathBuf};

    /// Set to `required` to make a missing browser a failure instead of a skip (`.ci/run` does).
    pub const REQUIRE: &str = "PICASSO_BROWSER_TEST";

    /// What a browser test runs: Node.js, which drives Chromium through playwright-core.
    pub struct Browser {
        pub node: PathBuf,
        pub chromium: PathBuf,
    }

    /// The first of `names` found on PATH.
    pub fn on_path(names: &[&str]) -> Option<PathBuf> {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
            .find(|candidate| candidate.is_file())
    }

    /// Node, Chromium and playwright-core, or what is missing, each with how to get it.
    pub fn find() -> Result<Browser, Vec<String>> {
        let node = std::env::var_os("PICASSO_NODE")
            .map(PathBuf::from)
            .or_else(|| on_path(&["node", "nodejs"]));
        let chromium = std::env::var_os("PICASSO_CHROMIUM")
            .map(PathBuf::from)
            .or_else(|| {
                on_path(&[
                    "chromium",
                    "chromium-browser",
                    "google-chrome",
                    "google-chrome-stable",
                ])
            });
        let playwright = repository_dir().join("tests/browser/node_modules/playwright-core");
        let mut missing = Vec::new();
        if node.is_none() {
            missing.push("Node.js (`node` on PATH, or PICASSO_NODE)".to_string());
        }
        if !chromium.as_deref().is_some_and(Path::is_file) {
            missing.push(
                "Chromium (Debian: `apt-get install chromium`; or set PICASSO_CHROMIUM)"
                    .to_string(),
            );
        }
        if !playwright.join("package.json").is_file() {
            missing.push("playwright-core (`npm ci --prefix tests/browser`)".to_string());
        }
        match (node, chromium) {
            (Some(node), Some(chromium)) if missing.is_empty() => Ok(Browser { node, chromium }),
            _ => Err(missing),
        }
    }

    /// Skip a test that lacks `missing`, saying so; a failure when the browser test is required.
    pub fn skip(test: &str, missing: &[String]) {
        let message = format!("{test} needs {}", missing.join(", and "));
        if std::env::var(REQUIRE).is_ok_and(|v| v == "required") {
            panic!("{message} ({REQUIRE}=required)");
        }
        eprintln!("skipping: {message}");
    }
}
