//! Sustained level shifts (slow declines, steps): a two-sided CUSUM of the
//! residuals from the [`seasonal`](super::seasonal) baseline.
//!
//! For bucket `t` with a value and a baseline estimate:
//! `r = (value - expected) / scale` (robust-sd units, the seasonal
//! detector's `scale` with its floors), `S+ = max(0, S+ + r - drift)`,
//! `S- = max(0, S- - r - drift)`. An alarm is `max(S+, S-) > threshold`;
//! both sums restart at 0 after it, so a shift that persists alarms again
//! every few buckets. Gaps and buckets without a baseline leave the sums as
//! they are.
//!
//! `score = max(S+, S-) / threshold` (before the restart): above 1 exactly on
//! alarms, below 1 it says how close the evidence is, so a threshold can be
//! swept up to the configured one. `expected` is the baseline, `lower` /
//! `upper` the values at which this bucket would raise the alarm given the
//! sums so far.
//!
//! The baseline's level window should be long compared with the declines to
//! catch (the default, a day, follows growth but not a 6-hour decline).
//! Unlike the other detectors the sums carry the whole past: a live check
//! reading [`lookback`](ChangepointParams::lookback) points starts them at 0
//! one warm-up period before the evaluated bucket.

use crate::error::DetectError;
use crate::point::{deviation, Point};
use crate::series::Clock;

use super::common::{check_non_negative, finite};
use super::contract::{count, number, period, Detector, Knob, Param, Stream, Tunable};
use super::seasonal::{baseline_params, Baseline, BaselineParams};

/// Parameters of the CUSUM changepoint detector.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct ChangepointParams {
    /// Baseline: points per season (>= 2).
    pub period: usize,
    /// Baseline: earlier periods whose same slot is used (>= 1).
    pub seasons: usize,
    /// Baseline: observed same-slot values needed (1..=seasons).
    pub min_seasons: usize,
    /// Baseline: buckets whose value/baseline ratios give the level (0 = none).
    pub level_window: usize,
    /// Baseline: neighbouring slots on each side pooled into the spread (< period).
    pub neighbours: usize,
    /// Baseline: smallest scale as a fraction of `|expected|` (finite, >= 0).
    pub min_rel_width: f64,
    /// Baseline: smallest scale in the series' units (finite, >= 0).
    pub min_abs_width: f64,
    /// CUSUM drift `k` in robust sds: shifts smaller than this are ignored (finite, >= 0).
    pub drift: f64,
    /// CUSUM threshold `h` in robust sds (finite, > 0).
    pub threshold: f64,
}

impl Default for ChangepointParams {
    /// The seasonal defaults with a one-day level window (slow shifts must
    /// not be absorbed into the level), and the textbook `k = 0.5`, `h = 5`
    /// (detects a one-sd shift in about 10 buckets, false alarms rarer than
    /// one in several hundred buckets on Gaussian noise).
    fn default() -> Self {
        ChangepointParams {
            period: 96,
            seasons: 7,
            min_seasons: 3,
            level_window: 96,
            neighbours: 1,
            min_rel_width: 0.05,
            min_abs_width: 0.0,
            drift: 0.5,
            threshold: 5.0,
        }
    }
}

impl Detector for ChangepointParams {
    const NAME: &'static str = "changepoint";
    const DESCRIPTION: &'static str = "Changepoint (CUSUM)";
    const SUMMARY: &'static str =
        "CUSUM of the seasonal residuals: sustained level shifts (slow declines, steps)";
    const PARAMS: &'static [Param<Self>] = &{
        let [period, seasons, min_seasons] = baseline_params!(Self, seasons);
        let [level_window, neighbours] = baseline_params!(Self, level);
        let [min_rel_width, min_abs_width] = baseline_params!(Self, widths);
        [
            period,
            seasons,
            min_seasons,
            level_window,
            neighbours,
            min_rel_width,
            min_abs_width,
            number(
                "drift",
                "CUSUM drift k in robust sds (>= 0)",
                |p: &Self| p.drift,
                |p, v| p.drift = v,
            ),
            number(
                "threshold",
                "CUSUM alarm threshold h in robust sds (> 0)",
                |p: &Self| p.threshold,
                |p, v| p.threshold = v,
            ),
        ]
    };
    const KNOBS: &'static [Tunable<Self>] = &[
        Knob::number("threshold", "threshold h (robust sds)", 0.5, 20.0, 0.5)
            .searching_to(200.0)
            .on(|p| p.threshold, |p, v| p.threshold = v),
        Knob::number("drift", "drift k (robust sds)", 0.0, 3.0, 0.05)
            .on(|p| p.drift, |p, v| p.drift = v),
    ];
    type State = ChangepointState;

    fn state(&self, _clock: Clock) -> Result<ChangepointState, DetectError> {
        ChangepointState::new(*self)
    }

    /// Checks the baseline as [`SeasonalParams`](super::SeasonalParams) does,
    /// `drift >= 0` and `threshold > 0`, both finite.
    fn validate(&self) -> Result<(), DetectError> {
        self.baseline().validate()?;
        check_non_negative("drift", self.drift)?;
        if !(self.threshold.is_finite() && self.threshold > 0.0) {
            return Err(DetectError::InvalidNumber {
                name: "threshold",
                value: self.threshold,
                requirement: "> 0",
            });
        }
        Ok(())
    }

    /// The baseline's lookback plus one period for the sums to warm up (they
    /// depend on the whole past; see the module documentation).
    fn lookback(&self) -> usize {
        self.baseline().lookback() + self.period
    }
}

impl ChangepointParams {
    fn baseline(&self) -> BaselineParams {
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

/// Incremental CUSUM: push one bucket, get its point (exactly the batch
/// [`Detector::run`] point).
#[derive(Debug, Clone)]
pub struct ChangepointState {
    params: ChangepointParams,
    baseline: Baseline,
    up: f64,
    down: f64,
}

impl ChangepointState {
    /// A fresh state; errors on invalid parameters.
    pub fn new(params: ChangepointParams) -> Result<Self, DetectError> {
        params.validate()?;
        Ok(ChangepointState {
            params,
            baseline: Baseline::new(params.baseline()),
            up: 0.0,
            down: 0.0,
        })
    }

    /// The parameters this state runs with.
    pub fn params(&self) -> &ChangepointParams {
        &self.params
    }
}

impl Stream for ChangepointState {
    /// The next bucket's value (`None` or non-finite = gap) -> its point.
    fn push(&mut self, value: Option<f64>) -> Point {
        let value = finite(value);
        let (k, h) = (self.params.drift, self.params.threshold);
        let Some(e) = self.baseline.step(value) else {
            return Point {
                value,
                ..Point::default()
            };
        };
        // Value at which S+ (S-) would pass h at this bucket.
        let upper = e.expected + e.scale * (h + k - self.up);
        let lower = e.expected - e.scale * (h + k - self.down);
        let mut score = 0.0;
        let mut is_anomaly = false;
        if let Some(v) = value {
            let r = (v - e.expected) / e.scale;
            if r.is_finite() {
                self.up = (self.up + r - k).max(0.0);
                self.down = (self.down - r - k).max(0.0);
                let s = self.up.max(self.down);
                score = if s.is_finite() { s / h } else { f64::INFINITY };
                if s > h {
                    is_anomaly = true;
                    self.up = 0.0;
                    self.down = 0.0;
                }
            }
        }
        let expected = Some(e.expected);
        Point {
            value,
            lower: Some(lower).filter(|x| !x.is_nan()),
            upper: Some(upper).filter(|x| !x.is_nan()),
            expected,
            is_anomaly,
            score,
            deviation: deviation(value, expected),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::Series;

    #[test]
    fn validation_messages() {
        let d = ChangepointParams::default();
        let err = |p: ChangepointParams| p.validate().unwrap_err().to_string();
        assert!(d.validate().is_ok());
        assert_eq!(
            err(ChangepointParams {
                threshold: 0.0,
                ..d
            }),
            "threshold must be a finite number > 0 (got 0)"
        );
        assert_eq!(
            err(ChangepointParams {
                drift: f64::NAN,
                ..d
            }),
            "drift must be a finite number >= 0 (got NaN)"
        );
        assert_eq!(
            err(ChangepointParams { period: 0, ..d }),
            "period must be between 2 and 16777216 (got 0)"
        );
    }

    #[test]
    fn step_alarms_then_restarts() {
        // Period 2, constant 100 (scale = 5 % floor = 5), then a step to 80 (r = -4).
        let mut v = vec![Some(100.0); 10];
        v.extend([Some(80.0); 3]);
        let p = ChangepointParams {
            period: 2,
            seasons: 2,
            min_seasons: 1,
            level_window: 0,
            ..ChangepointParams::default()
        };
        let d = p.run(&Series::new(0, 60, v).unwrap()).unwrap();
        assert_eq!(d.point(9).score, 0.0);
        // S- = 3.5 then 7 > 5: alarm at the second bucket of the step.
        assert!(!d.point(10).is_anomaly);
        assert_eq!(d.point(10).score, 0.7);
        // Would alarm below 100 - 5 * 5.5 at the first bucket.
        assert_eq!(d.point(10).lower, Some(72.5));
        assert!(d.point(11).is_anomaly);
        assert_eq!(d.point(11).score, 1.4);
        assert!(!d.point(12).is_anomaly);
    }
}
