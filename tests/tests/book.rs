//! The book must build, and every listing and picture it shows must exist.
//!
//! mdBook is forgiving in ways that hide rot: an `{{#include file:anchor}}` whose file or anchor
//! is gone renders as an empty code block without any error, and a missing image is just a
//! broken link in the browser. So besides building the book with the mdBook library, this test
//! scans the Markdown itself and fails, naming the chapter and line, on
//! - an include whose file is missing,
//! - an include whose anchor is missing, unterminated, or encloses nothing,
//! - an include whose line range lies outside the file,
//! - an image (Markdown `![..](..)` or HTML `<img src="..">`) whose file is missing or empty,
//! - a chapter listed in SUMMARY.md that does not exist.

use integration_tests::{book_dir, build_book, TempDir};
use std::fs;
use std::path::Path;

/// Reading the book's Markdown the way mdBook's `links` preprocessor does, to report what it
/// would silently render as nothing.
mod scan {
    use std::fs;
    use std::path::{Path, PathBuf};

    /// Every `.md` file under `dir`, sorted so reports are stable.
    pub fn markdown_files(dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(folder) = pending.pop() {
            let Ok(entries) = fs::read_dir(&folder) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == "md") {
                    found.push(path);
                }
            }
        }
        found.sort();
        found
    }

    /// One `{{#include path[:selector]}}` (or `rustdoc_include`) found in a chapter.
    #[derive(Debug, PartialEq)]
    pub struct Include {
        pub line: usize,
        pub path: String,
        pub selector: Option<String>,
    }

    /// The includes in `text`. A backslash before `{{` escapes it, as in mdBook.
    pub fn includes(text: &str) -> Vec<Include> {
        let mut found = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(start) = rest.find("{{#") {
                let escaped = rest[..start].ends_with('\\');
                let after = &rest[start + 3..];
                let Some(end) = after.find("}}") else { break };
                let body = after[..end].trim();
                rest = &after[end + 2..];
                if escaped {
                    continue;
                }
                let argument = body
                    .strip_prefix("include")
                    .or_else(|| body.strip_prefix("rustdoc_include"));
                let Some(argument) = argument.map(str::trim) else {
                    continue;
                };
                let (path, selector) = match argument.split_once(':') {
                    Some((path, selector)) => (path, Some(selector.trim().to_string())),
                    None => (argument, None),
                };
                found.push(Include {
                    line: index + 1,
                    path: path.trim().to_string(),
                    selector,
                });
            }
        }
        found
    }

    /// Why the lines selected by `selector` from `source` would render as nothing (or fail).
    pub fn selection_problem(source: &str, selector: &str) -> Option<String> {
        if selector.is_empty() {
            return None;
        }
        if selector
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == ':')
        {
            return range_problem(source, selector);
        }
        anchor_problem(source, selector)
    }

    /// `N`, `N:`, `:M` or `N:M` (1-based, inclusive) must select at least one existing line.
    fn range_problem(source: &str, range: &str) -> Option<String> {
        let lines = source.lines().count();
        let parse = |s: &str| s.trim().parse::<usize>().ok();
        let (start, end) = match range.split_once(':') {
            Some((a, b)) => (
                if a.is_empty() { Some(1) } else { parse(a) },
                if b.is_empty() { Some(lines) } else { parse(b) },
            ),
            None => (parse(range), parse(range)),
        };
        match (start, end) {
            (Some(start), Some(end)) if start >= 1 && start <= end && start <= lines => None,
            _ => Some(format!(
                "line range `{range}` selects nothing from a {lines}-line file"
            )),
        }
    }

    /// The anchor must open, close after it, and enclose at least one non-blank line.
    fn anchor_problem(source: &str, anchor: &str) -> Option<String> {
        let opens = |l: &str| marker_name(l, "ANCHOR:") == Some(anchor);
        let closes = |l: &str| marker_name(l, "ANCHOR_END:") == Some(anchor);
        let lines: Vec<&str> = source.lines().collect();
        let Some(start) = lines.iter().position(|l| opens(l)) else {
            return Some(format!("anchor `{anchor}` does not exist"));
        };
        let Some(length) = lines[start + 1..].iter().position(|l| closes(l)) else {
            return Some(format!("anchor `{anchor}` has no ANCHOR_END"));
        };
        let has_content = lines[start + 1..start + 1 + length]
            .iter()
            .any(|l| !l.trim().is_empty() && !l.contains("ANCHOR:") && !l.contains("ANCHOR_END:"));
        if has_content {
            None
        } else {
            Some(format!("anchor `{anchor}` encloses nothing"))
        }
    }

    /// The name after `marker` on a line (`// ANCHOR: name` → `name`), if the marker is there.
    fn marker_name<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
        let at = line.find(marker)?;
        let name = line[at + marker.len()..].trim_start();
        let end = name
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(name.len());
        Some(&name[..end])
    }

    /// Image references: `![alt](path "title")` and `<img src="path">`, with their line.
    pub fn images(text: &str) -> Vec<(usize, String)> {
        let mut found = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(start) = rest.find("![") {
                rest = &rest[start + 2..];
                let Some(close) = rest.find("](") else { break };
                let target = &rest[close + 2..];
                let Some(end) = target.find(')') else { break };
                let path = target[..end].split_whitespace().next().unwrap_or("");
                found.push((index + 1, path.to_string()));
                rest = &target[end..];
            }
            let mut rest = line;
            while let Some(start) = rest.find("<img") {
                rest = &rest[start + 4..];
                let Some(src) = rest.find("src=\"") else {
                    break;
                };
                let value = &rest[src + 5..];
                let Some(end) = value.find('"') else { break };
                found.push((index + 1, value[..end].to_string()));
                rest = &value[end..];
            }
        }
        found
    }

    /// The chapter files SUMMARY.md links to (`[title](file.md)`), draft chapters excluded.
    pub fn summary_chapters(summary: &str) -> Vec<String> {
        let mut found = Vec::new();
        for line in summary.lines() {
            if let Some(open) = line.find("](") {
                let target = &line[open + 2..];
                if let Some(end) = target.find(')') {
                    let path = target[..end].trim();
                    if !path.is_empty() {
                        found.push(path.to_string());
                    }
                }
            }
        }
        found
    }

    /// TeX commands that Markdown would eat inside `\\( .. \\)` and `\\[ .. \\]`: a single
    /// backslash before `,` `;` `:` `!` `{` `}` or `|` is a Markdown escape, so `\,` reaches
    /// MathJax as a bare `,`. They must be written with two backslashes (`\\,`).
    pub fn eaten_tex(text: &str) -> Vec<(usize, String)> {
        let mut found = Vec::new();
        for (open, close) in [("\\\\(", "\\\\)"), ("\\\\[", "\\\\]")] {
            let mut offset = 0;
            while let Some(start) = text[offset..].find(open) {
                let body_start = offset + start + open.len();
                let Some(length) = text[body_start..].find(close) else {
                    break;
                };
                let body = &text[body_start..body_start + length];
                let bytes = body.as_bytes();
                for i in 0..bytes.len().saturating_sub(1) {
                    let single = bytes[i] == b'\\' && (i == 0 || bytes[i - 1] != b'\\');
                    if single && b",;:!{}|".contains(&bytes[i + 1]) {
                        let line = text[..body_start + i].lines().count().max(1);
                        let command = format!("\\{}", bytes[i + 1] as char);
                        found.push((line, command));
                    }
                }
                offset = body_start + length + close.len();
            }
        }
        found
    }

    /// Fenced blocks: `(line of the opening fence, info string, lines inside)`. A fence may be
    /// indented (a block inside a list item).
    pub fn fenced_blocks(text: &str) -> Vec<(usize, String, Vec<String>)> {
        let mut blocks = Vec::new();
        let mut open: Option<(usize, String, Vec<String>)> = None;
        for (index, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            if let Some(info) = trimmed.strip_prefix("```") {
                match open.take() {
                    Some(block) => blocks.push(block),
                    None => open = Some((index + 1, info.trim().to_string(), Vec::new())),
                }
            } else if let Some((_, _, lines)) = open.as_mut() {
                lines.push(trimmed.to_string());
            }
        }
        blocks
    }

    /// Blocks of program output typed into the page instead of included from a transcript
    /// (`outputs/NAME.txt`, which the `book_outputs` test compares with a fresh run), and
    /// blocks that do not start with the command that made them.
    pub fn pasted_output(text: &str) -> Vec<(usize, String)> {
        let mut found = Vec::new();
        for (line, info, lines) in fenced_blocks(text) {
            let content: Vec<&String> = lines.iter().filter(|l| !l.trim().is_empty()).collect();
            match info.as_str() {
                "text" => {
                    let from_transcript = |l: &&String| {
                        l.starts_with("{{#include outputs/") && l.trim_end().ends_with("}}")
                    };
                    if let Some(pasted) = content.iter().find(|l| !from_transcript(l)) {
                        found.push((line, format!("typed, not included: `{pasted}`")));
                    } else if !content
                        .first()
                        .is_some_and(|l| l.contains(".txt:command}}"))
                    {
                        found.push((line, "does not start with its command".to_string()));
                    }
                }
                "console" => {
                    if let Some(output) = content.iter().find(|l| !l.starts_with("$ ")) {
                        found.push((line, format!("a console block shows output: `{output}`")));
                    }
                }
                _ => {}
            }
        }
        found
    }

    /// Listings of source files (`{{#include ../../PATH:…}}` in a fence) that are not
    /// preceded by their caption: a `listing-caption` line naming PATH and linking to its entry
    /// in the code map. Returns `(line, path, problem)`.
    pub fn uncaptioned_listings(text: &str) -> Vec<(usize, String)> {
        let lines: Vec<&str> = text.lines().collect();
        let mut found = Vec::new();
        for (line, _, body) in fenced_blocks(text) {
            let Some(first) = body.first() else { continue };
            let Some(path) = first
                .strip_prefix("{{#include ../../")
                .and_then(|rest| rest.split([':', '}']).next())
            else {
                continue;
            };
            let caption = lines[..line - 1]
                .iter()
                .rev()
                .map(|l| l.trim())
                .find(|l| !l.is_empty())
                .unwrap_or("");
            let link = format!("code-map.html#{}", code_map_id(path));
            if !(caption.contains("listing-caption") && caption.contains(path)) {
                found.push((
                    line,
                    format!("listing of `{path}` has no caption naming it"),
                ));
            } else if !caption.contains(&link) {
                found.push((
                    line,
                    format!("the caption of `{path}` must link to `{link}`"),
                ));
            }
        }
        found
    }

    /// The code map's id for a file: its path with `/`, `.` and `_` as `-`.
    pub fn code_map_id(path: &str) -> String {
        path.replace(['/', '.', '_'], "-")
    }

    /// Exercises ("What to try next": numbered items) without a folded hint and answer, and
    /// a chapter without "What you now know". Returns `(line, problem)`.
    pub fn exercise_problems(text: &str) -> Vec<(usize, String)> {
        let mut found = Vec::new();
        let lines: Vec<&str> = text.lines().collect();
        let Some(start) = lines
            .iter()
            .position(|l| l.starts_with("## What to try next"))
        else {
            return found;
        };
        let end = lines[start + 1..]
            .iter()
            .position(|l| l.starts_with("## "))
            .map_or(lines.len(), |at| start + 1 + at);
        let is_item = |l: &str| {
            let digits = l.chars().take_while(char::is_ascii_digit).count();
            digits > 0 && l[digits..].starts_with(". ")
        };
        let items: Vec<usize> = (start..end).filter(|&i| is_item(lines[i])).collect();
        for (n, &item) in items.iter().enumerate() {
            let stop = items.get(n + 1).copied().unwrap_or(end);
            let body = lines[item..stop].join("\n");
            for part in ["Hint", "Answer"] {
                if !body.contains(&format!("<summary>{part}</summary>")) {
                    found.push((item + 1, format!("exercise without a folded {part}")));
                }
            }
        }
        if !lines.iter().any(|l| l.starts_with("## What you now know")) {
            found.push((
                start + 1,
                "exercises but no \"What you now know\" section".into(),
            ));
        }
        found
    }

    /// Every problem in the book rooted at `src`, one readable line each.
    pub fn problems(src: &Path) -> Vec<String> {
        let mut problems = Vec::new();
        match fs::read_to_string(src.join("SUMMARY.md")) {
            Ok(summary) => {
                for chapter in summary_chapters(&summary) {
                    if !src.join(&chapter).is_file() {
                        problems.push(format!(
                            "SUMMARY.md lists `{chapter}`, which does not exist"
                        ));
                    }
                }
            }
            Err(e) => problems.push(format!("cannot read SUMMARY.md: {e}")),
        }
        for page in markdown_files(src) {
            let name = page
                .strip_prefix(src)
                .unwrap_or(&page)
                .display()
                .to_string();
            let Ok(text) = fs::read_to_string(&page) else {
                problems.push(format!("{name}: cannot be read as UTF-8 text"));
                continue;
            };
            let folder = page.parent().unwrap_or(src);
            for include in includes(&text) {
                let target = folder.join(&include.path);
                let at = format!("{name}:{}: include `{}`", include.line, include.path);
                match fs::read_to_string(&target) {
                    Err(_) => problems.push(format!("{at}: file not found")),
                    Ok(source) => {
                        if let Some(why) = include
                            .selector
                            .as_deref()
                            .and_then(|s| selection_problem(&source, s))
                        {
                            problems.push(format!("{at}: {why}"));
                        }
                    }
                }
            }
            for (line, why) in pasted_output(&text) {
                problems.push(format!("{name}:{line}: program output {why}"));
            }
            for (line, why) in uncaptioned_listings(&text) {
                problems.push(format!("{name}:{line}: {why}"));
            }
            for (line, why) in exercise_problems(&text) {
                problems.push(format!("{name}:{line}: {why}"));
            }
            for (line, command) in eaten_tex(&text) {
                problems.push(format!(
                    "{name}:{line}: `{command}` in a formula must be written `\\{command}`"
                ));
            }
            for (line, image) in images(&text) {
                if image.starts_with("http://") || image.starts_with("https://") {
                    continue;
                }
                let target = folder.join(&image);
                let size = fs::metadata(&target).map(|m| m.len()).unwrap_or(0);
                if size == 0 {
                    problems.push(format!(
                        "{name}:{line}: image `{image}` is missing or empty"
                    ));
                }
            }
        }
        problems
    }
}

#[test]
fn every_include_anchor_and_image_in_the_book_exists() {
    let src = book_dir().join("src");
    assert!(src.is_dir(), "no book sources at {}", src.display());
    let problems = scan::problems(&src);
    assert!(
        problems.is_empty(),
        "the book refers to things that are not there:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_book_builds_with_mdbook() {
    let output = TempDir::new("book-build");
    let book = build_book(&book_dir(), &output.0);
    assert!(
        !book.config.build.create_missing,
        "book.toml must set `create-missing = false`, or a misspelt chapter becomes an empty page"
    );
    for page in [
        "index.html",
        "ch01-neurons-and-layers.html",
        "images/ch01/neuron_response.png",
        "vendor/katex/katex.min.js",
        "vendor/katex/katex.min.css",
        "vendor/katex/contrib/auto-render.min.js",
        "vendor/katex/fonts/KaTeX_Main-Regular.woff2",
    ] {
        assert!(
            output.0.join(page).is_file(),
            "the build did not produce {page}"
        );
    }
    let chapter = fs::read_to_string(output.0.join("ch01-neurons-and-layers.html")).unwrap();
    assert!(
        chapter.contains("fn one_neuron"),
        "the included listing is missing from the rendered chapter"
    );
    // KaTeX needs `\(` and `\[` in the HTML; Markdown turns the `\\(` in the sources into
    // them. A single backslash would be eaten, and the formula shown as plain text.
    assert!(
        chapter.contains("\\(") && chapter.contains("\\["),
        "the maths delimiters did not survive Markdown"
    );
    let mangled = mangled_maths(&output.0);
    assert!(
        mangled.is_empty(),
        "Markdown turned parts of these formulas into emphasis (in the sources, write `\\_` for \
         a `_` after a bracket and avoid `*`):\n  {}",
        mangled.join("\n  ")
    );
    // Every page must load the KaTeX that ships with the book, and nothing from a CDN.
    let index = fs::read_to_string(output.0.join("index.html")).unwrap();
    assert!(
        index.contains("vendor/katex/katex.min.js") && index.contains("renderMathInElement"),
        "theme/head.hbs must load the bundled KaTeX and render the page's maths"
    );
    assert!(
        !index.contains("MathJax") && !index.contains("cdnjs"),
        "the book must not load MathJax from a CDN (book.toml: `mathjax-support = false`)"
    );
}

/// Listings are included from compiled code; mdBook must not compile them a second time, and
/// its hidden `fn main` wrapper (added to plain `rust` blocks) must not reach the search index.
#[test]
fn mdbook_test_passes_and_the_search_index_has_no_hidden_wrapper() {
    let output = TempDir::new("book-test");
    let mut book = build_book(&book_dir(), &output.0);
    // `mdbook test`: rustdoc runs every Rust block of every chapter that is not `ignore`.
    book.test(Vec::new())
        .expect("`mdbook test` fails: see rustdoc's report above (fence included listings as `rust,ignore`)");
    let index = fs::read_to_string(search_index(&output.0)).unwrap();
    for wrapper in ["#![allow(unused)]", "fn main() {"] {
        assert!(
            !index.contains(wrapper),
            "the search index contains mdBook's hidden wrapper `{wrapper}`: fence Rust listings \
             as `rust,ignore`"
        );
    }
    let plain_rust: Vec<String> = scan::markdown_files(&book_dir().join("src"))
        .into_iter()
        .flat_map(|page| {
            let text = fs::read_to_string(&page).unwrap_or_default();
            let name = page.file_name().unwrap().to_string_lossy().into_owned();
            text.lines()
                .enumerate()
                .filter(|(_, line)| line.trim_end() == "```rust")
                .map(|(i, _)| format!("{name}:{}", i + 1))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        plain_rust.is_empty(),
        "listings fenced as plain `rust` (mdBook would compile and wrap them): {plain_rust:?}"
    );
}

/// The search index of a built book (mdBook names it `searchindex-HASH.js`).
fn search_index(html_dir: &Path) -> std::path::PathBuf {
    fs::read_dir(html_dir)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .find(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("searchindex") && name.ends_with(".js")
        })
        .unwrap_or_else(|| panic!("no searchindex*.js in {}", html_dir.display()))
}

/// Formulas in the rendered pages that contain `<em>` or `<strong>`: a sign that Markdown
/// read a `_` or `*` inside the maths as emphasis before MathJax could see it.
fn mangled_maths(html_dir: &Path) -> Vec<String> {
    let mut mangled = Vec::new();
    for entry in fs::read_dir(html_dir).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "html") {
            continue;
        }
        let html = fs::read_to_string(&path).unwrap_or_default();
        for (open, close) in [("\\(", "\\)"), ("\\[", "\\]")] {
            let mut rest = html.as_str();
            while let Some(start) = rest.find(open) {
                let formula = &rest[start + 2..];
                let Some(end) = formula.find(close) else {
                    break;
                };
                let body = &formula[..end];
                if body.contains("<em>") || body.contains("<strong>") {
                    let name = path.file_name().unwrap().to_string_lossy();
                    let words: Vec<&str> = body.split_whitespace().collect();
                    let excerpt: String = words.join(" ").chars().take(100).collect();
                    mangled.push(format!("{name}: {excerpt}"));
                }
                rest = &formula[end..];
            }
        }
    }
    mangled
}

#[test]
fn the_scanner_catches_what_mdbook_would_render_as_nothing() {
    let book = TempDir::new("book-scan");
    let src = book.0.join("src");
    fs::create_dir_all(src.join("images")).unwrap();
    fs::write(
        book.0.join("code.rs"),
        "// ANCHOR: good\nfn good() {}\n// ANCHOR_END: good\n// ANCHOR: empty\n\n// ANCHOR_END: empty\n// ANCHOR: open\n",
    )
    .unwrap();
    fs::write(src.join("images/real.png"), [1u8]).unwrap();
    fs::write(
        src.join("SUMMARY.md"),
        "[Intro](intro.md)\n- [Gone](gone.md)\n",
    )
    .unwrap();
    fs::write(
        src.join("intro.md"),
        "{{#include ../code.rs:good}}\n\
         {{#include ../code.rs:missing}}\n\
         {{#include ../code.rs:empty}}\n\
         {{#include ../code.rs:open}}\n\
         {{#include ../nowhere.rs}}\n\
         {{#include ../code.rs:2:3}}\n\
         {{#include ../code.rs:40:50}}\n\
         \\{{#include ../escaped.rs}}\n\
         ![fine](images/real.png) ![broken](images/none.png \"title\")\n\
         <img src=\"images/also-none.png\" alt=\"x\">\n\
         \\\\(a\\,b\\\\,c \\\\) and \\\\[ x \\in \\{0\\} \\\\]\n",
    )
    .unwrap();
    let problems = scan::problems(&src);
    let expect = [
        "`gone.md`, which does not exist",
        "intro.md:2: include `../code.rs`: anchor `missing` does not exist",
        "intro.md:3: include `../code.rs`: anchor `empty` encloses nothing",
        "intro.md:4: include `../code.rs`: anchor `open` has no ANCHOR_END",
        "intro.md:5: include `../nowhere.rs`: file not found",
        "intro.md:7: include `../code.rs`: line range `40:50` selects nothing",
        "intro.md:9: image `images/none.png` is missing or empty",
        "intro.md:10: image `images/also-none.png` is missing or empty",
        "intro.md:11: `\\,` in a formula",
        "intro.md:11: `\\{` in a formula",
        "intro.md:11: `\\}` in a formula",
    ];
    for expected in expect {
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "expected a problem containing {expected:?}; got {problems:#?}"
        );
    }
    assert_eq!(
        problems.len(),
        expect.len(),
        "unexpected extra problems: {problems:#?}"
    );
}

/// The engine's core, which the book promises to teach: each file must be read in some chapter
/// by anchor (a listing of a named part, not a whole file or a line range that rots). Moving
/// or renaming one of them fails here until the book follows.
const CORE_FILES: [&str; 18] = [
    "engine/src/layout.rs",
    "engine/src/tensor.rs",
    "engine/src/storage.rs",
    "engine/src/autograd/mod.rs",
    "engine/src/autograd/unary.rs",
    "engine/src/autograd/binary.rs",
    "engine/src/autograd/broadcast.rs",
    "engine/src/autograd/matmul.rs",
    "engine/src/autograd/reduce.rs",
    "engine/src/autograd/conv.rs",
    "engine/src/autograd/pool.rs",
    "engine/src/gradcheck.rs",
    "engine/src/nn/linear.rs",
    "engine/src/nn/init.rs",
    "engine/src/nn/optim/sgd.rs",
    "engine/src/nn/optim/adam.rs",
    "engine/src/cpu/conv_im2col.rs",
    "engine/src/cpu/pool.rs",
];

/// How many anchored includes of each core file the book's pages hold.
fn core_file_listings(src: &Path) -> Vec<(&'static str, usize)> {
    let pages: Vec<String> = scan::markdown_files(src)
        .iter()
        .filter_map(|page| fs::read_to_string(page).ok())
        .collect();
    CORE_FILES
        .iter()
        .map(|file| {
            let count = pages
                .iter()
                .flat_map(|text| scan::includes(text))
                .filter(|include| {
                    include.path.trim_start_matches("../") == *file
                        && include
                            .selector
                            .as_deref()
                            .is_some_and(|s| s.chars().next().is_some_and(|c| c.is_alphabetic()))
                })
                .count();
            (*file, count)
        })
        .collect()
}

#[test]
fn every_core_file_of_the_engine_is_read_in_a_chapter() {
    let src = book_dir().join("src");
    let listings = core_file_listings(&src);
    for (file, _) in &listings {
        assert!(
            book_dir().join("..").join(file).is_file(),
            "{file} no longer exists: update CORE_FILES and the chapters that read it"
        );
    }
    let unread: Vec<&str> = listings
        .iter()
        .filter(|(_, count)| *count == 0)
        .map(|(file, _)| *file)
        .collect();
    assert!(
        unread.is_empty(),
        "these core files are never shown in the book by anchor \
         ({{{{#include ../../FILE:anchor}}}}): {unread:?}"
    );
}

/// Every caption links to the file's entry in the code map, and the code map has it.
#[test]
fn every_listing_caption_links_to_an_entry_of_the_code_map() {
    let src = book_dir().join("src");
    let map = fs::read_to_string(src.join("code-map.md")).expect("book/src/code-map.md");
    let mut missing = Vec::new();
    for page in scan::markdown_files(&src) {
        let text = fs::read_to_string(&page).unwrap_or_default();
        for include in scan::includes(&text) {
            let Some(path) = include.path.strip_prefix("../../") else {
                continue;
            };
            let id = scan::code_map_id(path);
            if !map.contains(&format!("id=\"{id}\"")) {
                missing.push(format!("{path} (id=\"{id}\")"));
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "the code map has no entry for these listed files:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn the_scanner_catches_pasted_output_uncaptioned_listings_and_unanswered_exercises() {
    let page = "```text\n{{#include outputs/a.txt:command}}\nloss = 0.5\n```\n\n\
        ```text\n{{#include outputs/a.txt:output}}\n```\n\n\
        ```console\n$ cargo run\nhello\n```\n\n\
        <div class=\"listing-caption\"><a href=\"code-map.html#engine-src-x-rs\">engine/src/x.rs</a></div>\n\n\
        ```rust,ignore\n{{#include ../../engine/src/x.rs:a}}\n```\n\n\
        ```rust,ignore\n{{#include ../../engine/src/y.rs:a}}\n```\n\n\
        <div class=\"listing-caption\">engine/src/z.rs</div>\n\n\
        ```rust,ignore\n{{#include ../../engine/src/z.rs:a}}\n```\n\n\
        ## What to try next\n\n\
        1. Do it.\n\n   <details><summary>Hint</summary>\n\n   h\n\n   </details>\n\
        2. Again.\n\n   <details><summary>Hint</summary>\n   </details>\n   \
        <details><summary>Answer</summary>\n   </details>\n";
    let pasted = scan::pasted_output(page);
    assert_eq!(pasted.len(), 3, "{pasted:?}");
    assert!(pasted[0].1.contains("loss = 0.5"), "{pasted:?}");
    assert!(
        pasted[1].1.contains("does not start with its command"),
        "{pasted:?}"
    );
    assert!(pasted[2].1.contains("hello"), "{pasted:?}");
    let uncaptioned = scan::uncaptioned_listings(page);
    assert_eq!(uncaptioned.len(), 2, "{uncaptioned:?}");
    assert!(uncaptioned[0].1.contains("engine/src/y.rs` has no caption"));
    assert!(uncaptioned[1]
        .1
        .contains("must link to `code-map.html#engine-src-z-rs`"));
    let exercises = scan::exercise_problems(page);
    let reasons: Vec<&str> = exercises.iter().map(|(_, why)| why.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "exercise without a folded Answer",
            "exercises but no \"What you now know\" section"
        ]
    );
}

/// Chapter 10's timing tables, and chapter 9's clamping gap, are made from the gallery's JSON
/// reports by `book/scripts/gallery_table.py`, and the chapters include them: a number typed
/// into a chapter, or a table file that no longer matches the reports, fails here.
#[test]
fn the_gallery_tables_of_chapters_9_and_10_are_its_reports() {
    let book = book_dir();
    let chapter = fs::read_to_string(book.join("src/ch10-gallery-and-knobs.md")).unwrap();
    assert!(
        !chapter
            .lines()
            .any(|l| l.starts_with("| picture | sizes | evals |")),
        "chapter 10 has a timing table typed in: include book/src/outputs/gallery_NAME.md"
    );
    let python = std::process::Command::new("python3")
        .arg("--version")
        .output();
    if python.is_err() {
        eprintln!("SKIPPED: python3 is not installed, so the gallery tables cannot be remade");
        return;
    }
    let chapter_9 = fs::read_to_string(book.join("src/ch09-style-implementation.md")).unwrap();
    assert!(
        !chapter_9.contains("| run | loss it reports |"),
        "chapter 9 has its clamping table typed in: include book/src/outputs/gallery_bounds.md"
    );
    let shared = engine::shared_data::shared_dir();
    for name in ["article", "defaults", "knobs", "control", "bounds"] {
        let include = format!("{{{{#include outputs/gallery_{name}.md}}}}");
        let page = if name == "bounds" {
            &chapter_9
        } else {
            &chapter
        };
        assert!(page.contains(&include), "the chapter must show {include}");
        if name == "bounds" && shared.is_none() {
            eprintln!("SKIPPED: the clamping table needs the shared PyTorch reference");
            continue;
        }
        let mut command = std::process::Command::new("python3");
        if let Some(dir) = &shared {
            command.env("PICASSO_SHARED", dir);
        }
        let made = command
            .arg(book.join("scripts/gallery_table.py"))
            .arg(name)
            .output()
            .expect("run gallery_table.py");
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let file = book.join(format!("src/outputs/gallery_{name}.md"));
        let shown = fs::read_to_string(&file).unwrap_or_default();
        assert_eq!(
            shown,
            String::from_utf8_lossy(&made.stdout),
            "{} differs from the reports (run book/scripts/gallery_table.py)",
            file.display()
        );
    }
}

/// The README's main job says how long it took when last measured: the seconds of the book's
/// run of it (`book/scripts/gallery.sh defaults`, whose table the test above holds to its
/// report), and minutes that agree with them.
#[test]
fn the_readmes_main_job_time_is_the_measured_one() {
    let book = book_dir();
    let table = fs::read_to_string(book.join("src/outputs/gallery_defaults.md")).unwrap();
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap()
        .split('|')
        .map(str::trim)
        .collect();
    let column = header.iter().position(|c| *c == "seconds").unwrap();
    let row = table
        .lines()
        .find(|l| l.starts_with("| defaults_tubingen_starry_night |"))
        .expect("the defaults table has the main job's row");
    let measured: f64 = row
        .split('|')
        .map(str::trim)
        .nth(column)
        .unwrap()
        .parse()
        .unwrap();

    let readme = fs::read_to_string(book.join("../README.md")).unwrap();
    let said = |before: &str| -> f64 {
        let at = readme
            .find(before)
            .unwrap_or_else(|| panic!("the README's main job says \"…{before}\""));
        let words: Vec<&str> = readme[..at].split_whitespace().collect();
        let number = words.last().unwrap().trim_start_matches('(');
        number
            .parse()
            .unwrap_or_else(|_| panic!("{number:?} before {before:?}"))
    };
    let seconds = said(" s of optimisation when last measured");
    assert_eq!(
        seconds, measured,
        "the README says {seconds} s, the book's run of the main job took {measured} s \
         (book/src/outputs/gallery_defaults.md)"
    );
    // Loading and saving come on top of the optimisation: up to a minute more.
    let minutes = said(" minutes\n# on two cores");
    assert!(
        minutes * 60.0 >= measured - 30.0 && minutes * 60.0 <= measured + 90.0,
        "the README says about {minutes} minutes for {measured} s of optimisation"
    );
}

/// The time-to-quality tables of chapter 10 and the appendix (the summary, and each curve read
/// at a few moments) are written by `engine/benches/quality_curve.py` from its measurements
/// (`engine/benches/quality_curve.json`): both pages include them, and they are what the script
/// prints from them.
#[test]
fn the_quality_curve_table_is_its_measurements() {
    let book = book_dir();
    let include = "{{#include outputs/bench_quality_curve.md}}";
    for page in ["ch10-gallery-and-knobs.md", "appendix-performance.md"] {
        let text = fs::read_to_string(book.join("src").join(page)).unwrap();
        assert!(text.contains(include), "{page} does not include {include}");
    }
    let root = book.join("..");
    let made = match std::process::Command::new("python3")
        .arg(root.join("engine/benches/quality_curve.py"))
        .arg("--table")
        .arg(root.join("engine/benches/quality_curve.json"))
        .output()
    {
        Ok(made) => made,
        Err(_) => {
            eprintln!("SKIPPED: python3 is not installed, so the quality table cannot be remade");
            return;
        }
    };
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let shown =
        fs::read_to_string(book.join("src/outputs/bench_quality_curve.md")).unwrap_or_default();
    assert_eq!(
        shown,
        String::from_utf8_lossy(&made.stdout),
        "book/src/outputs/bench_quality_curve.md differs from engine/benches/quality_curve.json \
         (run engine/benches/quality_curve.py --table engine/benches/quality_curve.json)"
    );
}

/// Chapter 11's roofline estimate is what `engine/benches/roofline.py` prints from the device
/// ledger the emulator counted (`outputs/ch11_ledger.json`, which `engine/tests/cuda_ledger.rs`
/// checks against its run) at the main job's size, 512 px wide and 384 high: the chapter
/// includes both tables, and the estimate's is the script's output.
#[test]
fn the_roofline_table_is_the_estimate_from_the_ledger() {
    let book = book_dir();
    let text = fs::read_to_string(book.join("src/ch11-running-on-the-gpu.md")).unwrap();
    for include in [
        "{{#include outputs/ch11_ledger.md}}",
        "{{#include outputs/ch11_roofline.md}}",
    ] {
        assert!(
            text.contains(include),
            "ch11-running-on-the-gpu.md does not include {include}"
        );
    }
    let root = book.join("..");
    let made = match std::process::Command::new("python3")
        .arg(root.join("engine/benches/roofline.py"))
        .args(["--height", "384", "--width", "512", "--table", "--ledger"])
        .arg(book.join("src/outputs/ch11_ledger.json"))
        .output()
    {
        Ok(made) => made,
        Err(_) => {
            eprintln!("SKIPPED: python3 is not installed, so the roofline table cannot be remade");
            return;
        }
    };
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let shown = fs::read_to_string(book.join("src/outputs/ch11_roofline.md")).unwrap_or_default();
    assert_eq!(
        shown,
        String::from_utf8_lossy(&made.stdout),
        "book/src/outputs/ch11_roofline.md is not roofline.py's estimate from ch11_ledger.json \
         (PICASSO_BLESS=1 REQUIRE_EMULATOR=1 cargo test --release -p picasso-engine \
         --test cuda_ledger writes both)"
    );
}

/// The code map is written by `book/scripts/code_map.py` from the files' own opening comments
/// and the chapters' includes: a file added, moved or newly read in a chapter makes it stale.
#[test]
fn the_code_map_is_up_to_date() {
    let script = book_dir().join("scripts/code_map.py");
    let Ok(made) = std::process::Command::new("python3")
        .arg(&script)
        .arg("--print")
        .output()
    else {
        eprintln!("SKIPPED: python3 is not installed, so the code map cannot be remade");
        return;
    };
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let shown = fs::read_to_string(book_dir().join("src/code-map.md")).unwrap_or_default();
    assert!(
        shown == String::from_utf8_lossy(&made.stdout),
        "book/src/code-map.md is stale: run `python3 book/scripts/code_map.py`"
    );
}

/// The appendix's comparisons with PyTorch are the latest tables of the benchmark log
/// (`engine/benches/RESULTS.md`), copied by `book/scripts/bench_tables.py` and included: a
/// number typed into the appendix, or a copy that no longer matches the log, fails here.
#[test]
fn the_appendix_quotes_the_benchmark_log() {
    let book = book_dir();
    let appendix = fs::read_to_string(book.join("src/appendix-performance.md")).unwrap();
    for name in [
        "vgg_compare",
        "style_compare",
        "heap",
        "bf16",
        "gram",
        "gram_runs",
        "gram_backward",
        "gram_backward_runs",
        "release_pages",
        "schedules",
        "change_spectrum",
        "winograd_blocks",
        "preconditioner",
        "preconditioner_schedule",
        "precondition_runs",
        "preconditioner_levels",
        "pool_gemm_mask",
        "winograd_tiles",
        "band_weights",
        "bf16_again",
        "bf16_curves",
        "history_bf16_step",
        "history_bf16_runs",
        "history_bf16_quality",
    ] {
        let include = format!("{{{{#include outputs/bench_{name}.md}}}}");
        assert!(
            appendix.contains(&include),
            "the appendix must show {include}"
        );
        let file = book.join(format!("src/outputs/bench_{name}.md"));
        let shown = fs::read_to_string(&file).unwrap_or_default();
        let header = shown.lines().next().unwrap_or("(empty)");
        assert!(
            !appendix.contains(header),
            "the appendix has a typed copy of the table starting {header}"
        );
        let Ok(made) = std::process::Command::new("python3")
            .arg(book.join("scripts/bench_tables.py"))
            .arg(name)
            .output()
        else {
            eprintln!("SKIPPED: python3 is not installed, so the log cannot be read again");
            return;
        };
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        assert_eq!(
            shown,
            String::from_utf8_lossy(&made.stdout),
            "{} differs from engine/benches/RESULTS.md (run book/scripts/bench_tables.py)",
            file.display()
        );
    }
}
