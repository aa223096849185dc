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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalogue;
    use crate::metrics::sql::DAY_SECONDS;
    use crate::sources::daily_tests::{days_to_check, simulated, FIRST_DAY};
    use crate::sources::Source;

    #[tokio::test]
    async fn daily_values_equal_hand_written_sql_per_local_day() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("vigil.sqlite");
        let source = Source::Sqlite(SqliteStore::open(&path).expect("opens"));
        source.write_events(simulated(5)).await.expect("writes");
        let check = rusqlite::Connection::open(&path).expect("a second connection");
        for day in days_to_check(&source, Dialect::Sqlite).await {
            let want: f64 = check
                .query_row(&day.sql, [], |row| row.get(0))
                .unwrap_or_else(|error| panic!("{}: {error}", day.sql));
            assert!(want > 0.0, "{}", day.sql);
            let what = format!("{} on {}", day.metric, day.got.start);
            assert_eq!(day.got.value.to_bits(), want.to_bits(), "{what}");
        }
        // A day's active users are its distinct users, far fewer than the sum
        // of its 96 quarter-hours' distinct users.
        let users = catalogue::builtin_metric("feed_active_users").expect("built in");
        let day = TimeRange {
            from: FIRST_DAY,
            to: FIRST_DAY + DAY_SECONDS,
        };
        let daily = source.daily(&users, day).await.expect("daily")[0].value;
        let quarter_hours: f64 = source
            .series(&users, day, None)
            .await
            .expect("series")
            .iter()
            .map(|b| b.value)
            .sum();
        assert!(
            daily <= 300.0 && quarter_hours > 2.0 * daily,
            "{daily} vs {quarter_hours}"
        );
    }
}
