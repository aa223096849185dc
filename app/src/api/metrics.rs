//! Metrics: what is configured, a metric's history and its slices.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::LabelSpan;
#[cfg(feature = "ssr")]
use super::{backend, non_blank, refuse, Refusal};

/// A metric as the pages list it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricSummary {
    pub name: String,
    pub title: String,
    /// The dimensions the metric is sliced by (none: not sliced).
    #[serde(default)]
    pub slices: Vec<String>,
    /// What its values are (a count, or a ratio), so every page writes
    /// them alike ([`crate::format::Quantity::of`]).
    pub measure: detect::alerting::Measure,
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
    /// How the live check judges and alerts on this series: what the lab
    /// opens with and what its replay applies. `None` from an older server.
    #[serde(default)]
    pub check: Option<CheckRules>,
}

/// The live check's rules for one series, so the lab's replay applies them
/// ([`detect::alerting::replay`]) and shows what the check would send.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckRules {
    /// The detector in effect, when it is one detector (the lab tunes one;
    /// a combination opens the lab with the seed's band).
    pub detector: Option<detect::DetectorSpec>,
    pub measure: detect::alerting::Measure,
    pub floor: detect::alerting::AlertFloor,
    pub lifecycle: detect::alerting::AlertConfig,
    /// Seconds after a bucket ends that its check runs.
    pub grace_secs: i64,
    /// For a slice: the whole metric's values on the same grid, whose open
    /// alert masks the slice's history and whose firing holds back slices
    /// that move with it.
    pub whole: Option<Vec<Option<f64>>>,
    /// The silences in force somewhere in the history's span (ended ones
    /// too), of this metric or of everything: a replayed notification they
    /// cover is listed as muted, as the check recorded it.
    #[serde(default)]
    pub silences: Vec<detect::alerting::Silence>,
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
    // One month is the longest history a page asks for; a crafted request
    // for more (years of events to read) is refused, not quietly cut.
    if !(1..=HISTORY_DAYS).contains(&days) {
        return Err(refuse(
            Refusal::BadRequest,
            format!("days {days}: expected 1 to {HISTORY_DAYS}"),
        ));
    }
    let metrics = backend.metrics();
    let metric = find_metric(&metrics, &name).map_err(|e| refuse(Refusal::NotFound, e))?;
    let slice = non_blank(slice)
        .map(|text| metric_slice(metric, &text))
        .transpose()
        .map_err(|e| refuse(Refusal::BadRequest, e))?;
    backend
        .history(&name, days, slice)
        .await
        .map_err(backend::ApiError::into_server_fn_error)
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
    /// The ones the page shows ([`shown_slices`]): largest total first, or
    /// past [`SLICE_CARDS`] those that moved most.
    pub slices: Vec<SliceSeries>,
    /// Series of the dimension in the period, as a check watches them (its
    /// top values by volume, and the rest as one `(other)` when capped):
    /// more than `slices` holds when it was cut.
    pub total: usize,
}

/// Days of history in each small multiple.
pub const SLICE_DAYS: u32 = 7;

/// Small multiples the metric page shows at most: a screenful; the rest
/// are one count. The server sends no more than these.
pub const SLICE_CARDS: usize = 24;

/// What the metric page shows of `slices` (largest total first): all of
/// them when at most [`SLICE_CARDS`]; otherwise the ones whose latest value
/// is farthest from their median (relative to it), the farthest first, so
/// that a break in one of thousands of small slices is on the page. A slice
/// with a zero median does not move; one without values comes last (it
/// has nothing to draw).
pub fn shown_slices(slices: Vec<SliceSeries>) -> Vec<SliceSeries> {
    if slices.len() <= SLICE_CARDS {
        return slices;
    }
    let movement = |slice: &SliceSeries| {
        let mut known: Vec<f64> = slice.values.iter().flatten().copied().collect();
        let Some(&last) = known.last() else {
            return -1.0;
        };
        known.sort_by(f64::total_cmp);
        let median = known[known.len() / 2];
        let moved = ((last - median) / median).abs();
        if moved.is_finite() {
            moved
        } else {
            0.0
        }
    };
    let mut ranked: Vec<(f64, SliceSeries)> =
        slices.into_iter().map(|s| (movement(&s), s)).collect();
    // Stable: equal movements keep the largest first.
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranked
        .into_iter()
        .take(SLICE_CARDS)
        .map(|(_, slice)| slice)
        .collect()
}

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
        .map_err(backend::ApiError::into_server_fn_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(value: &str, values: &[f64]) -> SliceSeries {
        SliceSeries {
            value: value.into(),
            start: 0,
            step: 900,
            values: values.iter().map(|v| Some(*v)).collect(),
        }
    }

    #[test]
    fn past_the_cards_the_slices_that_moved_most_come_first() {
        let mut slices = vec![
            slice("big", &[100.0, 100.0, 101.0]),
            slice("fell", &[10.0, 10.0, 2.0]),
            slice("rose", &[10.0, 10.0, 15.0]),
            slice("empty", &[]),
        ];
        let names = |kept: &[SliceSeries]| kept.iter().map(|s| s.value.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&shown_slices(slices.clone())),
            ["big", "fell", "rose", "empty"]
        );
        slices.extend((0..SLICE_CARDS).map(|k| slice(&format!("flat {k}"), &[5.0, 5.0])));
        let shown = shown_slices(slices);
        assert_eq!(shown.len(), SLICE_CARDS);
        assert_eq!(names(&shown[..3]), ["fell", "rose", "big"]);
        assert!(!names(&shown).contains(&"empty".to_string()));
    }
}
