//! A job's `settings` JSON → the `stylize` options, parsed by the CLI's own parser so that the
//! names, defaults and checks are the CLI's. Only knobs are accepted: every option that names a
//! file (`output`, `weights`, `gif`, `report`, `style_mask`, an `init` path) is the server's to
//! choose, never the browser's.

use crate::network::NetworkArgs;
use crate::stylize::StylizeArgs;
use clap::{Arg, Args, Command, FromArgMatches};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// How a knob is written: what the page shows and the API accepts.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Integer,
    Number,
    Flag,
    Choice,
    Text,
    /// A list of numbers (`style_blend`), as a JSON array or `0.7,0.3`.
    Numbers,
}

/// One knob of the API: its CLI name, kind and the range the page offers (the CLI itself
/// checks the rest when the plan is made).
struct Knob {
    name: &'static str,
    kind: Kind,
    min: Option<f64>,
    max: Option<f64>,
}

const fn knob(name: &'static str, kind: Kind, min: Option<f64>, max: Option<f64>) -> Knob {
    Knob {
        name,
        kind,
        min,
        max,
    }
}

/// The knobs a job may set, in the CLI's names (`--style-weight` → `style_weight`). The
/// upper bounds keep a forgotten browser tab from queueing a week of work: the memory check
/// refuses sizes that do not fit, but not runs that are merely long.
const KNOBS: &[Knob] = &[
    knob("size", Kind::Integer, Some(16.0), Some(4096.0)),
    knob("iters", Kind::Integer, Some(1.0), Some(10_000.0)),
    knob("style_weight", Kind::Number, Some(0.0), None),
    knob("content_weight", Kind::Number, Some(0.0), None),
    knob("tv_weight", Kind::Number, Some(0.0), None),
    knob("style_scale", Kind::Number, Some(0.05), Some(8.0)),
    knob("style_blend", Kind::Numbers, Some(0.0), None),
    knob("original_colors", Kind::Flag, None, None),
    knob("luminance_only", Kind::Flag, None, None),
    knob("color_transfer", Kind::Choice, None, None),
    knob("optimizer", Kind::Choice, None, None),
    knob("history", Kind::Integer, Some(1.0), Some(1000.0)),
    knob("history_precision", Kind::Choice, None, None),
    knob("precondition", Kind::Choice, None, None),
    knob("line_search", Kind::Choice, None, None),
    knob("lr", Kind::Number, Some(0.0), None),
    knob("unbounded", Kind::Flag, None, None),
    knob("init", Kind::Choice, None, None),
    knob("seed", Kind::Integer, Some(0.0), None),
    knob("content_layers", Kind::Text, None, None),
    knob("style_layers", Kind::Text, None, None),
    knob("multiscale", Kind::Text, None, None),
    knob("single_scale", Kind::Flag, None, None),
    knob("pooling", Kind::Choice, None, None),
    knob("device", Kind::Choice, None, None),
];

/// Settings of the server, not of `stylize`: how long a job may run and how often the page's
/// picture is refreshed.
pub const TIME_LIMIT: &str = "time_limit";
pub const PREVIEW_EVERY: &str = "preview_every";
/// The picture is refreshed this often by default: often enough to watch it form, rarely
/// enough that encoding PNGs costs little next to the evaluations.
pub const DEFAULT_PREVIEW_EVERY: usize = 5;
const MAX_SECONDS: f64 = 7.0 * 24.0 * 3600.0;

/// Options that name files or belong to the server, with the reason they are refused.
const REFUSED: &[(&str, &str)] = &[
    (
        "output",
        "the server chooses where results go (under --out)",
    ),
    ("content", "the photo is the `content` file of the form"),
    ("styles", "the paintings are the `style` files of the form"),
    (
        "weights",
        "the weights are chosen when the server starts (picasso serve --weights)",
    ),
    (
        "gif",
        "names a file; the page shows the optimisation live instead",
    ),
    (
        "report",
        "the server writes the report; GET /api/jobs/{id}/report",
    ),
    (
        "save_every",
        "names files; the page shows the picture every `preview_every` evaluations",
    ),
    (
        "style_mask",
        "masks are files, which this page does not take",
    ),
    (
        "max_memory",
        "the memory limit is the server's (picasso serve --max-memory)",
    ),
    (
        "tf32",
        "set for every job when the server starts (picasso serve --tf32)",
    ),
    ("quiet", "a server job prints nothing"),
];

/// A job's settings, checked: the `stylize` options and the server's own.
pub struct JobSettings {
    pub args: StylizeArgs,
    /// Stop after this many seconds (the run then counts as done).
    pub time_limit: Option<f64>,
    pub preview_every: usize,
}

/// The files a job reads and writes, all named by the server.
pub struct JobFiles<'a> {
    pub content: &'a Path,
    pub styles: &'a [PathBuf],
    pub output: &'a Path,
    pub report: &'a Path,
}

/// Why settings were refused: a message for the page.
#[derive(Debug)]
pub struct SettingsError(pub String);

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn refuse(msg: impl Into<String>) -> SettingsError {
    SettingsError(msg.into())
}

/// The `stylize` command as clap knows it, for parsing and for the page's defaults.
fn stylize_command() -> Command {
    StylizeArgs::augment_args(Command::new("settings").no_binary_name(true))
}

fn flag_of(name: &str) -> String {
    format!("--{}", name.replace('_', "-"))
}

/// Parse `settings` (a JSON object) for a job with `files`; `server` supplies what a job does
/// not choose (weights, memory limit, TF32) and the defaults of `device` and `pooling`.
pub fn parse(
    settings: &str,
    files: &JobFiles,
    server: &NetworkArgs,
) -> Result<JobSettings, SettingsError> {
    let value: Value = if settings.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_str(settings)
            .map_err(|e| refuse(format!("settings: not valid JSON ({e})")))?
    };
    let Value::Object(map) = value else {
        return Err(refuse(
            "settings: expected a JSON object such as {\"size\": 256, \"iters\": 100}",
        ));
    };
    let mut argv: Vec<String> = vec![files.content.display().to_string()];
    argv.extend(files.styles.iter().map(|p| p.display().to_string()));
    argv.push(format!("--output={}", files.output.display()));
    argv.push(format!("--report={}", files.report.display()));
    argv.push("--quiet".into());
    let mut time_limit = None;
    let mut preview_every = DEFAULT_PREVIEW_EVERY;
    for (key, value) in &map {
        if key == TIME_LIMIT {
            time_limit = match value {
                Value::Null => None,
                v => Some(number_in(key, v, 0.1, MAX_SECONDS)?),
            };
            continue;
        }
        if key == PREVIEW_EVERY {
            preview_every = number_in(key, value, 1.0, 1e6)? as usize;
            continue;
        }
        if let Some((_, why)) = REFUSED.iter().find(|(name, _)| name == key) {
            return Err(refuse(format!("settings: `{key}` is not accepted: {why}")));
        }
        let Some(knob) = KNOBS.iter().find(|k| k.name == key) else {
            let names: Vec<&str> = KNOBS.iter().map(|k| k.name).collect();
            return Err(refuse(format!(
                "settings: unknown setting `{key}`; the settings are {}, {TIME_LIMIT} and \
                 {PREVIEW_EVERY}",
                names.join(", ")
            )));
        };
        push_knob(&mut argv, knob, value)?;
    }
    let matches = stylize_command()
        .try_get_matches_from(&argv)
        .map_err(|e| refuse(clap_message(&e)))?;
    let mut args = StylizeArgs::from_arg_matches(&matches).map_err(|e| refuse(clap_message(&e)))?;
    // What only the server decides.
    args.network.weights = server.weights.clone();
    args.network.max_memory = server.max_memory;
    args.network.tf32 = server.tf32;
    if !map.contains_key("device") {
        args.network.device = server.device;
    }
    if !map.contains_key("pooling") {
        args.network.pooling = server.pooling;
    }
    Ok(JobSettings {
        args,
        time_limit,
        preview_every,
    })
}

/// Append the CLI form of one knob to `argv`.
fn push_knob(argv: &mut Vec<String>, knob: &Knob, value: &Value) -> Result<(), SettingsError> {
    let flag = flag_of(knob.name);
    let name = knob.name;
    match (knob.kind, value) {
        (_, Value::Null) => {}
        (Kind::Flag, Value::Bool(true)) => argv.push(flag),
        (Kind::Flag, Value::Bool(false)) => {}
        (Kind::Flag, _) => return Err(refuse(format!("settings: `{name}` is true or false"))),
        (Kind::Integer | Kind::Number, v) => {
            let x = number_in(
                name,
                v,
                knob.min.unwrap_or(f64::MIN),
                knob.max.unwrap_or(f64::MAX),
            )?;
            if knob.kind == Kind::Integer && x.fract() != 0.0 {
                return Err(refuse(format!(
                    "settings: `{name}` is a whole number, got {x}"
                )));
            }
            argv.push(format!("{flag}={}", json_number_text(v)));
        }
        (Kind::Numbers, Value::Array(items)) => {
            let mut parts = Vec::new();
            for item in items {
                number_in(name, item, knob.min.unwrap_or(f64::MIN), f64::MAX)?;
                parts.push(json_number_text(item));
            }
            argv.push(format!("{flag}={}", parts.join(",")));
        }
        (Kind::Numbers | Kind::Text, Value::String(s)) => argv.push(format!("{flag}={s}")),
        // `"multiscale": true` is the bare flag: halve down to 256.
        (Kind::Text, Value::Bool(true)) if name == "multiscale" => argv.push(flag),
        (Kind::Choice, Value::String(s)) => {
            // `--init` also takes a path, which would be a file on the server.
            if name == "init" && !matches!(s.as_str(), "content" | "noise") {
                return Err(refuse(format!(
                    "settings: `init` is `content` or `noise` here, got `{s}` (a path would \
                     name a file on the server)"
                )));
            }
            argv.push(format!("{flag}={s}"));
        }
        (_, other) => {
            return Err(refuse(format!(
                "settings: `{name}` has the wrong type ({other}); see GET /api/options"
            )))
        }
    }
    Ok(())
}

/// `value` as a number within `[min, max]`, or a message naming the setting.
fn number_in(name: &str, value: &Value, min: f64, max: f64) -> Result<f64, SettingsError> {
    let x = match value {
        Value::Number(n) => n.as_f64(),
        // Form fields arrive as text; accept numbers written as strings.
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|x| x.is_finite())
    .ok_or_else(|| refuse(format!("settings: `{name}` must be a number, got {value}")))?;
    if x < min || x > max {
        let range = match (min > f64::MIN, max < f64::MAX) {
            (true, true) => format!("from {min} to {max}"),
            (true, false) => format!("at least {min}"),
            _ => format!("at most {max}"),
        };
        return Err(refuse(format!(
            "settings: `{name}` must be {range}, got {x}"
        )));
    }
    Ok(x)
}

fn json_number_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.trim().to_string(),
        other => other.to_string(),
    }
}

/// clap's error, first line only, without "error: " and with the settings' own names.
fn clap_message(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid settings")
        .trim_start_matches("error: ");
    format!("settings: {line}")
}

/// What the page needs to draw the form: every knob with the CLI's default, help, choices
/// and range, plus the server's own settings.
pub fn describe(server: &NetworkArgs) -> Value {
    let command = stylize_command();
    let arg = |name: &str| -> Option<&Arg> { command.get_arguments().find(|a| a.get_id() == name) };
    let mut knobs = Vec::new();
    for knob in KNOBS {
        let Some(a) = arg(knob.name) else { continue };
        let default = match knob.name {
            "device" => Some(enum_name(server.device)),
            "pooling" => Some(enum_name(server.pooling)),
            _ => a
                .get_default_values()
                .first()
                .map(|v| v.to_string_lossy().into_owned()),
        };
        let mut choices: Vec<String> = a
            .get_possible_values()
            .iter()
            .map(|v| v.get_name().to_string())
            .collect();
        if knob.name == "init" {
            choices = vec!["content".into(), "noise".into()];
        }
        let kind = match knob.kind {
            Kind::Integer => "integer",
            Kind::Number => "number",
            Kind::Flag => "flag",
            Kind::Choice => "choice",
            Kind::Text => "text",
            Kind::Numbers => "numbers",
        };
        knobs.push(json!({
            "name": knob.name,
            "flag": flag_of(knob.name),
            "kind": kind,
            "default": default,
            "help": a.get_help().map(|h| h.to_string()).unwrap_or_default(),
            "choices": choices,
            "min": knob.min,
            "max": knob.max,
        }));
    }
    knobs.push(json!({
        "name": TIME_LIMIT, "flag": null, "kind": "number", "default": null, "min": 0.1,
        "max": MAX_SECONDS, "choices": [],
        "help": "Stop after this many seconds and keep the picture (no limit when empty).",
    }));
    knobs.push(json!({
        "name": PREVIEW_EVERY, "flag": null, "kind": "integer",
        "default": DEFAULT_PREVIEW_EVERY.to_string(), "min": 1, "max": null, "choices": [],
        "help": "Refresh the picture on the page every this many evaluations.",
    }));
    Value::Array(knobs)
}

/// The name clap gives an enum value (`DeviceArg::Auto` → `auto`).
fn enum_name<T: clap::ValueEnum>(value: T) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Server {
        #[command(flatten)]
        network: NetworkArgs,
    }

    fn server() -> NetworkArgs {
        Server::parse_from(["serve", "--device", "cpu"]).network
    }

    fn parse_str(settings: &str) -> Result<JobSettings, SettingsError> {
        let styles = [PathBuf::from("/job/style-1.jpg")];
        let files = JobFiles {
            content: Path::new("/job/content.png"),
            styles: &styles,
            output: Path::new("/job/result.png"),
            report: Path::new("/job/report.json"),
        };
        parse(settings, &files, &server())
    }

    #[test]
    fn the_cli_defaults_apply_and_settings_override_them() {
        let s = parse_str("{}").unwrap();
        assert_eq!(
            (s.args.size, s.args.iters, s.args.style_weight),
            (512, crate::stylize::args::DEFAULT_ITERS, 1000.0)
        );
        assert_eq!(s.args.network.device, crate::network::DeviceArg::Cpu);
        let s = parse_str(r#"{"size": 64, "iters": 5, "style_weight": "10", "original_colors": true, "device": "auto", "time_limit": 3}"#).unwrap();
        assert_eq!(
            (s.args.size, s.args.iters, s.args.style_weight),
            (64, 5, 10.0)
        );
        assert!(s.args.original_colors);
        assert_eq!(s.args.network.device, crate::network::DeviceArg::Auto);
        assert_eq!(s.time_limit, Some(3.0));
        assert_eq!(s.args.output, PathBuf::from("/job/result.png"));
    }

    #[test]
    fn files_never_come_from_the_settings() {
        for bad in [
            r#"{"output": "/etc/passwd"}"#,
            r#"{"weights": "/tmp/w.safetensors"}"#,
            r#"{"init": "/etc/passwd"}"#,
            r#"{"style_mask": ["1=/tmp/m.png"]}"#,
            r#"{"gif": "x.gif"}"#,
        ] {
            let e = parse_str(bad).err().expect(bad).0;
            assert!(
                e.contains("not accepted") || e.contains("a path"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn bad_values_are_refused_with_the_setting_named() {
        for (bad, says) in [
            (r#"{"size": "big"}"#, "`size` must be a number"),
            (r#"{"size": 100000}"#, "`size` must be from 16 to 4096"),
            (r#"{"iters": 2.5}"#, "whole number"),
            (r#"{"style_weight": -1}"#, "at least 0"),
            (r#"{"optimizer": "sgd"}"#, "sgd"),
            (r#"{"colour": 1}"#, "unknown setting `colour`"),
            (r#"[1, 2]"#, "JSON object"),
            (r#"{"size": 64"#, "not valid JSON"),
            (r#"{"unbounded": "yes"}"#, "true or false"),
        ] {
            let e = parse_str(bad).err().expect(bad).0;
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn the_page_gets_the_cli_defaults() {
        let knobs = describe(&server());
        let find = |n: &str| {
            knobs
                .as_array()
                .unwrap()
                .iter()
                .find(|k| k["name"] == n)
                .unwrap()
                .clone()
        };
        assert_eq!(find("size")["default"], "512");
        assert_eq!(find("style_weight")["default"], "1000");
        assert_eq!(find("device")["default"], "cpu");
        assert_eq!(
            find("color_transfer")["choices"],
            json!(["none", "histogram", "mean-cov"])
        );
    }
}
