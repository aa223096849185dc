//! Whether each event table has the data a check needs: a watermark per
//! table (its newest event), the rule that a bucket is complete for a metric
//! only once the metric's own table has passed it, and when a table is
//! "stale" (its newest event older than `schedule.stale_after_minutes` while
//! the source answers). One table lagging must neither read as a drop of its
//! metrics (its silent buckets would become zeros) nor go unnoticed.

use crate::metrics::model::{EventTable, MetricDef, BUCKET_SECONDS};
use crate::sources::{Source, SourceError};

/// The newest event time of each table: the source has that table's data up
/// to here. `None` for an empty table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Watermarks {
    pub feed_actions: Option<i64>,
    pub message_actions: Option<i64>,
}

impl Watermarks {
    /// Reads the newest event of every table (one small query each).
    pub async fn read(source: &Source) -> Result<Self, SourceError> {
        Ok(Self {
            feed_actions: source.newest_event_time(EventTable::FeedActions).await?,
            message_actions: source.newest_event_time(EventTable::MessageActions).await?,
        })
    }

    pub fn of(&self, table: EventTable) -> Option<i64> {
        match table {
            EventTable::FeedActions => self.feed_actions,
            EventTable::MessageActions => self.message_actions,
        }
    }

    /// A metric's watermark: its own table's newest event. The check, the
    /// web UI, alert charts and `vigil replay` turn silent buckets into zeros
    /// only before it ([`super::grid_values`]), so another table's newer
    /// events never make a lagging table's empty buckets look like a drop.
    pub fn for_metric(&self, metric: &MetricDef) -> Option<i64> {
        self.of(metric.table)
    }

    /// The newest event over every table (readiness: does the source have data).
    pub fn newest(&self) -> Option<i64> {
        self.feed_actions.max(self.message_actions)
    }
}

/// How a table stands when a bucket is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableState {
    /// It has events at or after the bucket's end: the bucket is complete
    /// for its metrics.
    Complete,
    /// It has not passed the bucket yet (ingestion a little behind, or no
    /// event at all): its metrics are not judged at this bucket.
    Behind,
    /// Its newest event is older than the allowed lag at the bucket's check
    /// time: "data stale". Its metrics are not judged either.
    Stale,
}

/// How a table with newest event `watermark` stands for the check of
/// `bucket` run at `due` (the bucket's end plus the grace delay), when a
/// table is stale after `stale_after_secs` without events. An empty table is
/// behind, never stale: nothing was ever ingested that could have stopped.
pub fn table_state(
    watermark: Option<i64>,
    bucket: i64,
    due: i64,
    stale_after_secs: i64,
) -> TableState {
    match watermark {
        None => TableState::Behind,
        Some(newest) if due.saturating_sub(newest) > stale_after_secs => TableState::Stale,
        Some(newest) if newest >= bucket.saturating_add(BUCKET_SECONDS) => TableState::Complete,
        Some(_) => TableState::Behind,
    }
}

/// One table a check's metrics read, as it stands at the checked bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableReport {
    pub table: EventTable,
    pub newest: Option<i64>,
    pub state: TableState,
}

/// The tables of one check: their watermarks and states.
#[derive(Clone, Debug, Default)]
pub struct BucketTables {
    pub watermarks: Watermarks,
    /// Each table some metric reads, once.
    pub tables: Vec<TableReport>,
}

impl BucketTables {
    /// The states of the tables `metrics` read, for the check of `bucket`
    /// run `grace` seconds after it ends.
    pub fn assess(
        watermarks: Watermarks,
        metrics: &[MetricDef],
        bucket: i64,
        grace: i64,
        stale_after_secs: i64,
    ) -> Self {
        let due = bucket.saturating_add(BUCKET_SECONDS + grace.max(0));
        let mut tables: Vec<TableReport> = Vec::new();
        for metric in metrics {
            if tables.iter().any(|t| t.table == metric.table) {
                continue;
            }
            let newest = watermarks.of(metric.table);
            tables.push(TableReport {
                table: metric.table,
                newest,
                state: table_state(newest, bucket, due, stale_after_secs),
            });
        }
        Self { watermarks, tables }
    }

    /// Reads the watermarks and assesses the tables (see [`Self::assess`]).
    pub async fn read(
        source: &Source,
        metrics: &[MetricDef],
        bucket: i64,
        schedule: &crate::config::ScheduleConfig,
    ) -> Result<Self, SourceError> {
        let watermarks = Watermarks::read(source).await?;
        Ok(Self::assess(
            watermarks,
            metrics,
            bucket,
            schedule.grace_seconds,
            schedule.stale_after_secs,
        ))
    }

    /// Whether `metric` is judged at this bucket: its table has passed it
    /// and is not stale. Every table counts as complete when none was
    /// assessed (a caller that checks nothing of freshness).
    pub fn judges(&self, metric: &MetricDef) -> bool {
        self.tables
            .iter()
            .find(|t| t.table == metric.table)
            .is_none_or(|t| t.state == TableState::Complete)
    }

    /// The tables whose metrics this check skips, by name (for its log line).
    pub fn skipped(&self) -> Vec<&'static str> {
        self.tables
            .iter()
            .filter(|t| t.state != TableState::Complete)
            .map(|t| t.table.as_str())
            .collect()
    }
}

/// The buckets before `bucket` that a table's metrics missed while it
/// lagged (a check skipped them: the table had not passed them) and that it
/// has passed now, oldest first: after `last_evaluated` (the newest bucket
/// its metrics were evaluated at; none before the first check), up to its
/// watermark, none starting before `oldest`, at most `limit`.
///
/// The caller passes as `oldest` the start of the lag a table may have
/// without being stale: older buckets were covered by a "data stale" alert,
/// and when ingestion resumes without filling them in, their silence would
/// read as a drop.
pub fn missed_buckets(
    last_evaluated: Option<i64>,
    watermark: Option<i64>,
    bucket: i64,
    oldest: i64,
    limit: usize,
) -> Vec<i64> {
    let (Some(last), Some(watermark)) = (last_evaluated, watermark) else {
        return Vec::new();
    };
    // The newest bucket whose end the table has reached.
    let newest_complete = watermark
        .saturating_sub(BUCKET_SECONDS)
        .div_euclid(BUCKET_SECONDS)
        .saturating_mul(BUCKET_SECONDS);
    // The first bucket starting at or after `oldest`.
    let oldest = oldest
        .saturating_add(BUCKET_SECONDS - 1)
        .div_euclid(BUCKET_SECONDS)
        .saturating_mul(BUCKET_SECONDS);
    let first = last.saturating_add(BUCKET_SECONDS).max(oldest);
    let end = newest_complete.min(bucket.saturating_sub(BUCKET_SECONDS));
    (0..)
        .map(|k: i64| first.saturating_add(k.saturating_mul(BUCKET_SECONDS)))
        .take_while(|b| *b <= end)
        .take(limit)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalogue;

    const T: i64 = 1_763_900_100 / BUCKET_SECONDS * BUCKET_SECONDS;
    const HOUR: i64 = 3600;

    #[test]
    fn a_bucket_is_complete_only_once_its_table_has_passed_it() {
        let due = T + BUCKET_SECONDS + 120;
        let state = |newest| table_state(newest, T, due, HOUR);
        assert_eq!(state(Some(T + BUCKET_SECONDS)), TableState::Complete);
        assert_eq!(state(Some(due)), TableState::Complete);
        assert_eq!(
            state(Some(T + BUCKET_SECONDS - 1)),
            TableState::Behind,
            "an event inside the bucket does not complete it"
        );
        assert_eq!(state(Some(T - 5 * 60)), TableState::Behind);
        assert_eq!(state(None), TableState::Behind, "an empty table");
    }

    #[test]
    fn a_table_is_stale_when_its_newest_event_is_older_than_the_lag() {
        let due = T + BUCKET_SECONDS + 120;
        assert_eq!(
            table_state(Some(due - HOUR), T, due, HOUR),
            TableState::Behind
        );
        assert_eq!(
            table_state(Some(due - HOUR - 1), T, due, HOUR),
            TableState::Stale
        );
        // A lag shorter than the grace delay: stale wins over complete.
        assert_eq!(
            table_state(Some(T + BUCKET_SECONDS), T, due, 60),
            TableState::Stale
        );
        assert_eq!(table_state(None, T, due, 0), TableState::Behind);
        assert_eq!(
            table_state(Some(i64::MIN), T, i64::MAX, HOUR),
            TableState::Stale,
            "no overflow"
        );
    }

    #[test]
    fn each_metric_is_judged_by_its_own_table() {
        let metrics = catalogue::builtin();
        let views = catalogue::builtin_metric("feed_views").expect("built-in");
        let sent = catalogue::builtin_metric("messages_sent").expect("built-in");
        // Messages stopped two hours before the check; the feed is current.
        let watermarks = Watermarks {
            feed_actions: Some(T + BUCKET_SECONDS + 60),
            message_actions: Some(T - 2 * HOUR),
        };
        let tables = BucketTables::assess(watermarks, &metrics, T, 120, HOUR);
        assert_eq!(tables.tables.len(), 2, "one report per table");
        assert!(tables.judges(&views));
        assert!(!tables.judges(&sent));
        assert_eq!(tables.skipped(), ["message_actions"]);
        let stale: Vec<_> = tables
            .tables
            .iter()
            .filter(|t| t.state == TableState::Stale)
            .map(|t| t.table)
            .collect();
        assert_eq!(stale, [EventTable::MessageActions]);
        assert_eq!(watermarks.for_metric(&views), watermarks.feed_actions);
        assert_eq!(watermarks.for_metric(&sent), watermarks.message_actions);
        assert_eq!(watermarks.newest(), watermarks.feed_actions);
        // Nothing assessed: every metric is judged.
        assert!(BucketTables::default().judges(&sent));
    }

    #[test]
    fn buckets_a_lagging_table_missed_are_caught_up_once_it_passed_them() {
        let b = BUCKET_SECONDS;
        // Evaluated up to T - 3b; the table has now passed T - b (not T).
        assert_eq!(
            missed_buckets(Some(T - 3 * b), Some(T + 60), T, i64::MIN, 96),
            [T - 2 * b, T - b]
        );
        // Passed T too: still only the buckets before this check's own.
        assert_eq!(
            missed_buckets(Some(T - 3 * b), Some(T + 2 * b), T, i64::MIN, 96),
            [T - 2 * b, T - b]
        );
        // Still behind: only what it has passed.
        assert_eq!(
            missed_buckets(Some(T - 3 * b), Some(T - b + 30), T, i64::MIN, 96),
            [T - 2 * b]
        );
        assert!(
            missed_buckets(Some(T - 3 * b), Some(T - b - 1), T, i64::MIN, 96).is_empty(),
            "T - 2b not passed yet"
        );
        // The normal case: evaluated up to the bucket before, nothing missed.
        assert!(missed_buckets(Some(T - b), Some(T + b + 60), T, i64::MIN, 96).is_empty());
        // A first check, an empty table, a re-check of the past: nothing.
        assert!(missed_buckets(None, Some(T + b), T, i64::MIN, 96).is_empty());
        assert!(missed_buckets(Some(T - 3 * b), None, T, i64::MIN, 96).is_empty());
        assert!(missed_buckets(Some(T + 5 * b), Some(T + 9 * b), T, i64::MIN, 96).is_empty());
        // Nothing older than `oldest` (the lag allowed before "data stale").
        assert_eq!(
            missed_buckets(Some(T - 100 * b), Some(T + b), T, T - 2 * b + 60, 96),
            [T - b]
        );
        // At most `limit`.
        assert_eq!(
            missed_buckets(Some(T - 100 * b), Some(T + b), T, i64::MIN, 2),
            [T - 99 * b, T - 98 * b]
        );
        let extreme = missed_buckets(Some(i64::MIN), Some(i64::MAX), i64::MAX, i64::MIN, 3);
        assert!(!extreme.is_empty() && extreme.len() <= 3, "no overflow");
    }

    #[test]
    fn a_lagging_tables_silent_buckets_stay_gaps() {
        let sent = catalogue::builtin_metric("messages_sent").expect("built-in");
        let range = crate::metrics::model::TimeRange {
            from: T - 3 * BUCKET_SECONDS,
            to: T + BUCKET_SECONDS,
        };
        let buckets = [crate::metrics::model::Bucket {
            start: range.from,
            value: 40.0,
        }];
        let watermarks = Watermarks {
            feed_actions: Some(T + BUCKET_SECONDS),
            message_actions: Some(range.from + 60),
        };
        // By the newest event over both tables, messages would read 0, 0, 0.
        assert_eq!(
            super::super::grid_values(&sent, range, watermarks.newest(), &buckets),
            [Some(40.0), Some(0.0), Some(0.0), Some(0.0)]
        );
        assert_eq!(
            super::super::grid_values(&sent, range, watermarks.for_metric(&sent), &buckets),
            [Some(40.0), None, None, None]
        );
    }
}
