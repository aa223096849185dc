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
//! [`TREE_THRESHOLD`]). Batch ([`iqr`]):
//! [`SortedBlocks`], O(log n) amortised, from [`BLOCKS_THRESHOLD`] on; the
//! sorted array below. Output: [`Detection`] columns, 41 bytes per point.

use std::borrow::Cow;
use std::collections::VecDeque;

use crate::detection::Detection;
use crate::error::{DetectError, MAX_WINDOW};
use crate::point::Point;
use crate::series::Series;
use crate::smoothing::{PairMean, Smoothing};
use crate::window::{
    OrderStatistics, QuantilePos, RollingWindow, SortedBlocks, SortedVec, Treap, TREE_THRESHOLD,
};

/// Parameters of the IQR rule.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default)
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

impl IqrParams {
    /// Checks `2 <= n <= MAX_WINDOW` and `a` finite and `>= 0`.
    pub fn validate(&self) -> Result<(), DetectError> {
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

/// [`SortedBlocks`] over the observed values of a whole series (batch).
struct Blocks<'a> {
    blocks: SortedBlocks<'a, 3>,
    /// Observed values still to come before the first full window.
    fill: usize,
}

impl<'a> Blocks<'a> {
    fn new(observed: &'a [f64], n: usize, pos: &[QuantilePos; 3]) -> Self {
        Blocks {
            blocks: SortedBlocks::new(observed, n, pos.map(|q| q.rank())),
            fill: n - 1,
        }
    }
}

impl RankSource for Blocks<'_> {
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
        let [p25, p50, p75] = &self.pos;
        let q25 = p25.interpolate(r[0].0, r[0].1);
        let median = p50.interpolate(r[1].0, r[1].1);
        let q75 = p75.interpolate(r[2].0, r[2].1);
        let iqr = q75 - q25;
        Raw {
            lower: q25 - self.a * iqr,
            upper: q75 + self.a * iqr,
            median,
            iqr,
        }
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

    /// The next bucket's value (`None` or non-finite = gap) -> its point.
    #[inline]
    pub fn push(&mut self, value: Option<f64>) -> Point {
        let value = value.and_then(finite);
        match &mut self.engine {
            Engine::Small(w) => self.rule.push(value, w),
            Engine::Large(w) => self.rule.push(value, w),
        }
    }
}

/// Window length from which batch runs use [`SortedBlocks`] rather than a
/// [`SortedVec`] window. Chosen with `examples/iqr_throughput` (1e6 points,
/// buffer reused, M points/s, sorted array vs blocks): n = 8: 34 vs 26,
/// 12: 30 vs 26, 16: 24 vs 26, 24: 20 vs 28.
pub const BLOCKS_THRESHOLD: usize = 14;

/// Runs the IQR rule over a whole series: one point per bucket, as columns.
///
/// The same code as [`IqrState::push`] after the order statistics
/// (bit-identical points), fed by a batch order-statistics provider: [`SortedBlocks`] over the observed
/// values (O(log n) amortised per point) from [`BLOCKS_THRESHOLD`] on, a
/// [`SortedVec`] window below. `centered` runs the same rule for the raw
/// bounds and then smooths them with the centered mean.
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
    if n < BLOCKS_THRESHOLD {
        let src: Live<SortedVec> = Live::new(n, &rule.pos);
        rule.run(values, src, n, out);
    } else {
        // The windows are over observed values: compact the gaps away
        // (no copy when there are none).
        let observed: Cow<'_, [f64]> = if values.iter().all(|x| x.is_finite()) {
            Cow::Borrowed(values)
        } else {
            Cow::Owned(values.iter().copied().filter(|x| x.is_finite()).collect())
        };
        let src = Blocks::new(&observed, n, &rule.pos);
        rule.run(values, src, n, out);
    }
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

    #[test]
    fn all_rank_sources_agree_bit_for_bit() {
        let mut x = 12345u64;
        let values: Vec<f64> = (0..3000)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if x.is_multiple_of(13) {
                    f64::NAN
                } else {
                    ((x % 1000) as f64) + (i % 50) as f64
                }
            })
            .collect();
        let s = Series::from_f64(0, 60, values).unwrap();
        let observed: Vec<f64> = s.values().flatten().collect();
        for n in [2, 7, 64, 301] {
            for smooth in Smoothing::ALL {
                let pr = p(n, 1.5, smooth);
                let pos = Rule::new(&pr).pos;
                let (mut a, mut b, mut c) = (Detection::new(), Detection::new(), Detection::new());
                let small: Live<SortedVec> = Live::new(n, &pos);
                let large: Live<Treap> = Live::new(n, &pos);
                Rule::new(&pr).run(s.raw_values(), small, n, &mut a);
                Rule::new(&pr).run(s.raw_values(), large, n, &mut b);
                Rule::new(&pr).run(s.raw_values(), Blocks::new(&observed, n, &pos), n, &mut c);
                assert_eq!(a, b, "n={n} {smooth}");
                assert_eq!(a, c, "n={n} {smooth}");
                assert_eq!(a, iqr(&s, &pr).unwrap(), "n={n} {smooth}");
            }
        }
    }
}
