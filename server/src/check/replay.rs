//! The server's side of the replay ([`detect::alerting::replay`]): reads a
//! metric's history (whole and by slice, as a check reads it) and replays the
//! checks of a span of buckets with the configured rules. What it returns is
//! what `vigil check` at each of those buckets would have recorded, starting
//! from no open alert.

use detect::alerting::{self, History, Rules, Sent};
use detect::Ensemble;

use super::{grid_values, plan, Watermarks};
use crate::alerts::significance;
use crate::config::AlertingConfig;
use crate::metrics::model::{MetricDef, SliceKey, TimeRange, BUCKET_SECONDS};
use crate::sources::{Source, SourceError};

/// Why a replay could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("replaying {metric}: {source}")]
    Detect {
        metric: String,
        #[source]
        source: detect::DetectError,
    },
}

/// Replays the checks of buckets `first..=last` of `metric` judged by
/// `detector` under `alerting`'s floor, lifecycle and schedule (silences: the
/// ones given, judged at each check's time).
pub async fn replay_metric(
    source: &Source,
    metric: &MetricDef,
    detector: &Ensemble,
    alerting: &AlertingConfig,
    silences: &[alerting::Silence],
    (first, last): (i64, i64),
) -> Result<Vec<Sent>, ReplayError> {
    // Everything the first check reads, even with an alert open over it.
    let from = alerting::history_start(
        first,
        BUCKET_SECONDS,
        detector.reach(),
        Some(first - BUCKET_SECONDS),
        plan::DAY_BUCKETS,
    );
    let range = TimeRange {
        from,
        to: last + BUCKET_SECONDS,
    };
    let watermark = Watermarks::read(source).await?.for_metric(metric);
    let whole = source.series(metric, range, None).await?;
    let whole = grid_values(metric, range, watermark, &whole);
    let mut slices = Vec::new();
    for dimension in &metric.slices {
        // The series a check judges: the dimension's top values by volume
        // and `(other)` (ranked here over the replayed span; a check ranks
        // over its own reach, so a value at the margin may differ).
        let top = crate::metrics::dimensions::top(metric, dimension);
        for (value, buckets) in (source.top_series_by_slice(metric, range, dimension, top)).await? {
            let key = SliceKey {
                dimension: dimension.clone(),
                value,
            };
            slices.push((key, grid_values(metric, range, watermark, &buckets)));
        }
    }
    let rules = Rules {
        metric: &metric.name,
        measure: significance::measure(&metric.aggregate),
        detector,
        floor: alerting.floor,
        lifecycle: alerting.lifecycle,
        silences,
        grace_secs: alerting.schedule.grace_seconds,
        period: plan::DAY_BUCKETS,
    };
    let history = History {
        clock: detect::Clock::new(range.from, BUCKET_SECONDS),
        whole: &whole,
        slices: &slices,
    };
    let start = usize::try_from((first - range.from) / BUCKET_SECONDS).unwrap_or(0);
    alerting::replay(&rules, &history, start).map_err(|source| ReplayError::Detect {
        metric: metric.name.clone(),
        source,
    })
}
