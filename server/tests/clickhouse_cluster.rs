// Over 600 lines: the cluster fixture is shared by the raw-read, rollup and timing tests.
//! vigil on a two-shard ClickHouse cluster (`scripts/clickhouse-test-cluster.sh`):
//! `Distributed` tables over per-shard `MergeTree` tables, created on each shard
//! with the DDL of docs/clickhouse.md ("A sharded cluster"). `vigil simulate`
//! writes through the Distributed tables (sharded by `cityHash64(user_id)`),
//! the same rows are copied into one plain server, and every built-in metric,
//! whole and by each built-in slice, read by `vigil series` through the
//! Distributed table equals the one read from the single server; so it does
//! after `vigil clickhouse rollup --shard-url ...` built a rollup on every
//! shard, read through a Distributed rollup.

#[path = "support/cli.rs"]
mod cli;

#[path = "support/clickhouse.rs"]
mod clickhouse_support;

use std::path::Path;
use std::process::Output;

use cli::stdout_of;
use clickhouse_support::{TestCluster, TestServer, TEST_PASSWORD, TEST_USER};

const BUCKET: i64 = 900;
const DATABASE: &str = "vigil_sharded";
/// Event tables: (name vigil reads, columns), as in `sources/clickhouse/ddl.rs`.
const TABLES: [(&str, &str); 2] = [
    (
        "feed_actions",
        "user_id UInt32, post_id UInt32, action String, time DateTime, gender UInt8, age UInt8, \
         country String, city String, os String, source String, exp_group UInt8",
    ),
    (
        "message_actions",
        "user_id UInt32, receiver_id UInt32, time DateTime, source String, exp_group UInt8, \
         gender UInt8, age UInt8, country String, city String, os String",
    ),
];

fn vigil(args: &[&str]) -> Output {
    cli::vigil_with_env(args, &[("VIGIL_CLICKHOUSE_PASSWORD", TEST_PASSWORD)])
}

fn client(url: &str) -> clickhouse::Client {
    clickhouse::Client::default()
        .with_url(url)
        .with_validation(false)
        .with_compression(clickhouse::Compression::None)
}

fn execute(runtime: &tokio::runtime::Runtime, url: &str, sql: &str) {
    runtime
        .block_on(client(url).query(sql).execute())
        .unwrap_or_else(|error| panic!("{url}: {sql}: {error}"));
}

fn query<T>(runtime: &tokio::runtime::Runtime, url: &str, sql: &str) -> Vec<T>
where
    T: clickhouse::RowOwned + clickhouse::RowRead,
{
    runtime
        .block_on(client(url).query(sql).fetch_all::<T>())
        .unwrap_or_else(|error| panic!("{url}: {sql}: {error}"))
}

fn count(runtime: &tokio::runtime::Runtime, url: &str, sql: &str) -> u64 {
    query::<u64>(runtime, url, sql)[0]
}

/// A config reading `url` as `user` (the password comes from the environment).
fn write_config(dir: &Path, name: &str, url: &str, user: &str) -> String {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "[source]\nkind = \"clickhouse\"\nurl = \"{url}\"\ndatabase = \"{DATABASE}\"\nuser = \"{user}\"\n"
        ),
    )
    .expect("config written");
    path.to_str().expect("utf-8 path").to_string()
}

/// The per-shard DDL: the local MergeTree table and the Distributed table
/// over it, under the name vigil reads.
fn shard_ddl() -> Vec<String> {
    let mut statements = vec![format!("CREATE DATABASE IF NOT EXISTS {DATABASE}")];
    for (table, columns) in TABLES {
        statements.push(format!(
            "CREATE TABLE IF NOT EXISTS {DATABASE}.{table}_local ({columns}) \
             ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (time)"
        ));
        statements.push(format!(
            "CREATE TABLE IF NOT EXISTS {DATABASE}.{table} AS {DATABASE}.{table}_local \
             ENGINE = Distributed({}, {DATABASE}, {table}_local, cityHash64(user_id))",
            TestCluster::NAME
        ));
    }
    statements
}

/// `vigil series` of `metric` (optionally `--by`/`--slice`) over `[from, to)`.
fn series(config: &str, metric: &str, from: i64, to: i64, extra: &[&str]) -> String {
    let (from, to) = (from.to_string(), to.to_string());
    let mut args = vec![
        "series", "--metric", metric, "--from", &from, "--to", &to, "--config", config,
    ];
    args.extend_from_slice(extra);
    stdout_of(&vigil(&args))
}

/// A cluster whose Distributed tables `vigil simulate` filled, and a single
/// server holding the same rows (copied from the cluster).
struct Fixture {
    cluster: TestCluster,
    single: TestServer,
    runtime: tokio::runtime::Runtime,
}

impl Fixture {
    fn start(test: &str, days: &str, users: &str) -> Option<Self> {
        let cluster = TestCluster::start(test)?;
        let single = TestServer::start(&format!("{test} (single server)"))?;
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let fixture = Self {
            cluster,
            single,
            runtime,
        };
        for shard in &fixture.cluster.shard_urls {
            for statement in shard_ddl() {
                execute(&fixture.runtime, shard, &statement);
            }
        }
        fixture.simulate_into_cluster(days, users);
        fixture.copy_to_single_server();
        Some(fixture)
    }

    /// Written through shard 1's Distributed tables; tables that exist are kept.
    fn simulate_into_cluster(&self, days: &str, users: &str) {
        let command = format!(
            "simulate --clickhouse-url {} --database {DATABASE} --user {TEST_USER} \
             --days {days} --users {users} --seed 11",
            self.cluster.shard_urls[0]
        );
        let summary = stdout_of(&vigil(&command.split_whitespace().collect::<Vec<_>>()));
        assert!(summary.contains("events/s"), "{summary}");
    }

    /// The same rows on one plain server, read from the cluster.
    fn copy_to_single_server(&self) {
        let (runtime, shards, single) = (&self.runtime, &self.cluster.shard_urls, &self.single);
        let shard1_tcp = query::<u16>(
            runtime,
            &shards[0],
            &format!(
                "SELECT port FROM system.clusters WHERE cluster = '{}' AND shard_num = 1",
                TestCluster::NAME
            ),
        )[0];
        execute(runtime, &single.url, &format!("CREATE DATABASE {DATABASE}"));
        for (table, columns) in TABLES {
            execute(
                runtime,
                &single.url,
                &format!(
                    "CREATE TABLE {DATABASE}.{table} ({columns}) \
                 ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (time)"
                ),
            );
            execute(
                runtime,
                &single.url,
                &format!(
                    "INSERT INTO {DATABASE}.{table} \
                 SELECT * FROM remote('127.0.0.1:{shard1_tcp}', {DATABASE}, {table})"
                ),
            );
            let all = format!("SELECT count() FROM {DATABASE}.{table}");
            assert_eq!(
                count(runtime, &single.url, &all),
                count(runtime, &shards[0], &all),
                "{table} copied whole"
            );
        }
    }

    /// Configs reading the single server and each shard as the initiator.
    fn configs(&self, dir: &Path) -> (String, [String; 2]) {
        let shards = &self.cluster.shard_urls;
        (
            write_config(dir, "single", &self.single.url, TEST_USER),
            [
                write_config(dir, "shard1", &shards[0], TEST_USER),
                write_config(dir, "shard2", &shards[1], TEST_USER),
            ],
        )
    }

    /// Unix seconds: the first event, and the end of the newest whole bucket.
    fn event_span(&self) -> (i64, i64) {
        let (first, newest) = query::<(u32, u32)>(
            &self.runtime,
            &self.single.url,
            &format!(
                "SELECT toUInt32(min(time)), toUInt32(max(time)) FROM {DATABASE}.feed_actions"
            ),
        )[0];
        (i64::from(first), i64::from(newest) / BUCKET * BUCKET)
    }
}

#[test]
fn metrics_through_a_distributed_table_equal_one_server_with_the_same_rows() {
    let Some(fixture) = Fixture::start("metrics_through_a_distributed_table", "2", "300") else {
        return;
    };
    let (runtime, shards) = (&fixture.runtime, &fixture.cluster.shard_urls);
    for (table, _) in TABLES {
        let total = count(
            runtime,
            &shards[1],
            &format!("SELECT count() FROM {DATABASE}.{table}"),
        );
        let mut on_shards = 0;
        for (index, shard) in shards.iter().enumerate() {
            let local = format!("{DATABASE}.{table}_local");
            let rows = count(runtime, shard, &format!("SELECT count() FROM {local}"));
            // Both shards hold a real share, and only their own users' rows
            // (shard_num 1 takes remainder 0 of the sharding key).
            assert!(
                rows > total / 4,
                "{table} shard {}: {rows} of {total}",
                index + 1
            );
            let foreign = count(
                runtime,
                shard,
                &format!("SELECT count() FROM {local} WHERE cityHash64(user_id) % 2 != {index}"),
            );
            assert_eq!(foreign, 0, "{table} shard {}", index + 1);
            on_shards += rows;
        }
        // Synchronous inserts: every row is on a shard when simulate returns.
        assert_eq!(on_shards, total, "{table}");
        assert!(total > 500, "{table}: {total}");
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let (one_server, through_shard) = fixture.configs(dir.path());
    let (from, to) = fixture.event_span();
    // Whole, by each built-in dimension, and one slice; a partial-bucket
    // window too; either server can be the initiator.
    assert_cluster_reads_equal_one_server(
        &one_server,
        &through_shard,
        &[(from, to), (to - 5 * 3600 + 77, to - 1800 - 3)],
    );

    // What vigil sent: one flat SELECT per read (no subquery, no LIMIT, whose
    // per-shard evaluation could differ from one server's), over the
    // Distributed tables, never a shard's local table.
    execute(runtime, &shards[0], "SYSTEM FLUSH LOGS");
    let sent = query::<String>(
        runtime,
        &shards[0],
        &format!(
            "SELECT query FROM system.query_log WHERE toString(type) IN ('2', 'QueryFinish') AND is_initial_query \
             AND user = '{TEST_USER}' AND query LIKE 'SELECT%'"
        ),
    );
    let reads: Vec<&String> = sent.iter().filter(|sql| sql.contains("_actions")).collect();
    assert!(reads.len() >= 6 * 5 * 2, "{sent:?}");
    for sql in reads {
        assert_eq!(sql.matches("SELECT").count(), 1, "{sql}");
        assert!(!sql.contains("LIMIT") && !sql.contains("_local"), "{sql}");
    }

    // A whole check (every metric and slice, with each detector's history)
    // decides the same through either server.
    let at = to.to_string();
    let check = |config: &str| dry_run_check(config, &at);
    let want = check(&one_server);
    assert!(want.contains("feed_ctr"), "{want}");
    assert_eq!(check(&through_shard[0]), want);

    // The readonly user of a dashboard reads through the Distributed table too.
    let reader = write_config(dir.path(), "reader", &shards[1], "vigil_reader");
    assert_eq!(
        series(&reader, "feed_active_users", from, to, &["--by", "os"]),
        series(&one_server, "feed_active_users", from, to, &["--by", "os"])
    );

    // Rollups over Distributed tables: refused with the reason, nothing created.
    let output = vigil(&["clickhouse", "rollup", "--config", &through_shard[0]]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("Distributed tables (feed_actions, message_actions")
            && stderr.contains("every shard"),
        "{stderr}"
    );
    let rollups = format!(
        "SELECT count() FROM system.tables WHERE database = '{DATABASE}' AND name LIKE '%rollup%'"
    );
    for shard in shards {
        assert_eq!(count(runtime, shard, &rollups), 0);
    }
}

/// `vigil clickhouse rollup` through shard 1, naming `shard_urls`.
fn rollup_on_cluster(config: &str, shard_urls: &[&str]) -> Output {
    let mut args = vec!["clickhouse", "rollup", "--config", config];
    for url in shard_urls {
        args.extend(["--shard-url", url]);
    }
    vigil(&args)
}

/// `(database, name, engine)` of every rollup table or view on `url`.
fn rollup_tables(runtime: &tokio::runtime::Runtime, url: &str) -> Vec<(String, String, String)> {
    query(
        runtime,
        url,
        "SELECT database, name, engine FROM system.tables \
         WHERE name LIKE '%rollup%' ORDER BY database, name",
    )
}

/// The same new events into the cluster (through shard 1's Distributed
/// tables, synchronously) and into the single server: `rows` per table over
/// `[start, start + 1800)`, so through the materialized views on both shards.
fn insert_late_events(fixture: &Fixture, start: i64, rows: u32) {
    let feed = format!(
        "INSERT INTO {DATABASE}.feed_actions SELECT toUInt32(number % 397), toUInt32(number), \
         if(number % 4 = 0, 'like', 'view'), toDateTime({start} + number % 1800), \
         toUInt8(number % 2), toUInt8(25), if(number % 7 = 0, 'Poland', 'Russia'), 'Moscow', \
         if(number % 3 = 0, 'iOS', 'Android'), if(number % 5 = 0, 'ads', 'organic'), \
         toUInt8(number % 5) FROM system.numbers LIMIT {rows}"
    );
    let messages = format!(
        "INSERT INTO {DATABASE}.message_actions SELECT toUInt32(number % 389), \
         toUInt32(number % 101), toDateTime({start} + number % 1800), \
         if(number % 5 = 0, 'ads', 'organic'), toUInt8(number % 5), toUInt8(1), toUInt8(30), \
         'Russia', 'Moscow', if(number % 3 = 0, 'iOS', 'Android') FROM system.numbers LIMIT {rows}"
    );
    for url in [&fixture.cluster.shard_urls[0], &fixture.single.url] {
        for sql in [&feed, &messages] {
            fixture
                .runtime
                .block_on(
                    client(url)
                        .with_setting("insert_distributed_sync", "1")
                        .query(sql)
                        .execute(),
                )
                .unwrap_or_else(|error| panic!("{url}: {sql}: {error}"));
        }
    }
}

/// Every built-in metric, whole, by each built-in dimension and for one
/// slice, over each window: read through either shard equals the single
/// server with the same rows (raw events).
fn assert_cluster_reads_equal_one_server(
    one_server: &str,
    through_shard: &[String; 2],
    windows: &[(i64, i64)],
) {
    let views: [&[&str]; 5] = [
        &[],
        &["--by", "os"],
        &["--by", "source"],
        &["--by", "country"],
        &["--slice", "os=Android"],
    ];
    for metric in cli::BUILTIN_METRICS {
        for extra in views {
            for &(from, to) in windows {
                // `vigil series` prints only the buckets complete by the
                // clock, and windows reach past it: reads on either side of
                // a bucket's end (plus the grace) differ by that bucket, so
                // a comparison that straddles one is made again.
                for attempt in 0.. {
                    let want = series(one_server, metric, from, to, extra);
                    assert!(want.lines().count() > 4, "{metric} {extra:?}: {want}");
                    let got: Vec<String> = (through_shard.iter())
                        .map(|config| series(config, metric, from, to, extra))
                        .collect();
                    if attempt == 0 && series(one_server, metric, from, to, extra) != want {
                        continue;
                    }
                    for (config, got) in through_shard.iter().zip(got) {
                        assert_eq!(got, want, "{metric} {extra:?} [{from}, {to}) via {config}");
                    }
                    break;
                }
            }
        }
    }
}

#[test]
fn rollups_on_every_shard_read_through_a_distributed_rollup_equal_one_server() {
    let Some(fixture) = Fixture::start("rollups_on_every_shard", "2", "300") else {
        return;
    };
    let (runtime, shards) = (&fixture.runtime, &fixture.cluster.shard_urls);
    let dir = tempfile::tempdir().expect("temp dir");
    let (one_server, through_shard) = fixture.configs(dir.path());
    let (shard1, shard2) = (shards[0].as_str(), shards[1].as_str());

    // Refused before anything is made: a shard left out, a URL that is not
    // a shard, a shard that does not answer (named in the error).
    let nothing_made = |output: &Output, wanted: &[&str]| {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{stderr}");
        for wanted in wanted.iter().chain(&["nothing was created"]) {
            assert!(stderr.contains(wanted), "{wanted}: {stderr}");
        }
        for shard in shards {
            assert_eq!(rollup_tables(runtime, shard), []);
        }
    };
    nothing_made(
        &rollup_on_cluster(&through_shard[0], &[shard1]),
        &["no --shard-url for shard 2 (127.0.0.1:"],
    );
    nothing_made(
        &rollup_on_cluster(&through_shard[0], &[shard1, shard1]),
        &["are both shard 1 of cluster vigil_cluster"],
    );
    nothing_made(
        &rollup_on_cluster(&through_shard[0], &[shard1, &fixture.single.url]),
        &[&format!(
            "--shard-url {} is not a shard",
            fixture.single.url
        )],
    );
    // --shard-url against plain tables (the single server): refused too.
    nothing_made(
        &rollup_on_cluster(&one_server, &[shard1, shard2]),
        &[
            "feed_actions and message_actions in clickhouse",
            "are not Distributed tables",
        ],
    );
    assert_eq!(rollup_tables(runtime, &fixture.single.url), []);
    let dead = "http://127.0.0.1:1";
    nothing_made(
        &rollup_on_cluster(&through_shard[0], &[shard1, dead]),
        &["cannot reach --shard-url http://127.0.0.1:1"],
    );

    // Built: a line per shard, table and day.
    let built = stdout_of(&rollup_on_cluster(&through_shard[0], &[shard2, shard1]));
    for shard in ["shard 1", "shard 2"] {
        for table in ["feed_actions_local", "message_actions_local"] {
            assert!(
                built.contains(&format!("{shard}: {table}: day ")),
                "{shard} {table}: {built}"
            );
        }
    }
    assert!(built.contains("rollups ready in"), "{built}");
    let made: Vec<_> = shards.iter().map(|s| rollup_tables(runtime, s)).collect();
    for tables in &made {
        let names: Vec<(&str, &str)> = tables
            .iter()
            .map(|(_, name, engine)| (name.as_str(), engine.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("feed_actions_local_rollup_15m", "AggregatingMergeTree"),
                ("feed_actions_local_rollup_15m_mv", "MaterializedView"),
                ("feed_actions_rollup_15m", "Distributed"),
                ("message_actions_local_rollup_15m", "AggregatingMergeTree"),
                ("message_actions_local_rollup_15m_mv", "MaterializedView"),
                ("message_actions_rollup_15m", "Distributed"),
                ("vigil_rollups", "ReplacingMergeTree"),
            ]
        );
    }
    // Each shard rolled up its own events only: the local rollups add up to
    // every event, and neither shard holds them all.
    let events = |url: &str, table: &str| {
        count(
            runtime,
            url,
            &format!("SELECT toUInt64(countMerge(events)) FROM {DATABASE}.{table}"),
        )
    };
    for table in ["feed_actions", "message_actions"] {
        let local = format!("{table}_local_rollup_15m");
        let raw = count(
            runtime,
            &fixture.single.url,
            &format!("SELECT count() FROM {DATABASE}.{table}"),
        );
        let (on1, on2) = (events(shard1, &local), events(shard2, &local));
        assert!(
            on1 > 0 && on2 > 0 && on1 + on2 == raw,
            "{table}: {on1} + {on2} != {raw}"
        );
        assert_eq!(
            events(shard2, &format!("{table}_rollup_15m")),
            raw,
            "{table}"
        );
    }

    // A second run creates nothing and changes no value.
    let again = stdout_of(&rollup_on_cluster(&through_shard[1], &[shard1, shard2]));
    assert!(again.contains("rollups ready in"), "{again}");
    for (shard, before) in shards.iter().zip(&made) {
        assert_eq!(&rollup_tables(runtime, shard), before);
    }

    // Whole windows, a window around midnight (where one backfill chunk, a
    // day, ends and the next begins), and a partial-bucket one.
    let (from, to) = fixture.event_span();
    let midnight = (from / 86_400 + 1) * 86_400;
    let windows = [
        (from, to),
        (midnight - 3 * 3600 + 77, midnight + 3 * 3600 - 3),
        (to - 5 * 3600 + 77, to - 1800 - 3),
    ];
    assert_cluster_reads_equal_one_server(&one_server, &through_shard, &windows);

    // Events arriving after the rollup (through the views on both shards),
    // into the newest backfilled bucket, the partial one after it, and the
    // buckets either side of midnight.
    insert_late_events(&fixture, to - BUCKET, 3000);
    insert_late_events(&fixture, midnight - BUCKET, 1000);
    let windows = [
        (from, to + 2 * BUCKET),
        (midnight - 3 * 3600 + 77, midnight + 3 * 3600 - 3),
    ];
    assert_cluster_reads_equal_one_server(&one_server, &through_shard, &windows);
    // And a whole check decides the same.
    for at in [to, to + BUCKET] {
        let at = at.to_string();
        let want = dry_run_check(&one_server, &at);
        assert!(want.contains("feed_ctr"), "{want}");
        assert_eq!(dry_run_check(&through_shard[0], &at), want);
        assert_eq!(dry_run_check(&through_shard[1], &at), want);
    }

    // The reads hit the rollup: every metric read vigil sent (to either
    // initiator) named the Distributed rollup, never the raw event tables,
    // and the shards answered from their local rollups.
    for shard in shards {
        execute(runtime, shard, "SYSTEM FLUSH LOGS");
        let reads = query::<String>(
            runtime,
            shard,
            &format!(
                "SELECT query FROM system.query_log WHERE toString(type) IN ('2', 'QueryFinish') \
                 AND is_initial_query AND user = '{TEST_USER}' AND query LIKE 'SELECT%AS bucket%'"
            ),
        );
        assert!(reads.len() >= 6 * 5, "{shard}: {reads:?}");
        for sql in &reads {
            assert!(
                sql.contains("_rollup_15m`") && sql.contains("Merge"),
                "{sql}"
            );
        }
        let local_reads = count(
            runtime,
            shard,
            "SELECT count() FROM system.query_log WHERE toString(type) IN ('2', 'QueryFinish') \
             AND NOT is_initial_query AND query LIKE '%actions_local_rollup_15m%'",
        );
        assert!(local_reads >= 6 * 5, "{shard}: {local_reads}");
    }
}

/// `vigil check --dry-run --at AT`'s output.
fn dry_run_check(config: &str, at: &str) -> String {
    stdout_of(&vigil(&[
        "check",
        "--dry-run",
        "--at",
        at,
        "--config",
        config,
    ]))
}

/// Median of `values` (sorted in place).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The figure in docs/clickhouse.md ("A sharded cluster"):
///
/// ```text
/// VIGIL_REQUIRE_CLICKHOUSE=1 cargo test -p server --release --test clickhouse_cluster -- --ignored --nocapture
/// VIGIL_BENCH_USERS=3000 VIGIL_BENCH_DAYS=14 ...   # the defaults
/// ```
///
/// `vigil check --dry-run` of the newest bucket, five rounds each against the
/// single server and through shard 1's Distributed tables (same rows): the
/// median wall time of the command, and the server's own time for the
/// check's SELECTs (`query_duration_ms` of the initial queries in
/// `system.query_log`, summed per check, median over the rounds).
#[test]
#[ignore = "a figure for docs/clickhouse.md; run with --ignored --nocapture"]
fn check_time_through_the_cluster_and_on_one_server() {
    let setting = |name: &str, default: &str| std::env::var(name).unwrap_or(default.into());
    let (users, days) = (
        setting("VIGIL_BENCH_USERS", "3000"),
        setting("VIGIL_BENCH_DAYS", "14"),
    );
    let Some(fixture) = Fixture::start("check_time_through_the_cluster", &days, &users) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let (one_server, through_shard) = fixture.configs(dir.path());
    let at = fixture.event_span().1.to_string();
    let events = count(
        &fixture.runtime,
        &fixture.single.url,
        &format!("SELECT count() FROM {DATABASE}.feed_actions"),
    ) + count(
        &fixture.runtime,
        &fixture.single.url,
        &format!("SELECT count() FROM {DATABASE}.message_actions"),
    );
    println!("{events} events, {users} users, {days} days; vigil check --dry-run --at {at}");
    let servers = [
        ("single server", &fixture.single.url, &one_server),
        (
            "2-shard cluster",
            &fixture.cluster.shard_urls[0],
            &through_shard[0],
        ),
    ];
    for (name, url, config) in servers {
        measure_checks(&fixture, name, url, config, &at);
    }
    // The same with rollups: on the single server, and on every shard.
    stdout_of(&vigil(&["clickhouse", "rollup", "--config", &one_server]));
    let shards = &fixture.cluster.shard_urls;
    stdout_of(&rollup_on_cluster(
        &through_shard[0],
        &[&shards[0], &shards[1]],
    ));
    for (name, url, config) in servers {
        measure_checks(&fixture, &format!("{name}, rollups"), url, config, &at);
    }
}

/// Five `vigil check --dry-run --at AT` through `url`, printing per check
/// (medians): the SELECTs sent, rows they read and their server time
/// (`system.query_log` of `url`, initial queries), and the command's wall time.
fn measure_checks(fixture: &Fixture, name: &str, url: &str, config: &str, at: &str) {
    let totals = || {
        execute(&fixture.runtime, url, "SYSTEM FLUSH LOGS");
        query::<(u64, u64, u64)>(
            &fixture.runtime,
            url,
            &format!(
                "SELECT count(), sum(read_rows), sum(query_duration_ms) FROM system.query_log \
                 WHERE toString(type) IN ('2', 'QueryFinish') AND is_initial_query \
                 AND user = '{TEST_USER}' AND query LIKE 'SELECT%_actions%'"
            ),
        )[0]
    };
    let (mut wall, mut rows, mut server_ms) = (Vec::new(), Vec::new(), Vec::new());
    let mut queries = 0;
    for _ in 0..5 {
        let before = totals();
        let started = std::time::Instant::now();
        dry_run_check(config, at);
        wall.push(started.elapsed().as_secs_f64() * 1000.0);
        // This round's queries: the log now minus the log before it.
        let after = totals();
        queries = after.0 - before.0;
        rows.push((after.1 - before.1) as f64);
        server_ms.push((after.2 - before.2) as f64);
    }
    println!(
        "{name}: {queries} SELECTs per check reading {:.0} rows; server time per check {:.0} ms \
         (median of 5), whole `vigil check` {:.0} ms",
        median(&mut rows),
        median(&mut server_ms),
        median(&mut wall)
    );
}
