//! End to end through the `vigil` binary: `simulate` fills an embedded store,
//! `series` reads it, and every built-in metric equals an independent,
//! hand-written SQL query on the same SQLite file.

#[path = "support/cli.rs"]
mod cli;

use std::collections::BTreeMap;

use cli::{parse_series_csv, stdout_of, vigil, vigil_with_env};
use std::path::{Path, PathBuf};

const BUCKET: i64 = 900;

struct Store {
    _dir: tempfile::TempDir,
    config: PathBuf,
    db: PathBuf,
}

fn simulated_store() -> Store {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let output = vigil(&[
        "simulate",
        "--days",
        "3",
        "--users",
        "300",
        "--seed",
        "11",
        "--data-dir",
        data.to_str().expect("utf-8 path"),
    ]);
    let summary = stdout_of(&output);
    assert!(summary.contains("events/s"), "{summary}");
    assert!(summary.contains("5 incidents"), "{summary}");
    let db = data.join("vigil.sqlite");
    let config = dir.path().join("vigil.toml");
    std::fs::write(
        &config,
        format!(
            "[source]\nkind = \"sqlite\"\npath = {:?}\n\n[[metrics]]\nname = \"ios_views\"\ntable = \"feed_actions\"\naggregate = \"count\"\nfilters = {{ os = \"iOS\", action = \"view\" }}\nslices = [\"country\"]\n",
            db.to_str().expect("utf-8 path")
        ),
    )
    .expect("config written");
    Store {
        _dir: dir,
        config,
        db,
    }
}

/// The independent computation: plain SQL written by hand for each metric.
fn hand_sql(
    db: &Path,
    metric: &str,
    slice: Option<(&str, &str)>,
    from: i64,
    to: i64,
) -> BTreeMap<i64, f64> {
    let (table, value) = match metric {
        "feed_active_users" => ("feed_actions", "COUNT(DISTINCT user_id)"),
        "feed_views" => ("feed_actions", "SUM(action = 'view')"),
        "feed_likes" => ("feed_actions", "SUM(action = 'like')"),
        "feed_ctr" => (
            "feed_actions",
            "1.0 * SUM(action = 'like') / NULLIF(SUM(action = 'view'), 0)",
        ),
        "ios_views" => ("feed_actions", "SUM(action = 'view' AND os = 'iOS')"),
        "messenger_active_users" => ("message_actions", "COUNT(DISTINCT user_id)"),
        "messages_sent" => ("message_actions", "COUNT(*)"),
        other => panic!("no hand-written SQL for {other}"),
    };
    let slice_sql = slice.map_or(String::new(), |(dimension, value)| {
        format!(" AND {dimension} = '{value}'")
    });
    let sql = format!(
        "SELECT time - time % 900, {value} FROM {table} WHERE time >= {from} AND time < {to}{slice_sql} GROUP BY 1 ORDER BY 1"
    );
    let connection = rusqlite::Connection::open(db).expect("open");
    let mut statement = connection.prepare(&sql).expect("prepare");
    let rows = statement
        .query_map([], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, Option<f64>>(1)?))
        })
        .expect("query");
    rows.filter_map(|row| {
        let (bucket, value) = row.expect("row");
        value.map(|value| (bucket, value))
    })
    .collect()
}

#[test]
fn every_metric_via_cli_equals_hand_written_sql() {
    let store = simulated_store();
    let connection = rusqlite::Connection::open(&store.db).expect("open");
    let newest: i64 = connection
        .query_row("SELECT MAX(time) FROM feed_actions", [], |row| row.get(0))
        .expect("newest");
    // The end of the newest bucket `series` prints: the one still filling
    // (and the grace period after it) is left out.
    let end = newest - newest % BUCKET - BUCKET;
    let windows = [(end - 86_400, end), (end - 6 * 3600 + 123, end - 3600 - 5)];
    let slices = [
        None,
        Some(("os", "Android")),
        Some(("country", "Russia")),
        Some(("source", "organic")),
    ];
    // The built-ins plus the config file's own metric.
    let metrics = cli::BUILTIN_METRICS.iter().copied().chain(["ios_views"]);
    let config = store.config.to_str().expect("utf-8 path");
    for metric in metrics {
        for (from, to) in windows {
            for slice in slices {
                let mut args = vec![
                    "series".to_string(),
                    "--metric".into(),
                    metric.into(),
                    "--from".into(),
                    from.to_string(),
                    "--to".into(),
                    to.to_string(),
                    "--config".into(),
                    config.into(),
                ];
                if let Some((dimension, value)) = slice {
                    args.push("--slice".into());
                    args.push(format!("{dimension}={value}"));
                }
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let got = parse_series_csv(&stdout_of(&vigil(&args)));
                let aligned_from = from - from.rem_euclid(BUCKET);
                let aligned_to = to + (BUCKET - to.rem_euclid(BUCKET)) % BUCKET;
                let want = hand_sql(&store.db, metric, slice, aligned_from, aligned_to);
                assert!(!want.is_empty(), "{metric} {slice:?}: no data to compare");
                // Every bucket with rows is there with the same value; vigil adds
                // only zeros between buckets with data (its gap rule), never for CTR.
                for (bucket, value) in &got {
                    if !want.contains_key(bucket) {
                        assert_eq!(*value, 0.0, "{metric} {slice:?} @ {bucket}: extra non-zero");
                        assert_ne!(metric, "feed_ctr");
                        assert!(
                            want.keys().next() < Some(bucket) && want.keys().last() > Some(bucket)
                        );
                    }
                }
                for (bucket, value) in &want {
                    // A bucket whose rows all fail the metric's filter may be absent (a gap).
                    let got_value = got.get(bucket).copied().or((*value == 0.0).then_some(0.0));
                    assert!(
                        got_value.is_some_and(|got_value| (got_value - value).abs() < 1e-9),
                        "{metric} {slice:?} @ {bucket}: {got_value:?} vs {value}"
                    );
                }
            }
        }
    }
}

#[test]
fn simulate_twice_only_catches_up() {
    let store = simulated_store();
    let count = || -> i64 {
        rusqlite::Connection::open(&store.db)
            .expect("open")
            .query_row("SELECT COUNT(*) FROM feed_actions", [], |row| row.get(0))
            .expect("count")
    };
    let before = count();
    let data_dir = store.db.parent().expect("dir").to_str().expect("utf-8");
    let output = stdout_of(&vigil(&[
        "simulate",
        "--days",
        "3",
        "--users",
        "300",
        "--seed",
        "11",
        "--data-dir",
        data_dir,
    ]));
    let after = count();
    // Only the seconds since the first run can be added: far fewer than a day.
    assert!(
        after - before < before / 10,
        "{before} -> {after}: {output}"
    );
}

#[test]
fn bad_inputs_are_clear_errors() {
    let store = simulated_store();
    let config = store.config.to_str().expect("utf-8 path");
    let output = vigil(&["series", "--metric", "feed_vews", "--config", config]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown metric `feed_vews`") && stderr.contains("feed_views"),
        "{stderr}"
    );

    let output = vigil(&[
        "series",
        "--metric",
        "feed_views",
        "--slice",
        "os\"=x",
        "--config",
        config,
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("quote"),
        "{stderr}"
    );

    let output = vigil(&[
        "series",
        "--metric",
        "messages_sent",
        "--slice",
        "action=view",
        "--config",
        config,
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("cannot be a slice"),
        "{stderr}"
    );

    let bad = store.config.with_file_name("bad.toml");
    std::fs::write(&bad, "[[metrics]]\nname = \"x\"\ntable = \"feed_actions\"\naggregate = \"distinct\"\ncolumn = \"nope\"\n")
        .expect("written");
    let output = vigil(&[
        "series",
        "--metric",
        "x",
        "--config",
        bad.to_str().expect("utf-8"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success()
            && stderr.contains("bad.toml")
            && stderr.contains("metrics[0].column")
            && stderr.contains("no column `nope`"),
        "{stderr}"
    );
}

/// `vigil series` reads the same store however it is named (`--data-dir`,
/// `VIGIL_DATA_DIR`, a config file's relative path, resolved against the
/// file's directory), prints only complete buckets, and its CSV is what
/// `vigil detect` reads.
#[test]
fn series_finds_the_store_like_every_command_and_feeds_detect() {
    let store = simulated_store();
    let base = store.config.parent().expect("dir");
    let data = store.db.parent().expect("dir").to_str().expect("utf-8");
    let unix_now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64
    };
    // A fixed range, so that the runs compare even across a bucket boundary.
    let (from, to) = (
        (unix_now() - 86_400).to_string(),
        (unix_now() - 3600).to_string(),
    );
    let args = [
        "series",
        "--metric",
        "feed_views",
        "--from",
        &from,
        "--to",
        &to,
    ];
    let by_flag = stdout_of(&vigil(&[&args[..], &["--data-dir", data][..]].concat()));
    let by_env = stdout_of(&vigil_with_env(&args, &[("VIGIL_DATA_DIR", data)]));
    let relative = base.join("relative.toml");
    std::fs::write(
        &relative,
        "[source]\nkind = \"sqlite\"\npath = \"data/vigil.sqlite\"\n",
    )
    .expect("config written");
    let relative = relative.to_str().expect("utf-8");
    // vigil runs elsewhere: the path is relative to the config file.
    let by_config = stdout_of(&vigil(&[&args[..], &["--config", relative][..]].concat()));
    assert!(parse_series_csv(&by_flag).len() > 80, "{by_flag}");
    assert_eq!(by_env, by_flag);
    assert_eq!(by_config, by_flag);

    // Up to now: the newest bucket printed has ended, grace period included.
    let recent = stdout_of(&vigil(&[
        "series",
        "--metric",
        "feed_views",
        "--from",
        "now-6h",
        "--data-dir",
        data,
    ]));
    let now = unix_now();
    let newest = *parse_series_csv(&recent).keys().last().expect("buckets");
    assert!(
        newest + BUCKET + 120 <= now,
        "{newest} is still open at {now}"
    );

    let csv = base.join("series.csv");
    std::fs::write(&csv, &by_flag).expect("written");
    let detected = stdout_of(&vigil(&["detect", "-i", csv.to_str().expect("utf-8")]));
    assert!(detected.starts_with("timestamp,"), "{detected}");
}
