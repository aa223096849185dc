//! The server side of the contract, implemented by the `vigil` binary.

use super::{
    refuse, AlertFilter, AlertLabel, AlertRow, AlertState, DailyReport, DetectorSettings,
    ExperimentDetail, ExperimentList, ExperimentReplay, LabelRequest, MetricHistory, MetricSlices,
    MetricSummary, Overview, Refusal, ReplayRules, SilenceRequest, SilenceRow, READ_ONLY,
};
use leptos::prelude::*;
use std::{future::Future, pin::Pin, sync::Arc};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a backend answers when it cannot serve a request. The message is fit
/// to show a user (it must never contain secrets); the variant says which
/// HTTP status the server function answers with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The request is at fault (no such alert, a bad parameter): answered
    /// with the refusal's 4xx status.
    #[error("{1}")]
    Refused(Refusal, String),
    /// The server could not answer (the source or the state file failed): 500.
    #[error("{0}")]
    Failed(String),
}

impl ApiError {
    pub fn refused(why: Refusal, message: impl std::fmt::Display) -> Self {
        Self::Refused(why, message.to_string())
    }

    pub fn failed(message: impl std::fmt::Display) -> Self {
        Self::Failed(message.to_string())
    }

    /// 404 for a thing that does not exist.
    pub fn not_found(message: impl std::fmt::Display) -> Self {
        Self::refused(Refusal::NotFound, message)
    }
}

impl ApiError {
    /// The server function's error, answered with this error's status.
    ///
    /// Not a `From` impl: server_fn converts every `std::error::Error` into
    /// a 500 already, so `?` on an `ApiError` would lose the refusal.
    pub fn into_server_fn_error(self) -> ServerFnError {
        match self {
            ApiError::Refused(why, message) => refuse(why, message),
            ApiError::Failed(message) => ServerFnError::new(message),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Data access for the pages: every method is served, so a page never meets
/// a "not available here".
pub trait Backend: Send + Sync + 'static {
    fn metrics(&self) -> Vec<MetricSummary>;

    /// The last `days` of a metric, whole or of one slice (dimension, value).
    fn history<'a>(
        &'a self,
        name: &'a str,
        days: u32,
        slice: Option<(String, String)>,
    ) -> BoxFuture<'a, ApiResult<MetricHistory>>;

    /// The last `days` of every slice of `name` along `dimension` (its
    /// first dimension when `None`).
    fn slices<'a>(
        &'a self,
        name: &'a str,
        dimension: Option<String>,
        days: u32,
    ) -> BoxFuture<'a, ApiResult<MetricSlices>>;

    /// Alerts, newest first, in `state` when given; `since_hours`: only those
    /// started in the last so many hours.
    fn alerts(
        &self,
        metric: Option<String>,
        state: Option<AlertState>,
        limit: u32,
        since_hours: Option<u32>,
    ) -> BoxFuture<'_, ApiResult<Vec<AlertRow>>>;

    /// Alerts matching `filter`, newest first: `limit` of them from `offset`,
    /// and how many match in all.
    fn alert_page(
        &self,
        filter: AlertFilter,
        offset: u32,
        limit: u32,
    ) -> BoxFuture<'_, ApiResult<(Vec<AlertRow>, u64)>>;

    /// Ok when `metric` (sliced by `dimension`) has data for `dimension=value`
    /// in the last [`super::HISTORY_DAYS`]; else 404 with the values it has.
    fn check_slice<'a>(
        &'a self,
        metric: &'a str,
        dimension: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, ApiResult<()>>;

    /// Silences in force now.
    fn silences(&self) -> BoxFuture<'_, ApiResult<Vec<SilenceRow>>>;

    /// Mutes from now for `request.minutes` (already validated and authorized).
    fn create_silence(&self, request: SilenceRequest) -> BoxFuture<'_, ApiResult<SilenceRow>>;

    /// Ends a silence early (already authorized).
    fn end_silence(&self, id: i64) -> BoxFuture<'_, ApiResult<()>>;

    /// Labels an alert (already authorized).
    fn label_alert(&self, id: u64, label: AlertLabel) -> BoxFuture<'_, ApiResult<()>>;

    /// Stores a label (already validated and authorized); returns its id.
    fn create_label(&self, request: LabelRequest) -> BoxFuture<'_, ApiResult<i64>>;

    /// Removes a stored label (already authorized).
    fn remove_label(&self, id: i64) -> BoxFuture<'_, ApiResult<()>>;

    /// The detector in effect for `metric` and its changes.
    fn detector_settings(&self, metric: String) -> BoxFuture<'_, ApiResult<DetectorSettings>>;

    /// Applies `detector` (validated here) to `metric`, or reverts to the
    /// config's choice with `None` (already authorized).
    fn apply_detector(
        &self,
        metric: String,
        detector: Option<detect::Ensemble>,
    ) -> BoxFuture<'_, ApiResult<DetectorSettings>>;

    /// The morning report of `date` (`YYYY-MM-DD`, default yesterday in the
    /// alerts' UTC offset); 400 for a malformed date.
    fn report(&self, date: Option<String>) -> BoxFuture<'_, ApiResult<DailyReport>>;

    /// The experiments the checks compare (declared, or the simulator's).
    fn experiments(&self) -> BoxFuture<'_, ApiResult<ExperimentList>>;

    /// One experiment judged since its start; 404 for an unknown name.
    fn experiment(&self, name: String) -> BoxFuture<'_, ApiResult<ExperimentDetail>>;

    /// One experiment's checks replayed over the last `rules.days` of its
    /// runtime (rules already checked); 404 for an unknown name.
    fn replay_experiment(
        &self,
        name: String,
        rules: ReplayRules,
    ) -> BoxFuture<'_, ApiResult<ExperimentReplay>>;

    /// Whether an operator token is configured at all; without one the UI is read-only.
    fn writes_enabled(&self) -> bool;

    /// Whether `token` is the operator token (compared in constant time).
    fn check_operator_token(&self, token: &str) -> bool;

    /// Every metric's card for `/`. Must stay cheap: it reads what the
    /// checks stored and cached histories, never runs a detector.
    fn overview(&self) -> BoxFuture<'_, ApiResult<Overview>>;
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

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn tokens_compare_exactly() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secreT", b"secret"));
        assert!(!constant_time_eq(b"secret1", b"secret"));
        assert!(!constant_time_eq(b"secre", b"secret"));
        assert!(!constant_time_eq(b"", b"secret"));
    }
}
