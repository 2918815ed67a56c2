//! The CUDA device emulated on the host, for checking the kernels on machines without a GPU.
//!
//! The same `.cu` sources the GPU runs are compiled by the system's C++ compiler (with
//! `emulator_shim.h` standing in for what CUDA builds in) into a shared library, which is
//! loaded with `dlopen`. A launch then calls the kernel once for every (block, thread) of its
//! grid, one after another, after telling the library which thread it is; a kernel whose
//! threads cooperate through shared memory runs a block at a time instead, its threads
//! interleaved at every `__syncthreads()` by the shim's scheduler. Device memory is
//! ordinary host memory, and cuBLAS is [`GemmCall::run_on_host`], written from cuBLAS's own
//! definition of its arguments.
//!
//! So everything between the tensor API and the hardware — the layouts handed to the kernels,
//! the launches, the index arithmetic inside every kernel, the operand swaps for cuBLAS — runs
//! in CI and is compared against the CPU backend. What it cannot check: real concurrency (a
//! block's threads take turns between barriers, so a race between two barriers goes unseen),
//! the driver and cuBLAS themselves, and speed.
//!
//! Chosen with [`super::use_host_emulator`]; never used by accident.

use super::gemm::GemmCall;
use super::kernels::{KernelSource, EMULATOR_SHIM};
use super::launch::{Grid, KernelArgs, Threads};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

const DEVICE: &str = "cuda (host emulator)";

fn error(op: &'static str, msg: impl Into<String>) -> Error {
    Error::Device {
        op,
        device: DEVICE.into(),
        msg: msg.into(),
    }
}

/// Something run around every emulated cuBLAS call, given the call (checked against its
/// buffers, so every float of [`GemmCall::spans`] from its addresses is readable host memory)
/// and the product to run. Tests use it to referee each call the engine makes against an
/// independent BLAS.
pub type GemmObserver = fn(&GemmCall, &mut dyn FnMut());

static GEMM_OBSERVER: Mutex<Option<GemmObserver>> = Mutex::new(None);

/// Set (or with `None` remove) the observer of every emulated cuBLAS call, process-wide.
pub fn observe_gemms(observer: Option<GemmObserver>) {
    *GEMM_OBSERVER.lock().unwrap_or_else(|p| p.into_inner()) = observer;
}

/// A compiled kernel source, loaded.
#[derive(Debug)]
pub struct HostModule {
    library: libloading::Library,
}

impl HostModule {
    /// The function `name` of the library, as a pointer of type `F`.
    ///
    /// # Safety
    /// `F` must be the function's exact C signature, and the pointer must not outlive `self`.
    unsafe fn function<F: Copy>(&self, name: &[u8]) -> std::result::Result<F, libloading::Error> {
        // SAFETY: as the caller promised.
        unsafe { self.library.get::<F>(name) }.map(|symbol| *symbol)
    }

    /// Whether the library defines `kernel` (a source that lists a kernel it lacks is a bug).
    pub fn has_kernel(&self, kernel: &str) -> bool {
        // SAFETY: only looks the symbol up; nothing is called.
        unsafe { self.function::<unsafe extern "C" fn()>(kernel.as_bytes()) }.is_ok()
    }
}

/// The emulated device: where its libraries are built.
#[derive(Debug)]
pub struct Emulator {
    build_dir: PathBuf,
}

/// The C++ compiler: `$CXX`, else `c++`.
fn compiler() -> String {
    std::env::var("CXX").unwrap_or_else(|_| "c++".into())
}

/// Whether a C++ compiler is there to build the emulated kernels.
pub fn available() -> Result<()> {
    let cxx = compiler();
    match Command::new(&cxx).arg("--version").output() {
        Ok(out) if out.status.success() => Ok(()),
        _ => Err(Error::DeviceUnavailable {
            device: DEVICE.into(),
            msg: format!("the C++ compiler `{cxx}` is needed to build the emulated kernels (install g++, or set CXX)"),
        }),
    }
}

impl Emulator {
    pub fn new() -> Result<Self> {
        available()?;
        let build_dir = std::env::temp_dir().join(format!(
            "picasso-cuda-emulator-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&build_dir).map_err(|e| Error::Io {
            action: "create the emulator's build folder",
            path: build_dir.clone(),
            source: e,
        })?;
        Ok(Emulator { build_dir })
    }

    /// Compile `source` as C++ for the host and load it.
    pub fn load(&self, source: &KernelSource) -> Result<Arc<HostModule>> {
        let cpp = self.build_dir.join(format!("{}.cpp", source.name));
        let lib = self.build_dir.join(format!("lib{}.so", source.name));
        let text = format!("{EMULATOR_SHIM}\n{}", source.full_text());
        write(&cpp, &text)?;
        let out = Command::new(compiler())
            .args([
                "-std=c++17",
                "-O2",
                "-fPIC",
                "-shared",
                "-fno-fast-math",
                "-o",
            ])
            .arg(&lib)
            .arg(&cpp)
            .output()
            .map_err(|e| {
                error(
                    "compiling kernels",
                    format!("could not run the C++ compiler: {e}"),
                )
            })?;
        if !out.status.success() {
            return Err(error(
                "compiling kernels",
                format!(
                    "{}.cu does not compile as C++:\n{}",
                    source.name,
                    String::from_utf8_lossy(&out.stderr)
                ),
            ));
        }
        // SAFETY: the library was just built from our own sources; loading runs no code of
        // its own (no constructors beyond the C++ runtime's).
        let library = unsafe { libloading::Library::new(&lib) }
            .map_err(|e| error("loading kernels", e.to_string()))?;
        Ok(Arc::new(HostModule { library }))
    }

    /// Run `kernel` for every thread of `grid`: one after another when the threads are
    /// independent, a block at a time with its threads together when they cooperate.
    pub fn launch<A: KernelArgs>(
        &self,
        module: &HostModule,
        kernel: &'static str,
        grid: Grid,
        threads: Threads,
        args: A,
    ) -> Result<()> {
        // SAFETY: a kernel takes its argument struct by value, and `module` outlives the launch.
        let body: unsafe extern "C" fn(A) = unsafe { module.function(kernel.as_bytes()) }
            .map_err(|e| error(kernel, format!("no such kernel: {e}")))?;
        match threads {
            Threads::Independent => run_one_by_one(module, kernel, grid, body, args),
            Threads::Cooperative => run_blocks(module, kernel, grid, body, args),
        }
    }

    /// cuBLAS's strided-batched SGEMM, on the host (around the observer, if one is set).
    pub fn gemm(&self, call: &GemmCall) {
        // SAFETY: the caller checked the call against its (host) buffers.
        let mut run = || unsafe { call.run_on_host() };
        let observer = *GEMM_OBSERVER.lock().unwrap_or_else(|p| p.into_inner());
        match observer {
            Some(observe) => observe(call, &mut run),
            None => run(),
        }
    }
}

/// Every thread of the grid in turn, each to its end before the next starts.
fn run_one_by_one<A: KernelArgs>(
    module: &HostModule,
    kernel: &'static str,
    grid: Grid,
    body: unsafe extern "C" fn(A),
    args: A,
) -> Result<()> {
    type SetIndex = unsafe extern "C" fn(u32, u32, u32, u32);
    // SAFETY: emulator_shim.h defines it with exactly this C signature.
    let set_index: SetIndex = unsafe { module.function(b"picasso_emulator_set_index") }
        .map_err(|e| error(kernel, e.to_string()))?;
    // ANCHOR: emulated_launch
    for block in 0..grid.blocks {
        for thread in 0..grid.threads_per_block {
            // SAFETY: the caller checked the arguments' buffers against what the kernel indexes.
            unsafe {
                set_index(grid.blocks, grid.threads_per_block, block, thread);
                body(args);
            }
        }
    }
    // ANCHOR_END: emulated_launch
    Ok(())
}

/// A kernel and its arguments, for the shim to call once per thread of a cooperative block.
struct KernelCall<A> {
    body: unsafe extern "C" fn(A),
    args: A,
}

/// Runs on each emulated thread's own stack: the kernel, with the arguments of the launch.
unsafe extern "C" fn call_kernel<A: KernelArgs>(call: *mut std::ffi::c_void) {
    // SAFETY: `call` is the `KernelCall<A>` that `run_blocks` handed to the shim.
    let call = unsafe { &*(call as *const KernelCall<A>) };
    // SAFETY: as for the launch that made it.
    unsafe { (call.body)(call.args) }
}

/// Block after block, the threads of each run together by the shim (see
/// `picasso_emulator_run_block` in emulator_shim.h).
fn run_blocks<A: KernelArgs>(
    module: &HostModule,
    kernel: &'static str,
    grid: Grid,
    body: unsafe extern "C" fn(A),
    args: A,
) -> Result<()> {
    type ThreadBody = unsafe extern "C" fn(*mut std::ffi::c_void);
    type RunBlock = unsafe extern "C" fn(u32, u32, u32, ThreadBody, *mut std::ffi::c_void) -> i32;
    // SAFETY: emulator_shim.h defines it with exactly this C signature.
    let run_block: RunBlock = unsafe { module.function(b"picasso_emulator_run_block") }
        .map_err(|e| error(kernel, e.to_string()))?;
    let mut call = KernelCall { body, args };
    let call: *mut std::ffi::c_void = (&mut call as *mut KernelCall<A>).cast();
    for block in 0..grid.blocks {
        // SAFETY: `call` outlives the block's run; the caller checked the arguments' buffers.
        let status = unsafe {
            run_block(
                grid.blocks,
                grid.threads_per_block,
                block,
                call_kernel::<A>,
                call,
            )
        };
        match status {
            0 => {}
            1 => {
                return Err(error(
                    kernel,
                    format!(
                        "in block {block}, some threads left the kernel while others waited \
                         at __syncthreads(): every thread of a block must reach each barrier"
                    ),
                ))
            }
            _ => {
                return Err(error(
                    kernel,
                    "out of memory for the stacks of an emulated block",
                ))
            }
        }
    }
    Ok(())
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.build_dir);
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::Io {
        action: "write",
        path: path.to_path_buf(),
        source: e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cuda::launch::kernel_args;

    const BLOCK_SUMS: KernelSource = KernelSource {
        name: "block_sums",
        code: r#"
struct BlockArgs { double* out; u32 leave_early; u32 unused; };
// Every thread gets its block's sum of global thread indices; with leave_early, thread 7
// leaves before the barriers the others wait at.
extern "C" __global__ void block_sums(const BlockArgs a) {
    u32 t = blockIdx.x * blockDim.x + threadIdx.x;
    if (a.leave_early && threadIdx.x == 7) return;
    a.out[t] = block_fold((double)t, false);
}
"#,
        kernels: &["block_sums"],
    };

    #[repr(C)]
    #[derive(Clone, Copy)]
    struct BlockArgs {
        out: u64,
        leave_early: u32,
        unused: u32,
    }
    kernel_args!(BlockArgs);

    /// The emulator, or `None` (with a message) where no C++ compiler is installed.
    fn emulator() -> Option<Emulator> {
        match Emulator::new() {
            Ok(e) => Some(e),
            Err(e) if std::env::var("REQUIRE_EMULATOR").is_ok_and(|v| v == "1") => {
                panic!("REQUIRE_EMULATOR=1 but the emulator cannot run: {e}")
            }
            Err(e) => {
                println!("skipped: {e}");
                None
            }
        }
    }

    fn run_block_sums(leave_early: bool) -> Option<(Result<()>, Vec<f64>)> {
        let emulator = emulator()?;
        let module = emulator.load(&BLOCK_SUMS).unwrap();
        let grid = Grid {
            blocks: 3,
            threads_per_block: 256,
        };
        let mut out = vec![0.0f64; 3 * 256];
        let args = BlockArgs {
            out: out.as_mut_ptr() as u64,
            leave_early: leave_early as u32,
            unused: 0,
        };
        let result = emulator.launch(&module, "block_sums", grid, Threads::Cooperative, args);
        Some((result, out))
    }

    #[test]
    fn a_block_folds_its_threads_values_in_shared_memory() {
        let Some((result, out)) = run_block_sums(false) else {
            return;
        };
        result.unwrap();
        for block in 0..3u64 {
            let first = block * 256;
            let sum = (first..first + 256).sum::<u64>() as f64;
            let got = &out[first as usize..first as usize + 256];
            assert!(got.iter().all(|&v| v == sum), "block {block}: {got:?}");
        }
    }

    #[test]
    fn a_barrier_that_not_every_thread_reaches_is_an_error() {
        let Some((result, _)) = run_block_sums(true) else {
            return;
        };
        let message = result.unwrap_err().to_string();
        assert!(
            message.contains("block 0") && message.contains("__syncthreads()"),
            "{message}"
        );
    }
}
