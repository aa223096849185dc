//! `vigil tune` on simulated history: it scores a grid per detector against
//! the simulator's labelled incidents and suggests the best setting as a
//! config line that loads.

#[path = "support/cli.rs"]
mod cli;

use cli::{stdout_of, vigil};

/// Ten simulated days up to 2026-03-10 18:00 (with the simulator's feed outage) in `data`.
fn simulate_ten_days(data: &str, users: &str) {
    stdout_of(&vigil(&[
        "simulate",
        "--days",
        "10",
        "--users",
        users,
        "--seed",
        "7",
        "--now",
        "2026-03-10 18:00:00",
        "--data-dir",
        data,
    ]));
}

#[test]
fn tune_ranks_detectors_on_the_metrics_history_and_suggests_a_config_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8");
    simulate_ten_days(data, "600");
    let out = stdout_of(&vigil(&[
        "tune",
        "--metric",
        "feed_views",
        "--data-dir",
        data,
        "--from",
        "2026-02-28 18:00:00",
        "--to",
        "2026-03-10 18:00:00",
    ]));
    assert!(out.contains("960 buckets, 1 labelled incidents"), "{out}");
    let rows: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("detector"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(rows.len(), 6, "{out}");
    let f1 = |row: &str| -> f64 {
        row.split_whitespace()
            .nth(1)
            .expect("f1")
            .parse()
            .expect("number")
    };
    assert!(
        rows.windows(2).all(|w| f1(w[0]) >= f1(w[1])),
        "best first: {out}"
    );
    assert!(f1(rows[0]) >= 0.8, "the outage is findable: {out}");

    // The suggestion is a valid config.
    let suggestion: String = out
        .lines()
        .skip_while(|l| *l != "[detectors]")
        .collect::<Vec<_>>()
        .join("\n");
    let config = dir.path().join("vigil.toml");
    std::fs::write(&config, format!("{suggestion}\n")).expect("written");
    stdout_of(&vigil(&[
        "config",
        "check",
        "--config",
        config.to_str().expect("utf-8"),
    ]));
}

#[test]
fn tune_explains_what_it_cannot_do() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8");
    let output = vigil(&["tune", "--metric", "feed_vews", "--data-dir", data]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("feed_views"));
    // No store at all: said so, and nothing is created.
    let output = vigil(&["tune", "--metric", "feed_views", "--data-dir", data]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no embedded store"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!dir.path().join("vigil.sqlite").exists());
    // A store without events.
    std::fs::write(dir.path().join("vigil.sqlite"), "").expect("empty store");
    let output = vigil(&["tune", "--metric", "feed_views", "--data-dir", data]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no data"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Two days are too short for the seasonal detector to find anything: no
/// config line is offered (the grid's loosest corner would flag half of all
/// buckets), a warning says why instead.
#[test]
fn failed_tuning_recommends_no_setting() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8");
    simulate_ten_days(data, "300");
    let out = stdout_of(&vigil(&[
        "tune",
        "--metric",
        "messages_sent",
        "--data-dir",
        data,
        "--from",
        "2026-03-08 18:00:00",
        "--to",
        "2026-03-10 18:00:00",
        "--detector",
        "seasonal",
    ]));
    assert!(!out.contains("to use the best"), "{out}");
    assert!(!out.contains("[detectors]"), "{out}");
    assert!(out.contains("warning: no setting to recommend"), "{out}");
}

/// `vigil eval --metric` scores detectors, alone and combined, on the
/// metric's history against its labels; a 'false alarm' label marked over the
/// recorded outage takes it out of the incidents, an 'incident' label adds one.
#[test]
fn eval_on_a_metric_uses_its_labels() {
    use server::labels::{LabelKind, NewLabel};
    use server::state::{Labels, SqliteState};

    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8");
    simulate_ten_days(data, "300");
    let eval = || -> serde_json::Value {
        let out = stdout_of(&vigil(&[
            "eval",
            "--metric",
            "feed_views",
            "--data-dir",
            data,
            "--from",
            "2026-02-28 18:00:00",
            "--to",
            "2026-03-10 18:00:00",
            "--detector",
            "iqr",
            "--detector",
            "seasonal+drop",
            "--combine",
            "any",
            "--format",
            "json",
        ]));
        serde_json::from_str(&out).expect("json")
    };
    let incidents = |json: &serde_json::Value| json["detectors"][0]["overall"]["incidents"].clone();

    let json = eval();
    assert_eq!(json["benchmark"], "metric");
    assert_eq!(json["input"], "feed_views");
    let detectors = json["detectors"].as_array().expect("detectors");
    assert_eq!(detectors[0]["name"], "iqr");
    assert_eq!(detectors[1]["name"], "seasonal+drop");
    assert_eq!(detectors[1]["spec"]["combine"], "any");
    assert_eq!(detectors[1]["spec"]["members"][1]["detector"], "drop");
    assert_eq!(incidents(&json), 1, "the simulator's outage");

    let time = |text: &str| server::times::parse_time(text, 0).expect("a time");
    let mut labels = SqliteState::open(&dir.path().join("vigil-state.sqlite")).expect("state file");
    let whole_range = NewLabel {
        metric: "feed_views".into(),
        from: time("2026-02-28 18:00:00"),
        to: time("2026-03-10 18:00:00"),
        kind: LabelKind::FalseAlarm,
        note: "not an outage: the tracking was off".into(),
    };
    labels.add_label(&whole_range, "test", 0).expect("label");
    assert_eq!(incidents(&eval()), 0, "overridden by the false alarm");

    let marked = NewLabel {
        kind: LabelKind::Incident,
        from: time("2026-03-05 10:00:00"),
        to: time("2026-03-05 11:00:00"),
        note: String::new(),
        ..whole_range
    };
    labels.add_label(&marked, "test", 0).expect("label");
    assert_eq!(incidents(&eval()), 1, "the incident marked by hand");
}
