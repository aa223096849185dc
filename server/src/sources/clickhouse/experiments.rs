//! The experiment group sums on ClickHouse (the query is
//! [`crate::metrics::sql::experiment::group_sums`]).

use clickhouse::Row;
use detect::experiments::GroupSummary;
use serde::Deserialize;

use super::ClickHouseSource;
use crate::metrics::model::{MetricDef, TimeRange};
use crate::metrics::sql::{experiment, Dialect};
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

impl ClickHouseSource {
    /// Per-user sums of `metric` by `exp_group` over `range`, for the users of `groups`.
    pub async fn group_sums(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        groups: &[u8],
    ) -> Result<Vec<(u8, GroupSummary)>, SourceError> {
        // DateTime is unsigned 32-bit seconds.
        let clamp = |t: i64| t.clamp(0, i64::from(u32::MAX));
        let range = TimeRange {
            from: clamp(range.from),
            to: clamp(range.to),
        };
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
}

#[cfg(test)]
mod tests {
    use super::super::real_server_tests::support::{TestServer, TEST_PASSWORD, TEST_USER};
    use super::*;
    use crate::config::{ClickHouseConfig, Secret};
    use crate::metrics::catalogue;
    use crate::metrics::model::TableNames;
    use crate::sources::experiment_sums_tests::{expected, simulated, CASES, METRICS};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn clickhouse_group_sums_equal_the_events_counted_by_hand() {
        let Some(server) = TestServer::start("clickhouse_group_sums") else {
            return;
        };
        let config = ClickHouseConfig {
            url: server.url.clone(),
            database: "vigil_experiments".into(),
            user: TEST_USER.into(),
            password: Some(Secret::new(TEST_PASSWORD)),
            tables: TableNames::default(),
            tls: Default::default(),
        };
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
