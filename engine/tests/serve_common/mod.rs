//! Helpers for the `serve_*` tests: a real `picasso serve` on 127.0.0.1 (a free port), and a
//! small HTTP/1.1 client over a plain socket, so the tests see exactly the bytes a browser or
//! `curl` would send and receive.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// No test waits longer than this for anything.
pub const PATIENCE: Duration = Duration::from_secs(240);

/// A running server, killed (and its folder removed) when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub out: PathBuf,
    /// Everything it printed on stderr so far.
    pub stderr: Arc<Mutex<String>>,
    /// Its stdout after the first line.
    pub stdout: Arc<Mutex<String>>,
}

impl Server {
    /// `picasso serve --port 0 --device cpu --out TEMP` plus `extra`.
    pub fn start(name: &str, extra: &[&str]) -> Server {
        let out = std::env::temp_dir().join(format!("picasso-serve-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let mut child = Command::new(env!("CARGO_BIN_EXE_picasso"))
            .args(["serve", "--port", "0", "--device", "cpu", "--out"])
            .arg(&out)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("picasso serve starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let stdout = Arc::new(Mutex::new(String::new()));
        drain(child.stderr.take().unwrap(), Arc::clone(&stderr));
        let mut lines = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        lines
            .read_line(&mut first)
            .expect("the server prints its URL");
        drain(lines, Arc::clone(&stdout));
        // "picasso serve: http://127.0.0.1:PORT/ — results in …"
        let port = first
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no URL in {first:?}; stderr: {}", stderr.lock().unwrap()));
        Server {
            child,
            port,
            out,
            stderr,
            stdout,
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A request with the usual Host header.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let host = self.host();
        let mut all = vec![("Host", host.as_str())];
        all.extend_from_slice(headers);
        request(self.port, method, path, &all, body)
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }

    pub fn get_json(&self, path: &str) -> Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        r.json()
    }

    /// POST /api/jobs with a photo, paintings and settings; returns the response.
    pub fn submit(&self, content: &Part, styles: &[Part], settings: &str) -> Response {
        let mut parts = vec![content.clone()];
        parts.extend(styles.iter().cloned());
        parts.push(Part::text("settings", settings));
        let (content_type, body) = multipart(&parts);
        self.request(
            "POST",
            "/api/jobs",
            &[("Content-Type", &content_type)],
            &body,
        )
    }

    /// Submit and expect 201; the job's id.
    pub fn start_job(&self, settings: &str) -> String {
        let r = self.submit(&photo(), &[painting()], settings);
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["id"].as_str().expect("an id").to_string()
    }

    /// Poll the job until `done` says so (at most PATIENCE); its last status.
    pub fn wait_for(&self, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let status = self.get_json(&format!("/api/jobs/{id}"));
            if done(&status) {
                return status;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "job {id} never got to {what}: {status}\nserver: {}",
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Poll the job until it has ended (neither queued nor running); its last status.
    pub fn wait_until_ended(&self, id: &str) -> Value {
        self.wait_for(id, "its end", |s| {
            s["state"] != "queued" && s["state"] != "running"
        })
    }

    /// The folders and files under the results folder, relative to it, sorted.
    pub fn files(&self) -> Vec<String> {
        let mut found = Vec::new();
        list(&self.out, &self.out, &mut found);
        found.sort();
        found
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.out);
    }
}

fn list(root: &Path, dir: &Path, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        found.push(path.strip_prefix(root).unwrap().display().to_string());
        if path.is_dir() {
            list(root, &path, found);
        }
    }
}

fn drain(from: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(from);
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            into.lock().unwrap().push_str(&line);
            line.clear();
        }
    });
}

/// An HTTP response.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `error` message of a refusal.
    pub fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Send one request (`Connection: close`) and read the whole answer. `headers` must include
/// Host (tests send wrong ones on purpose). A `Transfer-Encoding: chunked` header sends the
/// body in chunks, without a length.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    request_within(PATIENCE, port, method, path, headers, body)
}

/// [`request`], failing if the answer takes longer than `patience`.
pub fn request_within(
    patience: Duration,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the server");
    stream.set_read_timeout(Some(patience)).unwrap();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && *v == "chunked");
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let has_length = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"));
    if !chunked && !has_length && (method == "POST" || !body.is_empty()) {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    // The server may answer (413) and close before the whole body is sent: ignore write
    // errors and read what it said.
    let _ = stream.write_all(head.as_bytes());
    if chunked {
        for chunk in body.chunks(64 * 1024) {
            if stream
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .is_err()
                || stream.write_all(chunk).is_err()
                || stream.write_all(b"\r\n").is_err()
            {
                break;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n");
    } else {
        let _ = stream.write_all(body);
    }
    let mut raw = Vec::new();
    // A reset after the answer (the server closed with unread body) still leaves the answer.
    let _ = stream.read_to_end(&mut raw);
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let is_chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if is_chunked {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

/// One part of a multipart form.
#[derive(Clone)]
pub struct Part {
    pub field: String,
    pub file_name: Option<String>,
    pub bytes: Vec<u8>,
}

impl Part {
    pub fn file(field: &str, file_name: &str, bytes: Vec<u8>) -> Part {
        Part {
            field: field.into(),
            file_name: Some(file_name.into()),
            bytes,
        }
    }

    pub fn text(field: &str, text: &str) -> Part {
        Part {
            field: field.into(),
            file_name: None,
            bytes: text.as_bytes().to_vec(),
        }
    }
}

/// A multipart/form-data body: (its Content-Type, its bytes).
pub fn multipart(parts: &[Part]) -> (String, Vec<u8>) {
    let boundary = "----picasso-test-boundary-7d93";
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match &part.file_name {
            Some(name) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{}\"; filename=\"{name}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n",
                    part.field
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{}\"\r\n\r\n",
                    part.field
                )
                .as_bytes(),
            ),
        }
        body.extend_from_slice(&part.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A bundled example picture's bytes.
pub fn asset(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/images")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The photo (Chelsea the cat, 451×300) and a painting (Udnie) the tests send.
pub fn photo() -> Part {
    Part::file("content", "chelsea.png", asset("chelsea.png"))
}

pub fn painting() -> Part {
    Part::file("style", "udnie.jpg", asset("udnie.jpg"))
}

/// Read the job's server-sent events until its final state; every status event, in order.
pub fn follow_events(port: u16, id: &str) -> Vec<Value> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let request = format!(
        "GET /api/jobs/{id}/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let start = Instant::now();
    let mut reader = BufReader::new(stream);
    let mut events = Vec::new();
    let mut line = String::new();
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    assert!(status_line.contains(" 200 "), "events: {status_line}");
    loop {
        assert!(
            start.elapsed() < PATIENCE,
            "no final state in time: {events:?}"
        );
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        // Chunked framing lines (sizes) are not `data:` lines; the events never span chunks
        // in a way that splits a `data:` line from its JSON (one write per event).
        if let Some(data) = line.trim_end().strip_prefix("data:") {
            let event: Value = serde_json::from_str(data.trim()).expect("events carry JSON");
            let state = event["state"].as_str().unwrap_or_default().to_string();
            events.push(event);
            if matches!(state.as_str(), "done" | "stopped" | "failed") {
                break;
            }
        }
    }
    events
}
