//! Sorting networks for short fixed-length windows: a fixed sequence of
//! compare-exchanges, no data-dependent branches, so sorting many windows
//! in a loop vectorises across windows.

/// Longest window [`sort`] is instantiated for.
pub const NETWORK_MAX: usize = 24;

/// Room for the comparators of any `n <= NETWORK_MAX`.
/// Room for the comparators of any `n <= NETWORK_MAX` (the unrolled
/// [`sort`] has one step per slot).
const MAX_COMPARATORS: usize = 128;

/// Batcher's merge-exchange network for `n` inputs (Knuth, TAOCP vol. 3,
/// 5.2.2, Algorithm M), as `(i, j)` pairs with `i < j`, in order; valid for
/// any `n`, not only powers of two. 9 comparators for 5 inputs (optimal),
/// 63 for 16.
const fn batcher(n: usize) -> ([(u8, u8); MAX_COMPARATORS], usize) {
    let mut out = [(0u8, 0u8); MAX_COMPARATORS];
    let mut len = 0;
    if n < 2 {
        return (out, 0);
    }
    let mut t = 0;
    while (1usize << t) < n {
        t += 1;
    }
    let mut p = 1usize << (t - 1);
    while p > 0 {
        let mut q = 1usize << (t - 1);
        let mut r = 0;
        let mut d = p;
        loop {
            let mut i = 0;
            while i + d < n {
                if i & p == r {
                    out[len] = (i as u8, (i + d) as u8);
                    len += 1;
                }
                i += 1;
            }
            if q == p {
                break;
            }
            d = q - p;
            q >>= 1;
            r = p;
        }
        p >>= 1;
    }
    (out, len)
}

struct Net<const N: usize>;

impl<const N: usize> Net<N> {
    const COMPARATORS: ([(u8, u8); MAX_COMPARATORS], usize) = {
        assert!(N <= NETWORK_MAX);
        batcher(N)
    };
}

/// Sorts `v` ascending (finite values; `-0.0` and `0.0` are not told
/// apart). Fully unrolled for a given `N`; comparators whose outputs the
/// caller never reads are dropped by the compiler, so reading a few ranks
/// costs a selection network.
#[inline(always)]
pub fn sort<const N: usize>(v: &mut [f64; N]) {
    let (net, len) = Net::<N>::COMPARATORS;
    // Unrolled by hand: a loop over the comparators is not always unrolled
    // by the compiler, and then `v` lives in memory with computed indices
    // (about 15x slower at N = 13). Every `c < len` is a constant.
    macro_rules! unrolled {
        ($($c:literal)*) => {$(
            if $c < len {
                let (i, j) = net[$c];
                let (a, b) = (v[i as usize], v[j as usize]);
                let swap = b < a;
                v[i as usize] = if swap { b } else { a };
                v[j as usize] = if swap { a } else { b };
            }
        )*};
    }
    unrolled!(
        0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32
        33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61
        62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90
        91 92 93 94 95 96 97 98 99 100 101 102 103 104 105 106 107 108 109 110 111 112 113 114
        115 116 117 118 119 120 121 122 123 124 125 126 127
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 0-1 principle: a network sorts every input iff it sorts every 0/1
    /// input.
    fn sorts_all_binary<const N: usize>() {
        for bits in 0u32..(1 << N) {
            let mut v: [f64; N] = core::array::from_fn(|i| f64::from((bits >> i) & 1));
            sort(&mut v);
            assert!(v.windows(2).all(|w| w[0] <= w[1]), "N={N} bits={bits:b}");
        }
    }

    fn sorts_random<const N: usize>() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let mut v: [f64; N] = core::array::from_fn(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 7) as f64 - 3.0
            });
            let mut want = v;
            want.sort_by(f64::total_cmp);
            sort(&mut v);
            assert_eq!(v, want, "N={N}");
        }
    }

    #[test]
    fn networks_sort() {
        sorts_all_binary::<2>();
        sorts_all_binary::<3>();
        sorts_all_binary::<4>();
        sorts_all_binary::<5>();
        sorts_all_binary::<6>();
        sorts_all_binary::<7>();
        sorts_all_binary::<8>();
        sorts_all_binary::<9>();
        sorts_all_binary::<10>();
        sorts_all_binary::<11>();
        sorts_all_binary::<12>();
        sorts_all_binary::<13>();
        sorts_all_binary::<14>();
        sorts_all_binary::<15>();
        sorts_all_binary::<16>();
        sorts_random::<17>();
        sorts_random::<20>();
        sorts_random::<24>();
        assert_eq!(batcher(5).1, 9);
        assert_eq!(batcher(16).1, 63);
        assert!((2..=NETWORK_MAX).all(|n| batcher(n).1 <= MAX_COMPARATORS));
    }
}
