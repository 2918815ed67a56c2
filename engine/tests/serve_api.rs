//! `picasso serve` over HTTP, as the page and scripts use it: a real server on a free port of
//! 127.0.0.1, real uploads, real pictures. Each test starts its own server.

mod io_common;
mod serve_common;

use io_common::png_claiming;
use serde_json::Value;
use serve_common::{follow_events, painting, photo, Part, Server};
use std::time::{Duration, Instant};

/// The PNG's width and height, decoded.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    let img =
        image::load_from_memory_with_format(bytes, image::ImageFormat::Png).expect("a valid PNG");
    (img.width(), img.height())
}

/// The issue's session, `curl -F content=@photo -F style=@painting -F 'settings={"size":64,
/// "iters":5}'`, then the events to `done` and a 64 px PNG.
#[test]
fn a_job_runs_to_done_and_its_picture_has_the_requested_size() {
    let server = Server::start("done", &[]);
    let created = server.submit(&photo(), &[painting()], r#"{"size":64,"iters":5}"#);
    assert_eq!(created.status, 201, "{}", created.text());
    assert!(created
        .header("location")
        .is_some_and(|l| l.starts_with("/api/jobs/")));
    let id = created.json()["id"].as_str().unwrap().to_string();

    let events = follow_events(server.port, &id);
    let last = events.last().expect("at least one event");
    assert_eq!(last["state"], "done", "{last}");
    assert_eq!(last["evaluation"], 5, "{last}");
    assert!(last["total"].as_f64().is_some_and(|t| t > 0.0), "{last}");
    assert_eq!(last["error"], Value::Null);
    // Every evaluation's loss reached the page, once, in order, falling overall.
    let losses: Vec<(u64, f64)> = events
        .iter()
        .flat_map(|e| e["losses"].as_array().cloned().unwrap_or_default())
        .map(|p| (p[0].as_u64().unwrap(), p[1].as_f64().unwrap()))
        .collect();
    assert_eq!(
        losses.iter().map(|p| p.0).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert!(
        losses[4].1 < losses[0].1,
        "the loss did not fall: {losses:?}"
    );

    let status = server.get_json(&format!("/api/jobs/{id}"));
    assert_eq!(status["state"], "done");
    assert_eq!(status["stop_reason"], "budget");
    let image = server.get(&format!("/api/jobs/{id}/image"));
    assert_eq!(image.status, 200);
    assert_eq!(image.header("content-type"), Some("image/png"));
    // Chelsea is 451×300: a long side of 64 makes 64×43.
    assert_eq!(png_size(&image.body), (64, 43));
    let report = server.get(&format!("/api/jobs/{id}/report"));
    assert_eq!(report.status, 200, "{}", report.text());
    let report = report.json();
    assert_eq!(report["evaluations"], 5);
    assert_eq!(report["settings"]["sizes"], serde_json::json!([64]));
    // Only names the server chose, in the job's own folder.
    assert_eq!(
        server.files(),
        [
            "job-0001",
            "job-0001/content.png",
            "job-0001/report.json",
            "job-0001/result.png",
            "job-0001/style-1.jpg"
        ]
    );
    let saved = std::fs::read(server.out.join("job-0001/result.png")).unwrap();
    assert_eq!(png_size(&saved), (64, 43));
}

#[test]
fn stop_keeps_the_latest_picture_and_writes_the_report() {
    let server = Server::start("stop", &[]);
    let id = server.start_job(r#"{"size":48,"iters":5000,"preview_every":1}"#);
    server.wait_for(&id, "its third evaluation", |s| {
        s["evaluation"].as_u64() >= Some(3)
    });
    let stop = server.request("POST", &format!("/api/jobs/{id}/stop"), &[], b"");
    assert_eq!(stop.status, 200, "{}", stop.text());
    let status = server.wait_for(&id, "stopped", |s| s["state"] != "running");
    assert_eq!(status["state"], "stopped", "{status}");
    let evaluations = status["evaluation"].as_u64().unwrap();
    assert!((3..5000).contains(&evaluations), "{status}");
    let image = server.get(&format!("/api/jobs/{id}/image"));
    assert_eq!(png_size(&image.body), (48, 32));
    let report = server.get(&format!("/api/jobs/{id}/report")).json();
    assert_eq!(report["scales"][0]["stop_reason"], "interrupted");
    assert_eq!(report["evaluations"].as_u64(), Some(evaluations));
    assert!(server.out.join("job-0001/result.png").is_file());
}

#[test]
fn jobs_wait_in_a_queue_with_their_positions() {
    let server = Server::start("queue", &[]);
    let long = r#"{"size":32,"iters":5000}"#;
    let first = server.start_job(long);
    server.wait_for(&first, "running", |s| s["state"] == "running");
    let second = server.start_job(long);
    let third = server.start_job(r#"{"size":32,"iters":2}"#);
    let s2 = server.get_json(&format!("/api/jobs/{second}"));
    let s3 = server.get_json(&format!("/api/jobs/{third}"));
    assert_eq!(
        (s2["state"].as_str(), s2["queue_position"].as_u64()),
        (Some("queued"), Some(1)),
        "{s2}"
    );
    assert_eq!(
        (s3["state"].as_str(), s3["queue_position"].as_u64()),
        (Some("queued"), Some(2)),
        "{s3}"
    );
    // One optimisation per device: the first is still the only one running.
    assert_eq!(
        server.get_json(&format!("/api/jobs/{first}"))["state"],
        "running"
    );

    // Stopping a queued job takes it out at once; the one behind moves up.
    server.request("POST", &format!("/api/jobs/{second}/stop"), &[], b"");
    let s2 = server.get_json(&format!("/api/jobs/{second}"));
    assert_eq!(
        (s2["state"].as_str(), s2["evaluation"].as_u64()),
        (Some("stopped"), Some(0)),
        "{s2}"
    );
    assert_eq!(
        server.get_json(&format!("/api/jobs/{third}"))["queue_position"],
        1
    );

    server.request("POST", &format!("/api/jobs/{first}/stop"), &[], b"");
    let s3 = server.wait_for(&third, "done", |s| s["state"] == "done");
    assert_eq!(s3["queue_position"], Value::Null);
    assert_eq!(
        server.get_json(&format!("/api/jobs/{first}"))["state"],
        "stopped"
    );
    let all = server.get_json("/api/jobs");
    assert_eq!(all.as_array().map(Vec::len), Some(3));
}

/// Requests from another site, or to another name (DNS rebinding), never reach the API.
#[test]
fn other_sites_and_other_host_names_are_refused() {
    let server = Server::start("origin", &[]);
    let (content_type, body) = serve_common::multipart(&[
        photo(),
        painting(),
        Part::text("settings", r#"{"size":32,"iters":1}"#),
    ]);
    let host = server.host();
    let own_origin = format!("http://{host}");
    let other_port = format!("127.0.0.1:{}", server.port.wrapping_add(1));
    let cases: [(&str, Vec<(&str, &str)>); 6] = [
        (
            "cross-origin POST",
            vec![("Host", &host), ("Origin", "http://evil.example")],
        ),
        (
            "the null origin (a sandboxed frame)",
            vec![("Host", &host), ("Origin", "null")],
        ),
        (
            "a cross-site fetch without Origin",
            vec![("Host", &host), ("Sec-Fetch-Site", "cross-site")],
        ),
        (
            "DNS rebinding",
            vec![
                ("Host", "evil.example:8080"),
                ("Origin", "http://evil.example:8080"),
            ],
        ),
        (
            "another port of this machine",
            vec![("Host", &host), ("Origin", "http://localhost:3000")],
        ),
        ("no Host at all", vec![]),
    ];
    for (what, mut headers) in cases {
        headers.push(("Content-Type", &content_type));
        let r = serve_common::request(server.port, "POST", "/api/jobs", &headers, &body);
        assert_eq!(r.status, 403, "{what}: {}", r.text());
        assert!(
            r.error().contains("refused") || r.error().contains("Host"),
            "{what}: {}",
            r.text()
        );
    }
    // Reading is refused under a rebinding name too.
    let r = serve_common::request(
        server.port,
        "GET",
        "/api/jobs",
        &[("Host", "evil.example:80")],
        b"",
    );
    assert_eq!(r.status, 403);
    let r = serve_common::request(server.port, "GET", "/", &[("Host", &other_port)], b"");
    assert_eq!(r.status, 403);
    // Nothing was queued, nothing written.
    assert_eq!(server.get_json("/api/jobs"), serde_json::json!([]));
    assert!(server.files().is_empty(), "{:?}", server.files());
    // The server's own page, by either of its names, gets through.
    let r = server.request(
        "POST",
        "/api/jobs",
        &[("Origin", &own_origin), ("Content-Type", &content_type)],
        &body,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let localhost = format!("localhost:{}", server.port);
    let r = serve_common::request(server.port, "GET", "/", &[("Host", &localhost)], b"");
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-security-policy")
        .is_some_and(|c| c.contains("default-src 'self'")));
}

/// What is not a picture, or is one too large to decode, is refused with a message that
/// names the file as uploaded, before any job exists.
#[test]
fn uploads_that_are_not_usable_pictures_are_refused() {
    let server = Server::start("pictures", &[]);
    let settings = r#"{"size":32,"iters":1}"#;
    let mut truncated = serve_common::asset("chelsea.png");
    truncated.truncate(truncated.len() / 2);
    let bmp = {
        let mut b = b"BM".to_vec();
        b.extend_from_slice(&[0; 60]);
        b
    };
    let cases = [
        (
            "a 60000 × 60000 PNG header",
            Part::file("content", "bomb.png", png_claiming(60_000, 60_000)),
            vec!["“bomb.png”", "60000×60000", "megapixels"],
        ),
        (
            "a text file named .png",
            Part::file(
                "content",
                "notes.png",
                b"just some text, not a picture\n".to_vec(),
            ),
            vec!["“notes.png”", "not a recognised image file"],
        ),
        (
            "an empty file",
            Part::file("content", "empty.jpg", Vec::new()),
            vec!["“empty.jpg”", "empty"],
        ),
        (
            "a BMP",
            Part::file("content", "old.bmp", bmp),
            vec!["“old.bmp”", "not supported"],
        ),
        (
            "a truncated PNG",
            Part::file("content", "half.png", truncated),
            vec!["“half.png”", "truncated"],
        ),
    ];
    for (what, part, says) in cases {
        let r = server.submit(&part, &[painting()], settings);
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        for words in says {
            assert!(
                r.error().contains(words),
                "{what}: {words:?} not in {}",
                r.error()
            );
        }
        // A painting is checked the same way.
        let style = Part {
            field: "style".into(),
            ..part
        };
        let r = server.submit(&photo(), &[style], settings);
        assert_eq!(r.status, 400, "{what} as a painting: {}", r.text());
    }
    // Forms without the pictures, or with fields nobody asked for.
    for (what, parts, says) in [
        ("no photo", vec![painting()], "no photo"),
        ("no painting", vec![photo()], "no painting"),
        (
            "a path field",
            vec![photo(), painting(), Part::text("path", "/etc/passwd")],
            "unknown form field",
        ),
    ] {
        let (content_type, body) = serve_common::multipart(&parts);
        let r = server.request(
            "POST",
            "/api/jobs",
            &[("Content-Type", &content_type)],
            &body,
        );
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        assert!(r.error().contains(says), "{what}: {}", r.error());
    }
    let r = server.request(
        "POST",
        "/api/jobs",
        &[("Content-Type", "application/json")],
        b"{}",
    );
    assert_eq!(r.status, 400, "{}", r.text());
    // Nothing of a refused job stays behind.
    assert!(server.files().is_empty(), "{:?}", server.files());
    assert_eq!(server.get_json("/api/jobs"), serde_json::json!([]));
}

/// The byte limit holds whether the size is announced (refused before reading) or not
/// (counted as the body streams in).
#[test]
fn oversized_uploads_are_refused() {
    // The photo and painting of the other tests take 280 kB together.
    let server = Server::start("large", &["--max-upload", "400K"]);
    let big = Part::file("style", "huge.jpg", vec![0xAB; 500_000]);
    let (content_type, body) =
        serve_common::multipart(&[photo(), big, Part::text("settings", "{}")]);
    let announced = server.request(
        "POST",
        "/api/jobs",
        &[("Content-Type", &content_type)],
        &body,
    );
    assert_eq!(announced.status, 413, "{}", announced.text());
    assert!(
        announced.error().contains("--max-upload"),
        "{}",
        announced.text()
    );
    let streamed = server.request(
        "POST",
        "/api/jobs",
        &[
            ("Content-Type", &content_type),
            ("Transfer-Encoding", "chunked"),
        ],
        &body,
    );
    assert_eq!(streamed.status, 413, "{}", streamed.text());
    // A 10 GB upload announced: refused at once, without waiting for a byte of it.
    let host = server.host();
    let started = Instant::now();
    let r = serve_common::request_within(
        Duration::from_secs(20),
        server.port,
        "POST",
        "/api/jobs",
        &[
            ("Host", &host),
            ("Content-Type", &content_type),
            ("Content-Length", "10000000000"),
        ],
        b"",
    );
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(server.files().is_empty(), "{:?}", server.files());
    // Within the limit, the same server takes a job.
    let r = server.submit(&photo(), &[painting()], r#"{"size":32,"iters":1}"#);
    assert_eq!(r.status, 201, "{}", r.text());
}

/// Settings use the CLI's names and checks; none of them can name a file on the server.
#[test]
fn settings_are_checked_and_never_name_files() {
    let server = Server::start("settings", &[]);
    for (settings, says) in [
        (
            r#"{"output": "/tmp/elsewhere.png"}"#,
            "`output` is not accepted",
        ),
        (r#"{"weights": "/etc/passwd"}"#, "`weights` is not accepted"),
        (
            r#"{"init": "/etc/passwd"}"#,
            "`init` is `content` or `noise`",
        ),
        (r#"{"report": "../r.json"}"#, "`report` is not accepted"),
        (r#"{"size": "big"}"#, "`size` must be a number"),
        (r#"{"size": 100000}"#, "`size` must be from 16 to 4096"),
        (
            r#"{"style_weight": -1}"#,
            "`style_weight` must be at least 0",
        ),
        (r#"{"optimizer": "sgd"}"#, "sgd"),
        (
            r#"{"style_blend": [0.5, 0.5]}"#,
            "2 weights given for 1 styles",
        ),
        (r#"{"line_search": "none"}"#, "--line-search none"),
        (r#"{"device": "tpu"}"#, "tpu"),
        (r#"{"brightness": 2}"#, "unknown setting `brightness`"),
        ("not json", "not valid JSON"),
    ] {
        let r = server.submit(&photo(), &[painting()], settings);
        assert_eq!(r.status, 400, "{settings}: {}", r.text());
        assert!(
            r.error().contains(says),
            "{settings}: {says:?} not in {}",
            r.error()
        );
        assert!(
            !r.error().contains(&server.out.display().to_string()),
            "a server path leaked: {}",
            r.error()
        );
    }
    assert!(server.files().is_empty(), "{:?}", server.files());
    // Names from the browser never become paths; unknown ids and examples are 404s.
    for path in [
        "/api/jobs/..%2F..%2Fetc",
        "/api/jobs/1/image",
        "/api/examples/..%2F..%2FCargo.toml",
        "/nowhere",
    ] {
        assert_eq!(server.get(path).status, 404, "{path}");
    }
}

/// A job that fails says why; the server goes on with the next one.
#[test]
fn a_failed_job_does_not_take_the_server_down() {
    let server = Server::start("failed", &[]);
    // Layer names are checked against the network when the job starts.
    let bad = server.start_job(r#"{"size":32,"iters":2,"style_layers":"relu9_9"}"#);
    // Too large for the memory it may use (the CLI's memory check).
    let huge = server.start_job(r#"{"size":4096,"iters":2,"history":1000}"#);
    let good = server.start_job(r#"{"size":32,"iters":2}"#);
    let failed = server.wait_until_ended(&bad);
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("relu9_9")),
        "{failed}"
    );
    let done = server.wait_until_ended(&good);
    assert_eq!(done["state"], "done", "{done}");
    let huge = server.get_json(&format!("/api/jobs/{huge}"));
    if huge["state"] == "failed" {
        assert!(
            huge["error"]
                .as_str()
                .is_some_and(|e| e.contains("needs about")),
            "{huge}"
        );
    }
    assert_eq!(server.get("/").status, 200);
}

/// Ctrl-C: the running job stops after its current evaluation, its picture is saved, and
/// the server exits.
#[test]
fn ctrl_c_stops_the_running_job_saves_its_picture_and_exits() {
    let mut server = Server::start("ctrl-c", &[]);
    let id = server.start_job(r#"{"size":48,"iters":5000}"#);
    server.wait_for(&id, "its second evaluation", |s| {
        s["evaluation"].as_u64() >= Some(2)
    });
    let queued = server.start_job(r#"{"size":48,"iters":5}"#);
    let pid = server.child.id().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let start = Instant::now();
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the server did not exit after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(200));
    let said = format!(
        "{}{}",
        server.stdout.lock().unwrap(),
        server.stderr.lock().unwrap()
    );
    assert!(status.success(), "{status}: {said}");
    let saved =
        std::fs::read(server.out.join("job-0001/result.png")).expect("the picture is saved");
    let img = image::load_from_memory(&saved).unwrap();
    assert_eq!((img.width(), img.height()), (48, 32));
    assert!(server.out.join("job-0001/report.json").is_file(), "{said}");
    // The queued job never started.
    assert!(!server
        .out
        .join(format!("job-{:0>4}/result.png", queued))
        .exists());
    assert!(said.contains("job 1: stopped"), "{said}");
}

/// The page, its script and stylesheet, and the examples come from the program itself.
#[test]
fn the_page_and_the_examples_are_served_from_the_program() {
    let server = Server::start("page", &[]);
    let page = server.get("/");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<script src=\"/app.js\""));
    assert!(
        !page.text().contains("https://"),
        "the page must not need the network"
    );
    for (path, kind) in [("/app.js", "text/javascript"), ("/style.css", "text/css")] {
        let r = server.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.header("content-type")
                .is_some_and(|c| c.starts_with(kind)),
            "{path}"
        );
    }
    let options = server.get_json("/api/options");
    let knob = |name: &str| {
        options["knobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == name)
            .cloned()
            .unwrap()
    };
    // The CLI's defaults.
    assert_eq!(knob("size")["default"], "512");
    assert_eq!(knob("iters")["default"], "300");
    assert_eq!(knob("style_weight")["default"], "1000");
    assert_eq!(knob("device")["default"], "cpu");
    let examples = options["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 6);
    let cat = server.get("/api/examples/chelsea.png");
    assert_eq!(cat.body, serve_common::asset("chelsea.png"));
}

/// A script that reads the URL and closes its end of the pipe must not stop the server: its
/// later lines (at a job's end, at Ctrl-C) go nowhere.
#[test]
fn a_closed_stdout_does_not_stop_the_server() {
    use std::io::BufRead;
    let out = std::env::temp_dir().join(format!("picasso-serve-closed-{}", std::process::id()));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_picasso"))
        .args(["serve", "--port", "0", "--device", "cpu", "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped: the pipe is closed.
    let port: u16 = first
        .split("127.0.0.1:")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let host = format!("127.0.0.1:{port}");
    let (content_type, body) = serve_common::multipart(&[
        photo(),
        painting(),
        Part::text("settings", r#"{"size":32,"iters":2}"#),
    ]);
    let r = serve_common::request(
        port,
        "POST",
        "/api/jobs",
        &[("Host", &host), ("Content-Type", &content_type)],
        &body,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let start = Instant::now();
    loop {
        let r = serve_common::request(port, "GET", "/api/jobs/1", &[("Host", &host)], b"");
        if r.json()["state"] == "done" {
            break;
        }
        assert!(start.elapsed() < serve_common::PATIENCE, "{}", r.text());
        std::thread::sleep(Duration::from_millis(50));
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no exit after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = std::fs::remove_dir_all(&out);
    assert!(status.success(), "{status}");
}

/// Several paintings in one job, and a time budget instead of a number of evaluations: the
/// job ends as done, with its picture, when the time is up.
#[test]
fn a_time_limit_ends_a_job_with_several_paintings_as_done() {
    let server = Server::start("time", &[]);
    let scream = Part::file(
        "style",
        "the_scream.jpg",
        serve_common::asset("the_scream.jpg"),
    );
    let r = server.submit(
        &photo(),
        &[painting(), scream],
        r#"{"size":48,"iters":5000,"time_limit":1.5,"style_blend":[0.7,0.3]}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    let status = server.wait_until_ended(&id);
    assert_eq!(status["state"], "done", "{status}");
    assert_eq!(status["stop_reason"], "time limit", "{status}");
    assert_eq!(
        status["style_names"],
        serde_json::json!(["udnie.jpg", "the_scream.jpg"])
    );
    let evaluations = status["evaluation"].as_u64().unwrap();
    assert!((1..5000).contains(&evaluations), "{status}");
    let report = server.get(&format!("/api/jobs/{id}/report")).json();
    assert_eq!(report["styles"].as_array().map(Vec::len), Some(2));
    // The report says why as `stylize --time` does.
    let last_scale = report["scales"].as_array().and_then(|s| s.last());
    assert_eq!(
        last_scale.map(|s| &s["stop_reason"]),
        Some(&serde_json::json!("time")),
        "{report}"
    );
    // f32 weights, written as f64.
    let blend: Vec<f64> = report["settings"]["style_blend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_f64().unwrap())
        .collect();
    assert!(
        (blend[0] - 0.7).abs() < 1e-6 && (blend[1] - 0.3).abs() < 1e-6,
        "{blend:?}"
    );
    assert_eq!(
        png_size(&server.get(&format!("/api/jobs/{id}/image")).body),
        (48, 32)
    );
}

/// The page's time limit is `stylize --time`: split over the schedule's sizes, so a job that
/// paints coarse to fine hands over in time and ends at the size asked for, not at the first.
#[test]
fn a_time_limit_is_shared_between_the_sizes() {
    let server = Server::start("time-sizes", &[]);
    let id = server.start_job(r#"{"size":48,"multiscale":"32:5000,48:5000","time_limit":3}"#);
    let status = server.wait_until_ended(&id);
    assert_eq!(status["state"], "done", "{status}");
    assert_eq!(status["stop_reason"], "time limit", "{status}");
    let report = server.get(&format!("/api/jobs/{id}/report")).json();
    let scales = report["scales"].as_array().unwrap();
    let sizes: Vec<u64> = scales.iter().map(|s| s["size"].as_u64().unwrap()).collect();
    assert_eq!(sizes, [32, 48], "{report}");
    for scale in scales {
        assert_eq!(scale["stop_reason"], "time", "{report}");
    }
    assert_eq!(report["settings"]["time_budget_seconds"], 3.0, "{report}");
    assert_eq!(
        png_size(&server.get(&format!("/api/jobs/{id}/image")).body),
        (48, 32)
    );
}

/// A forgotten script cannot fill the machine with work: past `--max-queued` waiting jobs,
/// a new one is refused with 503 until the queue shortens.
#[test]
fn a_full_queue_refuses_new_jobs() {
    let server = Server::start("full", &["--max-queued", "1"]);
    let long = r#"{"size":32,"iters":5000}"#;
    let running = server.start_job(long);
    server.wait_for(&running, "running", |s| s["state"] == "running");
    let waiting = server.start_job(long);
    let refused = server.submit(&photo(), &[painting()], long);
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert!(
        refused.error().contains("--max-queued"),
        "{}",
        refused.text()
    );
    assert!(
        !server.out.join("job-0003").exists(),
        "{:?}",
        server.files()
    );
    server.request("POST", &format!("/api/jobs/{waiting}/stop"), &[], b"");
    let accepted = server.submit(&photo(), &[painting()], long);
    assert_eq!(accepted.status, 201, "{}", accepted.text());
    server.request("POST", &format!("/api/jobs/{running}/stop"), &[], b"");
}

/// Steps far too long climb or blow up; as with `stylize`, the picture kept is the last one
/// whose loss was finite and not above the start, never the exploded one.
#[test]
fn a_diverging_job_keeps_the_last_picture_not_above_its_start() {
    let server = Server::start("diverge", &[]);
    let id =
        server.start_job(r#"{"size":48,"iters":5,"unbounded":true,"line_search":"none","lr":1e6}"#);
    let events = follow_events(server.port, &id);
    let last = events.last().expect("events").clone();
    let first_loss = events
        .iter()
        .flat_map(|e| e["losses"].as_array().cloned().unwrap_or_default())
        .map(|p| p[1].as_f64().unwrap())
        .next()
        .expect("a first loss");
    assert!(
        last["state"] == "failed" || last["state"] == "done",
        "{last}"
    );
    let report = server.get(&format!("/api/jobs/{id}/report"));
    assert_eq!(report.status, 200, "{}", report.text());
    let kept = report.json()["total"].as_f64().unwrap();
    assert!(
        kept <= first_loss,
        "kept a loss of {kept:e}, above the start {first_loss:e}: {last}"
    );
    assert_eq!(server.get(&format!("/api/jobs/{id}/image")).status, 200);
}
