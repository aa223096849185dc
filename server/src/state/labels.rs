//! Labels marked in the web UI ([`Labels`]).
//!
//! A label is never edited in place: the UI removes it and marks a new one,
//! so the store holds what people actually said. Removal is a soft delete,
//! so a mistaken click can be traced.

use serde::{Deserialize, Serialize};

/// What a span of history is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelKind {
    /// Something broke: a detector should alert here.
    Incident,
    /// Nothing broke: an alert here is wrong.
    FalseAlarm,
    /// A real change nobody needs to hear about (a release, a holiday): neutral.
    Expected,
}

impl LabelKind {
    pub const ALL: [LabelKind; 3] = [
        LabelKind::Incident,
        LabelKind::FalseAlarm,
        LabelKind::Expected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LabelKind::Incident => "incident",
            LabelKind::FalseAlarm => "false_alarm",
            LabelKind::Expected => "expected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// A label stored from the web UI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelRecord {
    pub id: i64,
    pub metric: String,
    pub from: i64,
    pub to: i64,
    pub kind: LabelKind,
    pub note: String,
    pub created_by: String,
    pub created_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    /// The database's error is part of the message, not a `source`, so
    /// that a printed chain (`{:#}`) says it once.
    #[error("labels: {context}: {error}")]
    Sql {
        context: &'static str,
        error: super::DatabaseError,
    },
    #[error("no label with id {0}")]
    Unknown(i64),
    #[error("bad stored label: {0}")]
    Corrupt(String),
    /// The state could not be reached (its task failed).
    #[error("labels: {0}")]
    Unavailable(String),
}

/// A label to store, as the UI sends it (validated there: `app::api::validate_label`).
#[derive(Clone, Debug, PartialEq)]
pub struct NewLabel {
    pub metric: String,
    pub from: i64,
    pub to: i64,
    pub kind: LabelKind,
    pub note: String,
}

/// The labels marked in the web UI.
pub trait Labels {
    /// Stores a validated label.
    fn add_label(
        &mut self,
        label: &NewLabel,
        created_by: &str,
        now: i64,
    ) -> Result<LabelRecord, LabelError>;

    /// Removes a label (kept as removed, for the record).
    fn remove_label(&mut self, id: i64, now: i64) -> Result<(), LabelError>;

    /// Labels of `metric` (every metric when `None`) overlapping `[from, to)`,
    /// oldest first.
    fn list_labels(
        &self,
        metric: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<LabelRecord>, LabelError>;

    /// One label by id, if it exists and was not removed.
    fn get_label(&self, id: i64) -> Result<Option<LabelRecord>, LabelError>;
}
