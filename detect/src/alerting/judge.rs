//! One series' judgment at its newest bucket as a live check makes it: which
//! buckets it reads, how an open alert's span is kept out of the baseline,
//! which rule judges a series whose alert is open. The server's check and
//! the replay both call these, so they read and judge the same way.

use core::ops::Range;

use crate::detectors::combine::{Ensemble, EnsemblePoint};
use crate::mask::{impute_masked, LEVEL_POINTS};
use crate::{Clock, DetectError, Reach};

/// What of a series' history belongs to open alerts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Masked {
    /// Positions of the values (before the newest) that belong to the
    /// earliest alert open over the series: its own, or its whole metric's.
    pub slots: Range<usize>,
    /// Whether the series' own alert is open: it is then judged by the
    /// detector's rule for continuing ([`Ensemble::continuing`]).
    pub own_alert_open: bool,
}

/// Start of the history a live check of `bucket` reads, for a detector that
/// reaches `reach` points of `step` seconds back.
///
/// That is its lookback and its gap reach ([`crate::Detector::gap_reach`]):
/// up to `lookback` missing buckets still give the exact band. With an
/// alert open over the series since `masked_from`, it also reaches past
/// that span as far (each part at least the [`LEVEL_POINTS`] that give the
/// span's level) and one `period` more: the span is imputed from the
/// same slots a period earlier ([`impute_masked`]). Saturating, never panics.
pub fn history_start(
    bucket: i64,
    step: i64,
    reach: Reach,
    masked_from: Option<i64>,
    period: usize,
) -> i64 {
    let back = |from: i64, points: usize| {
        let points = i64::try_from(points).unwrap_or(i64::MAX);
        from.saturating_sub(points.saturating_mul(step))
    };
    let start = back(bucket, reach.buckets());
    match masked_from.filter(|since| *since < bucket) {
        Some(since) => {
            let period = i64::try_from(period).unwrap_or(i64::MAX);
            let level = Reach {
                lookback: reach.lookback.max(LEVEL_POINTS),
                gaps: reach.gaps.max(LEVEL_POINTS),
            };
            let before = back(since, level.buckets()).saturating_sub(period.saturating_mul(step));
            start.min(before)
        }
        None => start,
    }
}

/// The detector's point for the newest of `values` (oldest first, `None` for
/// a gap, the first at `clock`), with `masked` applied: the masked slots are
/// replaced in `values` by what the cycle of `period` points expects there
/// ([`impute_masked`]), and a series whose own alert is open is judged by
/// the continuing rule.
pub fn newest_judgment(
    detector: &Ensemble,
    values: &mut [Option<f64>],
    clock: Clock,
    masked: &Masked,
    period: usize,
) -> Result<EnsemblePoint, DetectError> {
    if !masked.slots.is_empty() {
        impute_masked(values, masked.slots.clone(), period);
    }
    if masked.own_alert_open {
        detector
            .continuing()
            .newest_point(values.iter().copied(), clock)
    } else {
        detector.newest_point(values.iter().copied(), clock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DetectorSpec, IqrParams};

    const STEP: i64 = 900;
    const T: i64 = 1_763_900_100 / STEP * STEP;

    #[test]
    fn history_reaches_twice_the_lookback_and_past_a_masked_span() {
        assert_eq!(
            history_start(T, STEP, Reach::skipping_gaps(7), None, 96),
            T - 14 * STEP
        );
        assert_eq!(
            history_start(T, STEP, Reach::skipping_gaps(7), Some(T), 96),
            T - 14 * STEP,
            "the judged bucket itself is never masked"
        );
        let since = T - 4 * STEP;
        assert_eq!(
            history_start(T, STEP, Reach::skipping_gaps(7), Some(since), 96),
            since - 16 * STEP - 96 * STEP,
            "at least the level points, and a period"
        );
        assert_eq!(
            history_start(T, STEP, Reach::skipping_gaps(700), Some(since), 96),
            since - 1400 * STEP - 96 * STEP
        );
        let _ = history_start(
            i64::MIN,
            STEP,
            Reach::skipping_gaps(usize::MAX),
            Some(i64::MIN + 1),
            usize::MAX,
        );
    }

    #[test]
    fn a_positional_detector_reads_its_lookback_and_its_gap_reach_only() {
        let reach = Reach {
            lookback: 718,
            gaps: 7,
        };
        assert_eq!(history_start(T, STEP, reach, None, 96), T - 725 * STEP);
        let since = T - 4 * STEP;
        assert_eq!(
            history_start(T, STEP, reach, Some(since), 96),
            since - (718 + 8) * STEP - 96 * STEP,
            "the gap part is still at least the level points"
        );
    }

    #[test]
    fn a_masked_outage_is_replaced_by_the_cycle_before_judging() {
        // Period 4, level 100 + slot; an outage (0s) over slots 8..11 is
        // masked: the newest value 103 is normal against the imputed cycle,
        // while judged on the raw values the band is the outage's zeros.
        let mut raw: Vec<Option<f64>> = (0..12).map(|i| Some(100.0 + (i % 4) as f64)).collect();
        for v in &mut raw[8..11] {
            *v = Some(0.0);
        }
        let detector = Ensemble::single(DetectorSpec::Iqr(IqrParams {
            n: 3,
            a: 1.5,
            ..IqrParams::default()
        }));
        let clock = Clock::new(0, STEP);
        let masked = Masked {
            slots: 8..11,
            own_alert_open: true,
        };
        let mut values = raw.clone();
        let judged = newest_judgment(&detector, &mut values, clock, &masked, 4).expect("valid");
        assert!(!judged.point.is_anomaly, "{judged:?}");
        assert_eq!(values[8], Some(100.0), "imputed from a period earlier");
        let unmasked =
            newest_judgment(&detector, &mut raw, clock, &Masked::default(), 4).expect("valid");
        assert!(unmasked.point.is_anomaly, "{unmasked:?}");
    }
}
