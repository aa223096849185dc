//! [`Outbox`] on SQLite: the `outbox` table.

use rusqlite::{params, OptionalExtension, Transaction};

use super::{sql, SqliteState, DB_NOW};
use crate::alerts::AlertId;
use crate::state::leases::ttl_i64;
use crate::state::records::{self, due_items, payload_json, redact_token};
use crate::state::{AlertError, AlertRecord, NotificationPayload, Outbox, OutboxItem, SentMessage};

const ABANDONED: &str = super::abandoned!();

impl Outbox for SqliteState {
    fn due(&self, now: i64) -> Result<Vec<OutboxItem>, AlertError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, alert_id, payload, created_at, attempts, next_attempt_at, last_error
                 FROM outbox WHERE sent_at IS NULL ORDER BY id",
            )
            .map_err(sql("due"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            })
            .map_err(sql("due"))?;
        due_items(rows.map(|row| row.map_err(sql("due row"))), now)
    }

    fn claim(&mut self, id: i64, holder: &str, ttl_secs: u64) -> Result<bool, AlertError> {
        let changed = self
            .conn
            .execute(
                &format!(
                    "UPDATE outbox SET claimed_by = ?2, claim_expires_at = {DB_NOW} + ?3
                     WHERE id = ?1 AND sent_at IS NULL
                       AND (claimed_by IS NULL OR claimed_by = ?2 OR claim_expires_at <= {DB_NOW})"
                ),
                params![id, holder, ttl_i64(ttl_secs)],
            )
            .map_err(sql("claim"))?;
        if changed == 0 && !self.outbox_exists(id)? {
            return Err(AlertError::UnknownOutboxItem(id));
        }
        Ok(changed == 1)
    }

    fn release_claim(&mut self, id: i64, holder: &str) -> Result<(), AlertError> {
        let changed = self
            .conn
            .execute(
                "UPDATE outbox SET claimed_by = NULL, claim_expires_at = NULL
                 WHERE id = ?1 AND sent_at IS NULL AND claimed_by = ?2",
                params![id, holder],
            )
            .map_err(sql("release claim"))?;
        if changed == 0 && !self.outbox_exists(id)? {
            return Err(AlertError::UnknownOutboxItem(id));
        }
        Ok(())
    }

    fn mark_sent(&mut self, id: i64, now: i64, sent: SentMessage) -> Result<(), AlertError> {
        let changed = self
            .conn
            .execute(
                "UPDATE outbox SET sent_at = ?2, chat_id = ?3, telegram_message_id = ?4, attempts = attempts + 1
                 WHERE id = ?1 AND sent_at IS NULL",
                params![id, now, sent.chat_id, sent.message_id],
            )
            .map_err(sql("mark sent"))?;
        if changed == 0 && !self.outbox_exists(id)? {
            return Err(AlertError::UnknownOutboxItem(id));
        }
        Ok(())
    }

    fn mark_failed(&mut self, id: i64, error: &str, retry_at: i64) -> Result<(), AlertError> {
        let error = redact_token(error);
        let changed = self
            .conn
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3,
                        claimed_by = NULL, claim_expires_at = NULL
                 WHERE id = ?1 AND sent_at IS NULL",
                params![id, error, retry_at],
            )
            .map_err(sql("mark failed"))?;
        if changed == 0 && !self.outbox_exists(id)? {
            return Err(AlertError::UnknownOutboxItem(id));
        }
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
        let changed = self
            .conn
            .execute(
                "UPDATE outbox SET sent_at = ?2, attempts = attempts + 1, last_error = ?3
                 WHERE id = ?1 AND sent_at IS NULL",
                params![id, now, note],
            )
            .map_err(sql("mark done"))?;
        if changed == 0 && !self.outbox_exists(id)? {
            return Err(AlertError::UnknownOutboxItem(id));
        }
        if let Some(note) = note {
            tracing::error!(outbox_id = id, reason = %note, "alert notification abandoned");
        }
        Ok(())
    }

    fn message_of(&self, alert_id: AlertId) -> Result<Option<SentMessage>, AlertError> {
        self.conn
            .query_row(
                "SELECT chat_id, telegram_message_id FROM outbox
                 WHERE alert_id = ?1 AND sent_at IS NOT NULL
                   AND chat_id IS NOT NULL AND telegram_message_id IS NOT NULL
                 ORDER BY id LIMIT 1",
                params![alert_id as i64],
                |r| {
                    Ok(SentMessage {
                        chat_id: r.get(0)?,
                        message_id: r.get(1)?,
                    })
                },
            )
            .optional()
            .map_err(sql("message of alert"))
    }

    fn message_group(
        &self,
        message: SentMessage,
    ) -> Result<Vec<(NotificationPayload, AlertRecord)>, AlertError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT payload FROM outbox
                 WHERE chat_id = ?1 AND telegram_message_id = ?2 AND kind = 'opened' ORDER BY id",
            )
            .map_err(sql("message group"))?;
        let payloads: Vec<String> = stmt
            .query_map(params![message.chat_id, message.message_id], |r| r.get(0))
            .map_err(sql("message group"))?
            .collect::<Result<_, _>>()
            .map_err(sql("message group row"))?;
        records::message_group(self, payloads)
    }

    fn outbox_counts(&self) -> Result<(u64, u64, u64), AlertError> {
        let [pending, done, abandoned] = self.counts(
            &format!(
                "SELECT COALESCE(SUM(sent_at IS NULL), 0), COALESCE(SUM(sent_at IS NOT NULL), 0),
                        COALESCE(SUM({ABANDONED}), 0) FROM outbox"
            ),
            "outbox counts",
        )?;
        Ok((pending, done - abandoned, abandoned))
    }
}

impl SqliteState {
    fn outbox_exists(&self, id: i64) -> Result<bool, AlertError> {
        self.conn
            .query_row(
                "SELECT 1 FROM outbox WHERE id = ?1",
                params![id],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(sql("outbox lookup"))
    }
}

/// Inserts an outbox row for `payload`.
pub(super) fn enqueue(
    tx: &Transaction<'_>,
    payload: NotificationPayload,
    now: i64,
) -> Result<OutboxItem, AlertError> {
    let json = payload_json(&payload)?;
    tx.execute(
        "INSERT INTO outbox (alert_id, kind, payload, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?4)",
        params![payload.alert_id as i64, payload.notify.kind(), json, now],
    )
    .map_err(sql("enqueue notification"))?;
    Ok(OutboxItem {
        id: tx.last_insert_rowid(),
        alert_id: payload.alert_id,
        payload,
        created_at: now,
        attempts: 0,
        next_attempt_at: now,
        last_error: None,
    })
}
