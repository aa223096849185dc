//! One evaluation of every metric and slice at one bucket: read only the
//! buckets the detector needs, run it in newest-point mode, report each result.
//! Alert state and delivery build on these evaluations.

pub mod context;
pub mod plan;
pub mod run;
pub mod significance;

pub use context::{AlertContext, SliceChange};

use std::collections::HashMap;

use detect::{DetectorSpec, Point};

use crate::config::DetectorChoice;

use crate::metrics::model::{
    on_grid, Aggregate, Bucket, EventTable, MetricDef, SliceKey, TimeRange, BUCKET_SECONDS,
};
use crate::sources::{Source, SourceError};

/// The detector's verdict on one metric (or one slice of it) at one bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub metric: String,
    pub slice: Option<SliceKey>,
    /// Start of the evaluated bucket (unix seconds).
    pub bucket: i64,
    pub detector: &'static str,
    pub point: Point,
    /// Drill-down, comparisons, cause; filled for anomalous evaluations.
    pub context: AlertContext,
}

/// Series with an open alert, and the first anomalous bucket of each: the
/// baseline of such a series leaves out the buckets since then, so an outage
/// does not become the "normal" it is compared with (nor its end a new alert).
pub type OpenSince = HashMap<(String, Option<SliceKey>), i64>;

/// Evaluates `bucket` for every metric, whole and by each of its slice
/// dimensions, with each metric's detector, then attaches the alert context
/// (drill-down, cause, day/week comparisons) to the anomalous ones.
/// A source error aborts the check: a partial check would silently skip metrics.
pub async fn evaluate_all(
    source: &Source,
    metrics: &[MetricDef],
    detectors: &DetectorChoice,
    bucket: i64,
    open_since: &OpenSince,
) -> Result<Vec<Evaluation>, SourceError> {
    let watermark = watermark(source).await?;
    let mut evaluations = Vec::new();
    for metric in metrics {
        let detector = detectors.for_metric(&metric.name);
        let mut range = plan::fetch_range(bucket, detector.lookback());
        // Reach back past any masked span so the band still has its points.
        let masked_from = open_since
            .iter()
            .filter(|((name, _), _)| *name == metric.name)
            .map(|(_, since)| *since)
            .min();
        if let Some(since) = masked_from.filter(|since| *since < bucket) {
            range.from = range
                .from
                .min(plan::fetch_range(since, detector.lookback()).from);
        }
        // A slice leaves out its own alert's span and the whole metric's: an
        // outage of the metric is not the normal of any of its slices either.
        let whole_since = open_since.get(&(metric.name.clone(), None)).copied();
        let mask = |slice: &Option<SliceKey>| {
            let own = open_since
                .get(&(metric.name.clone(), slice.clone()))
                .copied();
            own.into_iter().chain(whole_since).min()
        };
        let whole = source.series(metric, range, None).await?;
        evaluations.push(evaluate(
            metric,
            None,
            detector,
            range,
            watermark,
            &whole,
            mask(&None),
        ));
        for dimension in &metric.slices {
            let by_value = source.series_by_slice(metric, range, dimension).await?;
            for (value, buckets) in by_value {
                let slice = Some(SliceKey {
                    dimension: dimension.clone(),
                    value,
                });
                let masked = mask(&slice);
                evaluations.push(evaluate(
                    metric, slice, detector, range, watermark, &buckets, masked,
                ));
            }
        }
    }
    context::attach_related(&mut evaluations, metrics);
    context::attach_comparisons(source, &mut evaluations, metrics).await?;
    Ok(evaluations)
}

/// Time of the newest event in any table: the source has data up to here.
pub async fn watermark(source: &Source) -> Result<Option<i64>, SourceError> {
    let feed = source.newest_event_time(EventTable::FeedActions).await?;
    let messages = source.newest_event_time(EventTable::MessageActions).await?;
    Ok(feed.max(messages))
}

/// Runs the detector over the range's buckets and keeps the last point.
///
/// A bucket with no rows is a gap, except for counts (and distinct counts) after
/// the first bucket with rows, in a bucket that ended before the watermark: the source was receiving events then,
/// so silence is a real zero. That is what an outage looks like, and it must
/// not read as "no data". Ratios stay gaps: 0/0 has no value.
///
/// Buckets from `masked_from` up to (not including) the evaluated one are left
/// out of the baseline: they belong to the alert still open on this series.
fn evaluate(
    metric: &MetricDef,
    slice: Option<SliceKey>,
    detector: &DetectorSpec,
    range: TimeRange,
    watermark: Option<i64>,
    buckets: &[Bucket],
    masked_from: Option<i64>,
) -> Evaluation {
    let bucket = range.to - BUCKET_SECONDS;
    let mut values = grid_values(metric, range, watermark, buckets);
    if let Some(from) = masked_from {
        for (slot, value) in values.iter_mut().enumerate() {
            let start = range.from + slot as i64 * BUCKET_SECONDS;
            if start >= from && start < bucket {
                *value = None;
            }
        }
    }
    // The spec was validated when the check was configured; one that still fails
    // leaves this point empty rather than aborting the whole check.
    let point = detector.newest_point(values).unwrap_or_default();
    Evaluation {
        metric: metric.name.clone(),
        slice,
        bucket,
        detector: detector.name(),
        point,
        context: AlertContext::default(),
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
