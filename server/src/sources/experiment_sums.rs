//! [`Source::group_sums`] through the running sums of
//! [`super::experiment_cache`]: the same path for both stores, which only
//! answer the two queries (per user over a window, or grouped over a range).
//!
//! The process keeps one cache ([`CACHE`]), keyed by store: a long-running
//! `vigil serve` reads, per check, the newly settled span and the unsettled
//! tail; a one-shot `vigil check` starts empty and reads each experiment
//! metric once from its start (per user), then only new spans for the
//! buckets it catches up on. The settle delay is [`settle_secs`], set from
//! the config by every command that loads one ([`configure`]), else 60
//! minutes.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use detect::experiments::GroupSummary;

use super::experiment_cache::{Plan, SumsCache, SumsKey, MAX_ENTRIES, MAX_USERS};
use super::settle::{settled_before, DEFAULT_SETTLE_SECS};
use super::{Source, SourceError};
use crate::config::ScheduleConfig;
use crate::metrics::model::{MetricDef, TimeRange};

/// The process's running sums.
pub static CACHE: Mutex<SumsCache> = Mutex::new(SumsCache::new(MAX_ENTRIES, MAX_USERS));

static SETTLE_SECS: AtomicI64 = AtomicI64::new(DEFAULT_SETTLE_SECS);

/// Sets how long after a bucket ends its rows count as final for the
/// running sums (seconds, `[schedule] late_rows_minutes`; negative is 0).
pub fn set_settle_secs(seconds: i64) {
    SETTLE_SECS.store(seconds.max(0), Ordering::Relaxed);
}

/// Sets the settle delay from the config: the one rule the ClickHouse
/// bucket cache follows too ([`super::settle::settle_secs`]).
pub fn configure(schedule: &ScheduleConfig) {
    set_settle_secs(super::settle::settle_secs(schedule));
}

/// The settle delay in force ([`DEFAULT_SETTLE_SECS`] unless set).
pub fn settle_secs() -> i64 {
    SETTLE_SECS.load(Ordering::Relaxed)
}

/// What one call read, for tests and the debug log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reads {
    /// The range was read whole by the grouped query.
    pub full: bool,
    /// The newly settled window read per user and added to the cache.
    pub settled: Option<TimeRange>,
    /// The unsettled tail read per user, overlaid only.
    pub tail: Option<TimeRange>,
    /// Per-user rows the two windows returned.
    pub user_rows: usize,
}

/// The group sums of `metric` over `range` for `groups` as of `now`, rows
/// final `settle` seconds after their bucket ends; equal to the grouped
/// query over `range` (see the rule in [`super::experiment_cache`]).
pub async fn read(
    source: &Source,
    cache: &Mutex<SumsCache>,
    metric: &MetricDef,
    range: TimeRange,
    groups: &[u8],
    now: i64,
    settle: i64,
) -> Result<(Vec<(u8, GroupSummary)>, Reads), SourceError> {
    let key = SumsKey::new(&source.sums_identity(), metric, groups, range.from);
    let plan = lock(cache).plan(&key, range, settled_before(now, settle));
    let mut reads = Reads::default();
    if let Plan::Incremental { settle, tail, cut } = plan {
        let settled_rows = match settle {
            Some(window) => source.user_sums(metric, window, groups).await?,
            None => Vec::new(),
        };
        let tail_rows = match tail {
            Some(window) => source.user_sums(metric, window, groups).await?,
            None => Vec::new(),
        };
        reads = Reads {
            full: false,
            settled: settle,
            tail,
            user_rows: settled_rows.len() + tail_rows.len(),
        };
        let settled = settle.map(|window| (window, settled_rows.as_slice()));
        if let Some(sums) = lock(cache).apply(&key, settled, cut, &tail_rows) {
            tracing::debug!(metric = %metric.name, ?reads, "experiment sums");
            return Ok((sums, reads));
        }
    }
    reads.full = true;
    let sums = source.full_group_sums(metric, range, groups).await?;
    tracing::debug!(metric = %metric.name, ?reads, "experiment sums");
    Ok((sums, reads))
}

fn lock(cache: &Mutex<SumsCache>) -> MutexGuard<'_, SumsCache> {
    // The cache is consistent between calls: a panic elsewhere leaves it usable.
    cache.lock().unwrap_or_else(PoisonError::into_inner)
}
