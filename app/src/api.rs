//! What the pages ask the server for: plain data types and the server functions
//! that return them. The server functions only declare the contract; the server
//! binary supplies a [`backend::Backend`] through Leptos context, so this crate
//! never depends on a database or a config file.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A metric as the pages list it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricSummary {
    pub name: String,
    pub title: String,
    /// The dimensions the metric is sliced by (none: not sliced).
    #[serde(default)]
    pub slices: Vec<String>,
}

/// Why a request was refused: the HTTP status a server function answers
/// with. Without one, every error is a 500, which monitoring and scripts
/// read as a fault of the server rather than of the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 400: a parameter is malformed or out of range.
    BadRequest,
    /// 401: the operator token is missing.
    Unauthorized,
    /// 403: the token is wrong, or writes are disabled.
    Forbidden,
    /// 404: no such metric, silence or page.
    NotFound,
}

impl Refusal {
    pub fn status(self) -> u16 {
        match self {
            Refusal::BadRequest => 400,
            Refusal::Unauthorized => 401,
            Refusal::Forbidden => 403,
            Refusal::NotFound => 404,
        }
    }
}

/// Sets the status of the response being built (a server function's, or the
/// page's while it renders on the server); nothing in the browser.
pub fn set_status(status: u16) {
    #[cfg(feature = "ssr")]
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(code) = leptos::server_fn::http_export::StatusCode::from_u16(status) {
            options.set_status(code);
        }
    }
    #[cfg(not(feature = "ssr"))]
    let _ = status;
}

/// The error a server function returns for a refused request, answered with
/// the refusal's status.
pub fn refuse(why: Refusal, message: impl std::fmt::Display) -> ServerFnError {
    set_status(why.status());
    ServerFnError::new(message.to_string())
}

/// A server function's error as a person should read it: the server's own
/// message without the transport's "error running server function" prefix.
pub fn error_text(error: &ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message.clone(),
        other => other.to_string(),
    }
}

/// The metric named `name` among `metrics`; the message lists the others.
pub fn find_metric<'a>(
    metrics: &'a [MetricSummary],
    name: &str,
) -> Result<&'a MetricSummary, String> {
    metrics.iter().find(|m| m.name == name).ok_or_else(|| {
        let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
        format!(
            "unknown metric {name:?}: the metrics are {}",
            names.join(", ")
        )
    })
}

/// `dimension=value` checked against the dimensions `metric` is sliced by.
pub fn metric_slice(metric: &MetricSummary, text: &str) -> Result<(String, String), String> {
    let (dimension, value) = parse_slice(text)?;
    metric_dimension(metric, &dimension)?;
    Ok((dimension, value))
}

/// Ok when `metric` is sliced by `dimension`; else the dimensions it has.
pub fn metric_dimension(metric: &MetricSummary, dimension: &str) -> Result<(), String> {
    if metric.slices.iter().any(|d| d == dimension) {
        return Ok(());
    }
    Err(if metric.slices.is_empty() {
        format!("{} has no slices", metric.name)
    } else {
        format!(
            "{} is not sliced by {dimension:?}: use one of {}",
            metric.name,
            metric.slices.join(", ")
        )
    })
}

/// A metric's recent history at a fixed step; `None` marks a bucket with no data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricHistory {
    pub name: String,
    pub title: String,
    /// Unix seconds of the first bucket.
    pub start: i64,
    /// Seconds between buckets.
    pub step: i64,
    pub values: Vec<Option<f64>>,
    /// Labelled spans of this metric inside the range, oldest first: what the
    /// lab scores detectors against and the chart shades.
    #[serde(default)]
    pub labels: Vec<LabelSpan>,
    /// `dimension=value` when this is one slice of the metric.
    #[serde(default)]
    pub slice: Option<String>,
}

/// A labelled stretch of a metric's history: an incident the source recorded,
/// an alert labelled from Telegram or the alerts page, or a span marked on the
/// metric page. The server merges them by one rule (`server::labels`), and
/// the lab scores detectors by `role` exactly as `vigil tune` does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelSpan {
    /// Unix seconds, inclusive.
    pub from: i64,
    /// Unix seconds, exclusive.
    pub to: i64,
    /// What happened, e.g. `outage`, `slow_decline`, `false_alarm`.
    pub kind: String,
    pub description: String,
    /// `dimension=value` when the span concerns one slice only.
    pub slice: Option<String>,
    /// How the span counts when scoring the whole metric.
    pub role: LabelRole,
    /// `source`, `alert` or `user` (marked on the metric page).
    pub origin: String,
    /// Set for spans marked on the metric page: they can be removed.
    pub id: Option<i64>,
}

/// How a labelled span counts when a detector is scored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelRole {
    /// Something broke: an alert inside is found, none is a miss.
    Incident,
    /// Neither right nor wrong (a slice's incident, an expected change).
    Neutral,
    /// Nothing broke: an alert inside is false.
    FalseAlarm,
}

impl MetricHistory {
    /// The history as the detection crate's series type.
    pub fn to_series(&self) -> Result<detect::Series, detect::DetectError> {
        detect::Series::new(self.start, self.step, self.values.clone())
    }
}

/// Days of history the metric page loads: the longest range preset (30 days)
/// plus one day of warm-up. Leading buckets without data are trimmed.
pub const HISTORY_DAYS: u32 = 31;

#[server(endpoint = "fetch_metrics")]
pub async fn fetch_metrics() -> Result<Vec<MetricSummary>, ServerFnError> {
    let backend = backend::from_context()?;
    Ok(backend.metrics())
}

/// A metric's history, whole or of one slice (`slice` as `dimension=value`).
#[server(endpoint = "fetch_metric_history")]
pub async fn fetch_metric_history(
    name: String,
    days: u32,
    slice: Option<String>,
) -> Result<MetricHistory, ServerFnError> {
    let backend = backend::from_context()?;
    // One month is the longest history a page asks for; bound it so a crafted
    // request cannot make the server read years of events.
    let days = days.clamp(1, 31);
    let metrics = backend.metrics();
    let metric = find_metric(&metrics, &name).map_err(|e| refuse(Refusal::NotFound, e))?;
    let slice = non_blank(slice)
        .map(|text| metric_slice(metric, &text))
        .transpose()
        .map_err(|e| refuse(Refusal::BadRequest, e))?;
    backend
        .history(&name, days, slice)
        .await
        .map_err(ServerFnError::new)
}

/// `dimension=value` as a pair, by [`detect::SliceKey::parse`]; the message
/// says what is expected.
pub fn parse_slice(text: &str) -> Result<(String, String), String> {
    let key = detect::SliceKey::parse(text).map_err(|error| error.to_string())?;
    Ok((key.dimension, key.value))
}

/// One slice's recent history: a small multiple on the metric page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SliceSeries {
    pub value: String,
    /// Unix seconds of the first bucket.
    pub start: i64,
    pub step: i64,
    pub values: Vec<Option<f64>>,
}

/// A metric's slices along one dimension.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricSlices {
    /// Every dimension the metric is sliced by.
    pub dimensions: Vec<String>,
    /// The one shown (the first when none was asked for); empty when the
    /// metric has no slices.
    pub dimension: String,
    /// Largest total first.
    pub slices: Vec<SliceSeries>,
}

/// Days of history in each small multiple.
pub const SLICE_DAYS: u32 = 7;

#[server(endpoint = "fetch_slices")]
pub async fn fetch_slices(
    name: String,
    dimension: Option<String>,
) -> Result<MetricSlices, ServerFnError> {
    let backend = backend::from_context()?;
    let metrics = backend.metrics();
    let metric = find_metric(&metrics, &name).map_err(|e| refuse(Refusal::NotFound, e))?;
    let dimension = non_blank(dimension);
    if let Some(dimension) = &dimension {
        metric_dimension(metric, dimension).map_err(|e| refuse(Refusal::BadRequest, e))?;
    }
    backend
        .slices(&name, dimension, SLICE_DAYS)
        .await
        .map_err(ServerFnError::new)
}

/// One alert as the history page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRow {
    pub id: u64,
    /// Unix seconds of the first anomalous bucket.
    pub started_at: i64,
    pub metric: String,
    /// `dimension=value`, or `None` for the whole metric.
    pub slice: Option<String>,
    pub value: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// (value - expected) / expected: -0.23 is 23% below.
    pub deviation: Option<f64>,
    /// `firing` or `resolved`.
    pub state: String,
    pub resolved_at: Option<i64>,
    /// Whether its last notification was muted by a silence.
    pub muted: bool,
    /// Its notifications: `pending`, `sent` (to Telegram), `failed`, `logged`
    /// (no Telegram configured), or `muted` (nothing was sent).
    pub delivery: String,
    /// `false_alarm` or `expected`, set from a button.
    pub label: Option<String>,
    pub label_by: Option<String>,
    /// Button presses and labels, oldest first.
    pub events: Vec<AlertEventRow>,
}

/// One entry of an alert's history: a button press or a label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertEventRow {
    /// Unix seconds.
    pub at: i64,
    pub kind: String,
    pub details: String,
    pub actor: Option<String>,
}

/// A silence in force.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SilenceRow {
    pub id: i64,
    /// `None` mutes every metric.
    pub metric: Option<String>,
    /// `dimension=value`, or `None` for the whole metric.
    pub slice: Option<String>,
    /// Unix seconds.
    pub until: i64,
    pub created_by: String,
    pub created_at: i64,
}

/// A validated request to mute: what [`create_silence`] hands the backend.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilenceRequest {
    /// `None` mutes everything.
    pub metric: Option<String>,
    /// (dimension, value); only with a metric.
    pub slice: Option<(String, String)>,
    pub minutes: u32,
}

/// The longest silence: one year.
pub const MAX_SILENCE_MINUTES: u32 = 525_600;
/// The longest "since" of the alert history filter: a year.
pub const MAX_SINCE_HOURS: u32 = 366 * 24;
/// The most alerts one request returns.
pub const MAX_ALERTS: u32 = 1000;
/// What the web UI shows to someone without the operator token configured.
pub const READ_ONLY: &str =
    "read-only: no operator token configured (set VIGIL_OPERATOR_TOKEN and restart vigil serve)";

/// `Some` non-blank text, trimmed; blank is `None`.
fn non_blank(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

/// Checks a silence request's fields; the message says what is wrong.
pub fn validate_silence(
    metric: Option<String>,
    slice: Option<String>,
    minutes: u32,
    known_metrics: &[String],
) -> Result<SilenceRequest, String> {
    let metric = non_blank(metric);
    let slice = non_blank(slice);
    if let Some(name) = &metric {
        if !known_metrics.iter().any(|m| m == name) {
            return Err(format!("unknown metric {name:?}"));
        }
    }
    let slice = match slice {
        None => None,
        Some(text) => {
            if metric.is_none() {
                return Err("a slice needs a metric: choose one, or clear the slice".into());
            }
            Some(parse_slice(&text)?)
        }
    };
    if !(1..=MAX_SILENCE_MINUTES).contains(&minutes) {
        return Err(format!(
            "duration {minutes} minutes: expected 1 to {MAX_SILENCE_MINUTES} (one year)"
        ));
    }
    Ok(SilenceRequest {
        metric,
        slice,
        minutes,
    })
}

#[server(endpoint = "fetch_alerts")]
pub async fn fetch_alerts(
    metric: Option<String>,
    state: Option<String>,
    limit: u32,
    since_hours: Option<u32>,
) -> Result<Vec<AlertRow>, ServerFnError> {
    let backend = backend::from_context()?;
    let metric = non_blank(metric);
    if let Some(name) = &metric {
        find_metric(&backend.metrics(), name).map_err(|e| refuse(Refusal::NotFound, e))?;
    }
    let state = non_blank(state);
    if let Some(state) = &state {
        if state != "firing" && state != "resolved" {
            return Err(refuse(
                Refusal::BadRequest,
                format!("state {state:?}: expected firing or resolved"),
            ));
        }
    }
    if let Some(hours) = since_hours {
        if !(1..=MAX_SINCE_HOURS).contains(&hours) {
            return Err(refuse(
                Refusal::BadRequest,
                format!("since {hours} hours: expected 1 to {MAX_SINCE_HOURS}"),
            ));
        }
    }
    let limit = limit.clamp(1, MAX_ALERTS);
    backend
        .alerts(metric, state, limit, since_hours)
        .await
        .map_err(ServerFnError::new)
}

#[server(endpoint = "fetch_silences")]
pub async fn fetch_silences() -> Result<Vec<SilenceRow>, ServerFnError> {
    let backend = backend::from_context()?;
    backend.silences().await.map_err(ServerFnError::new)
}

#[server(endpoint = "create_silence")]
pub async fn create_silence(
    metric: Option<String>,
    slice: Option<String>,
    minutes: u32,
    token: String,
) -> Result<SilenceRow, ServerFnError> {
    let backend = backend::from_context()?;
    backend::authorize(backend.as_ref(), &token)?;
    let known: Vec<String> = backend.metrics().into_iter().map(|m| m.name).collect();
    let request = validate_silence(metric, slice, minutes, &known)
        .map_err(|e| refuse(Refusal::BadRequest, e))?;
    backend
        .create_silence(request)
        .await
        .map_err(ServerFnError::new)
}

#[server(endpoint = "end_silence")]
pub async fn end_silence(id: i64, token: String) -> Result<(), ServerFnError> {
    let backend = backend::from_context()?;
    backend::authorize(backend.as_ref(), &token)?;
    if id <= 0 {
        return Err(refuse(
            Refusal::NotFound,
            format!("no silence with id {id}"),
        ));
    }
    backend.end_silence(id).await.map_err(|error| {
        if error.starts_with("no silence with id") {
            refuse(Refusal::NotFound, error)
        } else {
            ServerFnError::new(error)
        }
    })
}

/// Whether writes (labels, silences, applying settings) are possible: an
/// operator token is configured on the server. The pages say so up front.
#[server(endpoint = "fetch_writes_enabled")]
pub async fn fetch_writes_enabled() -> Result<bool, ServerFnError> {
    let backend = backend::from_context()?;
    Ok(backend.writes_enabled())
}

/// What a person can say about an alert from the history page (the same as
/// the Telegram buttons): it feeds `vigil tune`, `vigil eval --metric` and the lab.
pub const ALERT_LABELS: [&str; 2] = ["false_alarm", "expected"];

#[server(endpoint = "label_alert")]
pub async fn label_alert(id: u64, label: String, token: String) -> Result<(), ServerFnError> {
    let backend = backend::from_context()?;
    backend::authorize(backend.as_ref(), &token)?;
    if !ALERT_LABELS.contains(&label.as_str()) {
        return Err(refuse(
            Refusal::BadRequest,
            format!("label {label:?}: expected false_alarm or expected"),
        ));
    }
    backend
        .label_alert(id, label)
        .await
        .map_err(ServerFnError::new)
}

/// Kinds of span a person can mark on a metric's history.
pub const LABEL_KINDS: [&str; 3] = ["incident", "false_alarm", "expected"];
/// The longest span one label covers: 31 days, the longest history a page shows.
pub const MAX_LABEL_SECONDS: i64 = 31 * 86_400;
/// The longest note on a label.
pub const MAX_LABEL_NOTE: usize = 500;

/// A validated request to mark a span: what [`create_label`] hands the backend.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelRequest {
    pub metric: String,
    /// Unix seconds, `[from, to)`.
    pub from: i64,
    pub to: i64,
    /// One of [`LABEL_KINDS`].
    pub kind: String,
    pub note: String,
}

/// Checks a label's fields; the message says what is wrong.
pub fn validate_label(
    request: LabelRequest,
    known_metrics: &[String],
) -> Result<LabelRequest, String> {
    if !known_metrics.contains(&request.metric) {
        return Err(format!("unknown metric {:?}", request.metric));
    }
    if !LABEL_KINDS.contains(&request.kind.as_str()) {
        return Err(format!(
            "kind {:?}: expected incident, false_alarm or expected",
            request.kind
        ));
    }
    if request.from < 0 {
        return Err("the span must start after 1970".into());
    }
    if request.from >= request.to {
        return Err("the span must end after it starts".into());
    }
    // `from >= 0` and `to > from`, so the difference cannot overflow.
    if request.to - request.from > MAX_LABEL_SECONDS {
        return Err("a label spans at most 31 days".into());
    }
    let note = request.note.trim().to_string();
    if note.chars().count() > MAX_LABEL_NOTE {
        return Err(format!(
            "the note is longer than {MAX_LABEL_NOTE} characters"
        ));
    }
    Ok(LabelRequest { note, ..request })
}

/// Marks a span of a metric's history; returns the new label's id.
#[server(endpoint = "create_label")]
pub async fn create_label(
    metric: String,
    from: i64,
    to: i64,
    kind: String,
    note: String,
    token: String,
) -> Result<i64, ServerFnError> {
    let backend = backend::from_context()?;
    backend::authorize(backend.as_ref(), &token)?;
    let known: Vec<String> = backend.metrics().into_iter().map(|m| m.name).collect();
    let request = validate_label(
        LabelRequest {
            metric,
            from,
            to,
            kind,
            note,
        },
        &known,
    )
    .map_err(|e| refuse(Refusal::BadRequest, e))?;
    backend
        .create_label(request)
        .await
        .map_err(ServerFnError::new)
}

/// Removes a label marked in the UI.
#[server(endpoint = "remove_label")]
pub async fn remove_label(id: i64, token: String) -> Result<(), ServerFnError> {
    let backend = backend::from_context()?;
    backend::authorize(backend.as_ref(), &token)?;
    backend.remove_label(id).await.map_err(ServerFnError::new)
}

/// The detector judging a metric, and how it came to be.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DetectorSettings {
    pub metric: String,
    /// The detector in effect, as JSON in the shape of a `[detectors]` entry:
    /// `{"detector":"iqr","n":5,...}` or `{"combine":"any","members":[...]}`.
    pub in_effect: String,
    /// Its short name: `iqr`, `any(seasonal+drop)`.
    pub name: String,
    /// `config` (the config file's choice), `default` (vigil's built-in one:
    /// the config chooses nothing for this metric) or `applied` (from the lab).
    pub origin: String,
    /// Changes applied from the lab, newest first.
    pub changes: Vec<SettingChangeRow>,
}

/// One change of a metric's detector, with the old and new values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingChangeRow {
    /// Unix seconds.
    pub at: i64,
    pub by: String,
    /// The detector applied (JSON as in [`DetectorSettings::in_effect`]);
    /// `None` went back to the config file's.
    pub detector: Option<String>,
    /// What was in effect before (JSON).
    pub previous: String,
}

#[server(endpoint = "fetch_detector")]
pub async fn fetch_detector(metric: String) -> Result<DetectorSettings, ServerFnError> {
    let backend = backend::from_context()?;
    find_metric(&backend.metrics(), &metric).map_err(|e| refuse(Refusal::NotFound, e))?;
    backend
        .detector_settings(metric)
        .await
        .map_err(ServerFnError::new)
}

/// Applies a detector to a metric from the next check on (`detector` as JSON
/// in the shape of a `[detectors]` entry), or, with an empty `detector`,
/// returns the metric to the config file's choice. The change is recorded
/// with its time and the old and new values.
#[server(endpoint = "apply_detector")]
pub async fn apply_detector(
    metric: String,
    detector: String,
    token: String,
) -> Result<DetectorSettings, ServerFnError> {
    let backend = backend::from_context()?;
    backend::authorize(backend.as_ref(), &token)?;
    if detector.len() > 16 * 1024 {
        return Err(refuse(
            Refusal::BadRequest,
            "the detector settings are too long",
        ));
    }
    find_metric(&backend.metrics(), &metric).map_err(|e| refuse(Refusal::NotFound, e))?;
    let detector = non_blank(Some(detector));
    backend
        .apply_detector(metric, detector)
        .await
        .map_err(ServerFnError::new)
}

// ---- Overview (`/`): one card per metric -------------------------------------

/// How a metric stands at its newest check. Shown as text and a shape, never
/// by color alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CardStatus {
    Ok,
    /// The whole metric (no slice) has an open alert.
    Firing,
    /// A silence in force covers the whole metric.
    Muted,
    /// The newest checked bucket has no value, or the source could not be read.
    NoData,
}

impl CardStatus {
    /// Precedence: an open alert first (muted or not, it is what matters),
    /// then a silence, then missing data.
    pub fn derive(firing: bool, muted: bool, has_data: bool) -> Self {
        if firing {
            Self::Firing
        } else if muted {
            Self::Muted
        } else if !has_data {
            Self::NoData
        } else {
            Self::Ok
        }
    }

    /// Stable machine name: css class suffix and `data-status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Firing => "firing",
            Self::Muted => "muted",
            Self::NoData => "no-data",
        }
    }

    /// What the card says.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Firing => "firing",
            Self::Muted => "muted",
            Self::NoData => "no data",
        }
    }
}

/// What the newest check computed for a whole metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CardEvaluation {
    /// Unix seconds of the evaluated bucket's start.
    pub bucket: i64,
    pub value: Option<f64>,
    pub expected: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub is_anomaly: bool,
}

/// A metric's newest alert (of the metric or any of its slices).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CardAlert {
    pub id: u64,
    /// Unix seconds of the first anomalous bucket.
    pub started_at: i64,
    /// `dimension=value`, or `None` for the whole metric.
    pub slice: Option<String>,
    pub deviation: Option<f64>,
    /// `firing` or `resolved`.
    pub state: String,
}

/// One metric on the overview.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricCard {
    pub name: String,
    pub title: String,
    /// The last 24 hours at the bucket step, for the sparkline; empty when the
    /// source could not be read.
    pub start: i64,
    pub step: i64,
    pub values: Vec<Option<f64>>,
    pub latest: Option<CardEvaluation>,
    pub status: CardStatus,
    pub last_alert: Option<CardAlert>,
}

/// The overview page's data: every configured metric and the last check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub cards: Vec<MetricCard>,
    /// Unix seconds when the most recent check (ok or not) finished.
    pub last_check_at: Option<i64>,
    /// Whether that check could read the source.
    pub last_check_ok: Option<bool>,
}

/// Hours of history on an overview card.
pub const OVERVIEW_HOURS: i64 = 24;

#[server(endpoint = "fetch_overview")]
pub async fn fetch_overview() -> Result<Overview, ServerFnError> {
    let backend = backend::from_context()?;
    backend.overview().await.map_err(ServerFnError::new)
}

/// The server side of the contract, implemented by the `vigil` binary.
#[cfg(feature = "ssr")]
pub mod backend {
    use super::{
        refuse, AlertRow, DetectorSettings, LabelRequest, MetricHistory, MetricSlices,
        MetricSummary, Overview, Refusal, SilenceRequest, SilenceRow, READ_ONLY,
    };
    use leptos::prelude::*;
    use std::{future::Future, pin::Pin, sync::Arc};

    pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

    /// Data access for the pages. Errors are messages fit to show a user: they
    /// must never contain secrets.
    pub trait Backend: Send + Sync + 'static {
        fn metrics(&self) -> Vec<MetricSummary>;
        /// The last `days` of a metric, whole or of one slice (dimension, value).
        fn history<'a>(
            &'a self,
            name: &'a str,
            days: u32,
            slice: Option<(String, String)>,
        ) -> BoxFuture<'a, Result<MetricHistory, String>>;

        /// The last `days` of every slice of `name` along `dimension` (its
        /// first dimension when `None`).
        fn slices<'a>(
            &'a self,
            name: &'a str,
            dimension: Option<String>,
            days: u32,
        ) -> BoxFuture<'a, Result<MetricSlices, String>> {
            let _ = (name, dimension, days);
            Box::pin(async { Err("slices are not available here".to_string()) })
        }

        /// Alerts, newest first; `state` is `firing` or `resolved`;
        /// `since_hours`: only those started in the last so many hours.
        fn alerts(
            &self,
            metric: Option<String>,
            state: Option<String>,
            limit: u32,
            since_hours: Option<u32>,
        ) -> BoxFuture<'_, Result<Vec<AlertRow>, String>> {
            let _ = (metric, state, limit, since_hours);
            Box::pin(async { Err("alert history is not available here".to_string()) })
        }

        /// Silences in force now.
        fn silences(&self) -> BoxFuture<'_, Result<Vec<SilenceRow>, String>> {
            Box::pin(async { Err("silences are not available here".to_string()) })
        }

        /// Mutes from now for `request.minutes` (already validated and authorized).
        fn create_silence(
            &self,
            request: SilenceRequest,
        ) -> BoxFuture<'_, Result<SilenceRow, String>> {
            let _ = request;
            Box::pin(async { Err("silences are not available here".to_string()) })
        }

        /// Ends a silence early (already authorized).
        fn end_silence(&self, id: i64) -> BoxFuture<'_, Result<(), String>> {
            let _ = id;
            Box::pin(async { Err("silences are not available here".to_string()) })
        }

        /// Labels an alert `false_alarm` or `expected` (already validated and authorized).
        fn label_alert(&self, id: u64, label: String) -> BoxFuture<'_, Result<(), String>> {
            let _ = (id, label);
            Box::pin(async { Err("labels are not available here".to_string()) })
        }

        /// Stores a label (already validated and authorized); returns its id.
        fn create_label(&self, request: LabelRequest) -> BoxFuture<'_, Result<i64, String>> {
            let _ = request;
            Box::pin(async { Err("labels are not available here".to_string()) })
        }

        /// Removes a stored label (already authorized).
        fn remove_label(&self, id: i64) -> BoxFuture<'_, Result<(), String>> {
            let _ = id;
            Box::pin(async { Err("labels are not available here".to_string()) })
        }

        /// The detector in effect for `metric` and its changes.
        fn detector_settings(
            &self,
            metric: String,
        ) -> BoxFuture<'_, Result<DetectorSettings, String>> {
            let _ = metric;
            Box::pin(async { Err("detector settings are not available here".to_string()) })
        }

        /// Applies `detector` (JSON, validated here) to `metric`, or reverts to the
        /// config's choice with `None` (already authorized).
        fn apply_detector(
            &self,
            metric: String,
            detector: Option<String>,
        ) -> BoxFuture<'_, Result<DetectorSettings, String>> {
            let _ = (metric, detector);
            Box::pin(async { Err("detector settings are not available here".to_string()) })
        }

        /// Whether an operator token is configured at all; without one the UI is read-only.
        fn writes_enabled(&self) -> bool {
            false
        }

        /// Whether `token` is the operator token (compared in constant time).
        fn check_operator_token(&self, token: &str) -> bool {
            let _ = token;
            false
        }

        /// Every metric's card for `/`. Must stay cheap: it reads what the
        /// checks stored and cached histories, never runs a detector.
        fn overview(&self) -> BoxFuture<'_, Result<Overview, String>> {
            Box::pin(async { Err("the overview is not available here".to_string()) })
        }
    }

    /// Refuses a write unless writes are enabled and `token` is the operator token.
    pub fn authorize(backend: &dyn Backend, token: &str) -> Result<(), ServerFnError> {
        if !backend.writes_enabled() {
            return Err(refuse(Refusal::Forbidden, READ_ONLY));
        }
        if token.is_empty() {
            return Err(refuse(
                Refusal::Unauthorized,
                "operator token required: enter it to make changes",
            ));
        }
        if !backend.check_operator_token(token) {
            return Err(refuse(Refusal::Forbidden, "wrong operator token"));
        }
        Ok(())
    }

    /// Compares two secrets in time that depends only on `expected`'s length.
    pub fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
        let mut diff = given.len() ^ expected.len();
        for (i, byte) in expected.iter().enumerate() {
            let other = given.get(i).copied().unwrap_or(0);
            diff |= usize::from(other ^ byte);
        }
        diff == 0
    }

    /// Cheap to clone; provided as Leptos context for rendering and server functions.
    #[derive(Clone)]
    pub struct BackendHandle(pub Arc<dyn Backend>);

    pub fn from_context() -> Result<Arc<dyn Backend>, ServerFnError> {
        use_context::<BackendHandle>()
            .map(|handle| handle.0)
            .ok_or_else(|| ServerFnError::new("vigil backend missing from context"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<String> {
        vec!["feed_views".to_string()]
    }

    #[test]
    fn silence_fields_are_validated() {
        let ok = validate_silence(
            Some("feed_views".into()),
            Some(" os = Android ".into()),
            30,
            &known(),
        )
        .unwrap();
        assert_eq!(ok.slice, Some(("os".into(), "Android".into())));
        let all = validate_silence(Some("  ".into()), Some(String::new()), 1, &known()).unwrap();
        assert_eq!((all.metric, all.slice), (None, None));
        for (metric, slice, minutes, expected) in [
            (Some("nope"), None, 30, "unknown metric"),
            (Some("feed_views"), Some("Android"), 30, "dimension=value"),
            (Some("feed_views"), Some("os="), 30, "dimension=value"),
            (None, Some("os=Android"), 30, "a slice needs a metric"),
            (Some("feed_views"), None, 0, "expected 1 to 525600"),
            (Some("feed_views"), None, 525_601, "expected 1 to 525600"),
        ] {
            let error = validate_silence(
                metric.map(String::from),
                slice.map(String::from),
                minutes,
                &known(),
            )
            .unwrap_err();
            assert!(error.contains(expected), "{error}");
        }
    }

    #[test]
    fn label_fields_are_validated() {
        let request = |kind: &str, from: i64, to: i64, note: &str| LabelRequest {
            metric: "feed_views".into(),
            from,
            to,
            kind: kind.into(),
            note: note.into(),
        };
        let ok = validate_label(request("incident", 0, 900, "  outage  "), &known()).unwrap();
        assert_eq!(ok.note, "outage");
        let mut unknown = request("incident", 0, 900, "");
        unknown.metric = "nope".into();
        for (bad, expected) in [
            (unknown, "unknown metric"),
            (request("bogus", 0, 900, ""), "expected incident"),
            (request("expected", 900, 900, ""), "end after it starts"),
            (request("expected", 0, MAX_LABEL_SECONDS + 1, ""), "31 days"),
            // Extreme instants are refused, not overflowed.
            (request("incident", i64::MIN, i64::MAX, ""), "after 1970"),
            (request("incident", 0, i64::MAX, ""), "31 days"),
            (
                request("false_alarm", 0, 900, &"x".repeat(MAX_LABEL_NOTE + 1)),
                "longer than",
            ),
        ] {
            let error = validate_label(bad, &known()).unwrap_err();
            assert!(error.contains(expected), "{error}");
        }
    }

    #[test]
    fn card_status_prefers_an_open_alert_then_a_silence_then_missing_data() {
        use CardStatus::*;
        assert_eq!(CardStatus::derive(false, false, true), Ok);
        assert_eq!(CardStatus::derive(true, false, true), Firing);
        assert_eq!(CardStatus::derive(true, true, false), Firing);
        assert_eq!(CardStatus::derive(false, true, false), Muted);
        assert_eq!(CardStatus::derive(false, false, false), NoData);
        assert_eq!(NoData.label(), "no data");
        assert_eq!(NoData.as_str(), "no-data");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn tokens_compare_exactly() {
        use backend::constant_time_eq;
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secreT", b"secret"));
        assert!(!constant_time_eq(b"secret1", b"secret"));
        assert!(!constant_time_eq(b"secre", b"secret"));
        assert!(!constant_time_eq(b"", b"secret"));
    }
}
