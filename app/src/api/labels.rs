//! Labels: spans of a metric's history marked as incidents or not, which
//! the lab scores detectors against.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::wire_words;
#[cfg(feature = "ssr")]
use super::{backend, refuse, Refusal};

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
    pub origin: LabelOrigin,
    /// Set for spans marked on the metric page: they can be removed.
    pub id: Option<i64>,
}

wire_words! {
    /// How a labelled span counts when a detector is scored.
    LabelRole: "role" {
        /// Something broke: an alert inside is found, none is a miss.
        Incident = "incident",
        /// Neither right nor wrong (a slice's incident, an expected change).
        Neutral = "neutral",
        /// Nothing broke: an alert inside is false.
        FalseAlarm = "false_alarm",
    } expected "incident, neutral or false_alarm"
}

wire_words! {
    /// Where a labelled span comes from.
    LabelOrigin: "origin" {
        /// An incident the source recorded.
        Source = "source",
        /// An alert labelled from Telegram or the alerts page.
        Alert = "alert",
        /// Marked on the metric page.
        User = "user",
    } expected "source, alert or user"
}

wire_words! {
    /// Kinds of span a person can mark on a metric's history.
    LabelKind: "kind" {
        /// Something broke.
        Incident = "incident",
        /// An alert inside was false.
        FalseAlarm = "false_alarm",
        /// A change on purpose.
        Expected = "expected",
    } expected "incident, false_alarm or expected"
}
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
    pub kind: LabelKind,
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
    kind: LabelKind,
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
        .map_err(backend::ApiError::into_server_fn_error)
}

/// Removes a label marked in the UI.
#[server(endpoint = "remove_label")]
pub async fn remove_label(id: i64, token: String) -> Result<(), ServerFnError> {
    let backend = backend::from_context()?;
    backend::authorize(backend.as_ref(), &token)?;
    backend
        .remove_label(id)
        .await
        .map_err(backend::ApiError::into_server_fn_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::known_in_tests as known;

    #[test]
    fn label_fields_are_validated() {
        let request = |kind: &str, from: i64, to: i64, note: &str| LabelRequest {
            metric: "feed_views".into(),
            from,
            to,
            kind: kind.parse().unwrap(),
            note: note.into(),
        };
        let ok = validate_label(request("incident", 0, 900, "  outage  "), &known()).unwrap();
        assert_eq!(ok.note, "outage");
        let mut unknown = request("incident", 0, 900, "");
        unknown.metric = "nope".into();
        for (bad, expected) in [
            (unknown, "unknown metric"),
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
    fn label_kinds_are_the_three_words() {
        let words: Vec<&str> = LabelKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(words, ["incident", "false_alarm", "expected"]);
        let error = "bogus".parse::<LabelKind>().unwrap_err();
        assert!(error.contains("expected incident"), "{error}");
    }
}
