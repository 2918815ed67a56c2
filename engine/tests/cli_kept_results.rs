//! Issue 18, items 13 and 14: what a run keeps is true — after the loss explodes, the picture
//! saved is the last one whose loss was finite and not above the start (not saturated noise),
//! and a requested GIF is written whenever there is a frame, however short the run.

mod cli_common;
mod io_common;

use cli_common::{cat_and_udnie, picasso, s, text};
use engine::io::{load_image, LoadOptions};
use image::AnimationDecoder;
use io_common::{max_abs_diff, TempDir};

/// Item 13: fixed steps of length 1e6 explode (loss 3e35 against 2.3e8 at the start, then
/// NaN). The saved picture and the report's loss are those of the last image not above the
/// start: here the photo itself, where the run began.
#[test]
fn after_divergence_the_last_good_picture_is_kept() {
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("diverged");
    let (out, report) = (dir.join("un.png"), dir.join("r.json"));
    let r = picasso(&[
        "stylize",
        s(&content),
        s(&style),
        "-o",
        s(&out),
        "--report",
        s(&report),
        "--size",
        "64",
        "--iters",
        "5",
        "--unbounded",
        "--line-search",
        "none",
        "--lr",
        "1e6",
        "--quiet",
    ]);
    let said = text(&r);
    let start: f64 = said
        .lines()
        .find_map(|l| l.split("eval     1: loss ").nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no first loss in: {said}"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let total = report["total"].as_f64().unwrap();
    // The printed start has 7 significant digits.
    assert!(
        total <= start * (1.0 + 1e-6),
        "kept loss {total:e} is above the start {start:e}: {said}"
    );
    let saved = load_image(&out, &LoadOptions::default()).unwrap();
    let photo = load_image(&content, &LoadOptions::long_side(64)).unwrap();
    let diff = max_abs_diff(&saved, &photo);
    assert!(
        diff <= 1.0,
        "the saved picture is not the last good one (differs by {diff})"
    );
}

fn gif_frames(path: &std::path::Path) -> usize {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let decoder = image::codecs::gif::GifDecoder::new(file).unwrap();
    decoder.into_frames().count()
}

/// Item 14: fewer evaluations than the frame interval (10) still give a GIF, ending on the
/// final picture; a longer run gets that final frame after its regular ones.
#[test]
fn a_requested_gif_is_written_whenever_there_is_a_frame() {
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("short-gif");
    for (iters, frames) in [("4", 1), ("12", 2)] {
        let gif = dir.join(&format!("g{iters}.gif"));
        let r = picasso(&[
            "stylize",
            s(&content),
            s(&style),
            "-o",
            s(&dir.join("o.png")),
            "--gif",
            s(&gif),
            "--size",
            "48",
            "--iters",
            iters,
            "--quiet",
        ]);
        assert_eq!(r.status.code(), Some(0), "{}", text(&r));
        assert!(gif.is_file(), "--iters {iters}: no GIF: {}", text(&r));
        assert_eq!(gif_frames(&gif), frames, "--iters {iters}");
    }
}
