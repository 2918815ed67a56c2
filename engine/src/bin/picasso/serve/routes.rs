//! The HTTP API the page uses, and scripts can: submit a job, follow it, stop it, fetch its
//! picture and report. Every answer that is not a file is JSON; refusals are
//! `{"error": "…"}` with a status that says whose fault it was.

use super::assets::{self, EXAMPLES};
use super::events::events;
use super::guard::{guard, OwnPort};
use super::jobs::Job;
use super::scheduler::Scheduler;
use super::settings::{self, JobFiles, JobSettings};
use super::uploads::{check_pictures, read_form, too_large_message, Form, Refusal};
use crate::network::NetworkArgs;
use crate::stylize::parts::Plan;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use engine::Device;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

/// What the handlers share.
pub struct App {
    /// The results folder (`--out`).
    pub out: PathBuf,
    pub scheduler: Arc<Scheduler>,
    /// The session's jobs, oldest first.
    jobs: Mutex<Vec<Arc<Job>>>,
    /// The server's weights, memory limit and default device and pooling.
    pub network: NetworkArgs,
    pub max_upload: u64,
    pub max_pixels: u64,
}

impl App {
    pub fn new(
        out: PathBuf,
        scheduler: Arc<Scheduler>,
        network: NetworkArgs,
        max_upload: u64,
        max_pixels: u64,
    ) -> Self {
        App {
            out,
            scheduler,
            jobs: Mutex::new(Vec::new()),
            network,
            max_upload,
            max_pixels,
        }
    }

    /// The job list; only pushes and reads happen under the lock, so a poisoned one is fine.
    pub fn jobs(&self) -> MutexGuard<'_, Vec<Arc<Job>>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn job(&self, id: &str) -> Result<Arc<Job>, Refusal> {
        self.jobs()
            .iter()
            .find(|j| j.id == id)
            .cloned()
            .ok_or_else(|| {
                let shown: String = id
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .take(20)
                    .collect();
                Refusal::new(StatusCode::NOT_FOUND, format!("there is no job `{shown}`"))
            })
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

/// Every route, behind the Host/Origin guard, with the upload limit in place.
pub fn router(app: Arc<App>, port: u16) -> Router {
    // The byte limit covers the whole form; multipart framing adds a little.
    let limit = usize::try_from(app.max_upload).unwrap_or(usize::MAX);
    Router::new()
        .route(
            "/",
            get(|| async { page(assets::INDEX_HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/app.js",
            get(|| async { page(assets::APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/style.css",
            get(|| async { page(assets::STYLE_CSS, "text/css; charset=utf-8") }),
        )
        .route("/api/options", get(options))
        .route("/api/examples/{file}", get(example))
        .route("/api/jobs", post(create_job).get(list_jobs))
        .route("/api/jobs/{id}", get(get_job))
        .route("/api/jobs/{id}/events", get(events))
        .route("/api/jobs/{id}/image", get(image))
        .route("/api/jobs/{id}/report", get(report))
        .route("/api/jobs/{id}/stop", post(stop))
        .fallback(|| async { Refusal::new(StatusCode::NOT_FOUND, "no such page or API route") })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(app)
        .layer(middleware::from_fn_with_state(OwnPort(port), guard))
}

fn page(body: &'static str, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn options(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({
        "knobs": settings::describe(&app.network),
        "examples": assets::describe(),
        "limits": {
            "max_upload_bytes": app.max_upload,
            "max_pixels": app.max_pixels,
            "max_styles": super::uploads::MAX_STYLES,
        },
    }))
}

async fn example(Path(file): Path<String>) -> Response {
    match assets::example(&file) {
        Some(e) => (
            [
                (header::CONTENT_TYPE, e.content_type()),
                (header::CACHE_CONTROL, "max-age=3600"),
            ],
            e.bytes,
        )
            .into_response(),
        None => Refusal::new(
            StatusCode::NOT_FOUND,
            format!(
                "no such example; the examples are {}",
                EXAMPLES
                    .iter()
                    .map(|e| e.file)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .into_response(),
    }
}

async fn list_jobs(State(app): State<Arc<App>>) -> Json<Value> {
    Json(app.jobs().iter().map(|j| j.snapshot()).collect())
}

async fn get_job(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Refusal> {
    Ok(Json(app.job(&id)?.snapshot()))
}

async fn stop(State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<Json<Value>, Refusal> {
    let job = app.job(&id)?;
    app.scheduler.stop(&job);
    Ok(Json(job.snapshot()))
}

async fn image(State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<Response, Refusal> {
    let job = app.job(&id)?;
    let png = job.progress().image.clone().ok_or_else(|| {
        Refusal::new(
            StatusCode::NOT_FOUND,
            "no picture yet: the job has not started",
        )
    })?;
    let disposition = format!("inline; filename=\"picasso-{}.png\"", job.id);
    Ok((
        [
            (header::CONTENT_TYPE, "image/png".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        png.as_ref().clone(),
    )
        .into_response())
}

async fn report(State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<Response, Refusal> {
    let job = app.job(&id)?;
    if !job.progress().report_written {
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "no report yet: it is written when the job ends (done or stopped)",
        ));
    }
    let text = tokio::fs::read(job.dir.join(REPORT)).await.map_err(|e| {
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read the report: {e}"),
        )
    })?;
    let disposition = format!("attachment; filename=\"picasso-{}.json\"", job.id);
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        text,
    )
        .into_response())
}

/// The files of a job, in its folder.
const RESULT: &str = "result.png";
const REPORT: &str = "report.json";

async fn create_job(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, [(header::HeaderName, String); 1], Json<Value>), Refusal> {
    // A declared size over the limit is refused before a byte of it is read.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > app.max_upload) {
        return Err(Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            too_large_message(Some(app.max_upload)),
        ));
    }
    let multipart = multipart.map_err(|e| {
        Refusal::bad(format!(
            "expected a multipart form with `content`, `style` and `settings` ({})",
            e.body_text()
        ))
    })?;
    let (id, dir) = new_job_folder(&app.out).await?;
    match prepare(&app, multipart, &dir).await {
        Ok((form, settings, device, shown)) => {
            let job = Arc::new(Job::new(
                id.clone(),
                dir.clone(),
                device,
                shown,
                form.content
                    .as_ref()
                    .map(|u| u.name.clone())
                    .unwrap_or_default(),
                form.styles.iter().map(|u| u.name.clone()).collect(),
            ));
            app.jobs().push(Arc::clone(&job));
            if let Err(why) = app.scheduler.submit(Arc::clone(&job), settings) {
                app.jobs().retain(|j| !Arc::ptr_eq(j, &job));
                let _ = tokio::fs::remove_dir_all(&dir).await;
                return Err(Refusal::new(StatusCode::SERVICE_UNAVAILABLE, why));
            }
            Ok((
                StatusCode::CREATED,
                [(header::LOCATION, format!("/api/jobs/{id}"))],
                Json(
                    json!({ "id": id, "state": "queued", "queue_position": job.progress().queue_position }),
                ),
            ))
        }
        Err(refusal) => {
            // Nothing of a refused job stays on disk.
            let _ = tokio::fs::remove_dir_all(&dir).await;
            Err(refusal)
        }
    }
}

/// Read and check the form; the job's settings, device and the settings to show with it.
async fn prepare(
    app: &Arc<App>,
    multipart: Multipart,
    dir: &std::path::Path,
) -> Result<(Form, JobSettings, String, Value), Refusal> {
    let form = read_form(multipart, dir).await?;
    let app = Arc::clone(app);
    let dir = dir.to_path_buf();
    // Decoding pictures and opening a device are slow: off the async threads.
    tokio::task::spawn_blocking(move || {
        check_pictures(&form, app.max_pixels)?;
        let styles: Vec<PathBuf> = form.styles.iter().map(|u| u.path.clone()).collect();
        let content = form
            .content
            .as_ref()
            .map(|u| u.path.clone())
            .unwrap_or_default();
        let files = JobFiles {
            content: &content,
            styles: &styles,
            output: &dir.join(RESULT),
            report: &dir.join(REPORT),
        };
        let settings =
            settings::parse(&form.settings, &files, &app.network).map_err(|e| Refusal::bad(e.0))?;
        let hide = |e: engine::Error| {
            Refusal::bad(e.to_string().replace(&format!("{}/", dir.display()), ""))
        };
        // The CLI's checks of the settings together (blend weights per painting, line search
        // with the optimiser, …), before the job waits in a queue.
        Plan::from_args(&settings.args).map_err(hide)?;
        let device = match settings.args.network.device().map_err(hide)? {
            Device::Cpu => "cpu".to_string(),
            Device::Cuda(n) => format!("cuda:{n}"),
        };
        let shown = if form.settings.trim().is_empty() {
            json!({})
        } else {
            serde_json::from_str(&form.settings).unwrap_or(json!({}))
        };
        Ok((form, settings, device, shown))
    })
    .await
    .map_err(|e| {
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("checking the upload failed: {e}"),
        )
    })?
}

/// A fresh `job-NNNN` folder under `out`, never one that exists.
async fn new_job_folder(out: &std::path::Path) -> Result<(String, PathBuf), Refusal> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    for _ in 0..100_000 {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = out.join(format!("job-{n:04}"));
        match tokio::fs::create_dir(&dir).await {
            Ok(()) => return Ok((n.to_string(), dir)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(Refusal::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!(
                        "cannot create a folder for the job in {}: {e}",
                        out.display()
                    ),
                ))
            }
        }
    }
    Err(Refusal::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("no free job folder in {}", out.display()),
    ))
}
