//! How a detector's raw band is smoothed over neighbouring positions, and the
//! sliding mean that does it.

use core::fmt;
use core::str::FromStr;

use crate::error::DetectError;

/// Smoothing of the raw band over positions (buckets, gaps included), as the
/// seed rule's `band.rolling(n, center=True, min_periods=1).mean()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum Smoothing {
    /// At `t`, the mean of the raw bounds at positions `[t - n/2, t]`: the
    /// centered rolling mean evaluated at the newest point, i.e. what a live
    /// check at `t` computes. Causal; the default.
    #[default]
    AsOf,
    /// The centered rolling mean over the whole history, positions
    /// `[t - n/2, t + (n-1)/2]`. Looks into the future: for comparison with the
    /// seed only, batch only.
    Centered,
    /// The raw bounds.
    None,
}

impl Smoothing {
    /// All variants, in display order.
    pub const ALL: [Smoothing; 3] = [Smoothing::AsOf, Smoothing::Centered, Smoothing::None];

    /// The name used on the command line and in the UI.
    pub fn as_str(self) -> &'static str {
        match self {
            Smoothing::AsOf => "asof",
            Smoothing::Centered => "centered",
            Smoothing::None => "none",
        }
    }

    /// True when the smoothed value at `t` only depends on points up to `t`.
    pub fn is_causal(self) -> bool {
        !matches!(self, Smoothing::Centered)
    }
}

impl fmt::Display for Smoothing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Smoothing {
    type Err = DetectError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "asof" => Ok(Smoothing::AsOf),
            "centered" => Ok(Smoothing::Centered),
            "none" => Ok(Smoothing::None),
            _ => Err(DetectError::UnknownSmoothing(s.to_string())),
        }
    }
}

/// Compensated (Neumaier) running sum: error independent of the number of
/// additions, so a long-running add/remove window does not drift.
///
/// The rounding error of each addition is taken with Knuth's branch-free
/// TwoSum, which gives exactly the same error term as Neumaier's
/// `|sum| >= |x|` branch (both are exact), without an unpredictable branch.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NeumaierSum {
    sum: f64,
    comp: f64,
}

impl NeumaierSum {
    #[inline]
    pub(crate) fn add(&mut self, x: f64) {
        let t = self.sum + x;
        let z = t - self.sum;
        self.comp += (self.sum - (t - z)) + (x - z);
        self.sum = t;
    }

    #[inline]
    pub(crate) fn value(&self) -> f64 {
        self.sum + self.comp
    }
}

/// Mean of the (lower, upper) pairs over the last `width` positions, skipping
/// missing pairs (pandas' `min_periods=1`).
///
/// O(1) per push: a ring buffer and two compensated running sums. To bound any
/// drift the sums are recomputed from the ring every `width` pushes (O(1)
/// amortised). Deterministic: the same pushes give bit-identical means.
#[derive(Debug, Clone)]
pub(crate) struct PairMean {
    width: usize,
    /// NaN in `.0` marks a missing pair.
    ring: Vec<(f64, f64)>,
    head: usize,
    count: usize,
    lo: NeumaierSum,
    hi: NeumaierSum,
}

impl PairMean {
    pub(crate) fn new(width: usize) -> Self {
        let width = width.max(1);
        PairMean {
            width,
            ring: Vec::with_capacity(width.min(4096)),
            head: 0,
            count: 0,
            lo: NeumaierSum::default(),
            hi: NeumaierSum::default(),
        }
    }

    /// Pushes the pair at the next position (`None` = missing), evicting the
    /// pair `width` positions back.
    #[inline(always)]
    pub(crate) fn push(&mut self, pair: Option<(f64, f64)>) {
        let new = pair.unwrap_or((f64::NAN, f64::NAN));
        if self.ring.len() < self.width {
            self.ring.push(new);
        } else {
            let old = core::mem::replace(&mut self.ring[self.head], new);
            self.head += 1;
            if self.head == self.width {
                self.head = 0;
                self.recompute();
                return;
            }
            if !old.0.is_nan() {
                self.count -= 1;
                if self.count == 0 {
                    self.lo = NeumaierSum::default();
                    self.hi = NeumaierSum::default();
                } else {
                    self.lo.add(-old.0);
                    self.hi.add(-old.1);
                }
            }
        }
        if !new.0.is_nan() {
            self.count += 1;
            self.lo.add(new.0);
            self.hi.add(new.1);
        }
    }

    #[inline(never)]
    fn recompute(&mut self) {
        self.lo = NeumaierSum::default();
        self.hi = NeumaierSum::default();
        self.count = 0;
        for &(l, h) in &self.ring {
            if !l.is_nan() {
                self.count += 1;
                self.lo.add(l);
                self.hi.add(h);
            }
        }
    }

    /// The mean pair, `None` when every pair in the window is missing.
    #[inline(always)]
    pub(crate) fn mean(&self) -> Option<(f64, f64)> {
        if self.count == 0 {
            return None;
        }
        let c = self.count as f64;
        Some((self.lo.value() / c, self.hi.value() / c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        for s in Smoothing::ALL {
            assert_eq!(s.to_string().parse::<Smoothing>().unwrap(), s);
        }
        assert_eq!("AsOf".parse::<Smoothing>().unwrap(), Smoothing::AsOf);
        assert_eq!(Smoothing::default(), Smoothing::AsOf);
        let err = "median".parse::<Smoothing>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown smoothing \"median\" (expected asof, centered or none)"
        );
    }

    #[test]
    fn pair_mean_skips_missing_and_slides() {
        let mut m = PairMean::new(3);
        assert_eq!(m.mean(), None);
        m.push(None);
        assert_eq!(m.mean(), None);
        m.push(Some((1.0, 10.0)));
        assert_eq!(m.mean(), Some((1.0, 10.0)));
        m.push(Some((2.0, 20.0)));
        assert_eq!(m.mean(), Some((1.5, 15.0)));
        m.push(Some((3.0, 30.0)));
        assert_eq!(m.mean(), Some((2.0, 20.0)));
        m.push(None);
        assert_eq!(m.mean(), Some((2.5, 25.0)));
        m.push(None);
        m.push(None);
        assert_eq!(m.mean(), None);
        m.push(Some((-4.0, 4.0)));
        assert_eq!(m.mean(), Some((-4.0, 4.0)));
    }

    #[test]
    fn pair_mean_does_not_drift() {
        let mut m = PairMean::new(7);
        let mut naive = Vec::new();
        for i in 0..10_000u32 {
            let x = ((i * 7919) % 1000) as f64 * 1e6 + 0.1;
            m.push(Some((x, -x)));
            naive.push(x);
            let w = &naive[naive.len().saturating_sub(7)..];
            let expect = w.iter().sum::<f64>() / w.len() as f64;
            let (lo, hi) = m.mean().unwrap();
            assert!((lo - expect).abs() <= 1e-9 * expect.abs());
            assert!((hi + expect).abs() <= 1e-9 * expect.abs());
        }
    }
}
