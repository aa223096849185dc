//! The heartbeat of `vigil serve`, against a local stand-in for
//! healthchecks.io: a good scheduled check GETs the configured URL, a failed
//! one POSTs `<url>/fail` with the reason; `/metrics` tells the age of the
//! last good check and that this instance runs the checks. The URL (whose
//! path is the secret) never shows in the log.

#[path = "support/fake_http.rs"]
mod fake_http;
#[path = "support/serve.rs"]
mod support;

use std::time::{Duration, Instant};

use fake_http::FakeHttp;
use support::{get, metric_sample as sample, serve_with};

const PING_PATH: &str = "/ping/0f3c9a7e-secret-check-id";

/// The metrics page once it contains `needle` (fails after `secs`).
fn metrics_with(addr: &str, needle: &str, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let body = get(addr, "/metrics").map(|r| r.1).unwrap_or_default();
        if body.contains(needle) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/metrics never showed {needle:?}:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_good_check_pings_the_heartbeat_and_metrics_tell_its_age() {
    let monitor = FakeHttp::start(|_| (200, "OK".into()));
    let config = format!(
        "[source]\nkind = \"sqlite\"\npath = \"{{DIR}}/vigil.sqlite\"\n\
         [simulator]\nusers = 60\ndays = 2\nseed = 3\n\
         [heartbeat]\nurl = \"http://{}{PING_PATH}\"\n",
        monitor.addr
    );
    let server = serve_with(&config, &[], |_| {});
    let ping = monitor.wait_for(60, |seen| seen.target().starts_with("GET "));
    assert_eq!(ping.target(), format!("GET {PING_PATH}"));
    assert!(
        monitor
            .requests()
            .iter()
            .all(|seen| !seen.target().contains("/fail")),
        "{:?}",
        monitor.requests()
    );
    let metrics = metrics_with(&server.addr, "vigil_last_successful_check_age_seconds", 30);
    let age = sample(&metrics, "vigil_last_successful_check_age_seconds").expect("an age");
    assert!((0.0..60.0).contains(&age), "{age}");
    assert_eq!(sample(&metrics, "vigil_leader"), Some(1.0), "{metrics}");
    assert!(metrics.contains("# TYPE vigil_last_successful_check_age_seconds gauge"));

    let log = std::fs::read_to_string(&server.log).expect("log");
    assert!(
        log.contains("heartbeat"),
        "the heartbeat is mentioned:\n{log}"
    );
    assert!(
        !log.contains("secret-check-id"),
        "the URL's secret path is in the log:\n{log}"
    );
}

#[test]
fn a_failed_check_posts_its_reason_to_fail_and_metrics_have_no_age() {
    let monitor = FakeHttp::start(|_| (200, "OK".into()));
    // Nothing listens on port 9: every check fails to reach ClickHouse.
    let config = format!(
        "[source]\nkind = \"clickhouse\"\nurl = \"http://127.0.0.1:9\"\npassword = \"ch-pw-hb-31d7\"\n\
         [heartbeat]\nurl = \"http://{}{PING_PATH}\"\n",
        monitor.addr
    );
    let server = serve_with(&config, &[], |_| {});
    let failure = monitor.wait_for(60, |seen| seen.target().starts_with("POST "));
    assert_eq!(failure.target(), format!("POST {PING_PATH}/fail"));
    assert!(
        failure.body.contains("cannot reach clickhouse"),
        "{}",
        failure.body
    );
    assert!(!failure.body.contains("ch-pw-hb-31d7"), "{}", failure.body);
    assert!(
        monitor
            .requests()
            .iter()
            .all(|seen| !seen.target().starts_with("GET ")),
        "no success ping: {:?}",
        monitor.requests()
    );
    let metrics = metrics_with(&server.addr, "vigil_checks_total{result=\"failed\"} 1", 30);
    assert_eq!(sample(&metrics, "vigil_leader"), Some(1.0), "{metrics}");
    assert!(
        !metrics.contains("vigil_last_successful_check_age_seconds"),
        "no age before the first good check:\n{metrics}"
    );
}
