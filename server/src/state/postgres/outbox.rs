//! [`Outbox`] on PostgreSQL: the `outbox` table.

use postgres::GenericClient;

use super::{sql, PostgresState, DB_NOW};
use crate::alerts::AlertId;
use crate::state::leases::ttl_i64;
use crate::state::records::{self, due_items, payload_json, redact_token, OutboxRow};
use crate::state::{AlertError, AlertRecord, NotificationPayload, Outbox, OutboxItem, SentMessage};

/// An outbox row Telegram refused for good (see the SQLite store's `abandoned!`).
const ABANDONED: &str =
    "sent_at IS NOT NULL AND telegram_message_id IS NULL AND last_error IS NOT NULL";

impl Outbox for PostgresState {
    fn due(&self, now: i64) -> Result<Vec<OutboxItem>, AlertError> {
        let rows = self.with_client(|client| {
            client
                .query(
                    "SELECT id, alert_id, payload, created_at, attempts, next_attempt_at, last_error
                     FROM outbox WHERE sent_at IS NULL ORDER BY id",
                    &[],
                )
                .map_err(sql("due"))
        })?;
        let rows = rows.into_iter().map(|r| -> Result<OutboxRow, AlertError> {
            let read = || {
                Ok((
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                    r.try_get(5)?,
                    r.try_get(6)?,
                ))
            };
            read().map_err(sql("due row"))
        });
        due_items(rows, now)
    }

    fn claim(&mut self, id: i64, holder: &str, ttl_secs: u64) -> Result<bool, AlertError> {
        let changed = self.execute(
            &format!(
                "UPDATE outbox SET claimed_by = $2, claim_expires_at = {DB_NOW} + $3
                 WHERE id = $1 AND sent_at IS NULL
                   AND (claimed_by IS NULL OR claimed_by = $2 OR claim_expires_at <= {DB_NOW})"
            ),
            &[&id, &holder, &ttl_i64(ttl_secs)],
            "claim",
        )?;
        self.changed_or_unknown(id, changed)?;
        Ok(changed == 1)
    }

    fn release_claim(&mut self, id: i64, holder: &str) -> Result<(), AlertError> {
        let changed = self.execute(
            "UPDATE outbox SET claimed_by = NULL, claim_expires_at = NULL
             WHERE id = $1 AND sent_at IS NULL AND claimed_by = $2",
            &[&id, &holder],
            "release claim",
        )?;
        self.changed_or_unknown(id, changed)
    }

    fn mark_sent(&mut self, id: i64, now: i64, sent: SentMessage) -> Result<(), AlertError> {
        let changed = self.execute(
            "UPDATE outbox SET sent_at = $2, chat_id = $3, telegram_message_id = $4,
                               attempts = attempts + 1
             WHERE id = $1 AND sent_at IS NULL",
            &[&id, &now, &sent.chat_id, &sent.message_id],
            "mark sent",
        )?;
        self.changed_or_unknown(id, changed)
    }

    fn mark_failed(&mut self, id: i64, error: &str, retry_at: i64) -> Result<(), AlertError> {
        let error = redact_token(error);
        let changed = self.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3,
                               claimed_by = NULL, claim_expires_at = NULL
             WHERE id = $1 AND sent_at IS NULL",
            &[&id, &error, &retry_at],
            "mark failed",
        )?;
        self.changed_or_unknown(id, changed)?;
        tracing::warn!(outbox_id = id, retry_at, error = %error, "alert notification failed");
        Ok(())
    }

    fn mark_done_without_message(
        &mut self,
        id: i64,
        now: i64,
        note: Option<&str>,
    ) -> Result<(), AlertError> {
        let note = note.map(redact_token);
        let changed = self.execute(
            "UPDATE outbox SET sent_at = $2, attempts = attempts + 1, last_error = $3
             WHERE id = $1 AND sent_at IS NULL",
            &[&id, &now, &note],
            "mark done",
        )?;
        self.changed_or_unknown(id, changed)?;
        if let Some(note) = note {
            tracing::error!(outbox_id = id, reason = %note, "alert notification abandoned");
        }
        Ok(())
    }

    fn message_of(&self, alert_id: AlertId) -> Result<Option<SentMessage>, AlertError> {
        self.with_client(|client| {
            let row = client
                .query_opt(
                    "SELECT chat_id, telegram_message_id FROM outbox
                     WHERE alert_id = $1 AND sent_at IS NOT NULL
                       AND chat_id IS NOT NULL AND telegram_message_id IS NOT NULL
                     ORDER BY id LIMIT 1",
                    &[&(alert_id as i64)],
                )
                .map_err(sql("message of alert"))?;
            row.map(|r| {
                Ok(SentMessage {
                    chat_id: r.try_get(0)?,
                    message_id: r.try_get(1)?,
                })
            })
            .transpose()
            .map_err(sql("message of alert"))
        })
    }

    fn message_group(
        &self,
        message: SentMessage,
    ) -> Result<Vec<(NotificationPayload, AlertRecord)>, AlertError> {
        let payloads: Vec<String> = self.with_client(|client| {
            client
                .query(
                    "SELECT payload FROM outbox
                     WHERE chat_id = $1 AND telegram_message_id = $2 AND kind = 'opened'
                     ORDER BY id",
                    &[&message.chat_id, &message.message_id],
                )
                .and_then(|rows| rows.iter().map(|r| r.try_get(0)).collect())
                .map_err(sql("message group"))
        })?;
        records::message_group(self, payloads)
    }

    fn outbox_counts(&self) -> Result<(u64, u64, u64), AlertError> {
        let [pending, done, abandoned] = self.counts(
            &format!(
                "SELECT COUNT(*) FILTER (WHERE sent_at IS NULL),
                        COUNT(*) FILTER (WHERE sent_at IS NOT NULL),
                        COUNT(*) FILTER (WHERE {ABANDONED}) FROM outbox"
            ),
            "outbox counts",
        )?;
        Ok((pending, done - abandoned, abandoned))
    }
}

impl PostgresState {
    /// Runs one statement outside a transaction; returns the rows it changed.
    pub(super) fn execute(
        &self,
        statement: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
        context: &'static str,
    ) -> Result<u64, AlertError> {
        self.with_client(|client| client.execute(statement, params).map_err(sql(context)))
    }

    /// `Ok` if the update changed a row or the item exists (already done).
    fn changed_or_unknown(&self, id: i64, changed: u64) -> Result<(), AlertError> {
        if changed > 0 {
            return Ok(());
        }
        let exists = self.with_client(|client| {
            client
                .query_opt("SELECT 1 FROM outbox WHERE id = $1", &[&id])
                .map_err(sql("outbox lookup"))
        })?;
        match exists {
            Some(_) => Ok(()),
            None => Err(AlertError::UnknownOutboxItem(id)),
        }
    }
}

/// Inserts an outbox row for `payload`.
pub(super) fn enqueue(
    client: &mut impl GenericClient,
    payload: NotificationPayload,
    now: i64,
) -> Result<OutboxItem, AlertError> {
    let json = payload_json(&payload)?;
    let id: i64 = client
        .query_one(
            "INSERT INTO outbox (alert_id, kind, payload, created_at, next_attempt_at)
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
            &[
                &(payload.alert_id as i64),
                &payload.notify.kind(),
                &json,
                &now,
            ],
        )
        .and_then(|r| r.try_get(0))
        .map_err(sql("enqueue notification"))?;
    Ok(OutboxItem {
        id,
        alert_id: payload.alert_id,
        payload,
        created_at: now,
        attempts: 0,
        next_attempt_at: now,
        last_error: None,
    })
}
