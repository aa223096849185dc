//! Which bucket a check evaluates and which buckets it must read for that.

use detect::Reach;

use crate::metrics::model::{TimeRange, BUCKET_SECONDS};

/// Start of the newest bucket that is complete at `now`: its end plus `grace`
/// seconds (late events still arriving) has passed. The bucket still filling is
/// never evaluated.
pub fn newest_complete_bucket(now: i64, grace: i64) -> i64 {
    // Saturating: times are bounded where they are parsed, but a stray extreme
    // value must give an absurd bucket, not a panic.
    now.saturating_sub(grace.max(0))
        .div_euclid(BUCKET_SECONDS)
        .saturating_mul(BUCKET_SECONDS)
        .saturating_sub(BUCKET_SECONDS)
}

/// The range to read to evaluate `bucket` with a detector that reaches
/// `reach` buckets back ([`detect::alerting::history_start`]: its lookback
/// and as many more as its missing buckets may need).
pub fn fetch_range(bucket: i64, reach: Reach) -> TimeRange {
    masked_fetch_range(bucket, reach, None)
}

/// Buckets in a day: the period of the daily cycle an open alert's span is
/// imputed from (see [`super::evaluate`]).
pub const DAY_BUCKETS: usize = (86_400 / BUCKET_SECONDS) as usize;

/// The range to read to evaluate `bucket` of a series whose alert has been
/// open since `masked_from`: the detector's own history, and the span before
/// the alert its imputation needs ([`detect::alerting::history_start`], the
/// rule the replay reads by too).
pub fn masked_fetch_range(bucket: i64, reach: Reach, masked_from: Option<i64>) -> TimeRange {
    TimeRange {
        from: detect::alerting::history_start(
            bucket,
            BUCKET_SECONDS,
            reach,
            masked_from,
            DAY_BUCKETS,
        ),
        to: bucket.saturating_add(BUCKET_SECONDS),
    }
}

/// Buckets an alert's chart shows: the last 24 hours (and yesterday's line).
pub const CHART_BUCKETS: usize = 96;

/// The range an alert's chart at `bucket` reads: today's day, yesterday's day
/// (the faint line), and what the detector's band needs before both (its
/// lookback twice over, as for a check, capped at four weeks).
pub fn chart_range(bucket: i64, lookback: usize) -> TimeRange {
    let buckets = 2 * CHART_BUCKETS + 2 * lookback.min(4 * 7 * 96);
    let to = bucket + BUCKET_SECONDS;
    TimeRange {
        from: to - buckets as i64 * BUCKET_SECONDS,
        to,
    }
}

/// The buckets a scheduler tick evaluates, oldest first, each with whether it
/// is late (not the newest). After downtime every missed bucket is caught up,
/// at most `catch_up` of them; the first ever check evaluates only the newest.
pub fn buckets_to_check(
    last_checked: Option<i64>,
    newest: i64,
    catch_up: usize,
) -> Vec<(i64, bool)> {
    let Some(last) = last_checked else {
        return vec![(newest, false)];
    };
    let oldest_allowed = newest - (catch_up.max(1) as i64 - 1) * BUCKET_SECONDS;
    let first = (last + BUCKET_SECONDS).max(oldest_allowed);
    (0..)
        .map(|k| first + k * BUCKET_SECONDS)
        .take_while(|bucket| *bucket <= newest)
        .map(|bucket| (bucket, bucket < newest))
        .collect()
}

/// `due` (oldest first: [`buckets_to_check`]'s, or the one bucket `vigil check
/// --at` asks for) with the `unfinished` buckets (a check started and never
/// recorded ok: killed or failed) among the last `catch_up` up to `newest`,
/// each once, oldest first, late unless it is `newest`. Running them before
/// the later ones matters: a series' state ignores a bucket older than one it
/// has already seen.
pub fn with_unfinished(
    due: Vec<(i64, bool)>,
    unfinished: &[i64],
    newest: i64,
    catch_up: usize,
) -> Vec<(i64, bool)> {
    let oldest_allowed = newest - (catch_up.max(1) as i64 - 1) * BUCKET_SECONDS;
    let mut all: std::collections::BTreeMap<i64, bool> = due.into_iter().collect();
    for &bucket in unfinished {
        if (oldest_allowed..=newest).contains(&bucket) {
            all.entry(bucket).or_insert(bucket < newest);
        }
    }
    all.into_iter().collect()
}

/// The next scheduler tick after `now`: a quarter-hour (:00, :15, :30, :45)
/// plus `grace` seconds.
pub fn next_tick(now: i64, grace: i64) -> i64 {
    let grace = grace.max(0);
    let tick = (now - grace).div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS + BUCKET_SECONDS + grace;
    debug_assert!(tick > now);
    tick
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_763_900_100 / BUCKET_SECONDS * BUCKET_SECONDS; // a bucket start

    #[test]
    fn the_filling_bucket_is_never_evaluated() {
        // 14:15:30 with 2 minutes of grace: 14:00-14:15 ended only 30 s ago.
        assert_eq!(newest_complete_bucket(T + 30, 120), T - 2 * BUCKET_SECONDS);
        // 14:17:00: 14:00-14:15 ended 2 minutes ago, so it is complete.
        assert_eq!(newest_complete_bucket(T + 120, 120), T - BUCKET_SECONDS);
        // Without grace, the bucket that just ended.
        assert_eq!(newest_complete_bucket(T, 0), T - BUCKET_SECONDS);
        assert_eq!(
            newest_complete_bucket(T + BUCKET_SECONDS - 1, 0),
            T - BUCKET_SECONDS
        );
    }

    #[test]
    fn ticks_are_quarter_hours_plus_grace() {
        assert_eq!(next_tick(T, 120), T + 120);
        assert_eq!(next_tick(T + 120, 120), T + BUCKET_SECONDS + 120);
        assert_eq!(next_tick(T + 119, 120), T + 120);
        assert_eq!(next_tick(T - 1, 0), T);
        assert_eq!(next_tick(T, 0), T + BUCKET_SECONDS);
    }

    #[test]
    fn missed_buckets_are_caught_up_in_order_and_marked_late() {
        let b = BUCKET_SECONDS;
        assert_eq!(buckets_to_check(None, T, 96), vec![(T, false)]);
        assert_eq!(buckets_to_check(Some(T), T, 96), vec![], "already checked");
        assert_eq!(buckets_to_check(Some(T - b), T, 96), vec![(T, false)]);
        assert_eq!(
            buckets_to_check(Some(T - 3 * b), T, 96),
            vec![(T - 2 * b, true), (T - b, true), (T, false)]
        );
        // A week down: only the last `catch_up` buckets.
        let caught = buckets_to_check(Some(T - 672 * b), T, 4);
        assert_eq!(caught.first(), Some(&(T - 3 * b, true)));
        assert_eq!(caught.len(), 4);
    }

    #[test]
    fn unfinished_checks_are_run_again_first_within_the_catch_up() {
        let b = BUCKET_SECONDS;
        // `--at T` after the check of T - 2b was killed (T - b went fine).
        assert_eq!(
            with_unfinished(vec![(T, false)], &[T - 2 * b], T, 96),
            vec![(T - 2 * b, true), (T, false)]
        );
        // Already due (a gap after the last ok check): listed once.
        assert_eq!(
            with_unfinished(vec![(T - b, true), (T, false)], &[T - b], T, 96),
            vec![(T - b, true), (T, false)]
        );
        // The unfinished check of T itself stays on time.
        assert_eq!(with_unfinished(vec![], &[T], T, 96), vec![(T, false)]);
        // Beyond the catch-up, or after the bucket asked for: left alone.
        assert_eq!(
            with_unfinished(vec![(T, false)], &[T - 4 * b, T + b], T, 4),
            vec![(T, false)]
        );
    }

    #[test]
    fn a_masked_span_is_read_with_its_lookback_and_the_day_before() {
        let b = BUCKET_SECONDS;
        let day = DAY_BUCKETS as i64 * b;
        assert_eq!(
            masked_fetch_range(T, Reach::skipping_gaps(7), None),
            fetch_range(T, Reach::skipping_gaps(7))
        );
        assert_eq!(
            masked_fetch_range(T, Reach::skipping_gaps(7), Some(T)),
            fetch_range(T, Reach::skipping_gaps(7)),
            "the evaluated bucket itself is never masked"
        );
        let since = T - 4 * b;
        let range = masked_fetch_range(T, Reach::skipping_gaps(7), Some(since));
        assert_eq!(range.to, T + b);
        assert_eq!(
            range.from,
            since - 2 * 8 * b - day,
            "at least the level points"
        );
        let range = masked_fetch_range(T, Reach::skipping_gaps(700), Some(since));
        assert_eq!(range.from, since - 1400 * b - day);
        assert_eq!(
            masked_fetch_range(T, Reach::skipping_gaps(7), Some(i64::MIN)).to,
            T + b,
            "no overflow"
        );
    }

    #[test]
    fn fetch_range_ends_with_the_bucket_and_covers_the_lookback_twice() {
        let range = fetch_range(T, Reach::skipping_gaps(7));
        assert_eq!(range.to, T + BUCKET_SECONDS);
        assert_eq!(range.from, T - 14 * BUCKET_SECONDS);
        assert_eq!(
            fetch_range(T, Reach::skipping_gaps(usize::MAX)).to,
            T + BUCKET_SECONDS,
            "no overflow"
        );
    }
}
