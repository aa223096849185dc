use std::sync::Mutex;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::config::{Config, SecretEnv};

/// One request as the fake monitor saw it: "METHOD /path" and the body.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A local HTTP listener answering `statuses` in turn (then 200), recording
/// every request; returns its base URL.
async fn fake_monitor(statuses: Vec<u16>, seen: Seen) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut statuses = statuses.into_iter();
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut raw = Vec::new();
            let mut chunk = [0u8; 4096];
            // Headers, then as many body bytes as Content-Length says.
            let (head, body) = loop {
                let n = stream.read(&mut chunk).await.unwrap_or(0);
                raw.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&raw).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|line| {
                            let (name, value) = line.split_once(':')?;
                            name.eq_ignore_ascii_case("content-length")
                                .then(|| value.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if body.len() >= length || n == 0 {
                        break (head.to_string(), body.to_string());
                    }
                } else if n == 0 {
                    break (text, String::new());
                }
            };
            let request_line = head.lines().next().unwrap_or("").to_string();
            let target = request_line
                .rsplit_once(' ')
                .map_or(request_line.clone(), |(target, _)| target.to_string());
            seen.lock().unwrap().push((target, body));
            let status = statuses.next().unwrap_or(200);
            let answer =
                format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    format!("http://{addr}")
}

fn heartbeat_config(url: &str) -> HeartbeatConfig {
    let text = format!("[heartbeat]\nurl = \"{url}\"\n");
    Config::parse(&text, "test.toml", &SecretEnv::default())
        .expect("valid config")
        .heartbeat
        .expect("a heartbeat")
}

#[tokio::test]
async fn a_good_check_gets_and_a_failed_one_posts_its_reason_to_fail() {
    let seen = Seen::default();
    let base = fake_monitor(vec![], Arc::clone(&seen)).await;
    let heartbeat = Heartbeat::new(heartbeat_config(&format!("{base}/ping/abc-123"))).unwrap();
    assert!(heartbeat.send(&Signal::Success).await);
    crate::redact::register("hunter2-clickhouse-password");
    let reason = "cannot reach clickhouse: X-ClickHouse-Key: hunter2-clickhouse-password";
    assert!(heartbeat.send(&Signal::Failure(reason.into())).await);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0], ("GET /ping/abc-123".to_string(), String::new()));
    assert_eq!(seen[1].0, "POST /ping/abc-123/fail");
    assert_eq!(
        seen[1].1,
        "cannot reach clickhouse: X-ClickHouse-Key: <redacted>"
    );
}

#[tokio::test]
async fn a_refused_ping_is_retried_and_a_dead_monitor_only_costs_a_log_line() {
    let seen = Seen::default();
    let base = fake_monitor(vec![503], Arc::clone(&seen)).await;
    let heartbeat = Heartbeat::new(heartbeat_config(&format!("{base}/p?rid=7"))).unwrap();
    assert!(heartbeat.send(&Signal::Failure("down".into())).await);
    let targets: Vec<String> = seen.lock().unwrap().iter().map(|s| s.0.clone()).collect();
    assert_eq!(targets, ["POST /p/fail?rid=7", "POST /p/fail?rid=7"]);

    // Nothing listens on the port any more: every attempt fails, none panics.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let heartbeat =
        Heartbeat::new(heartbeat_config(&format!("http://127.0.0.1:{port}/x"))).unwrap();
    assert!(!heartbeat.send(&Signal::Success).await);
}

#[tokio::test]
async fn the_pulse_remembers_the_newest_success() {
    let pulse = Pulse::new(None);
    assert_eq!(pulse.last_success(), None);
    pulse.check_failed("down");
    assert_eq!(pulse.last_success(), None);
    pulse.check_succeeded(1_000);
    pulse.check_succeeded(900);
    assert_eq!(pulse.last_success(), Some(1_000));
}

#[test]
fn reasons_are_bounded_at_a_character_boundary() {
    let long = "é".repeat(MAX_REASON_BYTES);
    let cut = bounded(long);
    assert!(cut.len() <= MAX_REASON_BYTES && cut.len() >= MAX_REASON_BYTES - 1);
    assert_eq!(bounded("short".into()), "short");
}
