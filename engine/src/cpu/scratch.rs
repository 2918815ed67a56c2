//! Reusable work buffers for kernels that need large temporary space on every call.
//!
//! Winograd convolution needs tens of megabytes for the transformed input and the GEMM output
//! of each band. Allocating them afresh on every call costs page faults and zeroing (about 7 %
//! of a style-transfer evaluation); handing finished buffers back to a small pool avoids both.
//! A reused buffer holds stale numbers, so callers must write before they read.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

/// Buffers kept for reuse; the pool never holds more than this many.
const KEPT: usize = 4;

static POOL: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

/// A buffer of `len` floats with unspecified (but initialised) contents, returned to the pool
/// when dropped.
pub struct Scratch(Vec<f32>);

/// Borrow a buffer of `len` floats from the pool (or allocate one).
pub fn take(len: usize) -> Scratch {
    let reused = {
        let mut pool = POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // The smallest buffer that is big enough.
        let best = (0..pool.len())
            .filter(|&i| pool[i].capacity() >= len)
            .min_by_key(|&i| pool[i].capacity());
        best.map(|i| pool.swap_remove(i))
    };
    let mut buffer = reused.unwrap_or_default();
    // Only growth writes (zeros); shrinking and reuse write nothing.
    buffer.resize(len, 0.0);
    Scratch(buffer)
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let buffer = std::mem::take(&mut self.0);
        let mut pool = POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        pool.push(buffer);
        if pool.len() > KEPT {
            // Drop the smallest: large ones are the expensive ones to make again.
            let smallest = (0..pool.len()).min_by_key(|&i| pool[i].capacity());
            if let Some(i) = smallest {
                pool.swap_remove(i);
            }
        }
    }
}

impl Deref for Scratch {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
}
