//! `vigil check` end to end on a simulated embedded store: it evaluates every
//! metric and slice at the newest complete bucket, flags the simulator's injected
//! feed outage, and fails clearly when it cannot.

#[path = "support/cli.rs"]
mod cli;

use cli::{format_time, outage, simulate_small_store, stdout_of, vigil};

#[test]
fn check_flags_the_injected_outage_and_only_reads_what_it_evaluates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let data_arg = data.to_str().expect("utf-8 path");
    simulate_small_store(&data);
    let (start, _end) = outage(&data.join("vigil.sqlite"), "feed_views");

    // Evaluate the outage's third bucket, the first the default (learned)
    // detector flags: it confirms an anomaly with the bucket before it, and
    // on this 4-day store the first outage bucket stays below its threshold
    // (within the 2 buckets of delay the product target allows). "now" is
    // one bucket after it plus the grace delay, so that bucket is the newest
    // complete one.
    let alerting = start + 2 * 900;
    let at = format_time(alerting + 900 + 120);
    let csv = stdout_of(&vigil(&["check", "--data-dir", data_arg, "--at", &at]));
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("bucket,metric,slice,value,lower,upper,expected,deviation,is_anomaly,detector")
    );
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split(',').collect()).collect();
    let expected_bucket = format_time(alerting);
    assert!(
        rows.iter().all(|r| r[0] == expected_bucket),
        "one bucket evaluated"
    );

    // Every built-in metric is evaluated whole and by its slices.
    for metric in cli::BUILTIN_METRICS {
        assert!(
            rows.iter().any(|r| r[1] == metric && r[2].is_empty()),
            "{metric}"
        );
        assert!(
            rows.iter()
                .any(|r| r[1] == metric && r[2].starts_with("os=")),
            "{metric} by os"
        );
    }
    let views = rows
        .iter()
        .find(|r| r[1] == "feed_views" && r[2].is_empty())
        .expect("feed_views row");
    let value: f64 = views[3].parse().expect("a value");
    let expected: f64 = views[6].parse().expect("an expectation");
    assert!(
        value < 0.5 * expected,
        "the outage bucket is far below its expectation: {views:?}"
    );
    assert_eq!(views[8], "1", "and flagged: {views:?}");
}

#[test]
fn check_until_runs_each_bucket_in_turn_as_a_running_server_would() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let data_arg = data.to_str().expect("utf-8 path");
    simulate_small_store(&data);
    let (start, _end) = outage(&data.join("vigil.sqlite"), "feed_views");

    // From the bucket before the outage to its third (the first the default
    // detector flags, see above): four checks in one process.
    let first = start - 900;
    let last = start + 2 * 900;
    let (at, until) = (
        format_time(first + 900 + 120),
        format_time(last + 900 + 120),
    );
    let output = vigil(&[
        "check",
        "--data-dir",
        data_arg,
        "--at",
        &at,
        "--until",
        &until,
    ]);
    let csv = stdout_of(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let checked: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("check done"))
        .map(|line| {
            let value = line.split("bucket=").nth(1).expect("a bucket field");
            value.get(..19).expect("a time")
        })
        .collect();
    let expected: Vec<String> = (0..4).map(|k| format_time(first + k * 900)).collect();
    assert_eq!(
        checked, expected,
        "each bucket once, oldest first:\n{stderr}"
    );
    assert_eq!(
        stderr.matches("delivery done").count(),
        4,
        "delivered after each check"
    );
    // The CSV is the newest check's, which flags the outage.
    let newest = format_time(last);
    let views = csv
        .lines()
        .find(|line| line.starts_with(&format!("{newest},feed_views,,")))
        .unwrap_or_else(|| panic!("the newest bucket's feed_views row in:\n{csv}"));
    assert_eq!(views.split(',').nth(8), Some("1"), "flagged: {views}");

    let backwards = vigil(&[
        "check",
        "--data-dir",
        data_arg,
        "--at",
        &until,
        "--until",
        &at,
    ]);
    assert!(!backwards.status.success());
    let stderr = String::from_utf8_lossy(&backwards.stderr);
    assert!(
        stderr.contains("--until") && stderr.contains("is before --at"),
        "{stderr}"
    );
}

#[test]
fn check_fails_clearly_on_bad_input() {
    let output = vigil(&["check", "--n", "1"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("n must be at least 2"), "{stderr}");

    let output = vigil(&["check", "--at", "someday"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--at \"someday\""));

    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("vigil.toml");
    std::fs::write(
        &config,
        "[source]\nkind = \"clickhouse\"\nurl = \"http://127.0.0.1:9\"\n",
    )
    .expect("written");
    let output = vigil(&[
        "check",
        "--config",
        config.to_str().expect("utf-8"),
        "--data-dir",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert!(
        !output.status.success(),
        "an unreachable source is a failed check"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot reach"), "{stderr}");
}

#[test]
fn config_check_lists_every_problem_or_summarises_a_valid_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[simulator]\nusers = 0\n\n[[metrics]]\nname = \"x\"\ntable = \"feed_actions\"\naggregate = \"count\"\nslices = [\"os'; DROP\"]\n",
    )
    .expect("written");
    let output = vigil(&["config", "check", "--config", bad.to_str().expect("utf-8")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`metrics[0].slices[0]`"), "{stderr}");
    assert!(stderr.contains("`simulator.users`"), "{stderr}");
    assert!(stderr.contains("has 2 problems"), "{stderr}");

    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../vigil.example.toml");
    let stdout = stdout_of(&vigil(&["config", "check", "--config", example]));
    assert!(stdout.contains(": ok: source sqlite"), "{stdout}");
    assert!(stdout.contains("8 metrics (2 from the file)"), "{stdout}");
    assert!(stdout.contains("; morning report at 11:00"), "{stdout}");
}
