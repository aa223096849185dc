//! When a bucket's rows are final: the one rule the caches over raw events
//! share (the experiments' running sums, `experiment_cache`; ClickHouse
//! bucket reads), so that they agree on what may be kept.
//!
//! A bucket's rows are final once it ended more than `settle` seconds before
//! the real clock (late rows arrive within `settle`; the config's
//! `[schedule] late_rows_minutes`, 60 by default). Rows older than that
//! which still arrive are not seen by what was cached before them.

use crate::metrics::model::BUCKET_SECONDS;

/// The settle delay when none is configured: `[schedule] late_rows_minutes`'
/// default, 60 minutes.
pub const DEFAULT_SETTLE_SECS: i64 = 3600;

/// The end of the settled past at `now`: every bucket ending at or before
/// the returned bucket boundary has final rows; from it on, rows may still
/// come. A negative `settle` counts as 0.
pub fn settled_before(now: i64, settle: i64) -> i64 {
    now.saturating_sub(settle.max(0)).div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_settles_once_it_ended_settle_seconds_ago() {
        let bucket = 1_709_510_400; // a boundary
                                    // Ended at bucket + 900: settled from bucket + 900 + 3600 on.
        assert_eq!(settled_before(bucket + 900 + 3600, 3600), bucket + 900);
        assert_eq!(settled_before(bucket + 900 + 3599, 3600), bucket);
        assert_eq!(settled_before(bucket + 900, 0), bucket + 900);
        assert_eq!(settled_before(bucket + 899, -5), bucket);
    }
}
