//! What a check says of one series at one bucket: the detector's point and
//! the context an alert carries. `check` produces these; `alerts` and `state`
//! consume them, so they live below all three.

use std::collections::HashMap;

use detect::alerting::Judgment;
use detect::Point;
use serde::{Deserialize, Serialize};

use crate::metrics::model::SliceKey;

/// The detector's verdict on one metric (or one slice of it) at one bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub metric: String,
    pub slice: Option<SliceKey>,
    /// Start of the evaluated bucket (unix seconds).
    pub bucket: i64,
    pub detector: String,
    pub point: Point,
    /// Drill-down, comparisons, cause; filled for anomalous evaluations.
    pub context: AlertContext,
}

impl Evaluation {
    /// What the alert lifecycle ([`detect::alerting::step`]) reads of it.
    pub fn judgment(&self) -> Judgment<'_> {
        Judgment {
            metric: &self.metric,
            slice: self.slice.as_ref(),
            bucket: self.bucket,
            point: self.point,
            suppressed: self.context.suppressed.is_some(),
        }
    }
}

/// Series with an open alert, and the first anomalous bucket of each: the
/// baseline of such a series sees the buckets since then as they were a day
/// earlier (at the series' level before the alert), so an outage does not
/// become the "normal" it is compared with (nor its end a new alert).
pub type OpenSince = HashMap<(String, Option<SliceKey>), i64>;

/// Context carried by an evaluation into its alert and message.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertContext {
    /// Evaluated after its scheduled time: a catch-up after downtime, or a
    /// re-check of rows that arrived late.
    #[serde(default)]
    pub late: bool,
    /// Relative change against the same bucket one day earlier.
    #[serde(default)]
    pub vs_yesterday: Option<f64>,
    /// Relative change against the same bucket seven days earlier.
    #[serde(default)]
    pub vs_week_ago: Option<f64>,
    /// The slices contributing most to an unsliced metric's deviation.
    #[serde(default)]
    pub drilldown: Vec<SliceChange>,
    /// Slices held back by inhibition (moving with this firing metric)
    /// that the drill-down does not name: its message counts them, or with
    /// dozens held back the rest would appear nowhere.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub held_back_unlisted: usize,
    /// Metrics this one is computed from that fire in the same check.
    #[serde(default)]
    pub caused_by: Vec<String>,
    /// Why an anomalous point does not alert (too small to matter), if so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<String>,
    /// Why the learned detector judged it anomalous: its probability and
    /// the features that drove it ("p = 0.97: 0.12 of the value an hour ago").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// What an experiment alert says (its pseudo-metric is `experiment:...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<ExperimentFinding>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// An experiment's verdict as its alert tells it: a treatment diverging
/// from control, or a sample ratio mismatch (`effect` is `None`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExperimentFinding {
    pub experiment: String,
    /// When the compared period starts (the experiment's start).
    pub since: i64,
    pub effect: Option<ExperimentEffect>,
    /// Users per arm: its groups ("group 1", "groups 3+4"), observed, and
    /// expected by the configured split.
    pub users: Vec<(String, u64, f64)>,
    /// The sequential sample ratio test's p-value.
    pub srm_p_value: f64,
}

/// A treatment against control on one metric.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExperimentEffect {
    pub metric_title: String,
    pub control: String,
    pub treatment: String,
    /// `treatment / control - 1`: -0.148 is 14.8% below control.
    pub relative: f64,
    /// Confidence sequence of `relative` at `confidence`.
    pub interval: (f64, f64),
    pub confidence: f64,
    /// Always-valid p-value.
    pub p_value: f64,
}

/// One slice's part in a metric's deviation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SliceChange {
    pub slice: SliceKey,
    pub value: f64,
    pub expected: f64,
    /// The slice's own relative change against its expected value.
    pub change: Option<f64>,
    /// Its share of the whole metric's deviation (value - expected), 0..1 for
    /// slices moving the same way.
    pub share: Option<f64>,
}

impl ExperimentEffect {
    /// "Feed CTR in group 2 is 14.8% below group 1 (95% CI 11.2 to 18.1%) since
    /// 2026-12-01 14:15 UTC". The interval reads as magnitudes when it lies on the
    /// effect's side of 0, else signed.
    pub fn sentence(&self, since: i64, utc_offset_minutes: i32) -> String {
        let (low, high) = (self.interval.0 * 100.0, self.interval.1 * 100.0);
        let direction = if self.relative < 0.0 {
            "below"
        } else {
            "above"
        };
        let interval = if low * high > 0.0 {
            let (a, b) = (low.abs().min(high.abs()), low.abs().max(high.abs()));
            format!("{a:.1} to {b:.1}%")
        } else {
            format!("{low:+.1} to {high:+.1}%")
        };
        format!(
            "{} in {} is {:.1}% {direction} {} ({:.0}% CI {interval}) since {}",
            self.metric_title,
            self.treatment,
            self.relative.abs() * 100.0,
            self.control,
            self.confidence * 100.0,
            app::format::local_time(since, utc_offset_minutes)
        )
    }
}
