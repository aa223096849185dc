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
}
