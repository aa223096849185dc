//! [`AlertLog`] on SQLite: the `alerts`, `alert_events` and `alert_state` tables.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{sql, SqliteState};
use crate::alerts::{AlertConfig, AlertId};
use crate::evaluation::Evaluation;
use crate::metrics::model::SliceKey;
use crate::state::records::{self, NewEvent};
use crate::state::stored_row::{alert_event, alert_record};
use crate::state::{
    AlertError, AlertEvent, AlertLog, AlertRecord, AlertStatus, HistoryFilter, Label, OutboxItem,
};

impl AlertLog for SqliteState {
    fn apply(
        &mut self,
        evaluations: &[Evaluation],
        now: i64,
        config: &AlertConfig,
    ) -> Result<Vec<OutboxItem>, AlertError> {
        records::apply(self, evaluations, now, config)
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
        let event = NewEvent::action(alert_id, now, "label", label.as_str(), actor);
        insert_event(&tx, &event)?;
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
            &NewEvent::action(alert_id, now, "button", action, actor),
        )
    }

    fn alert(&self, alert_id: AlertId) -> Result<Option<AlertRecord>, AlertError> {
        self.conn
            .query_row(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1"),
                params![alert_id as i64],
                |r| alert_record(r),
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
                |r| alert_record(r),
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
            .query_map(params![alert_id.map(|id| id as i64)], |r| alert_event(r))
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
      FROM outbox WHERE outbox.alert_id = alerts.id), withdrawn_note"
);

pub(super) fn insert_event(conn: &Connection, event: &NewEvent<'_>) -> Result<(), AlertError> {
    conn.execute(
        "INSERT INTO alert_events (alert_id, at, bucket, kind, details, actor, muted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            event.alert_id as i64,
            event.at,
            event.bucket,
            event.kind,
            event.details,
            event.actor,
            event.muted
        ],
    )
    .map_err(sql("insert alert event"))?;
    Ok(())
}
