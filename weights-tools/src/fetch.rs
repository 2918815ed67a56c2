//! Downloads torchvision's published VGG weights, verifies them against the SHA-256 prefix in
//! the file name (torchvision's own convention: `vgg16-397923af.pth` → the digest starts with
//! 397923af), converts them and stores the result in a cache directory.
//!
//! The URL can be overridden (env var `PICASSO_WEIGHTS_URL` or the CLI's hidden `--url`) so tests
//! can serve a fixture from a loopback HTTP server.
//!
//! Nothing waits forever: connecting, the response and every read of the body have a time
//! limit ([`FetchOptions::idle_timeout`]). Nothing unverified is returned: the converted file's
//! own SHA-256 is kept beside it (`NAME.safetensors.sha256`) and checked before a cached copy
//! is handed out; a copy that does not match is downloaded again. The cached file is written
//! under a lock, through the same exclusive temporary files as every other output.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::Digest;

use crate::convert::{convert_bytes, to_safetensors, ConvertOptions, Preset};
use crate::error::{Result, WeightsError};
use crate::io::lock::PathLock;
use crate::io::write::{create_temp_beside, remove_temp};
use crate::io::{read_regular, write_atomic, MAX_WEIGHTS_FILE};

/// Environment variable that replaces the download URL.
pub const URL_ENV: &str = "PICASSO_WEIGHTS_URL";
/// No VGG file is near this; a server sending more is misbehaving.
const MAX_DOWNLOAD: u64 = 2 << 30;
/// How long a connection may stay silent (connecting, answering, or between two reads of the
/// body) before the download is given up.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

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
    /// Longest silence of the server before giving up (see [`DEFAULT_IDLE_TIMEOUT`]).
    pub idle_timeout: Duration,
}

/// Downloads, verifies, converts and caches; returns the path of the converted .safetensors.
pub fn fetch(opts: &FetchOptions) -> Result<PathBuf> {
    check_url(&opts.url)?;
    let (file, prefix) = expected_prefix(&opts.url)?;
    let stem = file.split('.').next().unwrap_or("weights");
    let out = opts.cache_dir.join(format!(
        "{stem}{}.safetensors",
        if opts.f16 { "-f16" } else { "" }
    ));
    if !opts.force && out.exists() {
        match verify_cached(&out) {
            Ok(()) => return Ok(out),
            Err(why) => crate::tell!(
                "note: the cached {} {why}; downloading it again",
                out.display()
            ),
        }
    }
    std::fs::create_dir_all(&opts.cache_dir)
        .map_err(|e| WeightsError::io("create", &opts.cache_dir, e))?;
    let _lock = match PathLock::try_acquire(&out, "fetch")? {
        Ok(lock) => lock,
        Err(holder) => {
            return Err(WeightsError::Invalid(format!(
                "{} is already downloading {}; wait for it to finish, then run this again",
                holder.describe(),
                out.display()
            )))
        }
    };
    download_and_convert(opts, &file, &prefix, &out)?;
    Ok(out)
}

/// Only http(s) URLs are fetched; anything else is a mistake worth naming as such.
fn check_url(url: &str) -> Result<()> {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("http" | "https") if url.len() > scheme.as_deref().map_or(0, str::len) + 3 => Ok(()),
        Some(other) => Err(WeightsError::Invalid(format!(
            "cannot fetch {url}: only http:// and https:// URLs are downloaded, not {other}://. \
             For a file you already have, run `weights-tools convert FILE out.safetensors`"
        ))),
        None => Err(WeightsError::Invalid(format!(
            "{url:?} is not a URL; give one such as \
             https://download.pytorch.org/models/vgg16-397923af.pth"
        ))),
    }
}

/// The path of the hash kept beside a cached file.
fn digest_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".sha256");
    out.with_file_name(name)
}

/// Whether the cached `out` is the file that was written: its SHA-256 against the one kept
/// beside it. `Err` says what is wrong, for the note printed before downloading again.
fn verify_cached(out: &Path) -> std::result::Result<(), String> {
    let expected = std::fs::read_to_string(digest_path(out))
        .map_err(|_| "has no recorded SHA-256 to check it against".to_string())?;
    let bytes = read_regular(out, MAX_WEIGHTS_FILE, "a cached weights file")
        .map_err(|e| format!("cannot be read ({e})"))?;
    let actual = crate::sha256_hex(&bytes);
    if actual == expected.trim() {
        Ok(())
    } else {
        Err(format!(
            "is damaged (SHA-256 {actual}, recorded {})",
            expected.trim()
        ))
    }
}

fn download_and_convert(opts: &FetchOptions, file: &str, prefix: &str, out: &Path) -> Result<()> {
    // The download goes to an exclusively created temporary file beside the result: a link
    // planted under a predictable name is never followed, and the file is removed however
    // this ends.
    let (part_file, part) = create_temp_beside(out)?;
    let result = (|| {
        let digest = download(opts, file, part_file, &part)?;
        if !digest.starts_with(prefix) {
            return Err(WeightsError::Download(format!(
                "{file}: SHA-256 is {digest}, which does not start with {prefix}; the download is corrupt or not the expected file (nothing was saved)"
            )));
        }
        let bytes = read_regular(&part, MAX_DOWNLOAD, "a download")?;
        let copts = ConvertOptions {
            preset: Some(Preset::Torchvision),
            bgr_to_rgb: false,
            source_name: Some(opts.url.clone()),
            source_sha256: Some(digest),
            allow_non_finite: false,
        };
        let converted = convert_bytes(&bytes, &copts)?;
        let safetensors = to_safetensors(&converted.weights, opts.f16)?;
        // The hash first: a cached file without a matching hash is never trusted, so a crash
        // between the two writes costs a download, not a wrong answer.
        write_atomic(
            &digest_path(out),
            crate::sha256_hex(&safetensors).as_bytes(),
        )?;
        write_atomic(out, &safetensors)
    })();
    remove_temp(&part);
    result
}

/// The message for a failed request: an unreachable host is explained as being offline, with
/// what to do instead; a timeout and anything else say what they are.
fn request_failed(url: &str, file: &str, e: ureq::Error) -> WeightsError {
    match e {
        ureq::Error::StatusCode(code) => {
            WeightsError::Download(format!("{url}: server answered HTTP {code}"))
        }
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => {
            WeightsError::Invalid(format!("bad URL {url}: {e}"))
        }
        ureq::Error::Timeout(_) => WeightsError::Download(format!(
            "{url}: the server stopped answering ({e}); try again later, or download {file} \
             another way and run `weights-tools convert {file} vgg.safetensors`"
        )),
        ureq::Error::Io(_) | ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => {
            offline_help(url, file, &e)
        }
        e => WeightsError::Download(format!("{url}: {e}")),
    }
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
fn download(
    opts: &FetchOptions,
    file: &str,
    part_file: std::fs::File,
    part: &Path,
) -> Result<String> {
    let url = opts.url.as_str();
    let idle = Some(opts.idle_timeout);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(idle)
        .timeout_recv_response(idle)
        .timeout_per_read(idle)
        .build()
        .into();
    let resp = agent
        .get(url)
        .call()
        .map_err(|e| request_failed(url, file, e))?;
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
    let bar = if opts.progress {
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
    let mut f = part_file;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(|e| {
            WeightsError::Download(format!(
                "{url}: connection lost or silent for {} s after {total} bytes ({e}); nothing \
                 was saved, try again",
                opts.idle_timeout.as_secs_f64()
            ))
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
