//! The morning report's deliveries: one row per (local date, chat), created
//! when the report falls due and delivered by the sender like the outbox.
//! The pair is unique, so creating it again (a restart at the due time, a
//! second `vigil report`) changes nothing: a report goes out once, and an
//! undelivered one stays pending across restarts.

use super::AlertError;

/// One report to deliver (or delivered).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportItem {
    pub id: i64,
    /// The local day the report is about, `YYYY-MM-DD`.
    pub date: String,
    /// Where it goes; [`LOG_CHAT`] when there is no Telegram.
    pub chat_id: i64,
    /// Created after its due time had passed (vigil was down): the message says so.
    pub late: bool,
    pub created_at: i64,
    pub attempts: u32,
}

/// The "chat" of a report that is written to the log (no Telegram configured).
pub const LOG_CHAT: i64 = 0;

/// Pending and delivered morning reports.
pub trait Reports {
    /// Creates the report of `date` for each of `chats` in one transaction;
    /// a (date, chat) that exists already is kept as it is. Returns how
    /// many were created.
    fn enqueue_reports(
        &mut self,
        date: &str,
        chats: &[i64],
        late: bool,
        now: i64,
    ) -> Result<usize, AlertError>;

    /// The newest date any report was created for, `None` before the first.
    fn last_report_date(&self) -> Result<Option<String>, AlertError>;

    /// Undelivered reports whose next attempt is at or before `now`, oldest first.
    fn due_reports(&self, now: i64) -> Result<Vec<ReportItem>, AlertError>;

    /// Claims undelivered report `id` for `holder` for `ttl_secs` (by the
    /// database's clock) before building and sending it, as
    /// [`crate::state::Outbox::claim`] does for alerts, so two instances
    /// sharing the state never both send it: true only if nobody else holds
    /// an unexpired claim on it (`holder`'s own is renewed; a dead sender's
    /// expires). False for a report already delivered. A retry
    /// ([`Reports::retry_report`]) gives the claim up.
    fn claim_report(&mut self, id: i64, holder: &str, ttl_secs: u64) -> Result<bool, AlertError>;

    /// Records a finished delivery: the Telegram message it became, or none
    /// (logged, or refused for good with `note` saying why). Finishing a
    /// finished report again changes nothing.
    fn finish_report(
        &mut self,
        id: i64,
        now: i64,
        message_id: Option<i64>,
        note: Option<&str>,
    ) -> Result<(), AlertError>;

    /// Records a failed attempt (bot tokens removed from `error`) and gives
    /// up its claim; the report is due again at `retry_at`.
    fn retry_report(&mut self, id: i64, error: &str, retry_at: i64) -> Result<(), AlertError>;
}
