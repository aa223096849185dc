//! The rows the shared lifecycle and notices write ([`StateRows`], see
//! [`crate::state::records`]) on PostgreSQL, inside one transaction.

use postgres::Transaction;

use super::alerts::insert_event;
use super::outbox::enqueue;
use super::silences::query_silences;
use super::{sql, PostgresState};
use crate::alerts::{AlertId, Notify, SeriesState, Silence, Step};
use crate::evaluation::Evaluation;
use crate::state::records::{series_state, slice_parts, NewEvent, Notice, StateRows, Transact};
use crate::state::{AlertError, CheckedInput, NotificationPayload, OutboxItem};

impl Transact for PostgresState {
    fn transact<T>(
        &mut self,
        f: impl FnOnce(&mut dyn StateRows) -> Result<T, AlertError>,
    ) -> Result<T, AlertError> {
        self.with_client(|client| {
            let mut tx = client.transaction().map_err(sql("begin"))?;
            let out = f(&mut PostgresRows(&mut tx))?;
            tx.commit().map_err(sql("commit"))?;
            Ok(out)
        })
    }
}

struct PostgresRows<'a, 'b>(&'a mut Transaction<'b>);

impl StateRows for PostgresRows<'_, '_> {
    fn active_silences(&mut self, now: i64) -> Result<Vec<Silence>, AlertError> {
        query_silences(self.0, Some(now))
    }

    fn next_alert_id(&mut self) -> Result<AlertId, AlertError> {
        next_alert_id(self.0)
    }

    fn load_state(&mut self, evaluation: &Evaluation) -> Result<SeriesState, AlertError> {
        let (sliced, dimension, value) = slice_parts(evaluation.slice.as_ref());
        let row = self
            .0
            .query_opt(
                "SELECT last_bucket, open_alert_id, started_at, last_notified_at, announced, calm,
                        resolved_alert_id, resolved_started_at, resolved_bucket, resolved_announced
                 FROM alert_state
                 WHERE metric = $1 AND sliced = $2 AND slice_dimension = $3 AND slice_value = $4",
                &[&evaluation.metric, &sliced, &dimension, &value],
            )
            .map_err(sql("load series state"))?;
        let Some(r) = row else {
            return Ok(series_state(None));
        };
        let read = || -> Result<_, postgres::Error> {
            Ok((
                r.try_get::<_, i64>(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
                r.try_get(4)?,
                r.try_get::<_, i64>(5)?.clamp(0, u32::MAX as i64) as u32,
                (r.try_get(6)?, r.try_get(7)?, r.try_get(8)?, r.try_get(9)?),
            ))
        };
        Ok(series_state(Some(
            read().map_err(sql("load series state"))?,
        )))
    }

    fn save_state(
        &mut self,
        evaluation: &Evaluation,
        state: &SeriesState,
    ) -> Result<(), AlertError> {
        let (sliced, dimension, value) = slice_parts(evaluation.slice.as_ref());
        let open = state.open.as_ref();
        let resolved = state.resolved.as_ref();
        self.0
            .execute(
                "INSERT INTO alert_state (metric, sliced, slice_dimension, slice_value, last_bucket,
                                          open_alert_id, started_at, last_notified_at, announced,
                                          calm, resolved_alert_id, resolved_started_at,
                                          resolved_bucket, resolved_announced)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                 ON CONFLICT (metric, sliced, slice_dimension, slice_value) DO UPDATE SET
                     (last_bucket, open_alert_id, started_at, last_notified_at, announced, calm,
                      resolved_alert_id, resolved_started_at, resolved_bucket, resolved_announced)
                     = (EXCLUDED.last_bucket, EXCLUDED.open_alert_id, EXCLUDED.started_at,
                        EXCLUDED.last_notified_at, EXCLUDED.announced, EXCLUDED.calm,
                        EXCLUDED.resolved_alert_id, EXCLUDED.resolved_started_at,
                        EXCLUDED.resolved_bucket, EXCLUDED.resolved_announced)",
                &[
                    &evaluation.metric,
                    &sliced,
                    &dimension,
                    &value,
                    &state.last_bucket.unwrap_or(evaluation.bucket),
                    &open.map(|o| o.id as i64),
                    &open.map(|o| o.started_at),
                    &open.map(|o| o.last_notified_at),
                    &open.is_some_and(|o| o.announced),
                    &open.map_or(0, |o| i64::from(o.calm)),
                    &resolved.map(|r| r.id as i64),
                    &resolved.map(|r| r.started_at),
                    &resolved.map(|r| r.resolved_at),
                    &resolved.is_some_and(|r| r.announced),
                ],
            )
            .map_err(sql("save series state"))?;
        Ok(())
    }

    fn write_alert(&mut self, evaluation: &Evaluation, step: &Step) -> Result<(), AlertError> {
        let id = step.alert_id as i64;
        let (statement, context, resolved_at) = match step.notify {
            Notify::Opened => {
                let p = &evaluation.point;
                let slice = evaluation.slice.as_ref();
                self.0
                    .execute(
                        "INSERT INTO alerts (id, metric, slice_dimension, slice_value, started_at,
                                             value, lower, upper, expected, deviation, detector,
                                             state, muted)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'firing', $12)",
                        &[
                            &id,
                            &evaluation.metric,
                            &slice.map(|s| s.dimension.as_str()),
                            &slice.map(|s| s.value.as_str()),
                            &step.started_at,
                            &p.value,
                            &p.lower,
                            &p.upper,
                            &p.expected,
                            &p.deviation,
                            &evaluation.detector,
                            &step.muted,
                        ],
                    )
                    .map_err(sql("insert alert"))?;
                return Ok(());
            }
            Notify::Repeat { .. } => (
                "UPDATE alerts SET muted = $2 WHERE id = $1",
                "update alert",
                None,
            ),
            Notify::Resolved { .. } => (
                "UPDATE alerts SET state = 'resolved', muted = $2, resolved_at = $3 WHERE id = $1",
                "resolve alert",
                Some(step.bucket),
            ),
            Notify::Reopened { .. } => (
                "UPDATE alerts SET state = 'firing', resolved_at = NULL, muted = $2 WHERE id = $1",
                "reopen alert",
                None,
            ),
        };
        let result = match resolved_at {
            Some(at) => self.0.execute(statement, &[&id, &step.muted, &at]),
            None => self.0.execute(statement, &[&id, &step.muted]),
        };
        result.map_err(sql(context))?;
        Ok(())
    }

    fn write_withdrawn_note(&mut self, id: AlertId, note: &str) -> Result<(), AlertError> {
        self.0
            .execute(
                "UPDATE alerts SET withdrawn_note = $2 WHERE id = $1",
                &[&(id as i64), &note],
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
        let row = self
            .0
            .query_opt(
                "SELECT id, started_at, muted FROM alerts
                 WHERE metric = $1 AND slice_value IS NOT DISTINCT FROM $2 AND state = 'firing'
                 ORDER BY id DESC LIMIT 1",
                &[&notice.metric, &notice.slice.as_ref().map(|s| &s.value)],
            )
            .map_err(sql("open notice alert"))?;
        row.map(|r| {
            Ok((
                r.try_get::<_, i64>(0)? as AlertId,
                r.try_get(1)?,
                r.try_get(2)?,
            ))
        })
        .transpose()
        .map_err(sql("open notice alert"))
    }

    fn insert_notice_alert(
        &mut self,
        notice: &Notice,
        id: AlertId,
        now: i64,
        muted: bool,
    ) -> Result<(), AlertError> {
        let slice = notice.slice.as_ref();
        self.0
            .execute(
                "INSERT INTO alerts (id, metric, slice_dimension, slice_value, started_at, detector,
                                     state, muted)
                 VALUES ($1, $2, $3, $4, $5, $6, 'firing', $7)",
                &[
                    &(id as i64),
                    &notice.metric,
                    &slice.map(|s| &s.dimension),
                    &slice.map(|s| &s.value),
                    &now,
                    &notice.detector,
                    &muted,
                ],
            )
            .map_err(sql("insert notice alert"))?;
        Ok(())
    }

    fn resolve_alert(&mut self, id: AlertId, now: i64) -> Result<(), AlertError> {
        self.0
            .execute(
                "UPDATE alerts SET state = 'resolved', resolved_at = $2 WHERE id = $1",
                &[&(id as i64), &now],
            )
            .map_err(sql("resolve notice alert"))?;
        Ok(())
    }

    fn mark_rechecked(&mut self, input: &CheckedInput) -> Result<(), AlertError> {
        super::late_rows::mark_rechecked(self.0, input)
    }
}

/// The id the next new alert gets. Locks the alerts against another writer
/// allocating ids until the transaction ends (readers are not blocked).
pub(super) fn next_alert_id(tx: &mut Transaction<'_>) -> Result<AlertId, AlertError> {
    tx.batch_execute("LOCK TABLE alerts IN SHARE ROW EXCLUSIVE MODE")
        .map_err(sql("lock alerts"))?;
    let id: i64 = tx
        .query_one("SELECT COALESCE(MAX(id), 0) + 1 FROM alerts", &[])
        .and_then(|r| r.try_get(0))
        .map_err(sql("next alert id"))?;
    Ok(AlertId::try_from(id).unwrap_or(1))
}
