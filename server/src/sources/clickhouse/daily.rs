//! Daily values on ClickHouse: one query per metric over a range of local
//! days, from the raw event tables (a 15-minute rollup cannot give a day's
//! distinct users).

use crate::metrics::model::{Bucket, MetricDef, TimeRange};
use crate::metrics::sql::{self, Dialect};
use crate::sources::SourceError;

use super::ClickHouseSource;

impl ClickHouseSource {
    /// `metric` per day of `range` (see [`sql::build_daily`]), oldest first;
    /// days without rows are absent.
    pub async fn daily(
        &self,
        metric: &MetricDef,
        range: TimeRange,
    ) -> Result<Vec<Bucket>, SourceError> {
        let query = sql::build_daily(Dialect::ClickHouse, metric, &self.tables, range)?;
        let rows: Vec<(u32, f64)> = self
            .fetch(&query, &format!("daily {}", metric.name))
            .await?;
        Ok(rows
            .into_iter()
            .map(|(start, value)| Bucket {
                start: i64::from(start),
                value,
            })
            .collect())
    }
}

#[cfg(test)]
#[path = "daily_server_tests.rs"]
mod server_tests;
