//! One optimisation per device at a time: a queue and a worker thread for each device a job
//! asks for. The optimisation is long, CPU- or GPU-bound work, so it runs on its own threads,
//! not on the HTTP server's.

use super::jobs::{Job, State};
use super::paint::{paint, Painted};
use super::settings::JobSettings;
use engine::models::Vgg;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// A job with the settings it runs with.
struct Queued {
    job: Arc<Job>,
    settings: JobSettings,
}

#[derive(Default)]
struct Queues {
    waiting: HashMap<String, VecDeque<Queued>>,
    workers: HashMap<String, JoinHandle<()>>,
    shutting_down: bool,
}

/// The queues of every device, shared by the HTTP handlers and the workers.
pub struct Scheduler {
    queues: Mutex<Queues>,
    wake: Condvar,
    max_queued: usize,
}

impl Scheduler {
    pub fn new(max_queued: usize) -> Arc<Self> {
        Arc::new(Scheduler {
            queues: Mutex::new(Queues::default()),
            wake: Condvar::new(),
            max_queued,
        })
    }

    /// The queues; a worker that panicked while holding them left them consistent (every
    /// change is a single push or pop), so a poisoned lock is used as it is.
    fn queues(&self) -> MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Put `job` at the back of its device's queue (starting that device's worker if it has
    /// none), or say why not.
    pub fn submit(self: &Arc<Self>, job: Arc<Job>, settings: JobSettings) -> Result<(), String> {
        let mut queues = self.queues();
        if queues.shutting_down {
            return Err("the server is shutting down".into());
        }
        let waiting: usize = queues.waiting.values().map(VecDeque::len).sum();
        if waiting >= self.max_queued {
            return Err(format!(
                "{waiting} jobs are already waiting (the limit is {}, picasso serve \
                 --max-queued); try again when some have finished",
                self.max_queued
            ));
        }
        let device = job.device.clone();
        queues
            .waiting
            .entry(device.clone())
            .or_default()
            .push_back(Queued { job, settings });
        if !queues.workers.contains_key(&device) {
            let scheduler = Arc::clone(self);
            let name = device.clone();
            let handle = std::thread::Builder::new()
                .name(format!("picasso-{device}"))
                .spawn(move || scheduler.work(&name))
                .map_err(|e| format!("cannot start a worker thread: {e}"))?;
            queues.workers.insert(device.clone(), handle);
        }
        renumber(&queues, &device);
        drop(queues);
        self.wake.notify_all();
        Ok(())
    }

    /// Stop a job: a queued one leaves its queue at once, a running one after its current
    /// evaluation (keeping its picture).
    pub fn stop(&self, job: &Arc<Job>) {
        job.request_stop();
        let mut queues = self.queues();
        if let Some(queue) = queues.waiting.get_mut(&job.device) {
            if let Some(at) = queue.iter().position(|q| Arc::ptr_eq(&q.job, job)) {
                queue.remove(at);
                job.update(|p| {
                    p.state = State::Stopped;
                    p.queue_position = None;
                    p.stop_reason = Some("stopped before it started".into());
                });
                renumber(&queues, &job.device);
            }
        }
    }

    /// Stop everything (Ctrl-C): running jobs save their pictures, queued ones never start.
    /// Returns the worker threads, to be joined once they have saved.
    pub fn shut_down(&self, jobs: &[Arc<Job>]) -> Vec<JoinHandle<()>> {
        for job in jobs {
            self.stop(job);
        }
        let mut queues = self.queues();
        queues.shutting_down = true;
        let workers = queues.workers.drain().map(|(_, h)| h).collect();
        drop(queues);
        self.wake.notify_all();
        workers
    }

    /// A device's worker: run its jobs one after the other until shutdown.
    fn work(&self, device: &str) {
        // The network stays loaded between jobs: loading it takes longer than a small job.
        let mut networks: HashMap<String, Vgg> = HashMap::new();
        loop {
            let next = {
                let mut queues = self.queues();
                loop {
                    if let Some(next) = queues.waiting.get_mut(device).and_then(VecDeque::pop_front)
                    {
                        renumber(&queues, device);
                        break next;
                    }
                    if queues.shutting_down {
                        return;
                    }
                    queues = self.wake.wait(queues).unwrap_or_else(|e| e.into_inner());
                }
            };
            run_one(&next.job, &next.settings, &mut networks);
        }
    }
}

/// Tell every job waiting for `device` its place.
fn renumber(queues: &Queues, device: &str) {
    if let Some(queue) = queues.waiting.get(device) {
        for (i, q) in queue.iter().enumerate() {
            q.job.update(|p| p.queue_position = Some(i + 1));
        }
    }
}

/// Run one job to its end. Errors and panics end the job, never the worker or the server.
fn run_one(job: &Job, settings: &JobSettings, networks: &mut HashMap<String, Vgg>) {
    job.update(|p| {
        p.state = State::Running;
        p.queue_position = None;
        p.started = Some(std::time::Instant::now());
    });
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let pooling = format!("{:?}", settings.args.network.pooling);
        let vgg = match networks.entry(pooling) {
            Entry::Occupied(loaded) => loaded.into_mut(),
            Entry::Vacant(slot) => slot.insert(settings.args.network.load()?),
        };
        paint(job, settings, vgg)
    }));
    let (state, error, reason) = match outcome {
        Ok(Ok(Painted { state, reason })) => (state, None, Some(reason)),
        Ok(Err(e)) => (State::Failed, Some(e.to_string()), None),
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            // The network may be half-moved after a panic: load it again next time.
            networks.clear();
            (
                State::Failed,
                Some(format!("internal error (the server goes on): {what}")),
                None,
            )
        }
    };
    job.update(|p| {
        p.state = state;
        p.error = error.map(|e| hide_folder(&e, job));
        if reason.is_some() {
            p.stop_reason = reason;
        }
    });
}

/// Messages name the job's files by the server's paths; the page knows them by the names
/// they were uploaded with.
pub fn hide_folder(message: &str, job: &Job) -> String {
    let folder = format!("{}/", job.dir.display());
    message.replace(&folder, "")
}
