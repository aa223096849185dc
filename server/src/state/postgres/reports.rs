//! [`Reports`] on PostgreSQL: the `reports` table, one row per (date, chat).

use super::{sql, PostgresState, DB_NOW};
use crate::state::leases::ttl_i64;
use crate::state::records::redact_token;
use crate::state::{AlertError, ReportItem, Reports};

impl Reports for PostgresState {
    fn enqueue_reports(
        &mut self,
        date: &str,
        chats: &[i64],
        late: bool,
        now: i64,
    ) -> Result<usize, AlertError> {
        self.with_client(|client| {
            let mut tx = client.transaction().map_err(sql("enqueue report"))?;
            let mut created = 0;
            for chat in chats {
                created += tx
                    .execute(
                        "INSERT INTO reports (date, chat_id, late, created_at, next_attempt_at)
                         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (date, chat_id) DO NOTHING",
                        &[&date, chat, &late, &now],
                    )
                    .map_err(sql("enqueue report"))?;
            }
            tx.commit().map_err(sql("enqueue report"))?;
            Ok(created as usize)
        })
    }

    fn last_report_date(&self) -> Result<Option<String>, AlertError> {
        self.with_client(|client| {
            client
                .query_one("SELECT MAX(date) FROM reports", &[])
                .and_then(|row| row.try_get(0))
                .map_err(sql("last report date"))
        })
    }

    fn due_reports(&self, now: i64) -> Result<Vec<ReportItem>, AlertError> {
        let rows = self.with_client(|client| {
            client
                .query(
                    "SELECT id, date, chat_id, late, created_at, attempts FROM reports
                     WHERE sent_at IS NULL AND next_attempt_at <= $1 ORDER BY id",
                    &[&now],
                )
                .map_err(sql("due reports"))
        })?;
        rows.iter()
            .map(|r| {
                Ok(ReportItem {
                    id: r.try_get(0)?,
                    date: r.try_get(1)?,
                    chat_id: r.try_get(2)?,
                    late: r.try_get(3)?,
                    created_at: r.try_get(4)?,
                    attempts: r.try_get::<_, i64>(5)?.clamp(0, i64::from(u32::MAX)) as u32,
                })
            })
            .collect::<Result<_, postgres::Error>>()
            .map_err(sql("due report row"))
    }

    fn claim_report(&mut self, id: i64, holder: &str, ttl_secs: u64) -> Result<bool, AlertError> {
        let changed = self.execute(
            &format!(
                "UPDATE reports SET claimed_by = $2, claim_expires_at = {DB_NOW} + $3
                 WHERE id = $1 AND sent_at IS NULL
                   AND (claimed_by IS NULL OR claimed_by = $2 OR claim_expires_at <= {DB_NOW})"
            ),
            &[&id, &holder, &ttl_i64(ttl_secs)],
            "claim report",
        )?;
        if changed == 0 {
            let exists = self.with_client(|client| {
                client
                    .query_opt("SELECT 1 FROM reports WHERE id = $1", &[&id])
                    .map_err(sql("report lookup"))
            })?;
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
        let note = note.map(redact_token);
        self.execute(
            "UPDATE reports SET sent_at = $2, telegram_message_id = $3,
                                last_error = COALESCE($4, last_error)
             WHERE id = $1 AND sent_at IS NULL",
            &[&id, &now, &message_id, &note],
            "finish report",
        )?;
        Ok(())
    }

    fn retry_report(&mut self, id: i64, error: &str, retry_at: i64) -> Result<(), AlertError> {
        self.execute(
            "UPDATE reports SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3,
                                claimed_by = NULL, claim_expires_at = NULL
             WHERE id = $1 AND sent_at IS NULL",
            &[&id, &redact_token(error), &retry_at],
            "retry report",
        )?;
        Ok(())
    }
}
