//! The reference the batch rank sources are tested against: every window
//! sorted from scratch.

/// Per window of `n` consecutive values of `xs`, per rank `k`, the bits of
/// the values at sorted ranks `k` and `k + 1`, with `-0.0` counted as `0.0`
/// as the batch sources do.
pub(crate) fn ranks_by_sorting(xs: &[f64], n: usize, ranks: &[usize]) -> Vec<Vec<(u64, u64)>> {
    xs.windows(n)
        .map(|w| {
            let mut w: Vec<f64> = w.iter().map(|x| x + 0.0).collect();
            w.sort_by(f64::total_cmp);
            ranks
                .iter()
                .map(|&k| (w[k].to_bits(), w[k + 1].to_bits()))
                .collect()
        })
        .collect()
}

/// A batch source's output in the shape of [`ranks_by_sorting`].
pub(crate) fn bits<const R: usize>(
    windows: impl Iterator<Item = [(f64, f64); R]>,
) -> Vec<Vec<(u64, u64)>> {
    windows
        .map(|r| r.iter().map(|&(a, b)| (a.to_bits(), b.to_bits())).collect())
        .collect()
}

/// [`bits`] of the windows `src` writes through
/// [`RankColumns::fill_columns`](super::RankColumns::fill_columns), in runs
/// of uneven lengths (1, 7, 64, 33, and 100, which is more than the
/// columns hold), to the end.
pub(crate) fn column_bits<const R: usize>(
    src: &mut impl super::RankColumns<R>,
) -> Vec<Vec<(u64, u64)>> {
    const M: usize = 64;
    let mut out = Vec::new();
    let (mut lo, mut hi) = ([[0.0; M]; R], [[0.0; M]; R]);
    for len in [1usize, 7, 64, 33, 100].into_iter().cycle() {
        let filled = src.fill_columns(&mut lo, &mut hi, len);
        assert!(filled <= len.min(M), "{filled} windows for {len}");
        out.extend((0..filled).map(|i| {
            (0..R)
                .map(|r| (lo[r][i].to_bits(), hi[r][i].to_bits()))
                .collect()
        }));
        if filled < len.min(M) {
            return out;
        }
    }
    unreachable!("the cycle of lengths never ends")
}
