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
    use crate::config::SimulatorConfig;
    use crate::metrics::catalogue;
    use crate::metrics::sql::DAY_SECONDS;
    use crate::simulator::Simulator;
    use crate::sources::Source;

    /// 2024-01-01 00:00 UTC.
    const START: i64 = 1_704_067_200;
    /// Local midnight at UTC+03:00 after START: days that are not UTC days.
    const FIRST_DAY: i64 = START + 21 * 3600;
    const DAYS: i64 = 3;

    /// Each built-in metric over one day, written out by hand.
    fn hand_sql(metric: &str, from: i64, to: i64) -> String {
        let (table, value, filter) = match metric {
            "feed_active_users" => ("feed_actions", "COUNT(DISTINCT user_id)", "1"),
            "feed_views" => ("feed_actions", "COUNT(*)", "action = 'view'"),
            "feed_likes" => ("feed_actions", "COUNT(*)", "action = 'like'"),
            "feed_ctr" => (
                "feed_actions",
                "1.0 * SUM(action = 'like') / SUM(action = 'view')",
                "1",
            ),
            "messenger_active_users" => ("message_actions", "COUNT(DISTINCT user_id)", "1"),
            "messages_sent" => ("message_actions", "COUNT(*)", "1"),
            other => panic!("no hand-written SQL for {other}"),
        };
        format!("SELECT {value} FROM {table} WHERE time >= {from} AND time < {to} AND {filter}")
    }

    #[tokio::test]
    async fn daily_values_equal_hand_written_sql_per_local_day() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("vigil.sqlite");
        let store = SqliteStore::open(&path).expect("opens");
        let config = SimulatorConfig {
            users: 300,
            days: 5,
            seed: 5,
        };
        let end = START + 5 * DAY_SECONDS;
        let batch = Simulator::new(&config, end, None).generate(START, end);
        let source = Source::Sqlite(store);
        source.write_events(batch).await.expect("writes");
        let check = rusqlite::Connection::open(&path).expect("a second connection");
        let range = TimeRange {
            from: FIRST_DAY,
            to: FIRST_DAY + DAYS * DAY_SECONDS,
        };
        for metric in catalogue::builtin() {
            let got = source.daily(&metric, range).await.expect("daily");
            let starts: Vec<i64> = got.iter().map(|b| b.start).collect();
            let want_starts: Vec<i64> = (0..DAYS).map(|d| FIRST_DAY + d * DAY_SECONDS).collect();
            assert_eq!(
                starts, want_starts,
                "{}: one value per local day",
                metric.name
            );
            for bucket in &got {
                let sql = hand_sql(&metric.name, bucket.start, bucket.start + DAY_SECONDS);
                let want: f64 = check
                    .query_row(&sql, [], |row| row.get(0))
                    .unwrap_or_else(|error| panic!("{sql}: {error}"));
                assert!(want > 0.0, "{sql}");
                assert_eq!(
                    bucket.value.to_bits(),
                    want.to_bits(),
                    "{} on {}",
                    metric.name,
                    bucket.start
                );
            }
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
