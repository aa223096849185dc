//! Batch rolling order statistics by sorted blocks and linked lists
//! (J. Suomela, "Median filtering is equivalent to sorting", 2014),
//! generalised from the median to any fixed ranks.
//!
//! The input is cut into blocks of `n` values. Every window of `n`
//! consecutive values is a suffix of one block (`A`) plus a prefix of the
//! next (`B`). Each block is sorted once and kept as a doubly linked list in
//! sorted order. Sliding one step deletes the oldest value from `A`'s list
//! and adds the newest to `B`'s list; `B`'s list was built complete and then
//! emptied in reverse order, so re-inserting in forward order is O(1) per
//! value ("dancing links").
//!
//! A rank `k` is tracked as a *cut* in the merged sorted order of the two
//! lists (ties: `A` before `B`, then by position in the block): `pa`/`pb`
//! are the first element of each list after the cut, and the `k` elements
//! before the cut are the `k` smallest of the window. A step changes the
//! number of elements before the cut by at most one, so the cut moves by at
//! most one element: O(1). The values at ranks `k - 1` and `k` are the
//! larger of the two predecessors and the smaller of `pa`/`pb`.
//!
//! Cost: sorting each block, i.e. O(log n) comparisons per value amortised
//! (`sort_unstable` on packed `u64` keys; from [`RADIX_MIN`] values an LSD
//! radix sort over the bytes that vary, at most 8 O(n) passes), plus O(1)
//! list and cut updates per value and per rank. All the working memory is
//! two blocks of `n` nodes, allocated once. Measured on 1e6 points (2-core
//! x86-64 VM): 19-21 ns per window for three ranks at n = 96 and 672,
//! against 60-90 ns for the sorted array.

/// A list node: a value and its neighbours in sorted order (one 16-byte
/// load per visit).
#[derive(Debug, Clone, Copy, Default)]
struct Node {
    val: f64,
    next: u32,
    prev: u32,
}

/// One sorted block as a doubly linked list over sorted ranks `0..len`,
/// with a tail sentinel at index `cap` (value +inf) and a head sentinel at
/// `cap + 1` (value -inf), so comparisons need no end-of-list branches.
#[derive(Debug, Clone)]
struct Block {
    cap: usize,
    /// Nodes by sorted rank, then the two sentinels.
    nodes: Vec<Node>,
    /// Sorted rank of the value at each position of the block.
    rank_of: Vec<u32>,
}

/// Scratch space for sorting a block.
#[derive(Debug, Clone, Default)]
struct SortBuf {
    packed: Vec<u64>,
    pairs: Vec<(u64, u32)>,
    order: Vec<u32>,
    radix: Vec<u64>,
    counts: Vec<[u32; 256]>,
}

/// Block length from which [`radix_sort`] beats `sort_unstable`. Byte-wise
/// radix (earlier, `iqr_throughput`, buffer reused, M points/s, without vs
/// with: n = 96: 31 vs 29, 256: 24.9 vs 24.9, 672: 28.7 vs 29.8, 2048: 24.0
/// vs 25.8) lost up to 256; over the varying bit span it wins from 64 on
/// (whole `asof` run, ns per point, threshold 256 vs 64, load average 3.7:
/// n = 96: 27.7 vs 26.6, 200: 33.3 vs 28.9).
const RADIX_MIN: usize = 64;

/// Sorts `keys` by their `mask` bits (the rest: any order), LSD radix over
/// the span of bits that vary: the values of one block are usually close,
/// so most high bits are the same in every key, and often many low ones
/// too (integer counts). The span from the lowest to the highest varying
/// bit is cut into 8-bit digits (not byte-aligned, so 16 varying bits take
/// two passes, not three), all counted in one read of the keys. O(n) per
/// digit.
fn radix_sort(keys: &mut Vec<u64>, mask: u64, tmp: &mut Vec<u64>, counts: &mut Vec<[u32; 256]>) {
    const MAX_DIGITS: usize = 8;
    let Some(&first) = keys.first() else {
        return;
    };
    let varying = keys.iter().fold(0, |acc, &k| acc | (k ^ first)) & mask;
    if varying == 0 {
        return;
    }
    let lo = varying.trailing_zeros();
    let span = 64 - varying.leading_zeros() - lo;
    let digits = span.div_ceil(8) as usize;
    let shifts: [u32; MAX_DIGITS] = core::array::from_fn(|d| (lo + 8 * d as u32).min(63));
    let digit = |k: u64, d: usize| ((k & mask) >> shifts[d]) as usize & 0xff;
    // Zeroing only the digits used (a full [[_; 256]; 8] would cost more
    // than sorting a short block).
    counts.clear();
    counts.resize(digits, [0; 256]);
    for &k in keys.iter() {
        for (d, c) in counts.iter_mut().enumerate() {
            c[digit(k, d)] += 1;
        }
    }
    tmp.clear();
    tmp.resize(keys.len(), 0);
    for (d, c) in counts.iter_mut().enumerate() {
        let mut sum = 0;
        for c in c.iter_mut() {
            let here = *c;
            *c = sum;
            sum += here;
        }
        for &k in keys.iter() {
            let b = digit(k, d);
            tmp[c[b] as usize] = k;
            c[b] += 1;
        }
        core::mem::swap(keys, tmp);
    }
}

impl SortBuf {
    /// Fills `self.order` with the positions of `chunk` in ascending order
    /// of value (ties in any order).
    ///
    /// Fast path: sort plain `u64`s holding the key's high bits and the
    /// position in the low `b` bits (b = bits of the block length), which
    /// is 2-3x faster than sorting (key, position) pairs; then one linear
    /// pass checks the result against the full keys. Only values equal in
    /// all but their lowest `b` bits can come out of order; then the block
    /// is sorted again by (key, position). Either way O(n log n).
    fn sort(&mut self, chunk: &[f64]) {
        let bits = usize::BITS - chunk.len().leading_zeros();
        let low = (1u64 << bits) - 1;
        self.packed.clear();
        self.packed.extend(
            chunk
                .iter()
                .enumerate()
                .map(|(i, &x)| (sort_key(x + 0.0) & !low) | i as u64),
        );
        if chunk.len() >= RADIX_MIN {
            radix_sort(&mut self.packed, !low, &mut self.radix, &mut self.counts);
        } else {
            self.packed.sort_unstable();
        }
        self.order.clear();
        self.order
            .extend(self.packed.iter().map(|&k| (k & low) as u32));
        // Neighbours whose high bits differ are in order by construction.
        let key = |k: u64| sort_key(chunk[(k & low) as usize] + 0.0);
        let in_order = |w: &[u64]| (w[0] ^ w[1]) & !low != 0 || key(w[0]) <= key(w[1]);
        if self.packed.windows(2).all(in_order) {
            return;
        }
        self.pairs.clear();
        self.pairs.extend(
            chunk
                .iter()
                .enumerate()
                .map(|(i, &x)| (sort_key(x + 0.0), i as u32)),
        );
        self.pairs.sort_unstable();
        self.order.clear();
        self.order.extend(self.pairs.iter().map(|&(_, i)| i));
    }
}

impl Block {
    fn new(cap: usize) -> Self {
        let mut b = Block {
            cap,
            nodes: vec![Node::default(); cap + 2],
            rank_of: vec![0; cap],
        };
        b.load(&[], &mut SortBuf::default(), true);
        b
    }

    #[inline]
    fn tail(&self) -> u32 {
        self.cap as u32
    }

    #[inline]
    fn head(&self) -> u32 {
        self.cap as u32 + 1
    }

    #[inline]
    fn node(&self, r: u32) -> Node {
        debug_assert!((r as usize) < self.nodes.len());
        // SAFETY: every node index a block uses is below `nodes.len()`,
        // which is `cap + 2` from `new` on and never changes: ranks are
        // below `cap` (`load` writes `nodes[r]` and `rank_of` with checked
        // indexing, so no larger rank gets in), the sentinels are `cap` and
        // `cap + 1`, and links and cuts only ever copy such indices. This
        // runs a dozen times per window: unchecked, the rank loop is
        // measurably shorter.
        unsafe { *self.nodes.get_unchecked(r as usize) }
    }

    #[inline]
    fn node_mut(&mut self, r: u32) -> &mut Node {
        debug_assert!((r as usize) < self.nodes.len());
        // SAFETY: as in `node`.
        unsafe { self.nodes.get_unchecked_mut(r as usize) }
    }

    /// Sorts `chunk` (at most `cap` values) into this block. With `empty`,
    /// the list is then emptied in reverse position order, ready for
    /// [`relink`](Self::relink) in forward order.
    fn load(&mut self, chunk: &[f64], buf: &mut SortBuf, empty: bool) {
        debug_assert!(chunk.len() <= self.cap);
        buf.sort(chunk);
        let (tail, head) = (self.tail(), self.head());
        let len = chunk.len();
        for (r, &i) in buf.order.iter().enumerate() {
            self.nodes[r] = Node {
                // `+ 0.0` turns -0.0 into 0.0.
                val: chunk[i as usize] + 0.0,
                next: if r + 1 == len { tail } else { r as u32 + 1 },
                prev: if r == 0 { head } else { r as u32 - 1 },
            };
            self.rank_of[i as usize] = r as u32;
        }
        self.nodes[tail as usize] = Node {
            val: f64::INFINITY,
            next: tail,
            prev: if len > 0 { len as u32 - 1 } else { head },
        };
        self.nodes[head as usize] = Node {
            val: f64::NEG_INFINITY,
            next: if len > 0 { 0 } else { tail },
            prev: head,
        };
        if empty {
            for i in (0..len).rev() {
                self.unlink(self.rank_of[i]);
            }
        }
    }

    #[inline]
    fn unlink(&mut self, r: u32) {
        let Node { prev, next, .. } = self.node(r);
        self.node_mut(prev).next = next;
        self.node_mut(next).prev = prev;
    }

    /// Undoes the most recent [`unlink`](Self::unlink) still in effect.
    #[inline]
    fn relink(&mut self, r: u32) {
        let Node { prev, next, .. } = self.node(r);
        self.node_mut(prev).next = r;
        self.node_mut(next).prev = r;
    }
}

/// Order-preserving map of a finite float (not -0.0) to `u64`.
#[inline]
fn sort_key(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// A cut in the merged order: `pa`/`pb` are the first elements after it.
#[derive(Debug, Clone, Copy)]
struct Cut {
    pa: u32,
    pb: u32,
}

/// Rolling order statistics of every window of `n` consecutive values of a
/// slice, at `R` fixed ranks, in O(log n) amortised per window (see the
/// module docs).
///
/// For each window, in order, [`next`](Iterator::next) gives, per rank
/// `k`, the values at sorted ranks `k` and `k + 1` (0-based): exactly what
/// sorting the window would give, for any input order. `-0.0` counts as
/// `0.0`. Values must be finite.
#[derive(Debug, Clone)]
pub struct SortedBlocks<'a, const R: usize> {
    xs: &'a [f64],
    n: usize,
    /// End (inclusive) of the next window.
    j: usize,
    /// `j % n` (kept to avoid a division per step).
    i: usize,
    a: Block,
    b: Block,
    cuts: [Cut; R],
    buf: SortBuf,
}

impl<'a, const R: usize> SortedBlocks<'a, R> {
    /// Windows of length `n >= 2` over `xs`, at ranks `ranks` (each
    /// `< n - 1`, so that rank `k + 1` exists).
    pub fn new(xs: &'a [f64], n: usize, ranks: [usize; R]) -> Self {
        assert!(n >= 2 && n < u32::MAX as usize - 2, "window length {n}");
        assert!(
            ranks.iter().all(|&k| k + 1 < n),
            "ranks {ranks:?} for n={n}"
        );
        let mut buf = SortBuf::default();
        let mut a = Block::new(n);
        let b = Block::new(n);
        if xs.len() >= n {
            a.load(&xs[..n], &mut buf, false);
        }
        // The first window is block 0 alone: k elements before the cut.
        let cuts = ranks.map(|k| Cut {
            pa: k as u32 + 1,
            pb: b.tail(),
        });
        SortedBlocks {
            xs,
            n,
            j: n - 1,
            i: n - 1,
            a,
            b,
            cuts,
            buf,
        }
    }

    /// Values at ranks `k` and `k + 1` for each cut.
    #[inline]
    fn read(&self) -> [(f64, f64); R] {
        let (a, b) = (&self.a, &self.b);
        // A loop, not `array::map`, which does not always inline.
        let mut out = [(0.0, 0.0); R];
        for (o, c) in out.iter_mut().zip(&self.cuts) {
            let (na, nb) = (a.node(c.pa), b.node(c.pb));
            let lo_a = a.node(na.prev).val;
            let lo_b = b.node(nb.prev).val;
            let (hi_a, hi_b) = (na.val, nb.val);
            *o = (
                if lo_b >= lo_a { lo_b } else { lo_a },
                if hi_a <= hi_b { hi_a } else { hi_b },
            );
        }
        out
    }

    /// Moves to the window ending at `self.j` (>= n).
    fn slide(&mut self) {
        let n = self.n;
        self.i += 1;
        if self.i == n {
            self.i = 0;
        }
        let i = self.i;
        if i == 0 {
            if self.j >= 2 * n {
                // A is now empty, B complete: B becomes A.
                core::mem::swap(&mut self.a, &mut self.b);
                let tail = self.b.tail();
                for c in &mut self.cuts {
                    c.pa = c.pb;
                    c.pb = tail;
                }
            }
            let end = (self.j + n).min(self.xs.len());
            self.b.load(&self.xs[self.j..end], &mut self.buf, true);
        }
        // Delete the oldest value from A.
        let ra = self.a.rank_of[i];
        let a_next = self.a.node(ra).next;
        let mut delta = [0i8; R];
        for (c, d) in self.cuts.iter_mut().zip(&mut delta) {
            if c.pa == ra {
                c.pa = a_next;
            } else if ra < c.pa {
                *d = -1;
            }
        }
        self.a.unlink(ra);
        // Add the newest value to B: before the cut if it precedes both
        // first elements after it.
        let rb = self.b.rank_of[i];
        self.b.relink(rb);
        let vb = self.b.node(rb).val;
        for (c, d) in self.cuts.iter_mut().zip(&mut delta) {
            if rb < c.pb {
                if vb < self.a.node(c.pa).val {
                    *d += 1;
                } else {
                    c.pb = rb;
                }
            }
        }
        // Restore the count before each cut: at most one move, forward
        // (d < 0: take the smaller first-after) or back (d > 0: give back
        // the larger last-before).
        let (a, b) = (&self.a, &self.b);
        for (c, &d) in self.cuts.iter_mut().zip(&delta) {
            if d < 0 {
                let (na, nb) = (a.node(c.pa), b.node(c.pb));
                if na.val <= nb.val {
                    c.pa = na.next;
                } else {
                    c.pb = nb.next;
                }
            } else if d > 0 {
                let (qa, qb) = (a.node(c.pa).prev, b.node(c.pb).prev);
                if b.node(qb).val >= a.node(qa).val {
                    c.pb = qb;
                } else {
                    c.pa = qa;
                }
            }
        }
    }
}

impl<const R: usize> Iterator for SortedBlocks<'_, R> {
    type Item = [(f64, f64); R];

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.j >= self.xs.len() {
            return None;
        }
        if self.j >= self.n {
            self.slide();
        }
        self.j += 1;
        Some(self.read())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.xs.len().saturating_sub(self.j);
        (left, Some(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::reference::{bits, ranks_by_sorting as naive};

    #[test]
    fn matches_sorting_every_window() {
        let mut x = 88172645463325252u64;
        for len in [0usize, 1, 2, 3, 5, 17, 100, 257] {
            let xs: Vec<f64> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Many ties, some negatives.
                    (x % 9) as f64 - 3.0
                })
                .collect();
            for n in [2usize, 3, 4, 5, 8, 13] {
                let ranks = [0, (n - 2) / 2, n - 2];
                let got = bits(SortedBlocks::new(&xs, n, ranks));
                assert_eq!(got, naive(&xs, n, &ranks), "len={len} n={n}");
            }
        }
    }

    #[test]
    fn long_windows_use_radix_sort_and_match() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let xs: Vec<f64> = (0..1200)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let v = (x % 20_000) as f64 * 0.5 - 3000.0;
                if i % 97 == 0 {
                    v * 1e12
                } else {
                    v
                }
            })
            .collect();
        let n = RADIX_MIN + 44;
        let ranks = [0, n / 4, n - 2];
        let got = bits(SortedBlocks::new(&xs, n, ranks));
        assert_eq!(got, naive(&xs, n, &ranks));
        let mut keys: Vec<u64> = xs.iter().map(|&v| sort_key(v + 0.0)).collect();
        let mut want = keys.clone();
        want.sort_unstable();
        radix_sort(&mut keys, !0, &mut Vec::new(), &mut Vec::new());
        assert_eq!(keys, want);
    }

    #[test]
    fn values_differing_only_in_low_bits_take_the_slow_sort() {
        // Keys equal above the low `b` bits: the packed sort orders them by
        // position, the check catches it and the pair sort fixes it.
        let xs: Vec<f64> = (0..200)
            .map(|i| f64::from_bits(1.0f64.to_bits() + ((i * 7919) % 13) as u64))
            .chain([-0.0, 0.0, -1.0, -1.0 - f64::EPSILON, 3.0])
            .collect();
        let mut buf = SortBuf::default();
        buf.sort(&xs[..64]);
        let sorted: Vec<f64> = buf.order.iter().map(|&i| xs[i as usize]).collect();
        assert!(sorted.windows(2).all(|w| w[0] <= w[1]));
        for n in [2usize, 5, 16, 40] {
            let ranks = [0, (n - 2) / 2, n - 2];
            let got = bits(SortedBlocks::new(&xs, n, ranks));
            assert_eq!(got, naive(&xs, n, &ranks), "n={n}");
        }
    }
}
