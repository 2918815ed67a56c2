//! Locating the project's shared data folder (pretrained weights, images, fixtures).
//!
//! `PICASSO_SHARED` wins; otherwise `../shared` next to the repository, which is where a clone
//! of the project expects it. Tests use this to skip with a clear message when it is absent.

use std::path::PathBuf;

/// The environment variable that points at a shared-data folder.
pub const ENV_VAR: &str = "PICASSO_SHARED";

/// The shared-data folder, if one can be found.
pub fn shared_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(ENV_VAR) {
        let dir = PathBuf::from(dir);
        return dir.is_dir().then_some(dir);
    }
    // The repository root is one level above this crate; `shared` sits beside the repository.
    let beside_repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    let beside_cwd = PathBuf::from("../shared");
    [beside_repo, beside_cwd].into_iter().find(|d| d.is_dir())
}

/// A file inside the shared folder, or `None` (after printing why) so a test can skip.
pub fn shared_file(relative: &str) -> Option<PathBuf> {
    let Some(dir) = shared_dir() else {
        eprintln!(
            "skipping: shared data folder not found (set {ENV_VAR} or place it at ../shared)"
        );
        return None;
    };
    let path = dir.join(relative);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("skipping: {} is missing", path.display());
        None
    }
}
