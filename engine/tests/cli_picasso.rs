//! The `picasso` command as a user runs it: real files in, real files out, clear errors.

mod cli_common;

use cli_common::{picasso, s, text};
use engine::shared_data::shared_file;
use std::path::PathBuf;
use std::process::Command;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("picasso-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn features_from_a_tensor_match_pytorch() {
    let (Some(weights), Some(reference)) = (
        shared_file("weights/vgg16-imagenet.safetensors"),
        shared_file("reference/vgg16_features_tubingen_starry.safetensors"),
    ) else {
        return;
    };
    let dir = temp_dir("features");
    let out = dir.join("feats.safetensors");
    let tensor_arg = format!("{}:image", s(&reference));
    let run = picasso(&[
        "features",
        "--tensor",
        &tensor_arg,
        "--layers",
        "relu1_1,relu4_2,pool5",
        "--weights",
        s(&weights),
        "-o",
        s(&out),
    ]);
    assert!(run.status.success(), "{}", text(&run));
    let (_, ours) = weights_tools::read_path(&out).unwrap();
    let (_, theirs) = weights_tools::read_path(&reference).unwrap();
    for name in ["relu1_1", "relu4_2", "pool5"] {
        let a = ours.get(name).unwrap();
        let b = theirs.get(name).unwrap();
        assert_eq!(a.shape, b.shape, "{name}");
        let scale = b.data.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let worst = a
            .data
            .iter()
            .zip(&b.data)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= 1e-5 * scale, "{name}: {worst} vs {scale}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn features_work_offline_with_the_embedded_weights() {
    let Some(image) = shared_file("images/content/chelsea.png") else {
        return;
    };
    let dir = temp_dir("embedded");
    let out = dir.join("f.safetensors");
    let run = picasso(&[
        "features",
        "--image",
        s(&image),
        "--layers",
        "relu2_1",
        "--size",
        "64",
        "-o",
        s(&out),
    ]);
    assert!(run.status.success(), "{}", text(&run));
    let (_, set) = weights_tools::read_path(&out).unwrap();
    // 451×300 resized to a long side of 64 → 64×43; relu2_1 is after one pooling.
    assert_eq!(set.get("relu2_1").unwrap().shape, vec![1, 128, 21, 32]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn stylize_writes_image_report_frames_and_gif() {
    let (Some(content), Some(style)) = (
        shared_file("images/content/chelsea.png"),
        shared_file("images/style/udnie.jpg"),
    ) else {
        return;
    };
    let dir = temp_dir("stylize");
    let out = dir.join("cat.png");
    let report = dir.join("report.json");
    let gif = dir.join("cat.gif");
    let run = picasso(&[
        "stylize",
        s(&content),
        s(&style),
        "-o",
        s(&out),
        "--size",
        "64",
        "--iters",
        "6",
        "--save-every",
        "3",
        "--gif",
        s(&gif),
        "--report",
        s(&report),
        "--quiet",
    ]);
    assert!(run.status.success(), "{}", text(&run));
    let img = image::open(&out).unwrap();
    assert_eq!((img.width(), img.height()), (64, 43));
    assert!(dir.join("cat_0003.png").is_file() && dir.join("cat_0006.png").is_file());
    assert!(gif.is_file());
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["evaluations"], 6);
    let total = r["total"].as_f64().unwrap();
    let w = &r["weighted"];
    let sum =
        w["content"].as_f64().unwrap() + w["style"].as_f64().unwrap() + w["tv"].as_f64().unwrap();
    assert!(
        (sum - total).abs() <= 1e-6 * total.abs().max(1.0),
        "{sum} vs {total}"
    );
    assert_eq!(r["settings"]["style_weight"], 1000.0);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn stylize_with_the_strong_wolfe_line_search_stays_within_the_budget() {
    let (Some(content), Some(style)) = (
        shared_file("images/content/chelsea.png"),
        shared_file("images/style/udnie.jpg"),
    ) else {
        return;
    };
    let dir = temp_dir("wolfe");
    let out = dir.join("cat.png");
    let report = dir.join("report.json");
    // The first L-BFGS step is scaled by 1/‖g‖₁, far too short for this loss, so the line
    // search keeps extrapolating: five evaluations end in the middle of its first search, which
    // must be cut short at the budget (PyTorch's own loop would take one more).
    let run = picasso(&[
        "stylize",
        s(&content),
        s(&style),
        "-o",
        s(&out),
        "--size",
        "64",
        "--iters",
        "5",
        "--line-search",
        "strong-wolfe",
        "--report",
        s(&report),
        "--quiet",
    ]);
    assert!(run.status.success(), "{}", text(&run));
    assert!(image::open(&out).is_ok());
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let evaluations = r["evaluations"].as_u64().unwrap();
    assert!(
        (2..=5).contains(&evaluations),
        "{evaluations} evaluations for --iters 5"
    );
    assert_eq!(r["scales"][0]["evaluations"], evaluations);
    assert_eq!(r["settings"]["line_search"], "strong-wolfe");
    assert!(r["total"].as_f64().unwrap().is_finite());

    // Only L-BFGS searches for its step length.
    let refused = picasso(&[
        "stylize",
        s(&content),
        s(&style),
        "-o",
        s(&dir.join("adam.png")),
        "--optimizer",
        "adam",
        "--line-search",
        "strong-wolfe",
    ]);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("--line-search"),
        "{}",
        text(&refused)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn stylize_refuses_bad_requests_before_doing_work() {
    let (Some(content), Some(style)) = (
        shared_file("images/content/chelsea.png"),
        shared_file("images/style/udnie.jpg"),
    ) else {
        return;
    };
    let dir = temp_dir("refuse");
    // Writing over an input.
    let run = picasso(&["stylize", s(&content), s(&style), "-o", s(&content)]);
    assert!(!run.status.success());
    assert!(text(&run).contains("input"), "{}", text(&run));
    // Unknown output format.
    let bad = dir.join("out.bmpx");
    let run = picasso(&["stylize", s(&content), s(&style), "-o", s(&bad)]);
    assert!(
        !run.status.success() && text(&run).contains("bmpx"),
        "{}",
        text(&run)
    );
    // Unknown layer.
    let out = dir.join("o.png");
    let run = picasso(&[
        "stylize",
        s(&content),
        s(&style),
        "-o",
        s(&out),
        "--size",
        "32",
        "--iters",
        "1",
        "--style-layers",
        "relu9_1",
    ]);
    assert!(
        text(&run).contains("unknown layer `relu9_1`"),
        "{}",
        text(&run)
    );
    // No GPU on this machine (CI): --device cuda says so and how to go on.
    let run = picasso(&[
        "stylize",
        s(&content),
        s(&style),
        "-o",
        s(&out),
        "--device",
        "cuda",
    ]);
    assert!(
        engine::cuda::CudaDevice::get(0).is_ok()
            || (!run.status.success() && text(&run).contains("--device cpu")),
        "{}",
        text(&run)
    );
    // A corrupt image.
    let corrupt = dir.join("broken.png");
    std::fs::write(&corrupt, b"\x89PNG\r\n\x1a\n not really").unwrap();
    let run = picasso(&[
        "stylize",
        s(&corrupt),
        s(&style),
        "-o",
        s(&out),
        "--size",
        "32",
    ]);
    assert!(
        !run.status.success() && text(&run).contains("broken.png"),
        "{}",
        text(&run)
    );
    // Mismatched blend weights.
    let run = picasso(&[
        "stylize",
        s(&content),
        s(&style),
        "-o",
        s(&out),
        "--style-blend",
        "0.5,0.5",
    ]);
    assert!(text(&run).contains("--style-blend"), "{}", text(&run));
    assert!(!out.exists(), "nothing should have been written");
    std::fs::remove_dir_all(&dir).ok();
}

/// A long run in the background writing `out`, once its first checkpoint is on disk (long
/// after the signal handler is installed).
fn long_run_with_a_checkpoint(out: &std::path::Path) -> std::process::Child {
    let (content, style) = cli_common::cat_and_udnie().expect("checked by the caller");
    let child = Command::new(env!("CARGO_BIN_EXE_picasso"))
        .args([
            "stylize",
            s(&content),
            s(&style),
            "-o",
            s(out),
            "--size",
            "48",
            "--iters",
            "100000",
            "--quiet",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !out.exists() {
        assert!(
            started.elapsed().as_secs() < 300,
            "no checkpoint after 5 minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    child
}

fn send(signal: &str, child: &std::process::Child) {
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Stop a run with `signal` (as a terminal's Ctrl-C or a `kill` would) and check it saved
/// its image, said so, and cleaned up its lock.
fn a_signal_stops_cleanly_and_keeps_the_image(signal: &str, name: &str) {
    if cli_common::cat_and_udnie().is_none() {
        return;
    }
    let dir = temp_dir(name);
    let out = dir.join("partial.png");
    let child = long_run_with_a_checkpoint(&out);
    send(signal, &child);
    let result = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let img = image::open(&out).unwrap();
    assert_eq!(img.width(), 48);
    assert!(
        !dir.join(".partial.png.lock").exists(),
        "the lock outlived the run"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn ctrl_c_stops_cleanly_and_keeps_the_image() {
    a_signal_stops_cleanly_and_keeps_the_image("-INT", "interrupt");
}

#[test]
fn sigterm_stops_cleanly_and_keeps_the_image() {
    a_signal_stops_cleanly_and_keeps_the_image("-TERM", "terminate");
}

#[test]
fn two_runs_cannot_write_the_same_output() {
    let Some((content, style)) = cli_common::cat_and_udnie() else {
        return;
    };
    let dir = temp_dir("lock");
    let out = dir.join("shared.png");
    let first = long_run_with_a_checkpoint(&out);
    let second = picasso(&[
        "stylize",
        s(&content),
        s(&style),
        "-o",
        s(&out),
        "--size",
        "32",
        "--iters",
        "1",
        "--save-every",
        "1",
    ]);
    let said = cli_common::refused_before_work(&second);
    assert!(
        said.contains(&format!("another run (process {})", first.id())),
        "{said}"
    );
    send("-TERM", &first);
    first.wait_with_output().unwrap();
    // A lock left by a run that no longer exists (killed outright) is taken over.
    std::fs::write(dir.join(".shared.png.lock"), "4000000000\n").unwrap();
    let third = picasso(&[
        "stylize",
        s(&content),
        s(&style),
        "-o",
        s(&out),
        "--size",
        "32",
        "--iters",
        "1",
    ]);
    assert!(third.status.success(), "{}", text(&third));
    assert!(!dir.join(".shared.png.lock").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn visualize_draws_filters_feature_maps_and_maximised_channels() {
    let dir = temp_dir("visualize");
    let filters = dir.join("filters.png");
    let run = picasso(&["visualize", "filters", "-o", s(&filters)]);
    assert!(run.status.success(), "{}", text(&run));
    // 64 filters, 8 to a row of 24-pixel tiles with 2-pixel gaps.
    let img = image::open(&filters).unwrap();
    assert_eq!((img.width(), img.height()), (210, 210));

    let maxed = dir.join("max.png");
    let run = picasso(&[
        "visualize",
        "maximize",
        "--layer",
        "relu1_1",
        "--channel",
        "5",
        "--size",
        "32",
        "--steps",
        "4",
        "-o",
        s(&maxed),
    ]);
    assert!(run.status.success(), "{}", text(&run));
    assert!(image::open(&maxed).is_ok());
    let run = picasso(&[
        "visualize",
        "maximize",
        "--layer",
        "relu1_1",
        "--channel",
        "64",
        "-o",
        s(&maxed),
    ]);
    assert!(
        !run.status.success() && text(&run).contains("64 channels"),
        "{}",
        text(&run)
    );

    if let Some(photo) = shared_file("images/content/chelsea.png") {
        let maps = dir.join("maps.png");
        let run = picasso(&[
            "visualize",
            "features",
            "--image",
            s(&photo),
            "--layer",
            "relu3_1",
            "--count",
            "4",
            "--size",
            "64",
            "-o",
            s(&maps),
        ]);
        assert!(run.status.success(), "{}", text(&run));
        assert!(image::open(&maps).is_ok());
    }
    std::fs::remove_dir_all(&dir).ok();
}
