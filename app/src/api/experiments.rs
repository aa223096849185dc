//! The experiments (`/experiments`, `/experiment/<name>`): each declared A/B
//! experiment's groups, its running comparison with control and how that
//! comparison moved since the start, as the check judges it
//! (docs/experiments.md).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::backend;

/// One experiment in the list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExperimentSummary {
    pub name: String,
    /// Catalogue metrics compared.
    pub metrics: Vec<String>,
    /// "group 1 vs group 2", "group 0 vs groups 3+4".
    pub arms: String,
    /// Unix seconds.
    pub start: i64,
    pub end: Option<i64>,
    /// Started and not ended at the newest data.
    pub running: bool,
}

/// The experiments the checks compare, those running first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExperimentList {
    pub experiments: Vec<ExperimentSummary>,
    /// `alerts.utc_offset` in minutes: how times are written.
    pub utc_offset_minutes: i32,
}

/// One arm's users since the start against what the split expects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArmUsers {
    /// "group 1", "groups 3+4".
    pub arm: String,
    pub users: u64,
    pub expected: f64,
}

/// One group's running value of a metric (since the start) at each of the
/// page's checkpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupSeries {
    /// "group 2".
    pub group: String,
    /// Whether the group is in the control arm.
    pub control: bool,
    /// One per checkpoint; `None` before the group has users (or views).
    pub values: Vec<Option<f64>>,
}

/// The relative effect at one checkpoint with its confidence sequence.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EffectPoint {
    /// `treatment / control - 1`.
    pub relative: f64,
    pub low: f64,
    pub high: f64,
}

/// A treatment arm against control on one metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArmComparison {
    /// "group 2".
    pub treatment: String,
    /// "group 1".
    pub control: String,
    /// `diverged`, `inconclusive` or `sample ratio mismatch`, at the newest checkpoint.
    pub verdict: String,
    /// The alert's sentence ("CTR in group 2 is 15.6% below group 1 (95% CI
    /// 5.5 to 25.7%) since ..."), or why there is nothing to compare yet.
    pub sentence: String,
    /// The always-valid p-value at the newest checkpoint.
    pub p_value: Option<f64>,
    /// The effect at each checkpoint.
    pub effects: Vec<Option<EffectPoint>>,
}

/// One compared metric of an experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExperimentMetric {
    pub name: String,
    pub title: String,
    /// A ratio (CTR): values are shares, written as percentages.
    pub ratio: bool,
    pub groups: Vec<GroupSeries>,
    /// Empty for a distinct-user metric (the sample ratio test covers it).
    pub comparisons: Vec<ArmComparison>,
}

/// Everything `/experiment/<name>` shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExperimentDetail {
    pub summary: ExperimentSummary,
    pub utc_offset_minutes: i32,
    /// Unix seconds of each checkpoint: the end of the totals judged there.
    pub checkpoints: Vec<i64>,
    /// Users per arm at the newest checkpoint, control first.
    pub users: Vec<ArmUsers>,
    /// The sequential sample ratio test's p-value and the level it alerts at.
    pub srm_p_value: f64,
    pub srm_alpha: f64,
    pub alpha: f64,
    pub min_effect: f64,
    pub metrics: Vec<ExperimentMetric>,
}

/// The experiments the checks compare.
#[server(endpoint = "fetch_experiments")]
pub async fn fetch_experiments() -> Result<ExperimentList, ServerFnError> {
    let backend = backend::from_context()?;
    backend
        .experiments()
        .await
        .map_err(backend::ApiError::into_server_fn_error)
}

/// One experiment's page; 404 for an unknown name.
#[server(endpoint = "fetch_experiment")]
pub async fn fetch_experiment(name: String) -> Result<ExperimentDetail, ServerFnError> {
    let backend = backend::from_context()?;
    backend
        .experiment(name)
        .await
        .map_err(backend::ApiError::into_server_fn_error)
}
