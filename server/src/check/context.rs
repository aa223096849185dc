//! What an alert says beyond its own point: which slices drive the deviation,
//! how the value compares with yesterday and last week, which firing metric it
//! depends on (the probable cause), and whether it was evaluated late.
//!
//! The drill-down and the cause come from the check's own evaluations (every
//! slice was evaluated in the same check, from the same grouped queries): no
//! extra query. The day/week comparisons read two single buckets per
//! anomalous series, only for the few series that fire.

use std::collections::HashMap;

use crate::evaluation::{Evaluation, SliceChange};
use crate::metrics::model::{MetricDef, SliceKey, TimeRange, BUCKET_SECONDS};
use crate::sources::{Source, SourceError};

/// How many slices the drill-down names.
pub const DRILLDOWN_SLICES: usize = 3;

const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;

/// Fills the drill-down and the cause of every anomalous evaluation.
pub fn attach_related(evaluations: &mut [Evaluation], metrics: &[MetricDef]) {
    let firing: Vec<(String, Option<SliceKey>)> = evaluations
        .iter()
        .filter(|e| e.point.is_anomaly)
        .map(|e| (e.metric.clone(), e.slice.clone()))
        .collect();
    let drilldowns: Vec<Vec<SliceChange>> = evaluations
        .iter()
        .map(|e| {
            if e.point.is_anomaly && e.slice.is_none() {
                drilldown(e, evaluations)
            } else {
                Vec::new()
            }
        })
        .collect();
    for (evaluation, drilldown) in evaluations.iter_mut().zip(drilldowns) {
        if !evaluation.point.is_anomaly {
            continue;
        }
        evaluation.context.drilldown = drilldown;
        let depends_on = metrics
            .iter()
            .find(|m| m.name == evaluation.metric)
            .map(|m| m.depends_on.as_slice())
            .unwrap_or_default();
        evaluation.context.caused_by = depends_on
            .iter()
            .filter(|dependency| {
                firing
                    .iter()
                    .any(|(metric, slice)| metric == *dependency && *slice == evaluation.slice)
            })
            .cloned()
            .collect();
    }
}

/// The slices of `whole`'s metric (at its bucket) that moved the most in the
/// direction of its deviation, with their share of it.
fn drilldown(whole: &Evaluation, evaluations: &[Evaluation]) -> Vec<SliceChange> {
    let (Some(value), Some(expected)) = (whole.point.value, whole.point.expected) else {
        return Vec::new();
    };
    let total = value - expected;
    if total == 0.0 || !total.is_finite() {
        return Vec::new();
    }
    let mut changes: Vec<(f64, SliceChange)> = evaluations
        .iter()
        .filter(|e| e.metric == whole.metric && e.bucket == whole.bucket)
        .filter_map(|e| {
            let slice = e.slice.clone()?;
            let (value, expected) = (e.point.value?, e.point.expected?);
            let contribution = value - expected;
            // Only slices moving the same way explain the deviation.
            (contribution * total > 0.0).then(|| {
                (
                    contribution.abs(),
                    SliceChange {
                        slice,
                        value,
                        expected,
                        change: e.point.deviation,
                        share: Some(contribution / total).filter(|s| s.is_finite()),
                    },
                )
            })
        })
        .collect();
    changes.sort_by(|a, b| b.0.total_cmp(&a.0));
    changes
        .into_iter()
        .take(DRILLDOWN_SLICES)
        .map(|(_, change)| change)
        .collect()
}

/// A metric's series at a bucket, whole (no dimension) or by one dimension.
type Read = (String, Option<String>, i64);

/// Fills `vs_yesterday` and `vs_week_ago` of every anomalous evaluation.
/// One query per metric and series kind (whole, or grouped by one
/// dimension) and comparison, however many of its slices fire: a check
/// over thousands of slices may have hundreds anomalous. `(other)` has no
/// stored counterpart a day earlier and gets no comparison.
pub async fn attach_comparisons(
    source: &Source,
    evaluations: &mut [Evaluation],
    metrics: &[MetricDef],
) -> Result<(), SourceError> {
    let mut reads: Vec<Read> = Vec::new();
    for evaluation in evaluations.iter().filter(|e| e.point.is_anomaly) {
        let dimension = evaluation.slice.as_ref().map(|s| s.dimension.clone());
        let read = (evaluation.metric.clone(), dimension, evaluation.bucket);
        if !reads.contains(&read) {
            reads.push(read);
        }
    }
    // Per read and lag: the value of each slice (`""` for the whole) then.
    let mut then: HashMap<(Read, i64), HashMap<String, f64>> = HashMap::new();
    for (name, dimension, bucket) in reads {
        let Some(metric) = metrics.iter().find(|m| m.name == name) else {
            continue;
        };
        for back in [DAY, WEEK] {
            let from = bucket - back;
            let range = TimeRange {
                from,
                to: from + BUCKET_SECONDS,
            };
            let values: HashMap<String, f64> = match &dimension {
                None => (source.series(metric, range, None).await?.first())
                    .map(|b| (String::new(), b.value))
                    .into_iter()
                    .collect(),
                Some(dimension) => (source.series_by_slice(metric, range, dimension).await?)
                    .into_iter()
                    .filter_map(|(value, buckets)| Some((value, buckets.first()?.value)))
                    .collect(),
            };
            then.insert(((name.clone(), dimension.clone(), bucket), back), values);
        }
    }
    for evaluation in evaluations.iter_mut().filter(|e| e.point.is_anomaly) {
        let Some(value) = evaluation.point.value else {
            continue;
        };
        let dimension = evaluation.slice.as_ref().map(|s| s.dimension.clone());
        let slice_value = evaluation.slice.as_ref().map_or("", |s| s.value.as_str());
        let earlier = |back: i64| {
            let read = (
                evaluation.metric.clone(),
                dimension.clone(),
                evaluation.bucket,
            );
            let key = (read, back);
            then.get(&key)
                .and_then(|values| values.get(slice_value))
                .copied()
        };
        let change = |then: Option<f64>| {
            then.filter(|t| *t != 0.0)
                .map(|t| (value - t) / t.abs())
                .filter(|c| c.is_finite())
        };
        evaluation.context.vs_yesterday = change(earlier(DAY));
        evaluation.context.vs_week_ago = change(earlier(WEEK));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::AlertContext;
    use detect::Point;

    fn eval(metric: &str, slice: Option<(&str, &str)>, value: f64, expected: f64) -> Evaluation {
        Evaluation {
            metric: metric.into(),
            slice: slice.map(|(d, v)| SliceKey {
                dimension: d.into(),
                value: v.into(),
            }),
            bucket: 900,
            detector: "iqr".into(),
            point: Point {
                value: Some(value),
                expected: Some(expected),
                lower: Some(expected * 0.9),
                upper: Some(expected * 1.1),
                is_anomaly: value < expected * 0.9 || value > expected * 1.1,
                score: 0.0,
                deviation: Some((value - expected) / expected),
            },
            context: AlertContext::default(),
        }
    }

    #[test]
    fn drilldown_names_the_slices_that_moved_the_metric_most() {
        let mut evaluations = vec![
            eval("feed_views", None, 600.0, 1000.0),
            eval("feed_views", Some(("os", "Android")), 100.0, 400.0),
            eval("feed_views", Some(("os", "iOS")), 500.0, 600.0),
            eval("feed_views", Some(("country", "Russia")), 300.0, 550.0),
            eval("feed_views", Some(("country", "Turkey")), 120.0, 100.0),
            eval("feed_views", Some(("source", "ads")), 350.0, 380.0),
            eval("feed_likes", Some(("os", "Android")), 10.0, 100.0),
        ];
        attach_related(&mut evaluations, &[]);
        let names: Vec<String> = evaluations[0]
            .context
            .drilldown
            .iter()
            .map(|c| format!("{}={}", c.slice.dimension, c.slice.value))
            .collect();
        assert_eq!(names, ["os=Android", "country=Russia", "os=iOS"]);
        let android = &evaluations[0].context.drilldown[0];
        assert_eq!(android.share, Some(0.75));
        assert_eq!(android.change, Some(-0.75));
        assert!(
            evaluations[1].context.drilldown.is_empty(),
            "slices have none"
        );
    }

    #[test]
    fn a_firing_dependency_is_named_as_the_cause() {
        let views = eval("feed_views", None, 100.0, 1000.0);
        let ctr = eval("feed_ctr", None, 0.5, 0.2);
        let mut evaluations = vec![views, ctr];
        attach_related(&mut evaluations, &crate::metrics::catalogue::builtin());
        assert_eq!(evaluations[1].context.caused_by, ["feed_views"]);
        assert!(evaluations[0].context.caused_by.is_empty());
    }
}
