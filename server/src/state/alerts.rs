//! Alerts as stored: one row per alert (opened, repeated, resolved, labelled)
//! with its history of events, and the per-series lifecycle state behind
//! them ([`AlertLog`]).

use serde::{Deserialize, Serialize};

use crate::alerts::{AlertConfig, AlertId};
use crate::evaluation::Evaluation;
use crate::metrics::model::SliceKey;

use super::OutboxItem;

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("alert state {path}: {reason}")]
    Open { path: String, reason: String },
    /// The database's error is part of the message, not a `source`, so
    /// that a printed chain (`{:#}`) says it once.
    #[error("alert state: {context}: {error}")]
    Sql {
        context: &'static str,
        error: super::DatabaseError,
    },
    #[error("alert state: bad stored {what}: {reason}")]
    Corrupt { what: &'static str, reason: String },
    #[error("no alert with id {0}")]
    UnknownAlert(AlertId),
    #[error("no outbox item with id {0}")]
    UnknownOutboxItem(i64),
    #[error("no morning report with id {0}")]
    UnknownReport(i64),
    #[error("no silence with id {0}")]
    UnknownSilence(i64),
}

/// The pseudo-metric of "the source cannot be read" alerts.
pub const SOURCE_METRIC: &str = "(source)";

/// The pseudo-metric of "data stale" alerts, one per event table (the
/// table is the alert's slice, `table=<name>`).
pub const STALE_METRIC: &str = "(stale)";

/// The slice dimension naming a "data stale" alert's table.
pub const STALE_DIMENSION: &str = "table";

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
    pub(crate) fn parse(text: &str) -> Option<Self> {
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
    /// Withdrawn (its data arrived late and put it in band): what its
    /// message says instead of its state.
    pub withdrawn: Option<String>,
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

/// Which alerts [`AlertLog::history`] returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    pub metric: Option<String>,
    pub status: Option<AlertStatus>,
    /// Alerts started at or after this time.
    pub from: Option<i64>,
    /// Alerts started before this time.
    pub to: Option<i64>,
}

/// The alerts, their history and each series' lifecycle state.
pub trait AlertLog {
    /// Runs the lifecycle for each evaluation (in the given order) inside one
    /// transaction: persists series state, alerts and history, and enqueues a
    /// notification for every step that is not muted. Returns the enqueued
    /// items. Evaluations of buckets already evaluated are no-ops.
    fn apply(
        &mut self,
        evaluations: &[Evaluation],
        now: i64,
        config: &AlertConfig,
    ) -> Result<Vec<OutboxItem>, AlertError>;

    /// Labels an alert (a button press) and records who and when.
    fn label(
        &mut self,
        alert_id: AlertId,
        label: Label,
        actor: &str,
        now: i64,
    ) -> Result<(), AlertError>;

    /// Records any other button press (acknowledge, mute) in the alert's history.
    fn record_button(
        &mut self,
        alert_id: AlertId,
        action: &str,
        actor: &str,
        now: i64,
    ) -> Result<(), AlertError>;

    /// One alert.
    fn alert(&self, alert_id: AlertId) -> Result<Option<AlertRecord>, AlertError>;

    /// Alerts matching `filter`, newest first, at most `limit`.
    fn history(&self, filter: &HistoryFilter, limit: usize)
        -> Result<Vec<AlertRecord>, AlertError>;

    /// History entries, of one alert or of all, in the order they were recorded.
    fn events(&self, alert_id: Option<AlertId>) -> Result<Vec<AlertEvent>, AlertError>;

    /// Alerts by state: (firing, resolved).
    fn alert_counts(&self) -> Result<(u64, u64), AlertError>;

    /// Every series with an open alert and its first anomalous bucket.
    fn open_since(&self) -> Result<crate::evaluation::OpenSince, AlertError>;
}
