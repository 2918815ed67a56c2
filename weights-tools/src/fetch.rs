//! Downloads torchvision's published VGG weights, verifies them against the SHA-256 prefix in
//! the file name (torchvision's own convention: `vgg16-397923af.pth` → the digest starts with
//! 397923af), converts them and stores the result in a cache directory.
//!
//! The URL can be overridden (env var `PICASSO_WEIGHTS_URL` or the CLI's hidden `--url`) so tests
//! can serve a fixture from a loopback HTTP server.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::Digest;

use crate::convert::{convert_bytes, to_safetensors, ConvertOptions, Preset};
use crate::error::{Result, WeightsError};
use crate::io::write_atomic;

/// Environment variable that replaces the download URL.
pub const URL_ENV: &str = "PICASSO_WEIGHTS_URL";
/// No VGG file is near this; a server sending more is misbehaving.
const MAX_DOWNLOAD: u64 = 2 << 30;

/// The torchvision file for a model name.
pub fn model_url(model: &str) -> Result<String> {
    let file = match model {
        "vgg16" => "vgg16-397923af.pth",
        "vgg19" => "vgg19-dcbb9e9d.pth",
        other => {
            return Err(WeightsError::Invalid(format!(
                "unknown model {other:?}; choose vgg16 or vgg19"
            )))
        }
    };
    Ok(format!("https://download.pytorch.org/models/{file}"))
}

/// `$XDG_CACHE_HOME/picasso-me`, else `~/.cache/picasso-me`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("picasso-me"))
}

/// The file name at the end of a URL and the hex prefix it promises: "x/vgg16-397923af.pth" →
/// ("vgg16-397923af.pth", "397923af").
pub fn expected_prefix(url: &str) -> Result<(String, String)> {
    let file = url
        .rsplit('/')
        .next()
        .unwrap_or("")
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .to_string();
    let stem = file.split('.').next().unwrap_or("");
    let hash = stem
        .rsplit_once('-')
        .map(|(_, h)| h.to_ascii_lowercase())
        .unwrap_or_default();
    if hash.len() < 8 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(WeightsError::Invalid(format!(
            "cannot verify {url}: its file name has no '-<sha256 prefix>' part like vgg16-397923af.pth"
        )));
    }
    Ok((file, hash))
}

#[derive(Clone, Debug)]
pub struct FetchOptions {
    pub url: String,
    pub cache_dir: PathBuf,
    pub f16: bool,
    /// Download again even if the converted file is cached.
    pub force: bool,
    pub progress: bool,
}

/// Downloads, verifies, converts and caches; returns the path of the converted .safetensors.
pub fn fetch(opts: &FetchOptions) -> Result<PathBuf> {
    let (file, prefix) = expected_prefix(&opts.url)?;
    let stem = file.split('.').next().unwrap_or("weights");
    let out = opts.cache_dir.join(format!(
        "{stem}{}.safetensors",
        if opts.f16 { "-f16" } else { "" }
    ));
    if out.exists() && !opts.force {
        return Ok(out);
    }
    std::fs::create_dir_all(&opts.cache_dir)
        .map_err(|e| WeightsError::io("create", &opts.cache_dir, e))?;
    let part = opts.cache_dir.join(format!("{file}.part"));
    let result = download_and_convert(opts, &file, &prefix, &part, &out);
    let _ = std::fs::remove_file(&part);
    result.map(|_| out)
}

fn download_and_convert(
    opts: &FetchOptions,
    file: &str,
    prefix: &str,
    part: &Path,
    out: &Path,
) -> Result<()> {
    let digest = download(&opts.url, file, part, opts.progress)?;
    if !digest.starts_with(prefix) {
        return Err(WeightsError::Download(format!(
            "{file}: SHA-256 is {digest}, which does not start with {prefix}; the download is corrupt or not the expected file (nothing was saved)"
        )));
    }
    let bytes = std::fs::read(part).map_err(|e| WeightsError::io("read", part, e))?;
    let copts = ConvertOptions {
        preset: Some(Preset::Torchvision),
        bgr_to_rgb: false,
        source_name: Some(opts.url.clone()),
        source_sha256: Some(digest),
        allow_non_finite: false,
    };
    let converted = convert_bytes(&bytes, &copts)?;
    write_atomic(out, &to_safetensors(&converted.weights, opts.f16)?)
}

fn offline_help(url: &str, file: &str, e: &ureq::Error) -> WeightsError {
    let host = url
        .split("://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or(url);
    WeightsError::Download(format!(
        "cannot reach {host} ({e}); this machine appears to be offline. Instead: download {file} on a machine \
         with internet access, run `weights-tools convert {file} vgg.safetensors`, and pass `--weights vgg.safetensors`; \
         or use the bundled engine/weights/vgg16-imagenet-f16.safetensors"
    ))
}

/// Streams the body to `part` while hashing it; returns the hex SHA-256.
fn download(url: &str, file: &str, part: &Path, progress: bool) -> Result<String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .build()
        .into();
    let resp = agent.get(url).call().map_err(|e| match e {
        ureq::Error::StatusCode(code) => {
            WeightsError::Download(format!("{url}: server answered HTTP {code}"))
        }
        ureq::Error::BadUri(_) => WeightsError::Invalid(format!("bad URL {url}: {e}")),
        e => offline_help(url, file, &e),
    })?;
    let len = resp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if len.is_some_and(|l| l > MAX_DOWNLOAD) {
        return Err(WeightsError::Download(format!(
            "{url} is larger than 2 GiB; not a VGG weights file"
        )));
    }
    let bar = if progress {
        let b = indicatif::ProgressBar::new(len.unwrap_or(0));
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ) {
            b.set_style(style.progress_chars("=> "));
        }
        b.set_message(file.to_string());
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut reader = resp.into_body().into_reader();
    let mut f = std::fs::File::create(part).map_err(|e| WeightsError::io("create", part, e))?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(|e| {
            WeightsError::Download(format!("{url}: connection lost after {total} bytes: {e}"))
        })?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > MAX_DOWNLOAD {
            return Err(WeightsError::Download(format!(
                "{url} sent more than 2 GiB; aborted"
            )));
        }
        hasher.update(&buf[..n]);
        f.write_all(&buf[..n])
            .map_err(|e| WeightsError::io("write", part, e))?;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    if len.is_some_and(|l| l != total) {
        return Err(WeightsError::Download(format!(
            "{url}: expected {len:?} bytes but got {total}"
        )));
    }
    f.sync_all()
        .map_err(|e| WeightsError::io("flush", part, e))?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
