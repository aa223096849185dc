//! What every request passes before it reaches a page or a server function,
//! and what every response carries:
//! - security headers: a Content-Security-Policy (pages get one naming the
//!   nonce Leptos put on its inline scripts, plus `'wasm-unsafe-eval'` for the
//!   bundle), `frame-ancestors 'none'` and X-Frame-Options (no clickjacking of
//!   the token field), nosniff, and no Referer leaving the site;
//! - the Host allow-list: a name that is not vigil's own (DNS rebinding points
//!   an attacker's name at a loopback address) is answered 421;
//! - slow token guessing: each client address gets a few wrong operator
//!   tokens, then one more every [`REFILL`]; past that its writes answer 429.
//!   Every wrong token is logged, without the value tried.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Wrong tokens one address may send in a burst.
const BURST: f64 = 10.0;
/// After the burst, one more wrong token per this.
const REFILL: Duration = Duration::from_secs(5);
/// Addresses remembered at most; past this, those back at a full burst are forgotten.
const MAX_TRACKED: usize = 10_000;

/// The policy of everything that is not a page (assets, probes, server
/// functions): nothing may run or be framed.
const PLAIN_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// The policy of a rendered page whose inline scripts carry `nonce`.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// Inside a page render (the Leptos context): sets the page's policy with
/// this response's nonce.
pub fn provide_page_policy() {
    use leptos::prelude::use_context;
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&page_policy(&nonce)) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Middleware: the security headers on every response (a page's own policy wins).
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed = [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, PLAIN_POLICY),
    ];
    for (name, value) in fixed {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// The Host names served.
#[derive(Clone, Debug, Default)]
pub struct AllowedHosts {
    /// Lower case, no port.
    names: Vec<String>,
    any: bool,
}

impl AllowedHosts {
    /// `configured` (`[web] allowed_hosts`, `*` for any) plus the host of
    /// `public_url`; `localhost` and IP addresses are always served (a
    /// browser sends an address as Host only when it was asked for that address).
    pub fn new(configured: &[String], public_url: Option<&str>) -> Self {
        let mut names: Vec<String> = configured.to_vec();
        if let Some(host) = public_url.and_then(url_host) {
            names.push(host);
        }
        Self {
            any: names.iter().any(|name| name == "*"),
            names,
        }
    }

    /// Whether a request with this Host header value is served.
    pub fn allows(&self, host_header: &str) -> bool {
        let host = host_name(host_header);
        self.any
            || host.parse::<IpAddr>().is_ok()
            || host == "localhost"
            || host.ends_with(".localhost")
            || self.names.contains(&host)
    }
}

/// The host of `scheme://host[:port]/...`, lower case.
fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let host = host_name(crate::config::http_url::authority(rest));
    (!host.is_empty()).then_some(host)
}

/// `Example.com:3000` -> `example.com`; `[::1]:3000` -> `::1`; a trailing dot goes.
fn host_name(authority: &str) -> String {
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => authority.split(':').next().unwrap_or(authority),
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Middleware: 421 for a Host header that is not one of vigil's names. A
/// request without one (HTTP/1.0 tools) is served: browsers always send it.
pub async fn allowed_host(
    State(hosts): State<Arc<AllowedHosts>>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .map(|value| value.to_str().unwrap_or("\u{fffd}").to_string())
        .or_else(|| request.uri().authority().map(ToString::to_string));
    match host {
        Some(host) if !hosts.allows(&host) => {
            tracing::debug!(host = %host.escape_debug(), "request for a host vigil does not serve");
            (
                StatusCode::MISDIRECTED_REQUEST,
                "vigil does not answer to this host name: add it to `[web] allowed_hosts` in the config\n",
            )
                .into_response()
        }
        _ => next.run(request).await,
    }
}

/// Wrong operator tokens per client address (a token bucket each).
#[derive(Default)]
pub struct TokenAttempts {
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refilled(self, now: Instant) -> Self {
        let gained = now.duration_since(self.at).as_secs_f64() / REFILL.as_secs_f64();
        Self {
            tokens: (self.tokens + gained).min(BURST),
            at: now,
        }
    }
}

impl TokenAttempts {
    /// How long `client` must wait before its next write, if it must.
    fn wait(&self, client: IpAddr, now: Instant) -> Option<Duration> {
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.get(&client)?.refilled(now);
        (bucket.tokens < 1.0).then(|| REFILL.mul_f64(1.0 - bucket.tokens))
    }

    /// Counts one wrong token from `client`.
    fn failed(&self, client: IpAddr, now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_TRACKED {
            buckets.retain(|_, bucket| bucket.refilled(now).tokens < BURST);
        }
        let bucket = buckets
            .get(&client)
            .copied()
            .unwrap_or(Bucket {
                tokens: BURST,
                at: now,
            })
            .refilled(now);
        buckets.insert(
            client,
            Bucket {
                tokens: (bucket.tokens - 1.0).max(0.0),
                at: now,
            },
        );
    }
}

/// Middleware: a server function that writes (every one but the `fetch_*`
/// reads takes the operator token) is refused with 429 while its client has
/// used up its wrong tokens; a 403 answer (wrong token) counts against it.
pub async fn token_attempts(
    State(attempts): State<Arc<TokenAttempts>>,
    request: Request,
    next: Next,
) -> Response {
    let endpoint = request
        .uri()
        .path()
        .strip_prefix("/api/")
        .filter(|name| request.method() == Method::POST && !name.starts_with("fetch_"))
        .map(ToString::to_string);
    let Some(endpoint) = endpoint else {
        return next.run(request).await;
    };
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    if let Some(wait) = attempts.wait(client, Instant::now()) {
        tracing::debug!(%client, endpoint, "write refused: too many wrong operator tokens");
        let seconds = wait.as_secs() + 1;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, seconds.to_string())],
            format!("too many wrong operator tokens from this address: try again in {seconds} s\n"),
        )
            .into_response();
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::FORBIDDEN {
        attempts.failed(client, Instant::now());
        tracing::warn!(%client, endpoint, "wrong operator token (the value tried is not logged)");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_vigils_names_addresses_and_localhost() {
        let hosts = AllowedHosts::new(
            &["vigil.example.com".into()],
            Some("https://Alerts.Example.org:8443/base"),
        );
        for host in [
            "127.0.0.1:3000",
            "[::1]:3000",
            "10.1.2.3",
            "localhost:3000",
            "LOCALHOST",
            "vigil.example.com",
            "vigil.example.com.:80",
            "alerts.example.org:8443",
        ] {
            assert!(hosts.allows(host), "{host}");
        }
        for host in [
            "evil.example",
            "vigil.example.com.evil.example",
            "127.0.0.1.nip.io",
            "",
        ] {
            assert!(!hosts.allows(host), "{host}");
        }
        assert!(AllowedHosts::new(&["*".into()], None).allows("anything.example"));
    }

    #[test]
    fn wrong_tokens_are_limited_per_address_and_refill() {
        let attempts = TokenAttempts::default();
        let start = Instant::now();
        let guesser = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let other = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        for _ in 0..BURST as usize {
            assert_eq!(attempts.wait(guesser, start), None);
            attempts.failed(guesser, start);
        }
        let wait = attempts.wait(guesser, start).expect("limited");
        assert_eq!(wait, REFILL);
        assert_eq!(attempts.wait(other, start), None, "only the guesser waits");
        assert_eq!(
            attempts.wait(guesser, start + REFILL),
            None,
            "one more after REFILL"
        );
        attempts.failed(guesser, start + REFILL);
        assert!(attempts.wait(guesser, start + REFILL).is_some());
    }
}
