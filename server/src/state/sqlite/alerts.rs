//! [`AlertLog`] on SQLite: the `alerts`, `alert_events` and `alert_state` tables.

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use super::{slice_from, slice_parts, sql, SqliteState};
use crate::alerts::{
    self, AlertConfig, AlertId, Notify, OpenAlert, ResolvedAlert, SeriesState, Step,
};
use crate::evaluation::Evaluation;
use crate::metrics::model::SliceKey;
use crate::state::sqlite::outbox::enqueue;
use crate::state::sqlite::silences::query_silences;
use crate::state::{
    AlertError, AlertEvent, AlertLog, AlertRecord, AlertStatus, HistoryFilter, Label,
    NotificationPayload, OutboxItem,
};

impl AlertLog for SqliteState {
    fn apply(
        &mut self,
        evaluations: &[Evaluation],
        now: i64,
        config: &AlertConfig,
    ) -> Result<Vec<OutboxItem>, AlertError> {
        let tx = self.conn.transaction().map_err(sql("begin apply"))?;
        let silences = query_silences(&tx, Some(now))?;
        let mut next_id = next_alert_id(&tx)?;
        let mut enqueued = Vec::new();
        for evaluation in evaluations {
            let mut state = load_state(&tx, evaluation)?;
            let before = state.clone();
            let judgment = evaluation.judgment();
            let step = alerts::step(&mut state, &judgment, now, config, &silences, || {
                next_id += 1;
                next_id - 1
            });
            if state == before {
                continue;
            }
            if let Some(step) = &step {
                if let Some(item) = record_step(&tx, evaluation, step, now)? {
                    enqueued.push(item);
                }
            }
            save_state(&tx, evaluation, &state)?;
        }
        tx.commit().map_err(sql("commit apply"))?;
        for item in &enqueued {
            tracing::info!(
                alert_id = item.alert_id,
                kind = item.payload.notify.kind(),
                metric = %item.payload.metric,
                "alert notification enqueued"
            );
        }
        Ok(enqueued)
    }

    fn label(
        &mut self,
        alert_id: AlertId,
        label: Label,
        actor: &str,
        now: i64,
    ) -> Result<(), AlertError> {
        let tx = self.conn.transaction().map_err(sql("begin label"))?;
        let changed = tx
            .execute(
                "UPDATE alerts SET label = ?2, label_by = ?3, label_at = ?4 WHERE id = ?1",
                params![alert_id as i64, label.as_str(), actor, now],
            )
            .map_err(sql("label alert"))?;
        if changed == 0 {
            return Err(AlertError::UnknownAlert(alert_id));
        }
        insert_event(
            &tx,
            alert_id,
            now,
            None,
            "label",
            label.as_str(),
            Some(actor),
            false,
        )?;
        tx.commit().map_err(sql("commit label"))?;
        tracing::info!(alert_id, label = label.as_str(), actor, "alert labelled");
        Ok(())
    }

    fn record_button(
        &mut self,
        alert_id: AlertId,
        action: &str,
        actor: &str,
        now: i64,
    ) -> Result<(), AlertError> {
        if self.alert(alert_id)?.is_none() {
            return Err(AlertError::UnknownAlert(alert_id));
        }
        insert_event(
            &self.conn,
            alert_id,
            now,
            None,
            "button",
            action,
            Some(actor),
            false,
        )
    }

    fn alert(&self, alert_id: AlertId) -> Result<Option<AlertRecord>, AlertError> {
        self.conn
            .query_row(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1"),
                params![alert_id as i64],
                alert_row,
            )
            .optional()
            .map_err(sql("alert"))
    }

    fn history(
        &self,
        filter: &HistoryFilter,
        limit: usize,
    ) -> Result<Vec<AlertRecord>, AlertError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {ALERT_COLUMNS} FROM alerts
                 WHERE (?1 IS NULL OR metric = ?1) AND (?2 IS NULL OR state = ?2)
                   AND (?3 IS NULL OR started_at >= ?3) AND (?4 IS NULL OR started_at < ?4)
                 ORDER BY started_at DESC, id DESC LIMIT ?5"
            ))
            .map_err(sql("history"))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(
                params![
                    filter.metric,
                    filter.status.map(AlertStatus::as_str),
                    filter.from,
                    filter.to,
                    limit
                ],
                alert_row,
            )
            .map_err(sql("history"))?;
        rows.collect::<Result<_, _>>().map_err(sql("history row"))
    }

    fn events(&self, alert_id: Option<AlertId>) -> Result<Vec<AlertEvent>, AlertError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT alert_id, at, bucket, kind, details, actor, muted FROM alert_events
                 WHERE ?1 IS NULL OR alert_id = ?1 ORDER BY id",
            )
            .map_err(sql("events"))?;
        let rows = stmt
            .query_map(params![alert_id.map(|id| id as i64)], |r| {
                Ok(AlertEvent {
                    alert_id: r.get::<_, i64>(0)? as AlertId,
                    at: r.get(1)?,
                    bucket: r.get(2)?,
                    kind: r.get(3)?,
                    details: r.get(4)?,
                    actor: r.get(5)?,
                    muted: r.get(6)?,
                })
            })
            .map_err(sql("events"))?;
        rows.collect::<Result<_, _>>().map_err(sql("events row"))
    }

    fn alert_counts(&self) -> Result<(u64, u64), AlertError> {
        let [firing, resolved] = self.counts(
            "SELECT COALESCE(SUM(state = 'firing'), 0), COALESCE(SUM(state = 'resolved'), 0) FROM alerts",
            "alert counts",
        )?;
        Ok((firing, resolved))
    }

    fn open_since(&self) -> Result<crate::evaluation::OpenSince, AlertError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT metric, sliced, slice_dimension, slice_value, started_at FROM alert_state
                 WHERE open_alert_id IS NOT NULL AND started_at IS NOT NULL",
            )
            .map_err(sql("open alerts"))?;
        let rows = stmt
            .query_map([], |r| {
                let sliced: bool = r.get(1)?;
                let slice = sliced
                    .then(|| -> rusqlite::Result<SliceKey> {
                        Ok(SliceKey {
                            dimension: r.get(2)?,
                            value: r.get(3)?,
                        })
                    })
                    .transpose()?;
                Ok(((r.get::<_, String>(0)?, slice), r.get::<_, i64>(4)?))
            })
            .map_err(sql("open alerts"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sql("open alert row"))
    }
}

/// The id the next new alert gets.
pub(super) fn next_alert_id(tx: &Transaction<'_>) -> Result<AlertId, AlertError> {
    let id: i64 = tx
        .query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM alerts", [], |r| {
            r.get(0)
        })
        .map_err(sql("next alert id"))?;
    Ok(AlertId::try_from(id).unwrap_or(1))
}

const ALERT_COLUMNS: &str = concat!(
    "id, metric, slice_dimension, slice_value, started_at, resolved_at, \
     value, lower, upper, expected, deviation, detector, state, muted, label, label_by, \
     (SELECT CASE \
        WHEN COUNT(*) = 0 THEN 'none' \
        WHEN SUM(sent_at IS NULL) > 0 THEN 'pending' \
        WHEN SUM(",
    super::abandoned!(),
    ") > 0 THEN 'failed' \
        WHEN SUM(telegram_message_id IS NOT NULL) > 0 THEN 'sent' \
        ELSE 'logged' END \
      FROM outbox WHERE outbox.alert_id = alerts.id)"
);

fn alert_row(r: &Row<'_>) -> rusqlite::Result<AlertRecord> {
    let state: String = r.get(12)?;
    let label: Option<String> = r.get(14)?;
    Ok(AlertRecord {
        id: r.get::<_, i64>(0)? as AlertId,
        metric: r.get(1)?,
        slice: slice_from(r.get(2)?, r.get(3)?),
        started_at: r.get(4)?,
        resolved_at: r.get(5)?,
        value: r.get(6)?,
        lower: r.get(7)?,
        upper: r.get(8)?,
        expected: r.get(9)?,
        deviation: r.get(10)?,
        detector: r.get(11)?,
        status: if state == "resolved" {
            AlertStatus::Resolved
        } else {
            AlertStatus::Firing
        },
        muted: r.get(13)?,
        label: label.as_deref().and_then(Label::parse),
        label_by: r.get(15)?,
        delivery: r.get(16)?,
    })
}

fn load_state(tx: &Transaction<'_>, evaluation: &Evaluation) -> Result<SeriesState, AlertError> {
    let (sliced, dimension, value) = slice_parts(evaluation.slice.as_ref());
    let row = tx
        .query_row(
            "SELECT last_bucket, open_alert_id, started_at, last_notified_at, announced, calm,
                    resolved_alert_id, resolved_started_at, resolved_bucket, resolved_announced
             FROM alert_state WHERE metric = ?1 AND sliced = ?2 AND slice_dimension = ?3 AND slice_value = ?4",
            params![evaluation.metric, sliced, dimension, value],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, bool>(4)?,
                    r.get::<_, u32>(5)?,
                    (
                        r.get::<_, Option<i64>>(6)?,
                        r.get::<_, Option<i64>>(7)?,
                        r.get::<_, Option<i64>>(8)?,
                        r.get::<_, bool>(9)?,
                    ),
                ))
            },
        )
        .optional()
        .map_err(sql("load series state"))?;
    Ok(match row {
        None => SeriesState::default(),
        Some((last_bucket, id, started_at, last_notified_at, announced, calm, resolved)) => {
            SeriesState {
                last_bucket: Some(last_bucket),
                open: id.map(|id| OpenAlert {
                    id: id as AlertId,
                    started_at: started_at.unwrap_or(last_bucket),
                    last_notified_at: last_notified_at.unwrap_or(last_bucket),
                    announced,
                    calm,
                }),
                resolved: match resolved {
                    (Some(id), Some(started_at), Some(resolved_at), announced) => {
                        Some(ResolvedAlert {
                            id: id as AlertId,
                            started_at,
                            resolved_at,
                            announced,
                        })
                    }
                    _ => None,
                },
            }
        }
    })
}

fn save_state(
    tx: &Transaction<'_>,
    evaluation: &Evaluation,
    state: &SeriesState,
) -> Result<(), AlertError> {
    let (sliced, dimension, value) = slice_parts(evaluation.slice.as_ref());
    let open = state.open.as_ref();
    let resolved = state.resolved.as_ref();
    tx.execute(
        "INSERT INTO alert_state (metric, sliced, slice_dimension, slice_value, last_bucket,
                                  open_alert_id, started_at, last_notified_at, announced, calm,
                                  resolved_alert_id, resolved_started_at, resolved_bucket,
                                  resolved_announced)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT (metric, sliced, slice_dimension, slice_value) DO UPDATE SET
             last_bucket = excluded.last_bucket, open_alert_id = excluded.open_alert_id,
             started_at = excluded.started_at, last_notified_at = excluded.last_notified_at,
             announced = excluded.announced, calm = excluded.calm,
             resolved_alert_id = excluded.resolved_alert_id,
             resolved_started_at = excluded.resolved_started_at,
             resolved_bucket = excluded.resolved_bucket,
             resolved_announced = excluded.resolved_announced",
        params![
            evaluation.metric,
            sliced,
            dimension,
            value,
            state.last_bucket.unwrap_or(evaluation.bucket),
            open.map(|o| o.id as i64),
            open.map(|o| o.started_at),
            open.map(|o| o.last_notified_at),
            open.is_some_and(|o| o.announced),
            open.map_or(0, |o| o.calm),
            resolved.map(|r| r.id as i64),
            resolved.map(|r| r.started_at),
            resolved.map(|r| r.resolved_at),
            resolved.is_some_and(|r| r.announced),
        ],
    )
    .map_err(sql("save series state"))?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(super) fn insert_event(
    conn: &Connection,
    alert_id: AlertId,
    at: i64,
    bucket: Option<i64>,
    kind: &str,
    details: &str,
    actor: Option<&str>,
    muted: bool,
) -> Result<(), AlertError> {
    conn.execute(
        "INSERT INTO alert_events (alert_id, at, bucket, kind, details, actor, muted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![alert_id as i64, at, bucket, kind, details, actor, muted],
    )
    .map_err(sql("insert alert event"))?;
    Ok(())
}

/// Persists one lifecycle step: the alert row, a history entry and (unless
/// muted) the outbox row, all in the caller's transaction.
fn record_step(
    tx: &Transaction<'_>,
    evaluation: &Evaluation,
    step: &Step,
    now: i64,
) -> Result<Option<OutboxItem>, AlertError> {
    let p = &evaluation.point;
    let id = step.alert_id as i64;
    match step.notify {
        Notify::Opened => {
            let slice = evaluation.slice.as_ref();
            tx.execute(
                "INSERT INTO alerts (id, metric, slice_dimension, slice_value, started_at, value, lower,
                                     upper, expected, deviation, detector, state, muted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'firing', ?12)",
                params![
                    id,
                    evaluation.metric,
                    slice.map(|s| s.dimension.as_str()),
                    slice.map(|s| s.value.as_str()),
                    step.started_at,
                    p.value,
                    p.lower,
                    p.upper,
                    p.expected,
                    p.deviation,
                    evaluation.detector,
                    step.muted,
                ],
            )
            .map_err(sql("insert alert"))?;
        }
        Notify::Repeat { .. } => {
            tx.execute(
                "UPDATE alerts SET muted = ?2 WHERE id = ?1",
                params![id, step.muted],
            )
            .map_err(sql("update alert"))?;
        }
        Notify::Resolved { .. } => {
            tx.execute(
                "UPDATE alerts SET state = 'resolved', resolved_at = ?2, muted = ?3 WHERE id = ?1",
                params![id, step.bucket, step.muted],
            )
            .map_err(sql("resolve alert"))?;
        }
        Notify::Reopened { .. } => {
            tx.execute(
                "UPDATE alerts SET state = 'firing', resolved_at = NULL, muted = ?2 WHERE id = ?1",
                params![id, step.muted],
            )
            .map_err(sql("reopen alert"))?;
        }
    }
    let payload = NotificationPayload {
        alert_id: step.alert_id,
        notify: step.notify,
        metric: evaluation.metric.clone(),
        slice: evaluation.slice.clone(),
        bucket: step.bucket,
        started_at: step.started_at,
        value: p.value,
        lower: p.lower,
        upper: p.upper,
        expected: p.expected,
        deviation: p.deviation,
        detector: evaluation.detector.to_string(),
        context: evaluation.context.clone(),
        notice: None,
    };
    let details = serde_json::to_string(&step.notify).unwrap_or_default();
    insert_event(
        tx,
        step.alert_id,
        now,
        Some(step.bucket),
        step.notify.kind(),
        &details,
        None,
        step.muted,
    )?;
    if step.muted {
        tracing::info!(
            alert_id = step.alert_id,
            kind = step.notify.kind(),
            "alert notification muted"
        );
        return Ok(None);
    }
    enqueue(tx, payload, now).map(Some)
}
