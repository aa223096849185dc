//! [`Reports`] on SQLite: the `reports` table.

use rusqlite::{params, OptionalExtension};

use super::{sql, SqliteState, DB_NOW};
use crate::state::leases::ttl_i64;
use crate::state::records::redact_token as redact;
use crate::state::{AlertError, ReportItem, Reports};

impl Reports for SqliteState {
    fn enqueue_reports(
        &mut self,
        date: &str,
        chats: &[i64],
        late: bool,
        now: i64,
    ) -> Result<usize, AlertError> {
        let tx = self.conn.transaction().map_err(sql("enqueue report"))?;
        let mut created = 0;
        for chat in chats {
            created += tx
                .execute(
                    "INSERT OR IGNORE INTO reports (date, chat_id, late, created_at, next_attempt_at)
                     VALUES (?1, ?2, ?3, ?4, ?4)",
                    params![date, chat, late, now],
                )
                .map_err(sql("enqueue report"))?;
        }
        tx.commit().map_err(sql("enqueue report"))?;
        Ok(created)
    }

    fn last_report_date(&self) -> Result<Option<String>, AlertError> {
        self.conn
            .query_row("SELECT MAX(date) FROM reports", [], |r| r.get(0))
            .map_err(sql("last report date"))
    }

    fn due_reports(&self, now: i64) -> Result<Vec<ReportItem>, AlertError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, date, chat_id, late, created_at, attempts FROM reports
                 WHERE sent_at IS NULL AND next_attempt_at <= ?1 ORDER BY id",
            )
            .map_err(sql("due reports"))?;
        let rows = stmt
            .query_map([now], |r| {
                Ok(ReportItem {
                    id: r.get(0)?,
                    date: r.get(1)?,
                    chat_id: r.get(2)?,
                    late: r.get(3)?,
                    created_at: r.get(4)?,
                    attempts: r.get::<_, i64>(5)?.clamp(0, i64::from(u32::MAX)) as u32,
                })
            })
            .map_err(sql("due reports"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sql("due report row"))
    }

    fn claim_report(&mut self, id: i64, holder: &str, ttl_secs: u64) -> Result<bool, AlertError> {
        let changed = self
            .conn
            .execute(
                &format!(
                    "UPDATE reports SET claimed_by = ?2, claim_expires_at = {DB_NOW} + ?3
                     WHERE id = ?1 AND sent_at IS NULL
                       AND (claimed_by IS NULL OR claimed_by = ?2 OR claim_expires_at <= {DB_NOW})"
                ),
                params![id, holder, ttl_i64(ttl_secs)],
            )
            .map_err(sql("claim report"))?;
        if changed == 0 {
            let exists = self
                .conn
                .query_row("SELECT 1 FROM reports WHERE id = ?1", [id], |_| Ok(()))
                .optional()
                .map_err(sql("report lookup"))?;
            if exists.is_none() {
                return Err(AlertError::UnknownReport(id));
            }
        }
        Ok(changed == 1)
    }

    fn finish_report(
        &mut self,
        id: i64,
        now: i64,
        message_id: Option<i64>,
        note: Option<&str>,
    ) -> Result<(), AlertError> {
        self.conn
            .execute(
                "UPDATE reports SET sent_at = ?2, telegram_message_id = ?3,
                 last_error = COALESCE(?4, last_error)
                 WHERE id = ?1 AND sent_at IS NULL",
                params![id, now, message_id, note.map(redact)],
            )
            .map_err(sql("finish report"))?;
        Ok(())
    }

    fn retry_report(&mut self, id: i64, error: &str, retry_at: i64) -> Result<(), AlertError> {
        self.conn
            .execute(
                "UPDATE reports SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3,
                        claimed_by = NULL, claim_expires_at = NULL
                 WHERE id = ?1 AND sent_at IS NULL",
                params![id, redact(error), retry_at],
            )
            .map_err(sql("retry report"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_error_loses_the_bot_token() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = SqliteState::open(&dir.path().join("state.sqlite")).expect("opens");
        store
            .enqueue_reports("2026-12-05", &[7], false, 100)
            .unwrap();
        let id = store.due_reports(100).unwrap()[0].id;
        store
            .retry_report(id, "bot123:abcdefghijklmn down", 500)
            .unwrap();
        let error: String = store
            .conn
            .query_row("SELECT last_error FROM reports WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(!error.contains("abcdefghijklmn"), "{error}");
    }
}
