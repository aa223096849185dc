//! `vigil ingest` end to end: real-looking event files (ClickHouse's
//! CSVWithNames and TSVWithNames) go into the embedded store, `vigil series`
//! reads them back as counted here, a rerun adds nothing, a bad row loads
//! nothing and names its file and line; and (with a ClickHouse server) events
//! exported from ClickHouse give the same metrics from the embedded store.

#[path = "support/cli.rs"]
mod cli;

#[path = "support/clickhouse.rs"]
mod clickhouse_support;

use std::collections::BTreeMap;
use std::path::Path;

use cli::{format_time, parse_series_csv, stdout_of, vigil};

const BUCKET: i64 = 900;
const FEED_HEADER: &str = "\"user_id\",\"post_id\",\"action\",\"time\",\"gender\",\"age\",\
                           \"country\",\"city\",\"os\",\"source\",\"exp_group\"";

/// A whole bucket two days ago (closed, whatever the time of the run).
fn first_bucket() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    (now - 2 * 86_400) / BUCKET * BUCKET
}

/// Feed rows over four buckets: (time, user, action); the CSV quotes text and
/// writes times as ClickHouse does, with a comma inside one city.
fn feed_rows(start: i64) -> Vec<(i64, u32, &'static str)> {
    (0..120)
        .map(|i: i64| {
            let time = start + (i * 37) % (4 * BUCKET);
            let action = if i % 4 == 0 { "like" } else { "view" };
            (time, (i % 17) as u32, action)
        })
        .collect()
}

fn feed_csv(rows: &[(i64, u32, &str)]) -> String {
    let mut text = format!("{FEED_HEADER}\n");
    for (time, user, action) in rows {
        text.push_str(&format!(
            "{user},{},\"{action}\",\"{}\",1,30,\"Russia\",\"Moscow, Center\",\"iOS\",\"ads\",2\n",
            user + 100,
            format_time(*time)
        ));
    }
    text
}

fn data_dir_args<'a>(dir: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = extra.to_vec();
    args.extend(["--data-dir", dir]);
    args
}

fn series(dir: &str, metric: &str, from: i64, to: i64) -> BTreeMap<i64, f64> {
    let (from, to) = (from.to_string(), to.to_string());
    parse_series_csv(&stdout_of(&vigil(&data_dir_args(
        dir,
        &["series", "--metric", metric, "--from", &from, "--to", &to],
    ))))
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("file written");
    path.to_str().expect("utf-8").to_string()
}

#[test]
fn files_load_once_and_read_back_as_counted() {
    let files = tempfile::tempdir().expect("temp dir");
    let store = tempfile::tempdir().expect("temp dir");
    let dir = store.path().to_str().expect("utf-8");
    let start = first_bucket();
    let rows = feed_rows(start);
    let feed = write(files.path(), "feed.csv", &feed_csv(&rows));
    let messages = write(
        files.path(),
        "messages.tsv",
        &format!(
            "user_id\treceiver_id\ttime\tsource\texp_group\tgender\tage\tcountry\tcity\tos\n\
             1\t2\t{}\tads\t0\t1\t20\tRussia\tSaint\\tPetersburg\tAndroid\n\
             1\t3\t{}\tads\t0\t1\t20\tRussia\tOmsk\tAndroid\n\
             4\t1\t{}\torganic\t1\t0\t33\tPoland\tWarsaw\tiOS\n",
            start + 10,
            start + 20,
            start + BUCKET + 5
        ),
    );

    let loaded = stdout_of(&vigil(&data_dir_args(
        dir,
        &["ingest", "--table", "feed_actions", &feed],
    )));
    assert!(
        loaded.contains(&format!("{feed}: 120 feed_actions events loaded")),
        "{loaded}"
    );
    let loaded = stdout_of(&vigil(&data_dir_args(
        dir,
        &["ingest", "--table", "message_actions", &messages],
    )));
    assert!(
        loaded.contains("3 message_actions events loaded"),
        "{loaded}"
    );

    let to = start + 4 * BUCKET;
    let mut views = BTreeMap::new();
    for (time, _, action) in &rows {
        if *action == "view" {
            *views.entry(time / BUCKET * BUCKET).or_insert(0.0) += 1.0;
        }
    }
    assert_eq!(series(dir, "feed_views", start, to), views);
    let messengers = series(dir, "messenger_active_users", start, start + 2 * BUCKET);
    assert_eq!(
        messengers,
        BTreeMap::from([(start, 1.0), (start + BUCKET, 1.0)])
    );

    // The same content again, under its name or another: nothing added.
    let copy = write(files.path(), "feed-again.csv", &feed_csv(&rows));
    let again = stdout_of(&vigil(&data_dir_args(
        dir,
        &["ingest", "--table", "feed_actions", &feed, &copy],
    )));
    assert_eq!(
        again
            .matches("skipped, the same content (120 events")
            .count(),
        2,
        "{again}"
    );
    assert_eq!(series(dir, "feed_views", start, to), views);

    // One bad file: every bad row named, and no file of the command loaded.
    let good = write(files.path(), "more.csv", &feed_csv(&feed_rows(start + 60)));
    let bad_text = feed_csv(&rows[..3])
        .replacen("\"view\"", "\"click\"", 1)
        .replacen(",30,", ",300,", 1);
    let bad = write(files.path(), "bad.csv", &bad_text);
    let output = vigil(&data_dir_args(
        dir,
        &["ingest", "--table", "feed_actions", &good, &bad],
    ));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("nothing loaded"), "{stderr}");
    assert!(
        stderr.contains(&format!("{bad}: line 2: column `age`: `300`")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{bad}: line 3: column `action`: `click`")),
        "{stderr}"
    );
    assert_eq!(
        series(dir, "feed_views", start, to),
        views,
        "the good file was not loaded either"
    );

    // Loaded on its own, the good file's events join the buckets already read
    // (and kept in the store's rollup): the reads count both files.
    stdout_of(&vigil(&data_dir_args(
        dir,
        &["ingest", "--table", "feed_actions", &good],
    )));
    for (time, _, action) in feed_rows(start + 60) {
        if action == "view" {
            *views.entry(time / BUCKET * BUCKET).or_insert(0.0) += 1.0;
        }
    }
    assert_eq!(series(dir, "feed_views", start, to + BUCKET), views);

    // A message file given as feed_actions: the header says why.
    let output = vigil(&data_dir_args(
        dir,
        &["ingest", "--table", "feed_actions", &messages],
    ));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success()
            && stderr.contains("`receiver_id` is not a column of feed_actions"),
        "{stderr}"
    );
}

#[test]
fn events_exported_from_clickhouse_give_its_metrics_in_the_embedded_store() {
    use clickhouse_support::{TestServer, TEST_PASSWORD, TEST_USER};
    let Some(server) = TestServer::start("events_exported_from_clickhouse") else {
        return;
    };
    let url = server.url.as_str();
    let password = [("VIGIL_CLICKHOUSE_PASSWORD", TEST_PASSWORD)];
    stdout_of(&cli::vigil_with_env(
        &[
            "simulate",
            "--clickhouse-url",
            url,
            "--database",
            "exported",
            "--user",
            TEST_USER,
            "--days",
            "2",
            "--users",
            "200",
            "--seed",
            "3",
        ],
        &password,
    ));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let client = clickhouse::Client::default()
        .with_url(url)
        .with_validation(false)
        .with_compression(clickhouse::Compression::None);
    let files = tempfile::tempdir().expect("temp dir");
    let store = tempfile::tempdir().expect("temp dir");
    let dir = store.path().to_str().expect("utf-8");
    for (table, format, name) in [
        ("feed_actions", "CSVWithNames", "feed.csv"),
        ("message_actions", "TSVWithNames", "messages.tsv"),
    ] {
        // What `clickhouse-client --query "..."` prints, over HTTP.
        let sql = format!("SELECT * FROM exported.{table} ORDER BY time");
        let mut cursor = client.query(&sql).fetch_bytes(format).expect("export");
        let bytes = runtime.block_on(cursor.collect()).expect("exported bytes");
        let path = files.path().join(name);
        std::fs::write(&path, &bytes).expect("file written");
        stdout_of(&vigil(&data_dir_args(
            dir,
            &["ingest", "--table", table, path.to_str().expect("utf-8")],
        )));
    }
    let config = files.path().join("clickhouse.toml");
    std::fs::write(
        &config,
        format!("[source]\nkind = \"clickhouse\"\nurl = \"{url}\"\ndatabase = \"exported\"\nuser = \"{TEST_USER}\"\n"),
    )
    .expect("config written");
    let config = config.to_str().expect("utf-8");
    let newest = runtime
        .block_on(
            client
                .query("SELECT toUInt32(max(time)) FROM exported.feed_actions")
                .fetch_one::<u32>(),
        )
        .expect("newest event");
    let to = (i64::from(newest) / BUCKET * BUCKET).to_string();
    let from = (i64::from(newest) / BUCKET * BUCKET - 86_400).to_string();
    for metric in cli::BUILTIN_METRICS {
        for by in [None, Some("os")] {
            let mut args = vec!["series", "--metric", metric, "--from", &from, "--to", &to];
            args.extend(by.iter().flat_map(|by| ["--by", by]));
            let from_clickhouse = {
                let mut args = args.clone();
                args.extend(["--config", config]);
                stdout_of(&cli::vigil_with_env(&args, &password))
            };
            let from_store = stdout_of(&vigil(&data_dir_args(dir, &args)));
            assert!(
                from_store.lines().count() > 20,
                "{metric} {by:?}: {from_store}"
            );
            assert_eq!(from_store, from_clickhouse, "{metric} {by:?}");
        }
    }
}
