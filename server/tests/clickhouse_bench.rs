//! Figures for docs/benchmarks.md, on a real ClickHouse server (ignored by default):
//!
//! ```text
//! cargo test -p server --release --test clickhouse_bench -- --ignored --nocapture
//! VIGIL_BENCH_USERS=20000 VIGIL_BENCH_DAYS=14 ...   # the defaults, ~10 million events
//! ```
//!
//! 1. `vigil simulate --clickhouse-url`: events per second written (its own summary).
//! 2. One full check — every built-in metric, whole and split by each of its slice
//!    dimensions (6 x (1 + 3) = 24 queries) — as vigil builds it (`metrics::sql`,
//!    the exact SQL `ClickHouseSource` runs), over the last 24 hours and the last
//!    7 days, against the seed's approach: the same 24 aggregates over
//!    `WHERE toDate(time) >= today() - 1` (today and yesterday).
//! 3. The same check through a pre-aggregating materialized view (docs/clickhouse.md),
//!    whose values must equal vigil's.
//!
//! Rows and bytes read come from `system.query_log` (18.16 sends no
//! `X-ClickHouse-Summary` header); the script's server config sets `log_queries=1`.

#[path = "support/bench_scale.rs"]
mod bench_scale;
#[path = "support/clickhouse.rs"]
mod clickhouse_support;

// The SQL builder itself, so the figures are for exactly the queries vigil sends.
use server::metrics;

use std::time::{Duration, Instant};

use clickhouse::Client;
use clickhouse_support::TestServer;
use metrics::model::{MetricDef, TableNames, TimeRange, BUCKET_SECONDS};
use metrics::sql::{self, Dialect};

const DATABASE: &str = "vigil_bench";
const ROUNDS: usize = 3;

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// One query to run: its SQL and the values for its `?` placeholders.
struct Planned {
    sql: String,
    params: Vec<String>,
}

/// vigil's full check over `range`: each metric whole, then by each slice dimension.
fn vigil_check(metrics: &[MetricDef], range: TimeRange) -> Vec<Planned> {
    let tables = TableNames::default();
    let mut planned = Vec::new();
    for metric in metrics {
        let whole =
            sql::build(Dialect::ClickHouse, metric, &tables, range, None, None).expect("builds");
        planned.push(Planned {
            sql: whole.sql,
            params: whole.params,
        });
        for dimension in &metric.slices {
            let query = sql::build(
                Dialect::ClickHouse,
                metric,
                &tables,
                range,
                None,
                Some(dimension),
            )
            .expect("builds");
            planned.push(Planned {
                sql: query.sql,
                params: query.params,
            });
        }
    }
    planned
}

/// The seed's approach: per metric (and per metric and slice), today and yesterday.
fn seed_check(metrics: &[MetricDef]) -> Vec<Planned> {
    let mut planned = Vec::new();
    for metric in metrics {
        let (table, value, filter) = seed_aggregate(&metric.name);
        let mut groupings = vec![String::new()];
        groupings.extend(metric.slices.iter().map(|d| format!(", {d}")));
        for group in groupings {
            planned.push(Planned {
                sql: format!(
                    "SELECT toStartOfFifteenMinutes(time) AS ts{group}, {value} AS value \
                     FROM {table} \
                     WHERE toDate(time) >= today() - 1 AND time < toStartOfFifteenMinutes(now()) AND {filter} \
                     GROUP BY ts{group} ORDER BY ts{group}"
                ),
                params: vec![],
            });
        }
    }
    planned
}

fn seed_aggregate(metric: &str) -> (&'static str, &'static str, &'static str) {
    match metric {
        "feed_active_users" => ("feed_actions", "uniqExact(user_id)", "1"),
        "feed_views" => ("feed_actions", "count()", "action = 'view'"),
        "feed_likes" => ("feed_actions", "count()", "action = 'like'"),
        "feed_ctr" => (
            "feed_actions",
            "countIf(action = 'like') / countIf(action = 'view')",
            "1",
        ),
        "messenger_active_users" => ("message_actions", "uniqExact(user_id)", "1"),
        "messages_sent" => ("message_actions", "count()", "1"),
        other => panic!("no seed query for {other}"),
    }
}

/// The same check through the pre-aggregated tables of docs/clickhouse.md.
fn rollup_check(metrics: &[MetricDef], range: TimeRange) -> Vec<Planned> {
    let mut planned = Vec::new();
    for metric in metrics {
        let (table, value, having) = match metric.name.as_str() {
            "feed_active_users" => ("feed_actions_15m", "toFloat64(uniqExactMerge(users))", "1"),
            "feed_views" => (
                "feed_actions_15m",
                "toFloat64(sum(views))",
                "sum(views) > 0",
            ),
            "feed_likes" => (
                "feed_actions_15m",
                "toFloat64(sum(likes))",
                "sum(likes) > 0",
            ),
            "feed_ctr" => (
                "feed_actions_15m",
                "toFloat64(sum(likes)) / toFloat64(sum(views))",
                "sum(views) > 0",
            ),
            "messenger_active_users" => (
                "message_actions_15m",
                "toFloat64(uniqExactMerge(users))",
                "1",
            ),
            "messages_sent" => ("message_actions_15m", "toFloat64(sum(messages))", "1"),
            other => panic!("no rollup query for {other}"),
        };
        let mut groupings = vec![(String::new(), String::new())];
        groupings.extend(
            metric
                .slices
                .iter()
                .map(|d| (format!("{d} AS slice_value, "), "slice_value, ".to_string())),
        );
        for (select, group) in groupings {
            planned.push(Planned {
                sql: format!(
                    "SELECT {select}toUInt32(bucket) AS b, {value} AS value FROM {table} \
                     WHERE bucket >= toDateTime({}) AND bucket < toDateTime({}) \
                     GROUP BY {group}b HAVING {having} ORDER BY {group}b",
                    range.from, range.to
                ),
                params: vec![],
            });
        }
    }
    planned
}

const ROLLUP_DDL: &[&str] = &[
    "CREATE TABLE vigil_bench.feed_actions_15m (\
     bucket DateTime, os String, source String, country String, \
     users AggregateFunction(uniqExact, UInt32), views UInt64, likes UInt64\
     ) ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMMDD(bucket) \
     ORDER BY (bucket, os, source, country)",
    "CREATE MATERIALIZED VIEW vigil_bench.feed_actions_15m_mv TO vigil_bench.feed_actions_15m AS \
     SELECT toStartOfFifteenMinutes(time) AS bucket, os, source, country, \
     uniqExactState(user_id) AS users, countIf(action = 'view') AS views, \
     countIf(action = 'like') AS likes \
     FROM vigil_bench.feed_actions GROUP BY bucket, os, source, country",
    "CREATE TABLE vigil_bench.message_actions_15m (\
     bucket DateTime, os String, source String, country String, \
     users AggregateFunction(uniqExact, UInt32), messages UInt64\
     ) ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMMDD(bucket) \
     ORDER BY (bucket, os, source, country)",
    "CREATE MATERIALIZED VIEW vigil_bench.message_actions_15m_mv TO vigil_bench.message_actions_15m AS \
     SELECT toStartOfFifteenMinutes(time) AS bucket, os, source, country, \
     uniqExactState(user_id) AS users, count() AS messages \
     FROM vigil_bench.message_actions GROUP BY bucket, os, source, country",
];

/// Runs `planned` with query ids `{tag}-{n}`; returns wall time and the results
/// as (slice, bucket, value) triples when the shape is known.
async fn run(client: &Client, tag: &str, planned: &[Planned]) -> (Duration, Vec<Vec<u8>>) {
    let started = Instant::now();
    let mut outputs = Vec::new();
    for (n, query) in planned.iter().enumerate() {
        let mut request = client
            .query(&query.sql)
            .with_setting("query_id", format!("{tag}-{n}"));
        for param in &query.params {
            request = request.bind(param.as_str());
        }
        let mut cursor = request
            .fetch_bytes("TabSeparated")
            .unwrap_or_else(|error| panic!("{}: {error}", query.sql));
        let bytes = cursor
            .collect()
            .await
            .unwrap_or_else(|error| panic!("{}: {error}", query.sql));
        outputs.push(bytes.to_vec());
    }
    (started.elapsed(), outputs)
}

/// (queries, read_rows, read_bytes, server ms) of the queries tagged `tag-*`.
async fn logged(client: &Client, tag: &str) -> (u64, u64, u64, u64) {
    client
        .query(
            "SELECT count(), sum(read_rows), sum(read_bytes), sum(query_duration_ms) \
             FROM system.query_log WHERE toUInt8(type) = 2 AND query_id LIKE ?",
        )
        .bind(format!("{tag}-%"))
        .fetch_one::<(u64, u64, u64, u64)>()
        .await
        .expect("query_log")
}

#[test]
#[ignore = "benchmark: needs minutes and a real ClickHouse server"]
fn clickhouse_figures() {
    let Some(server) = TestServer::start("clickhouse_figures") else {
        return;
    };
    // 1. Fill through the real binary; its summary carries events/s.
    bench_scale::simulate(&["--clickhouse-url", &server.url, "--database", DATABASE]);

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let client = Client::default()
        .with_url(&server.url)
        .with_validation(false)
        .with_compression(clickhouse::Compression::None)
        .with_database(DATABASE);
    runtime.block_on(async {
        // Let background merges settle so every approach sees the same parts.
        client
            .query("OPTIMIZE TABLE feed_actions FINAL")
            .execute()
            .await
            .expect("optimize");
        client
            .query("OPTIMIZE TABLE message_actions FINAL")
            .execute()
            .await
            .expect("optimize");
        let (feed, messages): (u64, u64) = client
            .query("SELECT (SELECT count() FROM feed_actions), (SELECT count() FROM message_actions)")
            .fetch_one()
            .await
            .expect("counts");
        println!("rows: feed_actions {feed}, message_actions {messages}, total {}", feed + messages);

        // 3. Pre-aggregation: create the rollups and backfill them once.
        let started = Instant::now();
        for ddl in ROLLUP_DDL {
            client.query(ddl).execute().await.expect("rollup DDL");
        }
        for backfill in [
            "INSERT INTO feed_actions_15m SELECT toStartOfFifteenMinutes(time) AS bucket, os, source, country, \
             uniqExactState(user_id), countIf(action = 'view'), countIf(action = 'like') \
             FROM feed_actions GROUP BY bucket, os, source, country",
            "INSERT INTO message_actions_15m SELECT toStartOfFifteenMinutes(time) AS bucket, os, source, country, \
             uniqExactState(user_id), count() \
             FROM message_actions GROUP BY bucket, os, source, country",
            "OPTIMIZE TABLE feed_actions_15m FINAL",
            "OPTIMIZE TABLE message_actions_15m FINAL",
        ] {
            client.query(backfill).execute().await.expect("backfill");
        }
        let rollup_rows: u64 = client
            .query("SELECT (SELECT count() FROM feed_actions_15m) + (SELECT count() FROM message_actions_15m)")
            .fetch_one()
            .await
            .expect("rollup rows");
        println!(
            "rollups backfilled in {:.2}s: {rollup_rows} rows",
            started.elapsed().as_secs_f64()
        );

        // 2. The checks. `to` is the end of the current bucket, as a live check would ask.
        let metrics = metrics::catalogue::builtin();
        let now = unix_now();
        let to = (now.div_euclid(BUCKET_SECONDS) + 1) * BUCKET_SECONDS;
        let day = TimeRange { from: to - 86_400, to };
        let week = TimeRange { from: to - 7 * 86_400, to };
        // What `vigil check` reads with the default IQR band (n = 5, asof): the
        // evaluated bucket and twice the detector's lookback before it
        // (`check::plan::fetch_range`), i.e. 15 buckets.
        let lookback = detect::DetectorSpec::Iqr(detect::IqrParams::default()).lookback() as i64;
        let check = TimeRange { from: to - (2 * lookback + 1) * BUCKET_SECONDS, to };
        let approaches: Vec<(&str, Vec<Planned>)> = vec![
            ("vigil-check-iqr", vigil_check(&metrics, check)),
            ("rollup-check-iqr", rollup_check(&metrics, check)),
            ("vigil-24h", vigil_check(&metrics, day)),
            ("vigil-7d", vigil_check(&metrics, week)),
            ("seed-today-yesterday", seed_check(&metrics)),
            ("rollup-24h", rollup_check(&metrics, day)),
            ("rollup-7d", rollup_check(&metrics, week)),
        ];
        let mut results = Vec::new();
        for round in 0..ROUNDS {
            for (name, planned) in &approaches {
                let tag = format!("{name}-r{round}");
                let (elapsed, outputs) = run(&client, &tag, planned).await;
                results.push((name.to_string(), round, elapsed, outputs));
            }
        }
        client.query("SYSTEM FLUSH LOGS").execute().await.expect("flush logs");

        // The rollup must give vigil's values (same TSV: slice, bucket, value).
        let output_of = |name: &str| &results.iter().find(|r| r.0 == name).expect("ran").3;
        assert_eq!(output_of("vigil-check-iqr"), output_of("rollup-check-iqr"), "rollup differs from vigil (check)");
        assert_eq!(output_of("vigil-24h"), output_of("rollup-24h"), "rollup differs from vigil (24h)");
        assert_eq!(output_of("vigil-7d"), output_of("rollup-7d"), "rollup differs from vigil (7d)");

        println!("\n== one full check: 6 built-in metrics, whole + by os, source, country ==");
        println!(
            "{:<22} {:>7} {:>14} {:>12} {:>16} {:>16}",
            "approach", "queries", "rows read", "MB read", "server ms (min)", "wall ms (min)"
        );
        for (name, _) in &approaches {
            let mut wall = Vec::new();
            let mut server_ms = Vec::new();
            let mut read = (0, 0, 0);
            for round in 0..ROUNDS {
                let tag = format!("{name}-r{round}");
                let (queries, rows, bytes, ms) = logged(&client, &tag).await;
                read = (queries, rows, bytes);
                server_ms.push(ms);
                wall.push(
                    results
                        .iter()
                        .find(|r| r.0 == *name && r.1 == round)
                        .expect("ran")
                        .2,
                );
            }
            println!(
                "{:<22} {:>7} {:>14} {:>12.1} {:>16} {:>16}",
                name,
                read.0,
                read.1,
                read.2 as f64 / 1e6,
                server_ms.iter().min().copied().unwrap_or(0),
                wall.iter().min().map_or(0, Duration::as_millis),
            );
        }
    });
}
