//! Wider vectors where the CPU has them, without building for one CPU.
//!
//! Rust compiles for a baseline x86-64 (SSE2, 4 floats per vector) unless told otherwise, so
//! the loops the compiler vectorises use only a quarter of an AVX-512 register. Building with
//! `-C target-cpu=native` would fix that but make binaries that crash on older CPUs. Instead,
//! [`with_wide_vectors!`] compiles a hot function a second time with AVX-512 enabled and picks
//! that copy at run time when the CPU supports it.

/// Set this environment variable (to anything) to run the portable code even on a CPU with
/// AVX-512: for tests of the fallback, and for comparing the two.
pub const DISABLE_ENV: &str = "PICASSO_NO_AVX512";

/// Whether to run AVX-512F code: the CPU has it and [`DISABLE_ENV`] is not set (both read
/// once per process).
#[inline]
pub fn has_avx512() -> bool {
    static CHOICE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *CHOICE.get_or_init(|| {
        if std::env::var_os(DISABLE_ENV).is_some() {
            return false;
        }
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx512f")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// Call `f(args…)` — an `#[inline(always)]` function — through a copy compiled with AVX-512
/// when the CPU has it, or directly otherwise.
macro_rules! with_wide_vectors {
    ($f:ident($($arg:expr),* $(,)?)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f")]
            unsafe fn wide<R>(f: impl FnOnce() -> R) -> R {
                f()
            }
            if $crate::cpu::simd::has_avx512() {
                // SAFETY: the CPU supports AVX-512F (checked just above).
                unsafe { wide(|| $f($($arg),*)) }
            } else {
                $f($($arg),*)
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            $f($($arg),*)
        }
    }};
}
pub(crate) use with_wide_vectors;
