//! [`Detection`], a detector's output over a whole series, column by column.

use crate::point::{deviation, Assessed, Point};

/// One [`Point`] per bucket, stored as columns.
///
/// A `Vec<Point>` costs 96 bytes per bucket (five `Option<f64>`); these
/// columns cost 41 (NaN marks "missing" in the float columns, deviation is
/// derived on read). For a million buckets that is 41 MB instead of 96 MB to
/// allocate, fault in and write, which is most of a batch run's time at small
/// windows. [`point`](Self::point) and [`points`](Self::points) give the
/// per-bucket view, bit for bit what the detector's incremental state
/// returns for that bucket.
#[derive(Debug, Clone, Default)]
pub struct Detection {
    value: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    expected: Vec<f64>,
    score: Vec<f64>,
    is_anomaly: Vec<bool>,
}

#[inline]
fn nan_if_none(x: Option<f64>) -> f64 {
    x.unwrap_or(f64::NAN)
}

#[inline]
fn none_if_nan(x: f64) -> Option<f64> {
    if x.is_nan() {
        None
    } else {
        Some(x)
    }
}

impl Detection {
    /// An empty detection.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty detection with room for `len` buckets.
    pub fn with_capacity(len: usize) -> Self {
        let mut d = Self::default();
        d.reserve(len);
        d
    }

    /// Reserves room for `additional` more buckets.
    pub fn reserve(&mut self, additional: usize) {
        self.value.reserve(additional);
        self.lower.reserve(additional);
        self.upper.reserve(additional);
        self.expected.reserve(additional);
        self.score.reserve(additional);
        self.is_anomaly.reserve(additional);
    }

    /// Removes every bucket (keeps the allocations).
    pub fn clear(&mut self) {
        self.value.clear();
        self.lower.clear();
        self.upper.clear();
        self.expected.clear();
        self.score.clear();
        self.is_anomaly.clear();
    }

    /// Appends the next bucket's point.
    #[inline(always)]
    pub fn push(&mut self, p: Point) {
        self.value.push(nan_if_none(p.value));
        self.lower.push(nan_if_none(p.lower));
        self.upper.push(nan_if_none(p.upper));
        self.expected.push(nan_if_none(p.expected));
        self.score.push(p.score);
        self.is_anomaly.push(p.is_anomaly);
    }

    /// Appends a block of buckets assessed by [`Assessed::new`] from
    /// columns (all the same length; NaN for "missing"): for batch kernels
    /// that work a block at a time, in place of a [`push`](Self::push) per
    /// point, and bit for bit what pushing each [`Point::assess`] gives.
    /// Writes each column once, straight into its spare capacity (a
    /// branch-free loop that vectorises).
    #[inline(always)]
    pub(crate) fn extend_assessed(
        &mut self,
        value: &[f64],
        lower: &[f64],
        upper: &[f64],
        expected: &[f64],
        spread: &[f64],
    ) {
        let len = value.len();
        assert!([lower.len(), upper.len(), expected.len(), spread.len()]
            .iter()
            .all(|&l| l == len));
        self.reserve(len);
        self.value.extend_from_slice(value);
        self.expected.extend_from_slice(expected);
        let lo = &mut self.lower.spare_capacity_mut()[..len];
        let hi = &mut self.upper.spare_capacity_mut()[..len];
        let score = &mut self.score.spare_capacity_mut()[..len];
        let flag = &mut self.is_anomaly.spare_capacity_mut()[..len];
        for i in 0..len {
            let a = Assessed::new(value[i], lower[i], upper[i], expected[i], spread[i]);
            lo[i].write(a.lower);
            hi[i].write(a.upper);
            score[i].write(a.score);
            flag[i].write(a.is_anomaly);
        }
        for col in [&mut self.lower, &mut self.upper, &mut self.score] {
            let new_len = col.len() + len;
            // SAFETY: the loop above initialised the `len` slots after the
            // current length (every index below `len`, in each column),
            // and `reserve` made room for them.
            unsafe { col.set_len(new_len) };
        }
        let new_len = self.is_anomaly.len() + len;
        // SAFETY: as above.
        unsafe { self.is_anomaly.set_len(new_len) };
    }

    /// Number of buckets.
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// True when there are no buckets.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    /// The point of bucket `i`. Panics when `i >= len()`.
    #[inline]
    pub fn point(&self, i: usize) -> Point {
        let value = none_if_nan(self.value[i]);
        let expected = none_if_nan(self.expected[i]);
        Point {
            value,
            lower: none_if_nan(self.lower[i]),
            upper: none_if_nan(self.upper[i]),
            expected,
            is_anomaly: self.is_anomaly[i],
            score: self.score[i],
            deviation: deviation(value, expected),
        }
    }

    /// The point of bucket `i`, `None` when out of range.
    pub fn get(&self, i: usize) -> Option<Point> {
        (i < self.len()).then(|| self.point(i))
    }

    /// The points in bucket order.
    pub fn points(&self) -> impl ExactSizeIterator<Item = Point> + DoubleEndedIterator + '_ {
        (0..self.len()).map(|i| self.point(i))
    }

    /// The observed values (NaN for a gap).
    pub fn values(&self) -> &[f64] {
        &self.value
    }

    /// Lower bounds of the band (NaN where there is none).
    pub fn lower(&self) -> &[f64] {
        &self.lower
    }

    /// Upper bounds of the band (NaN where there is none).
    pub fn upper(&self) -> &[f64] {
        &self.upper
    }

    /// What the detector expected (NaN where nothing).
    pub fn expected(&self) -> &[f64] {
        &self.expected
    }

    /// Scores (see [`Point::score`]).
    pub fn scores(&self) -> &[f64] {
        &self.score
    }

    /// Anomaly flags.
    pub fn anomalies(&self) -> &[bool] {
        &self.is_anomaly
    }

    /// Number of anomalous buckets.
    pub fn anomaly_count(&self) -> usize {
        self.is_anomaly.iter().filter(|&&a| a).count()
    }
}

/// Equal when every point is equal (`Point`'s `==`: missing equals missing).
impl PartialEq for Detection {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.points().eq(other.points())
    }
}

impl FromIterator<Point> for Detection {
    fn from_iter<I: IntoIterator<Item = Point>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let mut d = Detection::with_capacity(iter.size_hint().0);
        for p in iter {
            d.push(p);
        }
        d
    }
}

impl Extend<Point> for Detection {
    fn extend<I: IntoIterator<Item = Point>>(&mut self, iter: I) {
        for p in iter {
            self.push(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_points() {
        let pts = [
            Point::assess(Some(14.0), Some((0.0, 10.0)), Some(5.0), Some(2.0)),
            Point::assess(None, Some((0.0, 10.0)), Some(5.0), Some(2.0)),
            Point::assess(Some(1.0), None, None, None),
            Point::default(),
        ];
        let d: Detection = pts.iter().copied().collect();
        assert_eq!(d.len(), 4);
        assert_eq!(d.points().collect::<Vec<_>>(), pts);
        assert_eq!(d.anomaly_count(), 1);
        assert_eq!(d.get(4), None);
        assert!(d.lower()[2].is_nan());
        assert_eq!(d, d.clone());
    }
}
