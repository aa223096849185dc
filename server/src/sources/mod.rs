//! Where metric series come from: the embedded SQLite store (default) or ClickHouse.
//!
//! Both backends run the SQL emitted by [`crate::metrics::sql::build`] for their
//! dialect and return [`Bucket`]s; callers above this module never see SQL.
//! A closed `enum` rather than a trait object: there are exactly two sources, and
//! async methods on an enum need no boxing.
//!
//! Gap rule (applied here, once, for both backends — see [`fill_interior_gaps`]):
//! a bucket with no matching rows is absent from a query's result. For `Count`
//! and `Distinct` metrics, a missing bucket *between* the first and the last
//! bucket that have data is a real zero and is filled with `0.0`; missing buckets
//! before the first or after the last stay absent, because there "zero" cannot be
//! told apart from "not ingested yet". `Ratio` metrics are never filled: a bucket
//! with a zero denominator has no value.

pub mod clickhouse;
pub mod experiment_cache;
pub mod experiment_sums;
#[cfg(test)]
pub(crate) mod experiment_sums_tests;
pub(crate) mod lru;
pub mod settle;
pub mod sqlite;
pub mod stats;

#[cfg(test)]
pub(crate) mod daily_tests;

use std::collections::BTreeMap;

use crate::config::SourceConfig;
use crate::events::{EventBatch, Incident};
use crate::metrics::model::{
    Aggregate, Bucket, EventTable, MetricDef, SliceKey, TimeRange, BUCKET_SECONDS,
};
use crate::metrics::MetricError;

pub use clickhouse::ClickHouseSource;
pub use sqlite::SqliteStore;

/// Why a source operation failed. Messages carry context (which table, which
/// metric, which server) but never credentials.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A command that only reads was pointed at an embedded store that does not
    /// exist (a mistyped `--data-dir`, a first run): reading it would find
    /// nothing and report every metric as empty instead of failing.
    #[error(
        "no embedded store at {path}: fill one with `vigil simulate --data-dir {dir}` \
         or `vigil serve --data-dir {dir}`, or point --data-dir, VIGIL_DATA_DIR or the \
         config's [source] path at an existing one"
    )]
    MissingStore { path: String, dir: String },
    /// The store cannot be opened or reached (file permissions, connection refused, auth).
    #[error("cannot reach {target}: {reason}")]
    Unreachable { target: String, reason: String },
    /// The store answered, but the query failed or returned something unexpected.
    #[error("query failed ({context}): {reason}")]
    Query { context: String, reason: String },
    /// Writing events or incidents failed.
    #[error("write failed ({context}): {reason}")]
    Write { context: String, reason: String },
    /// The source's settings cannot work (a malformed URL, an unsupported scheme):
    /// retrying will not help, the configuration must change.
    #[error("invalid source configuration: {0}")]
    Config(String),
    /// The metric definition, slice, database or table name cannot be turned
    /// into SQL. Transparent: the inner message says what is wrong, and an
    /// error chain printed with `{:#}` does not repeat it.
    #[error(transparent)]
    InvalidDefinition(#[from] MetricError),
}

/// The configured source of events and metric series.
// One `Source` lives per process, so the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Source {
    Sqlite(SqliteStore),
    ClickHouse(ClickHouseSource),
}

impl Source {
    /// Open the configured source for writing (creating the SQLite file, its
    /// directory and schema if absent): `vigil serve` and `vigil simulate`.
    pub fn open(config: &SourceConfig) -> Result<Self, SourceError> {
        match config {
            SourceConfig::Sqlite(sqlite) => Ok(Source::Sqlite(SqliteStore::open(&sqlite.path)?)),
            SourceConfig::ClickHouse(clickhouse) => {
                Ok(Source::ClickHouse(ClickHouseSource::new(clickhouse)?))
            }
        }
    }

    /// Open the configured source to read it: an embedded store must already
    /// exist (nothing is created); see [`SourceError::MissingStore`].
    pub fn open_existing(config: &SourceConfig) -> Result<Self, SourceError> {
        match config {
            SourceConfig::Sqlite(sqlite) => {
                Ok(Source::Sqlite(SqliteStore::open_existing(&sqlite.path)?))
            }
            SourceConfig::ClickHouse(_) => Self::open(config),
        }
    }

    /// Buckets that ended at least `secs` seconds ago are final: ClickHouse
    /// reads cache them and never read them again (see
    /// `clickhouse::bucket_cache`). Set to [`settle_secs`] of the schedule;
    /// that of the default schedule until set. The embedded store's cache
    /// sees every new row and needs no horizon.
    pub fn settle_rows_after(&self, secs: i64) {
        if let Source::ClickHouse(source) = self {
            source.settle_rows_after(secs);
        }
    }

    /// Human name for logs and errors ("sqlite ./data/vigil.sqlite", "clickhouse http://...").
    pub fn describe(&self) -> String {
        match self {
            Source::Sqlite(store) => store.describe(),
            Source::ClickHouse(source) => source.describe(),
        }
    }

    /// One metric's buckets in `range` (aligned outward to bucket boundaries),
    /// optionally restricted to one slice. Sorted by bucket start.
    pub async fn series(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        slice: Option<&SliceKey>,
    ) -> Result<Vec<Bucket>, SourceError> {
        let started = std::time::Instant::now();
        let result = match self {
            Source::Sqlite(store) => store.series(metric, range, slice).await,
            Source::ClickHouse(source) => source.series(metric, range, slice).await,
        };
        stats::record(started, result.is_ok());
        Ok(fill_interior_gaps(&metric.aggregate, result?))
    }

    /// One metric's buckets for every value of `dimension` seen in `range`.
    pub async fn series_by_slice(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        dimension: &str,
    ) -> Result<BTreeMap<String, Vec<Bucket>>, SourceError> {
        self.grouped(metric, range, dimension, None).await
    }

    /// What a check watches of `dimension`: the buckets of its `top` values
    /// by volume over `range` (the sum of their buckets, ties by value),
    /// and for a count one [`crate::metrics::dimensions::OTHER`] series
    /// summing the rest; ranked and summed by the source, so the values
    /// past the cap are never read (see [`crate::metrics::sql::Cap`]).
    pub async fn top_series_by_slice(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        dimension: &str,
        top: usize,
    ) -> Result<BTreeMap<String, Vec<Bucket>>, SourceError> {
        self.grouped(metric, range, dimension, Some(top)).await
    }

    /// The values of `dimension` with data for `metric` in `range`, largest
    /// volume first, at most `limit`: one ranking query, without reading
    /// their buckets (a city dimension's 2,000 series of a month are about
    /// 95 MB; their names are a few KB).
    pub async fn dimension_values(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        dimension: &str,
        limit: usize,
    ) -> Result<Vec<String>, SourceError> {
        let started = std::time::Instant::now();
        let result = match self {
            Source::Sqlite(store) => {
                store
                    .dimension_values(metric, range, dimension, limit)
                    .await
            }
            Source::ClickHouse(source) => {
                source
                    .dimension_values(metric, range, dimension, limit)
                    .await
            }
        };
        stats::record(started, result.is_ok());
        result
    }

    async fn grouped(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        dimension: &str,
        top: Option<usize>,
    ) -> Result<BTreeMap<String, Vec<Bucket>>, SourceError> {
        let started = std::time::Instant::now();
        let result = match self {
            Source::Sqlite(store) => store.grouped(metric, range, dimension, top).await,
            Source::ClickHouse(source) => source.grouped(metric, range, dimension, top).await,
        };
        stats::record(started, result.is_ok());
        Ok(result?
            .into_iter()
            .map(|(value, buckets)| (value, fill_interior_gaps(&metric.aggregate, buckets)))
            .collect())
    }

    /// Reads `range` of `metric` (whole, and grouped by each of `dimensions`,
    /// capped as a check reads them) into the embedded store's bucket cache, so that reading it again (an
    /// alert's chart) runs no query; once warm, a call computes only the
    /// buckets that received events since. Nothing happens on ClickHouse:
    /// its cache keeps settled buckets only (`clickhouse::bucket_cache`), so
    /// a chart still reads the unsettled tail, and the check's own reads
    /// already cached its settled history (a kept slice's chart is served
    /// from its dimension's capped read).
    pub async fn warm(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        dimensions: &[String],
    ) -> Result<(), SourceError> {
        let Source::Sqlite(store) = self else {
            return Ok(());
        };
        let started = std::time::Instant::now();
        let mut result = store.series(metric, range, None).await.map(drop);
        for dimension in dimensions {
            if result.is_err() {
                break;
            }
            let top = crate::metrics::dimensions::top(metric, dimension);
            result = store
                .top_series_by_slice(metric, range, dimension, top)
                .await
                .map(drop);
        }
        stats::record(started, result.is_ok());
        result
    }

    /// One metric's value per day of `range`, whose `from` is a (local)
    /// midnight: one query, each day aggregated whole (a day's active users
    /// are its distinct users). Days without rows are absent.
    pub async fn daily(
        &self,
        metric: &MetricDef,
        range: TimeRange,
    ) -> Result<Vec<Bucket>, SourceError> {
        let started = std::time::Instant::now();
        let result = match self {
            Source::Sqlite(store) => store.daily(metric, range).await,
            Source::ClickHouse(source) => source.daily(metric, range).await,
        };
        stats::record(started, result.is_ok());
        result
    }

    /// Time of the newest event in `table`, or `None` when the table is empty.
    pub async fn newest_event_time(&self, table: EventTable) -> Result<Option<i64>, SourceError> {
        let started = std::time::Instant::now();
        let result = match self {
            Source::Sqlite(store) => store.newest_event_time(table).await,
            Source::ClickHouse(source) => source.newest_event_time(table).await,
        };
        stats::record(started, result.is_ok());
        result
    }

    /// Create the event and incident tables if absent (the simulator's write path).
    pub async fn ensure_tables(&self) -> Result<(), SourceError> {
        match self {
            // The SQLite store creates its schema when opened.
            Source::Sqlite(_) => Ok(()),
            Source::ClickHouse(source) => source.ensure_tables().await,
        }
    }

    /// Append events (the simulator's write path). Takes the batch by value so the
    /// SQLite store can move it onto a blocking thread without copying.
    pub async fn write_events(&self, batch: EventBatch) -> Result<(), SourceError> {
        match self {
            Source::Sqlite(store) => store.write_events(batch).await,
            Source::ClickHouse(source) => source.write_events(&batch).await,
        }
    }

    /// Store labelled incidents; an incident with an existing id replaces it.
    pub async fn write_incidents(&self, incidents: &[Incident]) -> Result<(), SourceError> {
        match self {
            Source::Sqlite(store) => store.write_incidents(incidents.to_vec()).await,
            Source::ClickHouse(source) => source.write_incidents(incidents).await,
        }
    }

    /// Per-user sums of `metric` by `exp_group` over `range` (exact seconds),
    /// for the users of `groups` exposed in either table, with zeros
    /// ([`crate::metrics::sql::experiment`]). Groups without users are absent.
    /// Kept between calls up to the settled past: a later call reads only
    /// what settled since and the unsettled tail ([`experiment_sums`]).
    pub async fn group_sums(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        groups: &[u8],
    ) -> Result<Vec<(u8, detect::experiments::GroupSummary)>, SourceError> {
        self.group_sums_in(&experiment_sums::CACHE, metric, range, groups)
            .await
    }

    /// [`Self::group_sums`] through the running sums kept in `cache`
    /// instead of the process's.
    pub async fn group_sums_in(
        &self,
        cache: &std::sync::Mutex<experiment_cache::SumsCache>,
        metric: &MetricDef,
        range: TimeRange,
        groups: &[u8],
    ) -> Result<Vec<(u8, detect::experiments::GroupSummary)>, SourceError> {
        let now = crate::times::unix_now();
        let settle = experiment_sums::settle_secs();
        experiment_sums::read(self, cache, metric, range, groups, now, settle)
            .await
            .map(|(sums, _)| sums)
    }

    /// [`Self::group_sums`] read whole by one grouped query, nothing kept.
    pub async fn full_group_sums(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        groups: &[u8],
    ) -> Result<Vec<(u8, detect::experiments::GroupSummary)>, SourceError> {
        let started = std::time::Instant::now();
        let result = match self {
            Source::Sqlite(store) => store.group_sums(metric, range, groups).await,
            Source::ClickHouse(source) => source.group_sums(metric, range, groups).await,
        };
        stats::record(started, result.is_ok());
        result
    }

    /// Each exposed (user, group)'s `x` and `y` of `metric` over `range`
    /// (the rows [`Self::full_group_sums`] adds up), in no order.
    pub async fn user_sums(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        groups: &[u8],
    ) -> Result<Vec<experiment_cache::UserSums>, SourceError> {
        let started = std::time::Instant::now();
        let result = match self {
            Source::Sqlite(store) => store.user_sums(metric, range, groups).await,
            Source::ClickHouse(source) => source.user_sums(metric, range, groups).await,
        };
        stats::record(started, result.is_ok());
        result
    }

    /// Names the store and its tables: the running sums' key.
    fn sums_identity(&self) -> String {
        match self {
            Source::Sqlite(store) => store.sums_identity(),
            Source::ClickHouse(source) => source.sums_identity(),
        }
    }

    /// Incidents overlapping `range`, sorted by start.
    pub async fn incidents(&self, range: TimeRange) -> Result<Vec<Incident>, SourceError> {
        match self {
            Source::Sqlite(store) => store.incidents(range).await,
            Source::ClickHouse(source) => source.incidents(range).await,
        }
    }
}

pub use settle::settle_secs;

/// Apply the gap rule described in the module docs to one sorted series.
pub fn fill_interior_gaps(aggregate: &Aggregate, buckets: Vec<Bucket>) -> Vec<Bucket> {
    if matches!(aggregate, Aggregate::Ratio { .. }) || buckets.len() < 2 {
        return buckets;
    }
    // Exactly the filled length: growing by doubling held up to twice a
    // sparse slice's series (60 MB of a 10,000-series check's peak).
    let span = match (buckets.first(), buckets.last()) {
        (Some(first), Some(last)) => (last.start - first.start) / BUCKET_SECONDS + 1,
        _ => 0,
    };
    let mut filled = Vec::with_capacity(usize::try_from(span).unwrap_or(0).max(buckets.len()));
    let mut next_start: Option<i64> = None;
    for bucket in buckets {
        if let Some(mut start) = next_start {
            while start < bucket.start {
                filled.push(Bucket { start, value: 0.0 });
                start += BUCKET_SECONDS;
            }
        }
        next_start = Some(bucket.start + BUCKET_SECONDS);
        filled.push(bucket);
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(start: i64, value: f64) -> Bucket {
        Bucket { start, value }
    }

    #[test]
    fn counts_get_interior_zeros_only() {
        let series = vec![b(900, 5.0), b(2700, 7.0)];
        let filled = fill_interior_gaps(&Aggregate::Count, series);
        assert_eq!(filled, vec![b(900, 5.0), b(1800, 0.0), b(2700, 7.0)]);
    }

    #[test]
    fn ratios_keep_their_gaps() {
        let ratio = Aggregate::Ratio {
            numerator: vec![],
            denominator: vec![],
        };
        let series = vec![b(900, 0.2), b(2700, 0.3)];
        assert_eq!(fill_interior_gaps(&ratio, series.clone()), series);
    }
}
