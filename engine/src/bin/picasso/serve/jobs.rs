//! A job and what the page sees of it. The worker thread writes its progress here; the HTTP
//! handlers read snapshots and wait for changes on a `watch` channel (which keeps only the
//! latest version, so a slow page skips intermediate states instead of queueing them).

use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::watch;

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Queued,
    Running,
    Done,
    Stopped,
    Failed,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Running => "running",
            State::Done => "done",
            State::Stopped => "stopped",
            State::Failed => "failed",
        }
    }

    /// Nothing more will happen to the job.
    pub fn is_final(self) -> bool {
        matches!(self, State::Done | State::Stopped | State::Failed)
    }
}

/// What changes while a job runs.
pub struct Progress {
    pub state: State,
    /// 1-based place in its device's queue while queued.
    pub queue_position: Option<usize>,
    /// Evaluations done, over all scales.
    pub evaluation: usize,
    /// Evaluations planned (iters × scales); the optimiser may stop earlier.
    pub evaluations: usize,
    /// The latest loss.
    pub total: Option<f64>,
    /// (evaluation, loss) after every evaluation, for the loss curve.
    pub history: Vec<(usize, f64)>,
    pub started: Option<Instant>,
    /// When the first evaluation ended: the time left is estimated from the evaluations
    /// since, not counting the network's loading and the paintings' statistics.
    pub first_evaluation: Option<Instant>,
    pub seconds: f64,
    /// The latest picture as PNG, and a counter that changes with it.
    pub image: Option<Arc<Vec<u8>>>,
    pub image_version: u64,
    pub image_size: Option<(u32, u32)>,
    pub report_written: bool,
    pub error: Option<String>,
    /// Why the optimisation ended (`budget`, `converged`, `stopped`, `time limit`, …).
    pub stop_reason: Option<String>,
}

/// One job of the session.
pub struct Job {
    pub id: String,
    /// Its folder under `--out`, named by the server.
    pub dir: PathBuf,
    /// The device queue it waits in (`cpu`, `cuda:0`).
    pub device: String,
    /// The settings as submitted, shown beside the result.
    pub settings: Value,
    /// The uploaded files' names, for the page only (never used as paths).
    pub content_name: String,
    pub style_names: Vec<String>,
    stop: AtomicBool,
    progress: Mutex<Progress>,
    changed: watch::Sender<u64>,
}

impl Job {
    pub fn new(
        id: String,
        dir: PathBuf,
        device: String,
        settings: Value,
        content_name: String,
        style_names: Vec<String>,
    ) -> Self {
        Job {
            id,
            dir,
            device,
            settings,
            content_name,
            style_names,
            stop: AtomicBool::new(false),
            progress: Mutex::new(Progress {
                state: State::Queued,
                queue_position: None,
                evaluation: 0,
                evaluations: 0,
                total: None,
                history: Vec::new(),
                started: None,
                first_evaluation: None,
                seconds: 0.0,
                image: None,
                image_version: 0,
                image_size: None,
                report_written: false,
                error: None,
                stop_reason: None,
            }),
            changed: watch::channel(0).0,
        }
    }

    /// The progress, for reading. A panic in a job that held the lock leaves it poisoned;
    /// the data is still what it was, so it is read anyway rather than failing every request.
    pub fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Change the progress and wake whoever watches the job.
    pub fn update(&self, change: impl FnOnce(&mut Progress)) {
        {
            let mut p = self.progress();
            // The clock stops at the final state.
            let was_final = p.state.is_final();
            change(&mut p);
            if let Some(start) = p.started {
                if !was_final {
                    p.seconds = start.elapsed().as_secs_f64();
                }
            }
        }
        self.changed.send_modify(|v| *v += 1);
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// The job as the API shows it; `history` is left out (the events send it in pieces).
    pub fn snapshot(&self) -> Value {
        let p = self.progress();
        let eta = match (p.state, p.evaluation, p.first_evaluation) {
            (State::Running, n, Some(first)) if n > 1 && p.evaluations > n => {
                let each = first.elapsed().as_secs_f64() / (n - 1) as f64;
                Some(each * (p.evaluations - n) as f64)
            }
            _ => None,
        };
        json!({
            "id": self.id,
            "state": p.state.name(),
            "queue_position": p.queue_position,
            "device": self.device,
            "evaluation": p.evaluation,
            "evaluations": p.evaluations,
            "total": p.total,
            "seconds": p.seconds,
            "eta_seconds": eta,
            "image_version": p.image_version,
            "width": p.image_size.map(|s| s.0),
            "height": p.image_size.map(|s| s.1),
            "report": p.report_written,
            "stop_reason": p.stop_reason,
            "error": p.error,
            "settings": self.settings,
            "content_name": self.content_name,
            "style_names": self.style_names,
        })
    }

    /// The loss history from point `from` on.
    pub fn history_since(&self, from: usize) -> Vec<(usize, f64)> {
        let p = self.progress();
        p.history.get(from..).map(<[_]>::to_vec).unwrap_or_default()
    }
}
