//! `[group_watch]`: the watch that no `exp_group` drifts away from the
//! others when no experiment declares them (docs/experiments.md, "Watching
//! groups without a declaration"; the check is `check::group_watch`).
//!
//! ```toml
//! [group_watch]
//! # enabled = true                                     # on by default
//! # metrics = ["feed_views", "feed_ctr", "messages_sent"]
//! # groups = [0, 1, 2, 3, 4]                            # default: every group with users
//! # days = 7                                            # the window: whole days up to the bucket
//! # alpha = 0.001                                       # per comparison and day
//! # min_effect = 0.05
//! # srm_alpha = 0.001
//! ```

use detect::experiments::Rules;
use serde::Deserialize;

/// The watch's alerts are experiment alerts of this (reserved) name:
/// `experiment:group-watch:<metric>` with slice `exp_group=<g>`, and
/// `experiment:group-watch:sample-ratio`.
pub const NAME: &str = "group-watch";

/// The metrics watched unless `metrics` says otherwise: views and messages
/// per user, and CTR (likes are views times CTR; active users are what the
/// sample ratio test counts).
pub const DEFAULT_METRICS: [&str; 3] = ["feed_views", "feed_ctr", "messages_sent"];

/// The most days a window may span (four weeks of per-user sums per check).
const MAX_DAYS: i64 = 28;

/// The watch, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupWatchConfig {
    pub enabled: bool,
    /// Catalogue metrics compared.
    pub metrics: Vec<String>,
    /// The groups watched; empty: every group with users in the window.
    pub groups: Vec<u8>,
    /// Whole days (UTC) in the window, the bucket's own day included.
    pub days: i64,
    pub rules: Rules,
}

impl Default for GroupWatchConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            metrics: DEFAULT_METRICS.iter().map(|m| m.to_string()).collect(),
            groups: Vec::new(),
            days: 7,
            // Stricter than a declared experiment's 0.05: the bound holds per
            // comparison and day (the window's start moves daily), and the
            // watch makes a dozen comparisons nobody asked for.
            rules: Rules {
                alpha: 0.001,
                ..Rules::default()
            },
        }
    }
}

/// `[group_watch]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGroupWatch {
    enabled: Option<bool>,
    metrics: Option<Vec<String>>,
    groups: Option<Vec<u8>>,
    days: Option<i64>,
    alpha: Option<f64>,
    min_effect: Option<f64>,
    srm_alpha: Option<f64>,
}

/// Validates `[group_watch]`; problems are (key path, reason). Without the
/// section the watch runs with its defaults on the default metrics the
/// catalogue has.
pub(super) fn validate(
    raw: Option<RawGroupWatch>,
    metric_names: &[String],
    problems: &mut Vec<(String, String)>,
) -> GroupWatchConfig {
    let defaults = GroupWatchConfig::default();
    let Some(raw) = raw else {
        return GroupWatchConfig {
            metrics: (defaults.metrics.iter())
                .filter(|m| metric_names.contains(m))
                .cloned()
                .collect(),
            ..defaults
        };
    };
    let mut problem =
        |key: &str, reason: String| problems.push((format!("group_watch.{key}"), reason));
    let metrics = raw.metrics.unwrap_or(defaults.metrics);
    for (i, metric) in metrics.iter().enumerate() {
        if !metric_names.contains(metric) {
            problem(
                &format!("metrics[{i}]"),
                format!(
                    "no metric named {metric:?} (known: {})",
                    metric_names.join(", ")
                ),
            );
        }
    }
    let listed = raw.groups.is_some();
    let groups = raw.groups.unwrap_or_default();
    if listed && groups.len() < 2 {
        problem(
            "groups",
            "list at least two exp_group values to compare (or leave it out: every group)".into(),
        );
    }
    let days = raw.days.unwrap_or(defaults.days);
    if !(1..=MAX_DAYS).contains(&days) {
        problem(
            "days",
            format!("{days} is not a number of days from 1 to {MAX_DAYS}"),
        );
    }
    let rules = Rules {
        alpha: raw.alpha.unwrap_or(defaults.rules.alpha),
        min_effect: raw.min_effect.unwrap_or(defaults.rules.min_effect),
        srm_alpha: raw.srm_alpha.unwrap_or(defaults.rules.srm_alpha),
    };
    for (key, value) in [("alpha", rules.alpha), ("srm_alpha", rules.srm_alpha)] {
        if !(value > 0.0 && value < 1.0) {
            problem(
                key,
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
    GroupWatchConfig {
        enabled: raw.enabled.unwrap_or(true),
        metrics,
        groups,
        days,
        rules,
    }
}

#[cfg(test)]
#[path = "group_watch_tests.rs"]
mod tests;
