//! `picasso serve`: a local web page to paint with. Pick a photo and paintings, watch the
//! picture form with its loss curve, stop, download — over an HTTP API that scripts can use
//! too (see the README). The page is compiled into the program and works offline.
//!
//! One file per idea: [`args`] (the options), [`guard`] (Host/Origin checks), [`routes`] (the
//! API), [`uploads`] (pictures in), [`settings`] (the knobs), [`scheduler`] (one job per device
//! at a time), [`paint`] (one job's run), [`events`] (live progress), [`jobs`] (a job's state),
//! [`assets`] (the page).

mod args;
mod assets;
mod events;
mod guard;
mod jobs;
mod paint;
mod routes;
mod scheduler;
mod settings;
mod uploads;

pub use args::ServeArgs;

use engine::{Error, Result};
use routes::{router, App};
use scheduler::Scheduler;
use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The exit status when a second Ctrl-C cuts the shutdown short (128 + SIGINT).
const INTERRUPTED: i32 = 130;
/// How long open connections get to finish once the jobs have stopped.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

pub fn run(args: ServeArgs) -> Result<ExitCode> {
    if let Some(warning) = host_warning(args.host) {
        tell(&format!("warning: {warning}"));
    }
    // A GPU asked for but missing is said now, not at the first job.
    let device = args.network.chosen()?.line();
    let out = results_folder(args.out.as_deref())?;
    let listener = TcpListener::bind(SocketAddr::new(args.host, args.port)).map_err(|e| {
        Error::invalid(
            "serve",
            format!(
                "cannot listen on {}:{} ({e}); choose another --port (0 picks a free one)",
                args.host, args.port
            ),
        )
    })?;
    let address = listener
        .local_addr()
        .map_err(|e| Error::invalid("serve", format!("cannot read the bound address: {e}")))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::invalid("serve", format!("cannot set up the socket: {e}")))?;

    let scheduler = Scheduler::new(args.max_queued);
    let app = Arc::new(App::new(
        out.clone(),
        Arc::clone(&scheduler),
        args.network.clone(),
        args.max_upload,
        args.max_pixels,
    ));
    let (stop_tx, stop_rx) = watch::channel(false);
    install_interrupt(stop_tx);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::invalid("serve", format!("cannot start the server: {e}")))?;
    let url = page_url(address);
    say(&format!(
        "picasso serve: {url} — results in {}",
        out.display()
    ));
    say(&format!(
        "device: {device}; Ctrl-C stops the running job, keeps its picture and exits"
    ));

    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| Error::invalid("serve", format!("cannot set up the socket: {e}")))?;
        let routes = router(Arc::clone(&app), address.port());
        let mut closing = stop_rx.clone();
        let server = axum::serve(listener, routes).with_graceful_shutdown(async move {
            let _ = closing.wait_for(|stop| *stop).await;
        });
        let mut server = tokio::spawn(async move { server.await });
        let mut stop = stop_rx;
        // Ctrl-C also ends the server's graceful shutdown, which completes at once when no
        // connection is open: both branches can be ready together, and whichever is taken,
        // the jobs are stopped and their pictures saved before the process ends.
        let ended_alone = tokio::select! {
            ended = &mut server => Some(ended),
            _ = stop.wait_for(|stop| *stop) => None,
        };
        tell("stopping: the running job keeps its picture (interrupt again to quit at once)…");
        let jobs: Vec<_> = app.jobs().clone();
        let workers = scheduler.shut_down(&jobs);
        let _ = tokio::task::spawn_blocking(move || {
            for worker in workers {
                let _ = worker.join();
            }
        })
        .await;
        let ended = match ended_alone {
            Some(ended) => Some(ended),
            // The pages following a job get its last state before the connections close.
            None => tokio::time::timeout(CLOSE_GRACE, server).await.ok(),
        };
        for job in &jobs {
            let p = job.progress();
            if p.image.is_some() {
                say(&format!(
                    "job {}: {} — {}",
                    job.id,
                    p.state.name(),
                    job.dir.display()
                ));
            }
        }
        // Without Ctrl-C the server ends only on an error accepting connections.
        let signalled = *stop.borrow();
        match ended {
            Some(Ok(Err(e))) if !signalled => {
                return Err(Error::invalid("serve", format!("the server stopped: {e}")))
            }
            Some(Err(e)) if !signalled => {
                return Err(Error::invalid("serve", format!("the server stopped: {e}")))
            }
            _ => {}
        }
        Ok(())
    })?;
    say(&format!("stopped; results in {}", out.display()));
    Ok(ExitCode::SUCCESS)
}

/// A line on stdout, flushed (scripts wait for the first to learn the port). A closed stdout
/// (the script stopped reading) must not stop the server: the line is dropped.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// A line on stderr, dropped if stderr is closed.
fn tell(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// The first Ctrl-C (or SIGTERM) starts a clean shutdown; a second one exits at once (the
/// last checkpoint of a running job stays on disk).
fn install_interrupt(stop: watch::Sender<bool>) {
    let result = ctrlc::set_handler(move || {
        if stop.send_replace(true) {
            tell("\nsecond interrupt: quitting now");
            std::process::exit(INTERRUPTED);
        }
    });
    if let Err(e) = result {
        tell(&format!("warning: Ctrl-C will not stop jobs cleanly ({e})"));
    }
}

/// A warning for an address other machines can reach.
fn host_warning(host: IpAddr) -> Option<String> {
    (!host.is_loopback()).then(|| {
        format!(
            "listening on {host}, not only on this machine: anyone who can reach it can \
             submit jobs and see results (there is no password). Use the default \
             --host 127.0.0.1 unless this network is yours"
        )
    })
}

/// The URL to open: an address that says "all interfaces" is opened through loopback.
fn page_url(address: SocketAddr) -> String {
    let port = address.port();
    match address.ip() {
        ip if ip.is_unspecified() && ip.is_ipv6() => format!("http://[::1]:{port}/"),
        ip if ip.is_unspecified() => format!("http://127.0.0.1:{port}/"),
        IpAddr::V6(ip) => format!("http://[{ip}]:{port}/"),
        IpAddr::V4(ip) => format!("http://{ip}:{port}/"),
    }
}

/// `--out`, created if missing, or a fresh `picasso-serve-N` in the current folder.
fn results_folder(out: Option<&Path>) -> Result<PathBuf> {
    let create_error = |dir: &Path, e: std::io::Error| {
        Error::invalid(
            "--out",
            format!("cannot create the results folder {}: {e}", dir.display()),
        )
    };
    if let Some(dir) = out {
        if dir.exists() && !dir.is_dir() {
            return Err(Error::invalid(
                "--out",
                format!("{} is a file, not a folder", dir.display()),
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| create_error(dir, e))?;
        return Ok(dir.to_path_buf());
    }
    for n in 1..10_000 {
        let dir = PathBuf::from(format!("picasso-serve-{n}"));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(create_error(&dir, e)),
        }
    }
    Err(Error::invalid(
        "--out",
        "no free picasso-serve-N folder here; give one with --out",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_goes_unwarned() {
        assert!(host_warning("127.0.0.1".parse().unwrap()).is_none());
        assert!(host_warning("::1".parse().unwrap()).is_none());
        assert!(host_warning("0.0.0.0".parse().unwrap()).is_some());
        assert!(host_warning("192.168.1.5".parse().unwrap()).is_some());
    }

    #[test]
    fn the_printed_url_can_be_opened() {
        assert_eq!(
            page_url("0.0.0.0:80".parse().unwrap()),
            "http://127.0.0.1:80/"
        );
        assert_eq!(page_url("[::1]:81".parse().unwrap()), "http://[::1]:81/");
        assert_eq!(
            page_url("127.0.0.1:82".parse().unwrap()),
            "http://127.0.0.1:82/"
        );
    }
}
