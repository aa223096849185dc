//! The pages' data access, answered from the configured source.

use std::sync::Arc;

use app::api::{
    backend::{Backend, BoxFuture},
    MetricHistory, MetricSummary,
};

use crate::metrics::model::{on_grid, MetricDef, TimeRange, BUCKET_SECONDS};
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
            values: on_grid(TimeRange { from, to }, &buckets),
        })
    }
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
