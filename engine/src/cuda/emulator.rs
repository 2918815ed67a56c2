//! The CUDA device emulated on the host, for checking the kernels on machines without a GPU.
//!
//! The same `.cu` sources the GPU runs are compiled by the system's C++ compiler (with
//! `emulator_shim.h` standing in for what CUDA builds in) into a shared library, which is
//! loaded with `dlopen`. A launch then calls the kernel once for every (block, thread) of its
//! grid, one after another, after telling the library which thread it is. Device memory is
//! ordinary host memory, and cuBLAS is [`GemmCall::run_on_host`], written from cuBLAS's own
//! definition of its arguments.
//!
//! So everything between the tensor API and the hardware — the layouts handed to the kernels,
//! the launches, the index arithmetic inside every kernel, the operand swaps for cuBLAS — runs
//! in CI and is compared against the CPU backend. What it cannot check: real concurrency
//! (kernels here share no memory between threads, so none is needed), the driver and cuBLAS
//! themselves, and speed.
//!
//! Chosen with [`super::use_host_emulator`]; never used by accident.

use super::gemm::GemmCall;
use super::kernels::{KernelSource, EMULATOR_SHIM};
use super::launch::{launch_config, KernelArgs};
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
    /// Whether the library defines `kernel` (a source that lists a kernel it lacks is a bug).
    pub fn has_kernel(&self, kernel: &str) -> bool {
        // SAFETY: only looks the symbol up; nothing is called.
        unsafe {
            self.library
                .get::<unsafe extern "C" fn()>(kernel.as_bytes())
        }
        .is_ok()
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

    /// Run `kernel` for every thread of the grid a GPU would launch for `threads`.
    pub fn launch<A: KernelArgs>(
        &self,
        module: &HostModule,
        kernel: &'static str,
        threads: u64,
        args: A,
    ) -> Result<()> {
        let grid = launch_config(threads);
        type SetIndex = unsafe extern "C" fn(u32, u32, u32, u32);
        // SAFETY: the symbols come from emulator_shim.h and the kernel source, with exactly
        // these C signatures (a kernel takes its argument struct by value).
        unsafe {
            let set_index: libloading::Symbol<SetIndex> = module
                .library
                .get(b"picasso_emulator_set_index")
                .map_err(|e| error(kernel, e.to_string()))?;
            let body: libloading::Symbol<unsafe extern "C" fn(A)> = module
                .library
                .get(kernel.as_bytes())
                .map_err(|e| error(kernel, format!("no such kernel: {e}")))?;
            // ANCHOR: emulated_launch
            for block in 0..grid.blocks {
                for thread in 0..grid.threads_per_block {
                    set_index(grid.blocks, grid.threads_per_block, block, thread);
                    body(args);
                }
            }
            // ANCHOR_END: emulated_launch
        }
        Ok(())
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
