//! The overview (`/`): one card per metric.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::backend;

/// How a metric stands at its newest check. Shown as text and a shape, never
/// by color alone.
///
/// On the wire by its variant's name (`Ok`, `NoData`), read through a string
/// like the contract's other words: the browser needs no enum decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum CardStatus {
    Ok,
    /// The whole metric (no slice) has an open alert.
    Firing,
    /// The whole metric is in band but one of its slices has an open alert:
    /// said on the card, so "ok" never sits beside a firing last alert.
    SliceFiring,
    /// A silence in force covers the whole metric.
    Muted,
    /// The newest checked bucket has no value, or the source could not be read.
    NoData,
}

impl From<CardStatus> for &'static str {
    fn from(status: CardStatus) -> &'static str {
        match status {
            CardStatus::Ok => "Ok",
            CardStatus::Firing => "Firing",
            CardStatus::SliceFiring => "SliceFiring",
            CardStatus::Muted => "Muted",
            CardStatus::NoData => "NoData",
        }
    }
}

impl TryFrom<String> for CardStatus {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        [
            Self::Ok,
            Self::Firing,
            Self::SliceFiring,
            Self::Muted,
            Self::NoData,
        ]
        .into_iter()
        .find(|status| <&str>::from(*status) == text)
        .ok_or_else(|| format!("card status {text:?}"))
    }
}

impl CardStatus {
    /// Precedence: an open alert on the whole metric first (muted or not,
    /// it is what matters), then a silence, then missing data, then an open
    /// alert on a slice.
    pub fn derive(firing: bool, slice_firing: bool, muted: bool, has_data: bool) -> Self {
        if firing {
            Self::Firing
        } else if muted {
            Self::Muted
        } else if !has_data {
            Self::NoData
        } else if slice_firing {
            Self::SliceFiring
        } else {
            Self::Ok
        }
    }

    /// Stable machine name: css class suffix and `data-status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Firing => "firing",
            Self::SliceFiring => "slice-firing",
            Self::Muted => "muted",
            Self::NoData => "no-data",
        }
    }

    /// What the card says.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Firing => "firing",
            Self::SliceFiring => "a slice firing",
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
    pub state: super::AlertState,
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
    /// What the values are (a count, or a ratio).
    pub measure: detect::alerting::Measure,
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
    backend
        .overview()
        .await
        .map_err(backend::ApiError::into_server_fn_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_status_prefers_an_open_alert_then_a_silence_then_missing_data() {
        use CardStatus::*;
        assert_eq!(CardStatus::derive(false, false, false, true), Ok);
        assert_eq!(CardStatus::derive(true, false, false, true), Firing);
        assert_eq!(CardStatus::derive(true, true, true, false), Firing);
        assert_eq!(CardStatus::derive(false, false, true, false), Muted);
        assert_eq!(CardStatus::derive(false, false, false, false), NoData);
        // A firing slice under a metric in band is said, after the rest.
        assert_eq!(CardStatus::derive(false, true, false, true), SliceFiring);
        assert_eq!(CardStatus::derive(false, true, true, true), Muted);
        assert_eq!(CardStatus::derive(false, true, false, false), NoData);
        assert_eq!(SliceFiring.label(), "a slice firing");
        assert_eq!(NoData.label(), "no data");
        assert_eq!(NoData.as_str(), "no-data");
    }

    #[test]
    fn card_status_keeps_its_wire_name() {
        for status in [
            CardStatus::Ok,
            CardStatus::Firing,
            CardStatus::SliceFiring,
            CardStatus::Muted,
            CardStatus::NoData,
        ] {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{status:?}\""));
            assert_eq!(serde_json::from_str::<CardStatus>(&json).unwrap(), status);
        }
    }
}
