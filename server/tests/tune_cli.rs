//! `vigil tune` on simulated history: it scores a grid per detector against
//! the simulator's labelled incidents and suggests the best setting as a
//! config line that loads.

#[path = "support/cli.rs"]
mod cli;

use cli::{stdout_of, vigil};

#[test]
fn tune_ranks_detectors_on_the_metrics_history_and_suggests_a_config_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8");
    stdout_of(&vigil(&[
        "simulate",
        "--days",
        "10",
        "--users",
        "600",
        "--seed",
        "7",
        "--now",
        "2026-03-10 18:00:00",
        "--data-dir",
        data,
    ]));
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
    assert_eq!(rows.len(), 5, "{out}");
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
    let output = vigil(&["tune", "--metric", "feed_views", "--data-dir", data]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no data"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
