//! A fixed-step time series with gaps.

use crate::error::DetectError;

/// The largest magnitude of a value the detectors are built for: `1e100`.
///
/// Far beyond any count or amount a product metric holds (there are about
/// 1e80 atoms in the observable universe), and far enough below `f64::MAX`
/// (1.8e308) that what the detectors compute from values stays finite:
/// `q75 + a * iqr` for any band width up to 1e200, squares and sums of
/// squares of millions of values in a forecast fit. A value beyond it is
/// corrupt data (an overflowed sum, a unit error); readers of user input
/// refuse it with its place (`vigil detect` names the line) rather than
/// let it turn the bands that follow into `-inf..inf`.
pub const MAX_MAGNITUDE: f64 = 1e100;

/// A series of values at `start, start + step, start + 2*step, ...` (unix
/// seconds). A missing bucket is a gap; non-finite inputs (NaN, ±inf) are
/// stored as gaps too, so detectors only ever see finite values.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "SeriesRepr", into = "SeriesRepr")
)]
pub struct Series {
    /// Unix seconds of the first point.
    pub start: i64,
    /// Seconds between consecutive points (> 0).
    pub step: i64,
    /// NaN marks a gap; every other value is finite.
    values: Vec<f64>,
}

impl Series {
    /// A series from optional values; `None` and non-finite values are gaps.
    ///
    /// Errors when `step <= 0` or when the last timestamp would overflow `i64`.
    pub fn new(start: i64, step: i64, values: Vec<Option<f64>>) -> Result<Series, DetectError> {
        let values = values
            .into_iter()
            .map(|v| match v {
                Some(x) if x.is_finite() => x,
                _ => f64::NAN,
            })
            .collect();
        Self::checked(start, step, values)
    }

    /// A series from raw floats where any non-finite value (NaN, ±inf) is a gap.
    /// Avoids the `Option` round trip for large inputs.
    pub fn from_f64(start: i64, step: i64, mut values: Vec<f64>) -> Result<Series, DetectError> {
        for v in &mut values {
            if !v.is_finite() {
                *v = f64::NAN;
            }
        }
        Self::checked(start, step, values)
    }

    fn checked(start: i64, step: i64, values: Vec<f64>) -> Result<Series, DetectError> {
        if step <= 0 {
            return Err(DetectError::NonPositiveStep(step));
        }
        let len = values.len();
        if len > 0 {
            let last = i64::try_from(len - 1)
                .ok()
                .and_then(|k| k.checked_mul(step))
                .and_then(|off| start.checked_add(off));
            if last.is_none() {
                return Err(DetectError::TimestampOverflow { start, step, len });
            }
        }
        Ok(Series {
            start,
            step,
            values,
        })
    }

    /// Number of buckets, gaps included.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when the series has no buckets at all.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The value of bucket `i`; `None` for a gap or when `i` is out of range.
    pub fn value(&self, i: usize) -> Option<f64> {
        match self.values.get(i) {
            Some(&x) if x.is_finite() => Some(x),
            _ => None,
        }
    }

    /// Unix seconds of bucket `i` (`start + i * step`, saturating for `i` past
    /// the end, exact within it).
    pub fn timestamp(&self, i: usize) -> i64 {
        let k = i64::try_from(i).unwrap_or(i64::MAX);
        self.start.saturating_add(k.saturating_mul(self.step))
    }

    /// The values, gaps as `None`.
    pub fn values(&self) -> impl ExactSizeIterator<Item = Option<f64>> + '_ {
        self.values
            .iter()
            .map(|&x| if x.is_finite() { Some(x) } else { None })
    }

    /// The values as floats with NaN for a gap (every other value is finite).
    pub fn raw_values(&self) -> &[f64] {
        &self.values
    }

    /// Number of observed (non-gap) buckets.
    pub fn observed(&self) -> usize {
        self.values.iter().filter(|x| x.is_finite()).count()
    }

    /// When the series starts and its step: what a detector that reads the
    /// calendar is told.
    pub fn clock(&self) -> Clock {
        Clock {
            start: self.start,
            step: self.step,
        }
    }
}

/// The time of the first value a detector is fed and the seconds between
/// values. Most detectors only count points; one that reads the calendar
/// (the learned one: hour, day of week) needs to know when each point is, in
/// a batch run and in a live check alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Clock {
    /// Unix seconds of the first value.
    pub start: i64,
    /// Seconds between values (> 0 for a real series).
    pub step: i64,
}

impl Clock {
    /// Values from `start`, `step` seconds apart.
    pub const fn new(start: i64, step: i64) -> Clock {
        Clock { start, step }
    }

    /// The clock of the values from the `k`-th on (saturating).
    pub fn skip(self, k: usize) -> Clock {
        let k = i64::try_from(k).unwrap_or(i64::MAX);
        Clock {
            start: self.start.saturating_add(k.saturating_mul(self.step)),
            step: self.step,
        }
    }

    /// Unix seconds of the `i`-th value (saturating).
    pub fn time(self, i: usize) -> i64 {
        self.skip(i).start
    }
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct SeriesRepr {
    start: i64,
    step: i64,
    values: Vec<Option<f64>>,
}

#[cfg(feature = "serde")]
impl TryFrom<SeriesRepr> for Series {
    type Error = DetectError;
    fn try_from(r: SeriesRepr) -> Result<Self, Self::Error> {
        Series::new(r.start, r.step, r.values)
    }
}

#[cfg(feature = "serde")]
impl From<Series> for SeriesRepr {
    fn from(s: Series) -> Self {
        SeriesRepr {
            start: s.start,
            step: s.step,
            values: s.values().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_positive_step() {
        assert_eq!(
            Series::new(0, 0, vec![]).unwrap_err(),
            DetectError::NonPositiveStep(0)
        );
        assert_eq!(
            Series::new(0, -900, vec![Some(1.0)])
                .unwrap_err()
                .to_string(),
            "step must be a positive number of seconds (got -900)"
        );
    }

    #[test]
    fn rejects_overflowing_timestamps() {
        let err = Series::new(i64::MAX - 10, 900, vec![Some(1.0), Some(2.0)]).unwrap_err();
        assert!(matches!(err, DetectError::TimestampOverflow { .. }));
        // One point never overflows.
        assert!(Series::new(i64::MAX, 900, vec![Some(1.0)]).is_ok());
    }

    /// What `MAX_MAGNITUDE` promises: values up to ±1e100 next to ordinary
    /// ones leave every registered detector's bands finite (at its defaults,
    /// and the IQR rule at its widest tunable band width), and a spike after
    /// them is still flagged.
    #[test]
    fn values_within_max_magnitude_keep_every_band_finite() {
        let period = 96;
        let mut values: Vec<Option<f64>> = (0..10 * period)
            .map(|i| {
                let phase = (i % period) as f64 / period as f64 * std::f64::consts::TAU;
                let noise = ((i as f64 * 12.9898).sin() * 43758.5453).fract() * 4.0;
                Some(100.0 + 30.0 * phase.sin() + noise)
            })
            .collect();
        for (i, sign) in [(200, 1.0), (201, 1.0), (202, -1.0), (203, 1.0), (204, -1.0)] {
            values[i] = Some(sign * MAX_MAGNITUDE);
        }
        let spike = 9 * period + 10;
        values[spike] = Some(1e4);
        let series = Series::new(0, 900, values).unwrap();
        let wide_iqr = crate::DetectorSpec::Iqr(crate::IqrParams {
            a: 100.0,
            ..Default::default()
        });
        let specs = crate::DETECTORS.iter().map(|e| (e.default)());
        for spec in specs.chain([wide_iqr]) {
            let d = spec.run(&series).unwrap();
            for (i, p) in d.points().enumerate() {
                for bound in [p.lower, p.upper, p.expected].into_iter().flatten() {
                    assert!(bound.is_finite(), "{} at {i}: {p:?}", spec.name());
                }
                assert!(p.score.is_finite(), "{} at {i}: {p:?}", spec.name());
            }
            if spec.name() == "iqr" {
                assert!(d.point(spike).is_anomaly, "{spec:?}");
            }
        }
    }

    #[test]
    fn non_finite_values_are_gaps() {
        let s = Series::new(
            100,
            900,
            vec![
                Some(1.0),
                Some(f64::NAN),
                None,
                Some(f64::INFINITY),
                Some(-2.5),
            ],
        )
        .unwrap();
        assert_eq!(s.len(), 5);
        assert_eq!(s.value(0), Some(1.0));
        assert_eq!(s.value(1), None);
        assert_eq!(s.value(2), None);
        assert_eq!(s.value(3), None);
        assert_eq!(s.value(4), Some(-2.5));
        assert_eq!(s.value(99), None);
        assert_eq!(s.timestamp(2), 1900);
        assert_eq!(s.observed(), 2);
        let f = Series::from_f64(100, 900, vec![1.0, f64::NEG_INFINITY]).unwrap();
        assert_eq!(f.values().collect::<Vec<_>>(), vec![Some(1.0), None]);
    }
}
