//! Running the built `vigil` binary from integration tests.
// Each test binary includes this file and uses a subset of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::process::{Command, Output};

/// The built-in metrics, written out independently of the catalogue so a test
/// notices when one disappears or is renamed.
pub const BUILTIN_METRICS: [&str; 6] = [
    "feed_active_users",
    "feed_views",
    "feed_likes",
    "feed_ctr",
    "messenger_active_users",
    "messages_sent",
];

/// `vigil ARGS`, isolated from the caller's config, with extra environment variables.
pub fn vigil_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .env_remove("VIGIL_CONFIG")
        .envs(env.iter().copied())
        .output()
        .expect("vigil runs")
}

/// `vigil ARGS`, isolated from the caller's config.
pub fn vigil(args: &[&str]) -> Output {
    vigil_with_env(args, &[])
}

/// Stdout of a successful run; a failed run fails the test with vigil's stderr.
pub fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "vigil failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

/// `vigil series` output (`timestamp,value` CSV) as unix seconds -> value.
/// Rust prints f64 round-trippably, so values compare exactly.
pub fn parse_series_csv(text: &str) -> BTreeMap<i64, f64> {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("timestamp,value"));
    lines
        .map(|line| {
            let (bucket, value) = line.split_once(',').expect("two columns");
            (parse_time(bucket), value.parse().expect("number"))
        })
        .collect()
}

/// `YYYY-MM-DD HH:MM:SS` (UTC), as vigil prints bucket times.
pub fn format_time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .expect("valid time")
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The inverse of [`format_time`].
pub fn parse_time(text: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .expect("bucket time")
        .and_utc()
        .timestamp()
}

/// The small store several tests share: 4 days of 400 simulated users up to
/// a fixed "now", so its events and incidents are the same on every run.
pub fn simulate_small_store(data_dir: &std::path::Path) {
    stdout_of(&vigil(&[
        "simulate",
        "--days",
        "4",
        "--users",
        "400",
        "--seed",
        "7",
        "--now",
        "2026-03-05 18:00:00",
        "--data-dir",
        data_dir.to_str().expect("utf-8 path"),
    ]));
}

/// (start, end) of the simulator's outage of `metric` in the store at `db`.
pub fn outage(db: &std::path::Path, metric: &str) -> (i64, i64) {
    rusqlite::Connection::open(db)
        .expect("store opens")
        .query_row(
            "SELECT \"start\", \"end\" FROM incidents WHERE kind = 'outage' AND metric = ?1",
            [metric],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .expect("the simulator injects the outage")
}
