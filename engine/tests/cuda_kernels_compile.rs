//! Every `.cu` source compiles: with NVRTC (the compiler the GPU path uses; it needs no GPU and
//! no driver, only libnvrtc on LD_LIBRARY_PATH) and as C++ for the host emulator. Each kernel a
//! source declares must be in the compiled code.
//!
//! Without libnvrtc the NVRTC half is skipped with a message; `REQUIRE_NVRTC=1` (set by CI,
//! which installs the NVRTC wheel) makes that a failure, so a kernel that does not compile can
//! never reach the main branch.

use engine::cuda::kernels::{all_sources, compile_ptx, nvrtc_available};

/// Architectures to compile for: Turing (NVRTC 13's oldest), Ampere, and Hopper (the H200).
const CAPABILITIES: [(i32, i32); 3] = [(7, 5), (8, 0), (9, 0)];

#[test]
fn every_kernel_source_compiles_with_nvrtc() {
    let required = std::env::var("REQUIRE_NVRTC").is_ok_and(|v| v == "1");
    if let Err(e) = nvrtc_available() {
        assert!(!required, "REQUIRE_NVRTC=1 but {e}");
        println!("skipped: {e}");
        return;
    }
    for source in all_sources() {
        for capability in CAPABILITIES {
            let ptx = compile_ptx(source, capability)
                .unwrap_or_else(|e| {
                    panic!(
                        "{}.cu for sm_{}{}: {e}",
                        source.name, capability.0, capability.1
                    )
                })
                .to_src();
            for kernel in source.kernels {
                assert!(
                    ptx.contains(&format!(".entry {kernel}(")),
                    "{}.cu: kernel `{kernel}` is missing from the PTX",
                    source.name
                );
            }
        }
        println!(
            "{}.cu: {} kernels compile with NVRTC",
            source.name,
            source.kernels.len()
        );
    }
}

#[test]
fn a_broken_kernel_is_rejected_with_the_compilers_log() {
    if nvrtc_available().is_err() {
        println!("skipped: no NVRTC");
        return;
    }
    let broken = engine::cuda::kernels::KernelSource {
        name: "broken",
        code: "extern \"C\" __global__ void oops(const float* x) { x[0] = undeclared; }",
        kernels: &["oops"],
    };
    let err = compile_ptx(&broken, (9, 0)).unwrap_err().to_string();
    assert!(
        err.contains("broken.cu") && err.contains("undeclared"),
        "{err}"
    );
}

#[test]
fn every_kernel_source_compiles_for_the_host_emulator() {
    if let Err(e) = engine::cuda::emulator::available() {
        let required = std::env::var("REQUIRE_EMULATOR").is_ok_and(|v| v == "1");
        assert!(!required, "REQUIRE_EMULATOR=1 but {e}");
        println!("skipped: {e}");
        return;
    }
    let emulator = engine::cuda::emulator::Emulator::new().unwrap();
    for source in all_sources() {
        let module = emulator.load(source).unwrap_or_else(|e| panic!("{e}"));
        for kernel in source.kernels {
            assert!(
                module.has_kernel(kernel),
                "{}.cu: no kernel `{kernel}`",
                source.name
            );
        }
    }
}
