//! The rolling-IQR rule, as the seed pandas rule users know:
//!
//! ```text
//! q25 = s.shift(1).rolling(n).quantile(0.25); q75 = s.shift(1).rolling(n).quantile(0.75)
//! iqr = q75 - q25; up = q75 + a*iqr; low = q25 - a*iqr
//! up = up.rolling(n, center=True, min_periods=1).mean(); low likewise
//! alert when value < low or value > up
//! ```
//!
//! * Quantiles are numpy/pandas `linear` quantiles of the `n` most recent
//!   **observed** values strictly before `t`; no band until `n` exist.
//! * Gaps (deviation from the seed, which blanks the band for `n` buckets
//!   after a missing one): missing buckets are skipped, not counted. A missing
//!   point still gets the band (charts show it) but is never anomalous, score
//!   0. Without gaps this is exactly the seed.
//! * Smoothing ([`Smoothing`]) of the raw bounds is over positions:
//!   `asof` (default) = mean over `[t - n/2, t]`, `centered` = the seed's
//!   centered mean over `[t - n/2, t + (n-1)/2]` (batch only), `none` = raw.
//! * `expected` is the window median; `score` is the distance beyond the
//!   nearest bound over `max(raw iqr at t, eps)`, `eps = 1e-9 * max(|expected|, 1)`
//!   (see [`Point::assess`]). With `centered`, the first points can have a
//!   smoothed band but no raw window yet; there `expected` is missing and the
//!   spread is the smoothed band width over `1 + 2a`.
//!
//! Cost per point: exact order statistics of the window (the only part that
//! differs between modes), then O(1) for quantiles, smoothing and
//! assessment. Incremental ([`IqrState`]): one rolling-window update, O(n)
//! moves in a sorted array (O(log n) treap from
//! [`TREE_THRESHOLD`]). Batch ([`iqr`], `asof`/`none`): a sorting network
//! per window up to n = 24, then on a CPU with AVX2 for
//! [`NARROW_ARRAY_WINDOWS`] (25..=320, values all exactly `f32`: `f32`
//! lanes) or [`ARRAY_WINDOWS`] (25..=256, `f64` lanes) a [`SortedArray`]
//! (one branch-free SIMD pass over the sorted window per point), else
//! [`SortedBlocks`] (O(log n) amortised); then
//! quantiles, smoothing and assessment over blocks of buckets in
//! vectorised loops; `centered`: [`SortedBlocks`] (or [`SortedArray`] as
//! above) from [`BLOCKS_THRESHOLD`] on, a [`SortedVec`] window below.
//! Output: [`Detection`] columns, 41 bytes per point.

use std::borrow::Cow;
use std::collections::VecDeque;

use super::contract::{count, number, Detector, Knob, Param, Stream, Tunable, Value};
use crate::detection::Detection;
use crate::error::{DetectError, MAX_WINDOW};
use crate::point::Point;
use crate::prefetch;
use crate::series::Series;
use crate::smoothing::{BlockScratch, PairMean, Smoothing};
use crate::window::{
    sort_network, OrderStatistics, QuantilePos, RankColumns, RollingWindow, SortedArray,
    SortedBlocks, SortedVec, TrackedRanks, Treap, NETWORK_MAX, TREE_THRESHOLD,
};

/// Parameters of the IQR rule.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct IqrParams {
    /// Window length: the number of earlier observations the quantiles use (>= 2).
    pub n: usize,
    /// Band width in IQRs beyond the quartiles (finite, >= 0).
    pub a: f64,
    /// Smoothing of the band.
    pub smooth: Smoothing,
}

impl Default for IqrParams {
    fn default() -> Self {
        IqrParams {
            n: 5,
            a: 4.0,
            smooth: Smoothing::AsOf,
        }
    }
}

/// `--a` help of the IQR rules.
pub(crate) const A_HELP: &str = "band width in IQRs beyond the quartiles (>= 0)";
/// The band width knob of the IQR rules.
pub(crate) const A_KNOB: Knob =
    Knob::number("a", "a (band width in IQRs)", 0.0, 10.0, 0.1).searching_to(100.0);

impl Detector for IqrParams {
    const NAME: &'static str = "iqr";
    const DESCRIPTION: &'static str = "IQR band (rolling window)";
    const SUMMARY: &'static str =
        "Rolling interquartile range of the previous n observations (the seed rule)";
    const PARAMS: &'static [Param<Self>] = &[
        count(
            "n",
            "window length, the number of previous observations (>= 2)",
            |p| p.n,
            |p, v| p.n = v,
        ),
        number("a", A_HELP, |p| p.a, |p, v| p.a = v),
        Param {
            key: "smooth",
            help: "smoothing of the band",
            default_note: None,
            value: Value::Smoothing {
                get: |p| p.smooth,
                set: |p, v| p.smooth = v,
            },
        },
    ];
    const KNOBS: &'static [Tunable<Self>] = &[
        A_KNOB.on(|p| p.a, |p, v| p.a = v),
        Knob::count("n", "n (points in the window)", 2.0, 96.0)
            .on(|p| p.n as f64, |p, v| p.n = v as usize),
    ];
    type State = IqrState;

    fn state(&self) -> Result<IqrState, DetectError> {
        IqrState::new(*self)
    }

    /// The batch engines ([`iqr_into`]).
    fn run_into(&self, series: &Series, out: &mut Detection) -> Result<(), DetectError> {
        iqr_into(series, self, out)
    }

    /// Points before the evaluated one that its band depends on, on a series
    /// without gaps: the window of `n` values for each raw bound, and for `asof`
    /// the `floor(n/2)` earlier raw bounds that are averaged with it.
    /// (`centered` looks into the future; a live check cannot use it.)
    fn lookback(&self) -> usize {
        match self.smooth {
            Smoothing::AsOf | Smoothing::Centered => self.n + self.n / 2,
            Smoothing::None => self.n,
        }
    }

    /// Checks `2 <= n <= MAX_WINDOW` and `a` finite and `>= 0`.
    fn validate(&self) -> Result<(), DetectError> {
        if self.n < 2 {
            return Err(DetectError::WindowTooSmall(self.n));
        }
        if self.n > MAX_WINDOW {
            return Err(DetectError::WindowTooLarge(self.n));
        }
        if !(self.a.is_finite() && self.a >= 0.0) {
            return Err(DetectError::InvalidMultiplier(self.a));
        }
        Ok(())
    }
}

/// Raw (unsmoothed) band from one full window.
#[derive(Debug, Clone, Copy)]
struct Raw {
    lower: f64,
    upper: f64,
    median: f64,
    iqr: f64,
}

impl Raw {
    /// No band (NaN everywhere, as the batch columns store "missing").
    const NONE: Raw = Raw {
        lower: f64::NAN,
        upper: f64::NAN,
        median: f64::NAN,
        iqr: f64::NAN,
    };

    /// The raw band from a full window's ranks: quantiles, then the bounds.
    #[inline(always)]
    fn from_ranks(a: f64, pos: &[QuantilePos; 3], r: &Ranks) -> Raw {
        let [p25, p50, p75] = pos;
        let q25 = p25.interpolate(r[0].0, r[0].1);
        let median = p50.interpolate(r[1].0, r[1].1);
        let q75 = p75.interpolate(r[2].0, r[2].1);
        let iqr = q75 - q25;
        Raw {
            lower: q25 - a * iqr,
            upper: q75 + a * iqr,
            median,
            iqr,
        }
    }
}

/// The order statistics of one full window that the rule reads: for q25,
/// q50 and q75, the values at ranks [`QuantilePos::rank`] and the next.
type Ranks = [(f64, f64); 3];

/// Where the rule gets each full window's [`Ranks`] from: the only part
/// that differs between the incremental state and batch runs. Every
/// provider returns exact order statistics (`-0.0` read as `0.0`), so
/// everything downstream is bit-identical whichever one runs.
trait RankSource {
    /// Takes the next observed value (finite) into the window; the window's
    /// ranks once it holds `n` values.
    fn push(&mut self, x: f64) -> Option<Ranks>;
}

/// A rolling window over an [`OrderStatistics`]: O(1) memory per value
/// held, works one value at a time (the incremental state).
#[derive(Debug, Clone)]
struct Live<W> {
    window: RollingWindow<W>,
    ranks: [usize; 3],
}

impl<W: OrderStatistics> Live<W> {
    fn new(n: usize, pos: &[QuantilePos; 3]) -> Self {
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
struct Blocks<I> {
    blocks: I,
    /// Observed values still to come before the first full window.
    fill: usize,
}

// Each source on its own, for the tests (runs go through `run_ranks`).
#[cfg(test)]
impl<'a> Blocks<SortedBlocks<'a, 3>> {
    fn new(observed: &'a [f64], n: usize, pos: &[QuantilePos; 3]) -> Self {
        Blocks {
            blocks: SortedBlocks::new(observed, n, pos.map(|q| q.rank())),
            fill: n - 1,
        }
    }
}

// Each source on its own, for the tests (runs go through `run_ranks`).
#[cfg(test)]
impl<'a> Blocks<TrackedRanks<'a, 3>> {
    fn tracked(observed: &'a [f64], n: usize, pos: &[QuantilePos; 3]) -> Self {
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
    fn array(
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

/// Everything after the order statistics, shared by batch and incremental
/// modes: quantiles, raw band, smoothing, assessment.
#[derive(Debug, Clone)]
struct Rule {
    a: f64,
    smooth: Smoothing,
    /// q25, q50, q75.
    pos: [QuantilePos; 3],
    /// Raw band from the observations so far: the band of the next point.
    next: Option<Raw>,
    /// Sliding mean of the raw bounds for `asof`.
    mean: PairMean,
}

impl Rule {
    fn new(p: &IqrParams) -> Self {
        let mean_width = match p.smooth {
            Smoothing::AsOf => p.n / 2 + 1,
            _ => 1,
        };
        Rule {
            a: p.a,
            smooth: p.smooth,
            pos: [0.25, 0.5, 0.75].map(|q| QuantilePos::new(q, p.n)),
            next: None,
            mean: PairMean::new(mean_width),
        }
    }

    #[inline(always)]
    fn raw(&self, r: &Ranks) -> Raw {
        Raw::from_ranks(self.a, &self.pos, r)
    }

    /// Advances one bucket: returns the raw band at this bucket (from earlier
    /// observations) and then takes the value into the window.
    #[inline(always)]
    fn step(&mut self, value: Option<f64>, src: &mut impl RankSource) -> Option<Raw> {
        let raw = self.next;
        if let Some(x) = value {
            if let Some(r) = src.push(x) {
                self.next = Some(self.raw(&r));
            }
        }
        raw
    }

    /// Smooths this bucket's raw band and assesses the value against it
    /// (causal modes: `asof` or `none`).
    #[inline(always)]
    fn finish(&mut self, value: Option<f64>, raw: Option<Raw>) -> Point {
        let band = match self.smooth {
            Smoothing::AsOf => {
                self.mean.push(raw.map(|r| (r.lower, r.upper)));
                self.mean.mean()
            }
            // Centered never reaches here (rejected by IqrState::new, batch
            // post-processes); raw bounds are the safe fallback.
            Smoothing::None | Smoothing::Centered => raw.map(|r| (r.lower, r.upper)),
        };
        Point::assess(value, band, raw.map(|r| r.median), raw.map(|r| r.iqr))
    }

    /// One bucket in causal mode: [`step`](Self::step) then
    /// [`finish`](Self::finish).
    #[inline(always)]
    fn push(&mut self, value: Option<f64>, src: &mut impl RankSource) -> Point {
        let raw = self.step(value, src);
        self.finish(value, raw)
    }

    fn run_causal(mut self, values: &[f64], mut src: impl RankSource, out: &mut Detection) {
        out.clear();
        out.reserve(values.len());
        for &x in values {
            out.push(self.push(finite(x), &mut src));
        }
    }

    /// The seed's centered smoothing: the point at `t` is emitted once the
    /// raw bands up to `t + (n-1)/2` are known; the raw bands in between wait
    /// in a small queue (O(n) memory, not O(len)).
    fn run_centered(
        mut self,
        values: &[f64],
        mut src: impl RankSource,
        n: usize,
        out: &mut Detection,
    ) {
        let a = self.a;
        let ahead = (n - 1) / 2;
        let mut mean = PairMean::new(n);
        let mut pending: VecDeque<Option<Raw>> =
            VecDeque::with_capacity((ahead + 1).min(values.len()));
        out.clear();
        out.reserve(values.len());
        for j in 0..values.len() + ahead {
            let raw_j = match values.get(j) {
                Some(&x) => {
                    let raw = self.step(finite(x), &mut src);
                    pending.push_back(raw);
                    raw
                }
                None => None,
            };
            mean.push(raw_j.map(|r| (r.lower, r.upper)));
            let Some(t) = j.checked_sub(ahead) else {
                continue;
            };
            // t <= j < len + ahead, so t < len and raw t was queued.
            let (Some(raw), Some(&x)) = (pending.pop_front(), values.get(t)) else {
                continue;
            };
            let band = mean.mean();
            let spread = match raw {
                Some(r) => Some(r.iqr),
                None => band.map(|(lo, hi)| (hi - lo) / (1.0 + 2.0 * a)),
            };
            out.push(Point::assess(
                finite(x),
                band,
                raw.map(|r| r.median),
                spread,
            ));
        }
    }

    /// Runs over a whole series with the given provider.
    fn run(self, values: &[f64], src: impl RankSource, n: usize, out: &mut Detection) {
        if self.smooth == Smoothing::Centered {
            self.run_centered(values, src, n, out)
        } else {
            self.run_causal(values, src, out)
        }
    }
}

/// Buckets per block of the causal batch pipeline ([`run_blocks`]): its
/// scratch columns (about 80 KB with the smoothing's, on the stack) stay in
/// L1/L2. 512 measured 2-4 % faster than 256 at n = 5, 96 and 672.
const CHUNK: usize = 512;

/// The raw bands of one block of buckets, NaN where there is none.
struct RawCols {
    lower: [f64; CHUNK],
    upper: [f64; CHUNK],
    median: [f64; CHUNK],
    iqr: [f64; CHUNK],
}

impl RawCols {
    /// No band anywhere.
    const NONE: RawCols = RawCols {
        lower: [f64::NAN; CHUNK],
        upper: [f64::NAN; CHUNK],
        median: [f64::NAN; CHUNK],
        iqr: [f64::NAN; CHUNK],
    };

    /// The first `len` bands of `other`.
    #[inline(always)]
    fn copy_from(&mut self, other: &RawCols, len: usize) {
        self.lower[..len].copy_from_slice(&other.lower[..len]);
        self.upper[..len].copy_from_slice(&other.upper[..len]);
        self.median[..len].copy_from_slice(&other.median[..len]);
        self.iqr[..len].copy_from_slice(&other.iqr[..len]);
    }

    #[inline(always)]
    fn set(&mut self, i: usize, r: Raw) {
        self.lower[i] = r.lower;
        self.upper[i] = r.upper;
        self.median[i] = r.median;
        self.iqr[i] = r.iqr;
    }
}

/// Where the causal batch pipeline gets each bucket's raw band from, a
/// block of buckets at a time.
trait RawSource {
    /// The raw bands of the next `values.len()` (`<= CHUNK`) buckets (the
    /// band of a bucket is from the observations before it) into
    /// `raw[..values.len()]`.
    fn fill(&mut self, values: &[f64], raw: &mut RawCols);
}

/// Any [`RankSource`], one bucket at a time: exactly [`Rule::step`].
struct Sequential<S> {
    src: S,
    a: f64,
    pos: [QuantilePos; 3],
    next: Raw,
}

impl<S: RankSource> Sequential<S> {
    fn new(src: S, rule: &Rule) -> Self {
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
struct BlocksRaw<I> {
    seq: Sequential<Blocks<I>>,
    /// Per bucket of the block, the values at ranks `k` and `k + 1` of each
    /// quantile's rank `k` (q25, q50, q75).
    lo: [[f64; CHUNK]; 3],
    hi: [[f64; CHUNK]; 3],
}

impl<I: RankColumns<3>> BlocksRaw<I> {
    fn new(src: Blocks<I>, rule: &Rule) -> Self {
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
struct Network<'a, const N: usize> {
    /// The observed values of the whole series (gaps compacted away).
    observed: &'a [f64],
    /// Observed values before the next bucket.
    seen: usize,
    a: f64,
    pos: [QuantilePos; 3],
}

impl<'a, const N: usize> Network<'a, N> {
    /// Ranks of q25, q50 and q75 among `N` values ([`QuantilePos::rank`]:
    /// `floor(q * (N - 1))`, exact in integers).
    const RANKS: [usize; 3] = [(N - 1) / 4, (N - 1) / 2, 3 * (N - 1) / 4];

    fn new(observed: &'a [f64], rule: &Rule) -> Self {
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
    fn band(&self, w: &[f64; N]) -> Raw {
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

/// The causal batch pipeline (`asof` or `none`), a block of [`CHUNK`]
/// buckets at a time: raw bands from `src`, then the smoothing
/// ([`PairMean::push_block`], the same steps as [`Rule::finish`]'s pushes),
/// then the assessment straight into `out`'s columns
/// ([`Detection::extend_assessed`], a branch-free loop). Bit for bit what
/// [`Rule::run_causal`] (hence [`IqrState::push`]) gives: the same
/// operations per bucket, regrouped into tight loops over L1-resident
/// columns that the compiler vectorises. On x86-64 the loops are compiled
/// for the widest of AVX-512 and AVX2 the CPU has (checked at run time).
fn run_blocks(rule: &Rule, values: &[f64], src: impl RawSource, out: &mut Detection) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            return unsafe { run_blocks_avx512(rule, values, src, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { run_blocks_avx2(rule, values, src, out) };
        }
    }
    run_blocks_body(rule, values, src, out)
}

/// [`run_blocks`] compiled for AVX-512: its loops over a block vectorise
/// eight lanes wide instead of two. The same operations (Rust never fuses a
/// multiply and an add on its own), so the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn run_blocks_avx512(rule: &Rule, values: &[f64], src: impl RawSource, out: &mut Detection) {
    run_blocks_body(rule, values, src, out)
}

/// [`run_blocks`] compiled for AVX2 (four lanes).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn run_blocks_avx2(rule: &Rule, values: &[f64], src: impl RawSource, out: &mut Detection) {
    run_blocks_body(rule, values, src, out)
}

#[inline(always)]
fn run_blocks_body(rule: &Rule, values: &[f64], mut src: impl RawSource, out: &mut Detection) {
    let mut mean = rule.mean.clone();
    let asof = rule.smooth == Smoothing::AsOf;
    let mut raw = RawCols {
        lower: [0.0; CHUNK],
        upper: [0.0; CHUNK],
        median: [0.0; CHUNK],
        iqr: [0.0; CHUNK],
    };
    let (mut lo, mut hi) = ([0.0; CHUNK], [0.0; CHUNK]);
    let mut scratch = BlockScratch::new();
    out.clear();
    out.reserve(values.len());
    for chunk in values.chunks(CHUNK) {
        let len = chunk.len();
        src.fill(chunk, &mut raw);
        if asof {
            mean.push_block(
                &raw.lower[..len],
                &raw.upper[..len],
                &mut lo[..len],
                &mut hi[..len],
                &mut scratch,
            );
        } else {
            lo[..len].copy_from_slice(&raw.lower[..len]);
            hi[..len].copy_from_slice(&raw.upper[..len]);
        }
        out.extend_assessed(
            chunk,
            &lo[..len],
            &hi[..len],
            &raw.median[..len],
            &raw.iqr[..len],
        );
    }
}

/// True when no value is a gap: a branch-free pass per 64 values (which
/// vectorises), not a branch per value.
#[inline(always)]
fn all_finite(values: &[f64]) -> bool {
    values
        .chunks(64)
        .all(|c| c.iter().fold(true, |ok, x| ok & x.is_finite()))
}

#[inline]
fn finite(x: f64) -> Option<f64> {
    if x.is_finite() {
        Some(x)
    } else {
        None
    }
}

#[derive(Debug, Clone)]
enum Engine {
    Small(Live<SortedVec>),
    Large(Live<Treap>),
}

/// Incremental IQR: push one bucket at a time, get that bucket's point
/// (exactly what the batch [`iqr`] gives for it). Causal smoothings only.
#[derive(Debug, Clone)]
pub struct IqrState {
    params: IqrParams,
    rule: Rule,
    engine: Engine,
}

impl IqrState {
    /// A fresh state. Errors on invalid parameters and on
    /// [`Smoothing::Centered`], which needs future points.
    pub fn new(params: IqrParams) -> Result<Self, DetectError> {
        params.validate()?;
        if !params.smooth.is_causal() {
            return Err(DetectError::SmoothingNeedsFuture(params.smooth));
        }
        let rule = Rule::new(&params);
        let engine = if params.n >= TREE_THRESHOLD {
            Engine::Large(Live::new(params.n, &rule.pos))
        } else {
            Engine::Small(Live::new(params.n, &rule.pos))
        };
        Ok(IqrState {
            params,
            rule,
            engine,
        })
    }

    /// The parameters this state runs with.
    pub fn params(&self) -> &IqrParams {
        &self.params
    }
}

impl Stream for IqrState {
    /// The next bucket's value (`None` or non-finite = gap) -> its point.
    #[inline]
    fn push(&mut self, value: Option<f64>) -> Point {
        let value = value.and_then(finite);
        match &mut self.engine {
            Engine::Small(w) => self.rule.push(value, w),
            Engine::Large(w) => self.rule.push(value, w),
        }
    }
}

/// Window length from which `centered` batch runs use [`SortedBlocks`]
/// rather than a [`SortedVec`] window. Chosen with
/// `examples/iqr_throughput` (1e6 points, buffer reused, M points/s,
/// sorted array vs blocks): n = 8: 34 vs 26, 12: 30 vs 26, 16: 24 vs 26,
/// 24: 20 vs 28. Causal batch runs (`asof`, `none`) sort each window with a
/// sorting network up to n = 24 (140-300 M points/s there) and use
/// [`SortedBlocks`] (or [`SortedArray`], see [`ARRAY_WINDOWS`]) above.
pub const BLOCKS_THRESHOLD: usize = 14;

/// Window lengths for which batch runs take their order statistics from a
/// [`SortedArray`] in `f64` lanes (one branch-free AVX2 pass over the
/// sorted window per point) rather than [`SortedBlocks`], when the CPU has
/// AVX2 and some value is not exactly an `f32` (else
/// [`NARROW_ARRAY_WINDOWS`]). Below, the sorting networks (causal) or the
/// blocks; above, the pass's O(n) work costs more than the blocks' O(log n).
/// Chosen on 1e6 points of a daily cycle plus 0.1 (every mantissa bit
/// varies, as in a ratio like CTR, so the blocks' radix sort takes all its
/// passes), rank sources alone, thread CPU time, best of 15 interleaved
/// runs, 2-core AMD EPYC (Zen 3) with AVX2, ns per window, array vs blocks:
/// n = 32: 16.0 vs 42.0, 96: 17.6 vs 48.5, 160: 40.0 vs 65.5, 192: 30.8
/// vs 43.0, 256: 37.8 vs 50.0, 320: 46.4 vs 50.8, 384: 53.4 vs 41.4.
pub const ARRAY_WINDOWS: std::ops::RangeInclusive<usize> = 25..=256;

/// [`ARRAY_WINDOWS`] for series whose every value is exactly an `f32`
/// (integer counts below 2^24, as most product metrics): the array in `f32`
/// lanes, eight per vector, half the pass. The same measurement on the
/// integer series itself (where the blocks' radix sort is also faster):
/// n = 32: 14.3 vs 43.4, 96: 12.7 vs 30.8, 160: 25.3 vs 48.0, 192: 19.9
/// vs 29.7, 256: 23.7 vs 36.6, 320: 27.4 vs 37.7, 384: 31.6 vs 29.4.
pub const NARROW_ARRAY_WINDOWS: std::ops::RangeInclusive<usize> = 25..=320;

/// Window length from which batch runs that do not use a [`SortedArray`]
/// take their order statistics from [`TrackedRanks`] rather than straight
/// from [`SortedBlocks`] (to which it hands over when the window's
/// quantiles drift). Below, the neighbourhoods hold too much of the window
/// to be worth it. Rank sources alone, ns per window (`examples/rank_sources`,
/// best of 7 interleaved rounds, 2-core AMD EPYC Zen 3), daily cycle
/// (integer) / the same + 0.1, tracked vs blocks: n = 96: 44 / 31 vs 39 /
/// 49; 384: 28 / 25 vs 33 / 42; 672: 22 / 20 vs 28 / 41; where the window
/// is not whole days and tracking hands over (n = 512): 40 / 56 vs 34 / 50.
pub const TRACKED_MIN: usize = 64;

/// How a batch run at window length `n` over `observed` gets its order
/// statistics from a [`SortedArray`]: `Some(narrow)`, or `None` for the
/// [`SortedBlocks`].
fn array_lanes(n: usize, observed: &[f64]) -> Option<bool> {
    if !SortedArray::<3>::simd_available() || !NARROW_ARRAY_WINDOWS.contains(&n) {
        return None;
    }
    let narrow = crate::window::exact_in_f32(observed);
    (narrow || ARRAY_WINDOWS.contains(&n)).then_some(narrow)
}

/// The rule over `values` from a batch rank iterator over their observed
/// values (`n >= BLOCKS_THRESHOLD`, or `n > NETWORK_MAX` when causal): on a
/// second thread, ahead of the rest of the rule, when the history is long
/// and the machine has the cores ([`crate::prefetch`]; the same ranks, so
/// the same bits).
fn run_ranks<I>(rule: &Rule, values: &[f64], n: usize, ranks: I, out: &mut Detection)
where
    I: RankColumns<3> + Send,
{
    if rule.smooth.is_causal() {
        let src = Blocks {
            blocks: ranks,
            fill: n - 1,
        };
        run_causal(rule, values, BlocksRaw::new(src, rule), out);
    } else if prefetch::worth_a_thread(values.len()) {
        prefetch::prefetched(ranks, |ranks| run_centered(rule, values, n, ranks, out));
    } else {
        run_centered(rule, values, n, ranks, out);
    }
}

/// The causal batch pipeline ([`run_blocks`]) over `src`; for a long
/// history on a machine with two cores, `src` fills each block's raw
/// bands on a second thread, blocks ahead of the smoothing and assessment
/// (the same calls in the same order, so the same bits).
fn run_causal(rule: &Rule, values: &[f64], src: impl RawSource + Send, out: &mut Detection) {
    if !prefetch::worth_a_thread(values.len()) {
        return run_blocks(rule, values, src, out);
    }
    let mut src = src;
    let mut blocks = values.chunks(CHUNK);
    let produce = move |ahead: &mut Box<Ahead>| {
        ahead.filled = 0;
        for (block, raw) in blocks.by_ref().zip(ahead.blocks.iter_mut()) {
            fill_fast(&mut src, block, raw);
            ahead.filled += 1;
            if ahead.filled == AHEAD_BLOCKS {
                break;
            }
        }
        ahead.filled > 0
    };
    let empty = || {
        Box::new(Ahead {
            blocks: [RawCols::NONE; AHEAD_BLOCKS],
            filled: 0,
        })
    };
    prefetch::pipelined(empty, produce, |filled| {
        let src = FilledAhead {
            filled,
            current: None,
            next: 0,
        };
        run_blocks(rule, values, src, out)
    });
}

/// Blocks of raw bands per hand-over between the threads of
/// [`run_causal`]: a few thousand buckets, so that the cost of a hand-over
/// (waking the other thread when it waits) is small per bucket.
const AHEAD_BLOCKS: usize = 8;

/// The raw bands of consecutive blocks of buckets, filled by the producer
/// thread of [`run_causal`].
struct Ahead {
    blocks: [RawCols; AHEAD_BLOCKS],
    /// Blocks filled, from the first.
    filled: usize,
}

/// The consumer's side of [`run_causal`]: each block's raw bands, as
/// filled on the other thread.
struct FilledAhead {
    filled: prefetch::Filled<Box<Ahead>>,
    /// The hand-over being read.
    current: Option<Box<Ahead>>,
    /// Its next block.
    next: usize,
}

impl RawSource for FilledAhead {
    #[inline(always)]
    fn fill(&mut self, values: &[f64], raw: &mut RawCols) {
        let len = values.len().min(CHUNK);
        if self.current.as_ref().is_some_and(|c| self.next == c.filled) {
            if let Some(spent) = self.current.take() {
                self.filled.give_back(spent);
            }
        }
        if self.current.is_none() {
            self.current = self.filled.take();
            self.next = 0;
        }
        // The producer fills one block per block of `values`, so it has
        // not finished while blocks remain (unless it panicked, which
        // reaches the caller when the pipeline ends).
        if let Some(ahead) = &self.current {
            raw.copy_from(&ahead.blocks[self.next], len);
            self.next += 1;
        }
    }
}

/// `src.fill` compiled for the widest of AVX-512 and AVX2 the CPU has, as
/// [`run_blocks`] is (on the producer thread of [`run_causal`]).
fn fill_fast(src: &mut impl RawSource, values: &[f64], raw: &mut RawCols) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            return unsafe { fill_avx512(src, values, raw) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { fill_avx2(src, values, raw) };
        }
    }
    src.fill(values, raw)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn fill_avx512(src: &mut impl RawSource, values: &[f64], raw: &mut RawCols) {
    src.fill(values, raw)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn fill_avx2(src: &mut impl RawSource, values: &[f64], raw: &mut RawCols) {
    src.fill(values, raw)
}

/// The `centered` rule over a batch rank iterator.
fn run_centered(
    rule: &Rule,
    values: &[f64],
    n: usize,
    ranks: impl Iterator<Item = Ranks>,
    out: &mut Detection,
) {
    let src = Blocks {
        blocks: ranks,
        fill: n - 1,
    };
    rule.clone().run(values, src, n, out);
}

/// Runs the IQR rule over a whole series: one point per bucket, as columns.
///
/// Bit-identical to [`IqrState::push`] point by point, from batch order
/// statistics: for `asof` and `none`, a sorting network per window up to
/// n = 24 (independent windows, vectorised) and above, over the observed
/// values, a [`SortedArray`] for [`ARRAY_WINDOWS`] (or
/// [`NARROW_ARRAY_WINDOWS`]) when the CPU has AVX2, else from
/// [`TRACKED_MIN`] on [`TrackedRanks`] (which hands over to the blocks
/// where they are cheaper), else [`SortedBlocks`] (O(log n) amortised per
/// point), then the rest of
/// the rule a block of buckets at a time. `centered` runs the same rule for
/// the raw bounds ([`SortedBlocks`] from [`BLOCKS_THRESHOLD`] on, a
/// [`SortedVec`] window below) and then smooths them with the centered
/// mean.
pub fn iqr(series: &Series, params: &IqrParams) -> Result<Detection, DetectError> {
    let mut out = Detection::new();
    iqr_into(series, params, &mut out)?;
    Ok(out)
}

/// [`iqr`] into a caller's buffer (cleared first, its allocations reused):
/// for callers that re-run the detector often, e.g. a UI re-running on every
/// parameter change. On error `out` is left untouched.
pub fn iqr_into(
    series: &Series,
    params: &IqrParams,
    out: &mut Detection,
) -> Result<(), DetectError> {
    params.validate()?;
    let n = params.n;
    let rule = Rule::new(params);
    let values = series.raw_values();
    // The windows are over observed values: compact the gaps away (no copy
    // when there are none).
    let observed = || -> Cow<'_, [f64]> {
        if all_finite(values) {
            Cow::Borrowed(values)
        } else {
            Cow::Owned(values.iter().copied().filter(|x| x.is_finite()).collect())
        }
    };
    let centered = rule.smooth == Smoothing::Centered;
    if centered && n < BLOCKS_THRESHOLD {
        let src: Live<SortedVec> = Live::new(n, &rule.pos);
        rule.run(values, src, n, out);
        return Ok(());
    }
    if centered || n > NETWORK_MAX {
        let observed = observed();
        let ranks = rule.pos.map(|q| q.rank());
        if let Some(narrow) = array_lanes(n, &observed) {
            let src = SortedArray::with_simd(&observed, n, ranks, true, narrow);
            run_ranks(&rule, values, n, src, out);
        } else if n >= TRACKED_MIN {
            run_ranks(
                &rule,
                values,
                n,
                TrackedRanks::new(&observed, n, ranks),
                out,
            );
        } else {
            run_ranks(
                &rule,
                values,
                n,
                SortedBlocks::new(&observed, n, ranks),
                out,
            );
        }
        return Ok(());
    }
    let observed = observed();
    macro_rules! network {
        ($($n:literal)*) => {
            match n {
                // One thread: the networks are cheap beside the rest of the
                // rule, so a second thread gains less than handing the
                // bands over costs (measured).
                $($n => run_blocks(&rule, values, Network::<$n>::new(&observed, &rule), out),)*
                _ => unreachable!("2 <= n={n} <= NETWORK_MAX"),
            }
        };
    }
    network!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[Option<f64>]) -> Series {
        Series::new(0, 900, values.to_vec()).unwrap()
    }

    /// The batch result as points.
    fn run(s: &Series, params: &IqrParams) -> Vec<Point> {
        iqr(s, params).unwrap().points().collect()
    }

    fn p(n: usize, a: f64, smooth: Smoothing) -> IqrParams {
        IqrParams { n, a, smooth }
    }

    #[test]
    fn validation_messages() {
        let err = |n, a| p(n, a, Smoothing::AsOf).validate().unwrap_err().to_string();
        assert_eq!(err(1, 4.0), "n must be at least 2 (got 1)");
        assert_eq!(err(0, 4.0), "n must be at least 2 (got 0)");
        assert_eq!(err(5, f64::NAN), "a must be a finite number >= 0 (got NaN)");
        assert_eq!(err(5, -1.0), "a must be a finite number >= 0 (got -1)");
        assert_eq!(
            err(5, f64::INFINITY),
            "a must be a finite number >= 0 (got inf)"
        );
        assert!(err(MAX_WINDOW + 1, 1.0).starts_with("n must be at most"));
        assert!(p(2, 0.0, Smoothing::None).validate().is_ok());
        assert!(IqrParams::default().validate().is_ok());
        assert_eq!(IqrParams::default(), p(5, 4.0, Smoothing::AsOf));
        // Batch validates too.
        assert!(iqr(&series(&[Some(1.0)]), &p(1, 4.0, Smoothing::AsOf)).is_err());
    }

    #[test]
    fn incremental_rejects_centered() {
        let err = IqrState::new(p(5, 4.0, Smoothing::Centered)).unwrap_err();
        assert_eq!(err, DetectError::SmoothingNeedsFuture(Smoothing::Centered));
        assert!(err
            .to_string()
            .contains("centered smoothing looks at future points"));
        assert!(IqrState::new(p(0, 4.0, Smoothing::None)).is_err());
    }

    #[test]
    fn empty_and_short_series_have_no_band() {
        for smooth in Smoothing::ALL {
            assert!(run(&series(&[]), &p(5, 4.0, smooth)).is_empty());
            let s = series(&[Some(1.0), Some(100.0), Some(1.0), Some(-50.0), Some(2.0)]);
            let pts = run(&s, &p(5, 4.0, smooth));
            assert_eq!(pts.len(), 5);
            for pt in pts {
                assert_eq!(pt.lower, None);
                assert_eq!(pt.upper, None);
                assert_eq!(pt.expected, None);
                assert!(!pt.is_anomaly);
                assert_eq!(pt.score, 0.0);
                assert_eq!(pt.deviation, None);
            }
        }
    }

    #[test]
    fn all_gap_series() {
        let s = series(&[None; 50]);
        for smooth in Smoothing::ALL {
            let pts = run(&s, &p(3, 1.0, smooth));
            assert_eq!(pts.len(), 50);
            assert!(pts.iter().all(|pt| *pt == Point::default()));
        }
    }

    #[test]
    fn leading_gaps_are_skipped_not_counted() {
        let mut v = vec![None, None, None];
        v.extend([10.0, 12.0, 11.0, 13.0, 12.0].map(Some));
        let pts = run(&series(&v), &p(3, 1.0, Smoothing::None));
        // Observations at 3, 4, 5: the band exists from position 6 on.
        assert!(pts[..6].iter().all(|pt| pt.upper.is_none()));
        // Window [10, 12, 11]: q25 = 10.5, q75 = 11.5, median 11.
        assert_eq!(pts[6].expected, Some(11.0));
        assert_eq!(pts[6].lower, Some(9.5));
        assert_eq!(pts[6].upper, Some(12.5));
        assert!(pts[6].is_anomaly);
        assert_eq!(pts[6].score, 0.5);
    }

    #[test]
    fn gap_points_get_the_band_but_never_alert() {
        let mut v: Vec<Option<f64>> = [10.0, 11.0, 10.0, 11.0, 10.0].map(Some).to_vec();
        v.push(None);
        v.push(Some(500.0));
        for smooth in [Smoothing::AsOf, Smoothing::None, Smoothing::Centered] {
            let pts = run(&series(&v), &p(5, 1.0, smooth));
            assert!(pts[5].upper.is_some(), "{smooth}");
            assert!(!pts[5].is_anomaly);
            assert_eq!(pts[5].score, 0.0);
            assert_eq!(pts[5].deviation, None);
            assert!(pts[6].is_anomaly, "{smooth}");
        }
    }

    #[test]
    fn constant_series_uses_eps_score() {
        let mut v = vec![Some(100.0); 10];
        v.push(Some(100.0));
        v.push(Some(101.0));
        let pts = run(&series(&v), &p(5, 4.0, Smoothing::AsOf));
        assert_eq!(pts[10].lower, Some(100.0));
        assert_eq!(pts[10].upper, Some(100.0));
        assert!(!pts[10].is_anomaly);
        assert_eq!(pts[10].deviation, Some(0.0));
        assert!(pts[11].is_anomaly);
        // eps = 1e-9 * 100.
        assert!((pts[11].score - 1.0 / 1e-7).abs() < 1e-3);
        assert!((pts[11].deviation.unwrap() - 0.01).abs() < 1e-15);
    }

    #[test]
    fn non_finite_inputs_are_gaps() {
        let base = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let mut with_nan: Vec<Option<f64>> = base.map(Some).to_vec();
        with_nan[3] = Some(f64::NAN);
        with_nan[5] = Some(f64::NEG_INFINITY);
        let mut with_none = with_nan.clone();
        with_none[3] = None;
        with_none[5] = None;
        let params = p(2, 1.0, Smoothing::AsOf);
        // Series::new normalises; the incremental state must too.
        let mut st = IqrState::new(params).unwrap();
        let pushed: Vec<Point> = with_nan.iter().map(|&v| st.push(v)).collect();
        assert_eq!(pushed, run(&series(&with_none), &params));
        assert_eq!(pushed[3].value, None);
        assert!(!pushed[5].is_anomaly);
    }

    #[test]
    fn asof_is_the_centered_mean_at_the_newest_point() {
        let v: Vec<Option<f64>> = (0..40)
            .map(|i| {
                if i % 9 == 4 {
                    None
                } else {
                    Some(((i * 37) % 11) as f64)
                }
            })
            .collect();
        for n in [2, 3, 4, 5, 6] {
            let asof = run(&series(&v), &p(n, 2.0, Smoothing::AsOf));
            for t in 0..v.len() {
                let prefix = series(&v[..=t]);
                let centered = run(&prefix, &p(n, 2.0, Smoothing::Centered));
                let (a, c) = (asof[t], centered[t]);
                match (a.upper, c.upper) {
                    (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-12 * x.abs().max(1.0)),
                    (x, y) => assert_eq!(x, y, "n={n} t={t}"),
                }
            }
        }
    }

    #[test]
    fn spike_and_drop_are_flagged_with_deviation() {
        let mut v: Vec<Option<f64>> = (0..30).map(|i| Some(100.0 + (i % 3) as f64)).collect();
        v[20] = Some(200.0);
        v[25] = Some(10.0);
        let pts = run(&series(&v), &IqrParams::default());
        let flagged: Vec<usize> = (0..30).filter(|&i| pts[i].is_anomaly).collect();
        assert_eq!(flagged, vec![20, 25]);
        assert!(pts[20].score > 1.0);
        assert!(pts[25].deviation.unwrap() < -0.8);
    }

    /// Every field of a point, floats as bits (`-0.0 != 0.0`).
    fn bits(p: &Point) -> [Option<u64>; 7] {
        let b = |x: Option<f64>| x.map(f64::to_bits);
        [
            b(p.value),
            b(p.lower),
            b(p.upper),
            b(p.expected),
            Some(u64::from(p.is_anomaly)),
            Some(p.score.to_bits()),
            b(p.deviation),
        ]
    }

    /// Every field of every point as bits.
    fn all_bits(d: &Detection) -> Vec<[Option<u64>; 7]> {
        d.points().map(|p| bits(&p)).collect()
    }

    /// The batch pipeline `iqr_into` runs above the sorting networks (the
    /// block pipeline when causal, else the point-at-a-time one), over the
    /// rank source `src`, whatever `n`.
    fn with_source<I: RankColumns<3>>(s: &Series, pr: &IqrParams, src: Blocks<I>) -> Detection {
        let rule = Rule::new(pr);
        let mut d = Detection::new();
        if pr.smooth.is_causal() {
            run_blocks(&rule, s.raw_values(), BlocksRaw::new(src, &rule), &mut d);
        } else {
            rule.run(s.raw_values(), src, pr.n, &mut d);
        }
        d
    }

    /// [`with_source`] with [`SortedArray`], its SIMD pass or its portable
    /// one, in `f32` lanes if `narrow` and the values allow (the pipeline
    /// picks it only for [`ARRAY_WINDOWS`] and [`NARROW_ARRAY_WINDOWS`]).
    fn with_array(
        s: &Series,
        pr: &IqrParams,
        observed: &[f64],
        simd: bool,
        narrow: bool,
    ) -> Detection {
        let pos = Rule::new(pr).pos;
        with_source(s, pr, Blocks::array(observed, pr.n, &pos, simd, narrow))
    }

    /// The causal batch pipeline compiled without the run-time selected
    /// SIMD extensions (what a CPU without AVX2 runs), for some `n`.
    fn portable(s: &Series, pr: &IqrParams, observed: &[f64]) -> Option<Detection> {
        if !pr.smooth.is_causal() {
            return None;
        }
        let rule = Rule::new(pr);
        let mut d = Detection::new();
        let values = s.raw_values();
        match pr.n {
            5 => run_blocks_body(&rule, values, Network::<5>::new(observed, &rule), &mut d),
            17 => run_blocks_body(&rule, values, Network::<17>::new(observed, &rule), &mut d),
            n if n > NETWORK_MAX => {
                let src = Blocks::new(observed, n, &rule.pos);
                run_blocks_body(&rule, values, BlocksRaw::new(src, &rule), &mut d);
                // And the tracked ranks.
                let src = Blocks::tracked(observed, n, &rule.pos);
                let mut t = Detection::new();
                run_blocks_body(&rule, values, BlocksRaw::new(src, &rule), &mut t);
                assert_eq!(all_bits(&d), all_bits(&t), "n={n} tracked");
                // And the sorted array with its portable pass.
                let narrow = crate::window::exact_in_f32(observed);
                let src = Blocks::array(observed, n, &rule.pos, false, narrow);
                let mut e = Detection::new();
                run_blocks_body(&rule, values, BlocksRaw::new(src, &rule), &mut e);
                assert_eq!(all_bits(&d), all_bits(&e), "n={n}");
            }
            _ => return None,
        }
        Some(d)
    }

    #[test]
    fn all_rank_sources_agree_bit_for_bit() {
        let mut x = 12345u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        // Scattered gaps, a gap-free stretch then a burst of gaps (blocks
        // of the batch pipeline with and without gaps), no gaps at all,
        // and ties.
        let gappy: Vec<f64> = (0..3000)
            .map(|i| {
                let x = next();
                let gap = if i < 1500 {
                    x.is_multiple_of(13)
                } else {
                    (2100..2200).contains(&i) && x.is_multiple_of(2)
                };
                if gap {
                    f64::NAN
                } else {
                    ((x % 1000) as f64) + (i % 50) as f64
                }
            })
            .collect();
        let clean: Vec<f64> = (0..2000).map(|_| (next() % 100) as f64 - 50.0).collect();
        for values in [gappy, clean] {
            let s = Series::from_f64(0, 60, values).unwrap();
            let observed: Vec<f64> = s.values().flatten().collect();
            for n in (2..=17).chain([25, 64, 96, 160, 161, 301]) {
                for smooth in Smoothing::ALL {
                    let pr = p(n, 1.5, smooth);
                    let pos = Rule::new(&pr).pos;
                    let (mut a, mut b, mut c) =
                        (Detection::new(), Detection::new(), Detection::new());
                    let small: Live<SortedVec> = Live::new(n, &pos);
                    let large: Live<Treap> = Live::new(n, &pos);
                    Rule::new(&pr).run(s.raw_values(), small, n, &mut a);
                    Rule::new(&pr).run(s.raw_values(), large, n, &mut b);
                    let blocks = Blocks::new(&observed, n, &pos);
                    Rule::new(&pr).run(s.raw_values(), blocks, n, &mut c);
                    assert_eq!(a, b, "n={n} {smooth}");
                    assert_eq!(a, c, "n={n} {smooth}");
                    assert_eq!(all_bits(&a), all_bits(&c), "n={n} {smooth}");
                    let tracked = Blocks::tracked(&observed, n, &pos);
                    let t = with_source(&s, &pr, tracked);
                    assert_eq!(all_bits(&a), all_bits(&t), "n={n} {smooth} tracked");
                    let exact = crate::window::exact_in_f32(&observed);
                    for (simd, narrow) in
                        [(false, false), (true, false), (false, exact), (true, exact)]
                    {
                        let e = with_array(&s, &pr, &observed, simd, narrow);
                        let what = format!("n={n} {smooth} simd={simd} narrow={narrow}");
                        assert_eq!(all_bits(&a), all_bits(&e), "{what}");
                    }
                    let batch = iqr(&s, &pr).unwrap();
                    assert_eq!(all_bits(&a), all_bits(&batch), "n={n} {smooth}");
                    if let Some(d) = portable(&s, &pr, &observed) {
                        assert_eq!(a, d, "n={n} {smooth}");
                    }
                    let mut st = IqrState::new(pr);
                    if let Ok(st) = &mut st {
                        for (t, v) in s.values().enumerate() {
                            let (want, got) = (a.point(t), st.push(v));
                            assert_eq!(bits(&want), bits(&got), "n={n} {smooth} t={t}");
                        }
                    }
                }
            }
        }
    }

    /// Long histories compute their order statistics (and, when causal,
    /// raw bands) on a second thread: the same bits as on one, with and
    /// without gaps, for each kind of rank source.
    #[test]
    fn second_thread_gives_the_same_bits() {
        let len = crate::prefetch::MIN_ITEMS + 3000;
        let mut x = 0x853c_49e6_748f_ea9bu64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let cycle = |i: usize, noise: u64| {
            let phase = (i % 96) as f64 / 96.0 * core::f64::consts::TAU;
            (1000.0 + 400.0 * phase.sin()).round() + (noise % 60) as f64
        };
        let clean: Vec<f64> = (0..len).map(|i| cycle(i, next())).collect();
        let gappy: Vec<f64> = (0..len)
            .map(|i| {
                let r = next();
                let burst = (20_000..20_300).contains(&i);
                if r.is_multiple_of(17) || (burst && r.is_multiple_of(2)) {
                    f64::NAN
                } else {
                    cycle(i, r) * 1.1
                }
            })
            .collect();
        for values in [clean, gappy] {
            let s = Series::from_f64(0, 900, values).unwrap();
            let observed: Vec<f64> = s.values().flatten().collect();
            for n in [30usize, 96, 300, 672] {
                for smooth in Smoothing::ALL {
                    let pr = p(n, 1.5, smooth);
                    let pos = Rule::new(&pr).pos;
                    let one = with_source(&s, &pr, Blocks::new(&observed, n, &pos));
                    let two = iqr(&s, &pr).unwrap();
                    assert_eq!(all_bits(&one), all_bits(&two), "n={n} {smooth}");
                }
            }
        }
    }

    /// The sorted array (SIMD and portable passes) against the sorted
    /// blocks, bit for bit, at every window length it is picked for: with
    /// and without gaps, with many ties, and -0.0 beside 0.0.
    #[test]
    fn sorted_array_agrees_at_every_window_length() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let len = 700;
        let tied: Vec<f64> = (0..len)
            .map(|_| match next() % 16 {
                0 => -0.0,
                1 => 0.0,
                r => (r % 5) as f64 - 2.0,
            })
            .collect();
        let gappy: Vec<f64> = tied
            .iter()
            .map(|&v| {
                let r = next();
                if r.is_multiple_of(7) {
                    f64::NAN
                } else if r.is_multiple_of(3) {
                    v
                } else {
                    (r % 100_000) as f64 * 0.25 - 9000.0
                }
            })
            .collect();
        // The same with values no f32 holds exactly (f64 lanes only).
        let wide: Vec<f64> = gappy.iter().map(|v| v * 1.1).collect();
        for (values, exact) in [(tied, true), (gappy, true), (wide, false)] {
            let s = Series::from_f64(0, 60, values).unwrap();
            let observed: Vec<f64> = s.values().flatten().collect();
            assert_eq!(crate::window::exact_in_f32(&observed), exact);
            for n in ARRAY_WINDOWS.start() - 1..=NARROW_ARRAY_WINDOWS.end() + 1 {
                for smooth in [Smoothing::AsOf, Smoothing::None, Smoothing::Centered] {
                    let pr = p(n, 1.5, smooth);
                    let pos = Rule::new(&pr).pos;
                    let want = all_bits(&with_source(&s, &pr, Blocks::new(&observed, n, &pos)));
                    for (simd, narrow) in
                        [(false, false), (true, false), (false, exact), (true, exact)]
                    {
                        let got = with_array(&s, &pr, &observed, simd, narrow);
                        let what =
                            format!("n={n} {smooth} simd={simd} narrow={narrow} exact={exact}");
                        assert_eq!(want, all_bits(&got), "{what}");
                    }
                    let batch = iqr(&s, &pr).unwrap();
                    assert_eq!(want, all_bits(&batch), "n={n} {smooth}");
                }
            }
        }
    }
}
