//! The rows the shared lifecycle and notices write ([`StateRows`], see
//! [`crate::state::records`]) on SQLite, inside one transaction.

use rusqlite::{params, OptionalExtension, Transaction};

use super::alerts::{insert_event, next_alert_id};
use super::outbox::enqueue;
use super::silences::query_silences;
use super::{sql, SqliteState};
use crate::alerts::{AlertId, Notify, SeriesState, Silence, Step};
use crate::evaluation::Evaluation;
use crate::state::records::{series_state, slice_parts, NewEvent, Notice, StateRows, Transact};
use crate::state::{AlertError, CheckedInput, NotificationPayload, OutboxItem};

impl Transact for SqliteState {
    fn transact<T>(
        &mut self,
        f: impl FnOnce(&mut dyn StateRows) -> Result<T, AlertError>,
    ) -> Result<T, AlertError> {
        let tx = self.conn.transaction().map_err(sql("begin"))?;
        let out = f(&mut SqliteRows(&tx))?;
        tx.commit().map_err(sql("commit"))?;
        Ok(out)
    }
}

struct SqliteRows<'a>(&'a Transaction<'a>);

impl StateRows for SqliteRows<'_> {
    fn active_silences(&mut self, now: i64) -> Result<Vec<Silence>, AlertError> {
        query_silences(self.0, Some(now))
    }

    fn next_alert_id(&mut self) -> Result<AlertId, AlertError> {
        next_alert_id(self.0)
    }

    fn load_state(&mut self, evaluation: &Evaluation) -> Result<SeriesState, AlertError> {
        load_state(self.0, evaluation)
    }

    fn save_state(
        &mut self,
        evaluation: &Evaluation,
        state: &SeriesState,
    ) -> Result<(), AlertError> {
        save_state(self.0, evaluation, state)
    }

    fn write_alert(&mut self, evaluation: &Evaluation, step: &Step) -> Result<(), AlertError> {
        let tx = self.0;
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
        Ok(())
    }

    fn write_withdrawn_note(&mut self, id: AlertId, note: &str) -> Result<(), AlertError> {
        self.0
            .execute(
                "UPDATE alerts SET withdrawn_note = ?2 WHERE id = ?1",
                params![id as i64, note],
            )
            .map_err(sql("withdrawn note"))?;
        Ok(())
    }

    fn insert_event(&mut self, event: &NewEvent<'_>) -> Result<(), AlertError> {
        insert_event(self.0, event)
    }

    fn enqueue(
        &mut self,
        payload: NotificationPayload,
        now: i64,
    ) -> Result<OutboxItem, AlertError> {
        enqueue(self.0, payload, now)
    }

    fn open_notice_alert(
        &mut self,
        notice: &Notice,
    ) -> Result<Option<(AlertId, i64, bool)>, AlertError> {
        open_notice_alert(self.0, notice)
    }

    fn insert_notice_alert(
        &mut self,
        notice: &Notice,
        id: AlertId,
        now: i64,
        muted: bool,
    ) -> Result<(), AlertError> {
        let tx = self.0;
        let slice = notice.slice.as_ref();
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
        Ok(())
    }

    fn resolve_alert(&mut self, id: AlertId, now: i64) -> Result<(), AlertError> {
        let tx = self.0;
        tx.execute(
            "UPDATE alerts SET state = 'resolved', resolved_at = ?2 WHERE id = ?1",
            params![id as i64, now],
        )
        .map_err(sql("resolve notice alert"))?;
        Ok(())
    }

    fn mark_rechecked(&mut self, input: &CheckedInput) -> Result<(), AlertError> {
        super::late_rows::mark_rechecked(self.0, input)
    }
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
    Ok(series_state(row))
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
