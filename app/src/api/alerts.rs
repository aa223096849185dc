//! Alerts and silences: the alert history, labelling an alert, muting.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::{backend, find_metric, refuse, Refusal};
use super::{non_blank, parse_slice, wire_words};

wire_words! {
    /// Where an alert stands.
    AlertState: "state" {
        /// Open: the metric is still outside its band.
        Firing = "firing",
        /// Closed: the metric came back.
        Resolved = "resolved",
    } expected "firing or resolved"
}

wire_words! {
    /// What a person can say about an alert from the history page (the same
    /// as the Telegram buttons): it feeds `vigil tune`, `vigil eval --metric`
    /// and the lab.
    AlertLabel: "label" {
        /// Nothing was wrong.
        FalseAlarm = "false_alarm",
        /// Something changed, on purpose.
        Expected = "expected",
    } expected "false_alarm or expected"
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
    pub state: AlertState,
    pub resolved_at: Option<i64>,
    /// Whether its last notification was muted by a silence.
    pub muted: bool,
    /// Its notifications: `pending`, `sent` (to Telegram), `failed`, `logged`
    /// (no Telegram configured), or `muted` (nothing was sent).
    pub delivery: String,
    /// Set from a button.
    pub label: Option<AlertLabel>,
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

/// The alert history's filter, as `/alerts` and its server function share it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertFilter {
    pub metric: Option<String>,
    pub state: Option<AlertState>,
    /// Only alerts started in the last so many hours.
    pub since_hours: Option<u32>,
    /// Only alerts started at or before this moment (Unix seconds): the
    /// history as it stood then.
    pub until: Option<i64>,
}

/// One page of the alert history and where it sits in the whole.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertPage {
    /// Newest first.
    pub rows: Vec<AlertRow>,
    /// Alerts matching the filter, on every page.
    pub total: u64,
    /// 1-based; a page past the end answers the last one.
    pub page: u32,
    pub per_page: u32,
}

impl AlertPage {
    /// The number of the first row on this page (1-based), 0 when empty.
    pub fn first(&self) -> u64 {
        if self.rows.is_empty() {
            0
        } else {
            u64::from(self.page - 1) * u64::from(self.per_page) + 1
        }
    }

    /// The number of the last row on this page.
    pub fn last(&self) -> u64 {
        (self.first() + self.rows.len() as u64).saturating_sub(1)
    }

    /// Pages in all (at least one, which may be empty).
    pub fn pages(&self) -> u32 {
        let pages = self.total.div_ceil(u64::from(self.per_page.max(1))).max(1);
        u32::try_from(pages).unwrap_or(u32::MAX)
    }
}

/// Rows on one page of `/alerts`.
pub const ALERTS_PER_PAGE: u32 = 50;

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

/// Refuses a filter naming an unknown metric (404) or an out-of-range
/// `since_hours` (400); blank metric is none.
#[cfg(feature = "ssr")]
fn checked_metric(
    backend: &dyn backend::Backend,
    metric: Option<String>,
    since_hours: Option<u32>,
) -> Result<Option<String>, ServerFnError> {
    let metric = non_blank(metric);
    if let Some(name) = &metric {
        find_metric(&backend.metrics(), name).map_err(|e| refuse(Refusal::NotFound, e))?;
    }
    if let Some(hours) = since_hours {
        if !(1..=MAX_SINCE_HOURS).contains(&hours) {
            return Err(refuse(
                Refusal::BadRequest,
                format!("since {hours} hours: expected 1 to {MAX_SINCE_HOURS}"),
            ));
        }
    }
    Ok(metric)
}

#[server(endpoint = "fetch_alerts")]
pub async fn fetch_alerts(
    metric: Option<String>,
    state: Option<AlertState>,
    limit: u32,
    since_hours: Option<u32>,
) -> Result<Vec<AlertRow>, ServerFnError> {
    let backend = backend::from_context()?;
    let metric = checked_metric(backend.as_ref(), metric, since_hours)?;
    let limit = limit.clamp(1, MAX_ALERTS);
    backend
        .alerts(metric, state, limit, since_hours)
        .await
        .map_err(backend::ApiError::into_server_fn_error)
}

/// Page `page` (1-based) of the alerts matching the filter, [`ALERTS_PER_PAGE`]
/// to a page, with the count of all of them; a page past the end answers the last.
#[server(endpoint = "fetch_alert_page")]
pub async fn fetch_alert_page(
    metric: Option<String>,
    state: Option<AlertState>,
    since_hours: Option<u32>,
    until: Option<i64>,
    page: u32,
) -> Result<AlertPage, ServerFnError> {
    let backend = backend::from_context()?;
    let filter = AlertFilter {
        metric: checked_metric(backend.as_ref(), metric, since_hours)?,
        state,
        since_hours,
        until,
    };
    let per_page = ALERTS_PER_PAGE;
    let wanted = page.max(1);
    let offset = |page: u32| (page - 1).saturating_mul(per_page);
    let (mut rows, total) = backend
        .alert_page(filter.clone(), offset(wanted), per_page)
        .await
        .map_err(backend::ApiError::into_server_fn_error)?;
    let mut answer = AlertPage {
        rows: Vec::new(),
        total,
        page: wanted,
        per_page,
    };
    if rows.is_empty() && wanted > answer.pages() {
        // Past the end (the list shrank, or a hand-made URL): the last page.
        answer.page = answer.pages();
        (rows, _) = backend
            .alert_page(filter, offset(answer.page), per_page)
            .await
            .map_err(backend::ApiError::into_server_fn_error)?;
    }
    answer.rows = rows;
    Ok(answer)
}

#[server(endpoint = "fetch_silences")]
pub async fn fetch_silences() -> Result<Vec<SilenceRow>, ServerFnError> {
    let backend = backend::from_context()?;
    backend
        .silences()
        .await
        .map_err(backend::ApiError::into_server_fn_error)
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
    // A slice with no data is a typo far more often than a slice yet to
    // come: refused with the values there are.
    if let (Some(metric), Some((dimension, value))) = (&request.metric, &request.slice) {
        backend
            .check_slice(metric, dimension, value)
            .await
            .map_err(|e| match e {
                backend::ApiError::Refused(_, message) => refuse(Refusal::BadRequest, message),
                other => other.into_server_fn_error(),
            })?;
    }
    backend
        .create_silence(request)
        .await
        .map_err(backend::ApiError::into_server_fn_error)
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
    backend
        .end_silence(id)
        .await
        .map_err(backend::ApiError::into_server_fn_error)
}

#[server(endpoint = "label_alert")]
pub async fn label_alert(id: u64, label: AlertLabel, token: String) -> Result<(), ServerFnError> {
    let backend = backend::from_context()?;
    backend::authorize(backend.as_ref(), &token)?;
    backend
        .label_alert(id, label)
        .await
        .map_err(backend::ApiError::into_server_fn_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::known_in_tests as known;

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
    fn alert_words_read_and_refuse_as_before() {
        assert_eq!("firing".parse::<AlertState>(), Ok(AlertState::Firing));
        assert_eq!(AlertState::Resolved.to_string(), "resolved");
        let error = "sleeping".parse::<AlertState>().unwrap_err();
        assert!(error.contains("expected firing or resolved"), "{error}");
        assert_eq!(
            serde_json::to_string(&AlertLabel::FalseAlarm).unwrap(),
            "\"false_alarm\""
        );
        let error = serde_json::from_str::<AlertLabel>("\"boring\"").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("expected false_alarm or expected"),
            "{error}"
        );
    }
}
