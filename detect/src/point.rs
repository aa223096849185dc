//! Per-point detector output.

/// What a detector says about one bucket.
///
/// A band (`lower`/`upper`) may exist for a missing point so charts can draw
/// it; a missing point is never anomalous and has score 0.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Point {
    /// The observed value (`None` for a gap).
    pub value: Option<f64>,
    /// Lower bound of the normal band (`None` until the detector has enough history).
    pub lower: Option<f64>,
    /// Upper bound of the normal band.
    pub upper: Option<f64>,
    /// What the detector expected (for IQR: the window median).
    pub expected: Option<f64>,
    /// `value < lower || value > upper`, only when both value and band exist.
    pub is_anomaly: bool,
    /// 0 inside the band; otherwise the distance beyond the nearest bound in
    /// units of the detector's spread (for IQR: the raw IQR at this point), so
    /// an alert threshold can be swept (`score > 0.5` = half an IQR beyond).
    pub score: f64,
    /// `(value - expected) / |expected|`: -0.23 is 23 % below expected. `None`
    /// when value or expected is missing or expected is 0.
    pub deviation: Option<f64>,
}

impl Point {
    /// Builds a point from a value, a band, an expectation and the spread
    /// that scales the score.
    ///
    /// The score's denominator is `max(spread, eps)` with
    /// `eps = 1e-9 * max(|expected|, 1)`, so a zero spread (a constant
    /// history) still gives a finite, comparable score. A missing spread
    /// counts as 0.
    #[inline(always)]
    pub fn assess(
        value: Option<f64>,
        band: Option<(f64, f64)>,
        expected: Option<f64>,
        spread: Option<f64>,
    ) -> Point {
        let nan = |x: Option<f64>| x.unwrap_or(f64::NAN);
        let (lo, hi) = band.unwrap_or((f64::NAN, f64::NAN));
        let a = Assessed::new(nan(value), lo, hi, nan(expected), nan(spread));
        let some = |x: f64| if x.is_nan() { None } else { Some(x) };
        Point {
            value,
            lower: some(a.lower),
            upper: some(a.upper),
            expected,
            is_anomaly: a.is_anomaly,
            score: a.score,
            deviation: deviation(value, expected),
        }
    }
}

/// [`Point::assess`] on plain floats, NaN for "missing" everywhere: the one
/// implementation of the rule, shared by the per-point path and the batch
/// kernels that assess a block of buckets at a time (branch-free, so a loop
/// over it vectorises). Missing and NaN are the same thing to the rule: a
/// NaN bound drops the band, a NaN expectation counts as missing in `eps`
/// and a NaN spread as 0 (`max` ignores NaN).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Assessed {
    /// The band's bounds, both NaN when either is.
    pub lower: f64,
    pub upper: f64,
    pub score: f64,
    pub is_anomaly: bool,
}

impl Assessed {
    #[inline(always)]
    pub(crate) fn new(value: f64, lo: f64, hi: f64, expected: f64, spread: f64) -> Assessed {
        // Bounds can only be NaN after overflow on values near f64::MAX.
        let band = !lo.is_nan() && !hi.is_nan();
        let (lo, hi) = if band { (lo, hi) } else { (f64::NAN, f64::NAN) };
        // A NaN value or band fails both comparisons: not anomalous.
        let beyond = if value > hi {
            value - hi
        } else if value < lo {
            lo - value
        } else {
            0.0
        };
        let is_anomaly = beyond > 0.0;
        // eps = 1e-9 * max(|expected|, 1); NaN.max(1.0) is 1.0.
        let eps = 1e-9 * expected.abs().max(1.0);
        let score = beyond / spread.max(eps);
        let score = if score.is_nan() { f64::INFINITY } else { score };
        Assessed {
            lower: lo,
            upper: hi,
            score: if is_anomaly { score } else { 0.0 },
            is_anomaly,
        }
    }
}

/// `(value - expected) / |expected|`, `None` when either is missing or
/// expected is 0 (see [`Point::deviation`]).
#[inline]
pub(crate) fn deviation(value: Option<f64>, expected: Option<f64>) -> Option<f64> {
    match (value, expected) {
        (Some(v), Some(e)) if e != 0.0 => Some((v - e) / e.abs()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assess_inside_above_below_and_gap() {
        let band = Some((0.0, 10.0));
        let p = Point::assess(Some(5.0), band, Some(5.0), Some(2.0));
        assert!(!p.is_anomaly);
        assert_eq!(p.score, 0.0);
        assert_eq!(p.deviation, Some(0.0));
        let p = Point::assess(Some(14.0), band, Some(5.0), Some(2.0));
        assert!(p.is_anomaly);
        assert_eq!(p.score, 2.0);
        let p = Point::assess(Some(-1.0), band, Some(5.0), Some(2.0));
        assert!(p.is_anomaly);
        assert_eq!(p.score, 0.5);
        assert_eq!(p.deviation, Some(-1.2));
        let p = Point::assess(None, band, Some(5.0), Some(2.0));
        assert!(!p.is_anomaly);
        assert_eq!(p.score, 0.0);
        assert_eq!(p.deviation, None);
        assert_eq!(p.lower, Some(0.0));
        let p = Point::assess(Some(1.0), band, Some(0.0), Some(0.0));
        assert_eq!(p.deviation, None);
        // Zero spread: eps = 1e-9 * max(|expected|, 1).
        let p = Point::assess(Some(12.0), Some((10.0, 10.0)), Some(10.0), Some(0.0));
        assert!(p.is_anomaly);
        assert!((p.score - 2.0 / 1e-8).abs() < 1e-3);
    }
}
