//! The experiment group sums on ClickHouse (the queries are
//! [`crate::metrics::sql::experiment::group_sums`] and, per user,
//! [`crate::metrics::sql::experiment::user_sums`]).

use clickhouse::Row;
use detect::experiments::GroupSummary;
use serde::Deserialize;

use super::ClickHouseSource;
use crate::metrics::model::{MetricDef, TimeRange};
use crate::metrics::sql::{experiment, Dialect};
use crate::sources::experiment_cache::UserSums;
use crate::sources::SourceError;

/// One group's row, typed like the query's columns.
#[derive(Row, Deserialize)]
struct GroupRow {
    exp_group: u8,
    users: u64,
    sum_x: f64,
    sum_y: f64,
    sum_xx: f64,
    sum_yy: f64,
    sum_xy: f64,
}

/// One (user, group)'s row of the per-user query.
#[derive(Row, Deserialize)]
struct UserRow {
    user_id: u64,
    exp_group: u8,
    x: f64,
    y: f64,
}

/// DateTime is unsigned 32-bit seconds.
fn clamped(range: TimeRange) -> TimeRange {
    let clamp = |t: i64| t.clamp(0, i64::from(u32::MAX));
    TimeRange {
        from: clamp(range.from),
        to: clamp(range.to),
    }
}

impl ClickHouseSource {
    /// Per-user sums of `metric` by `exp_group` over `range`, for the users of `groups`.
    pub async fn group_sums(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        groups: &[u8],
    ) -> Result<Vec<(u8, GroupSummary)>, SourceError> {
        let range = clamped(range);
        let query =
            experiment::group_sums(Dialect::ClickHouse, metric, &self.tables, range, groups)?;
        let rows: Vec<GroupRow> = self
            .fetch(&query, &format!("experiment sums of {}", metric.name))
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let summary = GroupSummary {
                    users: row.users,
                    sum_x: row.sum_x,
                    sum_y: row.sum_y,
                    sum_xx: row.sum_xx,
                    sum_yy: row.sum_yy,
                    sum_xy: row.sum_xy,
                };
                (row.exp_group, summary)
            })
            .collect())
    }

    /// Each exposed (user, group)'s `x` and `y` of `metric` over `range`,
    /// for the users of `groups`, in no order.
    pub async fn user_sums(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        groups: &[u8],
    ) -> Result<Vec<UserSums>, SourceError> {
        let range = clamped(range);
        let query =
            experiment::user_sums(Dialect::ClickHouse, metric, &self.tables, range, groups)?;
        let rows: Vec<UserRow> = self
            .fetch(
                &query,
                &format!("experiment per-user sums of {}", metric.name),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| UserSums {
                user: row.user_id,
                group: row.exp_group,
                x: row.x,
                y: row.y,
            })
            .collect())
    }

    /// Names this server, database and tables for the experiments' running sums.
    pub(crate) fn sums_identity(&self) -> String {
        format!("{} {:?}", self.describe(), self.tables)
    }
}

#[cfg(test)]
mod tests {
    use super::super::real_server_tests::support::{TestServer, TEST_PASSWORD, TEST_USER};
    use super::*;
    use crate::config::{ClickHouseConfig, Secret};
    use crate::metrics::catalogue;
    use crate::metrics::model::TableNames;
    use crate::sources::experiment_sums_tests::{
        expected, incremental_sums_follow_the_checks, simulated, CASES, METRICS,
    };
    use crate::sources::Source;

    fn config(server: &TestServer, database: &str) -> ClickHouseConfig {
        ClickHouseConfig {
            url: server.url.clone(),
            database: database.into(),
            user: TEST_USER.into(),
            password: Some(Secret::new(TEST_PASSWORD)),
            tables: TableNames::default(),
            tls: Default::default(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn clickhouse_incremental_sums_equal_the_full_query_at_each_check() {
        let Some(server) = TestServer::start("clickhouse_incremental_sums") else {
            return;
        };
        let config = config(&server, "vigil_incremental_sums");
        let source = Source::ClickHouse(ClickHouseSource::new(&config).expect("client"));
        source.ensure_tables().await.expect("tables");
        let store = &source;
        incremental_sums_follow_the_checks(store, move |batch| async move {
            store.write_events(batch).await.expect("written");
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn clickhouse_group_sums_equal_the_events_counted_by_hand() {
        let Some(server) = TestServer::start("clickhouse_group_sums") else {
            return;
        };
        let config = config(&server, "vigil_experiments");
        let source = ClickHouseSource::new(&config).expect("client");
        source.ensure_tables().await.expect("tables");
        let batch = simulated();
        source.write_events(&batch).await.expect("written");
        for name in METRICS {
            let metric = catalogue::builtin_metric(name).expect("built-in");
            for (range, groups) in CASES {
                let sums = source
                    .group_sums(&metric, range, groups)
                    .await
                    .expect("sums");
                assert_eq!(
                    sums,
                    expected(&batch, name, range, groups),
                    "{name} {range:?}"
                );
            }
        }
    }

    /// Figures for docs/benchmarks.md: one experiment metric's sums over 14
    /// days of `VIGIL_SUMS_BENCH_ROWS` feed rows (10 million by default,
    /// 200,000 users, a tenth as many messages), read whole, then through
    /// the running sums cold (the first call) and warm (a check a bucket
    /// later), with the rows ClickHouse read for each. Ignored: a minute.
    ///
    /// VIGIL_REQUIRE_CLICKHOUSE=1 cargo test -p server --lib incremental_sums_figures -- --ignored --nocapture
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "figures: a minute and a real ClickHouse server"]
    async fn incremental_sums_figures() {
        use crate::metrics::model::BUCKET_SECONDS;
        use crate::sources::experiment_cache::SumsCache;
        use crate::sources::experiment_sums::read;
        use std::time::Instant;

        let Some(server) = TestServer::start("incremental_sums_figures") else {
            return;
        };
        let rows: u64 = std::env::var("VIGIL_SUMS_BENCH_ROWS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000_000);
        let database = "vigil_sums_figures";
        let source =
            Source::ClickHouse(ClickHouseSource::new(&config(&server, database)).expect("client"));
        source.ensure_tables().await.expect("tables");
        let client = clickhouse::Client::default()
            .with_url(&server.url)
            .with_user(TEST_USER)
            .with_password(TEST_PASSWORD)
            .with_validation(false)
            .with_database(database);
        const DAYS: i64 = 14;
        let start = crate::sources::experiment_sums_tests::START;
        let end = start + DAYS * 86_400;
        let user = "cityHash64(number, 7) % 200000";
        let fill = |table: &str, count: u64, columns: &str, values: &str| {
            format!(
                "INSERT INTO {table} (user_id, time, exp_group, {columns}) \
                 SELECT toUInt32({user}), toDateTime({start} + intDiv(number * {span}, {count})), \
                 toUInt8(({user}) % 5), {values} FROM numbers({count})",
                span = end - start
            )
        };
        let started = Instant::now();
        for sql in [
            fill(
                "feed_actions",
                rows,
                "action",
                "if(cityHash64(number, 3) % 5 = 0, 'like', 'view')",
            ),
            fill(
                "message_actions",
                rows / 10,
                "receiver_id",
                "toUInt32(number % 1000)",
            ),
        ] {
            client.query(&sql).execute().await.expect("filled");
        }
        println!(
            "filled {} rows in {:.1} s",
            rows + rows / 10,
            started.elapsed().as_secs_f64()
        );

        let metric = catalogue::builtin_metric("feed_ctr").expect("built-in");
        let groups: &[u8] = &[1, 2];
        let from = start + 86_400 + 123;
        let now = end - 3 * 3_600 + 120;
        let to = |now: i64| now.div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS;
        let range = |now: i64| TimeRange { from, to: to(now) };
        let cache = std::sync::Mutex::new(SumsCache::default());
        let mut lines = Vec::new();
        for (what, now) in [
            ("whole", now),
            ("cold", now),
            ("warm", now + BUCKET_SECONDS),
        ] {
            let started = Instant::now();
            let (sums, reads) = if what == "whole" {
                let sums = source.full_group_sums(&metric, range(now), groups).await;
                let whole = crate::sources::experiment_sums::Reads {
                    full: true,
                    ..Default::default()
                };
                (sums.expect("sums"), whole)
            } else {
                read(&source, &cache, &metric, range(now), groups, now, 3_600)
                    .await
                    .expect("sums")
            };
            let took = started.elapsed();
            assert_eq!(
                sums,
                source
                    .full_group_sums(&metric, range(now), groups)
                    .await
                    .expect("sums")
            );
            lines.push(format!(
                "{what}: {:.0} ms, {} users, per-user rows {}, reads {reads:?}",
                took.as_secs_f64() * 1000.0,
                sums.iter().map(|(_, s)| s.users).sum::<u64>(),
                reads.user_rows
            ));
        }
        for line in lines {
            println!("{line}");
        }
        client
            .query("SYSTEM FLUSH LOGS")
            .execute()
            .await
            .expect("flushed");
        let logged: Vec<(u64, u64, String)> = client
            .query(
                "SELECT read_rows, query_duration_ms, substring(query, 1, 60) FROM system.query_log \
                 WHERE type = 2 AND query LIKE '%UNION ALL%' AND query NOT LIKE '%query_log%' \
                 ORDER BY event_time, query_start_time",
            )
            .fetch_all()
            .await
            .expect("query log");
        for (read_rows, ms, query) in logged {
            println!("read_rows {read_rows:>10}  {ms:>6} ms  {query}");
        }
    }
}
