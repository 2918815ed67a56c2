//! Files to remove if the process is stopped at once (a second Ctrl-C or SIGTERM calls
//! `std::process::exit`, which runs no destructors): temporary files not yet renamed and lock
//! files. Writers register a path when they create it and unregister it when it is renamed or
//! removed; the signal handler calls [`remove_all`] just before exiting.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Remember `path` for removal at a forced exit.
pub fn register(path: &Path) {
    if let Ok(mut pending) = PENDING.lock() {
        pending.push(path.to_path_buf());
    }
}

/// Forget `path` (it was renamed into place or removed).
pub fn unregister(path: &Path) {
    if let Ok(mut pending) = PENDING.lock() {
        if let Some(i) = pending.iter().rposition(|p| p == path) {
            pending.swap_remove(i);
        }
    }
}

/// Remove every registered file (best effort); for a handler that is about to exit.
pub fn remove_all() {
    let pending = match PENDING.lock() {
        Ok(mut pending) => std::mem::take(&mut *pending),
        Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
    };
    for path in pending {
        let _ = std::fs::remove_file(path);
    }
}
