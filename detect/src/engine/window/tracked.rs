//! Long because it is one algorithm: tracked neighbourhoods, their rebuild
//! and their hand-over to the blocks share all their state; a third is tests.
//!
//! Batch rolling order statistics by tracking each rank inside a short
//! sorted slice of the window around it.
//!
//! For a rank `k`, a [`Neighbourhood`] holds, sorted, the window's values
//! within a value range `[lo, hi]` picked, when it is built, to span about
//! [`REACH`] ranks either side of ranks `k` and `k + 1`, and it counts the
//! window's values below `lo`. Sliding the window by one then costs one
//! comparison of the entering and the leaving value with `lo` (a
//! branch-free counter update) and, only when one of them falls inside
//! `[lo, hi]`, a short shift in the sorted slice: with `2 * REACH + 2`
//! values held out of `n`, about one step in ten at `n = 672`. The values
//! at ranks `k` and `k + 1` are then read straight from the slice, at
//! `k - below`.
//!
//! When the window's values drift so far that rank `k` or `k + 1` is no
//! longer inside the range, the neighbourhood is rebuilt from the window,
//! O(n): one scan for the values in a range guessed from the slice's
//! spacing around where the ranks went, or, when that misses, by
//! selection. On a metric's history over a window of whole days this is
//! rare (each value entering is from the same time of day as the one
//! leaving, so the quantiles hardly move): on the benchmark series at
//! `n = 672`, about once in a thousand windows. On inputs where it is not
//! (a trend, a window of a day and a half, a few distinct values shifting
//! a long slice), the work is counted, and once it exceeds
//! [`WORK_PER_WINDOW`] per window on average, the remaining windows come
//! from [`SortedBlocks`]: O(log n) amortised per window whatever the
//! input, and at worst a few hundred windows' work slower than the blocks
//! alone.

use super::{put_column, RankColumns, SortedBlocks};

/// Ranks held on either side of ranks `k` and `k + 1` after a rebuild.
/// More makes rebuilds rarer and shifts longer and more frequent. Measured
/// with `examples/rank_sources` (see [`TrackedRanks`]).
const REACH: usize = 4;

/// Average work per window (in the units of [`Neighbourhood::shift`] and
/// [`Neighbourhood::rebuild`], about one value moved or compared each)
/// above which [`TrackedRanks`] hands over to [`SortedBlocks`], whose
/// cost per window is about that of this many units.
const WORK_PER_WINDOW: usize = 16;

/// Rebuilds from scratch (per rank) that do not count against
/// [`WORK_PER_WINDOW`]: the first windows' drift must not hand over a run
/// that is calm after.
const GRACE_REBUILDS: usize = 4;

/// Work per value of the window of [`Neighbourhood::rebuild_near`] (a
/// scan) and of [`Neighbourhood::rebuild_by_selection`] (a copy, two
/// selections and a scan), in the units of [`WORK_PER_WINDOW`].
const NEAR_WORK: usize = 2;
const SELECTION_WORK: usize = 8;

/// One tracked rank: the window's values in `[lo, hi]`, sorted.
#[derive(Debug, Clone)]
struct Neighbourhood {
    /// The rank tracked (the values at `k` and `k + 1` are read).
    k: usize,
    lo: f64,
    hi: f64,
    /// Values of the window below `lo`.
    below: usize,
    /// Values of the window in `[lo, hi]`, ascending.
    held: Vec<f64>,
}

impl Neighbourhood {
    fn new(k: usize) -> Self {
        Neighbourhood {
            k,
            lo: f64::INFINITY,
            hi: f64::NEG_INFINITY,
            below: 0,
            held: Vec::with_capacity(4 * REACH),
        }
    }

    /// The counts below `lo`, fewest and most, for which ranks `k` and
    /// `k + 1` are inside `held`.
    #[inline(always)]
    fn coverage(&self) -> (usize, usize) {
        ((self.k + 2).saturating_sub(self.held.len()), self.k)
    }

    /// True when ranks `k` and `k + 1` are inside `held`.
    #[inline(always)]
    fn covers(&self) -> bool {
        let (fewest, most) = self.coverage();
        (fewest..=most).contains(&self.below)
    }

    /// The values at ranks `k` and `k + 1` (only when [`covers`](Self::covers)).
    #[inline(always)]
    fn read(&self) -> (f64, f64) {
        let i = self.k - self.below;
        (self.held[i], self.held[i + 1])
    }

    /// `x` enters the window and `y` leaves it (both finite, no `-0.0`):
    /// the count below `lo`, branch-free. True when `held` must change too
    /// ([`shift`](Self::shift)).
    #[inline(always)]
    fn count(&mut self, x: f64, y: f64) -> bool {
        self.below = slide_below(self.below, self.lo, x, y);
        touches(self.lo, self.hi, x, y)
    }

    #[inline(always)]
    fn holds(&self, x: f64) -> bool {
        within(self.lo, self.hi, x)
    }

    /// The rare part of a slide after [`count`](Self::count): `held` gains
    /// `x` and/or loses one copy of `y`, as far as they are in range.
    /// Returns the work done.
    #[inline]
    fn shift(&mut self, x: f64, y: f64) -> usize {
        let (x_in, y_in) = (self.holds(x), self.holds(y));
        if x_in & y_in & (x == y) {
            return 1;
        }
        let mut work = 0;
        if y_in {
            work += remove_sorted(&mut self.held, y);
        }
        if x_in {
            work += insert_sorted(&mut self.held, x);
        }
        work
    }

    /// Re-centres on ranks `k` and `k + 1` of `window` (values finite, at
    /// least `k + 2` of them). `scratch` is working memory. Returns the
    /// work done.
    #[inline(never)]
    fn rebuild(&mut self, window: &[f64], scratch: &mut Vec<f64>) -> usize {
        match self.rebuild_near(window) {
            Some(work) => work,
            None => self.rebuild_by_selection(window, scratch),
        }
    }

    /// The common rebuild, after the ranks stepped just outside `held`:
    /// one scan of the window for the values in a range guessed from
    /// `held`'s spacing around where rank `k` went. None (and `self` to be
    /// rebuilt from scratch) when the guess misses.
    fn rebuild_near(&mut self, window: &[f64]) -> Option<usize> {
        let held = &self.held;
        let len = held.len();
        if len < 2 {
            return None;
        }
        let (first, last) = (held[0], held[len - 1]);
        // Value per rank near the ranks, and how far outside they went.
        let step = (last - first) / (len - 1) as f64;
        let centre = if self.below > self.k {
            first - (self.below - self.k) as f64 * step
        } else {
            last + (self.k + 2 - (self.below + len)) as f64 * step
        };
        let half = 2.0 * (REACH + 1) as f64 * step;
        let (lo, hi) = (centre - half, centre + half);
        if !(step > 0.0 && lo.is_finite() && hi.is_finite()) {
            return None;
        }
        self.collect(window, lo, hi);
        if !self.covers() {
            return None;
        }
        self.trim();
        Some(NEAR_WORK * window.len())
    }

    /// Rebuilds from scratch: selects the values at the ranks [`REACH`]
    /// either side of `k` and `k + 1`, then collects the range between.
    fn rebuild_by_selection(&mut self, window: &[f64], scratch: &mut Vec<f64>) -> usize {
        let n = window.len();
        let first = self.k.saturating_sub(REACH);
        let last = (self.k + 1 + REACH).min(n - 1);
        scratch.clear();
        scratch.extend(window.iter().map(|&x| x + 0.0));
        let (_, &mut lo, rest) = scratch.select_nth_unstable_by(first, cmp);
        let (_, &mut hi, _) = rest.select_nth_unstable_by(last - first - 1, cmp);
        self.collect(window, lo, hi);
        debug_assert!(self.covers());
        SELECTION_WORK * n
    }

    /// Holds the values of `window` in `[lo, hi]`.
    fn collect(&mut self, window: &[f64], lo: f64, hi: f64) {
        self.lo = lo;
        self.hi = hi;
        self.below = 0;
        self.held.clear();
        for &x in window {
            let x = x + 0.0;
            self.below += (x < lo) as usize;
            if (x >= lo) & (x <= hi) {
                self.held.push(x);
            }
        }
        self.held.sort_unstable_by(cmp);
    }

    /// Narrows `held` to the ranks [`REACH`] either side of `k` and `k + 1`
    /// (and any ties of the values there), after a guessed range took in
    /// more.
    fn trim(&mut self) {
        let len = self.held.len();
        let keep_from = self.k.saturating_sub(REACH).max(self.below) - self.below;
        let keep_to = (self.k + 1 + REACH - self.below).min(len - 1);
        let (lo, hi) = (self.held[keep_from], self.held[keep_to]);
        let from = self.held.partition_point(|&v| v < lo);
        let to = self.held.partition_point(|&v| v <= hi);
        self.held.truncate(to);
        self.held.drain(..from);
        self.below += from;
        (self.lo, self.hi) = (lo, hi);
    }
}

/// The count of a window's values below `lo` after `x` enters it and `y`
/// leaves it: branch-free. (`y` is in the window, so the count is at
/// least 1 whenever `y < lo`.)
#[inline(always)]
fn slide_below(below: usize, lo: f64, x: f64, y: f64) -> usize {
    below + (x < lo) as usize - (y < lo) as usize
}

/// True when `x` is in `[lo, hi]`.
#[inline(always)]
fn within(lo: f64, hi: f64, x: f64) -> bool {
    (x >= lo) & (x <= hi)
}

/// True when `x` or `y` is in `[lo, hi]`: the slice must shift.
#[inline(always)]
fn touches(lo: f64, hi: f64, x: f64, y: f64) -> bool {
    within(lo, hi, x) | within(lo, hi, y)
}

/// The order of two finite floats (no `-0.0`) by their `<`.
#[inline(always)]
fn cmp(a: &f64, b: &f64) -> core::cmp::Ordering {
    if a < b {
        core::cmp::Ordering::Less
    } else if b < a {
        core::cmp::Ordering::Greater
    } else {
        core::cmp::Ordering::Equal
    }
}

/// How many values of `held` are below `x`: a branch-free count (which
/// vectorises). On the short slices held, cheaper than a binary search,
/// whose every step is an unpredictable branch.
#[inline(always)]
fn count_below(held: &[f64], x: f64) -> usize {
    held.iter().map(|&v| (v < x) as usize).sum()
}

/// Removes one copy of `y` (present) from the ascending `held`: a
/// branch-free count for its place, then one short move. Returns the work
/// done (values passed).
fn remove_sorted(held: &mut Vec<f64>, y: f64) -> usize {
    debug_assert!(held.contains(&y));
    let at = count_below(held, y);
    held.remove(at);
    held.len() + 1
}

/// Inserts `x` into the ascending `held` (before any equal values): a
/// branch-free count for its place, then one short move. Returns the work
/// done.
fn insert_sorted(held: &mut Vec<f64>, x: f64) -> usize {
    let at = count_below(held, x);
    held.insert(at, x);
    held.len()
}

/// Rolling order statistics of every window of `n` consecutive values of a
/// slice, at `R` fixed ranks, each tracked in a short sorted slice (see the
/// module docs); hands over to [`SortedBlocks`] on inputs where that is
/// cheaper. Same interface and results as [`SortedBlocks`]: per window,
/// per rank `k`, the values at sorted ranks `k` and `k + 1`; `-0.0` counts
/// as `0.0`; values must be finite.
#[derive(Debug, Clone)]
pub struct TrackedRanks<'a, const R: usize> {
    xs: &'a [f64],
    n: usize,
    ranks: [usize; R],
    /// End (exclusive) of the next window.
    end: usize,
    hoods: [Neighbourhood; R],
    scratch: Vec<f64>,
    /// Work done so far (see [`WORK_PER_WINDOW`]).
    work: usize,
    /// Windows given so far.
    windows: usize,
    /// Set once the blocks have taken over.
    blocks: Option<SortedBlocks<'a, R>>,
}

impl<'a, const R: usize> TrackedRanks<'a, R> {
    /// Windows of length `n >= 2` over `xs`, at ranks `ranks` (each
    /// `< n - 1`, so that rank `k + 1` exists).
    pub fn new(xs: &'a [f64], n: usize, ranks: [usize; R]) -> Self {
        assert!(n >= 2, "window length {n}");
        assert!(
            ranks.iter().all(|&k| k + 1 < n),
            "ranks {ranks:?} for n={n}"
        );
        TrackedRanks {
            xs,
            n,
            ranks,
            end: n,
            hoods: ranks.map(Neighbourhood::new),
            scratch: Vec::with_capacity(n),
            work: 0,
            windows: 0,
            blocks: None,
        }
    }

    /// True once the remaining windows come from [`SortedBlocks`].
    pub fn handed_over(&self) -> bool {
        self.blocks.is_some()
    }

    /// Updates the neighbourhoods' sorted values for `x` entering and `y`
    /// leaving, and rebuilds any that no longer covers its ranks.
    #[inline(never)]
    fn shift(&mut self, x: f64, y: f64, window: &[f64]) {
        for hood in &mut self.hoods {
            self.work += hood.shift(x, y);
            if !hood.covers() {
                self.work += hood.rebuild(window, &mut self.scratch);
            }
        }
    }

    /// The values at each rank of the window ending before `self.end`,
    /// once every neighbourhood covers its rank.
    #[inline(always)]
    fn read(&self) -> [(f64, f64); R] {
        core::array::from_fn(|r| self.hoods[r].read())
    }

    /// True when the work so far exceeds the budget (see
    /// [`WORK_PER_WINDOW`]): the next window hands over to the blocks.
    /// Only a [`shift`](Self::shift) adds work, so this can only turn true
    /// after one.
    #[inline(always)]
    fn over_budget(&self) -> bool {
        let grace = GRACE_REBUILDS * SELECTION_WORK * self.n * R;
        self.work > WORK_PER_WINDOW * self.windows + grace
    }

    /// [`RankColumns::fill_columns`] from column `i` to `stop` while
    /// tracking (past the first window, before any hand-over, with at
    /// least `stop - i` windows left): what [`next`](Iterator::next) does
    /// per window, with each neighbourhood's bounds, count and coverage
    /// limits held in locals (registers) over the run of calm windows
    /// between two shifts, not re-read from `self` per window. Stops early
    /// when the budget runs out. Returns the next column.
    #[inline(always)]
    fn fill_tracked<const M: usize>(
        &mut self,
        lo: &mut [[f64; M]; R],
        hi: &mut [[f64; M]; R],
        mut i: usize,
        stop: usize,
    ) -> usize {
        let ks = self.ranks;
        while i < stop {
            let bounds: [(f64, f64); R] =
                core::array::from_fn(|r| (self.hoods[r].lo, self.hoods[r].hi));
            let mut below: [usize; R] = core::array::from_fn(|r| self.hoods[r].below);
            let coverage: [(usize, usize); R] = core::array::from_fn(|r| self.hoods[r].coverage());
            let from = self.end - 1;
            let entering = &self.xs[from..from + (stop - i)];
            let leaving = &self.xs[from - self.n..from - self.n + (stop - i)];
            let mut calm_windows = 0;
            let mut stirred = None;
            let held: [&[f64]; R] = core::array::from_fn(|r| &self.hoods[r].held[..]);
            for (&x, &y) in entering.iter().zip(leaving) {
                let (x, y) = (x + 0.0, y + 0.0);
                // [`Neighbourhood::count`] and `covers` for every rank, one
                // branch for all.
                let mut calm = true;
                for r in 0..R {
                    let (l, h) = bounds[r];
                    let (fewest, most) = coverage[r];
                    let b = slide_below(below[r], l, x, y);
                    below[r] = b;
                    calm &= !touches(l, h, x, y) & (b >= fewest) & (b <= most);
                }
                if !calm {
                    stirred = Some((x, y));
                    break;
                }
                let col = i + calm_windows;
                for r in 0..R {
                    let j = ks[r] - below[r];
                    (lo[r][col], hi[r][col]) = (held[r][j], held[r][j + 1]);
                }
                calm_windows += 1;
            }
            for (hood, below) in self.hoods.iter_mut().zip(below) {
                hood.below = below;
            }
            self.end += calm_windows;
            self.windows += calm_windows;
            i += calm_windows;
            if let Some((x, y)) = stirred {
                let window = &self.xs[self.end - self.n..self.end];
                self.shift(x, y, window);
                self.end += 1;
                self.windows += 1;
                put_column(lo, hi, i, self.read());
                i += 1;
                if self.over_budget() {
                    break;
                }
            }
        }
        i
    }
}

impl<const R: usize> RankColumns<R> for TrackedRanks<'_, R> {
    #[inline(always)]
    fn fill_columns<const M: usize>(
        &mut self,
        lo: &mut [[f64; M]; R],
        hi: &mut [[f64; M]; R],
        len: usize,
    ) -> usize {
        let len = len.min(M);
        let mut i = 0;
        while i < len {
            // Windows left to the end of `xs`.
            let left = (self.xs.len() + 1).saturating_sub(self.end);
            let tracking = self.blocks.is_none() && self.end > self.n && left > 0;
            if tracking && !self.over_budget() {
                i = self.fill_tracked(lo, hi, i, len.min(i + left));
                continue;
            }
            // The first window, a hand-over, the blocks, or the end.
            let Some(ranks) = self.next() else {
                break;
            };
            put_column(lo, hi, i, ranks);
            i += 1;
        }
        i
    }
}

impl<const R: usize> Iterator for TrackedRanks<'_, R> {
    type Item = [(f64, f64); R];

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if let Some(blocks) = &mut self.blocks {
            return blocks.next();
        }
        if self.end > self.xs.len() {
            return None;
        }
        let window = &self.xs[self.end - self.n..self.end];
        if self.end == self.n {
            for hood in &mut self.hoods {
                hood.rebuild(window, &mut self.scratch);
            }
        } else {
            if self.over_budget() {
                // From the window ending before `end` on.
                let rest = &self.xs[self.end - self.n..];
                let mut blocks = SortedBlocks::new(rest, self.n, self.ranks);
                let first = blocks.next();
                self.blocks = Some(blocks);
                return first;
            }
            let x = self.xs[self.end - 1] + 0.0;
            let y = self.xs[self.end - 1 - self.n] + 0.0;
            // One branch for all ranks, rarely taken, rather than one each.
            let mut calm = true;
            for hood in &mut self.hoods {
                calm &= !hood.count(x, y) & hood.covers();
            }
            if !calm {
                self.shift(x, y, window);
            }
        }
        self.end += 1;
        self.windows += 1;
        Some(self.read())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = match &self.blocks {
            Some(blocks) => return blocks.size_hint(),
            None => (self.xs.len() + 1).saturating_sub(self.end),
        };
        (left, Some(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::reference::{bits, column_bits, ranks_by_sorting as naive};

    fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut x = seed;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    /// A daily cycle of 15-minute buckets with noise, as the benchmark's,
    /// plus `trend` per bucket.
    fn cycle(len: usize, trend: f64) -> Vec<f64> {
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        (0..len)
            .map(|i| {
                let phase = (i % 96) as f64 / 96.0 * core::f64::consts::TAU;
                let noise = (next() % 600) as f64;
                (10_000.0 + 4_000.0 * phase.sin() + noise + trend * i as f64).round()
            })
            .collect()
    }

    #[test]
    fn whole_days_stay_tracked_and_match_the_blocks() {
        let xs = cycle(6000, 0.0);
        for n in [384usize, 672] {
            let ranks = [(n - 1) / 4, (n - 1) / 2, 3 * (n - 1) / 4];
            let want = bits(SortedBlocks::new(&xs, n, ranks));
            let mut tracked = TrackedRanks::new(&xs, n, ranks);
            let got = bits(tracked.by_ref());
            assert_eq!(got, want, "n={n}");
            assert!(!tracked.handed_over(), "n={n}: a calm series stays tracked");
            let mut tracked = TrackedRanks::new(&xs, n, ranks);
            assert_eq!(column_bits(&mut tracked), want, "n={n}, by columns");
            assert!(!tracked.handed_over(), "n={n}: by columns too");
        }
        // Fractional values (every mantissa bit varies), as a ratio.
        let ctr: Vec<f64> = xs.iter().map(|x| x / 7.0).collect();
        let ranks = [167, 335, 503];
        let want = bits(SortedBlocks::new(&ctr, 672, ranks));
        assert_eq!(bits(TrackedRanks::new(&ctr, 672, ranks)), want);
        assert_eq!(column_bits(&mut TrackedRanks::new(&ctr, 672, ranks)), want);
    }

    #[test]
    fn drifting_windows_hand_over_to_the_blocks_and_match() {
        // A steep trend, and a window of a day and a half (its quantiles
        // swing with the time of day).
        for (xs, n) in [(cycle(5000, 3.0), 672usize), (cycle(5000, 0.0), 144)] {
            let ranks = [(n - 1) / 4, (n - 1) / 2, 3 * (n - 1) / 4];
            let want = bits(SortedBlocks::new(&xs, n, ranks));
            let mut tracked = TrackedRanks::new(&xs, n, ranks);
            let got = bits(tracked.by_ref());
            assert_eq!(got, want, "n={n}");
            assert!(tracked.handed_over(), "n={n}: drift hands over");
            let mut tracked = TrackedRanks::new(&xs, n, ranks);
            assert_eq!(column_bits(&mut tracked), want, "n={n}, by columns");
            assert!(tracked.handed_over(), "n={n}: by columns too");
        }
    }

    #[test]
    fn few_distinct_values_and_steps_match() {
        // Long runs of ties, a level shift in the middle, negatives.
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        let xs: Vec<f64> = (0..3000)
            .map(|i| {
                let level = if (1000..1600).contains(&i) {
                    -40.0
                } else {
                    0.0
                };
                level + (next() % 4) as f64
            })
            .collect();
        for n in [64usize, 200, 700] {
            let ranks = [(n - 1) / 4, (n - 1) / 2, 3 * (n - 1) / 4];
            let want = naive(&xs, n, &ranks);
            assert_eq!(bits(TrackedRanks::new(&xs, n, ranks)), want, "n={n}");
            assert_eq!(
                column_bits(&mut TrackedRanks::new(&xs, n, ranks)),
                want,
                "n={n}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn any_input_matches_sorting(
            xs in proptest::collection::vec(-50i32..50, 0..400),
            scale in proptest::sample::select(vec![1.0, 0.1, 1e-300, 1e300]),
            n in 2usize..120,
        ) {
            let xs: Vec<f64> = xs.iter().map(|&x| x as f64 * scale).collect();
            let ranks = [0, (n - 1) / 3, n - 2];
            let want = naive(&xs, n, &ranks);
            proptest::prop_assert_eq!(bits(TrackedRanks::new(&xs, n, ranks)), want.clone());
            proptest::prop_assert_eq!(column_bits(&mut TrackedRanks::new(&xs, n, ranks)), want);
        }
    }

    #[test]
    fn matches_sorting_every_window() {
        let mut next = xorshift(88172645463325252);
        for len in [0usize, 1, 2, 3, 5, 17, 100, 257, 700] {
            let xs: Vec<f64> = (0..len)
                .map(|_| match next() % 11 {
                    9 => -0.0,
                    10 => 0.0,
                    r => r as f64 - 3.0,
                })
                .collect();
            for n in [2usize, 3, 4, 5, 8, 13, 24, 25, 40, 97] {
                let ranks = [0, (n - 2) / 2, n - 2];
                let want = naive(&xs, n, &ranks);
                let got = bits(TrackedRanks::new(&xs, n, ranks));
                assert_eq!(got, want, "len={len} n={n}");
                let got = column_bits(&mut TrackedRanks::new(&xs, n, ranks));
                assert_eq!(got, want, "len={len} n={n}, by columns");
            }
        }
    }
}
