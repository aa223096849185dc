//! Detector settings applied from the web lab ([`DetectorSettings`]): for one
//! metric, a detector (or several combined) that overrides the config file's
//! `[detectors]` from the next check on, until reverted.
//!
//! Kept as a history: every change is a row with the time, who made it, and
//! the old and new values, so "who changed feed_views's band last Tuesday"
//! has an answer. The newest change of a metric is in effect; a change
//! without a detector reverts to the config.

use detect::Ensemble;
use serde::{Deserialize, Serialize};

use crate::detector_choice::DetectorChoice;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The database's error is part of the message, not a `source`, so
    /// that a printed chain (`{:#}`) says it once.
    #[error("detector settings: {context}: {error}")]
    Sql {
        context: &'static str,
        error: super::DatabaseError,
    },
    #[error("detector settings: stored value for {metric} is unreadable: {reason}")]
    Corrupt { metric: String, reason: String },
    /// The state could not be reached (its task failed).
    #[error("detector settings: {0}")]
    Unavailable(String),
}

/// One change of a metric's detector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingChange {
    pub id: i64,
    pub metric: String,
    /// The detector applied; `None` went back to the config file's.
    pub detector: Option<Ensemble>,
    /// What was in effect before.
    pub previous: Ensemble,
    pub applied_by: String,
    pub applied_at: i64,
}

/// The history of applied detector settings.
pub trait DetectorSettings {
    /// Records a change: `detector` (validated by the caller) takes effect for
    /// `metric` at the next check, or `None` returns it to the config's
    /// choice. `configured` is the config file's choice, to record what was
    /// in effect before.
    fn apply_detector(
        &mut self,
        metric: &str,
        detector: Option<&Ensemble>,
        configured: &DetectorChoice,
        applied_by: &str,
        now: i64,
    ) -> Result<SettingChange, SettingsError>;

    /// Every change of `metric` (every metric when `None`), newest first.
    fn detector_history(&self, metric: Option<&str>) -> Result<Vec<SettingChange>, SettingsError>;

    /// The config's choice with the applied settings in effect on top.
    fn effective_detectors(
        &self,
        configured: &DetectorChoice,
    ) -> Result<DetectorChoice, SettingsError> {
        let mut choice = configured.clone();
        if configured.fixed {
            return Ok(choice);
        }
        let mut seen = std::collections::BTreeSet::new();
        for change in self.detector_history(None)? {
            // Newest first: the first row of a metric is the one in effect.
            if !seen.insert(change.metric.clone()) {
                continue;
            }
            match change.detector {
                Some(detector) => {
                    choice.per_metric.insert(change.metric, detector);
                }
                None => match configured.per_metric.get(&change.metric) {
                    Some(configured) => {
                        choice.per_metric.insert(change.metric, configured.clone());
                    }
                    None => {
                        choice.per_metric.remove(&change.metric);
                    }
                },
            }
        }
        Ok(choice)
    }
}
