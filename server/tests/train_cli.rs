//! `vigil train --metric` on the embedded store: a model trained on the
//! store's own labels changes what the next check says. The team marks the
//! simulator's feed outage as a false alarm (planned maintenance, say); the
//! model trained with that label stops flagging it, while one trained the
//! same way without the label still does, and both still flag the
//! messenger's outage nobody relabelled.

#[path = "support/cli.rs"]
mod cli;

use std::path::Path;

use cli::{format_time, outage, stdout_of, vigil};

const FROM: &str = "2026-11-20 00:00:00";
const NOW: &str = "2026-11-30 00:00:00";

/// Trains a small model (1 synthetic case per class and scale, the store's
/// rows weighing 200 each, so that a few labelled buckets count) on
/// feed_views' history and writes a config naming it.
fn train(dir: &Path, data: &str, name: &str) -> String {
    let model = dir.join(format!("{name}.json"));
    stdout_of(&vigil(&[
        "train",
        "--output",
        model.to_str().expect("utf-8"),
        "--metric",
        "feed_views",
        "--from",
        FROM,
        "--to",
        NOW,
        "--cases",
        "1",
        "--store-weight",
        "200",
        "--data-dir",
        data,
    ]));
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!("[detectors]\ndefault = {{ detector = \"learned\", model = \"{name}.json\" }}\n"),
    )
    .expect("config written");
    config.to_str().expect("utf-8").to_string()
}

/// Whether `vigil check` with `config` flags `metric` (whole) at `bucket`.
fn flags(data: &str, config: &str, metric: &str, bucket: i64) -> bool {
    let at = format_time(bucket + 900 + 120);
    let csv = stdout_of(&vigil(&[
        "check",
        "--dry-run",
        "--at",
        &at,
        "--data-dir",
        data,
        "--config",
        config,
    ]));
    let row: Vec<&str> = csv
        .lines()
        .map(|line| line.split(',').collect::<Vec<_>>())
        .find(|r| r[1] == metric && r[2].is_empty())
        .expect("the metric's row");
    assert_eq!(row[0], format_time(bucket), "{row:?}");
    row[8] == "1"
}

#[test]
fn a_model_trained_on_the_stores_labels_changes_the_next_check() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let data = data_dir.to_str().expect("utf-8");
    stdout_of(&vigil(&[
        "simulate",
        "--days",
        "10",
        "--seed",
        "42",
        "--now",
        NOW,
        "--data-dir",
        data,
    ]));
    let store = data_dir.join("vigil.sqlite");
    let (feed_start, feed_end) = outage(&store, "feed_views");
    let (messages_start, _) = outage(&store, "messages_sent");
    // A check creates the state file the labels live in.
    stdout_of(&vigil(&["check", "--at", FROM, "--data-dir", data]));

    let control = train(dir.path(), data, "control");
    // The span a person marks as a false alarm in the lab (the row the web
    // UI's "mark span" writes).
    rusqlite::Connection::open(data_dir.join("vigil-state.sqlite"))
        .expect("state opens")
        .execute(
            "INSERT INTO labels (metric, \"from\", \"to\", kind, note, created_by, created_at) \
             VALUES ('feed_views', ?1, ?2, 'false_alarm', 'planned maintenance', 'test', 0)",
            [feed_start, feed_end],
        )
        .expect("label written");
    let taught = train(dir.path(), data, "taught");

    // The outage's third bucket: the first the learned detector flags on
    // this short store (it confirms an anomaly with the bucket before it,
    // and the first outage bucket stays below the threshold).
    let feed = feed_start + 2 * 900;
    let messages = messages_start + 2 * 900;
    assert!(flags(data, &control, "feed_views", feed), "control");
    assert!(
        !flags(data, &taught, "feed_views", feed),
        "the labelled outage is no longer an anomaly"
    );
    for config in [&control, &taught] {
        assert!(
            flags(data, config, "messages_sent", messages),
            "{config}: the messenger outage still alerts"
        );
    }
}
