//! When a bucket's rows are final: the one rule the caches over raw events
//! share (the experiments' running sums, `experiment_cache`; ClickHouse
//! bucket reads), so that they agree on what may be kept.
//!
//! A bucket's rows are final once it ended more than `settle` seconds before
//! the real clock ([`settle_secs`] of the schedule: the late-rows window,
//! the grace and one bucket, 4,620 s by default). Rows older than that
//! which still arrive are not seen by what was cached before them.

use crate::config::ScheduleConfig;
use crate::metrics::model::BUCKET_SECONDS;

/// The settle delay when none is configured: [`settle_secs`] of the
/// default schedule (60 minutes of late rows, 120 s of grace, a bucket).
pub const DEFAULT_SETTLE_SECS: i64 = 3600 + 120 + BUCKET_SECONDS;

/// How long after its end a bucket's rows may still change, as checks see
/// it: `[schedule] late_rows_minutes`, plus the grace and one bucket,
/// because a check at the clock evaluates the bucket that ended `grace`
/// (up to a bucket more) ago and re-checks `late_rows` before that one's
/// start. Every bucket the re-check may read is then newer than this, so a
/// cache of older buckets never hides its late rows.
pub fn settle_secs(schedule: &ScheduleConfig) -> i64 {
    schedule.late_rows_secs.max(0) + schedule.grace_seconds.max(0) + BUCKET_SECONDS
}

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

    #[test]
    fn the_settle_delay_covers_the_late_rows_window_the_grace_and_a_bucket() {
        let mut schedule = ScheduleConfig::default();
        assert_eq!(settle_secs(&schedule), DEFAULT_SETTLE_SECS);
        schedule.late_rows_secs = 30 * 60;
        assert_eq!(settle_secs(&schedule), 30 * 60 + 120 + 900);
        schedule.late_rows_secs = 0;
        schedule.grace_seconds = 0;
        assert_eq!(settle_secs(&schedule), 900, "the bucket still filling");
    }
}
