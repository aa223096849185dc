//! Between the contract's types and the state's: the pages' rows made from
//! what the state holds (alerts, silences, labels, detector settings), and
//! the state's words for what a page sends.

use app::api::{
    backend::{ApiError, ApiResult},
    AlertEventRow, AlertLabel, AlertRow, AlertState, DetectorOrigin, DetectorSettings, LabelOrigin,
    LabelRole, LabelSpan, SettingChangeRow, SilenceRow,
};

use crate::alerts::{Silence, SilenceScope};
use crate::detector_choice::DetectorChoice;
use crate::labels::LabelKind;
use crate::metrics::model::SliceKey;
use crate::settings::SettingsError;
use crate::state::{AlertError, AlertRecord, AlertStatus, Label, StateStore};

/// An alert's status as the pages name it.
pub(super) fn alert_state(status: AlertStatus) -> AlertState {
    match status {
        AlertStatus::Firing => AlertState::Firing,
        AlertStatus::Resolved => AlertState::Resolved,
    }
}

/// The status a page's state filter asks for.
pub(super) fn alert_status(state: AlertState) -> AlertStatus {
    match state {
        AlertState::Firing => AlertStatus::Firing,
        AlertState::Resolved => AlertStatus::Resolved,
    }
}

/// The label a page puts on an alert, as the state keeps it.
pub(super) fn stored_label(label: AlertLabel) -> Label {
    match label {
        AlertLabel::FalseAlarm => Label::FalseAlarm,
        AlertLabel::Expected => Label::Expected,
    }
}

/// The kind of a span marked on a page, as the state keeps it.
pub(super) fn label_kind(kind: app::api::LabelKind) -> LabelKind {
    match kind {
        app::api::LabelKind::Incident => LabelKind::Incident,
        app::api::LabelKind::FalseAlarm => LabelKind::FalseAlarm,
        app::api::LabelKind::Expected => LabelKind::Expected,
    }
}

/// A label as the pages show it, for the whole metric or for `slice`: an
/// incident confined to the slice shown is to be found there, and one of
/// another slice is neutral.
pub(super) fn label_span(span: crate::labels::Span, slice: Option<&SliceKey>) -> LabelSpan {
    use crate::labels::Origin;
    let this_slice = slice_text(slice);
    let own_slice_incident =
        span.origin == Origin::Source && span.slice.is_some() && span.slice == this_slice;
    LabelSpan {
        from: span.from,
        to: span.to,
        kind: span.what,
        description: span.note,
        slice: span.slice,
        role: match span.kind {
            _ if own_slice_incident => LabelRole::Incident,
            LabelKind::Incident => LabelRole::Incident,
            LabelKind::Expected => LabelRole::Neutral,
            LabelKind::FalseAlarm => LabelRole::FalseAlarm,
        },
        origin: match span.origin {
            Origin::Source => LabelOrigin::Source,
            Origin::Alert => LabelOrigin::Alert,
            Origin::User => LabelOrigin::User,
        },
        id: span.id,
    }
}

/// Logs a settings store failure and turns it into a message without internals.
pub(super) fn settings_error(error: SettingsError) -> ApiError {
    tracing::warn!(%error, "detector settings failed");
    ApiError::failed("could not read or write the detector settings; see the server log")
}

/// What the lab shows of a metric's detector: the one in effect and the changes.
pub(super) fn settings_view(
    settings: &dyn StateStore,
    configured: &DetectorChoice,
    metric: &str,
) -> ApiResult<DetectorSettings> {
    let changes = settings
        .detector_history(Some(metric))
        .map_err(settings_error)?;
    let in_effect = settings
        .effective_detectors(configured)
        .map_err(settings_error)?
        .for_metric(metric)
        .clone();
    let json = |ensemble: &detect::Ensemble| serde_json::to_string(ensemble).unwrap_or_default();
    Ok(DetectorSettings {
        metric: metric.to_string(),
        in_effect: json(&in_effect),
        name: in_effect.name(),
        origin: match changes.first() {
            Some(change) if change.detector.is_some() => DetectorOrigin::Applied,
            _ if configured.chooses(metric) => DetectorOrigin::Config,
            _ => DetectorOrigin::Default,
        },
        changes: changes
            .iter()
            .map(|change| SettingChangeRow {
                at: change.applied_at,
                by: change.applied_by.clone(),
                detector: change.detector.as_ref().map(json),
                previous: json(&change.previous),
            })
            .collect(),
    })
}

pub(super) fn slice_text(slice: Option<&SliceKey>) -> Option<String> {
    slice.map(|s| format!("{}={}", s.dimension, s.value))
}

pub(super) fn alert_row(
    store: &dyn StateStore,
    alert: AlertRecord,
) -> Result<AlertRow, AlertError> {
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
        state: alert_state(alert.status),
        resolved_at: alert.resolved_at,
        muted: alert.muted,
        delivery,
        label: alert.label.map(|label| match label {
            Label::FalseAlarm => AlertLabel::FalseAlarm,
            Label::Expected => AlertLabel::Expected,
        }),
        label_by: alert.label_by,
        events,
    })
}

pub(super) fn silence_row(silence: &Silence) -> SilenceRow {
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

/// A state task that failed (it panicked) is the server's fault: a 500
/// whose message names no internals beyond the task.
impl From<crate::state::CallFailed> for ApiError {
    fn from(failed: crate::state::CallFailed) -> Self {
        tracing::warn!(error = %failed, "state task failed");
        ApiError::failed("the state could not be reached; see the server log")
    }
}
