//! Applying a detector from the web lab: `apply_detector` over HTTP against a
//! real `vigil serve`, recorded with its old and new values, and in effect for
//! the next check (`vigil check --dry-run` on the same state says which
//! detector judged each metric).

#[path = "support/serve.rs"]
mod support;

#[path = "support/cli.rs"]
mod cli;

use support::{request, serve_with, Server};

const TOKEN: &str = "op-token-9d2e7a-settings";
const COMBINED: &str =
    r#"{"combine":"any","members":[{"detector":"seasonal"},{"detector":"drop"}]}"#;

fn post(server: &Server, endpoint: &str, form: &str) -> (u16, String) {
    request(&server.addr, "POST", &format!("/api/{endpoint}"), form).expect("server answers")
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Form-encodes a value (the JSON's braces, quotes and commas).
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The detector column of `vigil check --dry-run` for the whole metric `metric`.
fn dry_run_detector(dir: &std::path::Path, metric: &str) -> String {
    let config = dir.join("vigil.toml");
    let csv = cli::stdout_of(&cli::vigil(&[
        "check",
        "--dry-run",
        "--config",
        config.to_str().expect("utf-8"),
        "--data-dir",
        dir.to_str().expect("utf-8"),
    ]));
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let column = header
        .iter()
        .position(|c| *c == "detector")
        .expect("a detector column");
    lines
        .map(|line| line.split(',').collect::<Vec<_>>())
        .find(|row| row[1] == metric && row[2].is_empty())
        .map(|row| row[column].to_string())
        .unwrap_or_else(|| panic!("no row for {metric}: {csv}"))
}

#[test]
fn a_detector_applied_from_the_lab_is_recorded_and_judges_the_next_check() {
    let server = serve_with(
        "[source]\nkind = \"sqlite\"\npath = \"{DIR}/vigil.sqlite\"\n[simulator]\nusers = 60\ndays = 2\nseed = 3\n",
        &[("VIGIL_OPERATOR_TOKEN", TOKEN)],
        |_| {},
    );
    let (status, body) = post(&server, "fetch_detector", "metric=feed_views");
    assert_eq!(status, 200, "{body}");
    let settings = json(&body);
    // The config sets no detector: vigil's built-in default judges.
    assert_eq!(settings["origin"], "default");
    assert_eq!(settings["name"], "learned");
    assert_eq!(settings["changes"], serde_json::json!([]));

    // Refused without the token, for an unknown metric, and for bad settings.
    let (status, body) = post(
        &server,
        "apply_detector",
        &format!("metric=feed_views&detector={}&token=", encoded(COMBINED)),
    );
    assert_ne!(status, 200, "{body}");
    assert!(body.contains("operator token required"), "{body}");
    for (detector, reason) in [
        (r#"{"detector":"iqr","n":1}"#, "n"),
        (r#"{"detector":"fancy"}"#, "detector settings"),
        ("not json", "detector settings"),
    ] {
        let (status, body) = post(
            &server,
            "apply_detector",
            &format!(
                "metric=feed_views&detector={}&token={TOKEN}",
                encoded(detector)
            ),
        );
        assert_ne!(status, 200, "{detector}: {body}");
        assert!(body.contains(reason), "{detector}: {body}");
    }
    let (status, body) = post(
        &server,
        "apply_detector",
        &format!(
            "metric=feed_vews&detector={}&token={TOKEN}",
            encoded(COMBINED)
        ),
    );
    assert_ne!(status, 200, "{body}");
    assert!(body.contains("unknown metric"), "{body}");
    assert_eq!(dry_run_detector(server.dir.path(), "feed_views"), "learned");

    let (status, body) = post(
        &server,
        "apply_detector",
        &format!(
            "metric=feed_views&detector={}&token={TOKEN}",
            encoded(COMBINED)
        ),
    );
    assert_eq!(status, 200, "{body}");
    let settings = json(&body);
    assert_eq!(settings["origin"], "applied");
    assert_eq!(settings["name"], "any(seasonal+drop)");
    let change = &settings["changes"][0];
    assert_eq!(change["by"], "web");
    assert!(
        change["previous"]
            .as_str()
            .expect("old value")
            .contains("\"learned\""),
        "{change}"
    );
    assert!(
        change["detector"]
            .as_str()
            .expect("new value")
            .contains("\"drop\""),
        "{change}"
    );
    // The next check judges feed_views by the combination, other metrics as before.
    let judged = dry_run_detector(server.dir.path(), "feed_views");
    assert!(
        ["any(seasonal+drop)", "seasonal", "drop", "seasonal+drop"].contains(&judged.as_str()),
        "{judged}"
    );
    assert_eq!(dry_run_detector(server.dir.path(), "feed_likes"), "learned");

    // An empty detector goes back to the config's choice, also recorded.
    let (status, body) = post(
        &server,
        "apply_detector",
        &format!("metric=feed_views&detector=&token={TOKEN}"),
    );
    assert_eq!(status, 200, "{body}");
    let settings = json(&body);
    assert_eq!(settings["origin"], "default");
    assert_eq!(settings["name"], "learned");
    assert_eq!(settings["changes"].as_array().expect("changes").len(), 2);
    assert_eq!(dry_run_detector(server.dir.path(), "feed_views"), "learned");
}
