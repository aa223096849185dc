//! What a series' baseline sees in place of an open alert's span.
//!
//! While an alert is open, its buckets must not teach the baseline: an
//! outage would become the "normal" it is compared with. Leaving them out
//! as gaps does that, but freezes a rolling baseline (the IQR rule's last
//! `n` observations) at the level it had when the alert opened. With a
//! strong daily cycle the expectation then stays at the evening peak all
//! night, and the alert cannot resolve until the cycle comes back up to it.
//! [`impute_masked`] keeps the incident out of the baseline but lets the
//! expectation follow the cycle: each masked point becomes the same slot one
//! period earlier, scaled to the level the series had just before the mask.

use core::ops::Range;

use crate::detectors::common::{finite, median, sort};

/// Points just before the masked span whose ratios to one period earlier give
/// its level: two hours of 15-minute buckets, enough for a robust median and
/// close enough to the span to describe its level.
pub const LEVEL_POINTS: usize = 8;

/// Bounds of that level ratio. A series rarely doubles or halves from one day
/// to the next; a ratio beyond that says more about the points before the
/// mask (the incident's own start, before it alerted) than about the level,
/// and must not scale the whole imputed span.
pub const LEVEL_RATIO_BOUNDS: (f64, f64) = (0.5, 2.0);

/// Replaces `values[masked]` (clipped to the slice) by an expected value that
/// follows the series' cycle of `period` points, instead of its observed
/// values.
///
/// Each masked point becomes the nearest earlier value of its slot outside
/// the span (one period back, or further when that one is itself masked or
/// missing), times the level ratio for that lag: the median over the last
/// [`LEVEL_POINTS`] points before the span of `v(j) / v(j - lag)` (both
/// present and positive), 1 when there is none, clamped to
/// [`LEVEL_RATIO_BOUNDS`]. A point whose slot has no earlier value becomes a
/// gap, as is a point with `period` 0. Points outside the span are untouched,
/// so the result does not depend on the order the span is filled in.
/// Never panics; allocates nothing.
pub fn impute_masked(values: &mut [Option<f64>], masked: Range<usize>, period: usize) {
    let end = masked.end.min(values.len());
    let start = masked.start.min(end);
    // The level of the last lag used: every point of a span shorter than a
    // period uses the same one.
    let mut level: Option<(usize, f64)> = None;
    for i in start..end {
        values[i] = earlier_in_slot(values, start, i, period).map(|(lag, x)| {
            let ratio = match level {
                Some((cached, ratio)) if cached == lag => ratio,
                _ => {
                    let ratio = level_ratio(values, start, lag);
                    level = Some((lag, ratio));
                    ratio
                }
            };
            x * ratio
        });
    }
}

/// The nearest finite value of point `i`'s slot before `start` (the masked
/// span begins there), with how many points back it is.
fn earlier_in_slot(
    values: &[Option<f64>],
    start: usize,
    i: usize,
    period: usize,
) -> Option<(usize, f64)> {
    if period == 0 {
        return None;
    }
    // The fewest whole periods back that leave the span.
    let mut lag = ((i - start) / period + 1).checked_mul(period)?;
    while lag <= i {
        if let Some(x) = finite(values[i - lag]) {
            return Some((lag, x));
        }
        lag = lag.checked_add(period)?;
    }
    None
}

/// The series' level just before `start` relative to `lag` points earlier.
fn level_ratio(values: &[Option<f64>], start: usize, lag: usize) -> f64 {
    let mut ratios = [0.0; LEVEL_POINTS];
    let mut len = 0;
    for j in start.saturating_sub(LEVEL_POINTS).max(lag)..start {
        let now = finite(values[j]).filter(|v| *v > 0.0);
        let before = finite(values[j - lag]).filter(|v| *v > 0.0);
        if let (Some(now), Some(before)) = (now, before) {
            let ratio = now / before;
            if ratio.is_finite() {
                ratios[len] = ratio;
                len += 1;
            }
        }
    }
    if len == 0 {
        return 1.0;
    }
    let ratios = &mut ratios[..len];
    sort(ratios);
    let (low, high) = LEVEL_RATIO_BOUNDS;
    median(ratios).clamp(low, high)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(xs: &[f64]) -> Vec<Option<f64>> {
        xs.iter().copied().map(Some).collect()
    }

    #[test]
    fn a_masked_point_is_its_slot_one_period_earlier_at_todays_level() {
        // Period 4; today runs 10 % above yesterday before the mask.
        let mut values = some(&[
            1.0, 2.0, 3.0, 4.0, // yesterday
            1.1, 2.2, 0.0, 0.0, // today: the last two masked
            9.0, // the evaluated point
        ]);
        impute_masked(&mut values, 6..8, 4);
        let filled: Vec<f64> = values[6..8].iter().flatten().copied().collect();
        assert_eq!(filled.len(), 2);
        assert!((filled[0] - 3.3).abs() < 1e-12, "{filled:?}");
        assert!((filled[1] - 4.4).abs() < 1e-12, "{filled:?}");
        assert_eq!(values[8], Some(9.0), "after the span: untouched");
        assert_eq!(values[..6], some(&[1.0, 2.0, 3.0, 4.0, 1.1, 2.2])[..]);
    }

    #[test]
    fn the_level_ratio_is_a_clamped_median() {
        // One odd ratio among the points before the mask does not move it.
        let mut values = some(&[10.0, 10.0, 10.0, 10.0, 10.0, 11.0, 11.0, 50.0, 11.0, 0.0]);
        impute_masked(&mut values, 9..10, 4);
        assert!(
            values[9].is_some_and(|v| (v - 11.0 * 1.1).abs() < 1e-12),
            "{values:?}"
        );
        // Ten times yesterday's level: clamped.
        let mut values = some(&[1.0, 1.0, 1.0, 1.0, 10.0, 10.0, 0.0]);
        impute_masked(&mut values, 6..7, 4);
        assert_eq!(values[6], Some(LEVEL_RATIO_BOUNDS.1));
        let mut values = some(&[10.0, 10.0, 10.0, 10.0, 1.0, 1.0, 0.0]);
        impute_masked(&mut values, 6..7, 4);
        assert_eq!(values[6], Some(10.0 * LEVEL_RATIO_BOUNDS.0));
    }

    #[test]
    fn without_comparable_points_before_the_mask_the_ratio_is_one() {
        // Nothing before the mask has a value one period earlier.
        let mut values = some(&[5.0, 6.0, 7.0, 8.0, 0.0, 0.0]);
        impute_masked(&mut values, 3..6, 3);
        assert_eq!(values[3..], some(&[5.0, 6.0, 7.0])[..]);
        // Zeros and gaps give no ratio either.
        let mut values = vec![
            Some(0.0),
            Some(2.0),
            None,
            Some(4.0),
            Some(0.0),
            Some(7.0),
            Some(0.0),
        ];
        impute_masked(&mut values, 6..7, 3);
        assert_eq!(values[6], Some(4.0));
    }

    #[test]
    fn a_missing_or_masked_slot_walks_back_further_periods() {
        // Yesterday's slot is a gap: the day before is used.
        let mut values = vec![Some(4.0), Some(8.0), None, Some(8.0), Some(1.0)];
        impute_masked(&mut values, 4..5, 2);
        assert_eq!(
            values[4],
            Some(4.0),
            "two periods back, no ratio for that lag"
        );
        // A span longer than a period reads past itself, never its own points.
        let mut values = some(&[1.0, 2.0, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        impute_masked(&mut values, 4..9, 2);
        assert_eq!(values[4..], some(&[1.0, 2.0, 1.0, 2.0, 1.0])[..]);
    }

    #[test]
    fn a_slot_without_any_earlier_value_stays_a_gap() {
        let mut values = some(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        impute_masked(&mut values, 1..3, 4);
        assert_eq!(values, vec![Some(1.0), None, None, Some(4.0), Some(5.0)]);
        let mut values = vec![None, Some(2.0), Some(3.0)];
        impute_masked(&mut values, 2..3, 2);
        assert_eq!(values[2], None);
    }

    #[test]
    fn odd_inputs_neither_panic_nor_touch_points_outside_the_span() {
        let mut empty: Vec<Option<f64>> = Vec::new();
        impute_masked(&mut empty, 0..0, 96);
        impute_masked(&mut empty, 3..10, 96);
        impute_masked(&mut empty, 0..5, 0);

        let original = some(&[1.0, 2.0, 1.5, 7.0]);
        let mut values = original.clone();
        impute_masked(&mut values, 10..20, 2);
        impute_masked(&mut values, 2..2, 2);
        #[allow(clippy::reversed_empty_ranges)]
        impute_masked(&mut values, 3..1, 2);
        assert_eq!(values, original);
        impute_masked(&mut values, 3..100, 2);
        assert_eq!(values, some(&[1.0, 2.0, 1.5, 3.0]), "clipped to the slice");

        // Period 0 or longer than the series: nothing earlier, gaps.
        let mut values = original.clone();
        impute_masked(&mut values, 2..4, 0);
        assert_eq!(values, vec![Some(1.0), Some(2.0), None, None]);
        let mut values = original.clone();
        impute_masked(&mut values, 2..4, usize::MAX);
        assert_eq!(values, vec![Some(1.0), Some(2.0), None, None]);

        // Non-finite values count as missing.
        let mut values = vec![
            Some(f64::NAN),
            Some(f64::INFINITY),
            Some(1.0),
            Some(2.0),
            Some(0.0),
        ];
        impute_masked(&mut values, 4..5, 2);
        assert_eq!(values[4], Some(1.0));
    }

    /// A day of 96 buckets peaking at 18:00, four times higher than at 06:00,
    /// growing 1 % a day, with ±2 % of deterministic noise.
    fn cycle(t: usize) -> f64 {
        let day = t as f64 / 96.0;
        let phase = (day - 18.0 / 24.0) * std::f64::consts::TAU;
        let noise = 1.0 + 0.02 * ((t * 7919 % 101) as f64 / 50.0 - 1.0);
        100.0 * (2.5 + 1.5 * phase.cos()) * 1.01f64.powf(day) * noise
    }

    #[test]
    fn a_masked_span_in_a_daily_cycle_follows_the_cycle() {
        // An outage from 21:00 on the fourth day, four hours long, evaluated
        // at its end: the span falls from near the peak into the night.
        let from = 3 * 96 + 84;
        let to = from + 16;
        let mut values: Vec<Option<f64>> = (0..=to).map(|t| Some(cycle(t))).collect();
        for value in &mut values[from..to] {
            *value = value.map(|v| v * 0.1);
        }
        impute_masked(&mut values, from..to, 96);
        for (t, value) in values.iter().enumerate().take(to).skip(from) {
            let imputed = value.expect("yesterday has the slot");
            let truth = cycle(t);
            assert!(
                (imputed / truth - 1.0).abs() < 0.06,
                "bucket {t}: imputed {imputed:.1}, the cycle says {truth:.1}"
            );
        }
        // The span falls with the cycle, from about 3.6 to 2.2 times the trough.
        let (first, last) = (values[from], values[to - 1]);
        assert!(
            first
                .zip(last)
                .is_some_and(|(first, last)| last < 0.7 * first),
            "{first:?} -> {last:?}"
        );
    }
}
