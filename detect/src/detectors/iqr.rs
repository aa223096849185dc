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

use std::collections::VecDeque;

use super::contract::{count, number, Detector, Knob, Param, Stream, Tunable, Value};
use crate::detection::Detection;
use crate::engine::iqr::Engine;
use crate::engine::sources::Live;
use crate::error::{DetectError, MAX_WINDOW};
use crate::point::Point;
use crate::series::{Clock, Series};
use crate::smoothing::{PairMean, Smoothing};
use crate::window::{QuantilePos, TREE_THRESHOLD};

pub use crate::engine::iqr::{ARRAY_WINDOWS, BLOCKS_THRESHOLD, NARROW_ARRAY_WINDOWS, TRACKED_MIN};

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

    fn state(&self, _clock: Clock) -> Result<IqrState, DetectError> {
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
pub(crate) struct Raw {
    pub(crate) lower: f64,
    pub(crate) upper: f64,
    pub(crate) median: f64,
    pub(crate) iqr: f64,
}

impl Raw {
    /// No band (NaN everywhere, as the batch columns store "missing").
    pub(crate) const NONE: Raw = Raw {
        lower: f64::NAN,
        upper: f64::NAN,
        median: f64::NAN,
        iqr: f64::NAN,
    };

    /// The raw band from a full window's ranks: quantiles, then the bounds.
    #[inline(always)]
    pub(crate) fn from_ranks(a: f64, pos: &[QuantilePos; 3], r: &Ranks) -> Raw {
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
pub(crate) type Ranks = [(f64, f64); 3];

/// Where the rule gets each full window's [`Ranks`] from: the only part
/// that differs between the incremental state and batch runs. Every
/// provider returns exact order statistics (`-0.0` read as `0.0`), so
/// everything downstream is bit-identical whichever one runs.
pub(crate) trait RankSource {
    /// Takes the next observed value (finite) into the window; the window's
    /// ranks once it holds `n` values.
    fn push(&mut self, x: f64) -> Option<Ranks>;
}

/// Everything after the order statistics, shared by batch and incremental
/// modes: quantiles, raw band, smoothing, assessment.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) a: f64,
    pub(crate) smooth: Smoothing,
    /// q25, q50, q75.
    pub(crate) pos: [QuantilePos; 3],
    /// Raw band from the observations so far: the band of the next point.
    pub(crate) next: Option<Raw>,
    /// Sliding mean of the raw bounds for `asof`.
    pub(crate) mean: PairMean,
}

impl Rule {
    pub(crate) fn new(p: &IqrParams) -> Self {
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
    pub(crate) fn raw(&self, r: &Ranks) -> Raw {
        Raw::from_ranks(self.a, &self.pos, r)
    }

    /// Advances one bucket: returns the raw band at this bucket (from earlier
    /// observations) and then takes the value into the window.
    #[inline(always)]
    pub(crate) fn step(&mut self, value: Option<f64>, src: &mut impl RankSource) -> Option<Raw> {
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
    pub(crate) fn finish(&mut self, value: Option<f64>, raw: Option<Raw>) -> Point {
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
    pub(crate) fn push(&mut self, value: Option<f64>, src: &mut impl RankSource) -> Point {
        let raw = self.step(value, src);
        self.finish(value, raw)
    }

    pub(crate) fn run_causal(
        mut self,
        values: &[f64],
        mut src: impl RankSource,
        out: &mut Detection,
    ) {
        out.clear();
        out.reserve(values.len());
        for &x in values {
            out.push(self.push(finite(x), &mut src));
        }
    }

    /// The seed's centered smoothing: the point at `t` is emitted once the
    /// raw bands up to `t + (n-1)/2` are known; the raw bands in between wait
    /// in a small queue (O(n) memory, not O(len)).
    pub(crate) fn run_centered(
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
    pub(crate) fn run(self, values: &[f64], src: impl RankSource, n: usize, out: &mut Detection) {
        if self.smooth == Smoothing::Centered {
            self.run_centered(values, src, n, out)
        } else {
            self.run_causal(values, src, out)
        }
    }
}

#[inline]
pub(crate) fn finite(x: f64) -> Option<f64> {
    if x.is_finite() {
        Some(x)
    } else {
        None
    }
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
    crate::engine::iqr::run(&Rule::new(params), params.n, series.raw_values(), out);
    Ok(())
}
