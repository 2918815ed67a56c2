//! `GET /api/jobs/{id}/events`: server-sent events, one `status` event per change of the job
//! (the fields of `GET /api/jobs/{id}`), each with the loss points added since the previous
//! one (`losses`: `[[evaluation, loss], …]`), so the page's curve misses none even when it
//! skips intermediate states. The stream ends after the job's final state.

use super::routes::App;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde_json::json;
use std::sync::Arc;

pub async fn events(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let job = match app.job(&id) {
        Ok(job) => job,
        Err(refusal) => return refusal.into_response(),
    };
    let changes = job.subscribe();
    // (job, its change signal, loss points sent so far, first event?)
    let start = Some((job, changes, 0usize, true));
    let updates = stream::unfold(start, |state| async move {
        let (job, mut changes, sent, first) = state?;
        if first {
            changes.borrow_and_update();
        } else if changes.changed().await.is_err() {
            return None;
        }
        let mut status = job.snapshot();
        let losses = job.history_since(sent);
        let sent = sent + losses.len();
        status["losses"] = json!(losses);
        let finished = status["state"]
            .as_str()
            .is_some_and(|s| matches!(s, "done" | "stopped" | "failed"));
        let event = Event::default().event("status").json_data(&status);
        let next = (!finished).then_some((job, changes, sent, false));
        Some((event, next))
    });
    Sse::new(updates)
        .keep_alive(KeepAlive::default())
        .into_response()
}
