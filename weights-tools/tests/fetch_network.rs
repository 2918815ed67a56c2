//! Issue 18, items 9, 17 and 19 (fetch's messages): a download never waits forever, a cached
//! file is verified before it is returned, and a URL that is not http(s) is called that.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use common::{output_within, shared, temp_dir};
use weights_tools::sha256_hex;

fn fetch(cache: &Path, url: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_weights-tools"));
    cmd.args(["fetch", "vgg16", "--cache-dir"])
        .arg(cache)
        .args(["--url", url])
        .args(extra)
        .env_remove(weights_tools::fetch::URL_ENV);
    cmd
}

/// Answers each request with `body`, or with headers and `stall_after` bytes of it and then
/// silence (the connection held open) when `stall_after` is given. Returns the port.
fn serve(body: Vec<u8>, stall_after: Option<usize>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            match stall_after {
                Some(n) => {
                    let _ = s.write_all(&body[..n.min(body.len())]);
                    let _ = s.flush();
                    // Hold the connection open, silent, far longer than the test waits.
                    std::thread::sleep(std::time::Duration::from_secs(120));
                }
                None => {
                    let _ = s.write_all(&body);
                }
            }
        }
    });
    port
}

/// Item 9: headers and 100 bytes, then silence: the download gives up after the idle
/// timeout (1 s here) instead of waiting for ever, and leaves no partial file.
#[test]
fn a_stalled_download_times_out_and_leaves_nothing() {
    let body = vec![7u8; 10_000];
    let port = serve(body, Some(100));
    let cache = temp_dir("fetch_stall");
    let url = format!("http://127.0.0.1:{port}/vgg16-397923af.pth");
    let r = output_within(fetch(&cache, &url, &["--idle-timeout", "1"]), 30)
        .expect("fetch waited for ever on a silent server");
    let said = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{said}");
    assert!(said.contains("after 100 bytes"), "{said}");
    let left: Vec<_> = std::fs::read_dir(&cache).unwrap().flatten().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let _ = std::fs::remove_dir_all(&cache);
}

/// Item 17: a cached file that was damaged after it was written is not returned: fetch says
/// so and downloads it again.
#[test]
fn a_damaged_cached_file_is_downloaded_again() {
    let Some(dir) = shared("a_damaged_cached_file_is_downloaded_again") else {
        return;
    };
    let body = std::fs::read(dir.join("fixtures/tiny_vgg16.legacy.pth")).unwrap();
    let prefix = sha256_hex(&body)[..8].to_string();
    let port = serve(body, None);
    let cache = temp_dir("fetch_damaged");
    let url = format!("http://127.0.0.1:{port}/tiny-{prefix}.pth");
    let r = fetch(&cache, &url, &[]).output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let path = String::from_utf8_lossy(&r.stdout).trim().to_string();
    let good = std::fs::read(&path).unwrap();
    // One flipped byte in the tensor data: still a well-formed file, silently wrong values.
    let mut damaged = good.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 0x40;
    std::fs::write(&path, &damaged).unwrap();
    let r = fetch(&cache, &url, &[]).output().unwrap();
    let said = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{said}");
    assert!(said.contains("damaged"), "{said}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        good,
        "the damaged copy was returned"
    );
    let _ = std::fs::remove_dir_all(&cache);
}

/// Item 19: a `file://` URL or something that is not a URL is named as such, not blamed on
/// the network ("this machine appears to be offline").
#[test]
fn urls_that_are_not_http_are_named_for_what_they_are() {
    let cache = temp_dir("fetch_schemes");
    for (url, expected) in [
        (
            "file:///tmp/vgg16-397923af.pth",
            "only http:// and https://",
        ),
        ("vgg16-397923af.pth", "is not a URL"),
        ("http://exa mple.com/vgg16-397923af.pth", "bad URL"),
    ] {
        let r = fetch(&cache, url, &[]).output().unwrap();
        let said = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(1), "{url}: {said}");
        assert!(!said.contains("offline"), "{url}: {said}");
        assert!(said.contains(expected), "{url}: {said}");
    }
    let _ = std::fs::remove_dir_all(&cache);
}
