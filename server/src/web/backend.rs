//! The pages' data access, answered from the configured source.

use std::sync::Arc;

use app::api::{
    backend::{Backend, BoxFuture},
    MetricHistory, MetricSummary,
};

use crate::metrics::model::{MetricDef, TimeRange, BUCKET_SECONDS};
use crate::sources::Source;

pub struct SourceBackend {
    source: Arc<Source>,
    metrics: Vec<MetricDef>,
}

impl SourceBackend {
    pub fn new(source: Arc<Source>, metrics: Vec<MetricDef>) -> Self {
        Self { source, metrics }
    }

    async fn load(&self, name: &str, days: u32) -> Result<MetricHistory, String> {
        let metric = self
            .metrics
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| format!("unknown metric {name:?}"))?;
        // The newest complete bucket ends at the current bucket's start.
        let to = chrono::Utc::now().timestamp().div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS;
        let from = to - i64::from(days) * 86_400;
        let buckets = self
            .source
            .series(metric, TimeRange { from, to }, None)
            .await
            .map_err(|error| {
                tracing::warn!(metric = %metric.name, %error, "history query failed");
                format!("could not read {}: {error}", metric.name)
            })?;
        Ok(MetricHistory {
            name: metric.name.clone(),
            title: metric.title.clone(),
            start: from,
            step: BUCKET_SECONDS,
            values: dense(from, to, &buckets),
        })
    }
}

/// Buckets on a regular grid from `from` to `to`; absent buckets become gaps.
fn dense(from: i64, to: i64, buckets: &[crate::metrics::model::Bucket]) -> Vec<Option<f64>> {
    let len = usize::try_from((to - from) / BUCKET_SECONDS).unwrap_or(0);
    let mut values = vec![None; len];
    for bucket in buckets {
        let offset = bucket.start - from;
        if offset >= 0 && offset % BUCKET_SECONDS == 0 {
            if let Some(slot) = values.get_mut((offset / BUCKET_SECONDS) as usize) {
                *slot = Some(bucket.value);
            }
        }
    }
    values
}

impl Backend for SourceBackend {
    fn metrics(&self) -> Vec<MetricSummary> {
        self.metrics
            .iter()
            .map(|m| MetricSummary {
                name: m.name.clone(),
                title: m.title.clone(),
            })
            .collect()
    }

    fn history<'a>(
        &'a self,
        name: &'a str,
        days: u32,
    ) -> BoxFuture<'a, Result<MetricHistory, String>> {
        Box::pin(self.load(name, days))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::model::Bucket;

    #[test]
    fn dense_places_buckets_and_leaves_gaps() {
        let from = 1_700_000_100 / BUCKET_SECONDS * BUCKET_SECONDS;
        let buckets = [
            Bucket {
                start: from,
                value: 1.0,
            },
            Bucket {
                start: from + 2 * BUCKET_SECONDS,
                value: 3.0,
            },
            // Off the grid and out of range: ignored rather than misplaced.
            Bucket {
                start: from + 7,
                value: 9.0,
            },
            Bucket {
                start: from + 10 * BUCKET_SECONDS,
                value: 9.0,
            },
        ];
        let values = dense(from, from + 4 * BUCKET_SECONDS, &buckets);
        assert_eq!(values, vec![Some(1.0), None, Some(3.0), None]);
    }
}
