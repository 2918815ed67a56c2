//! Issue 18, item 7: absurd counts (`--iters`, `--steps`) are refused by the memory check,
//! which counts what each evaluation keeps — no abort, no capacity-overflow panic.

mod cli_common;
mod io_common;

use cli_common::{cat_and_udnie, picasso, refused_before_work, s, text};
use io_common::TempDir;

#[test]
fn absurd_counts_are_refused_by_the_memory_check() {
    let Some((content, style)) = cat_and_udnie() else {
        return;
    };
    let dir = TempDir::new("counts");
    let out = dir.join("o.png");
    for iters in ["100000000000", "18446744073709551615"] {
        let r = picasso(&[
            "stylize",
            s(&content),
            s(&style),
            "-o",
            s(&out),
            "--size",
            "48",
            "--iters",
            iters,
            "--gif",
            s(&dir.join("g.gif")),
            "--max-memory",
            "4G",
        ]);
        let said = refused_before_work(&r);
        assert!(
            said.contains("loss history") && said.contains("--iters"),
            "{said}"
        );
    }
    for steps in ["100000000000", "18446744073709551615"] {
        let r = picasso(&[
            "visualize",
            "--max-memory",
            "4G",
            "maximize",
            "--size",
            "32",
            "--steps",
            steps,
            "-o",
            s(&dir.join("m.png")),
        ]);
        let said = text(&r);
        assert_eq!(r.status.code(), Some(1), "{said}");
        assert!(
            said.contains("memory") && said.contains("--steps"),
            "{said}"
        );
    }
    assert!(dir.names().is_empty(), "{:?}", dir.names());
}
