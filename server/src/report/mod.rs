//! The morning report: once a day, at a configured local time, each key
//! metric's value of the day before with its change against the day before
//! that and the same day a week earlier, a chart of the last 7 days, and the
//! day's alerts, one line each.
//!
//! - [`days`]: local days and their values, one query per metric;
//! - [`text`]: the message (Telegram HTML, or plain for the terminal);
//! - [`chart`]: the 7-day small multiples PNG;
//! - [`schedule`]: when a report is due, and creating its rows once;
//! - [`send`]: delivering due reports (called by the sender loop);
//! - [`experiments`]: the running experiments' effects, as the check judges them.
//!
//! A report is built when it is sent, from the source and the alert state,
//! so a report sent late still describes its own day.

pub mod chart;
pub mod days;
pub mod experiments;
pub mod schedule;
pub mod send;
pub mod text;

use chrono::NaiveDate;

use crate::config::ExperimentConfig;
use crate::metrics::model::MetricDef;
use crate::sources::{Source, SourceError};
use crate::state::{AlertError, AlertRecord, HistoryFilter, State};

pub use days::{LocalDay, MetricDays};

/// At most this many alerts are listed (the rest are counted).
pub const MAX_ALERTS: usize = 200;

/// Why a report could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("reading the report's values: {0}")]
    Source(#[from] SourceError),
    #[error("reading the report's alerts: {0}")]
    State(#[from] AlertError),
}

/// Everything one report shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The day it is about.
    pub day: LocalDay,
    /// Sent after its due time had passed (vigil was down).
    pub late: bool,
    /// Each metric's last 8 days, in catalogue order.
    pub metrics: Vec<MetricDays>,
    /// Alerts that started during the day, oldest first.
    pub alerts: Vec<AlertRecord>,
    /// Alerts of the day beyond [`MAX_ALERTS`].
    pub more_alerts: usize,
    /// Running experiments' effects, one line each (see [`experiments`]).
    pub experiments: Vec<String>,
}

/// Builds the report of `date` (local days at `utc_offset_minutes`); the
/// alerts come from `store` (none without a state, e.g. a dry run before
/// vigil ever ran), the experiments from `experiments` (the simulator's
/// when none are declared).
pub async fn build(
    source: &Source,
    store: Option<&State>,
    metrics: &[MetricDef],
    experiments: &[ExperimentConfig],
    date: NaiveDate,
    utc_offset_minutes: i32,
) -> Result<Report, ReportError> {
    let day = LocalDay::new(date, utc_offset_minutes);
    let mut values = Vec::with_capacity(metrics.len());
    for metric in metrics {
        values.push(MetricDays::read(source, metric, day).await?);
    }
    let (from, to) = (day.start(), day.end());
    let mut alerts = match store {
        Some(store) => {
            store
                .call(move |store| {
                    let filter = HistoryFilter {
                        from: Some(from),
                        to: Some(to),
                        ..HistoryFilter::default()
                    };
                    store.history(&filter, MAX_ALERTS + 1)
                })
                .await?
        }
        None => Vec::new(),
    };
    let more_alerts = alerts.len().saturating_sub(MAX_ALERTS);
    alerts.truncate(MAX_ALERTS);
    alerts.sort_by_key(|alert| (alert.started_at, alert.id));
    let experiments = experiments::effect_lines(source, experiments, metrics, day).await?;
    Ok(Report {
        day,
        late: false,
        metrics: values,
        alerts,
        more_alerts,
        experiments,
    })
}
