//! The book's blocks of program output are transcripts in `book/src/outputs/*.txt`, and this
//! test keeps them true: it runs each transcript's command again and fails, naming the first
//! line that differs, when the program no longer prints what the book shows.
//!
//! `PICASSO_BLESS=1 cargo test --release -p chapters-examples --test book_outputs` writes the
//! transcripts instead (after a change that is meant to change the output). Measured times and
//! the device line vary from run to run and machine to machine, so the comparison masks them.
//! `PICASSO_TRANSCRIPTS=ch04` limits either mode to the transcripts whose name contains `ch04`.
//!
//! A transcript is the command between `ANCHOR: command` lines, then the output with one
//! anchor per `== Section` line the program printed, and the anchor `output` around it all;
//! chapters include them with `{{#include outputs/NAME.txt:ANCHOR}}` (see book/CONTRIBUTING.md).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

mod transcript {
    /// What a transcript's command runs: a binary of this workspace and its arguments.
    #[derive(Debug, PartialEq)]
    pub struct Invocation {
        pub binary: String,
        pub args: Vec<String>,
    }

    /// The command line a transcript shows, e.g.
    /// `$ cargo run --release -p chapters-examples --bin ch01_neurons -- --quick`.
    pub fn command_line(text: &str) -> Result<String, String> {
        let mut lines = text.lines();
        lines
            .find(|l| l.trim() == "ANCHOR: command")
            .ok_or("no `ANCHOR: command` line")?;
        let line = lines.next().ok_or("nothing after `ANCHOR: command`")?;
        if lines.next().map(str::trim) != Some("ANCHOR_END: command") {
            return Err("the command must be one line followed by `ANCHOR_END: command`".into());
        }
        Ok(line.to_string())
    }

    /// The binary and arguments of a `$ cargo run --release … --bin NAME [-- ARGS]` line.
    pub fn parse(line: &str) -> Result<Invocation, String> {
        let words: Vec<&str> = line
            .strip_prefix("$ cargo run --release")
            .ok_or_else(|| format!("`{line}` does not start with `$ cargo run --release`"))?
            .split_whitespace()
            .collect();
        let (cargo_part, args) = match words.iter().position(|w| *w == "--") {
            Some(at) => (&words[..at], &words[at + 1..]),
            None => (&words[..], &[][..]),
        };
        let binary = cargo_part
            .iter()
            .position(|w| *w == "--bin")
            .and_then(|at| cargo_part.get(at + 1))
            .ok_or_else(|| format!("`{line}` names no `--bin`"))?;
        Ok(Invocation {
            binary: binary.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
        })
    }

    /// `== One neuron (2 inputs)` → `one_neuron`: the title up to its first `:`, `(` or `[`,
    /// so that numbers a title carries can change without breaking the book's includes.
    pub fn anchor_name(title: &str) -> String {
        let mut name = String::new();
        for c in title.chars().take_while(|c| !matches!(c, ':' | '(' | '[')) {
            if c.is_ascii_alphanumeric() {
                name.push(c.to_ascii_lowercase());
            } else if !name.is_empty() && !name.ends_with('_') {
                name.push('_');
            }
        }
        name.trim_end_matches('_').to_string()
    }

    /// The transcript file for `command` and what it printed.
    pub fn render(command: &str, stdout: &str) -> String {
        let mut text = format!("ANCHOR: command\n{command}\nANCHOR_END: command\nANCHOR: output\n");
        let mut open: Option<String> = None;
        for line in stdout.lines() {
            if let Some(title) = line.strip_prefix("== ") {
                if let Some(name) = open.take() {
                    text.push_str(&format!("ANCHOR_END: {name}\n"));
                }
                let name = anchor_name(title);
                text.push_str(&format!("ANCHOR: {name}\n"));
                open = Some(name);
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        if let Some(name) = open {
            text.push_str(&format!("ANCHOR_END: {name}\n"));
        }
        text.push_str("ANCHOR_END: output\n");
        text
    }

    /// `text` with what varies between runs replaced: measured times (`1.23 s`, `45 ms`,
    /// `(0.4 s)`, `2 min`) and the line saying which device ran.
    pub fn masked(text: &str) -> String {
        text.lines()
            .map(|line| {
                if line.trim_start().starts_with("device:") {
                    "device: <varies>".to_string()
                } else {
                    mask_times(line)
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn mask_times(line: &str) -> String {
        const UNITS: [&str; 5] = ["ms", "µs", "min", "s", "h"];
        let chars: Vec<char> = line.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        while i < chars.len() {
            let starts_number = chars[i].is_ascii_digit()
                && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '.'));
            if starts_number {
                let mut end = i;
                while end < chars.len() && (chars[end].is_ascii_digit() || chars[end] == '.') {
                    end += 1;
                }
                let mut unit_at = end;
                if unit_at < chars.len() && chars[unit_at] == ' ' {
                    unit_at += 1;
                }
                let rest: String = chars[unit_at..].iter().collect();
                let unit = UNITS.iter().find(|u| {
                    rest.starts_with(**u)
                        && !rest[u.len()..]
                            .chars()
                            .next()
                            .is_some_and(|c| c.is_alphanumeric())
                });
                if let Some(unit) = unit {
                    out.push_str("<time>");
                    i = unit_at + unit.chars().count();
                    continue;
                }
                out.extend(&chars[i..end]);
                i = end;
                continue;
            }
            out.push(chars[i]);
            i += 1;
        }
        out
    }

    /// The first line where `expected` and `actual` differ, for the failure message.
    pub fn first_difference(expected: &str, actual: &str) -> Option<String> {
        let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
        (0..e.len().max(a.len())).find_map(|i| {
            let (left, right) = (e.get(i).copied(), a.get(i).copied());
            (left != right).then(|| {
                format!(
                    "line {}:\n  the book shows: {}\n  the program printed: {}",
                    i + 1,
                    left.unwrap_or("(nothing)"),
                    right.unwrap_or("(nothing)")
                )
            })
        })
    }
}

use transcript::{first_difference, masked, parse, render};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The workspace's binaries sit next to the `deps/` folder that holds this test.
fn binary_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// Run `args` of `binary` from the repository root with its pictures in a temporary folder
/// standing in for the `--out` folder the command names, and return what it printed, with the
/// temporary folder's name put back.
fn run(binary: &str, args: &[String]) -> Result<String, String> {
    let scratch = std::env::temp_dir().join(format!(
        "picasso-transcript-{binary}-{}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&scratch);
    let mut args = args.to_vec();
    let shown_out = match args.iter().position(|a| a == "--out") {
        Some(at) if at + 1 < args.len() => {
            std::mem::replace(&mut args[at + 1], scratch.display().to_string())
        }
        _ => {
            args.extend(["--out".to_string(), scratch.display().to_string()]);
            format!("out/{}", binary.split('_').next().unwrap_or(binary))
        }
    };
    let path = binary_path(binary);
    let output = Command::new(&path)
        .args(&args)
        .current_dir(repository())
        .output()
        .map_err(|e| format!("cannot start {}: {e}", path.display()))?;
    let _ = fs::remove_dir_all(&scratch);
    // A path the program prints in full is shown from the repository root, as a reader who
    // runs the command there would read it, wherever the clone is.
    let root = format!(
        "{}/",
        repository().canonicalize().unwrap_or_default().display()
    );
    let stdout = String::from_utf8_lossy(&output.stdout)
        .replace(&scratch.display().to_string(), &shown_out)
        .replace(&root, "");
    if !output.status.success() {
        return Err(format!(
            "`{binary} {}` failed ({}):\n{}\n{}",
            args.join(" "),
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(stdout)
}

fn transcripts() -> Vec<PathBuf> {
    let dir = repository().join("book/src/outputs");
    let mut found: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "txt"))
        .collect();
    found.sort();
    found
}

#[test]
fn every_transcript_in_the_book_is_what_its_command_prints() {
    let bless = std::env::var_os("PICASSO_BLESS").is_some();
    // PICASSO_TRANSCRIPTS=ch04 checks (or writes) only the transcripts whose name has `ch04`.
    let only = std::env::var("PICASSO_TRANSCRIPTS").unwrap_or_default();
    let mut problems = Vec::new();
    let files: Vec<PathBuf> = transcripts()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(only.as_str()))
        .collect();
    assert!(!files.is_empty(), "no transcripts in book/src/outputs");
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let book_copy = fs::read_to_string(&path).unwrap_or_default();
        let fresh = transcript::command_line(&book_copy).and_then(|command| {
            let invocation = parse(&command)?;
            let stdout = run(&invocation.binary, &invocation.args)?;
            Ok(render(&command, &stdout))
        });
        match fresh {
            Err(why) => problems.push(format!("{name}: {why}")),
            Ok(fresh) if bless => {
                fs::write(&path, fresh).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            Ok(fresh) => {
                if let Some(difference) = first_difference(&masked(&book_copy), &masked(&fresh)) {
                    problems.push(format!("{name}, {difference}"));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the book's transcripts differ from what the programs print (after a deliberate change, \
         run with PICASSO_BLESS=1 to write them again):\n{}",
        problems.join("\n")
    );
}

#[test]
fn transcripts_are_parsed_rendered_and_masked_as_documented() {
    let invocation =
        parse("$ cargo run --release -p chapters-examples --bin ch01_neurons -- --quick").unwrap();
    assert_eq!(invocation.binary, "ch01_neurons");
    assert_eq!(invocation.args, ["--quick"]);
    assert!(
        parse("$ cargo run -p x --bin y").is_err(),
        "a debug build is refused"
    );
    assert!(
        parse("$ cargo run --release -p x").is_err(),
        "a command without --bin is refused"
    );

    let text = render(
        "$ cmd",
        "intro\n== One neuron (2 inputs)\na = 1  \n== Next: b [1]\nb\n",
    );
    assert_eq!(
        text,
        "ANCHOR: command\n$ cmd\nANCHOR_END: command\nANCHOR: output\nintro\n\
         ANCHOR: one_neuron\n== One neuron (2 inputs)\na = 1\n\
         ANCHOR_END: one_neuron\nANCHOR: next\n== Next: b [1]\nb\nANCHOR_END: next\n\
         ANCHOR_END: output\n"
    );
    assert_eq!(transcript::command_line(&text).unwrap(), "$ cmd");

    assert_eq!(
        masked("epoch 1 took 2.4 s (0.4s), 45 ms; loss 1.5 over 3 steps, 12 min\ndevice: cpu"),
        "epoch 1 took <time> (<time>), <time>; loss 1.5 over 3 steps, <time>\ndevice: <varies>"
    );
    assert_eq!(masked("relu1_1 64 sigmoid 1e-5"), "relu1_1 64 sigmoid 1e-5");
    assert!(first_difference("a\nb", "a\nc").unwrap().contains("line 2"));
    assert!(first_difference("a\nb", "a\nb").is_none());
}
