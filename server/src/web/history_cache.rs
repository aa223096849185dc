//! A short-lived cache of the pages' metric histories. Every page view asks
//! for the same 14 days of buckets, which only change when a bucket completes
//! (or late events arrive), so hundreds of concurrent viewers share one query
//! per metric every few seconds instead of queueing on the store. Concurrent
//! misses for one key wait for a single query. Checks never go through it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::metrics::model::{Bucket, MetricDef, SliceKey, TimeRange};
use crate::sources::{Source, SourceError};

/// How long a history stays fresh.
pub const HISTORY_TTL: Duration = Duration::from_secs(15);
/// Beyond this many keys the cache starts over (ranges move every 15 minutes).
const MAX_KEYS: usize = 512;

type Key = (String, i64, i64, Option<SliceKey>);
type Slot = Arc<tokio::sync::Mutex<Option<(Instant, Arc<Vec<Bucket>>)>>>;

#[derive(Default)]
pub struct HistoryCache {
    slots: Mutex<HashMap<Key, Slot>>,
}

impl HistoryCache {
    /// `source.series(metric, range, slice)`, at most [`HISTORY_TTL`] old.
    pub async fn series(
        &self,
        source: &Source,
        metric: &MetricDef,
        range: TimeRange,
        slice: Option<&SliceKey>,
    ) -> Result<Arc<Vec<Bucket>>, SourceError> {
        let key = (metric.name.clone(), range.from, range.to, slice.cloned());
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            if slots.len() > MAX_KEYS {
                slots.clear();
            }
            Arc::clone(slots.entry(key).or_default())
        };
        let mut entry = slot.lock().await;
        if let Some((at, buckets)) = entry.as_ref() {
            if at.elapsed() < HISTORY_TTL {
                return Ok(Arc::clone(buckets));
            }
        }
        let buckets = Arc::new(source.series(metric, range, slice).await?);
        *entry = Some((Instant::now(), Arc::clone(&buckets)));
        Ok(buckets)
    }
}
