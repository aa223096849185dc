//! `[[experiments]]`: A/B experiments whose groups vigil compares at every
//! check (docs/experiments.md).
//!
//! ```toml
//! [[experiments]]
//! name = "feed-ranking-v2"              # unique; letters, digits, '-', '_'
//! metrics = ["feed_ctr", "feed_views"]  # catalogue metrics
//! control = [1]                         # exp_group values pooled into control
//! treatments = [[2]]                    # one list of exp_group values per arm
//! split = [1, 1]                        # optional weights, control first
//! start = "2026-12-01 14:15:00"         # UTC
//! end = "2026-12-15 00:00:00"           # optional
//! min_effect = 0.05                     # optional, relative (5%)
//! alpha = 0.05                          # optional
//! srm_alpha = 0.001                     # optional
//! ```

use detect::experiments::Rules;
use serde::Deserialize;

/// Every experiment alert's metric starts with this.
pub const PREFIX: &str = "experiment:";
/// The last part of a sample ratio alert's metric.
pub const SAMPLE_RATIO: &str = "sample-ratio";

/// One declared experiment, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct ExperimentConfig {
    pub name: String,
    /// Catalogue metrics compared between the arms.
    pub metrics: Vec<String>,
    /// `exp_group` values pooled into control.
    pub control: Vec<u8>,
    /// One list of `exp_group` values per treatment arm.
    pub treatments: Vec<Vec<u8>>,
    /// Expected share weights, control first (one per arm, all positive).
    pub split: Vec<f64>,
    /// Unix seconds (UTC); users and events counted from here.
    pub start: i64,
    /// Unix seconds; none while it runs open-ended.
    pub end: Option<i64>,
    pub rules: Rules,
}

impl ExperimentConfig {
    /// Every arm's groups, control first.
    pub fn arms(&self) -> impl Iterator<Item = &[u8]> {
        std::iter::once(self.control.as_slice()).chain(self.treatments.iter().map(Vec::as_slice))
    }

    /// Every group of the experiment, in arm order.
    pub fn groups(&self) -> Vec<u8> {
        self.arms().flatten().copied().collect()
    }

    /// Whether it runs at `t` (started, not ended).
    pub fn running_at(&self, t: i64) -> bool {
        self.start <= t && self.end.is_none_or(|end| t < end)
    }
}

/// `[[experiments]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExperiment {
    name: String,
    metrics: Vec<String>,
    control: Vec<u8>,
    treatments: Vec<Vec<u8>>,
    split: Option<Vec<f64>>,
    start: String,
    end: Option<String>,
    min_effect: Option<f64>,
    alpha: Option<f64>,
    srm_alpha: Option<f64>,
}

/// Validates every entry; problems are (key path, reason). `metric_names`
/// are every known metric.
pub(super) fn validate(
    raw: Vec<Option<RawExperiment>>,
    metric_names: &[String],
    problems: &mut Vec<(String, String)>,
) -> Vec<ExperimentConfig> {
    let mut experiments: Vec<ExperimentConfig> = Vec::new();
    for (index, raw) in raw.into_iter().enumerate() {
        let Some(raw) = raw else { continue };
        let key = |field: &str| format!("experiments[{index}].{field}");
        let before = problems.len();
        let mut problem = |field: &str, reason: String| problems.push((key(field), reason));
        if raw.name.is_empty()
            || !raw
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            problem(
                "name",
                format!(
                    "{:?} is not a name of letters, digits, '-' and '_' (it is part of alert names and URLs)",
                    raw.name
                ),
            );
        } else if raw.name == super::group_watch::NAME {
            problem(
                "name",
                format!(
                    "{:?} is reserved for the alerts of the undeclared-group watch ([group_watch])",
                    raw.name
                ),
            );
        } else if experiments.iter().any(|e| e.name == raw.name) {
            problem("name", format!("a second experiment named {:?}", raw.name));
        }
        if raw.metrics.is_empty() {
            problem("metrics", "list at least one metric to compare".into());
        }
        for (i, metric) in raw.metrics.iter().enumerate() {
            if !metric_names.iter().any(|m| m == metric) {
                problem(
                    &format!("metrics[{i}]"),
                    format!(
                        "no metric named {metric:?} (known: {})",
                        metric_names.join(", ")
                    ),
                );
            }
        }
        if raw.control.is_empty() {
            problem(
                "control",
                "list the exp_group values of control, e.g. [1]".into(),
            );
        }
        if raw.treatments.is_empty() {
            problem(
                "treatments",
                "list at least one treatment arm, e.g. [[2]]".into(),
            );
        }
        for (i, arm) in raw.treatments.iter().enumerate() {
            if arm.is_empty() {
                problem(
                    &format!("treatments[{i}]"),
                    "an arm needs at least one exp_group".into(),
                );
            }
        }
        let mut seen: Vec<u8> = Vec::new();
        for (arm_key, arm) in std::iter::once(("control".to_string(), &raw.control)).chain(
            (raw.treatments.iter().enumerate()).map(|(i, arm)| (format!("treatments[{i}]"), arm)),
        ) {
            for group in arm {
                if seen.contains(group) {
                    problem(
                        &arm_key,
                        format!("exp_group {group} is in two arms (or twice)"),
                    );
                }
                seen.push(*group);
            }
        }
        let arms = 1 + raw.treatments.len();
        let split = raw.split.unwrap_or_else(|| vec![1.0; arms]);
        if split.len() != arms {
            problem(
                "split",
                format!(
                    "{} weights for {arms} arms: give one per arm, control first",
                    split.len()
                ),
            );
        }
        if split.iter().any(|w| !(w.is_finite() && *w > 0.0)) {
            problem("split", "every weight must be a number > 0".into());
        }
        let time = |text: &str| crate::times::parse_time(text, 0).ok().filter(|t| *t > 0);
        let start = time(&raw.start);
        if start.is_none() {
            problem(
                "start",
                format!(
                    "{:?} is not a time like \"2026-12-01 14:15:00\" (UTC) or RFC 3339",
                    raw.start
                ),
            );
        }
        let end = raw.end.as_deref().map(time);
        match (start, end) {
            (_, Some(None)) => problem(
                "end",
                "not a time like \"2026-12-15 00:00:00\" (UTC) or RFC 3339".into(),
            ),
            (Some(start), Some(Some(end))) if end <= start => {
                problem("end", "must be after `start`".into())
            }
            _ => {}
        }
        let defaults = Rules::default();
        let rules = Rules {
            alpha: raw.alpha.unwrap_or(defaults.alpha),
            min_effect: raw.min_effect.unwrap_or(defaults.min_effect),
            srm_alpha: raw.srm_alpha.unwrap_or(defaults.srm_alpha),
        };
        for (field, value) in [("alpha", rules.alpha), ("srm_alpha", rules.srm_alpha)] {
            if !(value > 0.0 && value < 1.0) {
                problem(
                    field,
                    format!("{value} is not a probability strictly between 0 and 1"),
                );
            }
        }
        if !(rules.min_effect >= 0.0 && rules.min_effect.is_finite()) {
            problem(
                "min_effect",
                format!(
                    "{} is not a relative effect >= 0 (0.05 is 5%)",
                    rules.min_effect
                ),
            );
        }
        if problems.len() > before {
            continue;
        }
        experiments.push(ExperimentConfig {
            name: raw.name,
            metrics: raw.metrics,
            control: raw.control,
            treatments: raw.treatments,
            split,
            start: start.unwrap_or_default(),
            end: end.flatten(),
            rules,
        });
    }
    experiments
}

/// Whether `metric` names an experiment alert's pseudo-metric,
/// `experiment:<name>:<metric>` or `experiment:<name>:sample-ratio`, whose
/// metric `known` knows: what a `[[silences]]` entry may name. The name is
/// checked for its form only (the simulator's experiments are not declared).
pub fn is_experiment_alert(metric: &str, known: impl Fn(&str) -> bool) -> bool {
    let Some(rest) = metric.strip_prefix(PREFIX) else {
        return false;
    };
    let Some((name, compared)) = rest.split_once(':') else {
        return false;
    };
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    name_ok && (compared == SAMPLE_RATIO || known(compared))
}

#[cfg(test)]
#[path = "experiments_tests.rs"]
mod tests;
