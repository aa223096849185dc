//! Long because it is one algorithm: the exact (error-compensated) sliding
//! mean of band pairs in its three regimes (direct, steady, recomputed), and
//! the tests that pin them bit for bit to each other.
//!
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

/// [`RunningMean`] for wider windows.
///
/// O(1) per push: a ring buffer and compensated running sums (see
/// [`PairSum`]). To bound any drift the sums are also recomputed from the
/// ring every [`RECOMPUTE_EVERY`] pushes or so (a multiple of `width`;
/// O(1) amortised). Deterministic: the same pushes give bit-identical means.
#[derive(Debug, Clone)]
struct RunningMean {
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

/// Most pushes [`RunningMean::push_block`] takes the fast path for at once
/// (its scratch arrays live on the stack).
const FAST_BLOCK: usize = 512;

/// Fewest pushes worth the fast path's setup.
const FAST_MIN: usize = 16;

/// Scratch space of [`RunningMean::push_block`] (16 KB: keep one per run, not
/// one per call, so it is not zeroed every time). Pairs are (lower, upper).
#[derive(Debug, Clone)]
pub(crate) struct BlockScratch {
    /// `two_sum(new, -old)` of each push (`old`: the pair it evicts).
    d: [[f64; 2]; FAST_BLOCK],
    e: [[f64; 2]; FAST_BLOCK],
}

impl BlockScratch {
    pub(crate) fn new() -> Self {
        BlockScratch {
            d: [[0.0; 2]; FAST_BLOCK],
            e: [[0.0; 2]; FAST_BLOCK],
        }
    }
}

/// [`RunningMean`]'s state once its ring is full, by value (kept in registers
/// over a block of pushes).
#[derive(Debug, Clone, Copy)]
struct Steady {
    head: usize,
    wraps_left: usize,
    count: usize,
    sums: PairSum,
}

impl Steady {
    /// One push into the full `ring` (the [`RunningMean`]'s).
    #[inline(always)]
    fn push(&mut self, ring: &mut [[f64; 2]], new: [f64; 2]) {
        let width = ring.len();
        let old = core::mem::replace(&mut ring[self.head], new);
        self.head += 1;
        if self.head == width {
            self.head = 0;
            self.wraps_left -= 1;
            if self.wraps_left == 0 {
                self.wraps_left = RunningMean::wraps(width);
                (self.sums, self.count) = recompute(ring);
                return;
            }
        }
        match (!old[0].is_nan(), !new[0].is_nan()) {
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

    /// [`RunningMean::mean_pair`].
    #[inline(always)]
    fn mean(&self) -> [f64; 2] {
        divide(self.sums.value(), self.count)
    }
}

/// The sums and count of the pairs in `ring`, from scratch.
#[cold]
fn recompute(ring: &[[f64; 2]]) -> (PairSum, usize) {
    let mut sums = PairSum::default();
    let mut count = 0;
    for &pair in ring {
        if !pair[0].is_nan() {
            count += 1;
            sums.add(pair);
        }
    }
    (sums, count)
}

impl RunningMean {
    fn new(width: usize) -> Self {
        let width = width.max(1);
        RunningMean {
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

    /// [`PairMean::push_pair`].
    #[inline(always)]
    fn push_pair(&mut self, new: [f64; 2]) {
        if self.ring.len() < self.width {
            self.ring.push(new);
            if !new[0].is_nan() {
                self.count += 1;
                self.sums.add(new);
            }
            return;
        }
        let mut s = Steady {
            head: self.head,
            wraps_left: self.wraps_left,
            count: self.count,
            sums: self.sums,
        };
        s.push(&mut self.ring, new);
        (self.head, self.wraps_left, self.count) = (s.head, s.wraps_left, s.count);
        self.sums = s.sums;
    }

    /// [`push_pair`](Self::push_pair) then [`mean_pair`](Self::mean_pair)
    /// for each `(lower[i], upper[i])`, the means into `out_lower` and
    /// `out_upper` (all four the same length).
    ///
    /// The same steps as one [`push_pair`](Self::push_pair) each (hence the
    /// same bits), with the state in registers for the whole block.
    #[inline(always)]
    fn push_block(
        &mut self,
        lower: &[f64],
        upper: &[f64],
        out_lower: &mut [f64],
        out_upper: &mut [f64],
        scratch: &mut BlockScratch,
    ) {
        // The lengths are equal ([`PairMean::push_block`] checks).
        let len = lower.len();
        let mut i = 0;
        while i < len && self.ring.len() < self.width {
            self.push_pair([lower[i], upper[i]]);
            [out_lower[i], out_upper[i]] = self.mean_pair();
            i += 1;
        }
        while i < len {
            // Gap-free stretches before the next recompute take the fast
            // path; anything else one push at a time.
            let w = self.width;
            let to_recompute = (w - self.head) + (self.wraps_left - 1) * w;
            let k = (len - i).min(to_recompute - 1).min(FAST_BLOCK);
            let all_ok = lower[i..i + k].iter().fold(true, |ok, x| ok & !x.is_nan());
            if self.count == w && k >= FAST_MIN && all_ok {
                let r = i..i + k;
                self.push_full(
                    &lower[r.clone()],
                    &upper[r.clone()],
                    &mut out_lower[r.clone()],
                    &mut out_upper[r.clone()],
                    scratch,
                );
                i += k;
                continue;
            }
            let mut s = Steady {
                head: self.head,
                wraps_left: self.wraps_left,
                count: self.count,
                sums: self.sums,
            };
            s.push(&mut self.ring, [lower[i], upper[i]]);
            [out_lower[i], out_upper[i]] = s.mean();
            (self.head, self.wraps_left, self.count) = (s.head, s.wraps_left, s.count);
            self.sums = s.sums;
            i += 1;
        }
    }

    /// `lower.len()` (at most [`FAST_BLOCK`]) pushes of present pairs into
    /// a ring full of present pairs, none of them due to recompute (the
    /// caller checks): exactly the steps of [`Steady::push`] in that case
    /// (`PairSum::replace` per push, same operations in the same order),
    /// regrouped so that all but the two running sums are computed in
    /// vectorisable passes. Writes the mean after each push.
    #[inline(always)]
    fn push_full(
        &mut self,
        lower: &[f64],
        upper: &[f64],
        out_lower: &mut [f64],
        out_upper: &mut [f64],
        scratch: &mut BlockScratch,
    ) {
        let k = lower.len();
        assert!(k <= FAST_BLOCK && upper.len() == k);
        assert!(out_lower.len() == k && out_upper.len() == k);
        let w = self.width;
        let head = self.head;
        debug_assert!(self.ring.len() == w && head < w);
        let BlockScratch { d, e } = scratch;
        // `two_sum(new, -old)` of each push, where `old` is the pair pushed
        // `w` pushes before (from the ring, in push order from `head`, then
        // from the block itself): independent of the sums, so vectorised.
        // (lower, upper) lanes side by side, so the sequential loop below
        // runs both in one register.
        let from_ring = k.min(w);
        let ring_in_order = self.ring[head..].iter().chain(&self.ring[..head]);
        for (j, old) in ring_in_order.take(from_ring).enumerate() {
            let (d_lo, e_lo) = two_sum(lower[j], -old[0]);
            let (d_hi, e_hi) = two_sum(upper[j], -old[1]);
            d[j] = [d_lo, d_hi];
            e[j] = [e_lo, e_hi];
        }
        for j in from_ring..k {
            let (d_lo, e_lo) = two_sum(lower[j], -lower[j - w]);
            let (d_hi, e_hi) = two_sum(upper[j], -upper[j - w]);
            d[j] = [d_lo, d_hi];
            e[j] = [e_lo, e_hi];
        }
        // The ring after the block: the last `w` pairs.
        let mut at = (head + k.saturating_sub(w)) % w;
        for j in k.saturating_sub(w)..k {
            self.ring[at] = [lower[j], upper[j]];
            at += 1;
            if at == w {
                at = 0;
            }
        }
        self.wraps_left -= (head + k) / w;
        self.head = (head + k) % w;
        // The running sums: the only sequential part. Their values (`sum +
        // comp`) are written as they come and divided by the count, `w`,
        // in a pass per bound after the loop, where the divisions run four
        // to an instruction (two scalar divisions per push cost more than
        // the sums' chain; 3-4 % of the run at n = 96, interleaved A/B).
        let PairSum { mut sum, mut comp } = self.sums;
        for j in 0..k {
            let (dj, ej) = (d[j], e[j]);
            let t = [sum[0] + dj[0], sum[1] + dj[1]];
            let bb = [t[0] - sum[0], t[1] - sum[1]];
            let e2 = [
                (sum[0] - (t[0] - bb[0])) + (dj[0] - bb[0]),
                (sum[1] - (t[1] - bb[1])) + (dj[1] - bb[1]),
            ];
            sum = t;
            comp = [comp[0] + (ej[0] + e2[0]), comp[1] + (ej[1] + e2[1])];
            out_lower[j] = sum[0] + comp[0];
            out_upper[j] = sum[1] + comp[1];
        }
        self.sums = PairSum { sum, comp };
        let c = w as f64;
        for x in out_lower.iter_mut() {
            *x /= c;
        }
        for x in out_upper.iter_mut() {
            *x /= c;
        }
    }

    /// The window's sums (`sum + comp`) and count of present pairs.
    #[inline(always)]
    fn window(&self) -> ([f64; 2], usize) {
        (self.sums.value(), self.count)
    }

    /// The mean pair, NaN when every pair in the window is missing.
    #[inline(always)]
    fn mean_pair(&self) -> [f64; 2] {
        let (sums, count) = self.window();
        divide(sums, count)
    }
}

/// `sum + pair` and 1 when the pair is present (not NaN in `[0]`), else
/// `sum` and 0. Computed as `sum + 0.0` for a missing pair, which is `sum`
/// bit for bit (a sum started at `+0.0` is never `-0.0`): no select of the
/// sum, so loops over many sums vectorise (with a select, the compiler
/// emits masked stores, slow on AMD). Every window sum is made of these.
#[inline(always)]
fn add_present(sum: [f64; 2], pair: [f64; 2]) -> ([f64; 2], usize) {
    let present = !pair[0].is_nan();
    let term = |x: f64| if present { x } else { 0.0 };
    (
        [sum[0] + term(pair[0]), sum[1] + term(pair[1])],
        present as usize,
    )
}

/// The mean of `count` pairs summing to `sums`, NaN when there are none.
#[inline(always)]
fn divide(sums: [f64; 2], count: usize) -> [f64; 2] {
    if count == 0 {
        return [f64::NAN; 2];
    }
    let c = count as f64;
    [sums[0] / c, sums[1] / c]
}

/// Widths up to which [`PairMean`] sums each window directly.
const DIRECT_MAX: usize = 8;

/// [`PairMean`] for narrow windows: each window summed from scratch,
/// oldest pair first. O(width) per push, but in a batch the positions are
/// independent, so the sums vectorise across them.
#[derive(Debug, Clone)]
struct DirectMean {
    /// The last `width` pairs, oldest first; missing pairs (and those
    /// before the first push) have NaN in `[0]`.
    recent: Vec<[f64; 2]>,
    /// The window's sums and count at the last push.
    sums: [f64; 2],
    count: usize,
}

/// Positions per pass of [`DirectMean::push_block`] (its columns live on
/// the stack).
const DIRECT_PASS: usize = 256;

impl DirectMean {
    fn new(width: usize) -> Self {
        DirectMean {
            recent: vec![[f64::NAN; 2]; width.max(1)],
            sums: [0.0; 2],
            count: 0,
        }
    }

    /// The sums and count of the present pairs, added oldest first to 0.
    #[inline(always)]
    fn window_sum(pairs: &[[f64; 2]]) -> ([f64; 2], usize) {
        let (mut sum, mut count) = ([0.0; 2], 0);
        for pair in pairs {
            let added;
            (sum, added) = add_present(sum, *pair);
            count += added;
        }
        (sum, count)
    }

    #[inline(always)]
    fn push_pair(&mut self, new: [f64; 2]) {
        self.recent.remove(0);
        self.recent.push(new);
        (self.sums, self.count) = Self::window_sum(&self.recent);
    }

    /// [`PairMean::push_block`]: per pass, the pairs with the `width - 1`
    /// before them in one column, then every window's sum at once, one
    /// window position (oldest first) per step, as
    /// [`window_sum`](Self::window_sum) adds them.
    #[inline(always)]
    fn push_block(
        &mut self,
        lower: &[f64],
        upper: &[f64],
        out_lower: &mut [f64],
        out_upper: &mut [f64],
    ) {
        let w = self.recent.len();
        let mut ext = [[0.0; DIRECT_PASS + DIRECT_MAX]; 2];
        let mut sum = [[0.0; DIRECT_PASS]; 2];
        let mut count = [0usize; DIRECT_PASS];
        for start in (0..lower.len()).step_by(DIRECT_PASS) {
            let end = (start + DIRECT_PASS).min(lower.len());
            let m = end - start;
            for (j, pair) in self.recent[1..].iter().enumerate() {
                (ext[0][j], ext[1][j]) = (pair[0], pair[1]);
            }
            ext[0][w - 1..w - 1 + m].copy_from_slice(&lower[start..end]);
            ext[1][w - 1..w - 1 + m].copy_from_slice(&upper[start..end]);
            sum[0][..m].fill(0.0);
            sum[1][..m].fill(0.0);
            count[..m].fill(0);
            for k in 0..w {
                let (lo, hi) = (&ext[0][k..k + m], &ext[1][k..k + m]);
                let [sum_lo, sum_hi] = &mut sum;
                let sums = sum_lo[..m].iter_mut().zip(&mut sum_hi[..m]);
                for (((s_lo, s_hi), c), (&lo, &hi)) in
                    sums.zip(&mut count[..m]).zip(lo.iter().zip(hi))
                {
                    let ([sum_lo, sum_hi], added) = add_present([*s_lo, *s_hi], [lo, hi]);
                    (*s_lo, *s_hi) = (sum_lo, sum_hi);
                    *c += added;
                }
            }
            for i in 0..m {
                [out_lower[start + i], out_upper[start + i]] =
                    divide([sum[0][i], sum[1][i]], count[i]);
            }
            for (j, pair) in self.recent.iter_mut().enumerate() {
                *pair = [ext[0][m - 1 + j], ext[1][m - 1 + j]];
            }
            self.sums = [sum[0][m - 1], sum[1][m - 1]];
            self.count = count[m - 1];
        }
    }
}

/// Mean of the (lower, upper) pairs over the last `width` positions, skipping
/// missing pairs (pandas' `min_periods=1`).
///
/// Deterministic: the same pushes give bit-identical means, one at a time
/// ([`push_pair`](Self::push_pair)) or a block at a time
/// ([`push_block`](Self::push_block)). Narrow windows are summed from
/// scratch ([`DirectMean`]), wider ones by compensated running sums
/// ([`RunningMean`]). Either way the mean depends on the window's pairs
/// alone, not on where the pushes started (exactly for the narrow ones,
/// to within the compensated sums' far smaller roundings for the wide
/// ones), so a live check over a short lookback reproduces the batch
/// band.
#[derive(Debug, Clone)]
pub(crate) struct PairMean(Sums);

/// How [`PairMean`] sums its windows.
#[derive(Debug, Clone)]
enum Sums {
    Direct(DirectMean),
    Running(RunningMean),
}

impl PairMean {
    pub(crate) fn new(width: usize) -> Self {
        PairMean(if width <= DIRECT_MAX {
            Sums::Direct(DirectMean::new(width))
        } else {
            Sums::Running(RunningMean::new(width))
        })
    }

    /// Pushes the pair at the next position (`None` = missing), evicting the
    /// pair `width` positions back.
    #[inline(always)]
    pub(crate) fn push(&mut self, pair: Option<(f64, f64)>) {
        self.push_pair(pair.map_or([f64::NAN; 2], |(lo, hi)| [lo, hi]));
    }

    /// [`push`](Self::push) with NaN in `new[0]` for a missing pair.
    #[inline(always)]
    pub(crate) fn push_pair(&mut self, new: [f64; 2]) {
        match &mut self.0 {
            Sums::Direct(m) => m.push_pair(new),
            Sums::Running(m) => m.push_pair(new),
        }
    }

    /// [`push_pair`](Self::push_pair) then [`mean`](Self::mean) for each
    /// `(lower[i], upper[i])`, the means into `out_lower` and `out_upper`
    /// (all four the same length), NaN where there is none.
    #[inline(always)]
    pub(crate) fn push_block(
        &mut self,
        lower: &[f64],
        upper: &[f64],
        out_lower: &mut [f64],
        out_upper: &mut [f64],
        scratch: &mut BlockScratch,
    ) {
        let len = lower.len();
        assert!(upper.len() == len && out_lower.len() == len && out_upper.len() == len);
        match &mut self.0 {
            Sums::Direct(m) => m.push_block(lower, upper, out_lower, out_upper),
            Sums::Running(m) => m.push_block(lower, upper, out_lower, out_upper, scratch),
        }
    }

    /// The mean pair, `None` when every pair in the window is missing.
    #[inline(always)]
    pub(crate) fn mean(&self) -> Option<(f64, f64)> {
        let (sums, count) = match &self.0 {
            Sums::Direct(m) => (m.sums, m.count),
            Sums::Running(m) => m.window(),
        };
        let [lo, hi] = divide(sums, count);
        (count > 0).then_some((lo, hi))
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

    /// Pairs with gaps (every 5th missing, and a long missing stretch),
    /// mixed signs and magnitudes.
    fn pairs(len: usize) -> Vec<[f64; 2]> {
        (0..len)
            .map(|i| {
                if i % 5 == 3 || (300..330).contains(&i) {
                    [f64::NAN; 2]
                } else {
                    let x = ((i * 7919) % 1013) as f64 * 1e3 - 4e5 + 0.1;
                    [x, x * 3.0 + 1e6]
                }
            })
            .collect()
    }

    #[test]
    fn blocks_of_pushes_give_the_bits_of_single_pushes() {
        let input = pairs(2000);
        let (lower, upper): (Vec<f64>, Vec<f64>) = input.iter().map(|p| (p[0], p[1])).unzip();
        let mut scratch = BlockScratch::new();
        // Narrow (summed directly) and wide (running sums) windows.
        for width in [1usize, 2, 3, 7, 8, 9, 49, 337] {
            let mut one = PairMean::new(width);
            let single: Vec<Option<(u64, u64)>> = input
                .iter()
                .map(|&p| {
                    one.push_pair(p);
                    one.mean().map(|(lo, hi)| (lo.to_bits(), hi.to_bits()))
                })
                .collect();
            let mut many = PairMean::new(width);
            let (mut out_lo, mut out_hi) = (vec![0.0; input.len()], vec![0.0; input.len()]);
            let mut at = 0;
            for len in [1usize, 17, 512, 300, 2, 600].into_iter().cycle() {
                let end = (at + len).min(input.len());
                many.push_block(
                    &lower[at..end],
                    &upper[at..end],
                    &mut out_lo[at..end],
                    &mut out_hi[at..end],
                    &mut scratch,
                );
                at = end;
                if at == input.len() {
                    break;
                }
            }
            let batch: Vec<Option<(u64, u64)>> = out_lo
                .iter()
                .zip(&out_hi)
                .map(|(lo, hi)| (!lo.is_nan()).then(|| (lo.to_bits(), hi.to_bits())))
                .collect();
            assert_eq!(batch, single, "width {width}");
            // And the means are the windows' means.
            for (t, got) in single.iter().enumerate() {
                let window = &input[(t + 1).saturating_sub(width)..=t];
                let present: Vec<&[f64; 2]> = window.iter().filter(|p| !p[0].is_nan()).collect();
                let Some((lo, hi)) = got.map(|(lo, hi)| (f64::from_bits(lo), f64::from_bits(hi)))
                else {
                    assert!(present.is_empty(), "width {width} t {t}");
                    continue;
                };
                let c = present.len() as f64;
                let want_lo = present.iter().map(|p| p[0]).sum::<f64>() / c;
                let want_hi = present.iter().map(|p| p[1]).sum::<f64>() / c;
                assert!((lo - want_lo).abs() <= 1e-9 * 4e5, "width {width} t {t}");
                assert!((hi - want_hi).abs() <= 1e-9 * 1e6, "width {width} t {t}");
            }
        }
    }

    #[test]
    fn narrow_means_depend_on_the_window_alone() {
        // A live check starts from a short lookback: the same window must
        // give the same bits whatever came before it.
        let input = pairs(400);
        for width in [2usize, 5, 8] {
            let mut full = PairMean::new(width);
            for &p in &input {
                full.push_pair(p);
            }
            let mut tail = PairMean::new(width);
            for &p in &input[input.len() - width..] {
                tail.push_pair(p);
            }
            let bits = |m: &PairMean| m.mean().map(|(lo, hi)| (lo.to_bits(), hi.to_bits()));
            assert_eq!(bits(&tail), bits(&full), "width {width}");
        }
    }

    #[test]
    fn pair_mean_does_not_drift() {
        for width in [7, 50] {
            pair_mean_does_not_drift_at(width);
        }
    }

    fn pair_mean_does_not_drift_at(width: usize) {
        let mut m = PairMean::new(width);
        let mut naive = Vec::new();
        for i in 0..10_000u32 {
            let x = ((i * 7919) % 1000) as f64 * 1e6 + 0.1;
            m.push(Some((x, -x)));
            naive.push(x);
            let w = &naive[naive.len().saturating_sub(width)..];
            let expect = w.iter().sum::<f64>() / w.len() as f64;
            let (lo, hi) = m.mean().unwrap();
            assert!((lo - expect).abs() <= 1e-9 * expect.abs());
            assert!((hi + expect).abs() <= 1e-9 * expect.abs());
        }
    }
}
