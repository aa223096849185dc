//! Daily values on the embedded store: one query per metric over a range of
//! local days, straight from raw events (the 15-minute cache cannot give a
//! day's distinct users).

use crate::metrics::model::{Bucket, MetricDef, TimeRange};
use crate::metrics::sql::{self, Dialect};
use crate::sources::SourceError;

use super::{query_error, SqliteStore};

impl SqliteStore {
    /// `metric` per day of `range` (see [`sql::build_daily`]), oldest first;
    /// days without rows are absent.
    pub async fn daily(
        &self,
        metric: &MetricDef,
        range: TimeRange,
    ) -> Result<Vec<Bucket>, SourceError> {
        let query = sql::build_daily(Dialect::Sqlite, metric, &self.tables, range)?;
        let context = format!("daily {}", metric.name);
        self.read(move |connection| {
            let mut statement = connection
                .prepare(&query.sql)
                .map_err(|error| query_error(&context, error))?;
            let rows = statement
                .query_map(rusqlite::params_from_iter(&query.params), |row| {
                    Ok(Bucket {
                        start: row.get(0)?,
                        value: row.get(1)?,
                    })
                })
                .map_err(|error| query_error(&context, error))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(|error| query_error(&context, error))
        })
        .await
    }
}
