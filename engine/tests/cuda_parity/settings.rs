//! The process-wide CUDA settings some tests change (the column-buffer limit, the index
//! width): those tests take turns, and put the defaults back however they end, so a failure in
//! one fails nothing else.

use std::sync::{Mutex, MutexGuard};

static SETTINGS: Mutex<()> = Mutex::new(());

/// This test's turn with the process-wide settings.
pub fn turn() -> MutexGuard<'static, ()> {
    SETTINGS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Puts the defaults back when dropped.
pub struct Defaults;

impl Drop for Defaults {
    fn drop(&mut self) {
        engine::cuda::conv::set_column_buffer_floats(engine::cuda::conv::MAX_COL_FLOATS);
        engine::cuda::force_64_bit_indices(false);
    }
}

/// Every kernel that comes in two widths runs its 64-bit twin (which serves tensors of 2³¹
/// floats and more) until the returned guard is dropped, on small tensors. Hold `turn()`.
pub fn wide_indices() -> Defaults {
    engine::cuda::force_64_bit_indices(true);
    Defaults
}
