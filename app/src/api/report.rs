//! The morning report of one day (`/report`): what the Telegram message says,
//! for any date.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::backend;

/// One metric's line of the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportMetric {
    pub name: String,
    pub title: String,
    /// A ratio (CTR), shown as a percentage.
    pub ratio: bool,
    /// The day's value; `None` without data.
    pub value: Option<f64>,
    /// Relative change against the day before (`-0.1` is 10 % lower).
    pub day_over_day: Option<f64>,
    /// Relative change against the same day a week earlier.
    pub week_over_week: Option<f64>,
}

/// The report of one local day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DailyReport {
    /// `2026-12-05`.
    pub date: String,
    /// `Sat 5 Dec 2026`.
    pub long_date: String,
    pub metrics: Vec<ReportMetric>,
    /// The day's alerts, one line each, oldest first.
    pub alerts: Vec<String>,
    /// Alerts of the day beyond those listed.
    pub more_alerts: usize,
    /// Running experiments' effects, one line each.
    pub experiments: Vec<String>,
}

/// The report of `date` (`YYYY-MM-DD`; default: yesterday, local time).
#[server(endpoint = "fetch_report")]
pub async fn fetch_report(date: Option<String>) -> Result<DailyReport, ServerFnError> {
    let backend = backend::from_context()?;
    backend
        .report(date)
        .await
        .map_err(backend::ApiError::into_server_fn_error)
}
