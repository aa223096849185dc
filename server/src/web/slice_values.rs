//! Which values of a dimension have data: what a silence or a page for one
//! slice is checked against, so `os=Windows` on a metric that has only
//! Android, iOS and Web is refused with those three named instead of
//! silently muting (or charting) nothing. Kept a minute per (metric,
//! dimension): a typed slice costs one grouped query, not one per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::api::{
    backend::{ApiError, ApiResult},
    HISTORY_DAYS,
};

use crate::metrics::model::{MetricDef, TimeRange, BUCKET_SECONDS};
use crate::sources::Source;

/// How long a dimension's values stay fresh.
const VALUES_TTL: Duration = Duration::from_secs(60);
/// Values named in a refusal at most; a dimension like country has hundreds.
const NAMED_AT_MOST: usize = 20;
/// Values of a dimension known at most (the largest by volume): a value past
/// them is refused as if it had no data.
const MAX_VALUES: usize = 100_000;

type Values = Arc<Vec<String>>;

#[derive(Default)]
pub struct SliceValues {
    known: Mutex<HashMap<(String, String), (Instant, Values)>>,
}

impl SliceValues {
    /// Ok when `metric` has data for `dimension=value` in the pages' history
    /// range; else 404 naming the values it has.
    pub async fn check(
        &self,
        source: &Source,
        metric: &MetricDef,
        dimension: &str,
        value: &str,
    ) -> ApiResult<()> {
        let values = self.values(source, metric, dimension).await?;
        if values.iter().any(|v| v == value) {
            return Ok(());
        }
        Err(ApiError::not_found(unknown_value(
            &metric.name,
            dimension,
            value,
            &values,
        )))
    }

    /// The values of `dimension` with data in the last [`HISTORY_DAYS`], sorted.
    async fn values(
        &self,
        source: &Source,
        metric: &MetricDef,
        dimension: &str,
    ) -> ApiResult<Values> {
        let key = (metric.name.clone(), dimension.to_string());
        if let Some((at, values)) = self.lock().get(&key) {
            if at.elapsed() < VALUES_TTL {
                return Ok(Arc::clone(values));
            }
        }
        let to = chrono::Utc::now().timestamp().div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS;
        let range = TimeRange {
            from: to - i64::from(HISTORY_DAYS) * 86_400,
            to,
        };
        let mut values = source
            .dimension_values(metric, range, dimension, MAX_VALUES)
            .await
            .map_err(|error| {
                tracing::warn!(metric = %metric.name, %error, "slice values query failed");
                ApiError::failed(format!(
                    "could not read the {dimension} values of {}: {error}",
                    metric.name
                ))
            })?;
        values.sort();
        let values: Values = Arc::new(values);
        self.lock()
            .insert(key, (Instant::now(), Arc::clone(&values)));
        Ok(values)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), (Instant, Values)>> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// "feed_views has no data for os=Windows in the last 31 days: its os values
/// are Android, Web, iOS".
fn unknown_value(metric: &str, dimension: &str, value: &str, known: &[String]) -> String {
    let head =
        format!("{metric} has no data for {dimension}={value} in the last {HISTORY_DAYS} days");
    if known.is_empty() {
        return format!("{head}: no {dimension} value has data");
    }
    let mut named = known
        .iter()
        .take(NAMED_AT_MOST)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if known.len() > NAMED_AT_MOST {
        named.push_str(&format!(" and {} more", known.len() - NAMED_AT_MOST));
    }
    format!("{head}: its {dimension} values are {named}")
}

#[cfg(test)]
mod tests {
    use super::unknown_value;

    #[test]
    fn a_refusal_names_the_values_there_are() {
        let known = ["Android", "Web", "iOS"].map(String::from);
        assert_eq!(
            unknown_value("feed_views", "os", "Windows", &known),
            format!(
                "feed_views has no data for os=Windows in the last {} days: \
                 its os values are Android, Web, iOS",
                app::api::HISTORY_DAYS
            )
        );
        let many: Vec<String> = (0..25).map(|i| format!("c{i}")).collect();
        let message = unknown_value("m", "country", "x", &many);
        assert!(message.ends_with("c19 and 5 more"), "{message}");
        assert!(unknown_value("m", "os", "x", &[]).ends_with("no os value has data"));
    }
}
