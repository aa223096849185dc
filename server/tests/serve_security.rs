//! `vigil serve`'s surface, found by trying it as an attacker would: headers
//! that stop framing and sniffing, a policy that still lets the app's own
//! scripts run, Host names it does not own, short and guessed operator
//! tokens, unknown ids, and error bodies that echo the password.

#[path = "support/fake_http.rs"]
mod fake_http;
#[path = "support/serve.rs"]
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use fake_http::FakeHttp;
use support::{request, serve_with, Server};

const EMBEDDED: &str =
    "[source]\nkind = \"sqlite\"\npath = \"{DIR}/vigil.sqlite\"\n[simulator]\nusers = 60\ndays = 2\nseed = 3\n";
const OPERATOR_TOKEN: &str = "op-token-7c1d0e-security";

/// Sends `raw` (a whole HTTP/1.0 request) and returns the whole response:
/// (status, lower-cased header lines, body).
fn exchange(addr: &str, raw: &str) -> (u16, Vec<String>, String) {
    let mut stream = TcpStream::connect(addr).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream.write_all(raw.as_bytes()).expect("sent");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    (
        status,
        lines.map(str::to_ascii_lowercase).collect(),
        body.to_string(),
    )
}

fn get_as(addr: &str, host: &str, path: &str) -> (u16, Vec<String>, String) {
    exchange(
        addr,
        &format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n"),
    )
}

fn header<'a>(headers: &'a [String], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find_map(|line| line.strip_prefix(&format!("{name}: ")))
}

fn post(server: &Server, endpoint: &str, form: &str) -> (u16, String) {
    request(&server.addr, "POST", &format!("/api/{endpoint}"), form).expect("answers")
}

#[test]
fn every_response_forbids_framing_and_sniffing_and_pages_allow_only_their_own_scripts() {
    let server = serve_with(EMBEDDED, &[], |_| {});
    for path in [
        "/",
        "/metric/feed_views",
        "/alerts",
        "/no/such/page",
        "/healthz",
        "/metrics",
        "/pkg/vigil.js",
    ] {
        let (_, headers, _) = get_as(&server.addr, &server.addr, path);
        assert_eq!(header(&headers, "x-frame-options"), Some("deny"), "{path}");
        assert_eq!(
            header(&headers, "x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            header(&headers, "referrer-policy"),
            Some("no-referrer"),
            "{path}"
        );
        let policy = header(&headers, "content-security-policy").expect(path);
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
    }
    // A page's policy names the nonce its inline scripts carry, and allows
    // the wasm bundle; nothing else inline runs.
    let raw = format!("GET /alerts HTTP/1.0\r\nHost: {}\r\n\r\n", server.addr);
    let (status, headers, page) = exchange(&server.addr, &raw);
    assert_eq!(status, 200);
    let policy = header(&headers, "content-security-policy").expect("a policy");
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the policy");
    assert!(policy.contains("'wasm-unsafe-eval'"), "{policy}");
    assert!(
        !policy.contains("script-src 'self' 'unsafe-inline'"),
        "{policy}"
    );
    // The nonce is lower-cased with the header lines; compare case-insensitively.
    let scripts = page.matches("<script").count();
    assert!(scripts > 0, "the page has inline scripts: {page}");
    let with_nonce = page
        .to_ascii_lowercase()
        .matches(&format!("nonce=\"{nonce}\""))
        .count();
    assert_eq!(
        with_nonce, scripts,
        "every script carries this response's nonce"
    );
    let (_, again, _) = exchange(&server.addr, &raw);
    assert_ne!(
        header(&again, "content-security-policy"),
        Some(policy),
        "a fresh nonce each time"
    );
}

#[test]
fn names_vigil_does_not_own_are_refused_and_its_own_are_served() {
    let config = format!(
        "{EMBEDDED}[alerts]\npublic_url = \"https://alerts.example.org/vigil\"\n\
         [web]\nallowed_hosts = [\"vigil.example.com\"]\n"
    );
    let server = serve_with(&config, &[], |_| {});
    let port = server.addr.rsplit(':').next().unwrap().to_string();
    for host in [
        server.addr.clone(),
        format!("localhost:{port}"),
        "vigil.example.com".into(),
        "alerts.example.org".into(),
    ] {
        let (status, _, body) = get_as(&server.addr, &host, "/healthz");
        assert_eq!(status, 200, "{host}: {body}");
    }
    // DNS rebinding: an attacker's name resolving to this address.
    for host in ["attacker.example", "vigil.example.com.attacker.example"] {
        for path in ["/", "/readyz", "/api/fetch_alerts"] {
            let (status, headers, body) = get_as(&server.addr, host, path);
            assert_eq!(status, 421, "{host}{path}: {body}");
            assert!(body.contains("allowed_hosts"), "{body}");
            assert_eq!(header(&headers, "x-frame-options"), Some("deny"));
        }
    }
}

#[test]
fn a_short_operator_token_is_refused_at_start_without_being_shown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("VIGIL_CONFIG")
        .env("VIGIL_OPERATOR_TOKEN", "hunter2-short")
        .output()
        .expect("vigil runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("VIGIL_OPERATOR_TOKEN: too short (13 characters)")
            && stderr.contains("at least 16"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(
        !dir.path().join("vigil.sqlite").exists(),
        "refused before anything is written"
    );
}

#[test]
fn wrong_operator_tokens_are_logged_without_the_value_and_then_slowed_down() {
    let server = serve_with(
        EMBEDDED,
        &[("VIGIL_OPERATOR_TOKEN", OPERATOR_TOKEN)],
        |_| {},
    );
    let mut statuses = Vec::new();
    for guess in 0..12 {
        let (status, _) = post(
            &server,
            "create_silence",
            &format!("metric=feed_views&minutes=30&token=guess-{guess:04}"),
        );
        statuses.push(status);
    }
    assert_eq!(statuses[..10], [403; 10], "{statuses:?}");
    assert_eq!(statuses[10..], [429; 2], "{statuses:?}");
    // Now even the right token waits (the guesser cannot tell a hit), and
    // reads are not affected.
    let (status, body) = post(
        &server,
        "create_silence",
        &format!("metric=feed_views&minutes=30&token={OPERATOR_TOKEN}"),
    );
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("too many wrong operator tokens"), "{body}");
    let (status, body) = post(&server, "fetch_silences", "");
    assert_eq!(status, 200, "{body}");
    let log = std::fs::read_to_string(&server.log).expect("log");
    assert_eq!(
        log.matches("wrong operator token (the value tried is not logged)")
            .count(),
        10,
        "{log}"
    );
    assert!(!log.contains("guess-00"), "a tried value is in the log");
    assert!(
        !log.contains(OPERATOR_TOKEN),
        "the operator token is in the log"
    );
}

#[test]
fn unknown_ids_are_not_found_and_readyz_names_the_store_file_only() {
    let server = serve_with(
        EMBEDDED,
        &[("VIGIL_OPERATOR_TOKEN", OPERATOR_TOKEN)],
        |_| {},
    );
    for (endpoint, form) in [
        (
            "label_alert",
            format!("id=99&label=expected&token={OPERATOR_TOKEN}"),
        ),
        (
            "label_alert",
            format!("id=18446744073709551615&label=false_alarm&token={OPERATOR_TOKEN}"),
        ),
        ("end_silence", format!("id=424242&token={OPERATOR_TOKEN}")),
        ("remove_label", format!("id=424242&token={OPERATOR_TOKEN}")),
    ] {
        let (status, body) = post(&server, endpoint, &form);
        assert_eq!(status, 404, "{endpoint} {form}: {body}");
        assert!(body.contains("no "), "{body}");
    }
    let (_, _, body) = get_as(&server.addr, &server.addr, "/readyz");
    let readiness: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(readiness["source"], "sqlite vigil.sqlite", "{body}");
    let dir = server.dir.path().to_str().unwrap();
    assert!(
        !body.contains(dir),
        "the store's directory is shown: {body}"
    );
}

#[test]
fn an_error_body_echoing_the_request_leaks_no_secret_and_is_logged_scrubbed() {
    const PASSWORD: &str = "ch-password-5a8e1f";
    const BOT_TOKEN: &str = "123456789:AAF-echo_secret_token_xyz";
    // A "ClickHouse" (or a proxy before it) that answers every request with
    // 500 and the request's own head, password header included.
    let echo = FakeHttp::start(|seen| (500, format!("proxy error, you sent:\n{}", seen.head)));
    let config = format!(
        "[source]\nkind = \"clickhouse\"\nurl = \"http://{}\"\nuser = \"reader\"\npassword = \"{PASSWORD}\"\n\
         [telegram]\nchat = -100123\napi_url = \"http://127.0.0.1:9\"\n",
        echo.addr
    );
    let mut server = serve_with(
        &config,
        &[
            ("VIGIL_TELEGRAM_TOKEN", BOT_TOKEN),
            ("VIGIL_OPERATOR_TOKEN", OPERATOR_TOKEN),
        ],
        |_| {},
    );
    echo.wait_for(30, |seen| seen.head.contains(PASSWORD));
    let mut leaving = String::new();
    for path in ["/readyz", "/", "/metric/feed_views", "/alerts", "/metrics"] {
        leaving.push_str(&get_as(&server.addr, &server.addr, path).2);
    }
    for (endpoint, form) in [
        ("fetch_metric_history", "name=feed_views&days=1"),
        ("fetch_slices", "name=feed_views&dimension=os"),
    ] {
        let (status, body) = post(&server, endpoint, form);
        assert_eq!(status, 500, "{endpoint}: {body}");
        leaving.push_str(&body);
    }
    let (status, _, readyz) = get_as(&server.addr, &server.addr, "/readyz");
    assert_eq!(status, 503, "{readyz}");
    assert!(readyz.contains("not a ClickHouse error"), "{readyz}");
    assert!(
        !readyz.contains("x-clickhouse"),
        "the raw body left the process: {readyz}"
    );
    std::thread::sleep(Duration::from_secs(1));
    let _ = server.child.kill();
    let _ = server.child.wait();
    let log = std::fs::read_to_string(&server.log).expect("log");
    assert!(
        log.contains("X-ClickHouse-Key: <redacted>")
            || log.contains("x-clickhouse-key: <redacted>"),
        "the raw body is in the log, scrubbed:\n{log}"
    );
    let bot_secret = BOT_TOKEN.split_once(':').unwrap().1;
    for (what, text) in [("responses", &leaving), ("log", &log)] {
        let lines: Vec<&str> = text
            .lines()
            .filter(|line| line.contains(PASSWORD))
            .collect();
        assert!(lines.is_empty(), "password in the {what}: {lines:#?}");
        assert!(!text.contains(bot_secret), "bot token in the {what}");
        assert!(
            !text.contains(OPERATOR_TOKEN),
            "operator token in the {what}"
        );
    }
}
