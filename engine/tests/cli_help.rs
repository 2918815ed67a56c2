//! `picasso SUBCOMMAND --help`: every argument and option says what it does. A doc comment
//! that slips onto the wrong field leaves one option without help and gives another two
//! (`--report` lost its help to `--bf16` that way once).

mod cli_common;

use cli_common::{picasso, text};

/// The subcommands `picasso --help` lists (all but `help`).
fn subcommands() -> Vec<String> {
    let out = text(&picasso(&["--help"]));
    out.lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// Argument and option lines of a long help (`  <CONTENT>`, `  -o, --output <OUT>`,
/// `      --size <SIZE>`) whose next line has no text of their own.
fn without_help(help: &str) -> Vec<String> {
    let lines: Vec<&str> = help.lines().collect();
    let is_entry = |line: &str| {
        let indent = line.len() - line.trim_start().len();
        let rest = line.trim_start();
        (2..=6).contains(&indent) && (rest.starts_with('-') || rest.starts_with('<'))
    };
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| is_entry(line))
        .filter(|(i, _)| {
            let next = lines.get(i + 1).map_or("", |l| l.trim());
            next.is_empty() || next.starts_with("Possible values") || next.starts_with("[default")
        })
        .map(|(_, line)| line.trim().to_string())
        .collect()
}

#[test]
fn every_argument_of_every_subcommand_has_help() {
    let commands = subcommands();
    assert!(
        commands.iter().any(|c| c == "stylize"),
        "no subcommands found in picasso --help: {commands:?}"
    );
    for command in &commands {
        let help = text(&picasso(&[command, "--help"]));
        assert!(
            help.contains("Options:"),
            "picasso {command} --help:\n{help}"
        );
        let missing = without_help(&help);
        assert!(
            missing.is_empty(),
            "picasso {command}: no help for {missing:?}"
        );
    }
}

#[test]
fn report_and_bf16_each_describe_themselves() {
    let help = text(&picasso(&["stylize", "--help"]));
    let after = |flag: &str| {
        let start = help.find(flag).unwrap_or_else(|| panic!("{flag} missing"));
        help[start..]
            .lines()
            .nth(1)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    assert!(after("--report <").starts_with("Write a JSON report"));
    assert!(after("--bf16 <").starts_with("bf16 dot products"));
}
