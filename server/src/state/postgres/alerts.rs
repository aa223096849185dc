//! [`AlertLog`] on PostgreSQL: the `alerts`, `alert_events` and `alert_state`
//! tables (the lifecycle itself is [`records::apply`], shared).

use postgres::GenericClient;

use super::{sql, PostgresState};
use crate::alerts::{AlertConfig, AlertId};
use crate::evaluation::Evaluation;
use crate::metrics::model::SliceKey;
use crate::state::records::{self, NewEvent};
use crate::state::stored_row::{alert_event, alert_record};
use crate::state::{
    AlertError, AlertEvent, AlertLog, AlertRecord, AlertStatus, HistoryFilter, Label, OutboxItem,
};

impl AlertLog for PostgresState {
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
        self.with_client(|client| {
            let mut tx = client.transaction().map_err(sql("begin label"))?;
            let changed = tx
                .execute(
                    "UPDATE alerts SET label = $2, label_by = $3, label_at = $4 WHERE id = $1",
                    &[&(alert_id as i64), &label.as_str(), &actor, &now],
                )
                .map_err(sql("label alert"))?;
            if changed == 0 {
                return Err(AlertError::UnknownAlert(alert_id));
            }
            let event = NewEvent::action(alert_id, now, "label", label.as_str(), actor);
            insert_event(&mut tx, &event)?;
            tx.commit().map_err(sql("commit label"))
        })?;
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
        self.with_client(|client| {
            insert_event(
                client,
                &NewEvent::action(alert_id, now, "button", action, actor),
            )
        })
    }

    fn alert(&self, alert_id: AlertId) -> Result<Option<AlertRecord>, AlertError> {
        self.with_client(|client| {
            let row = client
                .query_opt(
                    &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"),
                    &[&(alert_id as i64)],
                )
                .map_err(sql("alert"))?;
            row.as_ref()
                .map(alert_record)
                .transpose()
                .map_err(sql("alert"))
        })
    }

    fn history(
        &self,
        filter: &HistoryFilter,
        limit: usize,
    ) -> Result<Vec<AlertRecord>, AlertError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_client(|client| {
            client
                .query(
                    &format!(
                        "SELECT {ALERT_COLUMNS} FROM alerts
                         WHERE ($1::TEXT IS NULL OR metric = $1) AND ($2::TEXT IS NULL OR state = $2)
                           AND ($3::BIGINT IS NULL OR started_at >= $3)
                           AND ($4::BIGINT IS NULL OR started_at < $4)
                         ORDER BY started_at DESC, id DESC LIMIT $5"
                    ),
                    &[
                        &filter.metric,
                        &filter.status.map(AlertStatus::as_str),
                        &filter.from,
                        &filter.to,
                        &limit,
                    ],
                )
                .and_then(|rows| rows.iter().map(alert_record).collect())
                .map_err(sql("history"))
        })
    }

    fn events(&self, alert_id: Option<AlertId>) -> Result<Vec<AlertEvent>, AlertError> {
        self.with_client(|client| {
            let rows = client
                .query(
                    "SELECT alert_id, at, bucket, kind, details, actor, muted FROM alert_events
                     WHERE $1::BIGINT IS NULL OR alert_id = $1 ORDER BY id",
                    &[&alert_id.map(|id| id as i64)],
                )
                .map_err(sql("events"))?;
            rows.iter()
                .map(alert_event)
                .collect::<Result<_, postgres::Error>>()
                .map_err(sql("events row"))
        })
    }

    fn alert_counts(&self) -> Result<(u64, u64), AlertError> {
        let [firing, resolved] = self.counts(
            "SELECT COUNT(*) FILTER (WHERE state = 'firing'), COUNT(*) FILTER (WHERE state = 'resolved')
             FROM alerts",
            "alert counts",
        )?;
        Ok((firing, resolved))
    }

    fn open_since(&self) -> Result<crate::evaluation::OpenSince, AlertError> {
        self.with_client(|client| {
            let rows = client
                .query(
                    "SELECT metric, sliced, slice_dimension, slice_value, started_at FROM alert_state
                     WHERE open_alert_id IS NOT NULL AND started_at IS NOT NULL",
                    &[],
                )
                .map_err(sql("open alerts"))?;
            rows.iter()
                .map(|r| {
                    let slice = if r.try_get::<_, bool>(1)? {
                        Some(SliceKey {
                            dimension: r.try_get(2)?,
                            value: r.try_get(3)?,
                        })
                    } else {
                        None
                    };
                    Ok(((r.try_get::<_, String>(0)?, slice), r.try_get::<_, i64>(4)?))
                })
                .collect::<Result<_, postgres::Error>>()
                .map_err(sql("open alert row"))
        })
    }
}

/// An alert's columns, and its delivery state from its outbox rows.
const ALERT_COLUMNS: &str = "id, metric, slice_dimension, slice_value, started_at, resolved_at, \
     value, lower, upper, expected, deviation, detector, state, muted, label, label_by, \
     (SELECT CASE \
        WHEN COUNT(*) = 0 THEN 'none' \
        WHEN COUNT(*) FILTER (WHERE sent_at IS NULL) > 0 THEN 'pending' \
        WHEN COUNT(*) FILTER (WHERE sent_at IS NOT NULL AND telegram_message_id IS NULL \
                                    AND last_error IS NOT NULL) > 0 THEN 'failed' \
        WHEN COUNT(*) FILTER (WHERE telegram_message_id IS NOT NULL) > 0 THEN 'sent' \
        ELSE 'logged' END \
      FROM outbox WHERE outbox.alert_id = alerts.id), withdrawn_note";

pub(super) fn insert_event(
    client: &mut impl GenericClient,
    event: &NewEvent<'_>,
) -> Result<(), AlertError> {
    client
        .execute(
            "INSERT INTO alert_events (alert_id, at, bucket, kind, details, actor, muted)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &(event.alert_id as i64),
                &event.at,
                &event.bucket,
                &event.kind,
                &event.details,
                &event.actor,
                &event.muted,
            ],
        )
        .map_err(sql("insert alert event"))?;
    Ok(())
}
