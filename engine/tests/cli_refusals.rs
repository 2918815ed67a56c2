//! `picasso` refusing, before any work, what would lose the user's files, fail at the end of a
//! long run, or crash inside the network: each case as a user would type it, against the real
//! binary.

mod cli_common;
mod io_common;

use cli_common::{cat_and_udnie, picasso, refused_before_work, s, text};
use io_common::TempDir;
use std::path::Path;

/// `picasso stylize CONTENT STYLE` followed by `extra`.
fn stylize(content: &Path, style: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["stylize", s(content), s(style)];
    args.extend_from_slice(extra);
    picasso(&args)
}

/// Write a `width × height` PNG of one colour.
fn flat_png(path: &Path, width: u32, height: u32) {
    image::RgbImage::from_pixel(width, height, image::Rgb([90, 140, 200]))
        .save(path)
        .unwrap();
}

#[test]
fn outputs_that_would_replace_each_other_or_an_input_are_refused() {
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("cli-collide");
    let out = dir.join("o5.png");
    std::fs::write(&out, b"the result of yesterday's run").unwrap();
    let keep = std::fs::read(&out).unwrap();
    let small = ["--size", "32", "--iters", "2"];

    // The reproductions: --report or --gif naming the result image.
    for flag in ["--report", "--gif"] {
        let mut args = vec!["-o", s(&out), flag, s(&out)];
        args.extend_from_slice(&small);
        let said = refused_before_work(&stylize(&content, &style, &args));
        assert!(said.contains(flag), "{said}");
    }
    // The same file under another name: a hard link with the report's extension.
    let link = dir.join("report.json");
    std::fs::hard_link(&out, &link).unwrap();
    let mut args = vec!["-o", s(&out), "--report", s(&link)];
    args.extend_from_slice(&small);
    let said = refused_before_work(&stylize(&content, &style, &args));
    assert!(said.contains("both name"), "{said}");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        keep,
        "the old result was touched"
    );
    // The photo itself, spelled through `..`.
    let photo = dir.join("photo.png");
    std::fs::copy(&content, &photo).unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    let said = refused_before_work(&stylize(
        &photo,
        &style,
        &["-o", s(&dir.join("sub/../photo.png"))],
    ));
    assert!(said.contains("refusing to write"), "{said}");
    assert_eq!(
        std::fs::read(&photo).unwrap(),
        std::fs::read(&content).unwrap()
    );

    // Numbered frames that would replace an input: a style image called o5_0010.png.
    let frame_like = dir.join("o5_0010.png");
    std::fs::copy(&style, &frame_like).unwrap();
    let keep_style = std::fs::read(&frame_like).unwrap();
    let said = refused_before_work(&stylize(
        &content,
        &frame_like,
        &["-o", s(&out), "--save-every", "10", "--size", "32"],
    ));
    assert!(
        said.contains("o5_0010.png") && said.contains("input"),
        "{said}"
    );
    assert_eq!(std::fs::read(&frame_like).unwrap(), keep_style);
}

#[test]
fn unwritable_outputs_are_refused_before_the_run() {
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("cli-unwritable");
    let nodir = dir.join("nodir/o.png");
    let said = refused_before_work(&stylize(&content, &style, &["-o", s(&nodir)]));
    assert!(
        said.contains("does not exist") && said.contains("nodir"),
        "{said}"
    );

    let folder = dir.join("results");
    std::fs::create_dir(&folder).unwrap();
    let said = refused_before_work(&stylize(&content, &style, &["-o", s(&folder)]));
    assert!(said.contains("is a folder"), "{said}");

    let out = dir.join("o.png");
    let gif_folder = format!("{}/", dir.join("out").display());
    let said = refused_before_work(&stylize(
        &content,
        &style,
        &["-o", s(&out), "--gif", &gif_folder],
    ));
    assert!(said.contains("--gif") && said.contains("folder"), "{said}");

    let said = refused_before_work(&stylize(
        &content,
        &style,
        &["-o", s(&out), "--report", "/nonexistent-picasso-dir/r.json"],
    ));
    assert!(
        said.contains("--report") && said.contains("does not exist"),
        "{said}"
    );

    let said = refused_before_work(&stylize(
        &content,
        &style,
        &["-o", s(&out), "--report", s(&dir.join("r.txt"))],
    ));
    assert!(said.contains(".json"), "{said}");

    // A read-only folder (root writes anywhere, so only checked when the folder refuses us).
    let locked = dir.join("locked");
    std::fs::create_dir(&locked).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    if std::fs::write(locked.join("probe"), b"").is_err() {
        let said = refused_before_work(&stylize(
            &content,
            &style,
            &["-o", s(&locked.join("o.png"))],
        ));
        assert!(said.contains("does not accept new files"), "{said}");
    } else {
        println!("skipping the read-only folder: this user can write anywhere");
    }
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(!out.exists());
}

#[test]
fn inputs_are_named_for_what_they_are() {
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("cli-inputs");
    let out = dir.join("o.png");
    let said = refused_before_work(&stylize(dir.path(), &style, &["-o", s(&out)]));
    assert!(
        said.contains("is a directory") && !said.contains("does not exist"),
        "{said}"
    );
    let said = refused_before_work(&stylize(
        &content,
        &style,
        &["-o", s(&out), "--weights", s(dir.path())],
    ));
    assert!(
        said.contains("--weights") && said.contains("folder"),
        "{said}"
    );
    let said = refused_before_work(&stylize(
        &content,
        &dir.join("missing.jpg"),
        &["-o", s(&out)],
    ));
    assert!(said.contains("no such file"), "{said}");
}

#[test]
fn pictures_too_small_for_the_deepest_layer_name_the_size_that_works() {
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("cli-small");
    let out = dir.join("o.png");
    // A 3:2 photo at 16 px is 16×11: relu5_1 needs 16 each way, so 24 px.
    let said = refused_before_work(&stylize(&content, &style, &["-o", s(&out), "--size", "16"]));
    assert!(
        said.contains("relu5_1") && said.contains("--size 24 or more"),
        "{said}"
    );
    let run = stylize(
        &content,
        &style,
        &["-o", s(&out), "--size", "24", "--iters", "1"],
    );
    assert!(
        run.status.success(),
        "the suggested size works: {}",
        text(&run)
    );

    // A 2000×40 panorama at 128 px is 128×3.
    let panorama = dir.join("panorama.png");
    flat_png(&panorama, 2000, 40);
    let said = refused_before_work(&stylize(
        &panorama,
        &style,
        &["-o", s(&out), "--size", "128"],
    ));
    assert!(
        said.contains("128×3") && said.contains("--size 775"),
        "{said}"
    );

    // Styles shrunk below the deepest layer's need, and the scale that works.
    let said = refused_before_work(&stylize(
        &content,
        &style,
        &["-o", s(&out), "--size", "256", "--style-scale", "0.01"],
    ));
    assert!(said.contains("--style-scale 0.063 or more"), "{said}");

    let feats = dir.join("f.safetensors");
    let said = refused_before_work(&picasso(&[
        "features",
        "--image",
        s(&content),
        "--layers",
        "pool5",
        "--size",
        "1",
        "-o",
        s(&feats),
    ]));
    assert!(
        said.contains("pool5") && said.contains("--size 48"),
        "{said}"
    );

    let said = refused_before_work(&picasso(&[
        "visualize",
        "maximize",
        "--layer",
        "pool5",
        "--size",
        "8",
        "-o",
        s(&out),
    ]));
    assert!(said.contains("--size 32"), "{said}");
    assert!(!feats.exists());
}

#[test]
fn sizes_that_do_not_fit_in_memory_are_refused_with_one_that_does() {
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("cli-memory");
    let out = dir.join("o.png");
    let flag = |args: &[&str]| {
        let mut all = vec!["-o", s(&out)];
        all.extend_from_slice(args);
        refused_before_work(&stylize(&content, &style, &all))
    };
    for args in [
        &["--size", "400000"][..],
        &["--style-scale", "5000"],
        &["--multiscale", "256,400000"],
    ] {
        let said = flag(args);
        assert!(
            said.contains("needs about") && said.contains("available"),
            "{said}"
        );
        assert!(said.contains("What fits:"), "{said}");
    }
    let said = refused_before_work(&picasso(&[
        "features",
        "--image",
        s(&content),
        "--layers",
        "relu1_1",
        "--size",
        "400000",
        "-o",
        s(&dir.join("f.safetensors")),
    ]));
    assert!(
        said.contains("needs about") && said.contains("--size"),
        "{said}"
    );
    let said = refused_before_work(&picasso(&[
        "visualize",
        "maximize",
        "--size",
        "100000",
        "-o",
        s(&out),
    ]));
    assert!(
        said.contains("needs about") && said.contains("--size"),
        "{said}"
    );

    // Under a limit of our own: the size offered must really run, within that limit.
    let said = flag(&["--size", "512", "--max-memory", "1.2G"]);
    assert!(
        said.contains("--history"),
        "L-BFGS's history is offered too: {said}"
    );
    let offered = said
        .split("What fits: --size ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .unwrap_or_else(|| panic!("no size offered: {said}"));
    let report = dir.join("r.json");
    let run = stylize(
        &content,
        &style,
        &[
            "-o",
            s(&out),
            "--size",
            offered,
            "--iters",
            "3",
            "--max-memory",
            "1.2G",
            "--report",
            s(&report),
        ],
    );
    assert!(run.status.success(), "--size {offered}: {}", text(&run));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    if let Some(peak) = r["memory"]["peak_resident_bytes"].as_u64() {
        assert!(peak <= 1_200_000_000, "--size {offered} took {peak} bytes");
    }
}

#[test]
fn damaged_weights_and_overflowing_weights_get_accurate_advice() {
    let (Some((content, style)), Some(tiny)) = (
        cat_and_udnie(),
        engine::shared_data::shared_file("fixtures/tiny_vgg16.safetensors"),
    ) else {
        return;
    };
    let dir = TempDir::new("cli-weights");
    let out = dir.join("o.png");
    // A tiny VGG (4 channels a layer) with one NaN in conv3_1.
    let (_, mut set) = weights_tools::read_path(&tiny).unwrap();
    let t = set
        .tensors
        .iter_mut()
        .find(|t| t.name == "conv3_1.weight")
        .unwrap();
    t.data[5] = f32::NAN;
    let poisoned = dir.join("nan.safetensors");
    std::fs::write(
        &poisoned,
        weights_tools::to_safetensors(&set, false).unwrap(),
    )
    .unwrap();
    let said = refused_before_work(&stylize(
        &content,
        &style,
        &["-o", s(&out), "--size", "32", "--weights", s(&poisoned)],
    ));
    assert!(
        said.contains("conv3_1.weight") && said.contains("NaN"),
        "{said}"
    );
    assert!(
        !said.contains("learning rate") && !said.contains("--lr"),
        "{said}"
    );

    // A style weight that overflows f32 whatever the picture: refused up front.
    let said = refused_before_work(&stylize(
        &content,
        &style,
        &["-o", s(&out), "--size", "32", "--style-weight", "1e38"],
    ));
    assert!(
        said.contains("--style-weight") && said.contains("overflow"),
        "{said}"
    );
    assert!(
        !said.contains("learning rate") && !said.contains("--lr"),
        "{said}"
    );
    // One that overflows only with this picture's raw style loss: found when the gradient
    // stops being a number, and blamed on the weight.
    let run = stylize(
        &content,
        &style,
        &[
            "-o",
            s(&out),
            "--size",
            "32",
            "--iters",
            "3",
            "--style-weight",
            "1e35",
        ],
    );
    let said = text(&run);
    assert!(!run.status.success(), "{said}");
    assert!(
        said.contains("overflows") && said.contains("--style-weight 1e"),
        "{said}"
    );
    assert!(!said.contains("--lr"), "{said}");
}

#[test]
fn warnings_for_a_stretched_init_and_frames_of_an_earlier_run() {
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("cli-warnings");
    let out = dir.join("cat.png");
    // Frames of an earlier, longer run.
    std::fs::copy(&content, dir.join("cat_0001.png")).unwrap();
    std::fs::copy(&content, dir.join("cat_0050.png")).unwrap();
    let run = stylize(
        &content,
        &style,
        &[
            "-o",
            s(&out),
            "--size",
            "32",
            "--iters",
            "2",
            "--save-every",
            "1",
            "--init",
            s(&style),
            "--quiet",
        ],
    );
    let said = text(&run);
    assert!(run.status.success(), "{said}");
    // udnie is square, the cat 3:2.
    assert!(
        said.contains("--init") && said.contains("stretched"),
        "{said}"
    );
    assert!(
        said.contains("2 numbered images from an earlier run"),
        "{said}"
    );
    assert!(
        dir.join("cat_0050.png").is_file(),
        "an earlier frame was removed"
    );
}
