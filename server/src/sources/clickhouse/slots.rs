//! One series' buckets as a first bucket and one value per bucket from it
//! ([`Cells`]: 4 bytes for whole numbers, else 8), absent where the query
//! returned no row: the compact form ClickHouse reads are decoded into (row
//! by row, see `cached_reads`) and cached in (see `bucket_cache`). Query
//! values are never NaN (a ratio with a zero denominator has no row), so
//! NaN is free to mean "absent".
//!
//! Leading and trailing NaNs are never kept, so an empty series is an empty
//! vector and a sparse slice value costs only its span.

use std::collections::BTreeMap;

use super::cells::Cells;
use crate::metrics::model::{Bucket, TimeRange, BUCKET_SECONDS};

/// Slots added beyond what an append needs: a day of buckets.
const GROWTH_SLOTS: usize = 96;

/// The rows of one read or cache entry by slice value (`""` when not grouped).
pub type Frame = BTreeMap<String, Slots>;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Slots {
    first_bucket: i64,
    values: Cells,
}

impl Slots {
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The start of the bucket after the last slot.
    fn end(&self) -> i64 {
        self.first_bucket + self.values.len() as i64 * BUCKET_SECONDS
    }

    fn index(&self, bucket: i64) -> usize {
        // Buckets are whole multiples of 15 minutes (every time zone's
        // offset is too), so the division is exact.
        usize::try_from((bucket - self.first_bucket).div_euclid(BUCKET_SECONDS)).unwrap_or(0)
    }

    /// The value of the bucket starting at `bucket`; NaN when absent.
    pub fn get(&self, bucket: i64) -> f64 {
        if self.values.is_empty() || bucket < self.first_bucket || bucket >= self.end() {
            return f64::NAN;
        }
        self.values.get(self.index(bucket))
    }

    /// Sets one bucket's value, growing the slots either way. Appending in
    /// time order (how rows arrive) is amortised O(1).
    pub fn set(&mut self, bucket: i64, value: f64) {
        if value.is_nan() {
            return;
        }
        self.extend_to(bucket, bucket + BUCKET_SECONDS);
        let index = self.index(bucket);
        self.values.set(index, value);
    }

    /// Grows the slots (with NaN) so that they cover `[from, to)`.
    fn extend_to(&mut self, from: i64, to: i64) {
        if self.values.is_empty() {
            self.first_bucket = from;
        }
        if from < self.first_bucket {
            let missing = usize::try_from((self.first_bucket - from) / BUCKET_SECONDS).unwrap_or(0);
            self.values.prepend_absent(missing);
            self.first_bucket = from;
        }
        if to > self.end() {
            let length = usize::try_from((to - self.first_bucket) / BUCKET_SECONDS).unwrap_or(0);
            if length > self.values.capacity() {
                // Room for a day's appends or an eighth more, not a
                // doubling: a cached series grows by one bucket a check,
                // and doubling held twice the cache's memory until the
                // next trim (about 200 MB at 10,000 series).
                let headroom = GROWTH_SLOTS.max(length / 8);
                self.values
                    .reserve_exact(length - self.values.len() + headroom);
            }
            self.values.resize(length);
        }
    }

    /// The buckets with a value, in time order.
    pub fn buckets(&self) -> impl Iterator<Item = Bucket> + '_ {
        let first = self.first_bucket;
        self.values
            .iter()
            .enumerate()
            .filter(|(_, value)| !value.is_nan())
            .map(move |(index, value)| Bucket {
                start: first + index as i64 * BUCKET_SECONDS,
                value,
            })
    }

    /// How many buckets have a value.
    pub fn count(&self) -> usize {
        self.values.iter().filter(|value| !value.is_nan()).count()
    }

    /// Drops the buckets outside `range`, in place.
    pub fn keep_within(&mut self, range: TimeRange) {
        if range.to < self.end() {
            let keep = usize::try_from((range.to - self.first_bucket).max(0) / BUCKET_SECONDS)
                .unwrap_or(0);
            self.values.truncate(keep);
        }
        self.trim_before(range.from);
        self.tidy();
    }

    /// Releases the spare capacity that growing by doubling left.
    pub fn shrink(&mut self) {
        self.values.shrink_to_fit();
    }

    /// How many buckets inside `range` have a value.
    pub fn count_within(&self, range: TimeRange) -> usize {
        self.buckets_within(range).count()
    }

    /// The buckets inside `range` with a value, in time order.
    pub fn buckets_within(&self, range: TimeRange) -> impl Iterator<Item = Bucket> + '_ {
        let from = range.from.max(self.first_bucket).min(self.end());
        let to = range.to.min(self.end()).max(from);
        let (start, stop) = (self.index(from), self.index(to));
        (start..stop)
            .map(move |index| (index - start, self.values.get(index)))
            .filter(|(_, value)| !value.is_nan())
            .map(move |(offset, value)| Bucket {
                start: from + offset as i64 * BUCKET_SECONDS,
                value,
            })
    }

    /// Sets every bucket of `other` inside `span` that has a value.
    pub fn copy_from(&mut self, other: &Slots, span: TimeRange) {
        let from = span.from.max(other.first_bucket);
        let to = span.to.min(other.end());
        if other.values.is_empty() || from >= to {
            return;
        }
        let (start, stop) = (other.index(from), other.index(to));
        let Some(first) = (start..stop).position(|i| other.values.is_present(i)) else {
            return;
        };
        let last = (start..stop)
            .rposition(|i| other.values.is_present(i))
            .unwrap_or(first);
        let (from, to) = (
            from + first as i64 * BUCKET_SECONDS,
            from + (last as i64 + 1) * BUCKET_SECONDS,
        );
        // One allocation of the final size rather than growth per value.
        self.extend_to(from, to);
        let offset = self.index(from);
        let source = other.index(from)..other.index(to);
        for (target, index) in (offset..).zip(source) {
            let value = other.values.get(index);
            if !value.is_nan() {
                self.values.set(target, value);
            }
        }
    }

    /// Adds `sign` times each value of `other` inside `span` to this series
    /// (an absent bucket counts as zero).
    pub fn add(&mut self, other: &Slots, span: TimeRange, sign: f64) {
        for bucket in other.buckets() {
            if bucket.start < span.from || bucket.start >= span.to {
                continue;
            }
            let current = self.get(bucket.start);
            let current = if current.is_nan() { 0.0 } else { current };
            self.set(bucket.start, current + sign * bucket.value);
        }
    }

    /// Makes zero values absent: a count of no rows is no row.
    pub fn clear_zeros(&mut self) {
        for index in 0..self.values.len() {
            if self.values.get(index) == 0.0 {
                self.values.set(index, f64::NAN);
            }
        }
        self.tidy();
    }

    /// Drops the buckets before `from`.
    pub fn trim_before(&mut self, from: i64) {
        if self.values.is_empty() || from <= self.first_bucket {
            return;
        }
        let cut = self.index(from).min(self.values.len());
        self.values.drop_front(cut);
        self.first_bucket = from;
        self.tidy();
        self.values.shrink_to_fit();
    }

    /// Removes leading and trailing NaNs.
    fn tidy(&mut self) {
        let Some(first) = self.values.iter().position(|v| !v.is_nan()) else {
            self.values.clear();
            return;
        };
        let last = self
            .values
            .iter()
            .rposition(|v| !v.is_nan())
            .unwrap_or(first);
        self.values.truncate(last + 1);
        self.values.drop_front(first);
        self.first_bucket += first as i64 * BUCKET_SECONDS;
    }
}

/// The result of a read: the rows read before the cached span (`front`),
/// the cached buckets, and the rows read after it (`back`), concatenated
/// per slice value; values without buckets are absent.
pub fn assemble(
    front: Option<&Frame>,
    mut cached: BTreeMap<String, Vec<Bucket>>,
    back: Option<&Frame>,
) -> BTreeMap<String, Vec<Bucket>> {
    if let Some(front) = front {
        // Rare (a range starting before what is cached): one new vector each.
        for (value, slots) in front {
            let middle = cached.remove(value).unwrap_or_default();
            let mut buckets = Vec::with_capacity(slots.count() + middle.capacity());
            buckets.extend(slots.buckets());
            buckets.extend(middle);
            cached.insert(value.clone(), buckets);
        }
    }
    if let Some(back) = back {
        for (value, slots) in back {
            let series = cached.entry(value.clone()).or_default();
            // Room for the tail was reserved by the plan; a value new in the
            // tail is allocated once at its length.
            series.reserve_exact(slots.count());
            series.extend(slots.buckets());
        }
    }
    cached.retain(|_, buckets| !buckets.is_empty());
    cached
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appending_a_bucket_reserves_a_day_or_an_eighth_not_a_doubling() {
        let mut slots = Slots::default();
        for k in 0..1421 {
            slots.set(k * BUCKET_SECONDS, k as f64);
        }
        slots.shrink();
        assert_eq!(slots.values.capacity(), 1421);
        slots.set(1421 * BUCKET_SECONDS, 1.0);
        assert_eq!(slots.len(), 1422);
        assert_eq!(slots.values.capacity(), 1422 + 1422 / 8);
        for k in 1422..1422 + 96 {
            slots.set(k * BUCKET_SECONDS, 2.0);
        }
        assert_eq!(
            slots.values.capacity(),
            1422 + 1422 / 8,
            "a day of appends fits"
        );
        assert_eq!(slots.get(1500 * BUCKET_SECONDS), 2.0);
    }
}
