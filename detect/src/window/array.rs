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
//! (unaligned loads and two shuffles per vector) took 19.2 at n = 96.

/// 32-byte aligned lanes: one vector of the transposed array.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
struct Lanes([f64; 4]);

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
    /// The sorted window, `s[0..n]`, then `+inf` up to `4 * buf.len()`,
    /// transposed: `s[i]` is `buf[i % V].0[i / V]`, `V = buf.len()`.
    buf: Vec<Lanes>,
    /// Where `s[k]` and `s[k + 1]` are in `buf` (as `(vector, lane)`), per
    /// rank `k`.
    at: [((usize, usize), (usize, usize)); R],
    /// Run the AVX2 pass (checked at construction; x86-64 only).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    simd: bool,
}

impl<'a, const R: usize> SortedArray<'a, R> {
    /// Windows of length `n >= 2` over `xs`, at ranks `ranks` (each
    /// `< n - 1`, so that rank `k + 1` exists). Uses AVX2 when the CPU has
    /// it.
    pub fn new(xs: &'a [f64], n: usize, ranks: [usize; R]) -> Self {
        Self::with_simd(xs, n, ranks, Self::simd_available())
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
    /// (or the CPU lacks AVX2): the same bits either way.
    pub(crate) fn with_simd(xs: &'a [f64], n: usize, ranks: [usize; R], simd: bool) -> Self {
        assert!(n >= 2, "window length {n}");
        assert!(
            ranks.iter().all(|&k| k + 1 < n),
            "ranks {ranks:?} for n={n}"
        );
        // n values, then +inf up to a whole number of vectors.
        let v = n.div_ceil(4);
        let mut buf = vec![Lanes([f64::INFINITY; 4]); v];
        let slot = |i: usize| (i % v, i / v);
        if xs.len() >= n {
            let mut first: Vec<f64> = xs[..n].iter().map(|&x| x + 0.0).collect();
            first.sort_unstable_by(f64::total_cmp);
            for (i, x) in first.into_iter().enumerate() {
                let (v, lane) = slot(i);
                buf[v].0[lane] = x;
            }
        }
        SortedArray {
            xs,
            n,
            j: n,
            buf,
            at: ranks.map(|k| (slot(k), slot(k + 1))),
            simd: simd && Self::simd_available(),
        }
    }

    /// Replaces one copy of `out` by `y` (both finite, `-0.0` already
    /// `0.0`), keeping the array sorted.
    #[inline(always)]
    fn step(&mut self, out: f64, y: f64) {
        #[cfg(target_arch = "x86_64")]
        if self.simd {
            // SAFETY: `simd` is only set when the CPU has AVX2.
            return unsafe { step_avx2(&mut self.buf, out, y) };
        }
        step_portable(&mut self.buf, out, y)
    }

    /// Values at ranks `k` and `k + 1` for each rank.
    #[inline(always)]
    fn read(&self) -> [(f64, f64); R] {
        let get = |(v, lane): (usize, usize)| self.buf[v].0[lane];
        let mut out = [(0.0, 0.0); R];
        for (o, &(lo, hi)) in out.iter_mut().zip(&self.at) {
            *o = (get(lo), get(hi));
        }
        out
    }
}

/// The pass of the module docs, one element at a time in sorted order
/// (`s[4V] = +inf`). Kept out of line, so that the iterator inlines into
/// the rank loop with only the SIMD pass.
#[inline(never)]
fn step_portable(buf: &mut [Lanes], out: f64, y: f64) {
    let v = buf.len();
    let len = 4 * v;
    let at = |buf: &[Lanes], i: usize| {
        if i < len {
            buf[i % v].0[i / v]
        } else {
            f64::INFINITY
        }
    };
    // d[i - 1], starting with d[-1] = -inf.
    let mut prev = f64::NEG_INFINITY;
    for i in 0..len {
        let (c, nx) = (at(buf, i), at(buf, i + 1));
        let d = if c < out { c } else { nx };
        let m = if y < d { y } else { d };
        buf[i % v].0[i / v] = if prev > m { prev } else { m };
        prev = d;
    }
}

/// [`step_portable`] with AVX2 over the transposed array: the same
/// operations on the same elements, four at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn step_avx2(buf: &mut [Lanes], out: f64, y: f64) {
    use std::arch::x86_64::*;
    let v = buf.len();
    debug_assert!(v >= 1);
    let p = buf.as_mut_ptr().cast::<f64>();
    let (o, yv) = (_mm256_set1_pd(out), _mm256_set1_pd(y));
    // SAFETY: every access is to vector `0..v` of `buf`, whole and aligned
    // (`Lanes` is 32-byte aligned).
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
    use crate::window::reference::{bits, ranks_by_sorting as naive};
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
                for simd in [false, true] {
                    let got = bits(SortedArray::with_simd(&xs, n, ranks, simd));
                    assert_eq!(got, want, "len={len} n={n} simd={simd}");
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
                let got = bits(SortedArray::with_simd(&xs, n, ranks, simd));
                assert_eq!(got, want, "n={n} simd={simd}");
            }
        }
    }
}
