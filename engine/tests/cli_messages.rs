//! Issue 18, item 19 (picasso's side): every message names the real cause — a weight of -0.0
//! is zero, not "too large"; a layer weight that overflows is blamed on that layer, not the
//! weights file; a `--max-memory` too small says to raise it; `--size 0` names the option,
//! not an internal function.

mod cli_common;
mod io_common;

use cli_common::{cat_and_udnie, picasso, refused_before_work, s, text};
use io_common::TempDir;

#[test]
fn messages_name_the_real_cause() {
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("messages");
    let out = dir.join("o.png");
    let stylize = |extra: &[&str]| {
        let mut args = vec![
            "stylize",
            s(&content),
            s(&style),
            "-o",
            s(&out),
            "--size",
            "48",
            "--iters",
            "2",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        picasso(&args)
    };

    // -0.0 is zero: the run goes ahead.
    let r = stylize(&["--tv-weight=-0.0"]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    assert!(!text(&r).contains("too large"), "{}", text(&r));

    // A layer weight that overflows f32 is refused up front, by its layer.
    let said = refused_before_work(&stylize(&["--style-layers", "relu1_1:3e38,relu2_1"]));
    assert!(
        said.contains("--style-layers") && said.contains("relu1_1"),
        "{said}"
    );
    assert!(!said.contains("weights file"), "{said}");

    // A --max-memory below any run: raise it, not "free some memory".
    let said = refused_before_work(&stylize(&["--max-memory", "1K"]));
    assert!(said.contains("raise --max-memory"), "{said}");
    assert!(!said.contains("free some memory"), "{said}");

    // --size 0, said about --size.
    for args in [
        vec![
            "features",
            "--image",
            s(&content),
            "--layers",
            "relu1_1",
            "--size",
            "0",
            "-o",
            "f.safetensors",
        ],
        vec![
            "visualize",
            "features",
            "--image",
            s(&content),
            "--size",
            "0",
            "-o",
            "v.png",
        ],
    ] {
        let r = picasso(&args);
        let said = text(&r);
        assert_eq!(r.status.code(), Some(1), "{args:?}: {said}");
        assert!(
            said.contains("--size") && !said.contains("resize_long_side"),
            "{args:?}: {said}"
        );
    }
    assert!(!std::path::Path::new("f.safetensors").exists());
}
