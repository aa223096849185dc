//! The vocabulary shared by the metric catalogue, the SQL builder and every source.
//!
//! A metric is an aggregate over one event table, bucketed by 15 minutes
//! (`toStartOfFifteenMinutes` in ClickHouse, the same floor in SQLite), optionally
//! restricted by filters and split by one slice dimension. Sources return
//! [`Bucket`]s; nothing above the sources sees SQL.

use serde::{Deserialize, Serialize};

/// Width of one bucket, in seconds. Every built-in metric uses 15 minutes.
pub const BUCKET_SECONDS: i64 = 15 * 60;

/// The two event tables of the product. Their physical names are configurable
/// (see `TableNames`); these are the logical names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventTable {
    FeedActions,
    MessageActions,
}

impl EventTable {
    /// The logical name, as in the config's `table = ...` and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            EventTable::FeedActions => "feed_actions",
            EventTable::MessageActions => "message_actions",
        }
    }
}

/// Physical table names in the store (a user may call them differently).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableNames {
    pub feed_actions: String,
    pub message_actions: String,
}

impl Default for TableNames {
    fn default() -> Self {
        Self {
            feed_actions: "feed_actions".into(),
            message_actions: "message_actions".into(),
        }
    }
}

/// What is computed per bucket. Each variant maps to one SQL expression per dialect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Aggregate {
    /// `uniqExact(column)` / `COUNT(DISTINCT column)`.
    Distinct { column: String },
    /// Number of rows (after filters).
    Count,
    /// Rows matching `numerator` divided by rows matching `denominator` (CTR = likes / views).
    Ratio {
        numerator: Vec<Filter>,
        denominator: Vec<Filter>,
    },
}

/// `column = value` (values are always bound or escaped, never spliced).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    pub column: String,
    pub value: String,
}

/// One metric definition, built in or from the config file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricDef {
    /// Stable identifier used in URLs, config and alerts, e.g. `feed_views`.
    pub name: String,
    /// Human title, e.g. "Feed views".
    pub title: String,
    pub table: EventTable,
    pub aggregate: Aggregate,
    /// Applied to every row before aggregating.
    pub filters: Vec<Filter>,
    /// Dimensions this metric is also watched by (os, source, country, ...).
    pub slices: Vec<String>,
    /// Names of metrics this one is derived from (CTR depends on views and likes).
    pub depends_on: Vec<String>,
    /// The configured dimensions (`[[dimensions]]`) among `slices`: a column
    /// under another name, cut into bands, or with its own cap. A slice not
    /// named here is the column of its name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<DimensionDef>,
}

/// A configured slice dimension: `age` cut into bands (`age_band`), or a
/// column with its own cap on the values watched one by one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DimensionDef {
    /// The name slices and `dimension=value` use, e.g. `age_band`.
    pub name: String,
    /// The whitelisted column it reads, e.g. `age`.
    pub column: String,
    /// Ascending band bounds: `[18, 25, 35]` gives `<18`, `18-24`, `25-34`
    /// and `35+`. Empty: the column's own values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bands: Vec<u32>,
    /// Values watched one by one, largest volume first; the rest are one
    /// `other` series. `None`: [`crate::metrics::dimensions::DEFAULT_TOP`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<usize>,
}

/// A half-open time range `[from, to)` in unix seconds, aligned to buckets by the builder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    pub from: i64,
    pub to: i64,
}

/// Restrict a query to one slice value, e.g. `os = Android`; read by the
/// same rule everywhere (see [`detect::slice`]).
pub use detect::slice::SliceKey;

/// One computed value: the bucket's start (unix seconds) and the metric's value.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub start: i64,
    pub value: f64,
}

/// The buckets of `range` on its 15-minute grid, oldest first, `None` where the
/// source returned no bucket. Buckets off the grid or outside the range are
/// ignored rather than misplaced.
pub fn on_grid(range: TimeRange, buckets: &[Bucket]) -> Vec<Option<f64>> {
    let len = usize::try_from((range.to - range.from) / BUCKET_SECONDS).unwrap_or(0);
    let mut values = vec![None; len];
    for bucket in buckets {
        let offset = bucket.start - range.from;
        if offset >= 0 && offset % BUCKET_SECONDS == 0 {
            if let Some(slot) = values.get_mut((offset / BUCKET_SECONDS) as usize) {
                *slot = Some(bucket.value);
            }
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slice_is_read_as_the_web_ui_reads_it() {
        let slice = SliceKey::parse(" os = Android ").expect("valid");
        assert_eq!(
            slice,
            SliceKey {
                dimension: "os".into(),
                value: "Android".into()
            }
        );
        // The value keeps any `=` after the first.
        assert_eq!(SliceKey::parse("source=a=b").expect("valid").value, "a=b");
        for bad in ["os", "os=", "=Android", " = "] {
            let reason = SliceKey::parse(bad).unwrap_err().to_string();
            assert!(
                reason.contains("expected dimension=value, e.g. os=Android"),
                "{bad:?}: {reason}"
            );
        }
    }

    #[test]
    fn on_grid_places_buckets_and_leaves_gaps() {
        let from = 1_700_000_100 / BUCKET_SECONDS * BUCKET_SECONDS;
        let bucket = |start: i64, value: f64| Bucket { start, value };
        let buckets = [
            bucket(from - BUCKET_SECONDS, 8.0), // before the range (sources align outward)
            bucket(from, 1.0),
            bucket(from + 2 * BUCKET_SECONDS, 3.0),
            bucket(from + 7, 9.0),                   // off the grid
            bucket(from + 10 * BUCKET_SECONDS, 9.0), // after the range
        ];
        let range = TimeRange {
            from,
            to: from + 4 * BUCKET_SECONDS,
        };
        assert_eq!(
            on_grid(range, &buckets),
            vec![Some(1.0), None, Some(3.0), None]
        );
    }
}
