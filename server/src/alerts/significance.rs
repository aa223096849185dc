//! The server's side of the alerting floor ([`detect::alerting::floor`]) and
//! of inhibition ([`detect::alerting::inhibition`]): each evaluation's metric
//! definition says what it measures, and the reason an anomaly does not alert
//! lands in the evaluation's context.

pub use detect::alerting::{AlertFloor, Measure};

use detect::alerting::{inhibition, Parent};

use crate::evaluation::{Evaluation, OpenSince};
use crate::metrics::model::{Aggregate, MetricDef, SliceKey};

/// What the floor needs to know of a metric's aggregate.
pub fn measure(aggregate: &Aggregate) -> Measure {
    match aggregate {
        Aggregate::Count | Aggregate::Distinct { .. } => Measure::Count,
        Aggregate::Ratio { .. } => Measure::Ratio,
    }
}

/// Marks the anomalies that should not alert.
pub fn apply(floor: &AlertFloor, evaluations: &mut [Evaluation], metrics: &[MetricDef]) {
    for evaluation in evaluations {
        if let Some(metric) = metrics.iter().find(|m| m.name == evaluation.metric) {
            evaluation.context.suppressed = floor.suppression(
                measure(&metric.aggregate),
                evaluation.slice.is_some(),
                &evaluation.point,
            );
        }
    }
}

/// Holds back the anomalous slices that move the same way as their firing
/// metric (when `floor.inhibit_slices`): the metric's alert lists them, the
/// few its drill-down names by name and the rest by their number
/// (`held_back_unlisted`). `open_since` is the alert state before this
/// check, as the replay reads it.
pub fn inhibit(floor: &AlertFloor, evaluations: &mut [Evaluation], open_since: &OpenSince) {
    if !floor.inhibit_slices {
        return;
    }
    let parents: Vec<(String, i64, Parent)> = evaluations
        .iter()
        .filter(|e| e.slice.is_none())
        .map(|e| {
            let open = open_since.contains_key(&(e.metric.clone(), None));
            let parent = Parent::new(&e.point, e.context.suppressed.is_some(), open);
            (e.metric.clone(), e.bucket, parent)
        })
        .collect();
    let mut held_back: Vec<(String, i64, SliceKey)> = Vec::new();
    for evaluation in evaluations.iter_mut() {
        let Some(slice) = &evaluation.slice else {
            continue;
        };
        if evaluation.context.suppressed.is_some() {
            continue;
        }
        let parent = parents.iter().find(|(metric, bucket, _)| {
            *metric == evaluation.metric && *bucket == evaluation.bucket
        });
        if let Some((_, _, parent)) = parent {
            evaluation.context.suppressed =
                inhibition(parent, &evaluation.metric, &evaluation.point);
            if evaluation.context.suppressed.is_some() {
                held_back.push((evaluation.metric.clone(), evaluation.bucket, slice.clone()));
            }
        }
    }
    for whole in evaluations.iter_mut().filter(|e| e.slice.is_none()) {
        let listed = &whole.context.drilldown;
        whole.context.held_back_unlisted = (held_back.iter())
            .filter(|(metric, bucket, slice)| {
                *metric == whole.metric
                    && *bucket == whole.bucket
                    && !listed.iter().any(|change| change.slice == *slice)
            })
            .count();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::AlertContext;
    use crate::metrics::catalogue::builtin_metric;
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
        let metrics =
            ["feed_views", "feed_ctr"].map(|name| builtin_metric(name).expect("built-in"));
        let mut evaluations = [
            eval("feed_views", true, 2.0, 1.0),
            eval("feed_views", true, 22.0, 19.0),
            eval("feed_views", true, 0.0, 40.0),
            eval("feed_views", false, 0.0, 900.0),
            eval("feed_ctr", true, 0.3, 0.1),
            eval("feed_ctr", false, 0.3, 0.1),
        ];
        apply(&AlertFloor::default(), &mut evaluations, &metrics);
        let suppressed: Vec<bool> = evaluations
            .iter()
            .map(|e| e.context.suppressed.is_some())
            .collect();
        assert_eq!(suppressed, [true, true, false, false, true, false]);
    }
}
