//! Helpers shared by the history-based detectors: a ring buffer of recent
//! buckets, quantiles of small sorted samples (the IQR rule's definition),
//! and parameter checks.

use crate::error::{DetectError, MAX_WINDOW};
use crate::window::QuantilePos;

/// The last `cap` buckets, NaN for a gap. `back(1)` is the previous bucket.
#[derive(Debug, Clone)]
pub(crate) struct Ring {
    buf: Vec<f64>,
    cap: usize,
    /// Index where the next value goes.
    head: usize,
    len: usize,
}

impl Ring {
    pub(crate) fn new(cap: usize) -> Self {
        let cap = cap.max(1);
        Ring {
            buf: vec![f64::NAN; cap],
            cap,
            head: 0,
            len: 0,
        }
    }

    /// Appends the newest bucket (NaN = gap), dropping the oldest when full.
    #[inline]
    pub(crate) fn push(&mut self, x: f64) {
        self.buf[self.head] = x;
        self.head = (self.head + 1) % self.cap;
        self.len = (self.len + 1).min(self.cap);
    }

    /// The value `k >= 1` buckets back; NaN when unknown or a gap.
    #[inline]
    pub(crate) fn back(&self, k: usize) -> f64 {
        if k == 0 || k > self.len {
            return f64::NAN;
        }
        self.buf[(self.head + self.cap - k) % self.cap]
    }
}

/// Finite values only (`None` and NaN/inf are gaps).
#[inline]
pub(crate) fn finite(x: Option<f64>) -> Option<f64> {
    x.filter(|v| v.is_finite())
}

/// Sorts a sample (`-0.0` read as `0.0`, as the IQR windows do).
#[inline]
pub(crate) fn sort(xs: &mut [f64]) {
    for x in xs.iter_mut() {
        *x += 0.0;
    }
    xs.sort_unstable_by(f64::total_cmp);
}

/// Quantile `q` of a sorted non-empty sample, numpy `linear` (as iqr.rs).
#[inline]
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    QuantilePos::new(q, sorted.len())
        .read_sorted(sorted)
        .unwrap_or(f64::NAN)
}

/// Median of a sorted non-empty sample.
#[inline]
pub(crate) fn median(sorted: &[f64]) -> f64 {
    quantile(sorted, 0.5)
}

/// Checks `min <= value <= max`.
pub(crate) fn check_count(
    name: &'static str,
    value: usize,
    min: usize,
    max: usize,
) -> Result<(), DetectError> {
    if value < min || value > max {
        return Err(DetectError::CountOutOfRange {
            name,
            value,
            min,
            max,
        });
    }
    Ok(())
}

/// Checks a finite number `>= 0`.
pub(crate) fn check_non_negative(name: &'static str, value: f64) -> Result<(), DetectError> {
    if !(value.is_finite() && value >= 0.0) {
        return Err(DetectError::InvalidNumber {
            name,
            value,
            requirement: ">= 0",
        });
    }
    Ok(())
}

/// Checks `period >= 2`, `seasons >= 1` and `seasons * period <= MAX_WINDOW`.
pub(crate) fn check_seasons(period: usize, seasons: usize) -> Result<(), DetectError> {
    check_count("period", period, 2, MAX_WINDOW)?;
    check_count("seasons", seasons, 1, MAX_WINDOW)?;
    match period.checked_mul(seasons) {
        Some(h) if h <= MAX_WINDOW => Ok(()),
        _ => Err(DetectError::HistoryTooLong { seasons, period }),
    }
}

/// `--seasons` help of the same-slot detectors.
pub(crate) const SEASONS_HELP: &str = "earlier periods used";
/// `--min-seasons` help of the same-slot detectors.
pub(crate) const MIN_SEASONS_HELP: &str = "observed same-slot values needed for a band";

/// Largest level or median window: far above any useful one (a week of
/// 15-minute buckets is 672); keeps per-point cost bounded.
pub(crate) const MAX_LEVEL_WINDOW: usize = 1 << 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_back() {
        let mut r = Ring::new(3);
        assert!(r.back(1).is_nan());
        for x in [1.0, 2.0, 3.0, 4.0] {
            r.push(x);
        }
        assert_eq!(r.back(1), 4.0);
        assert_eq!(r.back(3), 2.0);
        assert!(r.back(4).is_nan());
        assert!(r.back(0).is_nan());
    }

    #[test]
    fn quantiles_match_numpy_linear() {
        let mut xs = [4.0, 1.0, 3.0, 2.0];
        sort(&mut xs);
        assert_eq!(quantile(&xs, 0.25), 1.75);
        assert_eq!(median(&xs), 2.5);
        assert_eq!(quantile(&xs, 0.75), 3.25);
    }
}
