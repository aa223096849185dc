//! Whether an anomaly is big enough to alert on. The detectors flag what is
//! statistically unusual; on a slice with a handful of events that is noise
//! (2 messages instead of 1 is "+100 %"). Counts alert only with enough volume
//! and a large enough absolute change; ratios by slice (CTR of one country)
//! alert only when enabled, since their volume is unknown here. The whole
//! metric's drill-down still names such slices.

use serde::{Deserialize, Serialize};

use crate::evaluation::Evaluation;
use crate::metrics::model::{Aggregate, MetricDef};

/// The alerting floor (`[alerts]` min_volume, min_abs_change, ratio_slices).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertFloor {
    /// A count alerts only if its value or expected value reaches this.
    pub min_volume: f64,
    /// A count alerts only if it moved at least this much from expected.
    pub min_abs_change: f64,
    /// Whether slices of ratio metrics alert on their own.
    pub ratio_slices: bool,
}

impl Default for AlertFloor {
    fn default() -> Self {
        Self {
            min_volume: 20.0,
            min_abs_change: 5.0,
            ratio_slices: false,
        }
    }
}

impl AlertFloor {
    /// Why an anomalous evaluation should not alert, or `None` if it should.
    pub fn suppression(&self, metric: &MetricDef, evaluation: &Evaluation) -> Option<String> {
        let p = &evaluation.point;
        if !p.is_anomaly {
            return None;
        }
        match metric.aggregate {
            Aggregate::Ratio { .. } => (evaluation.slice.is_some() && !self.ratio_slices)
                .then(|| "ratio slice (alerts.ratio_slices = false)".to_string()),
            Aggregate::Count | Aggregate::Distinct { .. } => {
                let (value, expected) = (p.value.unwrap_or(0.0), p.expected.unwrap_or(0.0));
                if value.max(expected) < self.min_volume {
                    Some(format!(
                        "volume below alerts.min_volume = {}",
                        self.min_volume
                    ))
                } else if (value - expected).abs() < self.min_abs_change {
                    Some(format!(
                        "change below alerts.min_abs_change = {}",
                        self.min_abs_change
                    ))
                } else {
                    None
                }
            }
        }
    }

    /// Marks the anomalies that should not alert.
    pub fn apply(&self, evaluations: &mut [Evaluation], metrics: &[MetricDef]) {
        for evaluation in evaluations {
            if let Some(metric) = metrics.iter().find(|m| m.name == evaluation.metric) {
                evaluation.context.suppressed = self.suppression(metric, evaluation);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::AlertContext;
    use crate::metrics::catalogue::builtin_metric;
    use crate::metrics::model::SliceKey;
    use detect::Point;

    fn eval(metric: &str, sliced: bool, value: f64, expected: f64) -> Evaluation {
        Evaluation {
            metric: metric.into(),
            slice: sliced.then(|| SliceKey {
                dimension: "country".into(),
                value: "Finland".into(),
            }),
            bucket: 0,
            detector: "iqr".into(),
            point: Point {
                value: Some(value),
                expected: Some(expected),
                is_anomaly: true,
                ..Default::default()
            },
            context: AlertContext::default(),
        }
    }

    #[test]
    fn small_counts_and_ratio_slices_do_not_alert() {
        let floor = AlertFloor::default();
        let views = builtin_metric("feed_views").expect("built-in");
        let ctr = builtin_metric("feed_ctr").expect("built-in");
        assert!(floor
            .suppression(&views, &eval("feed_views", true, 2.0, 1.0))
            .is_some());
        assert!(floor
            .suppression(&views, &eval("feed_views", true, 22.0, 19.0))
            .is_some());
        assert!(floor
            .suppression(&views, &eval("feed_views", true, 0.0, 40.0))
            .is_none());
        assert!(floor
            .suppression(&views, &eval("feed_views", false, 0.0, 900.0))
            .is_none());
        assert!(floor
            .suppression(&ctr, &eval("feed_ctr", true, 0.3, 0.1))
            .is_some());
        assert!(floor
            .suppression(&ctr, &eval("feed_ctr", false, 0.3, 0.1))
            .is_none());
    }
}
