//! One evaluation of every metric and slice at one bucket: read only the
//! buckets the detector needs, run it in newest-point mode, report each result.
//! Alert state and delivery build on these evaluations.

pub mod context;
pub mod experiment_replay;
pub mod experiments;
pub mod freshness;
pub mod group_watch;
#[cfg(test)]
mod inhibition_tests;
pub mod late;
#[cfg(test)]
mod open_alert_tests;
mod parallel;
pub mod plan;
pub mod replay;
#[cfg(test)]
mod replay_tests;
pub mod run;
#[cfg(test)]
mod test_events;
#[cfg(test)]
pub(crate) mod top_tests;

use detect::Ensemble;

use crate::detector_choice::DetectorChoice;
use crate::evaluation::{AlertContext, Evaluation, OpenSince};

pub use freshness::{BucketTables, Watermarks};

use crate::metrics::model::{
    on_grid, Aggregate, Bucket, MetricDef, SliceKey, TimeRange, BUCKET_SECONDS,
};
use crate::sources::{Source, SourceError};

/// Evaluates `bucket` for every metric, whole and by each of its slice
/// dimensions, with each metric's detector, then attaches the alert context
/// (drill-down, cause, day/week comparisons) to the anomalous ones.
/// A source error aborts the check: a partial check would silently skip metrics.
/// Metrics whose table has not passed `bucket` (or is stale, see `tables`)
/// are not evaluated: their bucket is not complete.
pub async fn evaluate_all(
    source: &Source,
    metrics: &[MetricDef],
    detectors: &DetectorChoice,
    bucket: i64,
    open_since: &OpenSince,
    tables: &BucketTables,
) -> Result<Vec<Evaluation>, SourceError> {
    let mut evaluations = Vec::new();
    for metric in metrics.iter().filter(|metric| tables.judges(metric)) {
        let watermark = tables.watermarks.for_metric(metric);
        let detector = detectors.for_metric(&metric.name);
        // Reach back past any masked span, and a day before it, to impute it.
        let masked_from = open_since
            .iter()
            .filter(|((name, _), _)| *name == metric.name)
            .map(|(_, since)| *since)
            .min();
        let range = plan::masked_fetch_range(bucket, detector.reach(), masked_from);
        // A slice leaves out its own alert's span and the whole metric's: an
        // outage of the metric is not the normal of any of its slices either.
        let whole_since = open_since.get(&(metric.name.clone(), None)).copied();
        let mask = |slice: &Option<SliceKey>| {
            let own = open_since
                .get(&(metric.name.clone(), slice.clone()))
                .copied();
            Masked {
                from: own.into_iter().chain(whole_since).min(),
                own_alert_open: own.is_some(),
            }
        };
        let whole = source.series(metric, range, None).await?;
        let mut batch = vec![Series {
            slice: None,
            buckets: whole,
            masked: mask(&None),
        }];
        for dimension in &metric.slices {
            // Capped by the source: a city dimension's thousands of small
            // towns cost what its largest cities and one remainder cost.
            let limit = crate::metrics::dimensions::top(metric, dimension);
            let by_value = (source.top_series_by_slice(metric, range, dimension, limit)).await?;
            for (value, buckets) in by_value {
                let slice = Some(SliceKey {
                    dimension: dimension.clone(),
                    value,
                });
                let masked = mask(&slice);
                batch.push(Series {
                    slice,
                    buckets,
                    masked,
                });
            }
        }
        // The detectors are pure and the series independent: over the cores
        // when there are many (thousands of city slices), in order.
        let judge = |series: &Series| {
            let slice = series.slice.clone();
            evaluate(
                metric,
                slice,
                detector,
                range,
                watermark,
                &series.buckets,
                series.masked,
            )
        };
        evaluations.extend(parallel::map(&batch, parallel::cores(), judge));
    }
    context::attach_related(&mut evaluations, metrics);
    context::attach_comparisons(source, &mut evaluations, metrics).await?;
    Ok(evaluations)
}

/// One series of a metric to judge: whole or one slice, its buckets and
/// what of them open alerts cover.
struct Series {
    slice: Option<SliceKey>,
    buckets: Vec<Bucket>,
    masked: Masked,
}

/// What of a series' history belongs to open alerts.
#[derive(Clone, Copy)]
struct Masked {
    /// First bucket of the earliest open alert over it (its own or its
    /// whole metric's).
    from: Option<i64>,
    /// Whether the series' own alert is open: it is then judged by the
    /// detector's rule for continuing ([`detect::Ensemble::continuing`]).
    own_alert_open: bool,
}

/// Time of the newest event in any table: the source has some data up to
/// here (readiness). A metric's values use its own table's
/// ([`Watermarks::for_metric`]).
pub async fn watermark(source: &Source) -> Result<Option<i64>, SourceError> {
    Ok(Watermarks::read(source).await?.newest())
}

/// Runs the detector over the range's buckets and keeps the last point.
///
/// A bucket with no rows is a gap, except for counts (and distinct counts) after
/// the first bucket with rows, in a bucket that ended before the watermark of
/// the metric's own table: that table was receiving events then,
/// so silence is a real zero. That is what an outage looks like, and it must
/// not read as "no data". Ratios stay gaps: 0/0 has no value.
///
/// Buckets from `masked.from` up to (not including) the evaluated one belong
/// to the alert still open on this series: they must not teach the baseline,
/// or an outage would become its "normal". They are not left out as gaps
/// either: a rolling baseline would then stay at the level the series had when
/// the alert opened, and with a daily cycle an evening outage could not
/// resolve until the next evening. Each is replaced by the same bucket a day
/// earlier at the level of the series just before the alert
/// ([`detect::impute_masked`]), so the expectation follows the cycle; one
/// without a value a day (or more) earlier stays a gap.
fn evaluate(
    metric: &MetricDef,
    slice: Option<SliceKey>,
    detector: &Ensemble,
    range: TimeRange,
    watermark: Option<i64>,
    buckets: &[Bucket],
    masked: Masked,
) -> Evaluation {
    let bucket = range.to - BUCKET_SECONDS;
    let mut values = grid_values(metric, range, watermark, buckets);
    let masked = detect::alerting::Masked {
        slots: masked
            .from
            .map_or(0..0, |from| slots_between(range, from, bucket)),
        own_alert_open: masked.own_alert_open,
    };
    // The spec was validated when the check was configured; one that still fails
    // leaves this point empty rather than aborting the whole check.
    let clock = detect::Clock::new(range.from, BUCKET_SECONDS);
    let combined =
        detect::alerting::newest_judgment(detector, &mut values, clock, &masked, plan::DAY_BUCKETS)
            .unwrap_or_default();
    // Explained only when it alerts: the words cost a second pass.
    let why = combined
        .point
        .is_anomaly
        .then(|| learned_reason(detector, &values, clock))
        .flatten();
    Evaluation {
        metric: metric.name.clone(),
        slice,
        bucket,
        detector: fired_name(detector, &combined.fired),
        point: combined.point,
        context: AlertContext {
            why,
            ..AlertContext::default()
        },
    }
}

/// The learned member's reason for the newest of `values`, in words, when
/// the detector has one and it judges the point anomalous.
fn learned_reason(
    detector: &Ensemble,
    values: &[Option<f64>],
    clock: detect::Clock,
) -> Option<String> {
    let learned = detector.members().iter().find_map(|member| match member {
        detect::DetectorSpec::Learned(params) => Some(*params),
        _ => None,
    })?;
    let series = detect::Series::new(clock.start, clock.step, values.to_vec()).ok()?;
    let why = learned
        .explain(&series, values.len().checked_sub(1)?)
        .ok()?;
    (why.probability >= learned.threshold).then(|| why.summary())
}

/// The slots of `range` whose buckets start at or after `from` and before
/// `to` (empty when `from >= to`).
fn slots_between(range: TimeRange, from: i64, to: i64) -> std::ops::Range<usize> {
    // The first slot starting at or after `t`.
    let slot = |t: i64| {
        let offset = t.saturating_sub(range.from).max(0);
        usize::try_from(offset.div_euclid(BUCKET_SECONDS) + i64::from(offset % BUCKET_SECONDS != 0))
            .unwrap_or(usize::MAX)
    };
    slot(from)..slot(to)
}

/// What an alert says fired: the detector's name, or for several combined,
/// the members that fired (`seasonal+drop`) or the whole ensemble when none did.
fn fired_name(detector: &Ensemble, fired: &[&str]) -> String {
    if detector.as_single().is_some() || fired.is_empty() {
        detector.name()
    } else {
        fired.join("+")
    }
}

/// The range's buckets on the grid, as the detectors see them (see [`evaluate`]
/// for when a missing bucket is a zero). The alert chart uses the same values.
pub fn grid_values(
    metric: &MetricDef,
    range: TimeRange,
    watermark: Option<i64>,
    buckets: &[Bucket],
) -> Vec<Option<f64>> {
    let counts = matches!(
        metric.aggregate,
        Aggregate::Count | Aggregate::Distinct { .. }
    );
    let silent_is_zero =
        |start: i64| counts && watermark.is_some_and(|w| start + BUCKET_SECONDS <= w);
    // Leading silence stays a gap: before the first row, the metric (or a new
    // slice) may simply not have existed yet.
    let mut seen = false;
    on_grid(range, buckets)
        .into_iter()
        .enumerate()
        .map(|(slot, value)| {
            let start = range.from + slot as i64 * BUCKET_SECONDS;
            seen |= value.is_some();
            value.or_else(|| (seen && silent_is_zero(start)).then_some(0.0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use detect::{CombineRule, DetectorSpec, DropParams, IqrParams};

    use super::*;
    use crate::metrics::catalogue;

    const T: i64 = 1_763_900_100 / BUCKET_SECONDS * BUCKET_SECONDS;

    /// 40 buckets of views around 1000, the last one `last`.
    fn evaluate_last(detector: &Ensemble, last: f64) -> Evaluation {
        let metric = catalogue::builtin_metric("feed_views").expect("built-in");
        let range = TimeRange {
            from: T - 39 * BUCKET_SECONDS,
            to: T + BUCKET_SECONDS,
        };
        let buckets: Vec<Bucket> = (0..40)
            .map(|k| Bucket {
                start: range.from + k * BUCKET_SECONDS,
                value: if k == 39 {
                    last
                } else {
                    1000.0 + (k % 5) as f64 * 10.0
                },
            })
            .collect();
        evaluate(
            &metric,
            None,
            detector,
            range,
            Some(T + BUCKET_SECONDS),
            &buckets,
            Masked {
                from: None,
                own_alert_open: false,
            },
        )
    }

    #[test]
    fn the_masked_slots_are_the_buckets_from_the_alert_to_the_evaluated_one() {
        let b = BUCKET_SECONDS;
        let range = TimeRange {
            from: T - 9 * b,
            to: T + b,
        };
        assert_eq!(slots_between(range, T - 3 * b, T), 6..9);
        assert_eq!(slots_between(range, T - 3 * b + 1, T), 7..9, "next start");
        assert_eq!(slots_between(range, T - 99 * b, T), 0..9);
        assert_eq!(slots_between(range, T, T), 9..9);
        assert!(slots_between(range, T + 5 * b, T).is_empty());
        assert!(slots_between(range, i64::MAX, i64::MIN).is_empty());
    }

    #[test]
    fn an_ensemble_alert_names_the_members_that_fired() {
        let members = vec![
            DetectorSpec::Iqr(IqrParams::default()),
            DetectorSpec::Drop(DropParams::default()),
        ];
        let any = Ensemble::new(members.clone(), CombineRule::Any);
        let fall = evaluate_last(&any, 0.0);
        assert!(fall.point.is_anomaly);
        assert_eq!(fall.detector, "iqr+drop");
        // A spike: the drop rule only looks down, so only the IQR band fires.
        let spike = evaluate_last(&any, 5000.0);
        assert!(spike.point.is_anomaly);
        assert_eq!(spike.detector, "iqr");
        let all = Ensemble::new(members, CombineRule::All);
        let spike = evaluate_last(&all, 5000.0);
        assert!(!spike.point.is_anomaly, "`all` needs both");
        let calm = evaluate_last(&any, 1020.0);
        assert!(!calm.point.is_anomaly);
        assert_eq!(calm.detector, "any(iqr+drop)");
        let single = Ensemble::single(DetectorSpec::Iqr(IqrParams::default()));
        assert_eq!(evaluate_last(&single, 0.0).detector, "iqr");
    }
}
