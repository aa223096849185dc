//! The experiments (`/experiments`, `/experiment/<name>`): each declared A/B
//! experiment's groups, its running comparison with control and how that
//! comparison moved since the start, as the check judges it
//! (docs/experiments.md).

use detect::alerting::Notify;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::{backend, refuse, Refusal};

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

/// The longest span an experiment's checks are replayed over: each bucket
/// is one grouped read per metric since the start, so a crafted request for
/// a month of them is refused, not served slowly.
pub const MAX_REPLAY_DAYS: u32 = 7;

/// What the page replays when its URL does not say.
pub const DEFAULT_REPLAY_DAYS: u32 = 1;

/// What to replay: the last `days` of the experiment's checks, with its own
/// rules or, for a what-if, another alpha or minimum effect.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplayRules {
    pub days: u32,
    /// `None`: the experiment's configured level.
    pub alpha: Option<f64>,
    /// `None`: the experiment's configured minimum effect (0.05 = 5%).
    pub min_effect: Option<f64>,
}

impl ReplayRules {
    /// Why these rules cannot be replayed, in words for the page; the
    /// server refuses them with the same words (400).
    pub fn check(&self) -> Result<(), String> {
        if !(1..=MAX_REPLAY_DAYS).contains(&self.days) {
            return Err(format!(
                "days {}: expected 1 to {MAX_REPLAY_DAYS}",
                self.days
            ));
        }
        if let Some(alpha) = self.alpha {
            if !(alpha > 0.0 && alpha < 1.0) {
                return Err(format!(
                    "alpha {alpha}: expected a level strictly between 0 and 1 (0.05 is 5%)"
                ));
            }
        }
        if let Some(min_effect) = self.min_effect {
            if !(min_effect.is_finite() && min_effect >= 0.0) {
                return Err(format!(
                    "minimum effect {min_effect}: expected a finite relative effect >= 0 (0.05 is 5%)"
                ));
            }
        }
        Ok(())
    }
}

/// One notification the replayed checks would have sent (or held back).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplayedNotification {
    /// Start of the checked bucket (Unix seconds).
    pub bucket: i64,
    /// Open, repeat, resolve or reopen, as `detect::alerting::step` decided.
    pub notify: Notify,
    /// Recorded, not sent: a silence covered it (or it resolves an alert
    /// never announced).
    pub muted: bool,
    /// The compared metric's title, or "Sample ratio" for the mismatch test.
    pub subject: String,
    /// The treatment arm ("group 2"); `None` for the sample ratio test.
    pub arm: Option<String>,
    /// The alert's finding in its own words ("Feed CTR in group 2 is 15.1%
    /// below group 1 (95% CI ...) since ...").
    pub message: String,
}

/// An experiment's checks replayed over a past span.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExperimentReplay {
    /// First and last checked bucket (Unix seconds); `None` without data
    /// in the experiment's runtime.
    pub span: Option<(i64, i64)>,
    /// The rules replayed (the experiment's, or the what-if's).
    pub alpha: f64,
    pub min_effect: f64,
    pub utc_offset_minutes: i32,
    /// Oldest first.
    pub notifications: Vec<ReplayedNotification>,
}

/// What the experiment's live checks would have sent over the last `days`
/// of its runtime, under its rules or the what-if's; 400 for rules out of
/// range, 404 for an unknown name.
#[server(endpoint = "replay_experiment_checks")]
pub async fn replay_experiment_checks(
    name: String,
    rules: ReplayRules,
) -> Result<ExperimentReplay, ServerFnError> {
    let backend = backend::from_context()?;
    rules
        .check()
        .map_err(|why| refuse(Refusal::BadRequest, why))?;
    backend
        .replay_experiment(name, rules)
        .await
        .map_err(backend::ApiError::into_server_fn_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_rules_out_of_range_are_refused_in_words() {
        let ok = ReplayRules {
            days: 1,
            alpha: None,
            min_effect: None,
        };
        assert_eq!(ok.check(), Ok(()));
        let what_if = ReplayRules {
            days: MAX_REPLAY_DAYS,
            alpha: Some(0.01),
            min_effect: Some(5.0),
        };
        assert_eq!(what_if.check(), Ok(()));
        for (bad, word) in [
            (ReplayRules { days: 0, ..ok }, "days 0"),
            (ReplayRules { days: 8, ..ok }, "days 8"),
            (
                ReplayRules {
                    alpha: Some(0.0),
                    ..ok
                },
                "alpha",
            ),
            (
                ReplayRules {
                    alpha: Some(1.0),
                    ..ok
                },
                "alpha",
            ),
            (
                ReplayRules {
                    alpha: Some(f64::NAN),
                    ..ok
                },
                "alpha",
            ),
            (
                ReplayRules {
                    min_effect: Some(-0.1),
                    ..ok
                },
                "minimum effect",
            ),
            (
                ReplayRules {
                    min_effect: Some(f64::INFINITY),
                    ..ok
                },
                "minimum effect",
            ),
        ] {
            let why = bad.check().expect_err("refused");
            assert!(why.starts_with(word), "{why}");
        }
    }
}
