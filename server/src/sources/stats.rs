//! Process-wide figures of the queries sent to the source, for `/metrics`:
//! how many, how many failed, their total and longest duration. Atomics, so
//! recording costs nothing next to a query.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// What has been recorded so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuerySnapshot {
    pub queries: u64,
    pub failed: u64,
    pub micros_total: u64,
    pub micros_max: u64,
}

struct QueryStats {
    queries: AtomicU64,
    failed: AtomicU64,
    micros_total: AtomicU64,
    micros_max: AtomicU64,
}

static STATS: QueryStats = QueryStats {
    queries: AtomicU64::new(0),
    failed: AtomicU64::new(0),
    micros_total: AtomicU64::new(0),
    micros_max: AtomicU64::new(0),
};

/// Records one query that started at `started`.
pub fn record(started: Instant, ok: bool) {
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    STATS.queries.fetch_add(1, Ordering::Relaxed);
    if !ok {
        STATS.failed.fetch_add(1, Ordering::Relaxed);
    }
    STATS.micros_total.fetch_add(micros, Ordering::Relaxed);
    STATS.micros_max.fetch_max(micros, Ordering::Relaxed);
}

/// The figures so far.
pub fn snapshot() -> QuerySnapshot {
    QuerySnapshot {
        queries: STATS.queries.load(Ordering::Relaxed),
        failed: STATS.failed.load(Ordering::Relaxed),
        micros_total: STATS.micros_total.load(Ordering::Relaxed),
        micros_max: STATS.micros_max.load(Ordering::Relaxed),
    }
}
