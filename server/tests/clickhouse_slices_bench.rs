//! Figures for docs/benchmarks.md, "Thousands of series per check (issue 18)",
//! on a real ClickHouse server (ignored by default):
//!
//! ```text
//! cargo test --release -p server --test clickhouse_slices_bench -- --ignored --nocapture --test-threads 1
//! VIGIL_BENCH_FEED_EVENTS=50000000 VIGIL_BENCH_MESSAGES=5000000 VIGIL_BENCH_ROUNDS=3 ...   # the defaults (make bench: 1 round)
//! VIGIL_BENCH_ONLY=rollup:10,000 ...   # one row (raw:60, raw:1,000, ..., rollup:10,000)
//! ```
//!
//! 1. Starts ClickHouse (scripts/clickhouse-test-server.sh), creates vigil's two
//!    event tables (the DDL of docs/clickhouse.md) and fills them inside
//!    ClickHouse with `INSERT ... SELECT ... FROM numbers(N)`: writing 55
//!    million rows through vigil would take longer than everything measured
//!    here. Every column is a hash of the row number or of the user, so the
//!    same rows come back on every run: 200,000 users, each living in one of
//!    2,000 cities whose sizes follow Zipf's law (city_0 the largest, about
//!    9 % of users; city_1999 about 13 users), so a top-K cap keeps the big
//!    cities; 14 days with a daily cycle (peak 18:00 UTC); CTR 0.2; and a
//!    drop of 90 % of city_1's events in the hour before the checked bucket
//!    ends, so the check has a real outage to deliver.
//! 2. Times whole checks at ~60 series (the built-in metrics), ~1,000 and
//!    ~10,000 (five more metrics sliced by city, capped by `[[dimensions]]
//!    city top`), first on raw events, then after `vigil clickhouse rollup`
//!    (timed). Each run is one `vigil check --at 19:02 --until 20:02` (a
//!    fresh process and alert state, delivering to a fake Telegram Bot API):
//!    five checks in turn, the first cold (what a cron's `vigil check` or a
//!    server's first check costs), the four after it warm (what every later
//!    check of a running `vigil serve` costs). Per run: each check's
//!    duration, queries and series (its `check done` line), peak RSS (VmHWM)
//!    and the largest RSS after the first check, and the rows ClickHouse read
//!    (`system.query_log`, user `vigil`) by the first check and by the later ones.

#[path = "support/bench_scale.rs"]
mod bench_scale;
#[path = "support/clickhouse.rs"]
mod clickhouse_support;
#[path = "support/fake_telegram.rs"]
mod fake_telegram;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bench_scale::{
    check_done_field, check_done_fields, check_done_times, env_or, run_sampling_phases, vigil_bin,
    CITY_METRICS,
};
use clickhouse::Client;
use clickhouse_support::{TestServer, TEST_PASSWORD, TEST_USER};
use fake_telegram::{FakeApi, CHAT, TOKEN};

const DATABASE: &str = "vigil_slices";
/// The data's 14 days: [START, START + 14 days), as unix seconds and text.
const START: i64 = 1_795_392_000; // 2026-11-23 00:00:00 UTC
const DAYS: i64 = 14;
/// The checked moment: the bucket 19:45-20:00 of the last day is complete
/// (20:00 + the default 120 s grace), the evening peak.
const AT: &str = "2026-12-06 20:02:00";
/// The first checked moment: an hour earlier, so one run checks five
/// buckets in turn (18:45 to 19:45), the first cold, the others warm.
const FIRST_AT: &str = "2026-12-06 19:02:00";
const CHECKS: usize = 5;
const AT_BUCKET_END: i64 = START + 13 * 86_400 + 20 * 3_600;
const USERS: u64 = 200_000;
const CITIES: u64 = 2_000;

/// One size: the label and the city cap (`None`: no city metrics).
const SIZES: [(&str, Option<u32>); 3] =
    [("60", None), ("1,000", Some(188)), ("10,000", Some(1_988))];

/// Per-user attributes: a hash of the user id, so a user keeps its city, os,
/// source and country in both tables. `pow(2001, v)` with v uniform in [0, 1)
/// is log-uniform on [1, 2001): P(city k) ~ 1/(k+1), Zipf with exponent 1.
fn user_columns(user: &str) -> String {
    format!(
        "concat('city_', toString(least(toUInt32(floor(pow({cities_plus}, (cityHash64({user}, 7) % 1000000) / 1000000.))) - 1, {last}))) AS city, \
         if(cityHash64({user}, 8) % 10 < 6, 'Android', 'iOS') AS os, \
         if(cityHash64({user}, 9) % 10 < 7, 'organic', 'ads') AS source, \
         arrayElement(['Russia', 'Ukraine', 'Belarus', 'Kazakhstan', 'Finland'], 1 + cityHash64({user}, 10) % 5) AS country, \
         toUInt8(cityHash64({user}, 11) % 2) AS gender, \
         toUInt8(14 + cityHash64({user}, 12) % 50) AS age, \
         toUInt8(cityHash64({user}, 13) % 5) AS exp_group",
        cities_plus = CITIES + 1,
        last = CITIES - 1,
    )
}

/// The event time of row `n`: day n mod 14; within the day, 30 % uniform and
/// 70 % triangular (the mean of two uniforms) centred on 12:00, shifted by 6 h
/// so the peak is at 18:00 and the trough at 06:00.
fn time_column() -> String {
    format!(
        "toDateTime({START} + (n % {DAYS}) * 86400 + ((if(cityHash64(n, 4) % 10 < 3, \
         cityHash64(n, 5) % 86400, cityHash64(n, 5) % 43200 + cityHash64(n, 6) % 43200) + 21600) % 86400)) AS time"
    )
}

/// Drops 90 % of city_1's rows in the hour before the checked bucket ends.
fn outage_filter() -> String {
    format!(
        "NOT (city = 'city_1' AND time >= toDateTime({}) AND time < toDateTime({AT_BUCKET_END}) \
         AND cityHash64(n, 14) % 10 < 9)",
        AT_BUCKET_END - 3_600
    )
}

fn feed_insert(offset: u64, count: u64) -> String {
    format!(
        "INSERT INTO {DATABASE}.feed_actions \
         (user_id, post_id, action, time, gender, age, country, city, os, source, exp_group) \
         SELECT user_id, post_id, action, time, gender, age, country, city, os, source, exp_group FROM ( \
           SELECT n, user_id, post_id, action, time, {users} FROM ( \
             SELECT number + {offset} AS n, \
               toUInt32(1 + cityHash64(n, 1) % {USERS}) AS user_id, \
               toUInt32(cityHash64(n, 2) % 100000) AS post_id, \
               if(cityHash64(n, 3) % 6 = 0, 'like', 'view') AS action, \
               {time} \
             FROM numbers({count}))) \
         WHERE {outage}",
        users = user_columns("user_id"),
        time = time_column(),
        outage = outage_filter(),
    )
}

fn messages_insert(offset: u64, count: u64) -> String {
    format!(
        "INSERT INTO {DATABASE}.message_actions \
         (user_id, receiver_id, time, source, exp_group, gender, age, country, city, os) \
         SELECT user_id, receiver_id, time, source, exp_group, gender, age, country, city, os FROM ( \
           SELECT n, user_id, receiver_id, time, {users} FROM ( \
             SELECT number + {offset} AS n, \
               toUInt32(1 + cityHash64(n, 1) % {USERS}) AS user_id, \
               toUInt32(1 + cityHash64(n, 2) % {USERS}) AS receiver_id, \
               {time} \
             FROM numbers({count}))) \
         WHERE {outage}",
        users = user_columns("user_id"),
        time = time_column(),
        outage = outage_filter(),
    )
}

/// The DDL of docs/clickhouse.md ("The DDL vigil creates").
fn ddl() -> Vec<String> {
    vec![
        format!("CREATE DATABASE IF NOT EXISTS {DATABASE}"),
        format!(
            "CREATE TABLE {DATABASE}.feed_actions (\
             user_id UInt32, post_id UInt32, action String, time DateTime, \
             gender UInt8, age UInt8, country String, city String, os String, \
             source String, exp_group UInt8\
             ) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (time)"
        ),
        format!(
            "CREATE TABLE {DATABASE}.message_actions (\
             user_id UInt32, receiver_id UInt32, time DateTime, source String, \
             exp_group UInt8, gender UInt8, age UInt8, country String, city String, \
             os String\
             ) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (time)"
        ),
    ]
}

/// What one run of `vigil check --at FIRST_AT --until AT` took: the first
/// check on a fresh process (cold), then the ones after it (warm, as every
/// check of a running `vigil serve` after its first).
struct Round {
    wall: Duration,
    peak_rss_kib: u64,
    /// Largest resident set once the first check was done.
    warm_rss_kib: u64,
    /// Each check's own `duration_ms` and `queries`, oldest first.
    check_ms: Vec<u64>,
    queries: Vec<u64>,
    evaluated: u64,
    anomalies: u64,
    enqueued: u64,
    /// From system.query_log: queries, rows read, server ms; of the whole
    /// run, and of the queries started once the first check was done.
    ch: (u64, u64, u64),
    ch_warm: (u64, u64, u64),
    telegram_sends: usize,
    log: String,
}

impl Round {
    fn warm_checks(&self) -> usize {
        self.check_ms.len().saturating_sub(1)
    }

    /// Median and largest duration of the checks after the first.
    fn warm_ms(&self) -> (u64, u64) {
        let mut warm = self.check_ms[1..].to_vec();
        warm.sort_unstable();
        (warm[warm.len() / 2], *warm.last().unwrap_or(&0))
    }
}

/// Totals of user `vigil`'s finished queries started at or after `since`
/// (unix seconds; queries, rows, ms): the bench's own client is `default`,
/// so a difference is one run's.
fn query_log_totals(
    runtime: &tokio::runtime::Runtime,
    client: &Client,
    since: i64,
) -> (u64, u64, u64) {
    runtime.block_on(async {
        client
            .query("SYSTEM FLUSH LOGS")
            .execute()
            .await
            .expect("flush");
        client
            .query(
                "SELECT count(), sum(read_rows), sum(query_duration_ms) FROM system.query_log \
                 WHERE toUInt8(type) = 2 AND user = ? AND query_start_time >= toDateTime(?)",
            )
            .bind(TEST_USER)
            .bind(since)
            .fetch_one::<(u64, u64, u64)>()
            .await
            .expect("query_log")
    })
}

/// Telegram calls that carry an alert to the chat.
fn sends(fake: &FakeApi) -> usize {
    ["sendMessage", "sendPhoto", "sendMediaGroup", "sendDocument"]
        .iter()
        .map(|method| fake.calls(method).len())
        .sum()
}

fn check_run(
    dir: &Path,
    config: &Path,
    runtime: &tokio::runtime::Runtime,
    client: &Client,
    fake: &FakeApi,
) -> Round {
    let _ = std::fs::remove_file(dir.join("vigil-state.sqlite"));
    let log_path = dir.join("check.log");
    let before = query_log_totals(runtime, client, 0);
    let sent_before = sends(fake);
    let sampled = run_sampling_phases(
        Command::new(vigil_bin())
            .args(["check", "--at", FIRST_AT, "--until", AT])
            .arg("--data-dir")
            .arg(dir)
            .arg("--config")
            .arg(config)
            .env_remove("VIGIL_CONFIG")
            .env("VIGIL_CLICKHOUSE_PASSWORD", TEST_PASSWORD)
            .env("VIGIL_TELEGRAM_TOKEN", TOKEN)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).expect("log file")),
        &log_path,
    );
    let log = std::fs::read_to_string(&log_path).expect("log");
    assert!(sampled.status.success(), "vigil check failed:\n{log}");
    let after = query_log_totals(runtime, client, 0);
    // Conservative: a query of the first check started in the second it
    // ended counts as warm.
    let first_done = check_done_times(&log)[0];
    let warm = query_log_totals(runtime, client, first_done);
    let check_ms = check_done_fields(&log, "duration_ms");
    assert_eq!(
        check_ms.len(),
        CHECKS,
        "one `check done` per bucket:\n{log}"
    );
    Round {
        wall: sampled.wall,
        peak_rss_kib: sampled.peak_kib,
        warm_rss_kib: sampled.after_first_kib,
        check_ms,
        queries: check_done_fields(&log, "queries"),
        evaluated: check_done_field(&log, "evaluated"),
        anomalies: check_done_field(&log, "anomalies"),
        enqueued: check_done_fields(&log, "enqueued").iter().sum(),
        ch: (after.0 - before.0, after.1 - before.1, after.2 - before.2),
        ch_warm: warm,
        telegram_sends: sends(fake) - sent_before,
        log,
    }
}

/// Whether `VIGIL_BENCH_ONLY` (e.g. `rollup:10,000`; unset: every row)
/// selects this row: a quicker rerun of the one that matters.
fn selected(rollup: bool, label: &str) -> bool {
    std::env::var("VIGIL_BENCH_ONLY").map_or(true, |only| {
        only == format!("{}:{label}", if rollup { "rollup" } else { "raw" })
    })
}

fn execute(runtime: &tokio::runtime::Runtime, client: &Client, sql: &str) {
    runtime
        .block_on(client.query(sql).execute())
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
}

#[test]
#[ignore = "benchmark: minutes and a real ClickHouse server (make bench)"]
fn thousands_of_series_per_check_on_clickhouse() {
    let feed_events: u64 = env_or("VIGIL_BENCH_FEED_EVENTS", 50_000_000);
    let messages: u64 = env_or("VIGIL_BENCH_MESSAGES", 5_000_000);
    let rounds: usize = env_or("VIGIL_BENCH_ROUNDS", 3);
    let Some(server) = TestServer::start("clickhouse_slices_bench") else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let client = Client::default()
        .with_url(&server.url)
        .with_validation(false)
        .with_compression(clickhouse::Compression::None);
    for sql in ddl() {
        execute(&runtime, &client, &sql);
    }

    // 1. Fill, 10 million rows per INSERT (bounded memory on a small machine).
    let started = Instant::now();
    const CHUNK: u64 = 10_000_000;
    for (insert, total) in [
        (feed_insert as fn(u64, u64) -> String, feed_events),
        (messages_insert, messages),
    ] {
        let mut offset = 0;
        while offset < total {
            execute(
                &runtime,
                &client,
                &insert(offset, CHUNK.min(total - offset)),
            );
            offset += CHUNK;
        }
    }
    let filled = started.elapsed();
    // One part per day, so background merges do not run during the checks.
    let started = Instant::now();
    for table in ["feed_actions", "message_actions"] {
        execute(
            &runtime,
            &client,
            &format!("OPTIMIZE TABLE {DATABASE}.{table} FINAL"),
        );
    }
    let optimized = started.elapsed();
    let (feed, message, cities): (u64, u64, u64) = runtime
        .block_on(
            client
                .query(&format!(
                    "SELECT (SELECT count() FROM {DATABASE}.feed_actions), \
                     (SELECT count() FROM {DATABASE}.message_actions), \
                     (SELECT uniqExact(city) FROM {DATABASE}.feed_actions)"
                ))
                .fetch_one(),
        )
        .expect("counts");
    println!(
        "\nfilled {feed} feed events + {message} messages = {} in {:.1} s (OPTIMIZE FINAL {:.1} s), {cities} cities",
        feed + message,
        filled.as_secs_f64(),
        optimized.as_secs_f64()
    );
    // The outage removed ~0.1 % of the rows; the target is 50 million.
    if feed_events + messages >= 50_000_000 {
        assert!(
            feed + message >= 50_000_000,
            "only {} events",
            feed + message
        );
    }
    assert!(
        cities >= 1_989,
        "only {cities} cities: the 10,000 size needs 1,989"
    );

    let fake = FakeApi::spawn();
    let dir = tempfile::tempdir().expect("temp dir");
    let base = format!(
        "[source]\nkind = \"clickhouse\"\nurl = \"{}\"\ndatabase = \"{DATABASE}\"\nuser = \"{TEST_USER}\"\n\n\
         [telegram]\nchat = {CHAT}\napi_url = \"{}\"\n\n[report]\nenabled = false\n",
        server.url, fake.base_url
    );

    println!(
        "\n| reads | series (target) | city top | series evaluated | first check | later checks (median / max of {}) \
         | whole run | peak RSS (whole run / after the first check) | vigil queries (first / later) \
         | ClickHouse queries (first / later, each) | rows read (first / later, each) \
         | ClickHouse ms (first / later, each) | anomalies (newest) | enqueued | Telegram sends |",
        CHECKS - 1
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut ten_thousand = Vec::new();
    for rollup in [false, true] {
        if rollup {
            // 2. The rollup, through the real command.
            let config = dir.path().join("vigil.toml");
            std::fs::write(&config, &base).expect("config");
            let started = Instant::now();
            let output = Command::new(vigil_bin())
                .args(["clickhouse", "rollup", "--config"])
                .arg(&config)
                .env_remove("VIGIL_CONFIG")
                .env("VIGIL_CLICKHOUSE_PASSWORD", TEST_PASSWORD)
                .output()
                .expect("vigil clickhouse rollup");
            assert!(
                output.status.success(),
                "rollup failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let rollup_rows: u64 = runtime
                .block_on(
                    client
                        .query(&format!(
                            "SELECT (SELECT count() FROM {DATABASE}.feed_actions_rollup_15m) \
                             + (SELECT count() FROM {DATABASE}.message_actions_rollup_15m)"
                        ))
                        .fetch_one(),
                )
                .expect("rollup rows");
            println!(
                "\n`vigil clickhouse rollup`: {:.1} s, {rollup_rows} rollup rows\n",
                started.elapsed().as_secs_f64()
            );
        }
        for (label, top) in SIZES {
            if !selected(rollup, label) {
                continue;
            }
            let config = dir.path().join("vigil.toml");
            let extra = top.map_or(String::new(), |top| {
                format!("{CITY_METRICS}\n[[dimensions]]\nname = \"city\"\ntop = {top}\n")
            });
            std::fs::write(&config, format!("{base}{extra}")).expect("config");
            let mut runs: Vec<Round> = (0..rounds)
                .map(|_| check_run(dir.path(), &config, &runtime, &client, &fake))
                .collect();
            runs.sort_by_key(|round| round.wall);
            let median = runs.swap_remove(runs.len() / 2);
            let warm = median.warm_checks() as u64;
            let (warm_median, warm_max) = median.warm_ms();
            let first = (
                median.ch.0 - median.ch_warm.0,
                median.ch.1 - median.ch_warm.1,
                median.ch.2 - median.ch_warm.2,
            );
            println!(
                "| {} | {label} | {} | {} | {:.2} s | {:.2} / {:.2} s | {:.1} s | {:.0} / {:.0} MiB | {} / {} \
                 | {} / {} | {} / {} | {} / {} | {} | {} | {} |",
                if rollup { "rollup" } else { "raw events" },
                top.map_or("-".to_string(), |t| t.to_string()),
                median.evaluated,
                median.check_ms[0] as f64 / 1000.0,
                warm_median as f64 / 1000.0,
                warm_max as f64 / 1000.0,
                median.wall.as_secs_f64(),
                median.peak_rss_kib as f64 / 1024.0,
                median.warm_rss_kib as f64 / 1024.0,
                median.queries[0],
                median.queries[1..].iter().sum::<u64>() / warm,
                first.0,
                median.ch_warm.0 / warm,
                first.1,
                median.ch_warm.1 / warm,
                first.2,
                median.ch_warm.2 / warm,
                median.anomalies,
                median.enqueued,
                median.telegram_sends,
            );
            if label == "10,000" {
                // The series the issue's target names, and an alert delivered.
                assert!(median.evaluated >= 10_000, "{} series", median.evaluated);
                assert!(median.telegram_sends > 0, "no alert reached Telegram");
                ten_thousand.push(median);
            }
        }
    }
    for round in &ten_thousand {
        println!("\n--- the 10,000-series run's log, without its anomaly lines ---");
        for line in round.log.lines().filter(|l| !l.contains("anomaly:")) {
            println!("{line}");
        }
    }
}
