//! `vigil serve` as a user runs it: a real process on a free loopback port,
//! answering its probes and server-rendering its pages, and stopping cleanly on
//! SIGTERM.

#[path = "support/serve.rs"]
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use support::{get, serve_with, Server};

/// [`serve_with`] without extra environment.
fn serve(config: &str) -> Server {
    serve_with_env(config, &[])
}

/// [`serve_with`] with extra environment variables (e.g. secrets).
fn serve_with_env(config: &str, env: &[(&str, &str)]) -> Server {
    serve_with(config, env, |_| {})
}

const SMALL_EMBEDDED: &str = "[simulator]\nusers = 60\ndays = 2\nseed = 3\n";

#[test]
fn probes_and_pages_answer_on_the_embedded_default() {
    let mut server = serve(&format!(
        "[source]\nkind = \"sqlite\"\npath = \"{{DIR}}/vigil.sqlite\"\n{SMALL_EMBEDDED}"
    ));
    assert_eq!(get(&server.addr, "/healthz"), Some((200, "ok\n".into())));

    let (status, body) = get(&server.addr, "/readyz").expect("readyz answers");
    assert_eq!(status, 200, "{body}");
    let readiness: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(readiness["ready"], true);
    assert!(readiness["newest_event"].as_i64().is_some(), "{body}");

    let (status, overview) = get(&server.addr, "/").expect("overview answers");
    assert_eq!(status, 200);
    assert!(
        overview.contains("/metric/feed_views"),
        "overview links the metrics"
    );
    let (status, page) = get(&server.addr, "/metric/feed_views").expect("metric page answers");
    assert_eq!(status, 200);
    assert!(
        page.contains("data-testid=\"anomaly-count\""),
        "server-rendered count"
    );
    // A wrong address is answered as one, not with a 200 error page.
    let (status, page) = get(&server.addr, "/metric/does_not_exist").expect("answers");
    assert_eq!(status, 404, "unknown metric");
    assert!(page.contains("unknown metric"), "the page says why");
    let (status, _) = get(&server.addr, "/metric/feed_views?slice=garbage").expect("answers");
    assert_eq!(status, 400, "malformed slice");
    let (status, _) = get(&server.addr, "/metric/feed_views?slice=planet%3DMars").expect("answers");
    assert_eq!(status, 400, "a dimension the metric is not sliced by");
    let (status, _) = get(&server.addr, "/metric/feed_views?slice=os%3DAndroid").expect("answers");
    assert_eq!(status, 200, "a real slice");
    let (status, page) = get(&server.addr, "/no/such/page").expect("answers");
    assert_eq!(status, 404);
    assert!(page.contains("Page not found"));

    // SIGTERM: a clean, prompt exit (what systemd and the e2e harness send).
    let pid = server.child.id().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("status") {
            break status;
        }
        assert!(Instant::now() < deadline, "vigil did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "clean exit: {status}");
}

#[test]
fn readyz_reports_an_unreachable_source_without_secrets() {
    let server = serve(
        "[source]\nkind = \"clickhouse\"\nurl = \"http://127.0.0.1:9\"\nuser = \"reader\"\npassword = \"s3cret-pw\"\n",
    );
    let (status, body) = get(&server.addr, "/readyz").expect("readyz answers");
    assert_eq!(status, 503, "{body}");
    let readiness: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(readiness["ready"], false);
    assert!(body.contains("cannot reach"), "{body}");
    assert!(
        !body.contains("s3cret-pw"),
        "the password never leaves the server"
    );
    // Liveness is separate from readiness: the process is fine.
    assert_eq!(get(&server.addr, "/healthz").map(|r| r.0), Some(200));
}

/// Polls `path` until its body contains `needle` (or fails after `secs`).
fn wait_for(addr: &str, path: &str, needle: &str, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some((_, body)) = get(addr, path) {
            if body.contains(needle) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "{path} never showed {needle:?}: {body}"
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_scheduler_checks_at_start_and_metrics_and_readiness_say_so() {
    let server = serve(&format!(
        "[source]\nkind = \"sqlite\"\npath = \"{{DIR}}/vigil.sqlite\"\n{SMALL_EMBEDDED}"
    ));
    // The first check runs at startup (the newest complete bucket).
    let metrics = wait_for(
        &server.addr,
        "/metrics",
        "vigil_checks_total{result=\"ok\"} 1",
        60,
    );
    for line in [
        "# TYPE vigil_checks_total counter",
        "vigil_checks_total{result=\"failed\"} 0",
        "vigil_source_up 1",
        "vigil_last_check_success 1",
        "vigil_alerts{state=\"firing\"}",
        "vigil_notifications{status=\"pending\"}",
        "vigil_source_probe_duration_seconds",
        "vigil_last_check_duration_seconds",
        "vigil_source_queries_total{result=\"ok\"}",
        "vigil_source_query_duration_seconds_total",
        "vigil_source_query_duration_seconds_max",
    ] {
        assert!(metrics.contains(line), "{line:?} missing in:\n{metrics}");
    }
    let (status, body) = get(&server.addr, "/readyz").expect("readyz");
    assert_eq!(status, 200, "{body}");
    let readiness: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(readiness["last_check_ok"], true, "{body}");
    assert!(readiness["last_check"].as_i64().is_some(), "{body}");
}

#[test]
fn no_secret_appears_in_any_log_line_or_response() {
    secrets_stay_out_of_logs_and_responses("human");
}

#[test]
fn no_secret_appears_in_json_logs_either() {
    secrets_stay_out_of_logs_and_responses("json");
}

fn secrets_stay_out_of_logs_and_responses(log_format: &str) {
    const TOKEN: &str = "123456789:AAF-secret_token_value_xyz123";
    const PASSWORD: &str = "s3cret-pw-for-clickhouse";
    let mut server = serve_with_env(
        &format!(
            "[source]\nkind = \"clickhouse\"\nurl = \"http://127.0.0.1:9\"\nuser = \"reader\"\npassword = \"{PASSWORD}\"\n\n\
             [telegram]\nchat = -100123\napi_url = \"http://127.0.0.1:9\"\n"
        ),
        &[
            ("VIGIL_TELEGRAM_TOKEN", TOKEN),
            ("VIGIL_LOG_FORMAT", log_format),
        ],
    );
    // A failed check (source down) queues a notice the sender fails to deliver
    // (Telegram unreachable), and the button poller fails too: every error path logs.
    wait_for(
        &server.addr,
        "/metrics",
        "vigil_checks_total{result=\"failed\"} 1",
        60,
    );
    wait_for(
        &server.addr,
        "/metrics",
        "vigil_notifications{status=\"pending\"} 1",
        30,
    );
    std::thread::sleep(Duration::from_secs(3));
    let mut bodies = String::new();
    for path in ["/", "/metric/feed_views", "/readyz", "/metrics", "/healthz"] {
        bodies.push_str(&get(&server.addr, path).map(|r| r.1).unwrap_or_default());
    }
    let _ = server.child.kill();
    let _ = server.child.wait();
    let log = std::fs::read_to_string(&server.log).expect("log");
    if log_format == "json" {
        assert!(
            log.lines()
                .all(|line| serde_json::from_str::<serde_json::Value>(line).is_ok()),
            "every line is JSON:\n{log}"
        );
    }
    assert!(
        log.contains("telegram") && log.contains("cannot reach"),
        "the failures were logged at all:\n{log}"
    );
    let secret_part = TOKEN.split_once(':').expect("token").1;
    for (what, text) in [("log", &log), ("responses", &bodies)] {
        assert!(!text.contains(secret_part), "bot token in the {what}");
        assert!(!text.contains(PASSWORD), "password in the {what}");
    }
}

#[test]
fn an_oversized_request_body_is_refused_before_it_is_read() {
    let server = serve(&format!(
        "[source]\nkind = \"sqlite\"\npath = \"{{DIR}}/vigil.sqlite\"\n{SMALL_EMBEDDED}"
    ));
    let body = "x".repeat(1024 * 1024);
    let mut stream = TcpStream::connect(&server.addr).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let _ = write!(
        stream,
        "POST /api/fetch_metrics HTTP/1.0\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        server.addr,
        body.len()
    );
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status: u16 = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    assert_eq!(
        status,
        413,
        "{}",
        response.lines().next().unwrap_or_default()
    );
    assert_eq!(
        get(&server.addr, "/healthz").map(|r| r.0),
        Some(200),
        "still serving"
    );
}

#[test]
fn a_busy_port_is_reported_before_anything_is_written() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = busy.local_addr().expect("its address").to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("vigil.sqlite");
    let config = dir.path().join("vigil.toml");
    std::fs::write(
        &config,
        format!(
            "[source]\nkind = \"sqlite\"\npath = \"{}\"\n{SMALL_EMBEDDED}",
            store.display()
        ),
    )
    .expect("config written");
    let output = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["serve", "--addr", &addr, "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--site-root")
        .arg(dir.path().join("site"))
        .env_remove("VIGIL_CONFIG")
        .output()
        .expect("vigil runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "a busy port fails: {stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "the error names the address: {stderr}"
    );
    assert!(
        !store.exists(),
        "nothing was written before the port was found busy"
    );
    drop(busy);
}
