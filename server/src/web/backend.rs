//! The pages' data access, answered from the configured source.

use std::sync::Arc;

use app::api::{
    backend::{constant_time_eq, ApiError, ApiResult, Backend, BoxFuture},
    AlertFilter, AlertLabel, AlertRow, AlertState, DetectorSettings, LabelRequest, MetricHistory,
    MetricSlices, MetricSummary, Overview, Refusal, SilenceRequest, SilenceRow, SliceSeries,
};

use crate::alerts::significance::{self, AlertFloor};
use crate::alerts::silence_scope::silence_scope;
use crate::alerts::AlertConfig;
use crate::config::{AlertingConfig, ExperimentConfig};
use crate::detector_choice::DetectorChoice;
use crate::labels::{LabelError, NewLabel};
use crate::metrics::model::{on_grid, MetricDef, SliceKey, TimeRange, BUCKET_SECONDS};
use crate::sources::Source;
use crate::state::AlertError;
use crate::state::{HistoryFilter, State, StateStore};
use app::api::{
    CheckRules, DailyReport, ExperimentDetail, ExperimentList, ExperimentReplay, ReplayRules,
};

use super::history_cache::HistoryCache;
use super::overview::SparkCache;
use super::rows::{
    alert_row, alert_status, label_kind, label_span, settings_error, settings_view, silence_row,
    slice_text, stored_label,
};
use super::slice_values::SliceValues;

/// Who the store records as the author of silences made in the web UI.
const WEB_ACTOR: &str = "web";

pub struct SourceBackend {
    source: Arc<Source>,
    metrics: Vec<MetricDef>,
    store: State,
    /// `None`: the UI is read-only.
    operator_token: Option<String>,
    /// Page histories, shared by concurrent viewers for a few seconds.
    history_cache: HistoryCache,
    /// The config file's detectors, under the settings applied from the lab.
    configured_detectors: DetectorChoice,
    /// The overview's sparklines, refreshed in the background.
    sparks: SparkCache,
    /// The check's floor, lifecycle and grace: what the lab's replay applies.
    alert_rules: (AlertFloor, AlertConfig, i64),
    /// The alerts' UTC offset: the report page's local days.
    utc_offset_minutes: i32,
    /// Which slices have data, for checking a typed one.
    slice_values: SliceValues,
    /// `[[experiments]]` (none: the simulator's, when its labels are there).
    experiments: Vec<ExperimentConfig>,
    /// The experiment pages' past checkpoints.
    experiment_sums: super::experiments::SumsCache,
}

impl SourceBackend {
    /// `operator_token` (from `VIGIL_OPERATOR_TOKEN`) unlocks silences in the UI;
    /// `None` or empty leaves it read-only.
    pub fn new(
        source: Arc<Source>,
        metrics: Vec<MetricDef>,
        store: State,
        operator_token: Option<String>,
    ) -> Self {
        Self {
            source,
            metrics,
            store,
            operator_token: operator_token.filter(|token| !token.is_empty()),
            history_cache: HistoryCache::default(),
            configured_detectors: DetectorChoice::default(),
            sparks: SparkCache::default(),
            alert_rules: (AlertFloor::default(), AlertConfig::default(), 0),
            utc_offset_minutes: 0,
            slice_values: SliceValues::default(),
            experiments: Vec::new(),
            experiment_sums: Default::default(),
        }
    }

    /// The config file's `[[experiments]]`, for the experiment pages.
    pub fn with_experiments(mut self, experiments: &[ExperimentConfig]) -> Self {
        self.experiments = experiments.to_vec();
        self
    }

    /// The check's alerting floor, lifecycle and schedule, for the lab's replay.
    pub fn with_alert_rules(mut self, alerting: &AlertingConfig) -> Self {
        self.alert_rules = (
            alerting.floor,
            alerting.lifecycle,
            alerting.schedule.grace_seconds,
        );
        self.utc_offset_minutes = alerting.utc_offset_minutes;
        self
    }

    /// The config file's `[detectors]` (the default IQR band otherwise).
    pub fn with_detectors(mut self, configured: DetectorChoice) -> Self {
        self.configured_detectors = configured;
        self
    }

    /// Runs `job` on the detector settings in the state, on the blocking pool.
    async fn with_settings<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut dyn StateStore, &DetectorChoice) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        let configured = self.configured_detectors.clone();
        self.store.call(move |store| job(store, &configured)).await
    }

    async fn load_detector_settings(&self, metric: String) -> ApiResult<DetectorSettings> {
        self.metric(&metric)?;
        self.with_settings(move |settings, configured| settings_view(settings, configured, &metric))
            .await
    }

    async fn change_detector(
        &self,
        metric: String,
        detector: Option<detect::Ensemble>,
    ) -> ApiResult<DetectorSettings> {
        self.metric(&metric)?;
        let now = crate::times::unix_now();
        self.with_settings(move |settings, configured| {
            settings
                .apply_detector(&metric, detector.as_ref(), configured, WEB_ACTOR, now)
                .map_err(settings_error)?;
            settings_view(settings, configured, &metric)
        })
        .await
    }

    /// Every label of `metric` over `range`, read through the held stores.
    async fn labels_of(
        &self,
        metric: &str,
        range: TimeRange,
    ) -> anyhow::Result<Vec<crate::labels::Span>> {
        let stored = crate::labels::Stored::from_held(&self.store, metric, range).await?;
        crate::labels::load(&self.source, stored, metric, range).await
    }

    /// Runs `job` on the labels in the state, on the blocking pool.
    async fn with_labels<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut dyn StateStore) -> Result<T, LabelError> + Send + 'static,
    ) -> ApiResult<T> {
        self.store.call(job).await.map_err(|error| match error {
            LabelError::Unknown(id) => ApiError::not_found(format!("no label with id {id}")),
            other => {
                tracing::warn!(error = %other, "label store failed");
                ApiError::failed("could not read or write labels; see the server log")
            }
        })
    }

    async fn add_label(&self, request: LabelRequest) -> ApiResult<i64> {
        let kind = label_kind(request.kind);
        self.metric(&request.metric)?;
        let label = NewLabel {
            metric: request.metric,
            from: request.from,
            to: request.to,
            kind,
            note: request.note,
        };
        let now = crate::times::unix_now();
        self.with_labels(move |labels| labels.add_label(&label, WEB_ACTOR, now))
            .await
            .map(|record| record.id)
    }

    async fn set_alert_label(&self, id: u64, label: AlertLabel) -> ApiResult<()> {
        let label = stored_label(label);
        let now = crate::times::unix_now();
        self.store
            .call(move |store| store.label(id, label, WEB_ACTOR, now))
            .await
            .map_err(|error| match error {
                AlertError::UnknownAlert(id) => {
                    ApiError::not_found(format!("no alert with id {id}"))
                }
                other => store_error("label alert")(other),
            })
    }

    async fn load_alerts(
        &self,
        metric: Option<String>,
        state: Option<AlertState>,
        limit: u32,
        since_hours: Option<u32>,
    ) -> ApiResult<Vec<AlertRow>> {
        let filter = AlertFilter {
            metric,
            state,
            since_hours,
            until: None,
        };
        let (rows, _) = self.load_alert_page(filter, 0, limit).await?;
        Ok(rows)
    }

    /// The store has no count of its own: the matching records are read
    /// whole (one row each, no events), and only the page's rows are built.
    async fn load_alert_page(
        &self,
        filter: AlertFilter,
        offset: u32,
        limit: u32,
    ) -> ApiResult<(Vec<AlertRow>, u64)> {
        let now = crate::times::unix_now();
        let filter = HistoryFilter {
            metric: filter.metric,
            status: filter.state.map(alert_status),
            from: filter
                .since_hours
                .map(|hours| now - i64::from(hours) * 3600),
            // The store's bound is exclusive; the page's includes the moment.
            to: filter.until.map(|until| until.saturating_add(1)),
        };
        let (offset, limit) = (offset as usize, limit as usize);
        self.store
            .call(move |store| {
                let alerts = store.history(&filter, usize::MAX)?;
                let total = alerts.len() as u64;
                let rows = alerts
                    .into_iter()
                    .skip(offset)
                    .take(limit)
                    .map(|alert| alert_row(store, alert))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((rows, total))
            })
            .await
            .map_err(store_error("alert history"))
    }

    async fn load_silences(&self) -> ApiResult<Vec<SilenceRow>> {
        let now = crate::times::unix_now();
        let silences = self
            .store
            .call(move |store| store.active_silences(now))
            .await
            .map_err(store_error("silences"))?;
        Ok(silences.iter().map(silence_row).collect())
    }

    async fn add_silence(&self, request: SilenceRequest) -> ApiResult<SilenceRow> {
        let def = request
            .metric
            .as_deref()
            .map(|metric| self.metric(metric))
            .transpose()?;
        let slice = request
            .slice
            .map(|(dimension, value)| SliceKey { dimension, value });
        let scope =
            silence_scope(def, slice).map_err(|e| ApiError::refused(Refusal::BadRequest, e))?;
        let now = crate::times::unix_now();
        let until = now + i64::from(request.minutes) * 60;
        let silence = self
            .store
            .call(move |store| store.silence(scope, until, WEB_ACTOR, now))
            .await
            .map_err(store_error("silence"))?;
        Ok(silence_row(&silence))
    }

    async fn stop_silence(&self, id: i64) -> ApiResult<()> {
        let now = crate::times::unix_now();
        self.store
            .call(move |store| store.end_silence(id, now))
            .await
            .map_err(|error| match error {
                AlertError::UnknownSilence(id) => {
                    ApiError::not_found(format!("no silence with id {id}"))
                }
                other => store_error("end silence")(other),
            })
    }

    fn metric(&self, name: &str) -> ApiResult<&MetricDef> {
        self.metrics
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| ApiError::not_found(format!("unknown metric {name:?}")))
    }

    async fn load(
        &self,
        name: &str,
        days: u32,
        slice: Option<(String, String)>,
    ) -> ApiResult<MetricHistory> {
        let metric = self.metric(name)?;
        let slice = slice
            .map(|(dimension, value)| {
                if metric.slices.contains(&dimension) {
                    Ok(SliceKey { dimension, value })
                } else {
                    Err(not_sliced_by(metric, &dimension))
                }
            })
            .transpose()?;
        if let Some(slice) = &slice {
            self.slice_values
                .check(&self.source, metric, &slice.dimension, &slice.value)
                .await?;
        }
        // The newest complete bucket ends at the current bucket's start.
        let to = chrono::Utc::now().timestamp().div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS;
        let from = to - i64::from(days) * 86_400;
        let range = TimeRange { from, to };
        let read = |slice: Option<&SliceKey>| {
            let slice = slice.cloned();
            async move {
                self.history_cache
                    .series(&self.source, metric, range, slice.as_ref())
                    .await
                    .map_err(|error| {
                        let error = crate::redact::scrub(&error.to_string());
                        tracing::warn!(metric = %metric.name, %error, "history query failed");
                        ApiError::failed(format!("could not read {}: {error}", metric.name))
                    })
            }
        };
        let buckets = read(slice.as_ref()).await?;
        // The values as the check sees them (a silent count bucket is a
        // zero once the metric's own table has data past it); without a
        // watermark, as stored.
        let watermark = crate::check::Watermarks::read(&self.source)
            .await
            .ok()
            .and_then(|watermarks| watermarks.for_metric(metric));
        let values = crate::check::grid_values(metric, range, watermark, &buckets);
        let whole = match &slice {
            Some(_) => Some(crate::check::grid_values(
                metric,
                range,
                watermark,
                &read(None).await?,
            )),
            None => None,
        };
        let check = self.check_rules(metric, range, whole).await;
        // Labels are an extra: when they cannot be read the chart still shows.
        let labels = match self.labels_of(&metric.name, range).await {
            Ok(spans) => spans
                .into_iter()
                .map(|span| label_span(span, slice.as_ref()))
                .collect(),
            Err(error) => {
                tracing::warn!(metric = %metric.name, %error, "labels unreadable");
                Vec::new()
            }
        };
        Ok(MetricHistory {
            name: metric.name.clone(),
            title: match &slice {
                Some(slice) => format!("{} · {} = {}", metric.title, slice.dimension, slice.value),
                None => metric.title.clone(),
            },
            start: from,
            step: BUCKET_SECONDS,
            values,
            labels,
            slice: slice_text(slice.as_ref()),
            check: Some(check),
        })
    }

    /// The check's rules for `metric` as the lab's replay applies them over
    /// `range`, with the silences (configured, from buttons or the UI, ended
    /// or not) that were in force in it, so the replay mutes what the check
    /// muted.
    async fn check_rules(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        whole: Option<Vec<Option<f64>>>,
    ) -> CheckRules {
        let detectors = crate::settings::in_effect(&self.store, &self.configured_detectors).await;
        let (floor, lifecycle, grace_secs) = self.alert_rules;
        // A check runs `grace_secs` after its bucket ends; its silences are
        // judged then. Without them the replay still shows every alert, only
        // not which were muted, so a failed read is logged, not fatal.
        let (from, to) = (range.from, range.to + BUCKET_SECONDS + grace_secs);
        let silences = self
            .store
            .call(move |store| store.silences_overlapping(from, to))
            .await
            .unwrap_or_else(|error| {
                tracing::warn!(%error, "silences for the lab's replay");
                Vec::new()
            });
        let name = metric.name.clone();
        let silences = silences
            .into_iter()
            .filter(|s| match &s.scope {
                detect::alerting::SilenceScope::All => true,
                detect::alerting::SilenceScope::Metric { metric }
                | detect::alerting::SilenceScope::Slice { metric, .. } => *metric == name,
            })
            .collect();
        CheckRules {
            silences,
            detector: detectors.for_metric(&metric.name).as_single().cloned(),
            measure: significance::measure(&metric.aggregate),
            floor,
            lifecycle,
            grace_secs,
            whole,
        }
    }

    async fn load_slices(
        &self,
        name: &str,
        dimension: Option<String>,
        days: u32,
    ) -> ApiResult<MetricSlices> {
        let metric = self.metric(name)?;
        let dimension = match dimension {
            None => metric.slices.first().cloned().unwrap_or_default(),
            Some(dimension) if metric.slices.contains(&dimension) => dimension,
            Some(dimension) => return Err(not_sliced_by(metric, &dimension)),
        };
        let mut slices = Vec::new();
        if !dimension.is_empty() {
            let to = chrono::Utc::now().timestamp().div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS;
            let range = TimeRange {
                from: to - i64::from(days) * 86_400,
                to,
            };
            // What a check watches of the dimension: its top values by
            // volume and `(other)`. Read uncapped, a city dimension's 2,000
            // series of a week cost about 200 MB for one page view.
            let top = crate::metrics::dimensions::top(metric, &dimension);
            let by_value = self
                .source
                .top_series_by_slice(metric, range, &dimension, top)
                .await
                .map_err(|error| {
                    let error = crate::redact::scrub(&error.to_string());
                    tracing::warn!(metric = %metric.name, %error, "slice query failed");
                    ApiError::failed(format!(
                        "could not read {} by {dimension}: {error}",
                        metric.name
                    ))
                })?;
            for (value, buckets) in by_value {
                slices.push(SliceSeries {
                    value,
                    start: range.from,
                    step: BUCKET_SECONDS,
                    values: on_grid(range, &buckets),
                });
            }
            // The biggest slices first, then only what the page shows: a
            // city dimension's thousands of series stay here, the page
            // gets a count.
            let total = |s: &SliceSeries| s.values.iter().flatten().sum::<f64>();
            slices.sort_by(|a, b| total(b).total_cmp(&total(a)));
        }
        let total = slices.len();
        Ok(MetricSlices {
            dimensions: metric.slices.clone(),
            dimension,
            slices: app::api::shown_slices(slices),
            total,
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
                slices: m.slices.clone(),
                measure: significance::measure(&m.aggregate),
            })
            .collect()
    }

    fn history<'a>(
        &'a self,
        name: &'a str,
        days: u32,
        slice: Option<(String, String)>,
    ) -> BoxFuture<'a, ApiResult<MetricHistory>> {
        Box::pin(self.load(name, days, slice))
    }

    fn slices<'a>(
        &'a self,
        name: &'a str,
        dimension: Option<String>,
        days: u32,
    ) -> BoxFuture<'a, ApiResult<MetricSlices>> {
        Box::pin(self.load_slices(name, dimension, days))
    }

    fn alerts(
        &self,
        metric: Option<String>,
        state: Option<AlertState>,
        limit: u32,
        since_hours: Option<u32>,
    ) -> BoxFuture<'_, ApiResult<Vec<AlertRow>>> {
        Box::pin(self.load_alerts(metric, state, limit, since_hours))
    }

    fn alert_page(
        &self,
        filter: AlertFilter,
        offset: u32,
        limit: u32,
    ) -> BoxFuture<'_, ApiResult<(Vec<AlertRow>, u64)>> {
        Box::pin(self.load_alert_page(filter, offset, limit))
    }

    fn check_slice<'a>(
        &'a self,
        metric: &'a str,
        dimension: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, ApiResult<()>> {
        Box::pin(async move {
            let def = self.metric(metric)?;
            if !def.slices.iter().any(|d| d == dimension) {
                return Err(not_sliced_by(def, dimension));
            }
            self.slice_values
                .check(&self.source, def, dimension, value)
                .await
        })
    }

    fn silences(&self) -> BoxFuture<'_, ApiResult<Vec<SilenceRow>>> {
        Box::pin(self.load_silences())
    }

    fn create_silence(&self, request: SilenceRequest) -> BoxFuture<'_, ApiResult<SilenceRow>> {
        Box::pin(self.add_silence(request))
    }

    fn end_silence(&self, id: i64) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(self.stop_silence(id))
    }

    fn label_alert(&self, id: u64, label: AlertLabel) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(self.set_alert_label(id, label))
    }

    fn create_label(&self, request: LabelRequest) -> BoxFuture<'_, ApiResult<i64>> {
        Box::pin(self.add_label(request))
    }

    fn remove_label(&self, id: i64) -> BoxFuture<'_, ApiResult<()>> {
        let now = crate::times::unix_now();
        Box::pin(self.with_labels(move |labels| labels.remove_label(id, now)))
    }

    fn detector_settings(&self, metric: String) -> BoxFuture<'_, ApiResult<DetectorSettings>> {
        Box::pin(self.load_detector_settings(metric))
    }

    fn apply_detector(
        &self,
        metric: String,
        detector: Option<detect::Ensemble>,
    ) -> BoxFuture<'_, ApiResult<DetectorSettings>> {
        Box::pin(self.change_detector(metric, detector))
    }

    fn writes_enabled(&self) -> bool {
        self.operator_token.is_some()
    }

    fn check_operator_token(&self, token: &str) -> bool {
        self.operator_token
            .as_deref()
            .is_some_and(|expected| constant_time_eq(token.as_bytes(), expected.as_bytes()))
    }

    fn overview(&self) -> BoxFuture<'_, ApiResult<Overview>> {
        Box::pin(super::overview::load(
            &self.source,
            &self.metrics,
            &self.store,
            &self.sparks,
            crate::times::unix_now(),
        ))
    }

    fn report(&self, date: Option<String>) -> BoxFuture<'_, ApiResult<DailyReport>> {
        let now = crate::times::unix_now();
        Box::pin(async move {
            let offset = self.utc_offset_minutes;
            let (source, metrics, experiments) = (&self.source, &self.metrics, &self.experiments);
            super::report::load(source, metrics, experiments, &self.store, offset, date, now).await
        })
    }

    fn experiments(&self) -> BoxFuture<'_, ApiResult<ExperimentList>> {
        Box::pin(super::experiments::list(
            &self.source,
            &self.experiments,
            self.utc_offset_minutes,
        ))
    }

    fn experiment(&self, name: String) -> BoxFuture<'_, ApiResult<ExperimentDetail>> {
        Box::pin(async move {
            let (source, metrics) = (&self.source, &self.metrics);
            let offset = self.utc_offset_minutes;
            let (experiments, cache) = (&self.experiments, &self.experiment_sums);
            super::experiments::detail(source, cache, experiments, metrics, offset, &name).await
        })
    }

    fn replay_experiment(
        &self,
        name: String,
        rules: ReplayRules,
    ) -> BoxFuture<'_, ApiResult<ExperimentReplay>> {
        Box::pin(async move {
            let (_, lifecycle, grace_secs) = self.alert_rules;
            let context = super::experiment_replay::ReplayContext {
                source: &self.source,
                store: &self.store,
                configured: &self.experiments,
                metrics: &self.metrics,
                lifecycle,
                grace_secs,
                utc_offset_minutes: self.utc_offset_minutes,
            };
            super::experiment_replay::load(&context, &name, rules).await
        })
    }
}

/// Logs a store failure and turns it into a message without internals.
fn store_error(what: &'static str) -> impl Fn(AlertError) -> ApiError {
    move |error| {
        tracing::warn!(%error, "{what} failed");
        ApiError::failed(format!(
            "could not read or write the alert state ({what}); see the server log"
        ))
    }
}

/// 400: `metric` has no dimension `dimension`; the message lists those it has.
fn not_sliced_by(metric: &MetricDef, dimension: &str) -> ApiError {
    ApiError::refused(
        Refusal::BadRequest,
        format!(
            "{} is not sliced by {dimension:?}: use one of {}",
            metric.name,
            metric.slices.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimulatorConfig;
    use crate::metrics::catalogue;
    use crate::simulator::Simulator;
    use crate::sources::SqliteStore;
    use crate::state::StateLocation;

    #[tokio::test]
    async fn the_slices_sent_are_the_cards_the_page_shows_and_a_count() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("vigil.sqlite")).expect("opens");
        let now = chrono::Utc::now().timestamp();
        let end = now - now.rem_euclid(BUCKET_SECONDS);
        let start = end - 86_400;
        let config = SimulatorConfig {
            users: 300,
            days: 1,
            seed: 9,
        };
        let mut simulator = Simulator::new(&config, end, Some((start, end)));
        simulator.spread_cities(60);
        let source = Source::Sqlite(store);
        (source.write_events(simulator.generate(start, end)).await).expect("writes");
        let mut views = catalogue::builtin_metric("feed_views").expect("built in");
        views.slices = vec!["city".into(), "os".into()];
        let state =
            State::open(&StateLocation::Sqlite(dir.path().join("state.sqlite"))).expect("state");
        let backend = SourceBackend::new(Arc::new(source), vec![views.clone()], state, None);

        let range = TimeRange {
            from: end - 7 * 86_400,
            to: end,
        };
        let cities = (backend.source.series_by_slice(&views, range, "city").await).expect("reads");
        let top = crate::metrics::dimensions::top(&views, "city");
        let watched = (backend
            .source
            .top_series_by_slice(&views, range, "city", top)
            .await)
            .expect("reads");
        let sent = (backend
            .load_slices("feed_views", Some("city".into()), 7)
            .await)
            .expect("slices");
        assert!(cities.len() > top, "{} cities", cities.len());
        // What a check watches: the top cities and the rest as one series,
        // not every city's week (2,000 of them cost about 200 MB).
        assert_eq!(watched.len(), top + 1);
        assert!(watched.contains_key(crate::metrics::dimensions::OTHER));
        assert_eq!(sent.total, watched.len());
        assert_eq!(sent.slices.len(), app::api::SLICE_CARDS);
        let mut names: Vec<&String> = sent.slices.iter().map(|s| &s.value).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), app::api::SLICE_CARDS, "each once");
        assert!(names.iter().all(|name| watched.contains_key(*name)));

        // Fewer values than cards: every one, the largest first.
        let sent = (backend
            .load_slices("feed_views", Some("os".into()), 7)
            .await)
            .expect("slices");
        assert!(sent.total >= 2, "{sent:?}");
        assert_eq!(sent.total, sent.slices.len());
        let total = |s: &SliceSeries| s.values.iter().flatten().sum::<f64>();
        assert!(sent.slices.windows(2).all(|w| total(&w[0]) >= total(&w[1])));
    }
}
