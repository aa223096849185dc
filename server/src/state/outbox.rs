//! The notification outbox: every state change enqueues its notification in
//! the same transaction; the sender drains [`Outbox::due`] and reports back
//! with [`Outbox::mark_sent`] / [`Outbox::mark_failed`]; unsent items stay
//! pending across restarts. A sent item remembers its Telegram message, so a
//! repeat replies to it and a button press finds the alerts it announced.

use serde::{Deserialize, Serialize};

use crate::alerts::{AlertId, Notify};
use crate::evaluation::AlertContext;
use crate::metrics::model::SliceKey;

use super::{AlertError, AlertRecord};

/// What an outbox item asks the sender to deliver (stored as JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotificationPayload {
    pub alert_id: AlertId,
    pub notify: Notify,
    pub metric: String,
    pub slice: Option<SliceKey>,
    /// The bucket that caused this notification.
    pub bucket: i64,
    /// First anomalous bucket of the alert.
    pub started_at: i64,
    pub value: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub expected: Option<f64>,
    pub deviation: Option<f64>,
    pub detector: String,
    /// Drill-down, comparisons, cause, lateness.
    #[serde(default)]
    pub context: AlertContext,
    /// For alerts about vigil itself (the source is unreadable): why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

/// One pending (or sent) notification.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxItem {
    pub id: i64,
    pub alert_id: AlertId,
    pub payload: NotificationPayload,
    pub created_at: i64,
    pub attempts: u32,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
}

/// How long a sender's claim on what it is sending (an outbox item, a
/// morning report) lasts: longer than a send with Telegram's timeouts, so a
/// live sender never loses its items, and short enough that the items of a
/// sender that died are sent by another one soon after it takes over.
pub const CLAIM_SECONDS: u64 = 120;

/// Retry delay after the `attempts`-th failed attempt (1-based): 10 s, 30 s,
/// 1 min, 2 min, 5 min, then 15 min for every further attempt. Deterministic
/// (no jitter): there is one sender.
pub fn backoff_secs(attempts: u32) -> i64 {
    match attempts {
        0 | 1 => 10,
        2 => 30,
        3 => 60,
        4 => 120,
        5 => 300,
        _ => 900,
    }
}

impl OutboxItem {
    /// When to retry after this item fails now: Telegram's `retry_after`
    /// (flood control) when given, otherwise [`backoff_secs`] of the attempt
    /// count including this failure.
    pub fn retry_at(&self, now: i64, retry_after_secs: Option<i64>) -> i64 {
        match retry_after_secs {
            Some(secs) => now + secs.max(1),
            None => now + backoff_secs(self.attempts.saturating_add(1)),
        }
    }
}

/// Where a sent notification landed (to reply to or edit it later).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentMessage {
    pub chat_id: i64,
    pub message_id: i64,
}

/// Pending and sent notifications.
pub trait Outbox {
    /// Pending notifications that may be attempted at `now`, oldest first.
    /// Delivery is in creation order: the list stops at the first pending item
    /// still backing off, so a later alert never overtakes an earlier one.
    fn due(&self, now: i64) -> Result<Vec<OutboxItem>, AlertError>;

    /// Claims pending item `id` for `holder` for `ttl_secs` (by the
    /// database's clock) before sending it, so two instances sharing the state
    /// never both send it: true only if nobody else holds an unexpired claim
    /// on it (`holder`'s own claim is renewed; the claim of a sender that died
    /// expires). False for an item no longer pending. A failed attempt
    /// ([`Outbox::mark_failed`]) gives the claim up.
    fn claim(&mut self, id: i64, holder: &str, ttl_secs: u64) -> Result<bool, AlertError>;

    /// Gives up `holder`'s claim on pending item `id` without an attempt
    /// (the batch it was in failed on an earlier item), so another sender
    /// may take it at once instead of after the claim expires. Another
    /// holder's claim, or a sent item, is left alone.
    fn release_claim(&mut self, id: i64, holder: &str) -> Result<(), AlertError>;

    /// Records a delivery. Marking an already-sent item again changes nothing.
    fn mark_sent(&mut self, id: i64, now: i64, sent: SentMessage) -> Result<(), AlertError>;

    /// Records a failed attempt; the item becomes due again at `retry_at`
    /// (see [`OutboxItem::retry_at`]). Bot tokens are removed from `error`.
    fn mark_failed(&mut self, id: i64, error: &str, retry_at: i64) -> Result<(), AlertError>;

    /// Records a delivery that produced no Telegram message: the item was
    /// logged to the console (no Telegram configured), or Telegram rejected it
    /// for good (`note` says why) — it must not block the queue forever.
    fn mark_done_without_message(
        &mut self,
        id: i64,
        now: i64,
        note: Option<&str>,
    ) -> Result<(), AlertError>;

    /// Where the alert's first delivered notification landed: the message a
    /// repeat replies to and a resolution edits. `None` if nothing was sent.
    fn message_of(&self, alert_id: AlertId) -> Result<Option<SentMessage>, AlertError>;

    /// The alerts announced by one Telegram message (a group, or just one),
    /// each with the payload it was opened with, in the order they were queued.
    fn message_group(
        &self,
        message: SentMessage,
    ) -> Result<Vec<(NotificationPayload, AlertRecord)>, AlertError>;

    /// Outbox items by delivery state: (pending, delivered, abandoned).
    fn outbox_counts(&self) -> Result<(u64, u64, u64), AlertError>;
}
