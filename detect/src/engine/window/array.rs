//! Long because it is one algorithm: the sorted array's branch-free update in
//! its portable, `f64`-lane and `f32`-lane forms, which must give the same
//! ranks; a sixth is tests.
//!
//! Batch rolling order statistics from one sorted array of the window,
//! updated by a branch-free pass over the whole array per step: for
//! mid-size windows (tens to a couple of hundred values), where a few dozen
//! SIMD vectors per step cost less than [`SortedBlocks`](super::SortedBlocks)'
//! block sorts, linked lists and cut moves.
//!
//! One step deletes the oldest value `out` and inserts the newest `y`. With
//! the window sorted as `s[0..n]` (`s[-1] = -inf`, `s[i] = +inf` from `n`
//! on), deleting the first copy of `out` gives
//! `d[i] = if s[i] < out { s[i] } else { s[i + 1] }` (`s` is sorted, so
//! `s[i] < out` exactly when `i` is before that copy), and inserting `y`
//! into `d` gives `max(d[i - 1], min(y, d[i]))` at every `i`. Each element
//! depends only on its neighbours, so the step is one pass with no branch
//! and no position search, O(n) work in SIMD lanes. It runs in place: the
//! pass reads `s[i]` and `s[i + 1]` before it writes `s[i]`, and carries
//! `d[i - 1]` in a register. The padding past `n` stays `+inf`.
//!
//! The array is stored transposed: with `V = ceil(n / 4)` vectors of four
//! lanes, sorted position `i` is lane `i / V` of vector `i % V`. Then the
//! neighbours `s[i + 1]` and `d[i - 1]` of a vector's elements are the same
//! lanes of the next and the previous vector, so the pass per vector is one
//! aligned load, a compare, a blend, a min, a max and an aligned store, with
//! no shuffle and no unaligned load (those are needed once per step, where
//! the last vector wraps around to the first one lane over).
//!
//! When every value of the input converts to `f32` and back unchanged
//! (integer counts below 2^24: most product metrics), the array holds `f32`
//! lanes, eight per vector instead of four: half the vectors per pass, the
//! same order, and the values read back widen to the very same `f64`s.
//! Which width runs is decided once per input ([`exact_in_f32`]).
//!
//! The values are finite and `-0.0` is stored as `0.0` (`+ 0.0`), so equal
//! values have equal bits and whichever of two equal operands a comparison
//! picks, the array holds exactly the window's sorted values: the same
//! bits as any other exact source, with or without SIMD.
//!
//! On x86-64 the pass uses AVX2 when the CPU has it (checked at run time);
//! elsewhere a scalar loop of the same operations (the detector then keeps
//! `SortedBlocks`: without SIMD the O(n) pass does not pay). Measured alone
//! (1e6 points, three ranks, ns per window, best of 11 alternating runs on
//! a 2-core AMD EPYC with AVX2 under load average 4.7-4.9, so about twice
//! the unloaded times), this vs `SortedBlocks`: n = 32: 8.5 vs 30, 96: 16.4
//! vs 30, 160: 25 vs 38, 256: 38 vs 41. The same pass in sorted order
//! (unaligned loads and two shuffles per vector) took 19.2 at n = 96. `f32`
//! against `f64` lanes (best of 15 interleaved runs, thread CPU time): n =
//! 96: 12.7 vs 17.6, 256: 23.7 vs 37.8.
//!
//! The IQR pipeline reads blocks of windows ([`RankColumns`]): per block,
//! the lane width and the pass are chosen once and the rank slots are
//! turned into lane offsets held in registers, so the loop over the
//! block holds only the pass and six loads. Read one window at a time,
//! the slots were reloaded from memory after each pass's stores; the whole
//! one-thread IQR run took 10-20 % longer (n = 32 to 256, integer and
//! fractional series, interleaved runs).

use super::{put_column, RankColumns};

/// One 32-byte vector of the transposed array: four `f64` lanes
/// ([`Wide`]) or, when every value of the input is exactly an `f32`,
/// eight `f32` lanes ([`Narrow`]): the same pass over half as many vectors.
///
/// # Safety
/// Implemented only by `repr(C)` wrappers of `[Self::Lane; Self::LANES]`:
/// [`lanes`](Vector::lanes) reads a slice of them as lanes.
unsafe trait Vector: Copy + core::fmt::Debug {
    type Lane: Copy + PartialOrd;
    const LANES: usize;
    const INF: Self::Lane;
    const NEG_INF: Self::Lane;
    fn filled(x: Self::Lane) -> Self;
    fn get(&self, lane: usize) -> Self::Lane;
    fn set(&mut self, lane: usize, x: Self::Lane);
    /// The input value as a lane (exact: see [`exact_in_f32`] for `f32`).
    fn lane(x: f64) -> Self::Lane;
    fn widen(x: Self::Lane) -> f64;
    /// [`step_portable`] with AVX2 instructions.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    unsafe fn pass_avx2(buf: &mut [Self], out: Self::Lane, y: Self::Lane);

    /// One step of the module docs' pass over `buf`: deletes one copy of
    /// `out` and inserts `y` (both finite, `-0.0` already `0.0`), with AVX2
    /// when `simd` (which only a CPU with AVX2 may ask for).
    #[inline(always)]
    fn pass(buf: &mut [Self], out: f64, y: f64, simd: bool) {
        let (out, y) = (Self::lane(out), Self::lane(y));
        #[cfg(target_arch = "x86_64")]
        if simd {
            // SAFETY: the caller only asks for SIMD when the CPU has AVX2.
            return unsafe { Self::pass_avx2(buf, out, y) };
        }
        let _ = simd;
        step_portable(buf, out, y)
    }

    /// The lanes of `buf`, vector after vector.
    #[inline(always)]
    fn lanes(buf: &[Self]) -> &[Self::Lane] {
        // SAFETY: `Self` is `repr(C)` over `[Self::Lane; LANES]` (the
        // trait's contract), so `buf` is `LANES * buf.len()` contiguous,
        // initialised lanes.
        unsafe { core::slice::from_raw_parts(buf.as_ptr().cast(), Self::LANES * buf.len()) }
    }
}

/// Four `f64` lanes, 32-byte aligned.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
struct Wide([f64; 4]);

/// Eight `f32` lanes, 32-byte aligned.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
struct Narrow([f32; 8]);

// SAFETY: `repr(C)` over `[f64; 4]`.
unsafe impl Vector for Wide {
    type Lane = f64;
    const LANES: usize = 4;
    const INF: f64 = f64::INFINITY;
    const NEG_INF: f64 = f64::NEG_INFINITY;
    fn filled(x: f64) -> Self {
        Wide([x; 4])
    }
    #[inline(always)]
    fn get(&self, lane: usize) -> f64 {
        self.0[lane]
    }
    #[inline(always)]
    fn set(&mut self, lane: usize, x: f64) {
        self.0[lane] = x;
    }
    #[inline(always)]
    fn lane(x: f64) -> f64 {
        x
    }
    #[inline(always)]
    fn widen(x: f64) -> f64 {
        x
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn pass_avx2(buf: &mut [Self], out: f64, y: f64) {
        // SAFETY: the caller's (the CPU has AVX2).
        unsafe { step_avx2_wide(buf, out, y) }
    }
}

// SAFETY: `repr(C)` over `[f32; 8]`.
unsafe impl Vector for Narrow {
    type Lane = f32;
    const LANES: usize = 8;
    const INF: f32 = f32::INFINITY;
    const NEG_INF: f32 = f32::NEG_INFINITY;
    fn filled(x: f32) -> Self {
        Narrow([x; 8])
    }
    #[inline(always)]
    fn get(&self, lane: usize) -> f32 {
        self.0[lane]
    }
    #[inline(always)]
    fn set(&mut self, lane: usize, x: f32) {
        self.0[lane] = x;
    }
    #[inline(always)]
    fn lane(x: f64) -> f32 {
        x as f32
    }
    #[inline(always)]
    fn widen(x: f32) -> f64 {
        x as f64
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn pass_avx2(buf: &mut [Self], out: f32, y: f32) {
        // SAFETY: the caller's (the CPU has AVX2).
        unsafe { step_avx2_narrow(buf, out, y) }
    }
}

/// True when every value converts to `f32` and back unchanged (integer
/// counts below 2^24, halves, quarters...): then `f32` lanes hold the
/// window exactly, so their order statistics are the same bits. A
/// branch-free pass per 64 values.
pub(crate) fn exact_in_f32(xs: &[f64]) -> bool {
    xs.chunks(64)
        .all(|c| c.iter().fold(true, |ok, &x| ok & ((x as f32) as f64 == x)))
}

/// The transposed array, in one of the two lane widths.
#[derive(Debug, Clone)]
enum Buf {
    Wide(Vec<Wide>),
    Narrow(Vec<Narrow>),
}

/// The sorted first window `xs[..n]` (`-0.0` as `0.0`), then `+inf` up to
/// a whole number of vectors, transposed: `s[i]` is lane `i / V` of vector
/// `i % V`.
fn transposed<V: Vector>(xs: &[f64], n: usize) -> Vec<V> {
    let v = n.div_ceil(V::LANES);
    let mut buf = vec![V::filled(V::INF); v];
    if xs.len() >= n {
        let mut first: Vec<f64> = xs[..n].iter().map(|&x| x + 0.0).collect();
        first.sort_unstable_by(f64::total_cmp);
        for (i, x) in first.into_iter().enumerate() {
            buf[i % v].set(i / v, V::lane(x));
        }
    }
    buf
}

/// Rolling order statistics of every window of `n` consecutive values of a
/// slice, at `R` fixed ranks, from a sorted array updated in O(n) SIMD work
/// per window (see the module docs). Same interface and results as
/// [`SortedBlocks`](super::SortedBlocks): per window, per rank `k`, the
/// values at sorted ranks `k` and `k + 1`; `-0.0` counts as `0.0`; values
/// must be finite.
#[derive(Debug, Clone)]
pub struct SortedArray<'a, const R: usize> {
    xs: &'a [f64],
    n: usize,
    /// End (exclusive) of the next window.
    j: usize,
    /// The sorted window, `s[0..n]`, then `+inf` up to a whole number of
    /// vectors, transposed: `s[i]` is lane `i / V` of vector `i % V`.
    buf: Buf,
    /// Where `s[k]` and `s[k + 1]` are in `buf` (as `(vector, lane)`), per
    /// rank `k`.
    at: [(Slot, Slot); R],
    /// Run the AVX2 pass (checked at construction; x86-64 only).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    simd: bool,
}

impl<'a, const R: usize> SortedArray<'a, R> {
    /// Windows of length `n >= 2` over `xs`, at ranks `ranks` (each
    /// `< n - 1`, so that rank `k + 1` exists). Uses AVX2 when the CPU has
    /// it, and `f32` lanes when every value is exactly an `f32`.
    pub fn new(xs: &'a [f64], n: usize, ranks: [usize; R]) -> Self {
        Self::with_simd(xs, n, ranks, Self::simd_available(), exact_in_f32(xs))
    }

    /// True when [`new`](Self::new) gets the SIMD pass: x86-64 with AVX2.
    pub fn simd_available() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx2")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// As [`new`](Self::new), with the portable pass when `simd` is false
    /// (or the CPU lacks AVX2), and `f32` lanes when `narrow`, which the
    /// caller may only ask for when [`exact_in_f32`]`(xs)` (checked once
    /// per run by the caller, not here: it costs about 1 ns per value). The
    /// same bits either way.
    pub(crate) fn with_simd(
        xs: &'a [f64],
        n: usize,
        ranks: [usize; R],
        simd: bool,
        narrow: bool,
    ) -> Self {
        assert!(n >= 2, "window length {n}");
        assert!(
            ranks.iter().all(|&k| k + 1 < n),
            "ranks {ranks:?} for n={n}"
        );
        debug_assert!(
            !narrow || exact_in_f32(xs),
            "f32 lanes for values no f32 holds"
        );
        let (buf, lanes) = if narrow {
            (Buf::Narrow(transposed(xs, n)), Narrow::LANES)
        } else {
            (Buf::Wide(transposed(xs, n)), Wide::LANES)
        };
        let v = n.div_ceil(lanes);
        let slot = |i: usize| (i % v, i / v);
        SortedArray {
            xs,
            n,
            j: n,
            buf,
            at: ranks.map(|k| (slot(k), slot(k + 1))),
            simd: simd && Self::simd_available(),
        }
    }

    /// True when the window is held in `f32` lanes.
    pub fn is_narrow(&self) -> bool {
        matches!(self.buf, Buf::Narrow(_))
    }

    /// Replaces one copy of `out` by `y` (both finite, `-0.0` already
    /// `0.0`), keeping the array sorted.
    #[inline(always)]
    fn step(&mut self, out: f64, y: f64) {
        match &mut self.buf {
            Buf::Wide(buf) => Wide::pass(buf, out, y, self.simd),
            Buf::Narrow(buf) => Narrow::pass(buf, out, y, self.simd),
        }
    }

    /// Values at ranks `k` and `k + 1` for each rank.
    #[inline(always)]
    fn read(&self) -> [(f64, f64); R] {
        match &self.buf {
            Buf::Wide(buf) => read(buf, &self.at),
            Buf::Narrow(buf) => read(buf, &self.at),
        }
    }
}

/// Where a sorted position is in the transposed array: (vector, lane).
type Slot = (usize, usize);

/// The values at the slots of ranks `k` and `k + 1`, per rank.
#[inline(always)]
fn read<V: Vector, const R: usize>(buf: &[V], at: &[(Slot, Slot); R]) -> [(f64, f64); R] {
    let get = |(v, lane): Slot| V::widen(buf[v].get(lane));
    let mut out = [(0.0, 0.0); R];
    for (o, &(lo, hi)) in out.iter_mut().zip(at) {
        *o = (get(lo), get(hi));
    }
    out
}

/// The pass of the module docs, one element at a time in sorted order
/// (`s[LANES * V] = +inf`). Kept out of line, so that the iterator inlines
/// into the rank loop with only the SIMD pass.
#[inline(never)]
fn step_portable<V: Vector>(buf: &mut [V], out: V::Lane, y: V::Lane) {
    let v = buf.len();
    let len = V::LANES * v;
    let at = |buf: &[V], i: usize| {
        if i < len {
            buf[i % v].get(i / v)
        } else {
            V::INF
        }
    };
    // d[i - 1], starting with d[-1] = -inf.
    let mut prev = V::NEG_INF;
    for i in 0..len {
        let (c, nx) = (at(buf, i), at(buf, i + 1));
        let d = if c < out { c } else { nx };
        let m = if y < d { y } else { d };
        buf[i % v].set(i / v, if prev > m { prev } else { m });
        prev = d;
    }
}

/// [`step_portable`] with AVX2 over the transposed `f64` array: the same
/// operations on the same elements, four at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn step_avx2_wide(buf: &mut [Wide], out: f64, y: f64) {
    use std::arch::x86_64::*;
    let v = buf.len();
    debug_assert!(v >= 1);
    let p = buf.as_mut_ptr().cast::<f64>();
    let (o, yv) = (_mm256_set1_pd(out), _mm256_set1_pd(y));
    // SAFETY: every access is to vector `0..v` of `buf`, whole and aligned
    // (`Wide` is 32-byte aligned).
    unsafe {
        let first = _mm256_load_pd(p);
        let last = _mm256_load_pd(p.add(4 * (v - 1)));
        // The last vector's `s[i + 1]`: the first vector one lane over,
        // then s[4V] = +inf.
        let t = _mm256_permute2f128_pd::<0x21>(first, _mm256_set1_pd(f64::INFINITY));
        let wrap = _mm256_shuffle_pd::<0b0101>(first, t);
        // d of the last vector = c < out ? c : next.
        let d_last = _mm256_blendv_pd(wrap, last, _mm256_cmp_pd::<_CMP_LT_OQ>(last, o));
        // The first vector's d[i - 1]: d of the last vector one lane back,
        // after d[-1] = -inf.
        let t = _mm256_permute2f128_pd::<0x21>(_mm256_set1_pd(f64::NEG_INFINITY), d_last);
        let mut prev = _mm256_shuffle_pd::<0b0101>(t, d_last);
        let mut c = first;
        for k in 0..v - 1 {
            let q = p.add(4 * k);
            let next = _mm256_load_pd(q.add(4));
            let d = _mm256_blendv_pd(next, c, _mm256_cmp_pd::<_CMP_LT_OQ>(c, o));
            // minpd(y, d) = y < d ? y : d; maxpd(prev, m) = prev > m ? prev : m.
            _mm256_store_pd(q, _mm256_max_pd(prev, _mm256_min_pd(yv, d)));
            prev = d;
            c = next;
        }
        let r = _mm256_max_pd(prev, _mm256_min_pd(yv, d_last));
        _mm256_store_pd(p.add(4 * (v - 1)), r);
    }
}

/// [`step_avx2_wide`] over the `f32` array: eight lanes per vector, the
/// lane shifts at the wrap-around by a lane permute and a blend.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn step_avx2_narrow(buf: &mut [Narrow], out: f32, y: f32) {
    use std::arch::x86_64::*;
    let v = buf.len();
    debug_assert!(v >= 1);
    let p = buf.as_mut_ptr().cast::<f32>();
    let (o, yv) = (_mm256_set1_ps(out), _mm256_set1_ps(y));
    // SAFETY: every access is to vector `0..v` of `buf`, whole and aligned
    // (`Narrow` is 32-byte aligned).
    unsafe {
        let first = _mm256_load_ps(p);
        let last = _mm256_load_ps(p.add(8 * (v - 1)));
        // The last vector's `s[i + 1]`: the first vector one lane down,
        // then s[8V] = +inf in the top lane.
        let down = _mm256_permutevar8x32_ps(first, _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 7));
        let wrap = _mm256_blend_ps::<0b1000_0000>(down, _mm256_set1_ps(f32::INFINITY));
        let d_last = _mm256_blendv_ps(wrap, last, _mm256_cmp_ps::<_CMP_LT_OQ>(last, o));
        // The first vector's d[i - 1]: d of the last vector one lane up,
        // after d[-1] = -inf in the bottom lane.
        let up = _mm256_permutevar8x32_ps(d_last, _mm256_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6));
        let mut prev = _mm256_blend_ps::<0b0000_0001>(up, _mm256_set1_ps(f32::NEG_INFINITY));
        let mut c = first;
        for k in 0..v - 1 {
            let q = p.add(8 * k);
            let next = _mm256_load_ps(q.add(8));
            let d = _mm256_blendv_ps(next, c, _mm256_cmp_ps::<_CMP_LT_OQ>(c, o));
            _mm256_store_ps(q, _mm256_max_ps(prev, _mm256_min_ps(yv, d)));
            prev = d;
            c = next;
        }
        let r = _mm256_max_ps(prev, _mm256_min_ps(yv, d_last));
        _mm256_store_ps(p.add(8 * (v - 1)), r);
    }
}

impl<const R: usize> RankColumns<R> for SortedArray<'_, R> {
    /// What [`next`](Iterator::next) does per window, with the lane width
    /// and the kind of pass chosen once per block instead of once per
    /// window, so that the loop over the block holds only the pass and the
    /// reads.
    #[inline(always)]
    fn fill_columns<const M: usize>(
        &mut self,
        lo: &mut [[f64; M]; R],
        hi: &mut [[f64; M]; R],
        len: usize,
    ) -> usize {
        let len = len.min(M);
        let mut i = 0;
        // The first window: sorted at construction, no step.
        if i < len && self.j == self.n {
            match self.next() {
                Some(ranks) => put_column(lo, hi, i, ranks),
                None => return 0,
            }
            i += 1;
        }
        // Windows left to the end of `xs`, each one step past the last.
        let count = (len - i).min((self.xs.len() + 1).saturating_sub(self.j));
        if count == 0 {
            return i;
        }
        let from = self.j - 1;
        let entering = &self.xs[from..from + count];
        let leaving = &self.xs[from - self.n..from - self.n + count];
        let (at, simd) = (&self.at, self.simd);
        match &mut self.buf {
            Buf::Wide(buf) => fill_stepping(buf, leaving, entering, at, simd, lo, hi, i),
            Buf::Narrow(buf) => fill_stepping(buf, leaving, entering, at, simd, lo, hi, i),
        }
        self.j += count;
        i + count
    }
}

/// Per pair of `leaving` and `entering` values, one step of the pass, then
/// the window's ranks into the next column from `i` on. The SIMD choice is
/// made here, once, so that each of the two loops calls one pass.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn fill_stepping<V: Vector, const M: usize, const R: usize>(
    buf: &mut [V],
    leaving: &[f64],
    entering: &[f64],
    at: &[(Slot, Slot); R],
    simd: bool,
    lo: &mut [[f64; M]; R],
    hi: &mut [[f64; M]; R],
    i: usize,
) {
    // Each rank's two slots as lane offsets, in locals for the whole
    // block (read from `at` per window, they were reloaded after every
    // pass's stores).
    let flat = |(v, lane): Slot| V::LANES * v + lane;
    let offsets: [(usize, usize); R] = core::array::from_fn(|r| (flat(at[r].0), flat(at[r].1)));
    let put = |buf: &[V], lo: &mut [[f64; M]; R], hi: &mut [[f64; M]; R], i: usize| {
        let lanes = V::lanes(buf);
        for (r, &(a, b)) in offsets.iter().enumerate() {
            (lo[r][i], hi[r][i]) = (V::widen(lanes[a]), V::widen(lanes[b]));
        }
    };
    let steps = leaving.iter().zip(entering).zip(i..);
    if simd {
        for ((&out, &y), i) in steps {
            V::pass(buf, out + 0.0, y + 0.0, true);
            put(buf, lo, hi, i);
        }
    } else {
        for ((&out, &y), i) in steps {
            V::pass(buf, out + 0.0, y + 0.0, false);
            put(buf, lo, hi, i);
        }
    }
}

impl<const R: usize> Iterator for SortedArray<'_, R> {
    type Item = [(f64, f64); R];

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.j > self.xs.len() {
            return None;
        }
        if self.j > self.n {
            let (out, y) = (self.xs[self.j - 1 - self.n], self.xs[self.j - 1]);
            self.step(out + 0.0, y + 0.0);
        }
        self.j += 1;
        Some(self.read())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.xs.len() + 1).saturating_sub(self.j);
        (left, Some(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::reference::{bits, column_bits, ranks_by_sorting as naive};
    use crate::window::SortedBlocks;

    #[test]
    fn matches_sorting_every_window() {
        let mut x = 88172645463325252u64;
        for len in [0usize, 1, 2, 3, 5, 17, 100, 257] {
            let xs: Vec<f64> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Many ties, some negatives, -0.0 and 0.0.
                    match x % 11 {
                        9 => -0.0,
                        10 => 0.0,
                        r => r as f64 - 3.0,
                    }
                })
                .collect();
            for n in [2usize, 3, 4, 5, 8, 13, 24, 25, 40] {
                let ranks = [0, (n - 2) / 2, n - 2];
                let want = naive(&xs, n, &ranks);
                assert!(exact_in_f32(&xs), "small integers are f32");
                for (simd, narrow) in [(false, false), (true, false), (false, true), (true, true)] {
                    let array = SortedArray::with_simd(&xs, n, ranks, simd, narrow);
                    assert_eq!(array.is_narrow(), narrow);
                    let got = bits(array);
                    assert_eq!(got, want, "len={len} n={n} simd={simd} narrow={narrow}");
                    let mut array = SortedArray::with_simd(&xs, n, ranks, simd, narrow);
                    let by_columns = column_bits(&mut array);
                    assert_eq!(
                        by_columns, want,
                        "columns: len={len} n={n} simd={simd} narrow={narrow}"
                    );
                }
                let blocks = bits(SortedBlocks::new(&xs, n, ranks));
                assert_eq!(blocks, want, "len={len} n={n}");
            }
        }
    }

    #[test]
    fn wide_values_match_the_blocks() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let xs: Vec<f64> = (0..1500)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let v = (x % 20_000) as f64 * 0.5 - 3000.0;
                if i % 97 == 0 {
                    v * 1e12
                } else if i % 31 == 0 {
                    -v * 1e-300
                } else {
                    v
                }
            })
            .collect();
        for n in [26usize, 96, 97, 130] {
            let ranks = [(n - 1) / 4, (n - 1) / 2, 3 * (n - 1) / 4];
            let want = bits(SortedBlocks::new(&xs, n, ranks));
            for simd in [false, true] {
                assert!(!exact_in_f32(&xs), "1e-300 is not an f32");
                let array = SortedArray::new(&xs, n, ranks);
                assert!(!array.is_narrow());
                let array = SortedArray::with_simd(&xs, n, ranks, simd, false);
                let got = bits(array);
                assert_eq!(got, want, "n={n} simd={simd}");
                let mut array = SortedArray::with_simd(&xs, n, ranks, simd, false);
                assert_eq!(column_bits(&mut array), want, "columns: n={n} simd={simd}");
            }
        }
    }
}
