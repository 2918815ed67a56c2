//! What a device has done: kernel launches, cuBLAS calls, copies between host and device,
//! waits for the device, allocations and the memory in use at peak.
//!
//! Every device keeps one, counted in [`super::CudaDevice`] where the real GPU and the host
//! emulator share the code, so both count alike: a test on the emulator sees the ledger the
//! GPU would show. What makes a GPU slow shows up here without a GPU: each download is a host
//! round trip (the host waits until the device has drained its queue), each launch has a fixed
//! cost of a few microseconds, and an image-sized copy inside the optimisation loop moves the
//! whole picture across the bus.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of the counts. Differences of two snapshots ([`Ledger::since`]) give what
/// happened in between; the marks (`peak_bytes`, `largest_copy_bytes`) are high-water marks
/// since the last [`super::CudaDevice::reset_ledger_marks`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ledger {
    /// Kernels launched (a launch of zero threads is skipped, and not counted).
    pub launches: u64,
    /// cuBLAS calls (one strided-batched SGEMM each).
    pub gemms: u64,
    /// Host-to-device copies, and their bytes.
    pub uploads: u64,
    pub upload_bytes: u64,
    /// Device-to-host copies, and their bytes. Each is followed by a wait for the device.
    pub downloads: u64,
    pub download_bytes: u64,
    /// Times the host waited for the device: one per download, plus explicit synchronisations.
    /// These are the round trips: each drains the device's queue.
    pub syncs: u64,
    /// Device allocations, and the bytes they asked for.
    pub allocations: u64,
    pub allocated_bytes: u64,
    /// Bytes held by live buffers now.
    pub bytes_in_use: u64,
    /// The most bytes held at once (like PyTorch's `max_memory_allocated`): requested sizes,
    /// not the allocator's rounding, its cache or the context.
    pub peak_bytes: u64,
    /// The largest single copy, either way.
    pub largest_copy_bytes: u64,
}

impl Ledger {
    /// What happened between `earlier` and this snapshot: counts subtracted, marks and the
    /// bytes in use as of now.
    pub fn since(&self, earlier: &Ledger) -> Ledger {
        Ledger {
            launches: self.launches - earlier.launches,
            gemms: self.gemms - earlier.gemms,
            uploads: self.uploads - earlier.uploads,
            upload_bytes: self.upload_bytes - earlier.upload_bytes,
            downloads: self.downloads - earlier.downloads,
            download_bytes: self.download_bytes - earlier.download_bytes,
            syncs: self.syncs - earlier.syncs,
            allocations: self.allocations - earlier.allocations,
            allocated_bytes: self.allocated_bytes - earlier.allocated_bytes,
            ..*self
        }
    }

    /// The counts of both added, the larger of each mark: for collecting the work of several
    /// windows (the checkpoints saved inside a loop, to leave out of the loop's counts).
    pub fn plus(&self, other: &Ledger) -> Ledger {
        Ledger {
            launches: self.launches + other.launches,
            gemms: self.gemms + other.gemms,
            uploads: self.uploads + other.uploads,
            upload_bytes: self.upload_bytes + other.upload_bytes,
            downloads: self.downloads + other.downloads,
            download_bytes: self.download_bytes + other.download_bytes,
            syncs: self.syncs + other.syncs,
            allocations: self.allocations + other.allocations,
            allocated_bytes: self.allocated_bytes + other.allocated_bytes,
            bytes_in_use: other.bytes_in_use,
            peak_bytes: self.peak_bytes.max(other.peak_bytes),
            largest_copy_bytes: self.largest_copy_bytes.max(other.largest_copy_bytes),
        }
    }

    /// Host round trips: every time the host waited for the device.
    pub fn round_trips(&self) -> u64 {
        self.syncs
    }

    /// The counts divided by `n` (evaluations), for a report.
    pub fn per(&self, n: usize) -> LedgerRates {
        let n = n.max(1) as f64;
        let r = |v: u64| v as f64 / n;
        LedgerRates {
            launches: r(self.launches),
            gemms: r(self.gemms),
            uploads: r(self.uploads),
            upload_bytes: r(self.upload_bytes),
            downloads: r(self.downloads),
            download_bytes: r(self.download_bytes),
            syncs: r(self.syncs),
            allocations: r(self.allocations),
            allocated_bytes: r(self.allocated_bytes),
        }
    }
}

/// Counts per evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LedgerRates {
    pub launches: f64,
    pub gemms: f64,
    pub uploads: f64,
    pub upload_bytes: f64,
    pub downloads: f64,
    pub download_bytes: f64,
    pub syncs: f64,
    pub allocations: f64,
    pub allocated_bytes: f64,
}

/// The live counters of one device (relaxed atomics: counts, not synchronisation).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    launches: AtomicU64,
    gemms: AtomicU64,
    uploads: AtomicU64,
    upload_bytes: AtomicU64,
    downloads: AtomicU64,
    download_bytes: AtomicU64,
    syncs: AtomicU64,
    allocations: AtomicU64,
    allocated_bytes: AtomicU64,
    bytes_in_use: AtomicU64,
    peak_bytes: AtomicU64,
    largest_copy_bytes: AtomicU64,
}

/// Bytes of `floats` f32.
fn bytes(floats: usize) -> u64 {
    floats as u64 * 4
}

impl Counters {
    pub fn launch(&self) {
        self.launches.fetch_add(1, Relaxed);
    }

    pub fn gemm(&self) {
        self.gemms.fetch_add(1, Relaxed);
    }

    pub fn upload(&self, floats: usize) {
        self.uploads.fetch_add(1, Relaxed);
        self.upload_bytes.fetch_add(bytes(floats), Relaxed);
        self.largest_copy_bytes.fetch_max(bytes(floats), Relaxed);
    }

    /// A download and the wait that follows it.
    pub fn download(&self, floats: usize) {
        self.downloads.fetch_add(1, Relaxed);
        self.download_bytes.fetch_add(bytes(floats), Relaxed);
        self.largest_copy_bytes.fetch_max(bytes(floats), Relaxed);
        self.sync();
    }

    pub fn sync(&self) {
        self.syncs.fetch_add(1, Relaxed);
    }

    pub fn alloc(&self, floats: usize) {
        self.allocations.fetch_add(1, Relaxed);
        self.allocated_bytes.fetch_add(bytes(floats), Relaxed);
        let now = self.bytes_in_use.fetch_add(bytes(floats), Relaxed) + bytes(floats);
        self.peak_bytes.fetch_max(now, Relaxed);
    }

    pub fn free(&self, floats: usize) {
        self.bytes_in_use.fetch_sub(bytes(floats), Relaxed);
    }

    /// Start new high-water marks from here: the peak from the bytes in use now, the largest
    /// copy from zero.
    pub fn reset_marks(&self) {
        self.peak_bytes
            .store(self.bytes_in_use.load(Relaxed), Relaxed);
        self.largest_copy_bytes.store(0, Relaxed);
    }

    pub fn snapshot(&self) -> Ledger {
        let l = |c: &AtomicU64| c.load(Relaxed);
        Ledger {
            launches: l(&self.launches),
            gemms: l(&self.gemms),
            uploads: l(&self.uploads),
            upload_bytes: l(&self.upload_bytes),
            downloads: l(&self.downloads),
            download_bytes: l(&self.download_bytes),
            syncs: l(&self.syncs),
            allocations: l(&self.allocations),
            allocated_bytes: l(&self.allocated_bytes),
            bytes_in_use: l(&self.bytes_in_use),
            peak_bytes: l(&self.peak_bytes),
            largest_copy_bytes: l(&self.largest_copy_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_copies_waits_and_the_peak() {
        let c = Counters::default();
        c.alloc(10);
        c.alloc(30);
        c.free(10);
        c.upload(30);
        let before = c.snapshot();
        c.reset_marks();
        c.download(1);
        c.alloc(5);
        c.launch();
        c.gemm();
        let delta = c.snapshot().since(&before);
        assert_eq!(
            (
                delta.downloads,
                delta.syncs,
                delta.download_bytes,
                delta.uploads
            ),
            (1, 1, 4, 0)
        );
        assert_eq!((delta.launches, delta.gemms, delta.allocations), (1, 1, 1));
        // In use: 30 + 5 floats; the peak since the reset is that, not the 40 floats before.
        assert_eq!((delta.bytes_in_use, delta.peak_bytes), (140, 140));
        assert_eq!(delta.largest_copy_bytes, 4);
        assert_eq!(delta.per(2).syncs, 0.5);
    }
}
