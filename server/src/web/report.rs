//! `/report`'s data: the morning report of any day, as the message says it
//! (built by [`crate::report`], the same values and alert lines).

use app::api::backend::{ApiError, ApiResult};
use app::api::{DailyReport, Refusal, ReportMetric};
use chrono::NaiveDate;

use crate::config::ExperimentConfig;
use crate::metrics::model::MetricDef;
use crate::report::{text, LocalDay};
use crate::sources::Source;
use crate::state::State;

/// The report of `date` (`YYYY-MM-DD`; default: the day before `now`'s
/// local day).
pub async fn load(
    source: &Source,
    metrics: &[MetricDef],
    experiments: &[ExperimentConfig],
    store: &State,
    utc_offset_minutes: i32,
    date: Option<String>,
    now: i64,
) -> ApiResult<DailyReport> {
    let day = match date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            ApiError::refused(
                Refusal::BadRequest,
                format!("{text:?} is not a date: use YYYY-MM-DD, e.g. 2026-12-05"),
            )
        })?,
        None => LocalDay::containing(now, utc_offset_minutes).plus(-1).date,
    };
    let report = crate::report::build(
        source,
        Some(store),
        metrics,
        experiments,
        day,
        utc_offset_minutes,
    )
    .await
    .map_err(|error| {
        tracing::warn!(%error, "report page failed");
        ApiError::failed(format!(
            "could not build the report of {day}: {}",
            crate::redact::scrub(&error.to_string())
        ))
    })?;
    Ok(DailyReport {
        date: report.day.iso(),
        long_date: report.day.long(),
        metrics: report
            .metrics
            .iter()
            .map(|m| ReportMetric {
                name: m.name.clone(),
                title: m.title.clone(),
                ratio: m.ratio,
                value: m.value(),
                day_over_day: m.day_over_day(),
                week_over_week: m.week_over_week(),
            })
            .collect(),
        alerts: report
            .alerts
            .iter()
            .map(|alert| text::alert_line(&report, alert))
            .collect(),
        more_alerts: report.more_alerts,
        experiments: report.experiments.clone(),
    })
}
