//! [`Checks`] on SQLite: the `checks` and `latest_evaluations` tables, and
//! the notice alerts (rows of `alerts` with the pseudo-metric [`SOURCE_METRIC`],
//! or [`STALE_METRIC`] and the table as slice).

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension, Transaction};

use super::alerts::{insert_event, next_alert_id};
use super::outbox::enqueue;
use super::silences::query_silences;
use super::{redact, sql, SqliteState};
use crate::alerts::{is_muted, AlertId, Notify};
use crate::evaluation::{AlertContext, Evaluation};
use crate::metrics::model::SliceKey;
use crate::state::{
    AlertError, CheckRecord, Checks, LatestEvaluation, NotificationPayload, OutboxItem,
    SOURCE_METRIC, STALE_DIMENSION, STALE_METRIC,
};

impl Checks for SqliteState {
    fn record_check(&mut self, check: &CheckRecord) -> Result<(), AlertError> {
        self.conn
            .execute(
                "INSERT INTO checks (bucket, started_at, duration_ms, ok, late, evaluated, anomalies, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    check.bucket,
                    check.started_at,
                    check.duration_ms,
                    check.ok,
                    check.late,
                    check.evaluated,
                    check.anomalies,
                    check.error.as_deref().map(redact),
                ],
            )
            .map_err(sql("record check"))?;
        if check.ok {
            self.conn
                .execute(
                    "DELETE FROM checks_started WHERE bucket = ?1",
                    params![check.bucket],
                )
                .map_err(sql("record check finished"))?;
        }
        Ok(())
    }

    fn check_started(&mut self, bucket: i64, at: i64) -> Result<(), AlertError> {
        self.conn
            .execute(
                "INSERT INTO checks_started (bucket, started_at) VALUES (?1, ?2)
                 ON CONFLICT (bucket) DO NOTHING",
                params![bucket, at],
            )
            .map_err(sql("record check started"))?;
        Ok(())
    }

    fn unfinished_checks(&self) -> Result<Vec<i64>, AlertError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT bucket FROM checks_started ORDER BY bucket")
            .map_err(sql("unfinished checks"))?;
        let buckets = statement
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect::<Result<Vec<i64>, _>>())
            .map_err(sql("unfinished checks"))?;
        Ok(buckets)
    }

    fn last_checked_bucket(&self) -> Result<Option<i64>, AlertError> {
        self.conn
            .query_row("SELECT MAX(bucket) FROM checks WHERE ok = 1", [], |r| {
                r.get(0)
            })
            .map_err(sql("last checked bucket"))
    }

    fn last_check(&self) -> Result<Option<CheckRecord>, AlertError> {
        self.conn
            .query_row(
                "SELECT bucket, started_at, duration_ms, ok, late, evaluated, anomalies, error
                 FROM checks ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    Ok(CheckRecord {
                        bucket: r.get(0)?,
                        started_at: r.get(1)?,
                        duration_ms: r.get(2)?,
                        ok: r.get(3)?,
                        late: r.get(4)?,
                        evaluated: r.get(5)?,
                        anomalies: r.get(6)?,
                        error: r.get(7)?,
                    })
                },
            )
            .optional()
            .map_err(sql("last check"))
    }

    fn check_counts(&self) -> Result<(u64, u64), AlertError> {
        let [ok, failed] = self.counts(
            "SELECT COALESCE(SUM(ok = 1), 0), COALESCE(SUM(ok = 0), 0) FROM checks",
            "check counts",
        )?;
        Ok((ok, failed))
    }

    fn source_unavailable(
        &mut self,
        reason: &str,
        now: i64,
    ) -> Result<Option<OutboxItem>, AlertError> {
        self.open_notice(&Notice::source(), reason, now)
    }

    fn source_available(&mut self, now: i64) -> Result<Option<OutboxItem>, AlertError> {
        self.resolve_notice(&Notice::source(), "the source answers again", now)
    }

    fn data_stale(
        &mut self,
        table: &str,
        reason: &str,
        now: i64,
    ) -> Result<Option<OutboxItem>, AlertError> {
        self.open_notice(&Notice::stale(table), reason, now)
    }

    fn data_fresh(&mut self, table: &str, now: i64) -> Result<Option<OutboxItem>, AlertError> {
        let reason = format!("{table} receives events again");
        self.resolve_notice(&Notice::stale(table), &reason, now)
    }

    fn record_latest(&mut self, evaluations: &[Evaluation]) -> Result<(), AlertError> {
        let tx = self.conn.transaction().map_err(sql("begin latest"))?;
        {
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO latest_evaluations
                       (metric, sliced, slice_dimension, slice_value, bucket, value, expected,
                        lower, upper, is_anomaly, detector)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT (metric, sliced, slice_dimension, slice_value) DO UPDATE SET
                       bucket = excluded.bucket, value = excluded.value,
                       expected = excluded.expected, lower = excluded.lower,
                       upper = excluded.upper, is_anomaly = excluded.is_anomaly,
                       detector = excluded.detector
                     WHERE excluded.bucket >= latest_evaluations.bucket",
                )
                .map_err(sql("latest upsert"))?;
            for evaluation in evaluations {
                let (sliced, dimension, value) = match &evaluation.slice {
                    Some(s) => (true, s.dimension.as_str(), s.value.as_str()),
                    None => (false, "", ""),
                };
                let point = &evaluation.point;
                upsert
                    .execute(params![
                        evaluation.metric,
                        sliced,
                        dimension,
                        value,
                        evaluation.bucket,
                        point.value,
                        point.expected,
                        point.lower,
                        point.upper,
                        point.is_anomaly,
                        evaluation.detector,
                    ])
                    .map_err(sql("latest upsert"))?;
            }
        }
        tx.commit().map_err(sql("commit latest"))
    }

    fn latest_whole(&self) -> Result<HashMap<String, LatestEvaluation>, AlertError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT metric, bucket, value, expected, lower, upper, is_anomaly, detector
                 FROM latest_evaluations WHERE sliced = 0",
            )
            .map_err(sql("latest"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    LatestEvaluation {
                        bucket: r.get(1)?,
                        value: r.get(2)?,
                        expected: r.get(3)?,
                        lower: r.get(4)?,
                        upper: r.get(5)?,
                        is_anomaly: r.get(6)?,
                        detector: r.get(7)?,
                    },
                ))
            })
            .map_err(sql("latest"))?;
        rows.collect::<Result<_, _>>().map_err(sql("latest row"))
    }
}

/// A notice about vigil's data rather than a metric: the source cannot be
/// read, or one table is stale. At most one of each is open at a time.
struct Notice {
    metric: &'static str,
    slice: Option<SliceKey>,
    detector: &'static str,
    /// For the log lines.
    what: &'static str,
}

impl Notice {
    fn source() -> Self {
        Self {
            metric: SOURCE_METRIC,
            slice: None,
            detector: "availability",
            what: "source unavailable",
        }
    }

    fn stale(table: &str) -> Self {
        Self {
            metric: STALE_METRIC,
            slice: Some(SliceKey {
                dimension: STALE_DIMENSION.into(),
                value: table.into(),
            }),
            detector: "freshness",
            what: "data stale",
        }
    }
}

impl SqliteState {
    /// Opens `notice`'s alert unless it is already open.
    fn open_notice(
        &mut self,
        notice: &Notice,
        reason: &str,
        now: i64,
    ) -> Result<Option<OutboxItem>, AlertError> {
        let reason = redact(reason);
        let tx = self.conn.transaction().map_err(sql("begin notice alert"))?;
        if open_notice_alert(&tx, notice)?.is_some() {
            return Ok(None);
        }
        let id = next_alert_id(&tx)?;
        let slice = notice.slice.as_ref();
        let muted = is_muted(&query_silences(&tx, Some(now))?, notice.metric, slice, now);
        tx.execute(
            "INSERT INTO alerts (id, metric, slice_dimension, slice_value, started_at, detector,
                                 state, muted)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'firing', ?7)",
            params![
                id as i64,
                notice.metric,
                slice.map(|s| &s.dimension),
                slice.map(|s| &s.value),
                now,
                notice.detector,
                muted
            ],
        )
        .map_err(sql("insert notice alert"))?;
        let item = record_notice(&tx, notice, id, Notify::Opened, now, now, &reason, muted)?;
        tx.commit().map_err(sql("commit notice alert"))?;
        tracing::error!(alert_id = id, %reason, "{}: alert opened", notice.what);
        Ok(item)
    }

    /// Resolves `notice`'s alert if open, saying `reason`.
    fn resolve_notice(
        &mut self,
        notice: &Notice,
        reason: &str,
        now: i64,
    ) -> Result<Option<OutboxItem>, AlertError> {
        let tx = self.conn.transaction().map_err(sql("begin notice alert"))?;
        let Some((id, started_at, muted)) = open_notice_alert(&tx, notice)? else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE alerts SET state = 'resolved', resolved_at = ?2 WHERE id = ?1",
            params![id as i64, now],
        )
        .map_err(sql("resolve notice alert"))?;
        let lasted_secs = now - started_at;
        let notify = Notify::Resolved { lasted_secs };
        let item = record_notice(&tx, notice, id, notify, started_at, now, reason, muted)?;
        tx.commit().map_err(sql("commit notice alert"))?;
        tracing::info!(
            alert_id = id,
            lasted_secs,
            "{}: alert resolved",
            notice.what
        );
        Ok(item)
    }
}

/// `notice`'s open alert: (id, started_at, muted).
fn open_notice_alert(
    tx: &Transaction<'_>,
    notice: &Notice,
) -> Result<Option<(AlertId, i64, bool)>, AlertError> {
    tx.query_row(
        "SELECT id, started_at, muted FROM alerts
         WHERE metric = ?1 AND slice_value IS ?2 AND state = 'firing'
         ORDER BY id DESC LIMIT 1",
        params![notice.metric, notice.slice.as_ref().map(|s| &s.value)],
        |r| Ok((r.get::<_, i64>(0)? as AlertId, r.get(1)?, r.get(2)?)),
    )
    .optional()
    .map_err(sql("open notice alert"))
}

/// History entry and (unless muted) outbox row of a notice.
#[allow(clippy::too_many_arguments)] // one row's fields; a struct would only rename them
fn record_notice(
    tx: &Transaction<'_>,
    notice: &Notice,
    alert_id: AlertId,
    notify: Notify,
    started_at: i64,
    now: i64,
    reason: &str,
    muted: bool,
) -> Result<Option<OutboxItem>, AlertError> {
    insert_event(tx, alert_id, now, None, notify.kind(), reason, None, muted)?;
    if muted {
        return Ok(None);
    }
    let payload = NotificationPayload {
        alert_id,
        notify,
        metric: notice.metric.to_string(),
        slice: notice.slice.clone(),
        bucket: now,
        started_at,
        value: None,
        lower: None,
        upper: None,
        expected: None,
        deviation: None,
        detector: notice.detector.to_string(),
        context: AlertContext::default(),
        notice: Some(reason.to_string()),
    };
    enqueue(tx, payload, now).map(Some)
}

#[cfg(test)]
mod tests {
    use detect::Point;

    use super::*;
    use crate::metrics::model::SliceKey;
    use crate::state::state_path;

    fn evaluation(
        metric: &str,
        slice: Option<&str>,
        bucket: i64,
        value: Option<f64>,
    ) -> Evaluation {
        Evaluation {
            metric: metric.into(),
            slice: slice.map(|v| SliceKey {
                dimension: "os".into(),
                value: v.into(),
            }),
            bucket,
            detector: "iqr".into(),
            point: Point {
                value,
                lower: Some(90.0),
                upper: Some(110.0),
                expected: Some(100.0),
                is_anomaly: value.is_some_and(|v| !(90.0..=110.0).contains(&v)),
                score: 0.0,
                deviation: None,
            },
            context: Default::default(),
        }
    }

    fn temp_store() -> (tempfile::TempDir, SqliteState) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteState::open(&state_path(dir.path())).expect("open");
        (dir, store)
    }

    #[test]
    fn an_empty_store_has_no_latest_evaluation() {
        let (_dir, store) = temp_store();
        assert!(store.latest_whole().unwrap().is_empty());
    }

    #[test]
    fn keeps_the_newest_whole_metric_evaluation_across_a_restart() {
        let (dir, mut store) = temp_store();
        store
            .record_latest(&[
                evaluation("feed_views", None, 900, Some(100.0)),
                evaluation("feed_views", Some("iOS"), 900, Some(40.0)),
                evaluation("likes", None, 900, None),
            ])
            .unwrap();
        store
            .record_latest(&[evaluation("feed_views", None, 1800, Some(150.0))])
            .unwrap();
        drop(store);
        let store = SqliteState::open(&state_path(dir.path())).expect("reopen");
        let latest = store.latest_whole().unwrap();
        assert_eq!(latest.len(), 2, "slices are not whole metrics: {latest:?}");
        let views = &latest["feed_views"];
        assert_eq!(views.bucket, 1800);
        assert_eq!(views.value, Some(150.0));
        assert_eq!(
            (views.expected, views.lower, views.upper),
            (Some(100.0), Some(90.0), Some(110.0))
        );
        assert!(views.is_anomaly);
        assert_eq!(views.detector, "iqr");
        assert_eq!(latest["likes"].value, None, "a gap is kept as no value");
    }

    #[test]
    fn a_recheck_of_an_older_bucket_does_not_replace_the_newest() {
        let (_dir, mut store) = temp_store();
        store
            .record_latest(&[evaluation("feed_views", None, 1800, Some(150.0))])
            .unwrap();
        store
            .record_latest(&[evaluation("feed_views", None, 900, Some(100.0))])
            .unwrap();
        assert_eq!(store.latest_whole().unwrap()["feed_views"].bucket, 1800);
        // The same bucket re-evaluated (late data) does replace it.
        store
            .record_latest(&[evaluation("feed_views", None, 1800, Some(105.0))])
            .unwrap();
        assert_eq!(
            store.latest_whole().unwrap()["feed_views"].value,
            Some(105.0)
        );
    }

    #[test]
    fn one_stale_alert_per_table_apart_from_the_source_alert() {
        let (_dir, mut store) = temp_store();
        let opened = store.data_stale("message_actions", "old", 100).unwrap();
        let opened = opened.expect("a notice");
        assert_eq!(opened.payload.metric, STALE_METRIC);
        assert_eq!(
            opened.payload.slice.as_ref().map(|s| s.value.as_str()),
            Some("message_actions")
        );
        assert_eq!(opened.payload.notice.as_deref(), Some("old"));
        assert!(
            store
                .data_stale("message_actions", "old", 200)
                .unwrap()
                .is_none(),
            "already open: said once"
        );
        assert!(store
            .data_stale("feed_actions", "old", 200)
            .unwrap()
            .is_some());
        assert!(
            store.source_available(300).unwrap().is_none(),
            "a stale table is not the source's alert"
        );
        assert!(store.source_unavailable("down", 300).unwrap().is_some());
        let fresh = store.data_fresh("message_actions", 400).unwrap();
        let fresh = fresh.expect("fresh again");
        assert_eq!(fresh.alert_id, opened.alert_id);
        assert!(matches!(
            fresh.payload.notify,
            Notify::Resolved { lasted_secs: 300 }
        ));
        assert!(store.data_fresh("message_actions", 500).unwrap().is_none());
        assert!(store.source_available(500).unwrap().is_some());
        let firing = crate::state::HistoryFilter {
            status: Some(crate::state::AlertStatus::Firing),
            ..Default::default()
        };
        let open: Vec<String> = crate::state::AlertLog::history(&store, &firing, 10)
            .unwrap()
            .into_iter()
            .map(|a| format!("{} {:?}", a.metric, a.slice.map(|s| s.value)))
            .collect();
        assert_eq!(open, [format!("{STALE_METRIC} Some(\"feed_actions\")")]);
    }
}
