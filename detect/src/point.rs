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
        // Bounds can only be NaN after overflow on values near f64::MAX.
        let band = band.filter(|(lo, hi)| !lo.is_nan() && !hi.is_nan());
        let mut is_anomaly = false;
        let mut score = 0.0;
        if let (Some(v), Some((lo, hi))) = (value, band) {
            let beyond = if v > hi {
                v - hi
            } else if v < lo {
                lo - v
            } else {
                0.0
            };
            if beyond > 0.0 {
                is_anomaly = true;
                let eps = 1e-9 * expected.map_or(1.0, |e| e.abs().max(1.0));
                let denom = spread.unwrap_or(0.0).max(eps);
                score = beyond / denom;
                if score.is_nan() {
                    score = f64::INFINITY;
                }
            }
        }
        Point {
            value,
            lower: band.map(|b| b.0),
            upper: band.map(|b| b.1),
            expected,
            is_anomaly,
            score,
            deviation: deviation(value, expected),
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
