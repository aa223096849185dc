//! vigil on a two-shard ClickHouse cluster (`scripts/clickhouse-test-cluster.sh`):
//! `Distributed` tables over per-shard `MergeTree` tables, created on each shard
//! with the DDL of docs/clickhouse.md ("A sharded cluster"). `vigil simulate`
//! writes through the Distributed tables (sharded by `cityHash64(user_id)`),
//! the same rows are copied into one plain server, and every built-in metric,
//! whole and by each built-in slice, read by `vigil series` through the
//! Distributed table equals the one read from the single server.

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

#[test]
fn metrics_through_a_distributed_table_equal_one_server_with_the_same_rows() {
    let Some(cluster) = TestCluster::start("metrics_through_a_distributed_table") else {
        return;
    };
    let Some(single) = TestServer::start("metrics_through_a_distributed_table (single)") else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let shards = &cluster.shard_urls;
    for shard in shards {
        for statement in shard_ddl() {
            execute(&runtime, shard, &statement);
        }
    }

    // Written through shard 1's Distributed tables; tables that exist are kept.
    let summary = stdout_of(&vigil(&[
        "simulate",
        "--clickhouse-url",
        &shards[0],
        "--database",
        DATABASE,
        "--user",
        TEST_USER,
        "--days",
        "2",
        "--users",
        "300",
        "--seed",
        "11",
    ]));
    assert!(summary.contains("events/s"), "{summary}");

    for (table, _) in TABLES {
        let total = count(
            &runtime,
            &shards[1],
            &format!("SELECT count() FROM {DATABASE}.{table}"),
        );
        let mut on_shards = 0;
        for (index, shard) in shards.iter().enumerate() {
            let local = format!("{DATABASE}.{table}_local");
            let rows = count(&runtime, shard, &format!("SELECT count() FROM {local}"));
            // Both shards hold a real share, and only their own users' rows
            // (shard_num 1 takes remainder 0 of the sharding key).
            assert!(
                rows > total / 4,
                "{table} shard {}: {rows} of {total}",
                index + 1
            );
            let foreign = count(
                &runtime,
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

    // The same rows on one plain server, read from the cluster.
    let shard1_tcp = query::<u16>(
        &runtime,
        &shards[0],
        &format!(
            "SELECT port FROM system.clusters WHERE cluster = '{}' AND shard_num = 1",
            TestCluster::NAME
        ),
    )[0];
    execute(
        &runtime,
        &single.url,
        &format!("CREATE DATABASE {DATABASE}"),
    );
    for (table, columns) in TABLES {
        execute(
            &runtime,
            &single.url,
            &format!(
                "CREATE TABLE {DATABASE}.{table} ({columns}) \
                 ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (time)"
            ),
        );
        execute(
            &runtime,
            &single.url,
            &format!(
                "INSERT INTO {DATABASE}.{table} \
                 SELECT * FROM remote('127.0.0.1:{shard1_tcp}', {DATABASE}, {table})"
            ),
        );
        let all = format!("SELECT count() FROM {DATABASE}.{table}");
        assert_eq!(
            count(&runtime, &single.url, &all),
            count(&runtime, &shards[0], &all),
            "{table} copied whole"
        );
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let one_server = write_config(dir.path(), "single", &single.url, TEST_USER);
    let through_shard = [
        write_config(dir.path(), "shard1", &shards[0], TEST_USER),
        write_config(dir.path(), "shard2", &shards[1], TEST_USER),
    ];
    let (first, newest) = query::<(u32, u32)>(
        &runtime,
        &single.url,
        &format!("SELECT toUInt32(min(time)), toUInt32(max(time)) FROM {DATABASE}.feed_actions"),
    )[0];
    let (from, to) = (i64::from(first), i64::from(newest) / BUCKET * BUCKET);
    // Whole, by each built-in dimension, and one slice; a partial-bucket window too.
    let views: [&[&str]; 5] = [
        &[],
        &["--by", "os"],
        &["--by", "source"],
        &["--by", "country"],
        &["--slice", "os=Android"],
    ];
    for metric in cli::BUILTIN_METRICS {
        for extra in views {
            for (from, to) in [(from, to), (to - 5 * 3600 + 77, to - 1800 - 3)] {
                let want = series(&one_server, metric, from, to, extra);
                assert!(want.lines().count() > 4, "{metric} {extra:?}: {want}");
                // Either server can be the initiator.
                for config in &through_shard {
                    let got = series(config, metric, from, to, extra);
                    assert_eq!(got, want, "{metric} {extra:?} [{from}, {to}) via {config}");
                }
            }
        }
    }

    // What vigil sent: one flat SELECT per read (no subquery, no LIMIT, whose
    // per-shard evaluation could differ from one server's), over the
    // Distributed tables, never a shard's local table.
    execute(&runtime, &shards[0], "SYSTEM FLUSH LOGS");
    let sent = query::<String>(
        &runtime,
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
        assert_eq!(count(&runtime, shard, &rollups), 0);
    }
}
