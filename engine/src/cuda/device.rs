//! One CUDA device as the kernels use it: its memory, its compiled modules, launches and
//! cuBLAS — on a real GPU through the driver, or in the host emulator.
//!
//! Devices are opened on first use and kept for the life of the process; so are their modules,
//! compiled the first time one of their kernels is launched.

use super::driver::Driver;
use super::emulator::{Emulator, HostModule};
use super::gemm::GemmCall;
use super::kernels::KernelSource;
use super::launch::{launch_config, Grid, KernelArgs, Threads, MAX_BLOCKS, THREADS_PER_BLOCK};
use super::ledger::{Counters, Ledger};
use crate::device::Device;
use crate::error::{Error, Result};
use cudarc::driver::{CudaFunction, CudaModule, CudaSlice};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What runs the kernels.
#[derive(Debug)]
enum Backend {
    Gpu(Driver),
    Emulator(Emulator),
}

/// A compiled source: functions are looked up once and kept.
enum Module {
    Gpu {
        module: Arc<CudaModule>,
        functions: HashMap<&'static str, CudaFunction>,
    },
    Emulator(Arc<HostModule>),
}

/// Device memory: on the GPU, or (emulated) on the host.
#[derive(Debug)]
pub enum Memory {
    Gpu(CudaSlice<f32>),
    Host(HostMemory),
}

/// The emulator's device memory: a host allocation that only kernels write to (through its
/// address, as on a GPU), aligned like `cudaMalloc`'s so kernels may read doubles from it.
#[derive(Debug)]
pub struct HostMemory {
    ptr: *mut f32,
    len: usize,
}

// SAFETY: the memory is owned exclusively by this value; kernels that write it run while the
// buffer that owns it is alive, one launch at a time.
unsafe impl Send for HostMemory {}
// SAFETY: as above; reads through `&self` copy out.
unsafe impl Sync for HostMemory {}

const HOST_ALIGN: usize = 256;

impl HostMemory {
    fn layout(len: usize) -> std::alloc::Layout {
        std::alloc::Layout::from_size_align((len * 4).max(HOST_ALIGN), HOST_ALIGN)
            .expect("a buffer size the allocator can describe")
    }

    /// `len` zeros, or `None` when the host cannot provide them.
    fn zeros(len: usize) -> Option<Self> {
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { std::alloc::alloc_zeroed(Self::layout(len)) } as *mut f32;
        (!ptr.is_null()).then_some(HostMemory { ptr, len })
    }

    fn copy_of(data: &[f32]) -> Option<Self> {
        let memory = Self::zeros(data.len())?;
        // SAFETY: `memory` has room for `data.len()` floats and does not overlap `data`.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), memory.ptr, data.len()) };
        Some(memory)
    }

    fn read(&self, start: usize, len: usize) -> Vec<f32> {
        assert!(start + len <= self.len, "read outside an emulated buffer");
        // SAFETY: the range lies inside the allocation (asserted above).
        unsafe { std::slice::from_raw_parts(self.ptr.add(start), len).to_vec() }
    }
}

impl Drop for HostMemory {
    fn drop(&mut self) {
        // SAFETY: allocated in `zeros` with this layout.
        unsafe { std::alloc::dealloc(self.ptr as *mut u8, Self::layout(self.len)) }
    }
}

pub struct CudaDevice {
    ordinal: usize,
    backend: Backend,
    modules: Mutex<HashMap<&'static str, Module>>,
    /// What this device has done, counted here so that GPU and emulator count alike.
    ledger: Counters,
}

impl std::fmt::Debug for CudaDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.describe())
    }
}

type Registry = Mutex<Vec<(usize, bool, Arc<CudaDevice>)>>;
static OPENED: Registry = Mutex::new(Vec::new());

/// Every device opened so far.
pub(crate) fn opened() -> Vec<Arc<CudaDevice>> {
    let opened = OPENED.lock().unwrap_or_else(|p| p.into_inner());
    opened.iter().map(|(_, _, d)| d.clone()).collect()
}

impl CudaDevice {
    /// Device `cuda:ordinal`, opened on first use. Whether it is the real GPU or the host
    /// emulator is decided by [`super::use_host_emulator`] at the time of the call.
    pub fn get(ordinal: usize) -> Result<Arc<CudaDevice>> {
        let emulated = super::host_emulator_chosen();
        let mut opened = OPENED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, _, device)) = opened
            .iter()
            .find(|(o, e, _)| *o == ordinal && *e == emulated)
        {
            return Ok(device.clone());
        }
        let backend = if emulated {
            Backend::Emulator(Emulator::new()?)
        } else {
            Backend::Gpu(Driver::open(ordinal)?)
        };
        let device = Arc::new(CudaDevice {
            ordinal,
            backend,
            modules: Mutex::new(HashMap::new()),
            ledger: Counters::default(),
        });
        opened.push((ordinal, emulated, device.clone()));
        Ok(device)
    }

    pub fn device(&self) -> Device {
        Device::Cuda(self.ordinal)
    }

    pub fn is_emulated(&self) -> bool {
        matches!(self.backend, Backend::Emulator(_))
    }

    /// `cuda:0 (NVIDIA H200, compute capability 9.0)`, or the emulator.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Gpu(d) => format!(
                "cuda:{} ({}, compute capability {}.{})",
                self.ordinal,
                d.name(),
                d.capability().0,
                d.capability().1
            ),
            Backend::Emulator(_) => format!("cuda:{} (host emulator)", self.ordinal),
        }
    }

    /// Free and total device memory in bytes (the emulator reports the host's).
    pub fn memory(&self) -> Result<(usize, usize)> {
        match &self.backend {
            Backend::Gpu(d) => d.memory(),
            Backend::Emulator(_) => Ok(host_memory()),
        }
    }

    /// Use TF32 tensor cores for FP32 matrix products (no effect in the emulator).
    pub(crate) fn set_tf32(&self, enabled: bool) -> Result<()> {
        match &self.backend {
            Backend::Gpu(d) => d.set_tf32(enabled),
            Backend::Emulator(_) => Ok(()),
        }
    }

    /// What the device has done so far (see [`Ledger`]).
    pub fn ledger(&self) -> Ledger {
        self.ledger.snapshot()
    }

    /// Start the ledger's high-water marks (peak bytes, largest copy) anew from here.
    pub fn reset_ledger_marks(&self) {
        self.ledger.reset_marks()
    }

    /// A buffer of `n` floats from [`CudaDevice::alloc`] or [`CudaDevice::upload`] is gone.
    pub(crate) fn released(&self, n: usize) {
        self.ledger.free(n)
    }

    pub(crate) fn alloc(&self, n: usize, op: &'static str) -> Result<Memory> {
        let memory = self.alloc_uncounted(n, op)?;
        self.ledger.alloc(n);
        Ok(memory)
    }

    fn alloc_uncounted(&self, n: usize, op: &'static str) -> Result<Memory> {
        match &self.backend {
            Backend::Gpu(d) => d.alloc(n, op).map(Memory::Gpu),
            Backend::Emulator(_) => HostMemory::zeros(n).map(Memory::Host).ok_or_else(|| {
                let (free, total) = host_memory();
                Error::OutOfMemory {
                    op,
                    device: self.device().to_string(),
                    requested: n * 4,
                    free,
                    total,
                }
            }),
        }
    }

    pub(crate) fn upload(&self, data: &[f32], op: &'static str) -> Result<Memory> {
        let memory = self.upload_uncounted(data, op)?;
        self.ledger.alloc(data.len());
        if !data.is_empty() {
            self.ledger.upload(data.len());
        }
        Ok(memory)
    }

    fn upload_uncounted(&self, data: &[f32], op: &'static str) -> Result<Memory> {
        match &self.backend {
            Backend::Gpu(d) => d.upload(data, op).map(Memory::Gpu),
            Backend::Emulator(_) => {
                HostMemory::copy_of(data)
                    .map(Memory::Host)
                    .ok_or_else(|| Error::OutOfMemory {
                        op,
                        device: self.device().to_string(),
                        requested: data.len() * 4,
                        free: host_memory().0,
                        total: host_memory().1,
                    })
            }
        }
    }

    /// Copy `len` floats from `start` to the host and wait for them: one round trip.
    pub(crate) fn download(&self, memory: &Memory, start: usize, len: usize) -> Result<Vec<f32>> {
        if len > 0 {
            self.ledger.download(len);
        }
        match (&self.backend, memory) {
            (Backend::Gpu(d), Memory::Gpu(slice)) => d.download(slice, start, len),
            (_, Memory::Host(m)) => Ok(m.read(start, len)),
            (Backend::Emulator(_), Memory::Gpu(_)) => Err(Error::Device {
                op: "copying to the host",
                device: self.device().to_string(),
                msg: "GPU memory handed to the emulator".into(),
            }),
        }
    }

    /// The address kernels and cuBLAS use for `memory`.
    pub(crate) fn address(&self, memory: &Memory) -> u64 {
        match (&self.backend, memory) {
            (Backend::Gpu(d), Memory::Gpu(slice)) => d.address(slice),
            (_, Memory::Host(m)) => m.ptr as u64,
            // Unreachable: a device only ever allocates its own kind of memory.
            (Backend::Emulator(_), Memory::Gpu(_)) => 0,
        }
    }

    /// Wait until everything queued on the device has run; errors of earlier launches surface
    /// here at the latest.
    pub fn synchronize(&self) -> Result<()> {
        self.ledger.sync();
        match &self.backend {
            Backend::Gpu(d) => d.synchronize(),
            Backend::Emulator(_) => Ok(()),
        }
    }

    // ANCHOR: launch
    /// Launch `kernel` of `source` over `threads` independent threads, compiling and loading
    /// `source` on first use.
    pub(crate) fn launch<A: KernelArgs>(
        &self,
        source: &'static KernelSource,
        kernel: &'static str,
        threads: u64,
        args: A,
    ) -> Result<()> {
        if threads == 0 {
            return Ok(());
        }
        self.launch_grid(
            source,
            kernel,
            launch_config(threads),
            Threads::Independent,
            args,
        )
    }

    /// Launch a kernel whose threads cooperate inside a block (shared memory and
    /// `__syncthreads()`) on `blocks` blocks of [`THREADS_PER_BLOCK`] threads.
    pub(crate) fn launch_blocks<A: KernelArgs>(
        &self,
        source: &'static KernelSource,
        kernel: &'static str,
        blocks: u32,
        args: A,
    ) -> Result<()> {
        let grid = Grid {
            blocks: blocks.clamp(1, MAX_BLOCKS),
            threads_per_block: THREADS_PER_BLOCK,
        };
        self.launch_grid(source, kernel, grid, Threads::Cooperative, args)
    }

    fn launch_grid<A: KernelArgs>(
        &self,
        source: &'static KernelSource,
        kernel: &'static str,
        grid: Grid,
        threads: Threads,
        args: A,
    ) -> Result<()> {
        self.ledger.launch();
        debug_assert!(
            source.kernels.contains(&kernel),
            "{kernel} not listed in {}",
            source.name
        );
        let mut modules = self.modules.lock().unwrap_or_else(|p| p.into_inner());
        if !modules.contains_key(source.name) {
            let module = match &self.backend {
                Backend::Gpu(d) => Module::Gpu {
                    module: d.load(source)?,
                    functions: HashMap::new(),
                },
                Backend::Emulator(e) => Module::Emulator(e.load(source)?),
            };
            modules.insert(source.name, module);
        }
        let module = modules
            .get_mut(source.name)
            .expect("the module was inserted above");
        match (&self.backend, module) {
            (Backend::Gpu(d), Module::Gpu { module, functions }) => {
                if !functions.contains_key(kernel) {
                    functions.insert(kernel, d.function(module, kernel)?);
                }
                d.launch(&functions[kernel], kernel, grid, args)
            }
            (Backend::Emulator(e), Module::Emulator(m)) => {
                let m = m.clone();
                drop(modules);
                e.launch(&m, kernel, grid, threads, args)
            }
            _ => unreachable!("modules are built by their own device's backend"),
        }
    }
    // ANCHOR_END: launch

    /// One strided-batched SGEMM (see [`GemmCall`]).
    pub(crate) fn gemm(&self, call: &GemmCall) -> Result<()> {
        self.ledger.gemm();
        match &self.backend {
            Backend::Gpu(d) => d.gemm(call),
            Backend::Emulator(e) => {
                e.gemm(call);
                Ok(())
            }
        }
    }
}

/// The host's available and total memory, from /proc/meminfo (0, 0 where it cannot be read).
fn host_memory() -> (usize, usize) {
    let Ok(text) = std::fs::read_to_string("/proc/meminfo") else {
        return (0, 0);
    };
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<usize>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or(0)
    };
    (field("MemAvailable:"), field("MemTotal:"))
}
