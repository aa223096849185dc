//! Robust seasonal baseline: the median of the same slot over earlier
//! periods, scaled to the recent level.
//!
//! For bucket `t`:
//!
//! * `slot` = observed values at `t - period`, ... `t - seasons·period`
//!   (at least `min_seasons` of them, else no band); `m(t)` = their median,
//!   `s(t)` = `1.4826 ·` the median absolute deviation of them from `m(t)`,
//!   pooled with the deviations of the `neighbours` slots on each side from
//!   their own medians (a MAD of 7 values is often a third of the true
//!   spread, which alone gave several false alerts a night on small counts),
//!   times `sqrt((1 + pi/2n) · n/(n-1))` for the `n` same-slot values (the
//!   median's own error and the shrinkage of deviations about a sample
//!   median).
//! * `level` = median, over the last `level_window` buckets `j` before `t`
//!   with a value and `m(j) > 0`, of `value(j) / m(j)` (1 when there is none):
//!   the series' current level relative to earlier periods, so steady growth
//!   (or a quiet week) does not read as an anomaly.
//! * `expected = level · m(t)`, `spread = |level| · s(t)`,
//!   `scale = max(spread, min_rel_width · |expected|, min_abs_width)`,
//!   band `expected ± z · scale`; `score` = distance beyond the band in
//!   `scale` units (so `score > x` is the band at `z + x`).
//!
//! The floors on `scale` keep a handful of equal same-slot values (MAD 0)
//! or tiny night counts from alerting on noise. The same baseline gives the
//! residuals of the [`changepoint`](super::changepoint) detector.
//!
//! Cost per point: sorting `seasons` values and `level_window` ratios.

use crate::error::DetectError;
use crate::point::Point;
use crate::series::Clock;

use super::common::{
    check_count, check_non_negative, check_seasons, finite, median, sort, Ring, MAX_LEVEL_WINDOW,
};
use super::contract::{count, number, period, Detector, Knob, Param, Stream, Tunable};

/// Parameters of the seasonal detector.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct SeasonalParams {
    /// Points per season (>= 2): 96 = one day of 15-minute buckets, 672 = one week.
    pub period: usize,
    /// Earlier periods whose same slot gives the baseline (>= 1).
    pub seasons: usize,
    /// Observed same-slot values needed for a band (1..=seasons).
    pub min_seasons: usize,
    /// Buckets before `t` whose value/baseline ratios give the level (0 = no level scaling).
    pub level_window: usize,
    /// Neighbouring slots on each side pooled into the spread (< period):
    /// with 1, the MAD is over `3 · seasons` deviations instead of `seasons`.
    pub neighbours: usize,
    /// Band half-width in `scale` units (finite, >= 0).
    pub z: f64,
    /// Smallest `scale` as a fraction of `|expected|` (finite, >= 0).
    pub min_rel_width: f64,
    /// Smallest `scale` in the series' units (finite, >= 0).
    pub min_abs_width: f64,
}

impl Default for SeasonalParams {
    /// A day of 15-minute buckets over the last 7 days (3 needed), level
    /// from the last 6 hours, spread pooled with one slot on each side,
    /// `z = 4` robust sds with a scale of at least 5 % of expected: a ±20 %
    /// minimum band, wide enough for the noise of whole product metrics
    /// (no false alert on the synthetic growing weeks of `tests/synthetic.rs`),
    /// and a fall to zero still leaves it. No absolute floor by default: its
    /// unit depends on the metric (users vs CTR); set about 1 for counts.
    fn default() -> Self {
        SeasonalParams {
            period: 96,
            seasons: 7,
            min_seasons: 3,
            level_window: 24,
            neighbours: 1,
            z: 4.0,
            min_rel_width: 0.05,
            min_abs_width: 0.0,
        }
    }
}

/// The same-slot parameters shared by the seasonal, seasonal IQR and
/// changepoint detectors: `Detector::PARAMS` entries for a struct with
/// these fields (`seasons`: period, seasons, min_seasons; `level`:
/// level_window, neighbours; `widths`: the two floors).
macro_rules! baseline_params {
    ($t:ty, seasons) => {
        [
            period(|p: &$t| p.period, |p, v| p.period = v),
            count(
                "seasons",
                super::common::SEASONS_HELP,
                |p: &$t| p.seasons,
                |p, v| p.seasons = v,
            ),
            count(
                "min_seasons",
                super::common::MIN_SEASONS_HELP,
                |p: &$t| p.min_seasons,
                |p, v| p.min_seasons = v,
            ),
        ]
    };
    ($t:ty, level) => {
        [
            count(
                "level_window",
                "points whose value/baseline ratios give the level (0 = none)",
                |p: &$t| p.level_window,
                |p, v| p.level_window = v,
            ),
            count(
                "neighbours",
                "neighbouring slots on each side pooled into the spread",
                |p: &$t| p.neighbours,
                |p, v| p.neighbours = v,
            ),
        ]
    };
    ($t:ty, widths) => {
        [
            number(
                "min_rel_width",
                "smallest spread as a fraction of expected (>= 0)",
                |p: &$t| p.min_rel_width,
                |p, v| p.min_rel_width = v,
            ),
            number(
                "min_abs_width",
                "smallest spread in the series' units (>= 0)",
                |p: &$t| p.min_abs_width,
                |p, v| p.min_abs_width = v,
            ),
        ]
    };
}
pub(crate) use baseline_params;

impl Detector for SeasonalParams {
    const NAME: &'static str = "seasonal";
    const DESCRIPTION: &'static str = "Seasonal baseline (robust spread)";
    const SUMMARY: &'static str =
        "Same-slot median scaled to the recent level, band of --z robust sds";
    const PARAMS: &'static [Param<Self>] = &{
        let [period, seasons, min_seasons] = baseline_params!(Self, seasons);
        let [level_window, neighbours] = baseline_params!(Self, level);
        let [min_rel_width, min_abs_width] = baseline_params!(Self, widths);
        let z = number(
            "z",
            "band half-width in robust sds (>= 0)",
            |p: &Self| p.z,
            |p, v| p.z = v,
        );
        [
            period,
            seasons,
            min_seasons,
            level_window,
            neighbours,
            z,
            min_rel_width,
            min_abs_width,
        ]
    };
    const KNOBS: &'static [Tunable<Self>] = &[
        Knob::number("z", "z (band half-width in robust sds)", 0.5, 12.0, 0.1)
            .searching_to(100.0)
            .on(|p| p.z, |p, v| p.z = v),
        Knob::number(
            "min_rel_width",
            "min width (fraction of expected)",
            0.0,
            0.3,
            0.01,
        )
        .on(|p| p.min_rel_width, |p, v| p.min_rel_width = v),
    ];
    type State = SeasonalState;

    fn state(&self, _clock: Clock) -> Result<SeasonalState, DetectError> {
        SeasonalState::new(*self)
    }

    /// Checks `period >= 2`, `1 <= min_seasons <= seasons`, `seasons * period`
    /// bounded, `level_window` bounded, `z` and the widths finite and `>= 0`.
    fn validate(&self) -> Result<(), DetectError> {
        self.baseline().validate()?;
        check_non_negative("z", self.z)?;
        check_non_negative("min_rel_width", self.min_rel_width)?;
        check_non_negative("min_abs_width", self.min_abs_width)
    }

    /// Points before the evaluated one that its band depends on: the same-slot
    /// values of the evaluated point and of the `level_window` before it.
    fn lookback(&self) -> usize {
        self.baseline().lookback()
    }

    /// Positional: same-slot values a period apart.
    fn gap_reach(&self) -> usize {
        0
    }
}

impl SeasonalParams {
    pub(crate) fn baseline(&self) -> BaselineParams {
        BaselineParams {
            period: self.period,
            seasons: self.seasons,
            min_seasons: self.min_seasons,
            level_window: self.level_window,
            neighbours: self.neighbours,
            min_rel_width: self.min_rel_width,
            min_abs_width: self.min_abs_width,
        }
    }
}

/// What the baseline needs (shared with the changepoint detector).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BaselineParams {
    pub period: usize,
    pub seasons: usize,
    pub min_seasons: usize,
    pub level_window: usize,
    pub neighbours: usize,
    pub min_rel_width: f64,
    pub min_abs_width: f64,
}

impl BaselineParams {
    pub(crate) fn validate(&self) -> Result<(), DetectError> {
        check_seasons(self.period, self.seasons)?;
        check_count("min_seasons", self.min_seasons, 1, self.seasons)?;
        check_count("level_window", self.level_window, 0, MAX_LEVEL_WINDOW)?;
        check_count("neighbours", self.neighbours, 0, self.period - 1)?;
        check_non_negative("min_rel_width", self.min_rel_width)?;
        check_non_negative("min_abs_width", self.min_abs_width)
    }

    pub(crate) fn lookback(&self) -> usize {
        self.seasons * self.period + self.neighbours + self.level_window
    }
}

/// The baseline at one bucket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Estimate {
    pub expected: f64,
    /// `max(spread, min_rel_width · |expected|, min_abs_width)`.
    pub scale: f64,
}

impl Baseline {
    /// Sorted observed values of slot `t + d` in the previous `seasons`
    /// periods into `sample`, and their median when there are enough.
    fn slot(&mut self, d: isize) -> Option<f64> {
        let p = self.p;
        self.sample.clear();
        for k in 1..=p.seasons {
            let back = (k * p.period) as isize - d;
            let x = self.history.back(back as usize);
            if x.is_finite() {
                self.sample.push(x);
            }
        }
        if self.sample.len() < p.min_seasons {
            return None;
        }
        sort(&mut self.sample);
        Some(median(&self.sample))
    }
}

/// Incremental seasonal baseline.
#[derive(Debug, Clone)]
pub(crate) struct Baseline {
    p: BaselineParams,
    /// Values of the last `seasons · period + level_window` buckets.
    history: Ring,
    /// Raw same-slot median `m(j)` of the last `level_window` buckets (NaN = none).
    medians: Ring,
    sample: Vec<f64>,
    pooled: Vec<f64>,
    /// Observed values in the evaluated slot's sample.
    sample_len: usize,
    ratios: Vec<f64>,
}

impl Baseline {
    pub(crate) fn new(p: BaselineParams) -> Self {
        Baseline {
            p,
            history: Ring::new(p.lookback()),
            medians: Ring::new(p.level_window),
            sample: Vec::with_capacity(p.seasons),
            pooled: Vec::with_capacity(p.seasons * (2 * p.neighbours + 1)),
            sample_len: 0,
            ratios: Vec::with_capacity(p.level_window),
        }
    }

    /// The estimate for the next bucket (from earlier ones), then takes its
    /// value (finite or `None`) into the history.
    pub(crate) fn step(&mut self, value: Option<f64>) -> Option<Estimate> {
        let p = self.p;
        // Same slot: the median and the first absolute deviations.
        let raw = self.slot(0);
        if let Some(m) = raw {
            self.sample_len = self.sample.len();
            self.pooled.clear();
            self.pooled
                .extend(self.sample.iter().map(|x| (x - m).abs()));
        }
        let raw = raw.map(|m| {
            // Neighbouring slots, each about its own median.
            for d in 1..=p.neighbours as isize {
                for d in [-d, d] {
                    if let Some(md) = self.slot(d) {
                        for i in 0..self.sample.len() {
                            let x = self.sample[i];
                            self.pooled.push((x - md).abs());
                        }
                    }
                }
            }
            sort(&mut self.pooled);
            // Small-sample corrections: deviations about a sample median are
            // smaller than about the true centre (m / (m - 1)), and the
            // median itself misses by about sqrt(pi / 2m) sds.
            let n = self.sample_len as f64;
            let c = ((1.0 + std::f64::consts::FRAC_PI_2 / n) * n / (n - 1.0).max(1.0)).sqrt();
            (m, 1.4826 * c * median(&self.pooled))
        });
        let estimate = raw.map(|(m, s)| {
            self.ratios.clear();
            for j in 1..=p.level_window {
                let (v, mj) = (self.history.back(j), self.medians.back(j));
                if v.is_finite() && mj > 0.0 {
                    let r = v / mj;
                    if r.is_finite() {
                        self.ratios.push(r);
                    }
                }
            }
            let level = if self.ratios.is_empty() {
                1.0
            } else {
                sort(&mut self.ratios);
                median(&self.ratios)
            };
            let expected = level * m;
            let spread = level.abs() * s;
            let scale = spread
                .max(p.min_rel_width * expected.abs())
                .max(p.min_abs_width);
            Estimate { expected, scale }
        });
        self.history.push(value.unwrap_or(f64::NAN));
        if p.level_window > 0 {
            self.medians.push(raw.map_or(f64::NAN, |r| r.0));
        }
        estimate
    }

    /// Takes `value` into the history without estimating it: its same-slot
    /// median is left unknown, which only the `level_window` estimates
    /// after it would read (see [`Baseline::level_window`]).
    pub(crate) fn skip(&mut self, value: Option<f64>) {
        self.history.push(value.unwrap_or(f64::NAN));
        if self.p.level_window > 0 {
            self.medians.push(f64::NAN);
        }
    }

    /// Estimates that read what [`Baseline::skip`] leaves unknown: the next
    /// `level_window` after a skipped bucket.
    pub(crate) fn level_window(&self) -> usize {
        self.p.level_window
    }
}

/// Incremental seasonal detector: push one bucket, get its point (exactly
/// the batch [`Detector::run`] point).
#[derive(Debug, Clone)]
pub struct SeasonalState {
    params: SeasonalParams,
    baseline: Baseline,
}

impl SeasonalState {
    /// A fresh state; errors on invalid parameters.
    pub fn new(params: SeasonalParams) -> Result<Self, DetectError> {
        params.validate()?;
        Ok(SeasonalState {
            params,
            baseline: Baseline::new(params.baseline()),
        })
    }

    /// The parameters this state runs with.
    pub fn params(&self) -> &SeasonalParams {
        &self.params
    }

    /// Takes a value into the history without judging it: for a bucket
    /// whose point nobody reads. A point pushed within
    /// [`SeasonalState::skip_reach`] buckets after it differs from the one
    /// the full [`Stream::push`] gives; later ones are identical.
    pub(crate) fn skip(&mut self, value: Option<f64>) {
        self.baseline.skip(finite(value));
    }

    /// How many points after a skipped one still depend on what it skipped.
    pub(crate) fn skip_reach(&self) -> usize {
        self.baseline.level_window()
    }
}

impl Stream for SeasonalState {
    /// The next bucket's value (`None` or non-finite = gap) -> its point.
    fn push(&mut self, value: Option<f64>) -> Point {
        let value = finite(value);
        match self.baseline.step(value) {
            Some(e) => {
                let half = self.params.z * e.scale;
                let band = (e.expected - half, e.expected + half);
                Point::assess(value, Some(band), Some(e.expected), Some(e.scale))
            }
            None => Point::assess(value, None, None, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::Series;

    #[test]
    fn validation_messages() {
        let d = SeasonalParams::default();
        let err = |p: SeasonalParams| p.validate().unwrap_err().to_string();
        assert!(d.validate().is_ok());
        assert_eq!(
            err(SeasonalParams { z: -1.0, ..d }),
            "z must be a finite number >= 0 (got -1)"
        );
        assert_eq!(
            err(SeasonalParams {
                min_rel_width: f64::NAN,
                ..d
            }),
            "min_rel_width must be a finite number >= 0 (got NaN)"
        );
        assert_eq!(
            err(SeasonalParams { seasons: 0, ..d }),
            "seasons must be between 1 and 16777216 (got 0)"
        );
    }

    #[test]
    fn level_scales_the_slot_median() {
        // Period 2, slot A = 100, slot B = 10 for 3 periods, then everything doubles.
        let mut v: Vec<Option<f64>> = Vec::new();
        for _ in 0..3 {
            v.extend([Some(100.0), Some(10.0)]);
        }
        v.extend([Some(200.0), Some(20.0), Some(200.0), Some(20.0)]);
        let p = SeasonalParams {
            period: 2,
            seasons: 3,
            min_seasons: 1,
            level_window: 2,
            ..SeasonalParams::default()
        };
        let d = p.run(&Series::new(0, 60, v).unwrap()).unwrap();
        // At 9 the level is median(200/100, 20/10) = 2.
        assert_eq!(d.point(9).expected, Some(20.0));
        assert!(!d.point(9).is_anomaly);
        // MAD 0: scale is the 5 % floor, band 20 ± 4 * 1.
        assert_eq!(d.point(9).lower, Some(16.0));
    }
}
