//! The IQR rule's order-statistics providers: a rolling window for the
//! incremental state ([`Live`]), batch rank iterators ([`Blocks`]), and the
//! causal pipeline's per-block raw bands ([`RawSource`]: [`Sequential`],
//! [`BlocksRaw`], the sorting [`Network`]s).

use super::window::{sort_network, OrderStatistics, QuantilePos, RankColumns, RollingWindow};
#[cfg(test)]
use super::window::{SortedArray, SortedBlocks, TrackedRanks};
use crate::detectors::iqr::{RankSource, Ranks, Raw, Rule};

/// A rolling window over an [`OrderStatistics`]: O(1) memory per value
/// held, works one value at a time (the incremental state).
#[derive(Debug, Clone)]
pub(crate) struct Live<W> {
    pub(crate) window: RollingWindow<W>,
    pub(crate) ranks: [usize; 3],
}

impl<W: OrderStatistics> Live<W> {
    pub(crate) fn new(n: usize, pos: &[QuantilePos; 3]) -> Self {
        Live {
            window: RollingWindow::new(n),
            ranks: pos.map(|q| q.rank()),
        }
    }
}

impl<W: OrderStatistics> RankSource for Live<W> {
    #[inline]
    fn push(&mut self, x: f64) -> Option<Ranks> {
        // `+ 0.0` turns -0.0 into 0.0 (as SortedBlocks does).
        self.window.push(x + 0.0);
        if !self.window.is_full() {
            return None;
        }
        let s = self.window.stats();
        let at = |k: usize| s.select(k).unwrap_or(f64::NAN);
        let [k0, k1, k2] = self.ranks;
        Some([
            (at(k0), at(k0 + 1)),
            (at(k1), at(k1 + 1)),
            (at(k2), at(k2 + 1)),
        ])
    }
}

/// A batch order-statistics iterator over the observed values of a whole
/// series: [`SortedBlocks`] or, for mid-size windows, [`SortedArray`].
pub(crate) struct Blocks<I> {
    pub(crate) blocks: I,
    /// Observed values still to come before the first full window.
    pub(crate) fill: usize,
}

// Each source on its own, for the tests (runs go through `run_ranks`).
#[cfg(test)]
impl<'a> Blocks<SortedBlocks<'a, 3>> {
    pub(crate) fn new(observed: &'a [f64], n: usize, pos: &[QuantilePos; 3]) -> Self {
        Blocks {
            blocks: SortedBlocks::new(observed, n, pos.map(|q| q.rank())),
            fill: n - 1,
        }
    }
}

// Each source on its own, for the tests (runs go through `run_ranks`).
#[cfg(test)]
impl<'a> Blocks<TrackedRanks<'a, 3>> {
    pub(crate) fn tracked(observed: &'a [f64], n: usize, pos: &[QuantilePos; 3]) -> Self {
        Blocks {
            blocks: TrackedRanks::new(observed, n, pos.map(|q| q.rank())),
            fill: n - 1,
        }
    }
}

// Each source on its own, for the tests (runs go through `run_ranks`).
#[cfg(test)]
impl<'a> Blocks<SortedArray<'a, 3>> {
    /// With `simd` false, the portable pass even where AVX2 is available;
    /// with `narrow` false, `f64` lanes even where every value is an `f32`
    /// (tests: the same bits).
    pub(crate) fn array(
        observed: &'a [f64],
        n: usize,
        pos: &[QuantilePos; 3],
        simd: bool,
        narrow: bool,
    ) -> Self {
        Blocks {
            blocks: SortedArray::with_simd(observed, n, pos.map(|q| q.rank()), simd, narrow),
            fill: n - 1,
        }
    }
}

impl<I: Iterator<Item = Ranks>> RankSource for Blocks<I> {
    #[inline]
    fn push(&mut self, _x: f64) -> Option<Ranks> {
        if self.fill > 0 {
            self.fill -= 1;
            return None;
        }
        self.blocks.next()
    }
}

/// Buckets per block of the causal batch pipeline ([`run_blocks`]): its
/// scratch columns (about 80 KB with the smoothing's, on the stack) stay in
/// L1/L2. 512 measured 2-4 % faster than 256 at n = 5, 96 and 672.
pub(crate) const CHUNK: usize = 512;

/// The raw bands of one block of buckets, NaN where there is none.
pub(crate) struct RawCols {
    pub(crate) lower: [f64; CHUNK],
    pub(crate) upper: [f64; CHUNK],
    pub(crate) median: [f64; CHUNK],
    pub(crate) iqr: [f64; CHUNK],
}

impl RawCols {
    /// No band anywhere.
    pub(crate) const NONE: RawCols = RawCols {
        lower: [f64::NAN; CHUNK],
        upper: [f64::NAN; CHUNK],
        median: [f64::NAN; CHUNK],
        iqr: [f64::NAN; CHUNK],
    };

    /// The first `len` bands of `other`.
    #[inline(always)]
    pub(crate) fn copy_from(&mut self, other: &RawCols, len: usize) {
        self.lower[..len].copy_from_slice(&other.lower[..len]);
        self.upper[..len].copy_from_slice(&other.upper[..len]);
        self.median[..len].copy_from_slice(&other.median[..len]);
        self.iqr[..len].copy_from_slice(&other.iqr[..len]);
    }

    #[inline(always)]
    pub(crate) fn set(&mut self, i: usize, r: Raw) {
        self.lower[i] = r.lower;
        self.upper[i] = r.upper;
        self.median[i] = r.median;
        self.iqr[i] = r.iqr;
    }
}

/// Where the causal batch pipeline gets each bucket's raw band from, a
/// block of buckets at a time.
pub(crate) trait RawSource {
    /// The raw bands of the next `values.len()` (`<= CHUNK`) buckets (the
    /// band of a bucket is from the observations before it) into
    /// `raw[..values.len()]`.
    fn fill(&mut self, values: &[f64], raw: &mut RawCols);
}

/// Any [`RankSource`], one bucket at a time: exactly [`Rule::step`].
pub(crate) struct Sequential<S> {
    pub(crate) src: S,
    pub(crate) a: f64,
    pub(crate) pos: [QuantilePos; 3],
    pub(crate) next: Raw,
}

impl<S: RankSource> Sequential<S> {
    pub(crate) fn new(src: S, rule: &Rule) -> Self {
        Sequential {
            src,
            a: rule.a,
            pos: rule.pos,
            next: Raw::NONE,
        }
    }
}

impl<S: RankSource> RawSource for Sequential<S> {
    #[inline(always)]
    fn fill(&mut self, values: &[f64], raw: &mut RawCols) {
        for (i, &x) in values.iter().enumerate().take(CHUNK) {
            raw.set(i, self.next);
            if x.is_finite() {
                if let Some(r) = self.src.push(x) {
                    self.next = Raw::from_ranks(self.a, &self.pos, &r);
                }
            }
        }
    }
}

/// [`Blocks`] for the causal pipeline: a gap-free block of buckets past
/// the first window reads its ranks in one tight loop and turns them into
/// bands in a vectorisable pass ([`Raw::from_ranks`], as
/// [`Sequential`] does one bucket at a time); any other block goes through
/// [`Sequential`].
pub(crate) struct BlocksRaw<I> {
    pub(crate) seq: Sequential<Blocks<I>>,
    /// Per bucket of the block, the values at ranks `k` and `k + 1` of each
    /// quantile's rank `k` (q25, q50, q75).
    pub(crate) lo: [[f64; CHUNK]; 3],
    pub(crate) hi: [[f64; CHUNK]; 3],
}

impl<I: RankColumns<3>> BlocksRaw<I> {
    pub(crate) fn new(src: Blocks<I>, rule: &Rule) -> Self {
        BlocksRaw {
            seq: Sequential::new(src, rule),
            lo: [[0.0; CHUNK]; 3],
            hi: [[0.0; CHUNK]; 3],
        }
    }
}

impl<I: RankColumns<3>> RawSource for BlocksRaw<I> {
    #[inline(always)]
    fn fill(&mut self, values: &[f64], raw: &mut RawCols) {
        let len = values.len().min(CHUNK);
        if len == 0 || self.seq.src.fill > 0 || !all_finite(values) {
            return self.seq.fill(values, raw);
        }
        // One window per observed value from here on: never short.
        let filled = self
            .seq
            .src
            .blocks
            .fill_columns(&mut self.lo, &mut self.hi, len);
        for (lo, hi) in self.lo.iter_mut().zip(&mut self.hi) {
            lo[filled..len].fill(f64::NAN);
            hi[filled..len].fill(f64::NAN);
        }
        let (a, pos) = (self.seq.a, self.seq.pos);
        let ranks = |i: usize| {
            let (lo, hi) = (&self.lo, &self.hi);
            [
                (lo[0][i], hi[0][i]),
                (lo[1][i], hi[1][i]),
                (lo[2][i], hi[2][i]),
            ]
        };
        // Bucket i's band is from the window that ends just before it.
        raw.set(0, self.seq.next);
        for i in 1..len {
            raw.set(i, Raw::from_ranks(a, &pos, &ranks(i - 1)));
        }
        self.seq.next = Raw::from_ranks(a, &pos, &ranks(len - 1));
    }
}

/// Windows of `N` (at most [`NETWORK_MAX`](crate::window::NETWORK_MAX))
/// observations, each sorted from scratch by a sorting network: no state
/// carried from one window to the next, so a block of gap-free buckets is
/// one loop of independent windows, which the compiler vectorises. Same
/// order statistics as any other source, hence bit-identical bands.
pub(crate) struct Network<'a, const N: usize> {
    /// The observed values of the whole series (gaps compacted away).
    pub(crate) observed: &'a [f64],
    /// Observed values before the next bucket.
    pub(crate) seen: usize,
    pub(crate) a: f64,
    pub(crate) pos: [QuantilePos; 3],
}

impl<'a, const N: usize> Network<'a, N> {
    /// Ranks of q25, q50 and q75 among `N` values ([`QuantilePos::rank`]:
    /// `floor(q * (N - 1))`, exact in integers).
    pub(crate) const RANKS: [usize; 3] = [(N - 1) / 4, (N - 1) / 2, 3 * (N - 1) / 4];

    pub(crate) fn new(observed: &'a [f64], rule: &Rule) -> Self {
        debug_assert_eq!(Self::RANKS, rule.pos.map(|q| q.rank()));
        Network {
            observed,
            seen: 0,
            a: rule.a,
            pos: rule.pos,
        }
    }

    /// The raw band of one full window.
    #[inline(always)]
    pub(crate) fn band(&self, w: &[f64; N]) -> Raw {
        // `+ 0.0` turns -0.0 into 0.0 (as every other source does).
        let mut v = w.map(|x| x + 0.0);
        sort_network(&mut v);
        let [k0, k1, k2] = Self::RANKS;
        let ranks = [(v[k0], v[k0 + 1]), (v[k1], v[k1 + 1]), (v[k2], v[k2 + 1])];
        Raw::from_ranks(self.a, &self.pos, &ranks)
    }
}

impl<const N: usize> RawSource for Network<'_, N> {
    #[inline(always)]
    fn fill(&mut self, values: &[f64], raw: &mut RawCols) {
        let len = values.len().min(CHUNK);
        let seen = self.seen;
        if seen >= N && all_finite(values) {
            // Bucket i's window is observed[seen + i - N..seen + i].
            let obs = &self.observed[seen - N..seen + len - 1];
            for i in 0..len {
                let w: &[f64; N] = obs[i..i + N].try_into().expect("N values");
                raw.set(i, self.band(w));
            }
            self.seen += len;
            return;
        }
        for (i, &x) in values.iter().enumerate().take(len) {
            let r = match self.seen.checked_sub(N) {
                Some(from) => {
                    let w: &[f64; N] = self.observed[from..self.seen].try_into().expect("N values");
                    self.band(w)
                }
                None => Raw::NONE,
            };
            raw.set(i, r);
            if x.is_finite() {
                self.seen += 1;
            }
        }
    }
}

/// True when no value is a gap: a branch-free pass per 64 values (which
/// vectorises), not a branch per value.
#[inline(always)]
pub(crate) fn all_finite(values: &[f64]) -> bool {
    values
        .chunks(64)
        .all(|c| c.iter().fold(true, |ok, x| ok & x.is_finite()))
}
