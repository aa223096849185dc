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

/// Knuth's TwoSum: `a + b` rounded, and its exact rounding error.
/// Branch-free.
#[inline(always)]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// Compensated running sums of the two bounds, `sum + comp`: the exact
/// rounding error of every update of `sum` (TwoSum) is accumulated in
/// `comp`, so a long-running add/remove window does not drift, even after a
/// huge value leaves it (only `comp`'s own, far smaller, roundings remain).
/// Same accuracy as the Neumaier sum it replaces, with one dependency-chain
/// link per push instead of two and no branch: ~2x faster smoothing.
#[derive(Debug, Clone, Copy, Default)]
struct PairSum {
    sum: [f64; 2],
    comp: [f64; 2],
}

impl PairSum {
    #[inline(always)]
    fn add(&mut self, x: [f64; 2]) {
        for ((sum, comp), x) in self.sum.iter_mut().zip(&mut self.comp).zip(x) {
            let (t, e) = two_sum(*sum, x);
            *sum = t;
            *comp += e;
        }
    }

    /// Adds `new - old` as one step (one link in the dependency chain).
    #[inline(always)]
    fn replace(&mut self, old: [f64; 2], new: [f64; 2]) {
        let lanes = self
            .sum
            .iter_mut()
            .zip(&mut self.comp)
            .zip(old.into_iter().zip(new));
        for ((sum, comp), (old, new)) in lanes {
            let (d, e1) = two_sum(new, -old);
            let (t, e2) = two_sum(*sum, d);
            *sum = t;
            *comp += e1 + e2;
        }
    }

    #[inline(always)]
    fn value(&self) -> [f64; 2] {
        [self.sum[0] + self.comp[0], self.sum[1] + self.comp[1]]
    }
}

/// Mean of the (lower, upper) pairs over the last `width` positions, skipping
/// missing pairs (pandas' `min_periods=1`).
///
/// O(1) per push: a ring buffer and compensated running sums (see
/// [`PairSum`]). To bound any drift the sums are also recomputed from the
/// ring every [`RECOMPUTE_EVERY`] pushes or so (a multiple of `width`;
/// O(1) amortised). Deterministic: the same pushes give bit-identical means.
#[derive(Debug, Clone)]
pub(crate) struct PairMean {
    width: usize,
    /// NaN in `[0]` marks a missing pair.
    ring: Vec<[f64; 2]>,
    head: usize,
    /// Ring wraps left before the next recompute.
    wraps_left: usize,
    count: usize,
    sums: PairSum,
}

/// Roughly how many pushes between two exact recomputes of the sums.
const RECOMPUTE_EVERY: usize = 1024;

impl PairMean {
    pub(crate) fn new(width: usize) -> Self {
        let width = width.max(1);
        PairMean {
            width,
            ring: Vec::with_capacity(width.min(4096)),
            head: 0,
            wraps_left: Self::wraps(width),
            count: 0,
            sums: PairSum::default(),
        }
    }

    fn wraps(width: usize) -> usize {
        RECOMPUTE_EVERY.div_ceil(width)
    }

    /// Pushes the pair at the next position (`None` = missing), evicting the
    /// pair `width` positions back.
    #[inline(always)]
    pub(crate) fn push(&mut self, pair: Option<(f64, f64)>) {
        let new = pair.map_or([f64::NAN; 2], |(lo, hi)| [lo, hi]);
        let new_ok = !new[0].is_nan();
        if self.ring.len() < self.width {
            self.ring.push(new);
            if new_ok {
                self.count += 1;
                self.sums.add(new);
            }
            return;
        }
        let old = core::mem::replace(&mut self.ring[self.head], new);
        self.head += 1;
        if self.head == self.width {
            self.head = 0;
            self.wraps_left -= 1;
            if self.wraps_left == 0 {
                self.wraps_left = Self::wraps(self.width);
                self.recompute();
                return;
            }
        }
        match (!old[0].is_nan(), new_ok) {
            (true, true) => self.sums.replace(old, new),
            (false, true) => {
                self.count += 1;
                self.sums.add(new);
            }
            (true, false) => {
                self.count -= 1;
                if self.count == 0 {
                    self.sums = PairSum::default();
                } else {
                    self.sums.add([-old[0], -old[1]]);
                }
            }
            (false, false) => {}
        }
    }

    #[cold]
    fn recompute(&mut self) {
        self.sums = PairSum::default();
        self.count = 0;
        for &pair in &self.ring {
            if !pair[0].is_nan() {
                self.count += 1;
                self.sums.add(pair);
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
        let [lo, hi] = self.sums.value();
        Some((lo / c, hi / c))
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
