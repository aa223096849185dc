//! Late rows: rows that arrive after their bucket was checked (past the
//! grace delay) would otherwise never be judged. Each check remembers what it
//! read of every whole metric at its bucket ([`inputs_of`], kept by
//! [`crate::state::LateRows`]); the next checks within `[schedule]
//! late_rows_minutes` read those buckets again (one query per metric), and a
//! bucket whose value changed is checked once more: an alert opened on data
//! that later arrived is withdrawn (its message edited to say so), and an
//! anomaly the late rows show opens late (see
//! [`crate::state::late_rows::late_step`]).

use std::collections::BTreeMap;

use super::freshness::BucketTables;
use super::run::{CheckError, Checker};
use super::{grid_values, Evaluation};
use crate::detector_choice::DetectorChoice;
use crate::metrics::model::{MetricDef, TimeRange, BUCKET_SECONDS};
use crate::state::CheckedInput;

/// What a check read of each whole metric at its bucket (experiment
/// verdicts and slices are not inputs: a slice changes with its metric).
pub fn inputs_of(evaluations: &[Evaluation]) -> Vec<CheckedInput> {
    evaluations
        .iter()
        .filter(|e| e.slice.is_none() && e.context.experiment.is_none())
        .map(|e| CheckedInput {
            metric: e.metric.clone(),
            bucket: e.bucket,
            value: e.point.value,
        })
        .collect()
}

/// The oldest bucket a check of `bucket` may re-check when rows of it
/// arrive late (older inputs are forgotten).
pub fn oldest_recheckable(bucket: i64, late_rows_secs: i64) -> i64 {
    bucket.saturating_sub(late_rows_secs.max(0))
}

/// Whether a bucket's value changed since it was checked: a value that is
/// there now and was not, or differs. A value gone (a gap now) is no news:
/// the rows of a checked bucket are never deleted, only its reading changes
/// with the range read (leading silence stays a gap).
pub fn changed(checked: Option<f64>, now: Option<f64>) -> bool {
    match (checked, now) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(a), Some(b)) => (a - b).abs() > 1e-9 * a.abs().max(b.abs()).max(1.0),
    }
}

impl Checker {
    /// Re-checks, once, the buckets before `bucket` within the late-rows
    /// window whose whole-metric value changed since their check, and applies
    /// what that changes. Returns the notifications enqueued. Best effort: a
    /// failure is logged and the buckets stay for the next check.
    pub(super) async fn recheck_late_rows(
        &self,
        bucket: i64,
        detectors: &DetectorChoice,
        tables: &BucketTables,
    ) -> usize {
        match self.try_recheck_late_rows(bucket, detectors, tables).await {
            Ok(enqueued) => enqueued,
            Err(error) => {
                tracing::warn!(%error, "re-checking buckets with late rows failed");
                0
            }
        }
    }

    async fn try_recheck_late_rows(
        &self,
        bucket: i64,
        detectors: &DetectorChoice,
        tables: &BucketTables,
    ) -> Result<usize, CheckError> {
        let schedule = self.alerting.schedule;
        if schedule.late_rows_secs <= 0 {
            return Ok(0);
        }
        let from = oldest_recheckable(bucket, schedule.late_rows_secs);
        let inputs = (self.store)
            .call(move |store| store.inputs_to_recheck(from, bucket))
            .await?;
        let changed = self.changed_inputs(inputs, tables).await?;
        if changed.is_empty() {
            return Ok(0);
        }
        let open_since = self.store.call(|store| store.open_since()).await?;
        // By bucket: the metrics whose value changed there.
        let mut by_bucket: BTreeMap<i64, Vec<MetricDef>> = BTreeMap::new();
        for input in &changed {
            if let Some(metric) = self.metrics.iter().find(|m| m.name == input.metric) {
                by_bucket
                    .entry(input.bucket)
                    .or_default()
                    .push(metric.clone());
            }
        }
        let mut evaluations = Vec::new();
        for (at, metrics) in by_bucket {
            tracing::info!(
                bucket = %crate::times::format_time(at),
                metrics = %metrics.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(","),
                "rows arrived after the check of this bucket: checking it once more"
            );
            // Judged as at its own check: alerts opened since were not open then.
            let mut open_then = open_since.clone();
            open_then.retain(|_, since| *since < at);
            let assessed = BucketTables::assess(
                tables.watermarks,
                &metrics,
                at,
                schedule.grace_seconds,
                schedule.stale_after_secs,
            );
            let batch = self
                .evaluate(&metrics, detectors, at, &open_then, &assessed, true)
                .await?;
            evaluations.extend(batch);
        }
        let lifecycle = self.alerting.lifecycle;
        let items = (self.store)
            .call(move |store| {
                let now = crate::times::unix_now();
                store.apply_late(&changed, &evaluations, now, &lifecycle)
            })
            .await?;
        Ok(items.len())
    }

    /// The inputs whose bucket reads differently now, with the new values:
    /// one query per metric over its buckets in the window.
    async fn changed_inputs(
        &self,
        inputs: Vec<CheckedInput>,
        tables: &BucketTables,
    ) -> Result<Vec<CheckedInput>, CheckError> {
        let mut by_metric: BTreeMap<&str, Vec<CheckedInput>> = BTreeMap::new();
        for input in inputs {
            if let Some(metric) = self.metrics.iter().find(|m| m.name == input.metric) {
                by_metric.entry(&metric.name).or_default().push(input);
            }
        }
        let mut moved = Vec::new();
        for (name, inputs) in by_metric {
            let Some(metric) = self.metrics.iter().find(|m| m.name == name) else {
                continue;
            };
            let from = inputs.iter().map(|i| i.bucket).min().unwrap_or_default();
            let to = inputs.iter().map(|i| i.bucket).max().unwrap_or_default() + BUCKET_SECONDS;
            let range = TimeRange { from, to };
            let rows = self.source.series(metric, range, None).await?;
            let watermark = tables.watermarks.for_metric(metric);
            let values = grid_values(metric, range, watermark, &rows);
            for input in inputs {
                let slot = usize::try_from((input.bucket - from) / BUCKET_SECONDS).ok();
                let now = slot.and_then(|slot| values.get(slot).copied().flatten());
                if changed(input.value, now) {
                    moved.push(CheckedInput {
                        value: now,
                        ..input
                    });
                }
            }
        }
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_changed_when_it_arrived_or_moved() {
        assert!(changed(None, Some(0.0)), "arrived");
        assert!(changed(Some(0.0), Some(250.0)), "late rows of an outage");
        assert!(changed(Some(1000.0), Some(1001.0)));
        assert!(!changed(Some(1000.0), Some(1000.0)));
        assert!(!changed(Some(0.1), Some(0.1 + 1e-15)), "rounding");
        assert!(!changed(Some(40.0), None), "a gap now is no news");
        assert!(!changed(None, None));
    }

    #[test]
    fn the_window_reaches_back_from_the_checked_bucket() {
        let b = BUCKET_SECONDS;
        assert_eq!(oldest_recheckable(10 * b, 3600), 6 * b);
        assert_eq!(oldest_recheckable(10 * b, 0), 10 * b, "off: nothing before");
        assert_eq!(oldest_recheckable(i64::MIN, 3600), i64::MIN, "no overflow");
    }
}
