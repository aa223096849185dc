//! End to end through the `vigil` binary against a real ClickHouse server:
//! `vigil simulate --clickhouse-url` creates and fills the tables (as the
//! password-protected `vigil` user), `vigil series` reads them through a config
//! file, and every built-in metric equals an independent, hand-written query.
//! The source's own deeper checks (every slice, SQLite vs ClickHouse bit for bit)
//! live in `src/sources/clickhouse/real_server_tests.rs`.

#[path = "support/cli.rs"]
mod cli;

#[path = "support/clickhouse.rs"]
mod clickhouse_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use cli::{parse_series_csv, stdout_of};

use clickhouse_support::{TestServer, TEST_PASSWORD, TEST_USER};

const BUCKET: i64 = 900;
const DATABASE: &str = "vigil_cli";

/// `vigil ARGS` with the test server's password in the environment.
fn vigil(args: &[&str]) -> Output {
    cli::vigil_with_env(args, &[("VIGIL_CLICKHOUSE_PASSWORD", TEST_PASSWORD)])
}

fn write_config(dir: &Path, url: &str, extra: &str) -> String {
    let path = dir.join(format!("vigil-{}.toml", extra.len()));
    std::fs::write(
        &path,
        format!(
            "[source]\nkind = \"clickhouse\"\nurl = \"{url}\"\ndatabase = \"{DATABASE}\"\nuser = \"{TEST_USER}\"\n{extra}"
        ),
    )
    .expect("config written");
    path.to_str().expect("utf-8 path").to_string()
}

/// Hand-written ClickHouse SQL per metric: `intDiv` buckets, literal filters.
fn hand_sql(metric: &str, slice: Option<(&str, &str)>, from: i64, to: i64) -> String {
    let (table, value, filter, having) = match metric {
        "feed_active_users" => ("feed_actions", "toFloat64(uniqExact(user_id))", "1", "1"),
        "feed_views" => ("feed_actions", "toFloat64(count())", "action = 'view'", "1"),
        "feed_likes" => ("feed_actions", "toFloat64(count())", "action = 'like'", "1"),
        "feed_ctr" => (
            "feed_actions",
            "countIf(action = 'like') / countIf(action = 'view')",
            "1",
            "countIf(action = 'view') > 0",
        ),
        "messenger_active_users" => ("message_actions", "toFloat64(uniqExact(user_id))", "1", "1"),
        "messages_sent" => ("message_actions", "toFloat64(count())", "1", "1"),
        other => panic!("no hand-written SQL for {other}"),
    };
    let slice = slice.map_or(String::new(), |(dimension, value)| {
        format!(" AND {dimension} = '{value}'")
    });
    format!(
        "SELECT toUInt32(intDiv(toUInt32(time), 900) * 900) AS b, {value} AS v FROM {DATABASE}.{table} \
         WHERE toUInt32(time) >= {from} AND toUInt32(time) < {to} AND {filter}{slice} \
         GROUP BY b HAVING {having} ORDER BY b"
    )
}

/// `vigil simulate` into the test database as the password-protected user.
fn simulate_args<'a>(url: &'a str, days: &'a str, users: &'a str, seed: &'a str) -> [&'a str; 13] {
    [
        "simulate",
        "--clickhouse-url",
        url,
        "--database",
        DATABASE,
        "--user",
        TEST_USER,
        "--days",
        days,
        "--users",
        users,
        "--seed",
        seed,
    ]
}

fn query<T>(runtime: &tokio::runtime::Runtime, url: &str, sql: &str) -> Vec<T>
where
    T: clickhouse::RowOwned + clickhouse::RowRead,
{
    let client = clickhouse::Client::default()
        .with_url(url)
        .with_validation(false)
        .with_compression(clickhouse::Compression::None);
    runtime
        .block_on(client.query(sql).fetch_all::<T>())
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

#[test]
fn simulate_into_clickhouse_then_series_equals_hand_written_sql() {
    let Some(server) = TestServer::start("simulate_into_clickhouse_then_series") else {
        return;
    };
    let url = server.url.as_str();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let simulate = simulate_args(url, "2", "250", "5");
    let summary = stdout_of(&vigil(&simulate));
    assert!(summary.contains("events/s"), "{summary}");
    assert!(
        summary.contains(url) && !summary.contains(TEST_PASSWORD),
        "{summary}"
    );
    let count = |table: &str| -> u64 {
        query::<u64>(
            &runtime,
            url,
            &format!("SELECT count() FROM {DATABASE}.{table}"),
        )[0]
    };
    let feed_rows = count("feed_actions");
    assert!(
        feed_rows > 10_000 && count("message_actions") > 500,
        "{feed_rows}"
    );
    assert_eq!(count("incidents WHERE kind NOT LIKE 'experiment%'"), 5);
    // The simulator's four experiments are labelled beside the incidents.
    assert_eq!(count("incidents WHERE kind LIKE 'experiment%'"), 4);

    // A second run only catches up: no duplicated history.
    stdout_of(&vigil(&simulate));
    let after = count("feed_actions");
    assert!(after - feed_rows < feed_rows / 10, "{feed_rows} -> {after}");

    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), url, "");
    let newest = i64::from(
        query::<u32>(
            &runtime,
            url,
            &format!("SELECT toUInt32(max(time)) FROM {DATABASE}.feed_actions"),
        )[0],
    );
    // `vigil series` prints closed buckets only: the newest ends at the start
    // of the bucket holding `now - grace` (the default 120 s grace), which
    // right after a bucket boundary is one bucket before the newest event's.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    let closed_end = (now - 120).div_euclid(BUCKET) * BUCKET;
    let end = (newest - newest % BUCKET).min(closed_end);
    let windows = [(end - 86_400, end), (end - 6 * 3600 + 123, end - 3600 - 5)];
    let slices = [None, Some(("os", "Android")), Some(("source", "organic"))];
    let metrics = cli::BUILTIN_METRICS;
    for metric in metrics {
        for (from, to) in windows {
            for slice in slices {
                let from_text = from.to_string();
                let to_text = to.to_string();
                let slice_text = slice.map(|(d, v)| format!("{d}={v}"));
                let mut args = vec![
                    "series", "--metric", metric, "--from", &from_text, "--to", &to_text,
                    "--config", &config,
                ];
                if let Some(slice_text) = &slice_text {
                    args.extend(["--slice", slice_text.as_str()]);
                }
                let got = parse_series_csv(&stdout_of(&vigil(&args)));
                let aligned_from = from - from.rem_euclid(BUCKET);
                let aligned_to = to + (BUCKET - to.rem_euclid(BUCKET)) % BUCKET;
                let want: BTreeMap<i64, f64> = query::<(u32, f64)>(
                    &runtime,
                    url,
                    &hand_sql(metric, slice, aligned_from, aligned_to),
                )
                .into_iter()
                .map(|(bucket, value)| (i64::from(bucket), value))
                .collect();
                assert!(!want.is_empty(), "{metric} {slice:?}: no data to compare");
                for (bucket, value) in &want {
                    assert_eq!(
                        got.get(bucket).map(|v| v.to_bits()),
                        Some(value.to_bits()),
                        "{metric} {slice:?} @ {bucket}"
                    );
                }
                // Anything else vigil prints is an interior zero (its gap rule).
                for (bucket, value) in &got {
                    if !want.contains_key(bucket) {
                        assert_eq!(*value, 0.0, "{metric} {slice:?} @ {bucket}");
                    }
                }
            }
        }
    }

    // `vigil train` learns from ClickHouse's history and its incidents
    // (the simulator's outage of feed_views) like from the embedded store.
    let model = dir.path().join("team-model.json");
    let (from_text, to_text) = ((end - 2 * 86_400).to_string(), end.to_string());
    let report = stdout_of(&vigil(&[
        "train",
        "--output",
        model.to_str().expect("utf-8"),
        "--metric",
        "feed_views",
        "--from",
        &from_text,
        "--to",
        &to_text,
        "--cases",
        "1",
        "--config",
        &config,
        "--data-dir",
        dir.path().to_str().expect("utf-8"),
    ]));
    assert!(report.contains("1 store series"), "{report}");
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).expect("model written"))
            .expect("model JSON");
    assert_eq!(file["provenance"]["store_cases"], 1, "{report}");
    assert!(
        !report.contains(TEST_PASSWORD)
            && !std::fs::read_to_string(&model)
                .unwrap()
                .contains(TEST_PASSWORD),
        "no credential in the report or the model"
    );
}

#[test]
fn bad_input_and_unreachable_server_are_clear_errors() {
    let Some(server) = TestServer::start("bad_input_and_unreachable_server") else {
        return;
    };
    let url = server.url.as_str();
    // 42: the default seed.
    stdout_of(&vigil(&simulate_args(url, "1", "50", "42")));
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), url, "");

    // A quote in a slice value is bound as data: no rows, not a syntax error.
    let output = vigil(&[
        "series",
        "--metric",
        "feed_views",
        "--slice",
        "os=And'roid\\",
        "--config",
        &config,
    ]);
    assert_eq!(stdout_of(&output), "timestamp,value\n");

    // A user metric with an unknown column is rejected before any SQL is sent.
    let bad = write_config(
        dir.path(),
        url,
        "\n[[metrics]]\nname = \"x\"\ntable = \"feed_actions\"\naggregate = \"count\"\nfilters = { nope = \"1\" }\n",
    );
    let output = vigil(&["series", "--metric", "x", "--config", &bad]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("no column `nope`"),
        "{stderr}"
    );

    // Nobody listening: "cannot reach" with the URL, never the password.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let nowhere = format!("http://127.0.0.1:{port}");
    let config = write_config(dir.path(), &nowhere, "password = \"in-file-secret\"\n");
    let output = vigil(&["series", "--metric", "feed_views", "--config", &config]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot reach") && stderr.contains(&nowhere),
        "{stderr}"
    );
    assert!(
        !stderr.contains(TEST_PASSWORD) && !stderr.contains("in-file-secret"),
        "{stderr}"
    );
}

/// `vigil series` for every built-in metric, whole and by each built-in slice
/// dimension, over `[from, to)`: (stdout, stderr) per invocation, concatenated.
fn every_series(config: &str, from: i64, to: i64) -> (String, String) {
    let (from, to) = (from.to_string(), to.to_string());
    let (mut out, mut err) = (String::new(), String::new());
    for metric in cli::BUILTIN_METRICS {
        for by in [None, Some("os"), Some("source"), Some("country")] {
            let mut args = vec![
                "series", "--metric", metric, "--from", &from, "--to", &to, "--config", config,
            ];
            args.extend(by.iter().flat_map(|by| ["--by", by]));
            let output = vigil(&args);
            let text = stdout_of(&output);
            assert!(text.lines().count() > 20, "{metric} {by:?}: {text}");
            out.push_str(&text);
            err.push_str(&String::from_utf8_lossy(&output.stderr));
        }
    }
    (out, err)
}

#[test]
fn rollup_command_backfills_and_series_read_it_with_the_raw_values() {
    let Some(server) = TestServer::start("rollup_command_backfills") else {
        return;
    };
    let url = server.url.as_str();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    stdout_of(&vigil(&simulate_args(url, "2", "150", "8")));
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), url, "");
    let (first, newest) = query::<(u32, u32)>(
        &runtime,
        url,
        &format!("SELECT toUInt32(min(time)), toUInt32(max(time)) FROM {DATABASE}.feed_actions"),
    )[0];
    let (from, to) = (i64::from(first), i64::from(newest) / BUCKET * BUCKET);
    let (raw, raw_log) = every_series(&config, from, to);
    assert!(
        raw_log.contains("feed_actions from raw events"),
        "{raw_log}"
    );

    let rollup = stdout_of(&vigil(&["clickhouse", "rollup", "--config", &config]));
    // Two days of history touch three calendar days: a line per day and table.
    let days = rollup
        .lines()
        .filter(|line| line.contains(": day "))
        .count();
    assert!((6..=8).contains(&days), "{rollup}");
    assert!(
        rollup.contains("feed_actions: day ") && rollup.contains("message_actions: day "),
        "{rollup}"
    );
    assert!(rollup.contains("rollups ready"), "{rollup}");
    let (rolled, rolled_log) = every_series(&config, from, to);
    assert!(
        rolled_log.contains("feed_actions from rollup feed_actions_rollup_15m")
            && rolled_log.contains("message_actions from rollup message_actions_rollup_15m"),
        "{rolled_log}"
    );
    assert_eq!(rolled, raw, "rollup reads equal raw reads");

    stdout_of(&vigil(&["clickhouse", "rollup", "--config", &config]));
    assert_eq!(every_series(&config, from, to).0, raw, "after a rerun");

    // The embedded store has no rollups: a clear refusal.
    let output = vigil(&[
        "clickhouse",
        "rollup",
        "--data-dir",
        dir.path().to_str().expect("utf-8"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("kind = \"clickhouse\""),
        "{stderr}"
    );
}
