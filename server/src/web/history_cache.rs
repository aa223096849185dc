//! A short-lived cache of the pages' metric histories. Every page view asks
//! for the same 14 days of buckets, which only change when a bucket completes
//! (or late events arrive), so hundreds of concurrent viewers share one query
//! per metric every few seconds instead of queueing on the store. Concurrent
//! misses for one key wait for a single query. Checks never go through it.
//!
//! Bounded in keys and in bytes: distinct `?slice=` values each make a key,
//! and the least recently used ones go first when either bound is passed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::metrics::model::{Bucket, MetricDef, SliceKey, TimeRange};
use crate::sources::{Source, SourceError};

/// How long a history stays fresh.
pub const HISTORY_TTL: Duration = Duration::from_secs(15);
/// Keys kept at most (ranges move every 15 minutes, so old keys are dead).
const MAX_KEYS: usize = 512;
/// Bytes of buckets kept at most. A month of one series is 2,976 buckets
/// (47 KB): 16 MB holds about 350 of them, every metric and slice of the
/// default catalogue with room to spare, and is a small part of the 200 MB
/// the server is allowed under load (docs/benchmarks.md).
const MAX_BYTES: usize = 16 << 20;

type Key = (String, i64, i64, Option<SliceKey>);
type Slot = Arc<tokio::sync::Mutex<Option<(Instant, Arc<Vec<Bucket>>)>>>;

/// One key: its slot, when it was last asked for, and the bytes it holds.
struct Entry {
    slot: Slot,
    used: Instant,
    bytes: usize,
}

#[derive(Default)]
struct Entries {
    map: HashMap<Key, Entry>,
    bytes: usize,
}

impl Entries {
    /// Drops the least recently used keys until both bounds hold.
    fn evict(&mut self, max_keys: usize, max_bytes: usize) {
        while self.map.len() > max_keys || self.bytes > max_bytes {
            let Some(oldest) = (self.map.iter())
                .min_by_key(|(_, entry)| entry.used)
                .map(|(key, _)| key.clone())
            else {
                return;
            };
            if let Some(entry) = self.map.remove(&oldest) {
                self.bytes -= entry.bytes;
            }
        }
    }
}

pub struct HistoryCache {
    entries: Mutex<Entries>,
    max_keys: usize,
    max_bytes: usize,
}

impl Default for HistoryCache {
    fn default() -> Self {
        Self::with_bounds(MAX_KEYS, MAX_BYTES)
    }
}

impl HistoryCache {
    fn with_bounds(max_keys: usize, max_bytes: usize) -> Self {
        Self {
            entries: Mutex::default(),
            max_keys,
            max_bytes,
        }
    }

    /// `source.series(metric, range, slice)`, at most [`HISTORY_TTL`] old.
    pub async fn series(
        &self,
        source: &Source,
        metric: &MetricDef,
        range: TimeRange,
        slice: Option<&SliceKey>,
    ) -> Result<Arc<Vec<Bucket>>, SourceError> {
        self.get_or_fetch(
            (metric.name.clone(), range.from, range.to, slice.cloned()),
            || source.series(metric, range, slice),
        )
        .await
    }

    async fn get_or_fetch<F, Fut>(
        &self,
        key: Key,
        fetch: F,
    ) -> Result<Arc<Vec<Bucket>>, SourceError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Vec<Bucket>, SourceError>>,
    {
        let slot = {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            let entry = entries.map.entry(key.clone()).or_insert_with(|| Entry {
                slot: Slot::default(),
                used: Instant::now(),
                bytes: 0,
            });
            entry.used = Instant::now();
            let slot = Arc::clone(&entry.slot);
            entries.evict(self.max_keys, self.max_bytes);
            slot
        };
        let mut cached = slot.lock().await;
        if let Some((at, buckets)) = cached.as_ref() {
            if at.elapsed() < HISTORY_TTL {
                return Ok(Arc::clone(buckets));
            }
        }
        let buckets = Arc::new(fetch().await?);
        *cached = Some((Instant::now(), Arc::clone(&buckets)));
        drop(cached);
        let bytes = buckets.len() * std::mem::size_of::<Bucket>();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        // The key may have been evicted while its query ran: then it is
        // served this once and not kept.
        if let Some(entry) = entries.map.get_mut(&key) {
            if Arc::ptr_eq(&entry.slot, &slot) {
                let before = std::mem::replace(&mut entry.bytes, bytes);
                entries.bytes = entries.bytes - before + bytes;
                entries.evict(self.max_keys, self.max_bytes);
            }
        }
        Ok(buckets)
    }

    #[cfg(test)]
    fn size(&self) -> (usize, usize) {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        (entries.map.len(), entries.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(slice: usize) -> Key {
        let slice = SliceKey {
            dimension: "city".into(),
            value: format!("c{slice}"),
        };
        ("feed_views".into(), 0, 900 * 100, Some(slice))
    }

    fn buckets(n: usize) -> Vec<Bucket> {
        (0..n as i64)
            .map(|i| Bucket {
                start: i * 900,
                value: i as f64,
            })
            .collect()
    }

    #[tokio::test]
    async fn distinct_slices_stay_within_the_byte_and_key_bounds() {
        let per_entry = 100 * std::mem::size_of::<Bucket>();
        let cache = HistoryCache::with_bounds(8, 3 * per_entry);
        for slice in 0..50 {
            let got = cache
                .get_or_fetch(key(slice), || async { Ok(buckets(100)) })
                .await
                .expect("fetched");
            assert_eq!(got.len(), 100);
            let (keys, bytes) = cache.size();
            assert!(
                keys <= 8 && bytes <= 3 * per_entry,
                "{keys} keys, {bytes} bytes"
            );
        }
        assert_eq!(cache.size(), (3, 3 * per_entry));
    }

    #[tokio::test]
    async fn the_most_recently_used_stay_and_a_hit_does_not_query() {
        let per_entry = 10 * std::mem::size_of::<Bucket>();
        let cache = HistoryCache::with_bounds(8, 2 * per_entry);
        for slice in [0, 1] {
            cache
                .get_or_fetch(key(slice), || async { Ok(buckets(10)) })
                .await
                .expect("fetched");
        }
        // Slice 0 used again, then slice 2 arrives: slice 1 is the one dropped.
        let hit = cache
            .get_or_fetch(key(0), || async {
                panic!("a fresh entry is not queried again")
            })
            .await
            .expect("cached");
        assert_eq!(hit.len(), 10);
        cache
            .get_or_fetch(key(2), || async { Ok(buckets(10)) })
            .await
            .expect("fetched");
        let hit = cache
            .get_or_fetch(key(0), || async { panic!("slice 0 was kept") })
            .await
            .expect("cached");
        assert_eq!(hit.len(), 10);
        let refetched = std::sync::atomic::AtomicBool::new(false);
        cache
            .get_or_fetch(key(1), || async {
                refetched.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(buckets(10))
            })
            .await
            .expect("fetched");
        assert!(refetched.into_inner(), "slice 1 was evicted and read again");
    }
}
