//! The pages' data access, answered from the configured source.

use std::sync::{Arc, Mutex};

use app::api::{
    backend::{constant_time_eq, Backend, BoxFuture},
    AlertEventRow, AlertRow, MetricHistory, MetricSummary, Overview, SilenceRequest, SilenceRow,
};

use crate::alerts::store::HistoryFilter;
use crate::alerts::{AlertError, AlertRecord, AlertStatus, AlertStore, Silence, SilenceScope};
use crate::delivery::with_store;
use crate::metrics::model::{on_grid, MetricDef, SliceKey, TimeRange, BUCKET_SECONDS};
use crate::sources::Source;

use super::history_cache::HistoryCache;
use super::overview::SparkCache;

/// Who the store records as the author of silences made in the web UI.
const WEB_ACTOR: &str = "web";

pub struct SourceBackend {
    source: Arc<Source>,
    metrics: Vec<MetricDef>,
    store: Arc<Mutex<AlertStore>>,
    /// `None`: the UI is read-only.
    operator_token: Option<String>,
    /// Page histories, shared by concurrent viewers for a few seconds.
    history_cache: HistoryCache,
    /// The overview's sparklines, refreshed in the background.
    sparks: SparkCache,
}

impl SourceBackend {
    /// `operator_token` (from `VIGIL_OPERATOR_TOKEN`) unlocks silences in the UI;
    /// `None` or empty leaves it read-only.
    pub fn new(
        source: Arc<Source>,
        metrics: Vec<MetricDef>,
        store: Arc<Mutex<AlertStore>>,
        operator_token: Option<String>,
    ) -> Self {
        Self {
            source,
            metrics,
            store,
            operator_token: operator_token.filter(|token| !token.is_empty()),
            history_cache: HistoryCache::default(),
            sparks: SparkCache::default(),
        }
    }

    async fn load_alerts(
        &self,
        metric: Option<String>,
        state: Option<String>,
        limit: u32,
    ) -> Result<Vec<AlertRow>, String> {
        let status = state.as_deref().map(AlertStatus::parse).transpose()?;
        let filter = HistoryFilter {
            metric,
            status,
            ..HistoryFilter::default()
        };
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        with_store(&self.store, move |store| {
            let alerts = store.history(&filter, limit)?;
            alerts
                .into_iter()
                .map(|alert| alert_row(store, alert))
                .collect()
        })
        .await
        .map_err(store_error("alert history"))
    }

    async fn load_silences(&self) -> Result<Vec<SilenceRow>, String> {
        let now = crate::simulator::unix_now();
        let silences = with_store(&self.store, move |store| store.active_silences(now))
            .await
            .map_err(store_error("silences"))?;
        Ok(silences.iter().map(silence_row).collect())
    }

    async fn add_silence(&self, request: SilenceRequest) -> Result<SilenceRow, String> {
        let scope = match (request.metric, request.slice) {
            (None, _) => SilenceScope::All,
            (Some(metric), None) => {
                self.metric(&metric)?;
                SilenceScope::Metric { metric }
            }
            (Some(metric), Some((dimension, value))) => {
                let def = self.metric(&metric)?;
                if !def.slices.iter().any(|d| d == &dimension) {
                    return Err(if def.slices.is_empty() {
                        format!("{metric} has no slices: leave the slice empty")
                    } else {
                        format!(
                            "{metric} is not sliced by {dimension:?}: use one of {}",
                            def.slices.join(", ")
                        )
                    });
                }
                SilenceScope::Slice {
                    metric,
                    slice: Some(SliceKey { dimension, value }),
                }
            }
        };
        let now = crate::simulator::unix_now();
        let until = now + i64::from(request.minutes) * 60;
        let silence = with_store(&self.store, move |store| {
            store.silence(scope, until, WEB_ACTOR, now)
        })
        .await
        .map_err(store_error("silence"))?;
        Ok(silence_row(&silence))
    }

    async fn stop_silence(&self, id: i64) -> Result<(), String> {
        let now = crate::simulator::unix_now();
        with_store(&self.store, move |store| store.end_silence(id, now))
            .await
            .map_err(|error| match error {
                AlertError::UnknownSilence(id) => format!("no silence with id {id}"),
                other => store_error("end silence")(other),
            })
    }

    fn metric(&self, name: &str) -> Result<&MetricDef, String> {
        self.metrics
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| format!("unknown metric {name:?}"))
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
            .history_cache
            .series(&self.source, metric, TimeRange { from, to }, None)
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

    fn alerts(
        &self,
        metric: Option<String>,
        state: Option<String>,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<AlertRow>, String>> {
        Box::pin(self.load_alerts(metric, state, limit))
    }

    fn silences(&self) -> BoxFuture<'_, Result<Vec<SilenceRow>, String>> {
        Box::pin(self.load_silences())
    }

    fn create_silence(&self, request: SilenceRequest) -> BoxFuture<'_, Result<SilenceRow, String>> {
        Box::pin(self.add_silence(request))
    }

    fn end_silence(&self, id: i64) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(self.stop_silence(id))
    }

    fn writes_enabled(&self) -> bool {
        self.operator_token.is_some()
    }

    fn check_operator_token(&self, token: &str) -> bool {
        self.operator_token
            .as_deref()
            .is_some_and(|expected| constant_time_eq(token.as_bytes(), expected.as_bytes()))
    }

    fn overview(&self) -> BoxFuture<'_, Result<Overview, String>> {
        Box::pin(super::overview::load(
            &self.source,
            &self.metrics,
            &self.store,
            &self.sparks,
            crate::simulator::unix_now(),
        ))
    }
}

/// Logs a store failure and turns it into a message without internals.
fn store_error(what: &'static str) -> impl Fn(AlertError) -> String {
    move |error| {
        tracing::warn!(%error, "{what} failed");
        format!("could not read or write the alert state ({what}); see the server log")
    }
}

fn slice_text(slice: Option<&SliceKey>) -> Option<String> {
    slice.map(|s| format!("{}={}", s.dimension, s.value))
}

fn alert_row(store: &AlertStore, alert: AlertRecord) -> Result<AlertRow, AlertError> {
    let events = store
        .events(Some(alert.id))?
        .into_iter()
        .filter(|event| event.kind == "button" || event.kind == "label")
        .map(|event| AlertEventRow {
            at: event.at,
            kind: event.kind,
            details: event.details,
            actor: event.actor,
        })
        .collect();
    // The store says pending, sent, failed, logged, or none (every notification muted).
    let delivery = match alert.delivery.as_str() {
        "none" if alert.muted => "muted".to_string(),
        _ => alert.delivery.clone(),
    };
    Ok(AlertRow {
        id: alert.id,
        started_at: alert.started_at,
        slice: slice_text(alert.slice.as_ref()),
        metric: alert.metric,
        value: alert.value,
        lower: alert.lower,
        upper: alert.upper,
        deviation: alert.deviation,
        state: match alert.status {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
        .to_string(),
        resolved_at: alert.resolved_at,
        muted: alert.muted,
        delivery,
        label: alert.label.map(|label| label.as_str().to_string()),
        label_by: alert.label_by,
        events,
    })
}

fn silence_row(silence: &Silence) -> SilenceRow {
    let (metric, slice) = match &silence.scope {
        SilenceScope::All => (None, None),
        SilenceScope::Metric { metric } => (Some(metric.clone()), None),
        SilenceScope::Slice { metric, slice } => (Some(metric.clone()), slice_text(slice.as_ref())),
    };
    SilenceRow {
        id: silence.id,
        metric,
        slice,
        until: silence.until,
        created_by: silence.created_by.clone(),
        created_at: silence.created_at,
    }
}
