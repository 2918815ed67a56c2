//! The pictures of a job, from the form to the job's folder: counted in bytes as they arrive,
//! saved under names the server chooses, their size read from the header (so a decompression
//! bomb is refused before a pixel is decoded), then decoded once to be sure the whole file is
//! a picture. The names they were uploaded with are kept for the page only.

use axum::extract::multipart::{Field, Multipart};
use axum::http::StatusCode;
use engine::io::image::{decode_rgb8, read_dimensions};
use std::path::{Path, PathBuf};

/// At most this many paintings per job.
pub const MAX_STYLES: usize = 8;
/// The settings are a small JSON object.
const MAX_SETTINGS_BYTES: usize = 64 * 1024;

/// A refused request: the HTTP status and a message for the page.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

impl Refusal {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Refusal {
            status,
            message: message.into(),
        }
    }

    pub fn bad(message: impl Into<String>) -> Self {
        Refusal::new(StatusCode::BAD_REQUEST, message)
    }
}

/// One saved picture.
pub struct Upload {
    /// Where the server saved it.
    pub path: PathBuf,
    /// The name the browser gave, cleaned, for messages and the page.
    pub name: String,
}

/// What the form held.
#[derive(Default)]
pub struct Form {
    pub content: Option<Upload>,
    pub styles: Vec<Upload>,
    pub settings: String,
}

/// Read the multipart form into `dir`, refusing unknown fields, missing pictures and
/// anything too large (the body's byte limit is enforced as it streams in).
pub async fn read_form(mut multipart: Multipart, dir: &Path) -> Result<Form, Refusal> {
    let mut form = Form::default();
    while let Some(field) = multipart.next_field().await.map_err(multipart_refusal)? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "content" => {
                if form.content.is_some() {
                    return Err(Refusal::bad(
                        "the form has two `content` files; give one photo",
                    ));
                }
                form.content = Some(save_field(field, dir, "content").await?);
            }
            "style" => {
                if form.styles.len() == MAX_STYLES {
                    return Err(Refusal::bad(format!(
                        "more than {MAX_STYLES} paintings; give at most {MAX_STYLES}"
                    )));
                }
                let stem = format!("style-{}", form.styles.len() + 1);
                form.styles.push(save_field(field, dir, &stem).await?);
            }
            "settings" => {
                let text = field.text().await.map_err(multipart_refusal)?;
                if text.len() > MAX_SETTINGS_BYTES {
                    return Err(Refusal::bad(format!(
                        "the settings take {} bytes, more than the {MAX_SETTINGS_BYTES} allowed",
                        text.len()
                    )));
                }
                form.settings = text;
            }
            other => {
                return Err(Refusal::bad(format!(
                    "unknown form field `{}`; the fields are `content` (one photo), `style` \
                     (one or more paintings) and `settings` (JSON)",
                    clean_name(other)
                )))
            }
        }
    }
    if form.content.is_none() {
        return Err(Refusal::bad(
            "no photo: the form needs a `content` file (PNG, JPEG or GIF)",
        ));
    }
    if form.styles.is_empty() {
        return Err(Refusal::bad(
            "no painting: the form needs at least one `style` file (PNG, JPEG or GIF)",
        ));
    }
    Ok(form)
}

/// Save one file field as `dir/STEM.EXT`, the extension from the file's first bytes.
async fn save_field(field: Field<'_>, dir: &Path, stem: &str) -> Result<Upload, Refusal> {
    let name = clean_name(field.file_name().unwrap_or(stem));
    let bytes = field.bytes().await.map_err(multipart_refusal)?;
    let extension = match image::guess_format(&bytes) {
        Ok(image::ImageFormat::Png) => "png",
        Ok(image::ImageFormat::Jpeg) => "jpg",
        Ok(image::ImageFormat::Gif) => "gif",
        // The check below says what it is and what is supported.
        _ => "upload",
    };
    let path = dir.join(format!("{stem}.{extension}"));
    tokio::fs::write(&path, &bytes).await.map_err(|e| {
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("could not save “{name}” on the server: {e}"),
        )
    })?;
    Ok(Upload { path, name })
}

/// Check that every picture of `form` is one: header first (format, pixel count against
/// `max_pixels`), then a full decode. Slow for large pictures: run it off the async threads.
pub fn check_pictures(form: &Form, max_pixels: u64) -> Result<(), Refusal> {
    for upload in form.content.iter().chain(&form.styles) {
        let named = |e: engine::Error| Refusal::bad(name_upload(&e, upload));
        read_dimensions(&upload.path, max_pixels).map_err(named)?;
        let bytes = std::fs::read(&upload.path)
            .map_err(|e| Refusal::bad(format!("“{}”: cannot read it back: {e}", upload.name)))?;
        decode_rgb8(&upload.path, &bytes, max_pixels).map_err(named)?;
    }
    Ok(())
}

/// The engine's message about a file, naming it as the browser did.
fn name_upload(e: &engine::Error, upload: &Upload) -> String {
    match e {
        engine::Error::Image { msg, .. } => format!("“{}”: {msg}", upload.name),
        other => other.to_string().replace(
            &upload.path.display().to_string(),
            &format!("“{}”", upload.name),
        ),
    }
}

/// A multipart error as the page should see it: too large (413) or malformed (400).
fn multipart_refusal(e: axum::extract::multipart::MultipartError) -> Refusal {
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        Refusal::new(status, too_large_message(None))
    } else {
        Refusal::new(
            status,
            format!("the upload could not be read: {}", e.body_text()),
        )
    }
}

/// What an oversized upload is told; `limit` when known.
pub fn too_large_message(limit: Option<u64>) -> String {
    let limit = limit
        .map(|l| format!(" ({})", engine::models::memory::format_bytes(l)))
        .unwrap_or_default();
    format!(
        "the upload is larger than this server accepts{limit}; use smaller pictures (a few \
         megabytes is plenty: they are resized to --size anyway) or start the server with a \
         larger --max-upload"
    )
}

/// A file name from the browser, safe to show: no folders, no control characters, not too
/// long. It is never used as a path.
pub fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(80).collect();
    if cleaned.trim().is_empty() {
        "picture".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_the_browser_are_only_names() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\Users\\me\\cat.jpg"), "cat.jpg");
        assert_eq!(clean_name("a\u{0}b\nc.png"), "abc.png");
        assert_eq!(clean_name(""), "picture");
        assert_eq!(clean_name(&"x".repeat(500)).len(), 80);
    }
}
