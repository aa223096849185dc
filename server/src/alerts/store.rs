//! Durable alert state: vigil's own SQLite file (`<data dir>/vigil-state.sqlite`,
//! see [`state_path`]), separate from the event store so it exists with a
//! ClickHouse source too.
//!
//! Every state change and the outbox row it causes commit in one transaction:
//! a crash loses neither, and re-evaluating a bucket after a restart is a no-op
//! (the series' `last_bucket` is committed with it), so nothing is repeated
//! or skipped. The sender drains [`AlertStore::due`] and reports back with
//! [`AlertStore::mark_sent`] / [`AlertStore::mark_failed`]; unsent items stay
//! pending across restarts.
//!
//! The API is synchronous (rusqlite blocks). Async callers run it on tokio's
//! blocking pool: keep the store in an `Arc<Mutex<AlertStore>>` and call it
//! inside `tokio::task::spawn_blocking`, as `sources::sqlite` does.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use serde::{Deserialize, Serialize};

use super::lifecycle::{
    self, AlertConfig, AlertId, Notify, OpenAlert, SeriesState, Silence, SilenceScope, Step,
};
use crate::check::{AlertContext, Evaluation};
use crate::metrics::model::SliceKey;

/// File name of the state database inside the data directory.
pub const STATE_FILE: &str = "vigil-state.sqlite";

/// `<data dir>/vigil-state.sqlite`.
pub fn state_path(data_dir: &Path) -> PathBuf {
    data_dir.join(STATE_FILE)
}

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("alert state {path}: {reason}")]
    Open { path: String, reason: String },
    /// The database's error is part of the message, not a `source`, so
    /// that a printed chain (`{:#}`) says it once.
    #[error("alert state: {context}: {error}")]
    Sql {
        context: &'static str,
        error: rusqlite::Error,
    },
    #[error("alert state: bad stored {what}: {reason}")]
    Corrupt { what: &'static str, reason: String },
    #[error("no alert with id {0}")]
    UnknownAlert(AlertId),
    #[error("no outbox item with id {0}")]
    UnknownOutboxItem(i64),
    #[error("no silence with id {0}")]
    UnknownSilence(i64),
}

fn sql(context: &'static str) -> impl FnOnce(rusqlite::Error) -> AlertError {
    move |error| AlertError::Sql { context, error }
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS alert_state (
    metric           TEXT    NOT NULL,
    sliced           INTEGER NOT NULL,
    slice_dimension  TEXT    NOT NULL,
    slice_value      TEXT    NOT NULL,
    last_bucket      INTEGER NOT NULL,
    open_alert_id    INTEGER,
    started_at       INTEGER,
    last_notified_at INTEGER,
    announced        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (metric, sliced, slice_dimension, slice_value)
);
CREATE TABLE IF NOT EXISTS alerts (
    id              INTEGER PRIMARY KEY,
    metric          TEXT    NOT NULL,
    slice_dimension TEXT,
    slice_value     TEXT,
    started_at      INTEGER NOT NULL,
    resolved_at     INTEGER,
    value           REAL,
    lower           REAL,
    upper           REAL,
    expected        REAL,
    deviation       REAL,
    detector        TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    muted           INTEGER NOT NULL,
    label           TEXT,
    label_by        TEXT,
    label_at        INTEGER
);
CREATE INDEX IF NOT EXISTS alerts_started ON alerts (started_at);
CREATE TABLE IF NOT EXISTS alert_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id INTEGER NOT NULL,
    at       INTEGER NOT NULL,
    bucket   INTEGER,
    kind     TEXT    NOT NULL,
    details  TEXT    NOT NULL,
    actor    TEXT,
    muted    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS alert_events_alert ON alert_events (alert_id);
CREATE TABLE IF NOT EXISTS silences (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    scope           TEXT    NOT NULL,
    metric          TEXT,
    slice_dimension TEXT,
    slice_value     TEXT,
    until           INTEGER NOT NULL,
    created_by      TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    ended_at        INTEGER
);
CREATE TABLE IF NOT EXISTS outbox (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id            INTEGER NOT NULL,
    kind                TEXT    NOT NULL,
    payload             TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     INTEGER NOT NULL,
    last_error          TEXT,
    sent_at             INTEGER,
    telegram_message_id INTEGER,
    chat_id             INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (sent_at, id);
CREATE TABLE IF NOT EXISTS checks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket      INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    ok          INTEGER NOT NULL,
    late        INTEGER NOT NULL,
    evaluated   INTEGER NOT NULL,
    anomalies   INTEGER NOT NULL,
    error       TEXT
);
CREATE INDEX IF NOT EXISTS checks_bucket ON checks (ok, bucket);
"#;

/// An outbox row Telegram refused for good (done, no message, a reason):
/// see [`AlertStore::mark_done_without_message`]. A row that failed, then
/// went through, keeps its last error but has a message: it is sent.
macro_rules! abandoned {
    () => {
        "(sent_at IS NOT NULL AND telegram_message_id IS NULL AND last_error IS NOT NULL)"
    };
}
const ABANDONED: &str = abandoned!();

/// The pseudo-metric of "the source cannot be read" alerts.
pub const SOURCE_METRIC: &str = "(source)";

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

/// A label set from a button.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    FalseAlarm,
    Expected,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Label::FalseAlarm => "false_alarm",
            Label::Expected => "expected",
        }
    }
    fn parse(text: &str) -> Option<Self> {
        match text {
            "false_alarm" => Some(Label::FalseAlarm),
            "expected" => Some(Label::Expected),
            _ => None,
        }
    }
}

/// Whether an alert is still firing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }

    /// `firing` or `resolved` (what [`AlertStatus::as_str`] writes); anything
    /// else is an error that says what is expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "firing" => Ok(AlertStatus::Firing),
            "resolved" => Ok(AlertStatus::Resolved),
            other => Err(format!("state {other:?}: expected firing or resolved")),
        }
    }
}

/// One alert as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRecord {
    pub id: AlertId,
    pub metric: String,
    pub slice: Option<SliceKey>,
    pub started_at: i64,
    pub resolved_at: Option<i64>,
    pub value: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub expected: Option<f64>,
    pub deviation: Option<f64>,
    pub detector: String,
    pub status: AlertStatus,
    /// Whether its last notification was muted.
    pub muted: bool,
    pub label: Option<Label>,
    pub label_by: Option<String>,
    /// Its notifications: `pending` (in the outbox), `sent` (to Telegram),
    /// `failed` (refused for good), `logged` (no Telegram), or `none` (all muted).
    pub delivery: String,
}

/// One history entry of an alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertEvent {
    pub alert_id: AlertId,
    /// Wall-clock time it was recorded.
    pub at: i64,
    /// The bucket that caused it (lifecycle events only).
    pub bucket: Option<i64>,
    /// `opened`, `repeat`, `resolved`, `label` or `button`.
    pub kind: String,
    pub details: String,
    pub actor: Option<String>,
    pub muted: bool,
}

/// Which alerts [`AlertStore::history`] returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    pub metric: Option<String>,
    pub status: Option<AlertStatus>,
    /// Alerts started at or after this time.
    pub from: Option<i64>,
    /// Alerts started before this time.
    pub to: Option<i64>,
}

/// The alert state database.
pub struct AlertStore {
    path: PathBuf,
    conn: Connection,
}

impl std::fmt::Debug for AlertStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertStore")
            .field("path", &self.path)
            .finish()
    }
}

fn slice_parts(slice: Option<&SliceKey>) -> (bool, &str, &str) {
    match slice {
        Some(s) => (true, s.dimension.as_str(), s.value.as_str()),
        None => (false, "", ""),
    }
}

fn slice_from(dimension: Option<String>, value: Option<String>) -> Option<SliceKey> {
    match (dimension, value) {
        (Some(dimension), Some(value)) => Some(SliceKey { dimension, value }),
        _ => None,
    }
}

/// Removes a Telegram bot token (`/bot<id>:<secret>/`) from an error text
/// before it is stored: reqwest errors carry the request URL.
fn redact(error: &str) -> String {
    let mut out = String::with_capacity(error.len());
    let mut rest = error;
    while let Some(at) = rest.find("bot") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == ':' || c == '_' || c == '-'))
            .unwrap_or(tail.len());
        let candidate = &tail[..end];
        let looks_like_token = candidate.split_once(':').is_some_and(|(id, secret)| {
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && secret.len() >= 10
        });
        if looks_like_token {
            out.push_str("<redacted>");
        } else {
            out.push_str(candidate);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

impl AlertStore {
    /// Opens (creating the file, its directory and the schema if absent).
    pub fn open(path: &Path) -> Result<Self, AlertError> {
        // A committed state change and its outbox row survive a power loss.
        let conn = crate::state_file::open(path, SCHEMA).map_err(|reason| AlertError::Open {
            path: path.display().to_string(),
            reason,
        })?;
        super::latest::create_schema(&conn).map_err(|e| AlertError::Open {
            path: path.display().to_string(),
            reason: format!("creating schema: {e}"),
        })?;
        tracing::debug!(path = %path.display(), "alert state opened");
        Ok(Self {
            path: path.to_path_buf(),
            conn,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// For the store's sibling modules (e.g. [`super::latest`]).
    pub(super) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(super) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Runs the lifecycle for each evaluation (in the given order) inside one
    /// transaction: persists series state, alerts and history, and enqueues a
    /// notification for every step that is not muted. Returns the enqueued
    /// items. Evaluations of buckets already evaluated are no-ops.
    pub fn apply(
        &mut self,
        evaluations: &[Evaluation],
        now: i64,
        config: &AlertConfig,
    ) -> Result<Vec<OutboxItem>, AlertError> {
        let tx = self.conn.transaction().map_err(sql("begin apply"))?;
        let silences = query_silences(&tx, Some(now))?;
        let mut next_id = next_alert_id(&tx)?;
        let mut enqueued = Vec::new();
        for evaluation in evaluations {
            let mut state = load_state(&tx, evaluation)?;
            let before = state.clone();
            let step = lifecycle::step(&mut state, evaluation, now, config, &silences, || {
                next_id += 1;
                next_id - 1
            });
            if state == before {
                continue;
            }
            if let Some(step) = &step {
                if let Some(item) = record_step(&tx, evaluation, step, now)? {
                    enqueued.push(item);
                }
            }
            save_state(&tx, evaluation, &state)?;
        }
        tx.commit().map_err(sql("commit apply"))?;
        for item in &enqueued {
            tracing::info!(
                alert_id = item.alert_id,
                kind = item.payload.notify.kind(),
                metric = %item.payload.metric,
                "alert notification enqueued"
            );
        }
        Ok(enqueued)
    }

    /// Pending notifications that may be attempted at `now`, oldest first.
    /// Delivery is in creation order: the list stops at the first pending item
    /// still backing off, so a later alert never overtakes an earlier one.
    pub fn due(&self, now: i64) -> Result<Vec<OutboxItem>, AlertError> {
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
        let mut items = Vec::new();
        for row in rows {
            let (id, alert_id, payload, created_at, attempts, next_attempt_at, last_error) =
                row.map_err(sql("due row"))?;
            if next_attempt_at > now {
                break;
            }
            let payload = serde_json::from_str(&payload).map_err(|e| AlertError::Corrupt {
                what: "outbox payload",
                reason: e.to_string(),
            })?;
            items.push(OutboxItem {
                id,
                alert_id: alert_id as AlertId,
                payload,
                created_at,
                attempts: attempts.clamp(0, u32::MAX as i64) as u32,
                next_attempt_at,
                last_error,
            });
        }
        Ok(items)
    }

    /// Records a delivery. Marking an already-sent item again changes nothing.
    pub fn mark_sent(&mut self, id: i64, now: i64, sent: SentMessage) -> Result<(), AlertError> {
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

    /// Records a failed attempt; the item becomes due again at `retry_at`
    /// (see [`OutboxItem::retry_at`]). Bot tokens are removed from `error`.
    pub fn mark_failed(&mut self, id: i64, error: &str, retry_at: i64) -> Result<(), AlertError> {
        let error = redact(error);
        let changed = self
            .conn
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3
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

    /// Where the alert's first delivered notification landed: the message a
    /// repeat replies to and a resolution edits. `None` if nothing was sent.
    pub fn message_of(&self, alert_id: AlertId) -> Result<Option<SentMessage>, AlertError> {
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

    /// Mutes `scope` from `now` until `until`. Returns the silence.
    pub fn silence(
        &mut self,
        scope: SilenceScope,
        until: i64,
        actor: &str,
        now: i64,
    ) -> Result<Silence, AlertError> {
        let (kind, metric, slice) = match &scope {
            SilenceScope::All => ("all", None, None),
            SilenceScope::Metric { metric } => ("metric", Some(metric.as_str()), None),
            SilenceScope::Slice { metric, slice } => {
                ("slice", Some(metric.as_str()), slice.as_ref())
            }
        };
        self.conn
            .execute(
                "INSERT INTO silences (scope, metric, slice_dimension, slice_value, until, created_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    kind,
                    metric,
                    slice.map(|s| s.dimension.as_str()),
                    slice.map(|s| s.value.as_str()),
                    until,
                    actor,
                    now
                ],
            )
            .map_err(sql("insert silence"))?;
        let id = self.conn.last_insert_rowid();
        tracing::info!(silence_id = id, ?scope, until, actor, "silence created");
        Ok(Silence {
            id,
            scope,
            until,
            created_by: actor.to_string(),
            created_at: now,
            ended_at: None,
        })
    }

    /// Mutes the series of an alert (its metric and slice) until `until`: what
    /// the "mute" buttons do. Recorded in the alert's history.
    pub fn silence_alert(
        &mut self,
        alert_id: AlertId,
        until: i64,
        actor: &str,
        now: i64,
    ) -> Result<Silence, AlertError> {
        let alert = self
            .alert(alert_id)?
            .ok_or(AlertError::UnknownAlert(alert_id))?;
        let scope = SilenceScope::Slice {
            metric: alert.metric,
            slice: alert.slice,
        };
        let silence = self.silence(scope, until, actor, now)?;
        insert_event(
            &self.conn,
            alert_id,
            now,
            None,
            "button",
            &format!("mute until {until} (silence {})", silence.id),
            Some(actor),
            false,
        )?;
        Ok(silence)
    }

    /// Makes the config's planned silences exist (once each: a silence with
    /// the same scope, start and end by "config" is not added again).
    /// Returns how many were added.
    pub fn sync_configured_silences(
        &mut self,
        silences: &[(SilenceScope, i64, i64)],
        now: i64,
    ) -> Result<usize, AlertError> {
        let existing = query_silences(&self.conn, None)?;
        let mut added = 0;
        for (scope, from, until) in silences {
            let present = existing.iter().any(|s| {
                s.created_by == "config"
                    && &s.scope == scope
                    && s.created_at == *from
                    && s.until == *until
            });
            if !present && *until > now {
                self.silence(scope.clone(), *until, "config", *from)?;
                added += 1;
            }
        }
        Ok(added)
    }

    /// Ends a silence early (idempotent).
    pub fn end_silence(&mut self, id: i64, now: i64) -> Result<(), AlertError> {
        let changed = self
            .conn
            .execute(
                "UPDATE silences SET ended_at = COALESCE(ended_at, ?2) WHERE id = ?1",
                params![id, now],
            )
            .map_err(sql("end silence"))?;
        if changed == 0 {
            return Err(AlertError::UnknownSilence(id));
        }
        Ok(())
    }

    /// Silences in force at `now`.
    pub fn active_silences(&self, now: i64) -> Result<Vec<Silence>, AlertError> {
        query_silences(&self.conn, Some(now))
    }

    /// Labels an alert (a button press) and records who and when.
    pub fn label(
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
        insert_event(
            &tx,
            alert_id,
            now,
            None,
            "label",
            label.as_str(),
            Some(actor),
            false,
        )?;
        tx.commit().map_err(sql("commit label"))?;
        tracing::info!(alert_id, label = label.as_str(), actor, "alert labelled");
        Ok(())
    }

    /// Records any other button press (acknowledge, mute) in the alert's history.
    pub fn record_button(
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
            alert_id,
            now,
            None,
            "button",
            action,
            Some(actor),
            false,
        )
    }

    /// One alert.
    pub fn alert(&self, alert_id: AlertId) -> Result<Option<AlertRecord>, AlertError> {
        self.conn
            .query_row(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1"),
                params![alert_id as i64],
                alert_row,
            )
            .optional()
            .map_err(sql("alert"))
    }

    /// Alerts matching `filter`, newest first, at most `limit`.
    pub fn history(
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
                alert_row,
            )
            .map_err(sql("history"))?;
        rows.collect::<Result<_, _>>().map_err(sql("history row"))
    }

    /// History entries, of one alert or of all, in the order they were recorded.
    pub fn events(&self, alert_id: Option<AlertId>) -> Result<Vec<AlertEvent>, AlertError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT alert_id, at, bucket, kind, details, actor, muted FROM alert_events
                 WHERE ?1 IS NULL OR alert_id = ?1 ORDER BY id",
            )
            .map_err(sql("events"))?;
        let rows = stmt
            .query_map(params![alert_id.map(|id| id as i64)], |r| {
                Ok(AlertEvent {
                    alert_id: r.get::<_, i64>(0)? as AlertId,
                    at: r.get(1)?,
                    bucket: r.get(2)?,
                    kind: r.get(3)?,
                    details: r.get(4)?,
                    actor: r.get(5)?,
                    muted: r.get(6)?,
                })
            })
            .map_err(sql("events"))?;
        rows.collect::<Result<_, _>>().map_err(sql("events row"))
    }
    /// Records a delivery that produced no Telegram message: the item was
    /// logged to the console (no Telegram configured), or Telegram rejected it
    /// for good (`note` says why) — it must not block the queue forever.
    pub fn mark_done_without_message(
        &mut self,
        id: i64,
        now: i64,
        note: Option<&str>,
    ) -> Result<(), AlertError> {
        let note = note.map(redact);
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

    /// The alerts announced by one Telegram message (a group, or just one),
    /// each with the payload it was opened with, in the order they were queued.
    pub fn message_group(
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
        let mut group = Vec::new();
        for payload in payloads {
            let payload: NotificationPayload =
                serde_json::from_str(&payload).map_err(|e| AlertError::Corrupt {
                    what: "outbox payload",
                    reason: e.to_string(),
                })?;
            if let Some(record) = self.alert(payload.alert_id)? {
                group.push((payload, record));
            }
        }
        Ok(group)
    }

    /// Outbox items by delivery state: (pending, delivered, abandoned).
    pub fn outbox_counts(&self) -> Result<(u64, u64, u64), AlertError> {
        let [pending, done, abandoned] = self.counts(
            &format!(
                "SELECT COALESCE(SUM(sent_at IS NULL), 0), COALESCE(SUM(sent_at IS NOT NULL), 0),
                        COALESCE(SUM({ABANDONED}), 0) FROM outbox"
            ),
            "outbox counts",
        )?;
        Ok((pending, done - abandoned, abandoned))
    }

    /// Alerts by state: (firing, resolved).
    pub fn alert_counts(&self) -> Result<(u64, u64), AlertError> {
        let [firing, resolved] = self.counts(
            "SELECT COALESCE(SUM(state = 'firing'), 0), COALESCE(SUM(state = 'resolved'), 0) FROM alerts",
            "alert counts",
        )?;
        Ok((firing, resolved))
    }

    /// The `N` non-negative integers of a one-row aggregate query.
    fn counts<const N: usize>(
        &self,
        query: &str,
        context: &'static str,
    ) -> Result<[u64; N], AlertError> {
        self.conn
            .query_row(query, [], |r| {
                let mut out = [0u64; N];
                for (i, slot) in out.iter_mut().enumerate() {
                    *slot = r.get::<_, i64>(i)?.max(0) as u64;
                }
                Ok(out)
            })
            .map_err(sql(context))
    }

    /// Opens the "source unavailable" alert unless it is already open; returns
    /// its notification (none when already open or muted by a silence of all).
    pub fn source_unavailable(
        &mut self,
        reason: &str,
        now: i64,
    ) -> Result<Option<OutboxItem>, AlertError> {
        let reason = redact(reason);
        let tx = self.conn.transaction().map_err(sql("begin source alert"))?;
        if open_source_alert(&tx)?.is_some() {
            return Ok(None);
        }
        let id = next_alert_id(&tx)?;
        let muted = lifecycle::is_muted(&query_silences(&tx, Some(now))?, SOURCE_METRIC, None, now);
        tx.execute(
            "INSERT INTO alerts (id, metric, started_at, detector, state, muted)
             VALUES (?1, ?2, ?3, 'availability', 'firing', ?4)",
            params![id as i64, SOURCE_METRIC, now, muted],
        )
        .map_err(sql("insert source alert"))?;
        let item = record_notice(&tx, id, Notify::Opened, now, now, &reason, muted)?;
        tx.commit().map_err(sql("commit source alert"))?;
        tracing::error!(alert_id = id, %reason, "source unavailable: alert opened");
        Ok(item)
    }

    /// Resolves the "source unavailable" alert if open; returns its notification.
    pub fn source_available(&mut self, now: i64) -> Result<Option<OutboxItem>, AlertError> {
        let tx = self.conn.transaction().map_err(sql("begin source alert"))?;
        let Some((id, started_at, muted)) = open_source_alert(&tx)? else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE alerts SET state = 'resolved', resolved_at = ?2 WHERE id = ?1",
            params![id as i64, now],
        )
        .map_err(sql("resolve source alert"))?;
        let lasted_secs = now - started_at;
        let item = record_notice(
            &tx,
            id,
            Notify::Resolved { lasted_secs },
            started_at,
            now,
            "the source answers again",
            muted,
        )?;
        tx.commit().map_err(sql("commit source alert"))?;
        tracing::info!(
            alert_id = id,
            lasted_secs,
            "source available again: alert resolved"
        );
        Ok(item)
    }

    /// Records one check run (what `/readyz`, `/metrics` and the scheduler read).
    pub fn record_check(&mut self, check: &CheckRecord) -> Result<(), AlertError> {
        self.conn
            .execute(
                "INSERT INTO checks (bucket, started_at, duration_ms, ok, late, evaluated, anomalies, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    check.bucket,
                    check.started_at,
                    check.duration_ms,
                    check.ok,
                    check.late,
                    check.evaluated,
                    check.anomalies,
                    check.error.as_deref().map(redact),
                ],
            )
            .map_err(sql("record check"))?;
        Ok(())
    }

    /// The newest bucket a check evaluated successfully.
    pub fn last_checked_bucket(&self) -> Result<Option<i64>, AlertError> {
        self.conn
            .query_row("SELECT MAX(bucket) FROM checks WHERE ok = 1", [], |r| {
                r.get(0)
            })
            .map_err(sql("last checked bucket"))
    }

    /// Every series with an open alert and its first anomalous bucket.
    pub fn open_since(&self) -> Result<crate::check::OpenSince, AlertError> {
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

    /// The most recent check run (ok or not).
    pub fn last_check(&self) -> Result<Option<CheckRecord>, AlertError> {
        self.conn
            .query_row(
                "SELECT bucket, started_at, duration_ms, ok, late, evaluated, anomalies, error
                 FROM checks ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    Ok(CheckRecord {
                        bucket: r.get(0)?,
                        started_at: r.get(1)?,
                        duration_ms: r.get(2)?,
                        ok: r.get(3)?,
                        late: r.get(4)?,
                        evaluated: r.get(5)?,
                        anomalies: r.get(6)?,
                        error: r.get(7)?,
                    })
                },
            )
            .optional()
            .map_err(sql("last check"))
    }

    /// Check runs so far: (ok, failed).
    pub fn check_counts(&self) -> Result<(u64, u64), AlertError> {
        let [ok, failed] = self.counts(
            "SELECT COALESCE(SUM(ok = 1), 0), COALESCE(SUM(ok = 0), 0) FROM checks",
            "check counts",
        )?;
        Ok((ok, failed))
    }
}

/// One check run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckRecord {
    pub bucket: i64,
    /// Wall-clock start (unix seconds).
    pub started_at: i64,
    pub duration_ms: i64,
    pub ok: bool,
    /// Evaluated after its scheduled time (catch-up).
    pub late: bool,
    pub evaluated: i64,
    pub anomalies: i64,
    pub error: Option<String>,
}

/// The id the next new alert gets.
fn next_alert_id(tx: &Transaction<'_>) -> Result<AlertId, AlertError> {
    let id: i64 = tx
        .query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM alerts", [], |r| {
            r.get(0)
        })
        .map_err(sql("next alert id"))?;
    Ok(AlertId::try_from(id).unwrap_or(1))
}

/// The open source alert: (id, started_at, muted).
fn open_source_alert(tx: &Transaction<'_>) -> Result<Option<(AlertId, i64, bool)>, AlertError> {
    tx.query_row(
        "SELECT id, started_at, muted FROM alerts WHERE metric = ?1 AND state = 'firing'
         ORDER BY id DESC LIMIT 1",
        params![SOURCE_METRIC],
        |r| Ok((r.get::<_, i64>(0)? as AlertId, r.get(1)?, r.get(2)?)),
    )
    .optional()
    .map_err(sql("open source alert"))
}

/// History entry and (unless muted) outbox row of a source notice.
fn record_notice(
    tx: &Transaction<'_>,
    alert_id: AlertId,
    notify: Notify,
    started_at: i64,
    now: i64,
    reason: &str,
    muted: bool,
) -> Result<Option<OutboxItem>, AlertError> {
    insert_event(tx, alert_id, now, None, notify.kind(), reason, None, muted)?;
    if muted {
        return Ok(None);
    }
    let payload = NotificationPayload {
        alert_id,
        notify,
        metric: SOURCE_METRIC.to_string(),
        slice: None,
        bucket: now,
        started_at,
        value: None,
        lower: None,
        upper: None,
        expected: None,
        deviation: None,
        detector: "availability".to_string(),
        context: AlertContext::default(),
        notice: Some(reason.to_string()),
    };
    enqueue(tx, payload, now).map(Some)
}

/// Inserts an outbox row for `payload`.
fn enqueue(
    tx: &Transaction<'_>,
    payload: NotificationPayload,
    now: i64,
) -> Result<OutboxItem, AlertError> {
    let json = serde_json::to_string(&payload).map_err(|e| AlertError::Corrupt {
        what: "outbox payload",
        reason: e.to_string(),
    })?;
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

const ALERT_COLUMNS: &str = concat!(
    "id, metric, slice_dimension, slice_value, started_at, resolved_at, \
     value, lower, upper, expected, deviation, detector, state, muted, label, label_by, \
     (SELECT CASE \
        WHEN COUNT(*) = 0 THEN 'none' \
        WHEN SUM(sent_at IS NULL) > 0 THEN 'pending' \
        WHEN SUM(",
    abandoned!(),
    ") > 0 THEN 'failed' \
        WHEN SUM(telegram_message_id IS NOT NULL) > 0 THEN 'sent' \
        ELSE 'logged' END \
      FROM outbox WHERE outbox.alert_id = alerts.id)"
);

fn alert_row(r: &Row<'_>) -> rusqlite::Result<AlertRecord> {
    let state: String = r.get(12)?;
    let label: Option<String> = r.get(14)?;
    Ok(AlertRecord {
        id: r.get::<_, i64>(0)? as AlertId,
        metric: r.get(1)?,
        slice: slice_from(r.get(2)?, r.get(3)?),
        started_at: r.get(4)?,
        resolved_at: r.get(5)?,
        value: r.get(6)?,
        lower: r.get(7)?,
        upper: r.get(8)?,
        expected: r.get(9)?,
        deviation: r.get(10)?,
        detector: r.get(11)?,
        status: if state == "resolved" {
            AlertStatus::Resolved
        } else {
            AlertStatus::Firing
        },
        muted: r.get(13)?,
        label: label.as_deref().and_then(Label::parse),
        label_by: r.get(15)?,
        delivery: r.get(16)?,
    })
}

fn query_silences(conn: &Connection, active_at: Option<i64>) -> Result<Vec<Silence>, AlertError> {
    let mut stmt = conn
        .prepare(
            "SELECT id, scope, metric, slice_dimension, slice_value, until, created_by, created_at, ended_at
             FROM silences
             WHERE ?1 IS NULL OR (created_at <= ?1 AND ?1 < until AND (ended_at IS NULL OR ?1 < ended_at))
             ORDER BY id",
        )
        .map_err(sql("silences"))?;
    let rows = stmt
        .query_map(params![active_at], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, Option<i64>>(8)?,
            ))
        })
        .map_err(sql("silences"))?;
    let mut silences = Vec::new();
    for row in rows {
        let (id, kind, metric, dimension, value, until, created_by, created_at, ended_at) =
            row.map_err(sql("silence row"))?;
        let scope = match (kind.as_str(), metric) {
            ("all", _) => SilenceScope::All,
            ("metric", Some(metric)) => SilenceScope::Metric { metric },
            ("slice", Some(metric)) => SilenceScope::Slice {
                metric,
                slice: slice_from(dimension, value),
            },
            _ => {
                // A row we cannot read must not silence everything: skip it.
                tracing::warn!(silence_id = id, scope = %kind, "unreadable silence ignored");
                continue;
            }
        };
        silences.push(Silence {
            id,
            scope,
            until,
            created_by,
            created_at,
            ended_at,
        });
    }
    Ok(silences)
}

fn load_state(tx: &Transaction<'_>, evaluation: &Evaluation) -> Result<SeriesState, AlertError> {
    let (sliced, dimension, value) = slice_parts(evaluation.slice.as_ref());
    let row = tx
        .query_row(
            "SELECT last_bucket, open_alert_id, started_at, last_notified_at, announced
             FROM alert_state WHERE metric = ?1 AND sliced = ?2 AND slice_dimension = ?3 AND slice_value = ?4",
            params![evaluation.metric, sliced, dimension, value],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, bool>(4)?,
                ))
            },
        )
        .optional()
        .map_err(sql("load series state"))?;
    Ok(match row {
        None => SeriesState::default(),
        Some((last_bucket, id, started_at, last_notified_at, announced)) => SeriesState {
            last_bucket: Some(last_bucket),
            open: id.map(|id| OpenAlert {
                id: id as AlertId,
                started_at: started_at.unwrap_or(last_bucket),
                last_notified_at: last_notified_at.unwrap_or(last_bucket),
                announced,
            }),
        },
    })
}

fn save_state(
    tx: &Transaction<'_>,
    evaluation: &Evaluation,
    state: &SeriesState,
) -> Result<(), AlertError> {
    let (sliced, dimension, value) = slice_parts(evaluation.slice.as_ref());
    let open = state.open.as_ref();
    tx.execute(
        "INSERT INTO alert_state (metric, sliced, slice_dimension, slice_value, last_bucket,
                                  open_alert_id, started_at, last_notified_at, announced)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (metric, sliced, slice_dimension, slice_value) DO UPDATE SET
             last_bucket = excluded.last_bucket, open_alert_id = excluded.open_alert_id,
             started_at = excluded.started_at, last_notified_at = excluded.last_notified_at,
             announced = excluded.announced",
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
        ],
    )
    .map_err(sql("save series state"))?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn insert_event(
    conn: &Connection,
    alert_id: AlertId,
    at: i64,
    bucket: Option<i64>,
    kind: &str,
    details: &str,
    actor: Option<&str>,
    muted: bool,
) -> Result<(), AlertError> {
    conn.execute(
        "INSERT INTO alert_events (alert_id, at, bucket, kind, details, actor, muted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![alert_id as i64, at, bucket, kind, details, actor, muted],
    )
    .map_err(sql("insert alert event"))?;
    Ok(())
}

/// Persists one lifecycle step: the alert row, a history entry and (unless
/// muted) the outbox row, all in the caller's transaction.
fn record_step(
    tx: &Transaction<'_>,
    evaluation: &Evaluation,
    step: &Step,
    now: i64,
) -> Result<Option<OutboxItem>, AlertError> {
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
    }
    let payload = NotificationPayload {
        alert_id: step.alert_id,
        notify: step.notify,
        metric: evaluation.metric.clone(),
        slice: evaluation.slice.clone(),
        bucket: step.bucket,
        started_at: step.started_at,
        value: p.value,
        lower: p.lower,
        upper: p.upper,
        expected: p.expected,
        deviation: p.deviation,
        detector: evaluation.detector.to_string(),
        context: evaluation.context.clone(),
        notice: None,
    };
    let details = serde_json::to_string(&step.notify).unwrap_or_default();
    insert_event(
        tx,
        step.alert_id,
        now,
        Some(step.bucket),
        step.notify.kind(),
        &details,
        None,
        step.muted,
    )?;
    if step.muted {
        tracing::info!(
            alert_id = step.alert_id,
            kind = step.notify.kind(),
            "alert notification muted"
        );
        return Ok(None);
    }
    enqueue(tx, payload, now).map(Some)
}
