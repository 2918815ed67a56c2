//! `weights-tools`: inspect, convert, trim and fetch VGG weight files (see the crate docs).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use weights_tools::fetch::{self, FetchOptions};
use weights_tools::io::lock::PathLock;
use weights_tools::{
    io, names, read_path, read_weights_file, say, sha256_hex, tell, to_project, to_safetensors,
    ConvertOptions, Preset, Result, WeightsError,
};

#[derive(Parser)]
#[command(
    name = "weights-tools",
    version,
    about = "Inspect, convert, trim and fetch VGG weight files"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Show a file's format, tensors, metadata and parameter count.
    Inspect { file: PathBuf },
    /// Convert safetensors / .pth / ONNX to the project's safetensors layout.
    Convert {
        input: PathBuf,
        output: PathBuf,
        /// Input convention to record: torchvision (RGB 0..1, mean/std) or caffe (RGB 0..255 minus mean).
        #[arg(long, value_parser = parse_preset)]
        preset: Option<Preset>,
        /// Reverse conv1_1's input channels (weights trained on BGR images).
        #[arg(long)]
        bgr_to_rgb: bool,
        /// Store float16 instead of float32 (half the size).
        #[arg(long)]
        f16: bool,
        /// Convert even if tensors hold NaN or infinite values (picasso still refuses them).
        #[arg(long)]
        allow_non_finite: bool,
    },
    /// Keep the layers up to one (conv4_1, relu4_1, pool4, block4) and/or store f16.
    Trim {
        input: PathBuf,
        output: PathBuf,
        #[arg(long)]
        up_to: Option<String>,
        #[arg(long)]
        f16: bool,
    },
    /// Download torchvision's VGG weights, verify their SHA-256, convert and cache them.
    Fetch {
        /// vgg16 or vgg19
        model: String,
        /// Default: $XDG_CACHE_HOME/picasso-me or ~/.cache/picasso-me.
        #[arg(long)]
        cache_dir: Option<PathBuf>,
        #[arg(long)]
        f16: bool,
        /// Download again even if cached.
        #[arg(long)]
        force: bool,
        /// Override the download URL (for tests and mirrors); also env PICASSO_WEIGHTS_URL.
        #[arg(long, hide = true)]
        url: Option<String>,
        /// Seconds the server may stay silent before the download is given up.
        #[arg(long, hide = true, default_value_t = fetch::DEFAULT_IDLE_TIMEOUT.as_secs())]
        idle_timeout: u64,
    },
}

fn parse_preset(s: &str) -> std::result::Result<Preset, String> {
    Preset::parse(s).ok_or_else(|| format!("unknown preset {s:?}; choose torchvision or caffe"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tell!("error: {}", printable(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}

fn run(cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::Inspect { file } => inspect(&file),
        Cmd::Convert {
            input,
            output,
            preset,
            bgr_to_rgb,
            f16,
            allow_non_finite,
        } => {
            let opts = ConvertOptions {
                preset,
                bgr_to_rgb,
                allow_non_finite,
                ..Default::default()
            };
            convert(&input, &output, opts, None, f16)
        }
        Cmd::Trim {
            input,
            output,
            up_to,
            f16,
        } => {
            if up_to.is_none() && !f16 {
                return Err(WeightsError::Invalid(
                    "nothing to do: give --up-to LAYER and/or --f16".into(),
                ));
            }
            convert(
                &input,
                &output,
                ConvertOptions::default(),
                up_to.as_deref(),
                f16,
            )
        }
        Cmd::Fetch {
            model,
            cache_dir,
            f16,
            force,
            url,
            idle_timeout,
        } => {
            let url = match url
                .or_else(|| std::env::var(fetch::URL_ENV).ok().filter(|u| !u.is_empty()))
            {
                Some(u) => u,
                None => fetch::model_url(&model)?,
            };
            let cache_dir = cache_dir.or_else(fetch::default_cache_dir).ok_or_else(|| {
                WeightsError::Invalid(
                    "no cache directory: set XDG_CACHE_HOME or HOME, or pass --cache-dir".into(),
                )
            })?;
            let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let path = fetch::fetch(&FetchOptions {
                url,
                cache_dir,
                f16,
                force,
                progress,
                idle_timeout: std::time::Duration::from_secs(idle_timeout.max(1)),
            })?;
            say!("{}", path.display());
            Ok(())
        }
    }
}

fn convert(
    input: &Path,
    output: &Path,
    mut opts: ConvertOptions,
    up_to: Option<&str>,
    f16: bool,
) -> Result<()> {
    io::refuse_same_file(input, output)?;
    io::check_writable(output)?;
    let _lock = match PathLock::try_acquire(output, "convert")? {
        Ok(lock) => lock,
        Err(holder) => {
            return Err(WeightsError::Invalid(format!(
                "{} is writing {}; wait for it to finish or choose another output",
                holder.describe(),
                output.display()
            )))
        }
    };
    let bytes = read_weights_file(input)?;
    opts.source_name = input.file_name().map(|n| n.to_string_lossy().into_owned());
    opts.source_sha256 = Some(sha256_hex(&bytes));
    let (format, ws) = weights_tools::read_bytes(&bytes)?;
    let converted = to_project(format, ws, &opts).map_err(|e| match e {
        WeightsError::NonFinite { .. } => WeightsError::Invalid(format!(
            "{e} (to convert it anyway, e.g. to look at it, pass --allow-non-finite)"
        )),
        e => e,
    })?;
    if opts.allow_non_finite {
        for problem in converted.weights.non_finite() {
            tell!("warning: kept as asked: {problem}");
        }
    }
    for note in &converted.notes {
        tell!("note: {note}");
    }
    let mut ws = converted.weights;
    if let Some(target) = up_to {
        ws = names::trim(&ws, target)?;
        ws.metadata
            .insert("trimmed_up_to".into(), target.to_string());
    }
    io::write_atomic(output, &to_safetensors(&ws, f16)?)?;
    say!(
        "wrote {}: {} tensors, {} parameters, {}, {}",
        output.display(),
        ws.tensors.len(),
        ws.param_count(),
        if f16 { "F16" } else { "F32" },
        names::architecture(&ws)
    );
    Ok(())
}

fn inspect(file: &Path) -> Result<()> {
    let (format, ws) = read_path(file)?;
    say!("file: {}", file.display());
    say!("format: {}", format.describe());
    say!("tensors: {}", ws.tensors.len());
    // Names and metadata come from the file: control characters are shown escaped, never
    // sent to the terminal.
    let width = ws
        .names()
        .map(|n| printable(n).chars().count())
        .max()
        .unwrap_or(0);
    for t in &ws.tensors {
        let (nan, inf) = t.non_finite_counts();
        let damage = match (nan, inf) {
            (0, 0) => String::new(),
            (nan, inf) => format!("  NON-FINITE: {nan} NaN, {inf} infinite"),
        };
        say!(
            "  {:width$}  {:>20}  {}{damage}",
            printable(&t.name),
            format!("{:?}", t.shape),
            t.dtype.name()
        );
    }
    let damaged = ws.non_finite();
    say!(
        "metadata:{}",
        if ws.metadata.is_empty() {
            " (none)"
        } else {
            ""
        }
    );
    for (k, v) in &ws.metadata {
        say!("  {} = {}", printable(k), printable(v));
    }
    say!("parameters: {}", ws.param_count());
    // The layer check looks past damaged values; those are reported below, as the error.
    let layers = ConvertOptions {
        allow_non_finite: true,
        ..Default::default()
    };
    match to_project(format, ws, &layers) {
        Ok(c) => say!(
            "project layers: {}, {} convolutions",
            names::architecture(&c.weights),
            names::conv_ids(&c.weights).len()
        ),
        Err(e) => say!("project layers: not usable: {}", printable(&e.to_string())),
    }
    match damaged.len() {
        0 => Ok(()),
        1 => Err(damaged.into_iter().next().expect("one problem")),
        n => {
            let names: Vec<String> = damaged
                .iter()
                .map(|e| match e {
                    WeightsError::NonFinite { tensor, .. } => tensor.clone(),
                    other => other.to_string(),
                })
                .collect();
            Err(WeightsError::Invalid(format!(
                "{n} tensors hold NaN or infinite values ({}); the weights are damaged and \
                 cannot be used. Re-download the file or convert it again from its source",
                names.join(", ")
            )))
        }
    }
}

/// `text` with control characters (escape sequences, newlines, bells) written as escapes, so
/// what a file calls its tensors cannot move the cursor, recolour or clear the terminal.
fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}
