//! Metric reads through the bucket cache (see `bucket_cache` for the rule):
//! a read asks ClickHouse only for the settled buckets the cache lacks and
//! for the unsettled tail, decoding rows one by one into compact
//! [`Slots`] rather than collecting them first.
//!
//! Capped reads keep the kept values a ranking chose ([`Kept`]) and rank
//! again only once the range start moved a day past the ranked one: ranking
//! is a scan of the whole range. When the new list differs, only the added
//! values' series are read over the cached span, the removed ones dropped,
//! and a count's `(other)` adjusted by both (`bucket_cache::set_kept`).

use std::collections::{BTreeMap, HashSet};

use clickhouse::Row;
use serde::Deserialize;

use super::bucket_cache::{assemble, settled_before, Frame, Kept, KeptDelta, Slots};
use super::{ClickHouseSource, Kind, QUERY_TIMEOUT};
use crate::metrics::dimensions::OTHER;
use crate::metrics::model::{Bucket, MetricDef, SliceKey, TimeRange, BUCKET_SECONDS};
use crate::metrics::sql::{self, Cap, SqlQuery};
use crate::sources::SourceError;

/// The range every cache key's SQL is built for: only the bounds' numbers
/// differ between two reads of one shape.
const KEY_RANGE: TimeRange = TimeRange {
    from: 0,
    to: BUCKET_SECONDS,
};

/// What a capped read's cache key adds to its grouped query's key, before
/// the cap: every cap of one query shares the prefix.
const TOP: &str = "\u{0}top ";

/// A grouped row, its slice value borrowed from the response buffer: no
/// `String` is made per row.
#[derive(Row, Deserialize)]
struct GroupedRow<'a> {
    slice_value: &'a str,
    bucket: u32,
    value: f64,
}

#[derive(Row, Deserialize)]
struct BucketRow {
    bucket: u32,
    value: f64,
}

/// One read's query shape: a metric whole or filtered to a slice, or
/// grouped by a dimension (capped to kept values when given).
#[derive(Clone, Copy)]
struct Shape<'a> {
    metric: &'a MetricDef,
    slice: Option<&'a SliceKey>,
    dimension: Option<&'a str>,
}

impl ClickHouseSource {
    /// One metric's buckets over `range`, whole or for one slice.
    pub(super) async fn cached_series(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        slice: Option<&SliceKey>,
    ) -> Result<Vec<Bucket>, SourceError> {
        if let Some(slice) = slice {
            if let Some(series) = self.slice_from_capped(metric, range, slice).await? {
                return Ok(series);
            }
        }
        let shape = Shape {
            metric,
            slice,
            dimension: None,
        };
        let key = self.cache_key(shape, None).await?;
        let mut series = self.read_through(shape, range, &key, None).await?;
        Ok(series.remove("").unwrap_or_default())
    }

    /// A slice's buckets (an alert's chart) from the capped read a check
    /// made of its dimension, when that keeps the value and holds the
    /// range's start: only the rest is read, through the slice's own entry.
    /// The same rows either way: a kept value's series in the capped read
    /// is its rows, from the rollup exactly when the slice's would be.
    async fn slice_from_capped(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        slice: &SliceKey,
    ) -> Result<Option<Vec<Bucket>>, SourceError> {
        if slice.value == OTHER {
            // Not a value of the dimension: its query has no rows.
            return Ok(None);
        }
        let grouped = Shape {
            metric,
            slice: None,
            dimension: Some(&slice.dimension),
        };
        // Every cap of this grouped query: its key, then the cap.
        let prefix = format!("{}{TOP}", self.cache_key(grouped, None).await?);
        let range = sql::align_range(range)?;
        let settled_to = settled_before(crate::times::unix_now(), self.settle_secs());
        let Some((mut buckets, held_to)) =
            self.cache
                .slice_of(&prefix, &slice.value, range, settled_to)
        else {
            return Ok(None);
        };
        if held_to < range.to {
            let shape = Shape {
                metric,
                slice: Some(slice),
                dimension: None,
            };
            let slice_key = self.cache_key(shape, None).await?;
            let rest = TimeRange {
                from: held_to,
                to: range.to,
            };
            let mut rest = self.read_through(shape, rest, &slice_key, None).await?;
            buckets.extend(rest.remove("").unwrap_or_default());
        }
        Ok(Some(buckets))
    }

    /// One metric's buckets by value of `dimension`, capped to `top` values.
    pub(super) async fn cached_grouped(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        dimension: &str,
        top: Option<usize>,
    ) -> Result<BTreeMap<String, Vec<Bucket>>, SourceError> {
        let shape = Shape {
            metric,
            slice: None,
            dimension: Some(dimension),
        };
        let key = self.cache_key(shape, top).await?;
        let Some(top) = top else {
            return self.read_through(shape, range, &key, None).await;
        };
        let range = sql::align_range(range)?;
        let kept = self.kept_values(shape, range, &key, top).await?;
        if kept.is_empty() {
            return Ok(BTreeMap::new());
        }
        self.read_through(shape, range, &key, Some(&kept)).await
    }

    /// [`crate::sources::Source::dimension_values`]: one ranking query, no
    /// buckets read.
    pub(in crate::sources) async fn dimension_values(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        dimension: &str,
        limit: usize,
    ) -> Result<Vec<String>, SourceError> {
        let shape = Shape {
            metric,
            slice: None,
            dimension: Some(dimension),
        };
        let range = sql::align_range(range)?;
        let grouped = self.query_for(shape, range, None).await?;
        self.fetch(&sql::ranking(grouped, limit), &context(shape))
            .await
    }

    /// The kept values for a capped read of `range`: the entry's, unless
    /// they were ranked a day or more before `range` starts (or after).
    async fn kept_values(
        &self,
        shape: Shape<'_>,
        range: TimeRange,
        key: &str,
        top: usize,
    ) -> Result<Vec<String>, SourceError> {
        let (old, covered) = self.cache.kept(key);
        if let Some(old) = old.as_ref().filter(|old| old.still_ranks(range.from)) {
            return Ok(old.values.clone());
        }
        let context = context(shape);
        let grouped = self.query_for(shape, range, None).await?;
        let values: Vec<String> = self.fetch(&sql::ranking(grouped, top), &context).await?;
        if values.is_empty() {
            return Ok(values);
        }
        let new = Kept {
            values: values.clone(),
            ranked_from: range.from,
        };
        let old_values = old.as_ref().map(|old| old.values.as_slice());
        let before: HashSet<&str> = (old_values.unwrap_or_default().iter())
            .map(String::as_str)
            .collect();
        let added: Vec<String> = values
            .iter()
            .filter(|value| !before.contains(value.as_str()))
            .cloned()
            .collect();
        // Reading the added values over the cached span pays when they are
        // few; when most changed, the next read of the range is as cheap.
        let delta_span = covered
            .filter(|span| span.from < range.to && span.to > range.from)
            .filter(|_| old_values.is_some() && added.len() * 2 <= values.len());
        let delta = match delta_span {
            Some(span) => Some(self.kept_delta(shape, span, &values, added).await?),
            None => None,
        };
        tracing::debug!(context, delta = delta.is_some(), "ranked again");
        self.cache.set_kept(key, old_values, new, delta);
        Ok(values)
    }

    /// The rows of the `added` values over `span`, to apply to the entry.
    async fn kept_delta(
        &self,
        shape: Shape<'_>,
        span: TimeRange,
        kept: &[String],
        added: Vec<String>,
    ) -> Result<KeptDelta, SourceError> {
        let other = Cap::new(&shape.metric.aggregate, kept)
            .other
            .then(|| OTHER.to_string());
        let mut rows = Frame::new();
        if !added.is_empty() {
            let query = self.query_for(shape, span, Some(&added)).await?;
            rows = self.read_frame(&query, &context(shape), true).await?;
            // The rest's sum, which this read needs no part of.
            if let Some(other) = &other {
                rows.remove(other);
            }
        }
        Ok(KeptDelta {
            span,
            added: rows,
            other,
        })
    }

    /// `range` of `shape` (capped to `kept`): from the cache where settled
    /// and held, the rest from ClickHouse (kept in the cache when settled).
    async fn read_through(
        &self,
        shape: Shape<'_>,
        range: TimeRange,
        key: &str,
        kept: Option<&[String]>,
    ) -> Result<BTreeMap<String, Vec<Bucket>>, SourceError> {
        let range = sql::align_range(range)?;
        let settled_to = settled_before(crate::times::unix_now(), self.settle_secs());
        let plan = self.cache.plan(key, range, settled_to, kept);
        let context = context(shape);
        let mut fetched = Vec::with_capacity(plan.fetch.len());
        for part in &plan.fetch {
            #[cfg(test)]
            self.note_fetch(*part);
            let query = self.query_for(shape, *part, kept).await?;
            let rows = self
                .read_frame(&query, &context, shape.dimension.is_some())
                .await?;
            fetched.push((*part, rows));
        }
        tracing::debug!(
            context,
            cached = ?plan.cached_span.map(|span| (span.from, span.to)),
            read = ?plan.fetch.iter().map(|span| (span.from, span.to)).collect::<Vec<_>>(),
            "clickhouse read through the bucket cache"
        );
        // A part ending where the cached span starts was read before it.
        let starts = plan.cached_span.map(|span| span.from);
        let mut front = None;
        let mut back = None;
        for (part, rows) in &fetched {
            match starts {
                Some(start) if part.to <= start => front = Some(rows),
                _ => back = Some(rows),
            }
        }
        let series = assemble(front, plan.cached, back);
        // After the result is built: a cold read's rows move into the cache.
        for (part, rows) in fetched {
            self.cache.store(key, part, settled_to, kept, rows);
        }
        Ok(series)
    }

    /// What identifies `shape` up to its range: its SQL for a fixed range
    /// (naming the table or rollup, the filters, the slice), and the cap.
    async fn cache_key(&self, shape: Shape<'_>, top: Option<usize>) -> Result<String, SourceError> {
        let query = self.query_for(shape, KEY_RANGE, None).await?;
        let top = top.map_or(String::new(), |top| format!("{TOP}{top}"));
        Ok(format!(
            "{}\u{0}{}{top}",
            query.sql,
            query.params.join("\u{0}")
        ))
    }

    async fn query_for(
        &self,
        shape: Shape<'_>,
        range: TimeRange,
        kept: Option<&[String]>,
    ) -> Result<SqlQuery, SourceError> {
        self.metric_query(shape.metric, range, shape.slice, shape.dimension, kept)
            .await
    }

    /// Runs a metric query and decodes its rows as they arrive into slots,
    /// so that a large grouped read never holds all its rows at once.
    async fn read_frame(
        &self,
        query: &SqlQuery,
        context: &str,
        grouped: bool,
    ) -> Result<Frame, SourceError> {
        let mut request = self.client.query(&query.sql);
        for param in &query.params {
            request = request.bind(param.as_str());
        }
        tracing::debug!(context, sql = %query.sql, "clickhouse query");
        let work = async {
            let mut frame = Frame::new();
            if !grouped {
                let mut cursor = request.fetch::<BucketRow>()?;
                let mut slots = Slots::default();
                while let Some(row) = cursor.next().await? {
                    slots.set(i64::from(row.bucket), row.value);
                }
                if !slots.is_empty() {
                    slots.shrink();
                    frame.insert(String::new(), slots);
                }
                return Ok(frame);
            }
            let mut cursor = request.fetch::<GroupedRow<'_>>()?;
            // Rows come ordered by slice value: one series is filled at a
            // time and looked up in the map only when the value changes.
            let mut current: Option<(String, Slots)> = None;
            while let Some(row) = cursor.next().await? {
                let bucket = i64::from(row.bucket);
                match &mut current {
                    Some((value, slots)) if value == row.slice_value => {
                        slots.set(bucket, row.value)
                    }
                    _ => {
                        let previous = current.take();
                        let value = row.slice_value.to_string();
                        let mut slots = frame.remove(&value).unwrap_or_default();
                        slots.set(bucket, row.value);
                        current = Some((value, slots));
                        if let Some((value, mut slots)) = previous {
                            slots.shrink();
                            frame.insert(value, slots);
                        }
                    }
                }
            }
            if let Some((value, mut slots)) = current {
                slots.shrink();
                frame.insert(value, slots);
            }
            Ok(frame)
        };
        self.guard(context, Kind::Read, QUERY_TIMEOUT, work).await
    }
}

/// The context of a read's errors, as before the cache.
fn context(shape: Shape<'_>) -> String {
    match shape.dimension {
        Some(dimension) => format!("{} by {dimension}", shape.metric.name),
        None => shape.metric.name.clone(),
    }
}
