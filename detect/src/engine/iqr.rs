//! Which IQR engine runs when: the thresholds (with the measurements that
//! chose them), the causal block pipeline with its SIMD dispatch, the
//! two-thread hand-over, and the selection [`run`] that
//! [`iqr_into`](crate::iqr_into) calls. Every engine gives the same order
//! statistics, so the same bits; see `README.md` here.

use std::borrow::Cow;

use super::prefetch;
use super::sources::{all_finite, Blocks, BlocksRaw, Live, Network, RawCols, RawSource, CHUNK};
use super::window::{
    RankColumns, SortedArray, SortedBlocks, SortedVec, TrackedRanks, Treap, NETWORK_MAX,
};
use crate::detection::Detection;
use crate::detectors::iqr::{Ranks, Rule};
use crate::smoothing::{BlockScratch, Smoothing};

/// The causal batch pipeline (`asof` or `none`), a block of [`CHUNK`]
/// buckets at a time: raw bands from `src`, then the smoothing
/// ([`PairMean::push_block`], the same steps as [`Rule::finish`]'s pushes),
/// then the assessment straight into `out`'s columns
/// ([`Detection::extend_assessed`], a branch-free loop). Bit for bit what
/// [`Rule::run_causal`] (hence [`IqrState::push`]) gives: the same
/// operations per bucket, regrouped into tight loops over L1-resident
/// columns that the compiler vectorises. On x86-64 the loops are compiled
/// for the widest of AVX-512 and AVX2 the CPU has (checked at run time).
pub(crate) fn run_blocks(rule: &Rule, values: &[f64], src: impl RawSource, out: &mut Detection) {
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
pub(crate) fn run_blocks_avx512(
    rule: &Rule,
    values: &[f64],
    src: impl RawSource,
    out: &mut Detection,
) {
    run_blocks_body(rule, values, src, out)
}

/// [`run_blocks`] compiled for AVX2 (four lanes).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) fn run_blocks_avx2(
    rule: &Rule,
    values: &[f64],
    src: impl RawSource,
    out: &mut Detection,
) {
    run_blocks_body(rule, values, src, out)
}

#[inline(always)]
pub(crate) fn run_blocks_body(
    rule: &Rule,
    values: &[f64],
    mut src: impl RawSource,
    out: &mut Detection,
) {
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

#[derive(Debug, Clone)]
pub(crate) enum Engine {
    Small(Live<SortedVec>),
    Large(Live<Treap>),
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
pub(crate) fn array_lanes(n: usize, observed: &[f64]) -> Option<bool> {
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
pub(crate) fn run_ranks<I>(rule: &Rule, values: &[f64], n: usize, ranks: I, out: &mut Detection)
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
pub(crate) fn run_causal(
    rule: &Rule,
    values: &[f64],
    src: impl RawSource + Send,
    out: &mut Detection,
) {
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
pub(crate) const AHEAD_BLOCKS: usize = 8;

/// The raw bands of consecutive blocks of buckets, filled by the producer
/// thread of [`run_causal`].
pub(crate) struct Ahead {
    pub(crate) blocks: [RawCols; AHEAD_BLOCKS],
    /// Blocks filled, from the first.
    pub(crate) filled: usize,
}

/// The consumer's side of [`run_causal`]: each block's raw bands, as
/// filled on the other thread.
pub(crate) struct FilledAhead {
    pub(crate) filled: prefetch::Filled<Box<Ahead>>,
    /// The hand-over being read.
    pub(crate) current: Option<Box<Ahead>>,
    /// Its next block.
    pub(crate) next: usize,
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
pub(crate) fn fill_fast(src: &mut impl RawSource, values: &[f64], raw: &mut RawCols) {
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
pub(crate) fn fill_avx512(src: &mut impl RawSource, values: &[f64], raw: &mut RawCols) {
    src.fill(values, raw)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) fn fill_avx2(src: &mut impl RawSource, values: &[f64], raw: &mut RawCols) {
    src.fill(values, raw)
}

/// The `centered` rule over a batch rank iterator.
pub(crate) fn run_centered(
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

/// The batch IQR rule over `values` with the engine chosen for `n` (see
/// the module doc): the body of [`iqr_into`](crate::iqr_into).
pub(crate) fn run(rule: &Rule, n: usize, values: &[f64], out: &mut Detection) {
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
        rule.clone().run(values, src, n, out);
        return;
    }
    if centered || n > NETWORK_MAX {
        let observed = observed();
        let ranks = rule.pos.map(|q| q.rank());
        if let Some(narrow) = array_lanes(n, &observed) {
            let src = SortedArray::with_simd(&observed, n, ranks, true, narrow);
            run_ranks(rule, values, n, src, out);
        } else if n >= TRACKED_MIN {
            run_ranks(rule, values, n, TrackedRanks::new(&observed, n, ranks), out);
        } else {
            run_ranks(rule, values, n, SortedBlocks::new(&observed, n, ranks), out);
        }
        return;
    }
    let observed = observed();
    macro_rules! network {
        ($($n:literal)*) => {
            match n {
                // One thread: the networks are cheap beside the rest of the
                // rule, so a second thread gains less than handing the
                // bands over costs (measured).
                $($n => run_blocks(rule, values, Network::<$n>::new(&observed, rule), out),)*
                _ => unreachable!("2 <= n={n} <= NETWORK_MAX"),
            }
        };
    }
    network!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24);
}
