//! The built book as a reader's browser shows it: every page opened in headless Chromium,
//! offline, by `tests/browser/check-book.mjs` (formulas rendered, images loaded, nothing cut
//! off at 1280 px or at a phone's width, internal links resolve, no console error).
//!
//! Needs Node.js, Chromium and `npm ci --prefix tests/browser` (playwright-core). Without them
//! the tests skip with a message, unless `PICASSO_BROWSER_TEST=required` (set by `.ci/run`),
//! which turns the skip into a failure. `PICASSO_CHROMIUM` names the browser;
//! `PICASSO_BOOK_HTML=DIR` keeps the built book there for a look.

use integration_tests::browser::{self, Browser};
use integration_tests::{book_dir, build_book, copy_dir, repository_dir, TempDir};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Node, Chromium and playwright-core, or `None` after saying what is missing (a panic when
/// the browser test is required).
fn browser() -> Option<Browser> {
    browser::find()
        .map_err(|missing| browser::skip("the browser test of the book", &missing))
        .ok()
}

/// Run the page checker on a built book: (success, everything it printed).
fn check(browser: &Browser, html_dir: &Path) -> (bool, String) {
    let script = repository_dir().join("tests/browser/check-book.mjs");
    let run = Command::new(&browser.node)
        .arg(&script)
        .arg("--book")
        .arg(html_dir)
        .arg("--chromium")
        .arg(&browser.chromium)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", browser.node.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        matches!(run.status.code(), Some(0 | 1)),
        "the browser check could not run ({}):\n{text}",
        run.status
    );
    (run.status.success(), text)
}

#[test]
fn every_page_of_the_book_reads_well_in_a_browser() {
    let Some(browser) = browser() else { return };
    let temporary = TempDir::new("book-browser");
    let html_dir = std::env::var_os("PICASSO_BOOK_HTML")
        .map(PathBuf::from)
        .unwrap_or_else(|| temporary.0.clone());
    build_book(&book_dir(), &html_dir);
    let (passed, report) = check(&browser, &html_dir);
    println!("{report}");
    assert!(
        passed,
        "what a reader would see go wrong in the built book:\n{report}"
    );
}

/// The checker must catch each kind of mistake it is there for: a book with one of each
/// planted in it has to fail, naming every one.
#[test]
fn the_browser_check_catches_planted_mistakes() {
    let Some(browser) = browser() else { return };
    let planted = TempDir::new("book-planted");
    let root = planted.0.join("book");
    fs::create_dir_all(root.join("src")).unwrap();
    fs::copy(book_dir().join("book.toml"), root.join("book.toml")).unwrap();
    copy_dir(&book_dir().join("theme"), &root.join("theme")).unwrap();
    copy_dir(&book_dir().join("src/vendor"), &root.join("src/vendor")).unwrap();
    fs::write(
        root.join("src/SUMMARY.md"),
        "# Summary\n\n- [Planted](planted.md)\n- [Fine](fine.md)\n",
    )
    .unwrap();
    fs::write(
        root.join("src/fine.md"),
        "# Fine\n\nA formula that renders: \\\\( a^2 + b^2 = c^2 \\\\).\n",
    )
    .unwrap();
    fs::write(
        root.join("src/planted.md"),
        r#"# Planted mistakes

A formula whose closing delimiter is wrong: \\( x^2 + 1 \\] stays raw.

A formula in dollars, which the book does not render: $$ \frac{1}{2} $$

A formula with single backslashes, which Markdown eats: \(x^2 + y_{1}\).

A formula KaTeX cannot parse: \\( \notacommand{x} \\)

![a picture that is not there](images/missing.png)

A [link to no page](nowhere.md) and a [link to no heading](fine.md#no-such-heading).

<div style="width: 2000px; background: #eee">a block wider than any screen</div>

| a table too wide for a desktop screen |
| --- |
| `a_very_long_identifier_that_cannot_be_broken_anywhere_in_this_table_cell_so_the_table_must_scroll_sideways_to_be_read` |

```text
a listing line far wider than the column at 1280 px, so that its comment would hide behind a scroll bar ......................
```

<img src="https://example.com/remote.png" alt="from the network">

<img src="images/wide.png" alt="a plot far wider than the page">

<script>console.error("planted console error")</script>
"#,
    )
    .unwrap();
    // A plot drawn four times wider than the page shows it.
    let wide = image::RgbImage::from_pixel(3000, 100, image::Rgb([200, 100, 50]));
    fs::create_dir_all(root.join("src/images")).unwrap();
    wide.save(root.join("src/images/wide.png")).unwrap();
    let html_dir = planted.0.join("html");
    build_book(&root, &html_dir);
    let (passed, report) = check(&browser, &html_dir);
    assert!(!passed, "the planted mistakes went unnoticed:\n{report}");
    for expected in [
        "raw TeX is visible: \"\\( x^2 + 1 \\] stays raw.",
        "the book does not render: $$ \\frac{1}{2} $$",
        "which Markdown eats: (x^2 + y_{1}).",
        "raw TeX is visible: \"\\( \\notacommand{x} \\)",
        "console error: KaTeX auto-render: Failed to parse",
        "image did not load: images/missing.png",
        "HTTP 404 for /images/missing.png",
        "link to /nowhere.html leads nowhere",
        "link to fine.html#no-such-heading: that page has no element with id",
        "a block wider than any screen\" sticks out of the text column",
        "needs sideways scrolling at 1280 px",
        "code block is wider than the text column: <code",
        "requests something outside the book (needs a network): https://example.com/remote.png",
        "console error: planted console error",
        "image is shown at 28 % of its 3000 px width, its text too small to read",
    ] {
        assert!(
            report.contains(expected),
            "the check did not report {expected:?}:\n{report}"
        );
    }
    // The fine page has nothing wrong with it at either width.
    assert!(
        !report.contains("fine.html @"),
        "a correct page was reported:\n{report}"
    );
}
