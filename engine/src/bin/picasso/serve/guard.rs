//! Every request must be addressed to this server by a name that cannot be someone else's:
//! `localhost` or an IP address, with our port, in `Host` (a DNS-rebinding page reaches us
//! under its own domain name and is refused), and, when a browser says where the request comes
//! from (`Origin`, `Sec-Fetch-Site`), it must come from our own page (a page elsewhere cannot
//! submit or stop jobs). Scripts such as `curl` send neither and are let through.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::net::IpAddr;

/// The port the server answers on (known once it is bound).
#[derive(Clone, Copy)]
pub struct OwnPort(pub u16);

/// The page's policy: scripts, styles, pictures and connections from this server only, never
/// shown inside another site's frame.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' blob: data:; \
     style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; \
     form-action 'self'; base-uri 'none'";

pub async fn guard(State(port): State<OwnPort>, request: Request, next: Next) -> Response {
    if let Err(why) = check(request.headers(), port.0) {
        let mut response = (StatusCode::FORBIDDEN, Json(json!({ "error": why }))).into_response();
        harden(response.headers_mut());
        return response;
    }
    let mut response = next.run(request).await;
    harden(response.headers_mut());
    response
}

/// Why the request is refused, if it is.
pub fn check(headers: &HeaderMap, port: u16) -> Result<(), String> {
    let text = |name: header::HeaderName| headers.get(name).map(|v| v.to_str().unwrap_or("?"));
    let host = text(header::HOST).ok_or("the request has no Host header")?;
    if !is_own_authority(host, port) {
        return Err(format!(
            "Host `{host}` is not this server: open it as http://127.0.0.1:{port}/ or \
             http://localhost:{port}/ (requests under other names are refused, so that no web \
             page can reach this server through DNS rebinding)"
        ));
    }
    if let Some(origin) = text(header::ORIGIN) {
        let own = origin
            .strip_prefix("http://")
            .is_some_and(|authority| is_own_authority(authority, port));
        if !own {
            return Err(format!(
                "requests from other sites are refused (Origin `{origin}`): only this \
                 server's own page may use it"
            ));
        }
    }
    // Browsers that send no Origin on a GET still say where it comes from: reading the
    // results is for our page only too. (`same-site` is another port of this machine.)
    if let Some("cross-site" | "same-site") =
        text(header::HeaderName::from_static("sec-fetch-site"))
    {
        return Err("requests from other sites are refused (Sec-Fetch-Site)".into());
    }
    Ok(())
}

/// `localhost:PORT` or `IP:PORT` (IPv6 in brackets), with our port.
fn is_own_authority(authority: &str, port: u16) -> bool {
    let Some((name, given_port)) = authority.rsplit_once(':') else {
        return false;
    };
    if given_port.parse::<u16>().ok() != Some(port) {
        return false;
    }
    let name = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok()
}

/// Headers that keep the page from being framed, sniffed or leaking where it was.
fn harden(headers: &mut HeaderMap) {
    let set = |headers: &mut HeaderMap, name: &'static str, value: &'static str| {
        headers.insert(
            header::HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    };
    set(headers, "content-security-policy", CONTENT_SECURITY_POLICY);
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "x-frame-options", "DENY");
    set(headers, "referrer-policy", "no-referrer");
    set(headers, "cross-origin-resource-policy", "same-origin");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn own_names_pass_and_others_do_not() {
        assert!(check(&headers(&[("host", "127.0.0.1:8080")]), 8080).is_ok());
        assert!(check(
            &headers(&[
                ("host", "localhost:8080"),
                ("origin", "http://localhost:8080")
            ]),
            8080
        )
        .is_ok());
        assert!(check(
            &headers(&[("host", "[::1]:8080"), ("origin", "http://[::1]:8080")]),
            8080
        )
        .is_ok());
        assert!(check(&headers(&[("host", "192.168.1.5:8080")]), 8080).is_ok());
        for refused in [
            headers(&[("host", "evil.example:8080")]),
            headers(&[("host", "127.0.0.1:9999")]),
            headers(&[("host", "127.0.0.1")]),
            headers(&[]),
            headers(&[
                ("host", "127.0.0.1:8080"),
                ("origin", "http://evil.example"),
            ]),
            headers(&[("host", "127.0.0.1:8080"), ("origin", "null")]),
            headers(&[
                ("host", "127.0.0.1:8080"),
                ("origin", "https://127.0.0.1:8080.evil.example"),
            ]),
            headers(&[("host", "127.0.0.1:8080"), ("sec-fetch-site", "cross-site")]),
        ] {
            assert!(check(&refused, 8080).is_err(), "{refused:?}");
        }
    }
}
