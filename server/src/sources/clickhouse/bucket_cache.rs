//! Settled buckets of ClickHouse metric reads, kept in memory so that the
//! next read of the same query shape asks the server only for what is new.
//!
//! Why: a check reads two weeks of history for every metric and every slice
//! dimension to evaluate one new bucket. ClickHouse recomputes all of it on
//! every read (about 80 s of server time per check at 10,000 series), while
//! only the newest few buckets can still change.
//!
//! Rule (the one of [`crate::sources::settle`], shared with the
//! experiments' running sums): the rows of a bucket are final once the
//! bucket ended at least `settle` seconds before the real clock
//! ([`crate::times::unix_now`]);
//! `settle` is the config's `[schedule] late_rows_minutes` plus the grace
//! and one bucket ([`crate::sources::settle_secs`]), which covers every
//! bucket a check's late-rows re-check may read, so the two agree on which
//! buckets can still change. Settled buckets are cached and never read
//! again; newer buckets are read from ClickHouse on every read and never
//! cached. Rows arriving later than `settle` (a backfill of old days, a
//! replica lagging more than that) are not seen by a process that cached the
//! bucket before; a restart reads them.
//!
//! Shape: one entry per query shape (the SQL built for a fixed range, which
//! names the table or rollup, the filters, the slice or the dimension; see
//! `cached_reads`), holding one contiguous settled span. Per slice value it
//! keeps a first bucket and one `f64` slot per bucket, NaN for "no row": a
//! few bytes per bucket instead of a `String` and a `Bucket` per row.
//! A capped read's entry also holds the kept values it was ranked to
//! ([`Kept`]); its rows are only ever served for that same list.
//!
//! Concurrency: the lock is never held during a query. A read plans (copies
//! what is cached), queries the rest, then stores; a store that no longer
//! fits the entry (its kept list changed meanwhile) is dropped, and the read
//! still returns its own, consistent rows.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::metrics::model::{Bucket, TimeRange, BUCKET_SECONDS};

use super::kept::apply_delta;
pub use super::kept::{Kept, KeptDelta};
pub use super::slots::{assemble, Frame, Slots};
pub use crate::sources::settle::settled_before;

/// Entries kept at most; the least recently used goes first. The built-in
/// catalogue and a config's metrics, whole, by slice and capped, need a few
/// hundred.
const MAX_ENTRIES: usize = 1024;
/// Slots (8 bytes each) kept at most over all entries: 128 MiB, which holds
/// the 10,000 series of issue 18 (five metrics by 2,000 cities over 15
/// days) with room to spare. See [`evict`] for what happens past it.
const MAX_SLOTS: usize = 16 << 20;
/// An entry unused for this long belongs to a metric no longer read (a
/// config changed, a one-off `vigil series`): it goes first when full.
const IDLE: Duration = Duration::from_secs(2 * 3600);
/// Cached history kept beyond the longest range an entry was read for: the
/// front is trimmed once it grew by this much (a day of a sliding check).
pub(super) const TRIM_SLACK: i64 = 96 * BUCKET_SECONDS;

/// What a lookup found: the cached part of a range and what is to be read.
#[derive(Debug, Default)]
pub struct Plan {
    /// The cached buckets inside `cached_span`, by slice value: already the
    /// result's form, with room for the tail to be appended, so that a warm
    /// read holds its series once (not also as a copy of the slots).
    pub cached: BTreeMap<String, Vec<Bucket>>,
    pub cached_span: Option<TimeRange>,
    /// Sub-ranges to read from ClickHouse, oldest first (at most two).
    pub fetch: Vec<TimeRange>,
}

#[derive(Default)]
pub struct BucketCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// Use counter for least-recently-used eviction.
    clock: u64,
}

#[derive(Default)]
struct Entry {
    /// The settled buckets `[from, to)` whose rows are all in `series`.
    covered: Option<TimeRange>,
    series: Frame,
    kept: Option<Kept>,
    /// The longest range read through this entry: history beyond it (and
    /// [`TRIM_SLACK`]) is trimmed.
    longest: i64,
    used: u64,
    /// When last read or written, for [`IDLE`].
    touched: Option<Instant>,
}

impl Entry {
    fn holds(&self, kept: Option<&[String]>) -> bool {
        self.kept.as_ref().map(|kept| kept.values.as_slice()) == kept
    }

    fn slots(&self) -> usize {
        self.series.values().map(Slots::len).sum()
    }

    fn clear(&mut self) {
        self.covered = None;
        self.series.clear();
    }
}

impl BucketCache {
    /// What of `range` (bucket-aligned) the entry `key` holds for `kept`
    /// (none for an uncapped read), and which sub-ranges must be read: the
    /// settled ones it lacks and everything from `settled_to` on.
    pub fn plan(
        &self,
        key: &str,
        range: TimeRange,
        settled_to: i64,
        kept: Option<&[String]>,
    ) -> Plan {
        let whole = Plan {
            fetch: vec![range],
            ..Plan::default()
        };
        let mut inner = self.lock();
        inner.clock += 1;
        let clock = inner.clock;
        let Some(entry) = inner.entries.get_mut(key) else {
            return whole;
        };
        entry.used = clock;
        entry.touched = Some(Instant::now());
        entry.longest = entry.longest.max(range.to - range.from);
        let Some(covered) = entry.covered.filter(|_| entry.holds(kept)) else {
            return whole;
        };
        let inside = TimeRange {
            from: range.from.max(covered.from),
            to: range.to.min(covered.to).min(settled_to),
        };
        if inside.from >= inside.to {
            return whole;
        }
        let mut fetch = Vec::new();
        if range.from < inside.from {
            fetch.push(TimeRange {
                from: range.from,
                to: inside.from,
            });
        }
        if inside.to < range.to {
            fetch.push(TimeRange {
                from: inside.to,
                to: range.to,
            });
        }
        let tail = usize::try_from((range.to - inside.to) / BUCKET_SECONDS).unwrap_or(0);
        let cached = entry
            .series
            .iter()
            .filter_map(|(value, slots)| {
                let length = slots.count_within(inside);
                let mut buckets = Vec::with_capacity(length + tail);
                buckets.extend(slots.buckets_within(inside));
                (length > 0).then(|| (value.clone(), buckets))
            })
            .collect();
        Plan {
            cached,
            cached_span: Some(inside),
            fetch,
        }
    }

    /// Keeps the settled buckets of `rows`, read over `part` for `kept`, in
    /// `key`'s entry when they adjoin what it holds (or replace a shorter
    /// span); ignored when the entry is now for another kept list. Into an
    /// empty entry the slots move rather than being copied, so a cold read
    /// holds its rows once.
    pub fn store(
        &self,
        key: &str,
        part: TimeRange,
        settled_to: i64,
        kept: Option<&[String]>,
        rows: Frame,
    ) {
        let span = TimeRange {
            from: part.from,
            to: part.to.min(settled_to),
        };
        if span.from >= span.to {
            return;
        }
        let mut inner = self.lock();
        inner.clock += 1;
        let clock = inner.clock;
        let entry = inner.entries.entry(key.to_string()).or_default();
        // A capped entry gets its kept list from `set_kept` before any store.
        if !entry.holds(kept) {
            return;
        }
        entry.used = clock;
        entry.touched = Some(Instant::now());
        entry.longest = entry.longest.max(part.to - part.from);
        let covered = match entry.covered {
            Some(covered) if covered.to >= span.from && covered.from <= span.to => TimeRange {
                from: covered.from.min(span.from),
                to: covered.to.max(span.to),
            },
            // One contiguous span per entry: the longer stays, so that a
            // check's sliding window is not evicted by a short look
            // elsewhere (a chart a week back).
            Some(covered) if span.to - span.from < covered.to - covered.from => return,
            _ => {
                entry.clear();
                span
            }
        };
        let empty = entry.series.is_empty();
        for (value, mut slots) in rows {
            if empty {
                slots.keep_within(span);
                if !slots.is_empty() {
                    entry.series.insert(value, slots);
                }
                continue;
            }
            let target = entry.series.entry(value.clone()).or_default();
            target.copy_from(&slots, span);
            if target.is_empty() {
                entry.series.remove(&value);
            }
        }
        entry.covered = Some(covered);
        trim(entry);
        evict(&mut inner, key);
    }

    /// One kept value's cached buckets from a capped entry whose key starts
    /// with `prefix` (any cap of one grouped query), from `range.from` up to
    /// the returned end (the rest is to be read): the most recently used
    /// entry that keeps `value` and covers the start of `range`.
    pub fn slice_of(
        &self,
        prefix: &str,
        value: &str,
        range: TimeRange,
        settled_to: i64,
    ) -> Option<(Vec<Bucket>, i64)> {
        let mut inner = self.lock();
        inner.clock += 1;
        let clock = inner.clock;
        let (entry, held_to) = inner
            .entries
            .iter_mut()
            .filter(|(key, _)| key.starts_with(prefix))
            .filter_map(|(_, entry)| {
                let kept = entry.kept.as_ref()?;
                let covered = entry.covered?;
                let held_to = range.to.min(covered.to).min(settled_to);
                let holds = kept.values.iter().any(|kept| kept == value)
                    && covered.from <= range.from
                    && held_to > range.from;
                holds.then_some((entry, held_to))
            })
            .max_by_key(|(entry, _)| entry.used)?;
        entry.used = clock;
        entry.touched = Some(Instant::now());
        let held = TimeRange {
            from: range.from,
            to: held_to,
        };
        let buckets = (entry.series.get(value))
            .map(|slots| slots.buckets_within(held).collect())
            .unwrap_or_default();
        Some((buckets, held_to))
    }

    /// The kept list of `key`'s entry and the span it covers.
    pub fn kept(&self, key: &str) -> (Option<Kept>, Option<TimeRange>) {
        let inner = self.lock();
        match inner.entries.get(key) {
            Some(entry) => (entry.kept.clone(), entry.covered),
            None => (None, None),
        }
    }

    /// Makes `new` the kept list of `key`'s entry, which held `old`: the
    /// rows of the removed values go (and are added to `(other)` for a
    /// count), those of the added ones come from `delta` (and leave
    /// `(other)`). Without a delta, or when the entry changed meanwhile,
    /// its rows are dropped and the next read reads its range whole.
    pub fn set_kept(&self, key: &str, old: Option<&[String]>, new: Kept, delta: Option<KeptDelta>) {
        let mut inner = self.lock();
        inner.clock += 1;
        let clock = inner.clock;
        let entry = inner.entries.entry(key.to_string()).or_default();
        entry.used = clock;
        entry.touched = Some(Instant::now());
        let applies = entry.holds(old)
            && delta
                .as_ref()
                .is_some_and(|delta| entry.covered == Some(delta.span));
        match delta.filter(|_| applies) {
            Some(delta) => apply_delta(&mut entry.series, &new.values, delta),
            None => entry.clear(),
        }
        entry.kept = Some(new);
        evict(&mut inner, key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every change leaves the cache consistent before the next line can
        // panic, so a poisoned lock is still usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Drops history older than the longest read plus a day, once there is that
/// much of it: a check's window slides forward forever in `vigil serve`.
fn trim(entry: &mut Entry) {
    let Some(covered) = entry.covered else {
        return;
    };
    let keep = entry.longest.max(BUCKET_SECONDS);
    if covered.to - covered.from <= keep + TRIM_SLACK {
        return;
    }
    let from = covered.to - keep;
    entry.series.retain(|_, slots| {
        slots.trim_before(from);
        !slots.is_empty()
    });
    entry.covered = Some(TimeRange { from, ..covered });
}

/// Keeps the cache within [`MAX_ENTRIES`] (least recently used first) and
/// [`MAX_SLOTS`]. Over the slot budget, idle entries go, and then the rows of
/// `stored`, the entry just written, rather than older ones: checks read
/// their metrics in the same order every time, and evicting the least
/// recently used would evict, each time, the entry the next read needs, so
/// that no read would ever be served from memory. Its kept list stays.
fn evict(inner: &mut Inner, stored: &str) {
    crate::sources::lru::keep_most_recent(&mut inner.entries, MAX_ENTRIES, |entry| entry.used);
    let total: usize = inner.entries.values().map(Entry::slots).sum();
    if total <= MAX_SLOTS {
        return;
    }
    let idle = |entry: &Entry| entry.touched.is_none_or(|touched| touched.elapsed() > IDLE);
    inner
        .entries
        .retain(|key, entry| key == stored || !idle(entry));
    let total: usize = inner.entries.values().map(Entry::slots).sum();
    if total > MAX_SLOTS {
        if let Some(entry) = inner.entries.get_mut(stored) {
            tracing::debug!(slots = total, "bucket cache full: a read's rows not kept");
            entry.clear();
        }
    }
}

#[cfg(test)]
#[path = "bucket_cache_tests.rs"]
mod tests;
