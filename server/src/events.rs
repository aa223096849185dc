//! Event rows as the product writes them: one struct per event table, with the
//! same column names and meanings as the ClickHouse tables `feed_actions` and
//! `message_actions`. Time is unix seconds, UTC.

use serde::{Deserialize, Serialize};

/// What a user did with a post.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedActionKind {
    View,
    Like,
}

impl FeedActionKind {
    /// The value stored in the `action` column.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedActionKind::View => "view",
            FeedActionKind::Like => "like",
        }
    }
}

/// One row of `feed_actions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedAction {
    pub user_id: u32,
    pub post_id: u32,
    pub action: FeedActionKind,
    /// Unix seconds, UTC.
    pub time: i64,
    pub gender: u8,
    pub age: u8,
    pub country: String,
    pub city: String,
    pub os: String,
    pub source: String,
    pub exp_group: u8,
}

/// One row of `message_actions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAction {
    pub user_id: u32,
    pub receiver_id: u32,
    /// Unix seconds, UTC.
    pub time: i64,
    pub source: String,
    pub exp_group: u8,
    pub gender: u8,
    pub age: u8,
    pub country: String,
    pub city: String,
    pub os: String,
}

/// Events written together (one transaction in SQLite, one insert per table in ClickHouse).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventBatch {
    pub feed: Vec<FeedAction>,
    pub messages: Vec<MessageAction>,
}

impl EventBatch {
    pub fn len(&self) -> usize {
        self.feed.len() + self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.feed.is_empty() && self.messages.is_empty()
    }
}

/// The kinds of labelled incidents the simulator injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// The metric falls to (almost) zero.
    Outage,
    /// The metric drops by a fraction in one slice.
    PartialDrop,
    /// The metric jumps up (bot traffic).
    Spike,
    /// The metric drifts down over hours.
    SlowDecline,
    /// An A/A experiment: its groups must not diverge (an alert is a false alarm).
    ExperimentAa,
    /// An experiment whose treatment group has a known effect from `start`.
    ExperimentEffect,
    /// An experiment whose assignment broke at `start` (sample ratio mismatch).
    ExperimentSrm,
}

impl IncidentKind {
    /// The value stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentKind::Outage => "outage",
            IncidentKind::PartialDrop => "partial_drop",
            IncidentKind::Spike => "spike",
            IncidentKind::SlowDecline => "slow_decline",
            IncidentKind::ExperimentAa => "experiment_aa",
            IncidentKind::ExperimentEffect => "experiment_effect",
            IncidentKind::ExperimentSrm => "experiment_srm",
        }
    }

    /// A label of an A/B experiment (scored by experiment checks, not by a
    /// metric's detectors).
    pub fn is_experiment(self) -> bool {
        matches!(
            self,
            IncidentKind::ExperimentAa
                | IncidentKind::ExperimentEffect
                | IncidentKind::ExperimentSrm
        )
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            IncidentKind::Outage,
            IncidentKind::PartialDrop,
            IncidentKind::Spike,
            IncidentKind::SlowDecline,
            IncidentKind::ExperimentAa,
            IncidentKind::ExperimentEffect,
            IncidentKind::ExperimentSrm,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

/// A labelled incident: ground truth for "should vigil have alerted here?".
/// Stored in the `incidents` table; `metric` is a catalogue metric name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub id: u32,
    /// Unix seconds, UTC, inclusive.
    pub start: i64,
    /// Unix seconds, UTC, exclusive.
    pub end: i64,
    pub kind: IncidentKind,
    pub metric: String,
    /// The slice the incident is confined to (`os` = `Android`), if any.
    pub slice_dimension: Option<String>,
    pub slice_value: Option<String>,
    pub description: String,
}
