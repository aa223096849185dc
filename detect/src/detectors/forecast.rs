//! Forecast band: grafana's augurs MSTL decomposition with an ETS model of
//! the deseasonalised series, and its prediction interval as the band.
//!
//! For a fit at bucket `r`, the `window` buckets before `r` are decomposed
//! by MSTL (`augurs-mstl`, one seasonal component of `period` buckets) and
//! the trend plus remainder is fitted by AutoETS (`augurs-ets`, additive
//! error, no/additive/damped trend chosen by AICc; these models have
//! closed-form intervals, no random simulation). The forecast `h` buckets
//! ahead is the ETS forecast plus the last period's seasonal component;
//! its interval at `level` (`augurs-core`'s `ForecastIntervals`) is the band,
//! the point forecast is `expected`, and `score` is the distance beyond the
//! band in units of its half-width (`score > x` is a band `1 + x` times as
//! wide).
//!
//! **Cost and refits.** One fit (MSTL plus three ETS optimisations) costs
//! about a millisecond per few hundred buckets, far too much for every
//! bucket of a long series. The batch mode therefore fits once every
//! `refit` buckets and forecasts the following buckets from that fit (1 to
//! `refit` steps ahead, with intervals that widen with the horizon). The
//! refit grid is anchored at the **last** bucket: the last bucket always has
//! a fresh one-step-ahead fit on the `window` buckets before it, which is
//! exactly what a live check computes ([`Stream::push`] and
//! [`DetectorSpec::newest_point`](crate::DetectorSpec::newest_point) fit
//! on every call). Earlier buckets move between a fresh fit and a
//! `refit`-step-ahead one as the series grows; with `refit = 1` every
//! bucket is a one-step-ahead forecast (exact, and `refit` times slower).
//!
//! **Gaps.** Gaps inside the fit window are filled by linear interpolation
//! between the neighbouring observed values (before the first or after the
//! last observed value: that value). A window with fewer than half of its
//! buckets observed, a fit that fails or a non-finite forecast gives no
//! band, never a panic. A gap at the evaluated bucket keeps its band and is
//! never anomalous.
//!
//! **Units.** The model is fitted on the window shifted to its middle value
//! and scaled to a spread of about 1 ([`units`]): the fit's floating error
//! is then relative to the spread, not the level, and values near ±1e308
//! cannot overflow inside it. A window whose values are all equal is not
//! fitted: the forecast is that value, with a band of width 0 around it (a
//! constant series is never flagged; any other value after it is).
//!
//! The first `window` buckets have no band (and, in batch mode, up to
//! `refit - 1` more, until the first fit whose window is full).

use augurs_core::{Fit, Predict};
use augurs_ets::AutoETS;
use augurs_mstl::MSTLModel;

use crate::detection::Detection;
use crate::error::DetectError;
use crate::point::Point;
use crate::series::{Clock, Series};

use super::common::{check_count, finite, MAX_LEVEL_WINDOW};
use super::contract::{count, number, period, Detector, Knob, Param, Stream, Tunable};

mod units;

use units::{Units, Window};

/// Parameters of the forecast detector.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct ForecastParams {
    /// Points per season (>= 2, at most `window / 2`): 96 = one day of 15-minute buckets.
    pub period: usize,
    /// Buckets before the fit point that the model is fitted on (>= 2 · period).
    pub window: usize,
    /// Batch mode: buckets between two fits (1..=window; 1 = a fresh
    /// one-step-ahead fit for every bucket).
    pub refit: usize,
    /// Coverage of the prediction interval, in (0, 1): 0.99 = 99 %.
    pub level: f64,
}

impl Default for ForecastParams {
    /// A day of 15-minute buckets, fitted on the last 7 days, refitted
    /// every 12 hours, 99.9999 % interval (about ±4.9 sds: the ETS
    /// residuals are assumed normal and of constant variance, which Poisson
    /// counts with a daily cycle are not). Chosen with `vigil eval` (see
    /// docs/benchmarks.md): 4 days or 99.99 % gave several false alerts a
    /// week, refits every 6 hours cost twice as much for no better F1.
    fn default() -> Self {
        ForecastParams {
            period: 96,
            window: 7 * 96,
            refit: 48,
            level: 0.999_999,
        }
    }
}

impl Detector for ForecastParams {
    const NAME: &'static str = "forecast";
    const DESCRIPTION: &'static str = "Forecast (MSTL + ETS, slow)";
    const SUMMARY: &'static str =
        "MSTL + ETS forecast (grafana's augurs), its --level prediction interval as the band";
    const PARAMS: &'static [Param<Self>] = &[
        // Setting the period sets the window to 7 periods (the default's 7
        // days at the default period); a window given after it stays.
        period(
            |p| p.period,
            |p, v| {
                p.period = v;
                p.window = 7 * v;
            },
        ),
        count(
            "window",
            "points the model is fitted on (>= 2 periods)",
            |p: &Self| p.window,
            |p, v| p.window = v,
        )
        .default_reads("7 days of 15-minute points, 672"),
        count(
            "refit",
            "points between two fits in batch mode (1 = a fresh fit per point)",
            |p| p.refit,
            |p, v| p.refit = v,
        ),
        number(
            "level",
            "coverage of the prediction interval, in (0, 1)",
            |p| p.level,
            |p, v| p.level = v,
        ),
    ];
    const KNOBS: &'static [Tunable<Self>] = &[
        Knob::number(
            "level",
            "level (prediction interval)",
            0.9,
            0.999999,
            0.000001,
        )
        .on(|p| p.level, |p, v| p.level = v),
        Knob::count("refit", "refit (buckets between fits)", 12.0, 96.0)
            .on(|p| p.refit as f64, |p, v| p.refit = v as usize),
    ];
    const SLOW: bool = true;
    type State = ForecastState;

    fn state(&self, _clock: Clock) -> Result<ForecastState, DetectError> {
        ForecastState::new(*self)
    }

    /// Checks `2 <= period <= window / 2`, `window` bounded,
    /// `1 <= refit <= window` and `0 < level < 1`.
    fn validate(&self) -> Result<(), DetectError> {
        check_count("window", self.window, 4, MAX_LEVEL_WINDOW)?;
        check_count("period", self.period, 2, self.window / 2)?;
        check_count("refit", self.refit, 1, self.window)?;
        let l = self.level;
        if !(l.is_finite() && l > 0.0 && l < 1.0) {
            return Err(DetectError::InvalidNumber {
                name: "level",
                value: l,
                requirement: "in (0, 1)",
            });
        }
        Ok(())
    }

    /// Points before the evaluated one that its band depends on: the fit
    /// window (exact for the newest point, which is always freshly fitted).
    fn lookback(&self) -> usize {
        self.window
    }

    /// Fits once every `refit` buckets (see the module doc for the refit
    /// grid); the result is cleared first and untouched on error.
    fn run_into(&self, series: &Series, out: &mut Detection) -> Result<(), DetectError> {
        forecast_into(series, self, out)
    }

    /// One fit on the values before the last, not one per value.
    fn newest_point(
        &self,
        values: impl IntoIterator<Item = Option<f64>>,
        _clock: Clock,
    ) -> Result<Point, DetectError> {
        ForecastState::newest(self, values)
    }
}

/// One fit: forecasts `horizon` buckets after `history` (oldest first, NaN
/// for a gap; `history.len() == window`). `None` when there is too little
/// data or the fit fails. `buf` is scratch space.
fn fit_forecast(
    params: &ForecastParams,
    history: &[f64],
    horizon: usize,
    buf: &mut Vec<f64>,
) -> Option<augurs_core::Forecast> {
    if !fill_gaps(history, buf) {
        return None;
    }
    let mut scratch = Vec::with_capacity(buf.len());
    let units = match Units::normalise(buf, &mut scratch) {
        Window::Scaled(units) => units,
        Window::Constant(c) => {
            return Some(augurs_core::Forecast {
                point: vec![c; horizon],
                intervals: Some(augurs_core::ForecastIntervals {
                    level: params.level,
                    lower: vec![c; horizon],
                    upper: vec![c; horizon],
                }),
            })
        }
    };
    let ets = AutoETS::new(1, "AZN").ok()?.into_trend_model();
    let model = MSTLModel::new(vec![params.period], ets);
    let fitted = model.fit(buf).ok()?;
    let mut f = fitted.predict(horizon, params.level).ok()?;
    let ok = f.point.len() == horizon
        && f.intervals
            .as_ref()
            .is_some_and(|i| i.lower.len() == horizon && i.upper.len() == horizon);
    let intervals = f.intervals.as_mut()?;
    let model_units = f
        .point
        .iter_mut()
        .chain(intervals.lower.iter_mut())
        .chain(intervals.upper.iter_mut());
    model_units.for_each(|y| *y = units.restore(*y));
    ok.then_some(f)
}

/// Copies `history` into `out` with gaps linearly interpolated; false when
/// fewer than half of the buckets are observed.
pub(crate) fn fill_gaps(history: &[f64], out: &mut Vec<f64>) -> bool {
    out.clear();
    out.extend_from_slice(history);
    let observed = history.iter().filter(|x| x.is_finite()).count();
    if observed == 0 || 2 * observed < history.len() {
        return false;
    }
    let mut prev: Option<usize> = None;
    for i in 0..out.len() {
        if !out[i].is_finite() {
            continue;
        }
        match prev {
            None => {
                let v = out[i];
                out[..i].iter_mut().for_each(|x| *x = v);
            }
            Some(p) if p + 1 < i => {
                let (a, b) = (out[p], out[i]);
                let span = (i - p) as f64;
                for (k, x) in out[p + 1..i].iter_mut().enumerate() {
                    *x = a + (b - a) * (k + 1) as f64 / span;
                }
            }
            _ => {}
        }
        prev = Some(i);
    }
    if let Some(p) = prev {
        let v = out[p];
        out[p + 1..].iter_mut().for_each(|x| *x = v);
    }
    true
}

/// The point of a bucket with `value` from the forecast `f` at step `h` (0-based).
fn assess(value: Option<f64>, f: Option<&augurs_core::Forecast>, h: usize) -> Point {
    let band = f.and_then(|f| {
        let i = f.intervals.as_ref()?;
        let (e, lo, hi) = (f.point[h], i.lower[h], i.upper[h]);
        (e.is_finite() && lo.is_finite() && hi.is_finite() && lo <= hi).then_some((e, lo, hi))
    });
    match band {
        Some((e, lo, hi)) => Point::assess(value, Some((lo, hi)), Some(e), Some((hi - lo) / 2.0)),
        None => Point::assess(value, None, None, None),
    }
}

/// Newest-point mode: every push fits the model on the `window` buckets
/// before it and gives the one-step-ahead point, exactly the batch
/// [`Detector::run`] point of the last bucket of a series
/// ending there.
#[derive(Debug, Clone)]
pub struct ForecastState {
    params: ForecastParams,
    /// The last `window` values (NaN = gap), oldest first.
    history: std::collections::VecDeque<f64>,
    scratch: Vec<f64>,
    buf: Vec<f64>,
}

impl ForecastState {
    /// A fresh state; errors on invalid parameters.
    pub fn new(params: ForecastParams) -> Result<Self, DetectError> {
        params.validate()?;
        Ok(ForecastState {
            params,
            history: std::collections::VecDeque::with_capacity(params.window),
            scratch: Vec::with_capacity(params.window),
            buf: Vec::with_capacity(params.window),
        })
    }

    /// The parameters this state runs with.
    pub fn params(&self) -> &ForecastParams {
        &self.params
    }
}

impl Stream for ForecastState {
    /// The next bucket's value (`None` or non-finite = gap) -> its point.
    fn push(&mut self, value: Option<f64>) -> Point {
        let value = finite(value);
        let point = if self.history.len() == self.params.window {
            self.scratch.clear();
            self.scratch.extend(self.history.iter().copied());
            let f = fit_forecast(&self.params, &self.scratch, 1, &mut self.buf);
            assess(value, f.as_ref(), 0)
        } else {
            Point::assess(value, None, None, None)
        };
        if self.history.len() == self.params.window {
            self.history.pop_front();
        }
        self.history.push_back(value.unwrap_or(f64::NAN));
        point
    }
}

impl ForecastState {
    /// The point of the last of `values` without keeping a state: one fit
    /// on the `window` values before it (what a live check computes).
    pub(crate) fn newest(
        params: &ForecastParams,
        values: impl IntoIterator<Item = Option<f64>>,
    ) -> Result<Point, DetectError> {
        params.validate()?;
        let w = params.window;
        // Keep only the last window + 1 values.
        let mut tail: std::collections::VecDeque<f64> = std::collections::VecDeque::new();
        for v in values {
            if tail.len() == w + 1 {
                tail.pop_front();
            }
            tail.push_back(finite(v).unwrap_or(f64::NAN));
        }
        let Some(&last) = tail.back() else {
            return Ok(Point::default());
        };
        let value = finite(Some(last));
        if tail.len() < w + 1 {
            return Ok(Point::assess(value, None, None, None));
        }
        let history: Vec<f64> = tail.iter().take(w).copied().collect();
        let f = fit_forecast(params, &history, 1, &mut Vec::with_capacity(w));
        Ok(assess(value, f.as_ref(), 0))
    }
}

/// The batch forecast ([`Detector::run_into`]).
fn forecast_into(
    series: &Series,
    params: &ForecastParams,
    out: &mut Detection,
) -> Result<(), DetectError> {
    params.validate()?;
    let values = series.raw_values();
    let n = values.len();
    let (w, k) = (params.window, params.refit);
    let mut points = vec![Point::default(); n];
    let mut buf = Vec::with_capacity(w);
    // Blocks [r, r + k) with r = n - 1, n - 1 - k, ... (the last bucket alone).
    let mut end = n;
    let mut r = n.saturating_sub(1);
    while end > 0 {
        let f = if r >= w {
            fit_forecast(params, &values[r - w..r], end - r, &mut buf)
        } else {
            None
        };
        for t in r..end {
            points[t] = assess(finite(Some(values[t])), f.as_ref(), t - r);
        }
        end = r;
        r = r.saturating_sub(k);
    }
    out.clear();
    out.reserve(n);
    for p in points {
        out.push(p);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daily(days: usize, period: usize) -> Vec<Option<f64>> {
        (0..days * period)
            .map(|i| {
                let phase = (i % period) as f64 / period as f64 * std::f64::consts::TAU;
                let noise = ((i as f64 * 12.9898).sin() * 43758.5453).fract() * 4.0;
                Some(100.0 + 30.0 * phase.sin() + noise)
            })
            .collect()
    }

    #[test]
    fn validation_messages() {
        let d = ForecastParams::default();
        let err = |p: ForecastParams| p.validate().unwrap_err().to_string();
        assert!(d.validate().is_ok());
        assert_eq!(
            err(ForecastParams { level: 1.0, ..d }),
            "level must be a finite number in (0, 1) (got 1)"
        );
        assert_eq!(
            err(ForecastParams {
                level: f64::NAN,
                ..d
            }),
            "level must be a finite number in (0, 1) (got NaN)"
        );
        assert_eq!(
            err(ForecastParams { period: 700, ..d }),
            "period must be between 2 and 336 (got 700)"
        );
        assert_eq!(
            err(ForecastParams { refit: 0, ..d }),
            "refit must be between 1 and 672 (got 0)"
        );
    }

    #[test]
    fn gaps_are_interpolated() {
        let nan = f64::NAN;
        let mut out = Vec::new();
        assert!(fill_gaps(
            &[nan, 1.0, nan, nan, 4.0, 5.0, 6.0, nan],
            &mut out
        ));
        assert_eq!(out, [1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 6.0]);
        assert!(!fill_gaps(&[nan, nan, 1.0], &mut out));
    }

    #[test]
    fn flags_a_drop_and_matches_the_newest_point() {
        let period = 24;
        let mut values = daily(6, period);
        let last = values.len() - 1;
        values[last] = Some(10.0);
        let p = ForecastParams {
            period,
            window: 4 * period,
            refit: 5,
            level: 0.99,
        };
        let series = Series::new(0, 900, values.clone()).unwrap();
        let d = p.run(&series).unwrap();
        let point = d.point(last);
        assert!(point.is_anomaly, "{point:?}");
        assert!(point.score > 1.0);
        // Normal buckets after the warm-up are mostly inside the band.
        let flagged = (p.window + p.refit..last)
            .filter(|&i| d.point(i).is_anomaly)
            .count();
        assert!(flagged <= 3, "{flagged} false flags");
        assert!(d.point(p.window - 1).lower.is_none());
        // Newest-point mode: the same point from only the lookback.
        let tail = &values[last - p.lookback()..];
        let spec = crate::DetectorSpec::Forecast(p);
        let clock = series.clock().skip(last - p.lookback());
        assert_eq!(
            spec.newest_point(tail.iter().copied(), clock).unwrap(),
            point
        );
        // And the state pushed over the whole history.
        let mut state = ForecastState::new(p).unwrap();
        let pushed = values.iter().map(|&v| state.push(v)).last().unwrap();
        assert_eq!(pushed, point);
    }

    /// Issue 19: on a constant series at 5 the fit's floating error gave
    /// bands like 5.0000017..5.0000044 and flagged points that equal the
    /// level. No point of a constant series is flagged, whatever the level,
    /// and a change after it is.
    #[test]
    fn a_constant_series_is_never_flagged() {
        let p = ForecastParams::default();
        for level in [5.0, 0.1, -3e6, 1e-7] {
            let mut values = vec![Some(level); 2000];
            let d = p
                .run(&Series::new(0, 900, values.clone()).unwrap())
                .unwrap();
            let flagged: Vec<usize> = (0..d.len()).filter(|&i| d.point(i).is_anomaly).collect();
            assert!(flagged.is_empty(), "level {level}: {flagged:?}");
            for i in p.window + p.refit..d.len() {
                let point = d.point(i);
                let (lo, hi) = (point.lower.unwrap(), point.upper.unwrap());
                assert!(
                    lo <= level && level <= hi,
                    "level {level} at {i}: {point:?}"
                );
            }
            // One blip of a millionth: windows are no longer constant, the
            // fit runs, and the level itself is still inside every band.
            values[300] = Some(level * (1.0 + 1e-6));
            let d = p
                .run(&Series::new(0, 900, values.clone()).unwrap())
                .unwrap();
            let flagged: Vec<usize> = (0..d.len()).filter(|&i| d.point(i).is_anomaly).collect();
            assert!(flagged.is_empty(), "level {level} with a blip: {flagged:?}");
            values[1999] = Some(level * 1.5);
            let d = p.run(&Series::new(0, 900, values).unwrap()).unwrap();
            assert!(d.point(1999).is_anomaly, "level {level}");
        }
    }

    /// Issue 19: a series with scattered ±1e308 got no band at all (the
    /// fit overflowed and failed, without a word). It still gets a finite
    /// band everywhere after the warm-up.
    #[test]
    fn scattered_extreme_values_still_get_bands() {
        let p = ForecastParams {
            period: 24,
            window: 96,
            refit: 12,
            level: 0.999,
        };
        let mut values = daily(20, 24);
        let mut x: u64 = 19;
        for v in values.iter_mut() {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            match x >> 57 {
                0 => *v = Some(1e308),
                1 => *v = Some(-1e308),
                _ => {}
            }
        }
        let extreme = values.iter().filter(|v| v.unwrap().abs() > 1e300).count();
        assert!(extreme > 5, "{extreme} extreme values");
        let d = p.run(&Series::new(0, 900, values).unwrap()).unwrap();
        for i in p.window + p.refit..d.len() {
            let point = d.point(i);
            let (lo, hi) = (point.lower, point.upper);
            assert!(
                lo.is_some_and(f64::is_finite) && hi.is_some_and(f64::is_finite),
                "no band at {i}: {point:?}"
            );
        }
    }

    #[test]
    fn gaps_and_constant_series_do_not_panic() {
        let p = ForecastParams {
            period: 4,
            window: 16,
            refit: 3,
            level: 0.95,
        };
        let constant = vec![Some(5.0); 40];
        let d = p.run(&Series::new(0, 60, constant).unwrap()).unwrap();
        assert_eq!(d.len(), 40);
        let gappy: Vec<Option<f64>> = (0..40).map(|i| (i % 3 != 0).then_some(i as f64)).collect();
        let d = p.run(&Series::new(0, 60, gappy).unwrap()).unwrap();
        assert!(!d.point(39).is_anomaly);
        let sparse: Vec<Option<f64>> = (0..40).map(|i| (i % 5 == 0).then_some(1.0)).collect();
        let d = p.run(&Series::new(0, 60, sparse).unwrap()).unwrap();
        assert!(d.points().all(|p| p.lower.is_none()));
        let empty = p.run(&Series::new(0, 60, vec![]).unwrap()).unwrap();
        assert!(empty.is_empty());
    }
}
