//! Rolling order statistics: the window of the last `n` observations and
//! the structures that answer "k-th smallest" over it.
//!
//! Two implementations of [`OrderStatistics`]:
//!
//! * [`SortedVec`]: a sorted contiguous array. Insert/remove are a binary
//!   search (O(log n) comparisons) plus one `memmove` of up to `n` elements,
//!   so O(n) moves per update but with a tiny constant (a few hundred bytes
//!   to a few KB of contiguous memory); select is O(1). Fastest for the window
//!   sizes used in practice (a day of 15-minute buckets is 96, a week 672).
//! * [`Treap`]: an arena-allocated treap with subtree sizes. Insert, remove and
//!   select are O(log n) expected (random priorities from a fixed-seed PRNG,
//!   so runs are deterministic), with worse constants: pointer chasing and
//!   cache misses. Used for windows of at least [`TREE_THRESHOLD`] values.
//!
//! For batch runs over a whole history, [`SortedBlocks`] answers fixed ranks
//! for every window of a slice in O(log n) amortised per window (sorted
//! blocks and linked lists, after Suomela 2014); it needs the whole input up
//! front, so it is not an [`OrderStatistics`]. For mid-size windows,
//! [`SortedArray`] answers the same from one sorted array updated by a
//! branch-free SIMD pass per window (O(n) work, few instructions per value).
//! For long ones, [`TrackedRanks`] follows each rank inside a short sorted
//! slice of the window (O(1) per window while the quantiles move slowly,
//! as over whole days of a metric) and hands over to the blocks when they
//! drift.
//!
//! A rolling update (evict the oldest, add the newest) is one
//! [`OrderStatistics::replace`]; quantiles then cost 2 selects each. Nothing is
//! re-sorted per window and nothing is allocated per point once the window is
//! full.

mod array;
mod blocks;
mod network;
#[cfg(test)]
mod reference;
mod sorted;
mod tracked;
mod treap;

pub(crate) use array::exact_in_f32;
pub use array::SortedArray;
pub use blocks::SortedBlocks;
pub(crate) use network::{sort as sort_network, NETWORK_MAX};
pub use sorted::SortedVec;
pub use tracked::TrackedRanks;
pub use treap::Treap;

/// A batch rank iterator (per window, per rank `k`, the values at sorted
/// ranks `k` and `k + 1`) that can also write a run of windows straight
/// into columns, as the batch pipelines read them. The default takes the
/// windows one [`Iterator::next`] at a time; [`TrackedRanks`] overrides it
/// to keep its per-window state in registers over the run.
pub trait RankColumns<const R: usize>: Iterator<Item = [(f64, f64); R]> {
    /// Writes the next `len` (at most `M`) windows into `lo[r][i]` and
    /// `hi[r][i]` (rank `r` of window `i`); returns how many there were
    /// (fewer than `len` only when the windows ran out).
    #[inline(always)]
    fn fill_columns<const M: usize>(
        &mut self,
        lo: &mut [[f64; M]; R],
        hi: &mut [[f64; M]; R],
        len: usize,
    ) -> usize {
        let len = len.min(M);
        for i in 0..len {
            let Some(ranks) = self.next() else {
                return i;
            };
            put_column(lo, hi, i, ranks);
        }
        len
    }
}

/// Writes one window's ranks into column `i` of `lo` and `hi`.
#[inline(always)]
pub(super) fn put_column<const M: usize, const R: usize>(
    lo: &mut [[f64; M]; R],
    hi: &mut [[f64; M]; R],
    i: usize,
    ranks: [(f64, f64); R],
) {
    for ((lo, hi), (a, b)) in lo.iter_mut().zip(hi.iter_mut()).zip(ranks) {
        (lo[i], hi[i]) = (a, b);
    }
}

impl<const R: usize> RankColumns<R> for SortedBlocks<'_, R> {}

/// Window length from which the rolling window uses the [`Treap`] instead of
/// the [`SortedVec`]. Chosen by benchmark (`cargo bench -p detect -- window`,
/// rolling update + 2 quantile reads, 2-core x86-64): the sorted array wins
/// up to 8192 values (2.4 vs 1.7 M updates/s there, 10.4 vs 2.4 at 96) and
/// loses at 32768 (0.88 vs 1.4), so the crossover is in between.
pub const TREE_THRESHOLD: usize = 16384;

/// A multiset of finite floats answering k-th smallest queries.
///
/// NaN is never stored: inserting NaN is a no-op and removing it returns
/// false. `-0.0` and `0.0` compare equal.
pub trait OrderStatistics {
    /// An empty structure expecting about `capacity` values.
    fn with_capacity(capacity: usize) -> Self
    where
        Self: Sized;
    /// Adds one copy of `x`.
    fn insert(&mut self, x: f64);
    /// Removes one copy of `x`; false when absent.
    fn remove(&mut self, x: f64) -> bool;
    /// The `k`-th smallest value (0-based), `None` when `k >= len`.
    fn select(&self, k: usize) -> Option<f64>;
    /// Number of values stored.
    fn len(&self) -> usize;
    /// True when nothing is stored.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Removes everything (keeps the allocation).
    fn clear(&mut self);
    /// Removes one copy of `old` (if present) and adds `new`.
    fn replace(&mut self, old: f64, new: f64) {
        self.remove(old);
        self.insert(new);
    }
}

/// Linear interpolation of quantile `q` over `m` sorted values, as numpy's
/// and pandas' default: `h = q * (m - 1)`, `x[floor h] + (h - floor h) *
/// (x[floor h + 1] - x[floor h])`, with the same operation order as pandas'
/// `roll_quantile` so results match it bit for bit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantilePos {
    idx: usize,
    frac: f64,
}

impl QuantilePos {
    /// Position of quantile `q` (in `[0, 1]`) among `m >= 1` values.
    pub fn new(q: f64, m: usize) -> Self {
        let h = q * (m.saturating_sub(1)) as f64;
        let idx = h as usize;
        QuantilePos {
            idx: idx.min(m.saturating_sub(1)),
            frac: h - idx as f64,
        }
    }

    /// The 0-based rank of the lower of the two values interpolated
    /// (`floor h`); the upper one is the next rank.
    #[inline]
    pub fn rank(&self) -> usize {
        self.idx
    }

    /// The quantile from the values at ranks [`rank`](Self::rank) (`lo`) and
    /// `rank + 1` (`hi`; unused when `h` is whole). Every reader goes
    /// through here, so all order-statistic structures give bit-identical
    /// quantiles.
    #[inline]
    pub fn interpolate(&self, lo: f64, hi: f64) -> f64 {
        if self.frac == 0.0 {
            lo
        } else {
            lo + (hi - lo) * self.frac
        }
    }

    /// The quantile read from `stats` (`None` when it holds too few values).
    #[inline]
    pub fn read<W: OrderStatistics + ?Sized>(&self, stats: &W) -> Option<f64> {
        let lo = stats.select(self.idx)?;
        if self.frac == 0.0 {
            return Some(lo);
        }
        let hi = stats.select(self.idx + 1)?;
        Some(self.interpolate(lo, hi))
    }

    /// The quantile of an already sorted slice.
    #[inline]
    pub fn read_sorted(&self, sorted: &[f64]) -> Option<f64> {
        let lo = *sorted.get(self.idx)?;
        if self.frac == 0.0 {
            return Some(lo);
        }
        let hi = *sorted.get(self.idx + 1)?;
        Some(self.interpolate(lo, hi))
    }
}

/// The last `n` observations in arrival order plus their order statistics.
#[derive(Debug, Clone)]
pub struct RollingWindow<W> {
    n: usize,
    /// Ring buffer of the observations, oldest at `head` once full.
    fifo: Vec<f64>,
    head: usize,
    stats: W,
}

impl<W: OrderStatistics> RollingWindow<W> {
    /// An empty window of length `n` (>= 1). Memory grows with the
    /// observations, up to `n` values.
    pub fn new(n: usize) -> Self {
        let n = n.max(1);
        let cap = n.min(4096);
        RollingWindow {
            n,
            fifo: Vec::with_capacity(cap),
            head: 0,
            stats: W::with_capacity(cap),
        }
    }

    /// Adds an observation (must be finite), evicting the oldest once `n`
    /// are held.
    #[inline]
    pub fn push(&mut self, x: f64) {
        debug_assert!(x.is_finite());
        if self.fifo.len() < self.n {
            self.fifo.push(x);
            self.stats.insert(x);
        } else {
            let old = core::mem::replace(&mut self.fifo[self.head], x);
            self.head += 1;
            if self.head == self.n {
                self.head = 0;
            }
            self.stats.replace(old, x);
        }
    }

    /// True once `n` observations are held.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.fifo.len() == self.n
    }

    /// Number of observations held.
    pub fn len(&self) -> usize {
        self.fifo.len()
    }

    /// True when nothing has been observed.
    pub fn is_empty(&self) -> bool {
        self.fifo.is_empty()
    }

    /// The order statistics of the window.
    #[inline]
    pub fn stats(&self) -> &W {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_positions_match_numpy_linear() {
        let xs = [1.0, 2.0, 4.0, 8.0, 16.0];
        let q = |p: f64| QuantilePos::new(p, xs.len()).read_sorted(&xs).unwrap();
        assert_eq!(q(0.25), 2.0);
        assert_eq!(q(0.5), 4.0);
        assert_eq!(q(0.75), 8.0);
        let ys = [1.0, 3.0];
        assert_eq!(QuantilePos::new(0.25, 2).read_sorted(&ys), Some(1.5));
        assert_eq!(QuantilePos::new(0.75, 2).read_sorted(&ys), Some(2.5));
        let zs = [0.0, 10.0, 20.0, 30.0];
        assert_eq!(QuantilePos::new(0.25, 4).read_sorted(&zs), Some(7.5));
        assert_eq!(QuantilePos::new(0.5, 4).read_sorted(&zs), Some(15.0));
        assert_eq!(QuantilePos::new(0.5, 1).read_sorted(&[3.0]), Some(3.0));
    }

    #[test]
    fn rolling_window_keeps_last_n() {
        let mut w: RollingWindow<SortedVec> = RollingWindow::new(3);
        for x in [5.0, 1.0, 3.0, 2.0] {
            w.push(x);
        }
        assert!(w.is_full());
        let got: Vec<f64> = (0..3).filter_map(|k| w.stats().select(k)).collect();
        assert_eq!(got, vec![1.0, 2.0, 3.0]);
    }
}
