//! Transformed Winograd weights, kept between calls.
//!
//! Style transfer runs the same frozen VGG weights forward and backward hundreds of times;
//! transforming them (`U = G g Gᵀ`, 36 values per 3×3 kernel) on every call would cost more
//! than the convolution itself on the deep, small layers. So each weight tensor is transformed
//! once per direction (forward, or flipped for the input gradient) and the result is kept for
//! as long as the weight lives.
//!
//! A weight is recognised by the shared, immutable buffer that owns its numbers (a tensor's
//! storage): the same owner seen through the same layout always holds the same numbers. The
//! cache keeps only a `Weak` to it, which does not keep the weights alive but does keep the
//! allocation's address from being reused, so a dead entry can never be mistaken for a new
//! weight. The owner is type-erased (`dyn Any`), so these CPU kernels need not know what a
//! tensor's storage is.

use super::conv_winograd::WinogradWeights;
use crate::layout::Layout;
use std::any::Any;
use std::sync::{Arc, Mutex, Weak};

/// The shared buffer a weight's values belong to, used only for its identity.
pub type WeightOwner = Arc<dyn Any + Send + Sync>;

/// Never hold more than this many bytes of transformed weights (VGG19 to relu5_1, both
/// directions, needs about 420 MB).
const BUDGET_BYTES: usize = 1 << 30;

struct Entry {
    owner: Weak<dyn Any + Send + Sync>,
    layout: Layout,
    flipped: bool,
    weights: Arc<WinogradWeights>,
}

static CACHE: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

/// The transformed weights of `owner` seen through `layout`, computed by `make` on the first
/// call and reused while the owner lives.
pub fn transformed(
    owner: &WeightOwner,
    layout: &Layout,
    flipped: bool,
    make: impl FnOnce() -> WinogradWeights,
) -> Arc<WinogradWeights> {
    let same = |e: &Entry| {
        e.flipped == flipped
            && std::ptr::eq(
                e.owner.as_ptr() as *const (),
                Arc::as_ptr(owner) as *const (),
            )
            && e.layout == *layout
    };
    {
        let cache = CACHE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(e) = cache.iter().find(|e| same(e)) {
            return e.weights.clone();
        }
    }
    // Transform outside the lock: other threads may convolve meanwhile.
    let weights = Arc::new(make());
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    cache.retain(|e| e.owner.strong_count() > 0);
    let mut held: usize = cache.iter().map(|e| e.weights.bytes()).sum();
    // Oldest first out when over budget.
    while held + weights.bytes() > BUDGET_BYTES && !cache.is_empty() {
        held -= cache.remove(0).weights.bytes();
    }
    if weights.bytes() <= BUDGET_BYTES {
        cache.push(Entry {
            owner: Arc::downgrade(owner),
            layout: layout.clone(),
            flipped,
            weights: weights.clone(),
        });
    }
    weights
}
