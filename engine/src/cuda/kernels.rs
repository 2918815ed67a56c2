//! The CUDA C sources of this folder, and turning them into code a device can run.
//!
//! Each `cuda/X.rs` that needs kernels has a `cuda/X.cu` beside it, included here as text. On
//! a GPU the source is compiled with NVRTC (the CUDA compiler as a library, loaded at run time)
//! the first time one of its kernels is launched, and the module is kept per device (see
//! [`super::device`]). No build script runs `nvcc`: the program builds on any machine.

use crate::error::{Error, Result};

/// One `.cu` file: a name for messages and caches, its text, and the kernels it defines.
#[derive(Debug)]
pub struct KernelSource {
    pub name: &'static str,
    pub code: &'static str,
    pub kernels: &'static [&'static str],
}

/// Compiled in front of every source: shared types and helpers (see `prelude.cuh`).
pub const PRELUDE: &str = include_str!("prelude.cuh");

/// What the host emulator puts in front of the prelude (see `emulator_shim.h`).
pub const EMULATOR_SHIM: &str = include_str!("emulator_shim.h");

/// Every kernel source the CUDA device uses (CI compiles each of them with NVRTC).
pub fn all_sources() -> [&'static KernelSource; 6] {
    [
        &super::elementwise::SOURCE,
        &super::copy::SOURCE,
        &super::reduce::SOURCE,
        &super::conv::SOURCE,
        &super::pool::SOURCE,
        &super::vector::SOURCE,
    ]
}

impl KernelSource {
    /// The text the compiler sees: the prelude, then the file.
    pub fn full_text(&self) -> String {
        format!("{PRELUDE}\n#line 1 \"{}.cu\"\n{}", self.name, self.code)
    }
}

/// The NVRTC options for a GPU of compute capability `(major, minor)`: PTX for exactly that
/// architecture, IEEE-exact division and square roots, no flushing of tiny values to zero — so
/// results agree with the CPU's to rounding.
fn nvrtc_options(capability: (i32, i32)) -> cudarc::nvrtc::CompileOptions {
    cudarc::nvrtc::CompileOptions {
        ftz: Some(false),
        prec_div: Some(true),
        prec_sqrt: Some(true),
        fmad: Some(true),
        options: vec![format!(
            "--gpu-architecture=compute_{}{}",
            capability.0, capability.1
        )],
        ..Default::default()
    }
}

// ANCHOR: compile
/// Compile `source` to PTX for a GPU of compute capability `capability` (needs libnvrtc, see
/// [`nvrtc_available`]). A kernel that does not compile is an error carrying the compiler's
/// log.
pub fn compile_ptx(source: &KernelSource, capability: (i32, i32)) -> Result<cudarc::nvrtc::Ptx> {
    nvrtc_available()?;
    cudarc::nvrtc::compile_ptx_with_opts(source.full_text(), nvrtc_options(capability)).map_err(
        |e| {
            let msg = match e {
                cudarc::nvrtc::CompileError::CompileError { log, .. } => {
                    format!("does not compile:\n{}", log.to_string_lossy())
                }
                other => format!("NVRTC failed: {other:?}"),
            };
            Error::Device {
                op: "compiling kernels",
                device: format!("{}.cu", source.name),
                msg,
            }
        },
    )
}
// ANCHOR_END: compile

/// The library names a user has to make findable, with the hint of what to do.
const LIBRARY_HINT: &str = "install the CUDA toolkit or the pip wheels (e.g. `pip install nvidia-cuda-nvrtc==13.0.* nvidia-cublas==13.0.*`) and put their `lib` folder on LD_LIBRARY_PATH";

/// Whether NVRTC (`libnvrtc.so`) can be loaded; cudarc would panic on the first call without it.
pub fn nvrtc_available() -> Result<()> {
    // SAFETY: only tries to open the library; nothing is called in it.
    if unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        Ok(())
    } else {
        Err(Error::DeviceUnavailable {
            device: "cuda".into(),
            msg: format!("the CUDA runtime compiler NVRTC (libnvrtc.so) could not be loaded; {LIBRARY_HINT}, or run with --device cpu"),
        })
    }
}

/// Whether cuBLAS (`libcublas.so`) can be loaded.
pub fn cublas_available() -> Result<()> {
    // SAFETY: as above.
    if unsafe { cudarc::cublas::sys::is_culib_present() } {
        Ok(())
    } else {
        Err(Error::DeviceUnavailable {
            device: "cuda".into(),
            msg: format!(
                "cuBLAS (libcublas.so) could not be loaded; {LIBRARY_HINT}, or run with --device cpu"
            ),
        })
    }
}
