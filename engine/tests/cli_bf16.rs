//! `picasso stylize --bf16`: the report says what held (bf16 where the CPU has AVX-512 BF16),
//! and where the CPU cannot, the run says so and computes in f32.

mod cli_common;

use cli_common::{cat_and_udnie, s, text};
use std::process::Command;

/// Stylize the cat briefly with `--bf16 backward`, with `PICASSO_NO_AVX512` set or not;
/// returns what it printed and its report's `settings.bf16`.
fn run(dir: &std::path::Path, no_avx512: bool) -> Option<(String, String)> {
    let (content, style) = cat_and_udnie()?;
    let (out, report) = (dir.join("out.png"), dir.join("report.json"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_picasso"));
    command
        .args(["stylize", s(&content), s(&style), "-o", s(&out)])
        .args([
            "--report",
            s(&report),
            "--quiet",
            "--size",
            "64",
            "--iters",
            "4",
        ])
        .args(["--single-scale", "--bf16", "backward"]);
    if no_avx512 {
        command.env("PICASSO_NO_AVX512", "1");
    }
    let output = command.output().expect("picasso runs");
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    Some((
        said,
        report["settings"]["bf16"].as_str().unwrap().to_string(),
    ))
}

#[test]
fn the_report_says_whether_bf16_ran() {
    let dir = std::env::temp_dir().join(format!("picasso-cli-bf16-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let Some((said, held)) = run(&dir, false) else {
        return;
    };
    if engine::cpu::packed_gemm_bf16::available() {
        assert_eq!(held, "backward", "{said}");
        assert!(!said.contains("--bf16 needs"), "{said}");
    } else {
        assert_eq!(held, "off", "{said}");
    }
    // Without AVX-512 there is no bf16 kernel: a warning, and f32 throughout.
    let (said, held) = run(&dir, true).unwrap();
    assert_eq!(held, "off", "{said}");
    assert!(
        said.contains("warning: --bf16 needs a CPU with AVX-512 BF16"),
        "{said}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
