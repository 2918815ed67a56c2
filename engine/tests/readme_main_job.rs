//! The README's first command, the main job, as a reader of a fresh clone runs it: from the
//! repository root, with no shared data folder anywhere (quick settings, so it takes seconds).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The arguments after `--` of the README's first `cargo run ... --bin picasso -- stylize` line.
fn readme_main_job() -> Vec<String> {
    let readme = std::fs::read_to_string(repository_root().join("README.md")).unwrap();
    let line = readme
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("cargo run") && l.contains("--bin picasso -- stylize"))
        .expect(
            "the README shows the main job as `cargo run --release --bin picasso -- stylize …`",
        );
    let (_, args) = line.split_once(" -- ").unwrap();
    args.split_whitespace().map(String::from).collect()
}

#[test]
fn the_readme_main_job_runs_in_a_clone_without_shared_data() {
    let mut args = readme_main_job();
    let output_at = args
        .iter()
        .position(|a| a == "-o")
        .expect("the main job names its output with -o");
    // Every input is a file of the repository itself, not of ../shared.
    let inputs: Vec<&String> = args[1..output_at].iter().collect();
    assert!(
        inputs.len() >= 2,
        "the main job needs a photo and a painting: {args:?}"
    );
    for input in &inputs {
        assert!(
            !input.contains("shared") && repository_root().join(input).is_file(),
            "the README's main job reads {input}, which a fresh clone does not have"
        );
    }

    let dir = std::env::temp_dir().join(format!("picasso-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let result = dir.join("tubingen_starry.png");
    args[output_at + 1] = result.to_string_lossy().into_owned();
    args.extend(["--size", "64", "--iters", "5", "--quiet"].map(String::from));

    let run = Command::new(env!("CARGO_BIN_EXE_picasso"))
        .args(&args)
        .current_dir(repository_root())
        // As in a fresh clone: no shared data folder, wherever it is looked for.
        .env("PICASSO_SHARED", dir.join("no-shared-data-here"))
        .output()
        .expect("the picasso binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "picasso {args:?} failed:\n{text}");
    let picture = image::open(&result)
        .unwrap_or_else(|e| panic!("the main job's result does not decode: {e}\n{text}"));
    assert_eq!(
        picture.width().max(picture.height()),
        64,
        "--size 64 sets the long side"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
