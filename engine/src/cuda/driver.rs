//! The real GPU: a CUDA context and stream from the driver, cuBLAS, and modules compiled by
//! NVRTC — all through cudarc, whose libraries are opened at run time (`dlopen`), so the
//! program starts on machines without any of them.
//!
//! cudarc panics when a library it needs is missing, so every library is probed before first
//! use and its absence becomes an [`Error::DeviceUnavailable`] saying what to install.

use super::gemm::GemmCall;
use super::kernels::{self, KernelSource};
use super::launch::{Grid, KernelArgs};
use crate::error::{Error, Result};
use cudarc::cublas::{result as blas_result, sys as blas_sys, CudaBlas};
use cudarc::driver::{
    result::DriverError, sys, CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream,
    DevicePtr, PushKernelArg,
};
use std::sync::{Arc, Mutex};

/// One GPU, opened.
pub struct Driver {
    ordinal: usize,
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    /// cuBLAS handles are not meant to be used by two threads at once.
    blas: Mutex<CudaBlas>,
    capability: (i32, i32),
    name: String,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Driver(cuda:{}, {})", self.ordinal, self.name)
    }
}

fn device_name(ordinal: usize) -> String {
    format!("cuda:{ordinal}")
}

fn unavailable(ordinal: usize, msg: impl Into<String>) -> Error {
    Error::DeviceUnavailable {
        device: device_name(ordinal),
        msg: msg.into(),
    }
}

/// A driver error as the user reads it: its CUDA name and description.
pub fn describe(e: &DriverError) -> String {
    let name = e
        .error_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|_| format!("{:?}", e.0));
    let text = e
        .error_string()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{name}: {text}")
}

impl Driver {
    /// Open GPU number `ordinal`, or say precisely why it cannot be used.
    pub fn open(ordinal: usize) -> Result<Self> {
        // SAFETY: only tries to open libcuda; nothing in it is called.
        if !unsafe { sys::is_culib_present() } {
            return Err(unavailable(
                ordinal,
                "no NVIDIA driver found (libcuda.so could not be loaded); install the NVIDIA driver, or run with --device cpu",
            ));
        }
        let count = CudaContext::device_count().map_err(|e| {
            unavailable(
                ordinal,
                format!(
                    "the NVIDIA driver found no usable GPU ({}); run with --device cpu",
                    describe(&e)
                ),
            )
        })?;
        if ordinal >= count.max(0) as usize {
            return Err(unavailable(
                ordinal,
                format!("this machine has {count} CUDA GPU(s), numbered from cuda:0; run with --device cpu or a lower number"),
            ));
        }
        kernels::nvrtc_available().map_err(|e| unavailable(ordinal, strip_device(e)))?;
        kernels::cublas_available().map_err(|e| unavailable(ordinal, strip_device(e)))?;
        let fail = |what: &str, e: DriverError| {
            unavailable(ordinal, format!("{what} failed ({})", describe(&e)))
        };
        let ctx = CudaContext::new(ordinal).map_err(|e| fail("creating a CUDA context", e))?;
        // One stream per device, so the bookkeeping cudarc does for several streams (two
        // events per allocation) is not needed.
        // SAFETY: everything this program does on the device goes through `stream` below.
        unsafe { ctx.disable_event_tracking() };
        keep_freed_memory_in_pool(&ctx);
        let stream = ctx.default_stream();
        let blas = CudaBlas::new(stream.clone())
            .map_err(|e| unavailable(ordinal, format!("cuBLAS could not start ({e:?})")))?;
        let capability = ctx
            .compute_capability()
            .map_err(|e| fail("reading the compute capability", e))?;
        let name = ctx.name().unwrap_or_else(|_| "unknown GPU".into());
        let driver = Driver {
            ordinal,
            ctx,
            stream,
            blas: Mutex::new(blas),
            capability,
            name,
        };
        driver.set_tf32(super::tf32_enabled())?;
        Ok(driver)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn capability(&self) -> (i32, i32) {
        self.capability
    }

    fn error(&self, op: &'static str, e: DriverError) -> Error {
        Error::Device {
            op,
            device: device_name(self.ordinal),
            msg: describe(&e),
        }
    }

    /// Free and total memory of the GPU, in bytes.
    pub fn memory(&self) -> Result<(usize, usize)> {
        self.ctx
            .mem_get_info()
            .map_err(|e| self.error("reading free memory", e))
    }

    /// `n` floats of uninitialised device memory (every kernel here writes all of its output).
    pub fn alloc(&self, n: usize, op: &'static str) -> Result<CudaSlice<f32>> {
        // SAFETY: the caller writes every element before reading it.
        unsafe { self.stream.alloc::<f32>(n.max(1)) }.map_err(|e| {
            if e.0 == sys::cudaError_enum::CUDA_ERROR_OUT_OF_MEMORY {
                let (free, total) = self.memory().unwrap_or((0, 0));
                Error::OutOfMemory {
                    op,
                    device: device_name(self.ordinal),
                    requested: n * 4,
                    free,
                    total,
                }
            } else {
                self.error(op, e)
            }
        })
    }

    pub fn upload(&self, data: &[f32], op: &'static str) -> Result<CudaSlice<f32>> {
        let mut slice = self.alloc(data.len(), op)?;
        if !data.is_empty() {
            self.stream
                .memcpy_htod(data, &mut slice)
                .map_err(|e| self.error(op, e))?;
        }
        Ok(slice)
    }

    /// Copy `len` floats starting at element `start` of `slice` to the host (waits for them).
    pub fn download(&self, slice: &CudaSlice<f32>, start: usize, len: usize) -> Result<Vec<f32>> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let host = self
            .stream
            .clone_dtoh(&slice.slice(start..start + len))
            .map_err(|e| self.error("copying to the host", e))?;
        // cudarc queues the copy (cuMemcpyDtoHAsync) and returns. Into pageable memory CUDA
        // documents it only as "might be synchronous", so wait for it explicitly before the
        // vector is read: otherwise its contents could still be arriving.
        self.synchronize()?;
        Ok(host)
    }

    /// The address kernels and cuBLAS see.
    pub fn address(&self, slice: &CudaSlice<f32>) -> u64 {
        let (ptr, _no_sync_needed) = slice.device_ptr(&self.stream);
        ptr
    }

    pub fn synchronize(&self) -> Result<()> {
        self.stream
            .synchronize()
            .map_err(|e| self.error("synchronising", e))
    }

    /// Compile `source` with NVRTC for this GPU and load it.
    pub fn load(&self, source: &KernelSource) -> Result<Arc<CudaModule>> {
        let ptx = kernels::compile_ptx(source, self.capability)?;
        self.ctx
            .load_module(ptx)
            .map_err(|e| self.error("loading compiled kernels", e))
    }

    pub fn function(&self, module: &Arc<CudaModule>, kernel: &'static str) -> Result<CudaFunction> {
        module
            .load_function(kernel)
            .map_err(|e| self.error(kernel, e))
    }

    /// Launch `function` over `threads` (a grid-stride loop covers any count) with `args`.
    pub fn launch<A: KernelArgs>(
        &self,
        function: &CudaFunction,
        kernel: &'static str,
        grid: Grid,
        args: A,
    ) -> Result<()> {
        let config = cudarc::driver::LaunchConfig {
            grid_dim: (grid.blocks, 1, 1),
            block_dim: (grid.threads_per_block, 1, 1),
            shared_mem_bytes: 0,
        };
        let mut builder = self.stream.launch_builder(function);
        builder.arg(&args);
        // SAFETY: `args` matches the kernel's parameter struct field for field (each `Args`
        // type is `#[repr(C)]` beside its `.cu` twin), and every address in it belongs to a
        // live buffer of the size the kernel indexes (checked by the caller).
        unsafe { builder.launch(config) }
            .map(|_| ())
            .map_err(|e| self.error(kernel, e))
    }

    /// FP32 GEMMs may use TF32 tensor cores (10-bit mantissa products) when enabled.
    pub fn set_tf32(&self, enabled: bool) -> Result<()> {
        let blas = self.blas.lock().unwrap_or_else(|p| p.into_inner());
        let mode = if enabled {
            blas_sys::cublasMath_t::CUBLAS_TF32_TENSOR_OP_MATH
        } else {
            blas_sys::cublasMath_t::CUBLAS_DEFAULT_MATH
        };
        // SAFETY: the handle is live for as long as `blas`.
        unsafe { blas_sys::cublasSetMathMode(*blas.handle(), mode) }
            .result()
            .map_err(|e| Error::Device {
                op: "setting the cuBLAS math mode",
                device: device_name(self.ordinal),
                msg: format!("{e:?}"),
            })
    }

    /// One column-major strided-batched SGEMM, exactly as cuBLAS defines it.
    pub fn gemm(&self, call: &GemmCall) -> Result<()> {
        let op = |transposed: bool| {
            if transposed {
                blas_sys::cublasOperation_t::CUBLAS_OP_T
            } else {
                blas_sys::cublasOperation_t::CUBLAS_OP_N
            }
        };
        let blas = self.blas.lock().unwrap_or_else(|p| p.into_inner());
        let int = |v: usize| v as std::ffi::c_int;
        // SAFETY: GemmCall::check (run by the caller) showed that every element addressed
        // through (ld, stride, batch) lies inside the buffers the addresses belong to.
        unsafe {
            blas_result::sgemm_strided_batched(
                *blas.handle(),
                op(call.transa),
                op(call.transb),
                int(call.m),
                int(call.n),
                int(call.k),
                &call.alpha,
                call.a as *const f32,
                int(call.lda),
                call.stride_a as i64,
                call.b as *const f32,
                int(call.ldb),
                call.stride_b as i64,
                &call.beta,
                call.c as *mut f32,
                int(call.ldc),
                call.stride_c as i64,
                int(call.batch),
            )
        }
        .map_err(|e| Error::Device {
            op: "matrix product (cuBLAS)",
            device: device_name(self.ordinal),
            msg: format!("{e:?}"),
        })
    }
}

/// The message of a probe's error without its generic device name.
fn strip_device(e: Error) -> String {
    match e {
        Error::DeviceUnavailable { msg, .. } => msg,
        other => other.to_string(),
    }
}

/// Freed device memory goes back to the stream's pool and stays there for the next allocation
/// (as PyTorch's caching allocator does) instead of being returned to the driver at every
/// synchronisation: the style-transfer loop frees and allocates the same sizes every step.
fn keep_freed_memory_in_pool(ctx: &Arc<CudaContext>) {
    let mut pool: sys::CUmemoryPool = std::ptr::null_mut();
    let mut keep_all: u64 = u64::MAX;
    // SAFETY: plain driver queries on the context just created; failure only costs speed.
    unsafe {
        if sys::cuDeviceGetDefaultMemPool(&mut pool, ctx.cu_device()) == sys::CUresult::CUDA_SUCCESS
        {
            let _ = sys::cuMemPoolSetAttribute(
                pool,
                sys::CUmemPool_attribute::CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                &mut keep_all as *mut u64 as *mut std::ffi::c_void,
            );
        }
    }
}
