//! Sharp falls (and optionally spikes) relative to the recent median: the
//! seed classifier's drop feature as a rule.
//!
//! For bucket `t`: `median` = median of the observed values among the
//! previous `window` buckets (at least half of them observed, else no band),
//! `ratio(t) = value / median` (only when `median > 0`). With `confirm = c`,
//! the bucket is a drop when the largest of the last `c` ratios (this one
//! included, all present) is below `1 - drop_fraction`, i.e. the fall has
//! lasted `c` buckets (the seed used the max of the last three; the default
//! 1 flags the very first bucket of a fall to zero); a spike when
//! `rise_fraction` is set and the smallest of them is above
//! `1 + rise_fraction`.
//!
//! `expected` is the median, the band `[median·(1 - drop_fraction),
//! median·(1 + rise_fraction)]` (no upper bound without `rise_fraction`),
//! `score` the distance of that max (min) ratio beyond its bound, as a
//! fraction of the median: `score > x` is the rule at `drop_fraction + x`.

use crate::error::DetectError;
use crate::point::{deviation, Point};
use crate::series::Clock;

use super::common::{check_count, finite, median, sort, Ring, MAX_LEVEL_WINDOW};
use super::contract::{count, number, Detector, Knob, Param, Stream, Tunable, Value};

/// Parameters of the drop rule.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct DropParams {
    /// Previous buckets whose median is the reference (>= 2).
    pub window: usize,
    /// Flag when value / median < 1 - drop_fraction (in (0, 1]).
    pub drop_fraction: f64,
    /// Also flag spikes: value / median > 1 + rise_fraction (finite, > 0).
    pub rise_fraction: Option<f64>,
    /// Buckets the fall (spike) must last before it is flagged (1..=window).
    pub confirm: usize,
}

impl Default for DropParams {
    /// The median of the last 1.5 hours of 15-minute buckets (long enough
    /// to ignore one noisy bucket, short enough to lag the evening decline by
    /// under an hour), flag a fall below half of it at its first bucket,
    /// spikes off (growth spikes are rarely incidents).
    fn default() -> Self {
        DropParams {
            window: 6,
            drop_fraction: 0.5,
            rise_fraction: None,
            confirm: 1,
        }
    }
}

impl Detector for DropParams {
    const NAME: &'static str = "drop";
    const DESCRIPTION: &'static str = "Drop (fall below the recent median)";
    const SUMMARY: &'static str =
        "Fall below (1 - --drop-fraction) x the median of the previous --window points";
    const PARAMS: &'static [Param<Self>] = &[
        count(
            "window",
            "points before each one whose median is the reference (>= 2)",
            |p| p.window,
            |p, v| p.window = v,
        ),
        number(
            "drop_fraction",
            "flag value/median below 1 - this (in (0, 1])",
            |p| p.drop_fraction,
            |p, v| p.drop_fraction = v,
        ),
        Param {
            key: "rise_fraction",
            help: "also flag value/median above 1 + this (> 0)",
            default_note: None,
            value: Value::Optional {
                get: |p| p.rise_fraction,
                set: |p, v| p.rise_fraction = v,
            },
        },
        count(
            "confirm",
            "points the fall must last before it is flagged",
            |p| p.confirm,
            |p, v| p.confirm = v,
        ),
    ];
    const KNOBS: &'static [Tunable<Self>] = &[
        Knob::number(
            "drop_fraction",
            "drop fraction (flag a fall below 1 − this)",
            0.05,
            1.0,
            0.01,
        )
        .on(|p| p.drop_fraction, |p, v| p.drop_fraction = v),
        Knob::count("window", "window (buckets in the median)", 2.0, 48.0).on(
            |p| p.window as f64,
            |p, v| {
                p.window = v as usize;
                // Keep the confirmation valid while the window moves.
                p.confirm = p.confirm.min(p.window.max(1));
            },
        ),
    ];
    type State = DropState;

    fn state(&self, _clock: Clock) -> Result<DropState, DetectError> {
        DropState::new(*self)
    }

    /// Checks `window >= 2`, `0 < drop_fraction <= 1`, `rise_fraction > 0`
    /// and `1 <= confirm <= window`.
    fn validate(&self) -> Result<(), DetectError> {
        check_count("window", self.window, 2, MAX_LEVEL_WINDOW)?;
        let f = self.drop_fraction;
        if !(f.is_finite() && f > 0.0 && f <= 1.0) {
            return Err(DetectError::InvalidNumber {
                name: "drop_fraction",
                value: f,
                requirement: "in (0, 1]",
            });
        }
        if let Some(r) = self.rise_fraction {
            if !(r.is_finite() && r > 0.0) {
                return Err(DetectError::InvalidNumber {
                    name: "rise_fraction",
                    value: r,
                    requirement: "> 0",
                });
            }
        }
        check_count("confirm", self.confirm, 1, self.window)
    }

    /// Points before the evaluated one that its result depends on.
    fn lookback(&self) -> usize {
        self.window + self.confirm - 1
    }

    /// Positional: a window of the last buckets, gaps included.
    fn gap_reach(&self) -> usize {
        0
    }
}

/// Incremental drop rule: push one bucket, get its point (exactly the batch
/// [`Detector::run`] point).
#[derive(Debug, Clone)]
pub struct DropState {
    params: DropParams,
    history: Ring,
    /// Ratios of the last `confirm - 1` buckets (NaN = none).
    ratios: Ring,
    sample: Vec<f64>,
}

impl DropState {
    /// A fresh state; errors on invalid parameters.
    pub fn new(params: DropParams) -> Result<Self, DetectError> {
        params.validate()?;
        Ok(DropState {
            params,
            history: Ring::new(params.window),
            ratios: Ring::new(params.confirm),
            sample: Vec::with_capacity(params.window),
        })
    }

    /// The parameters this state runs with.
    pub fn params(&self) -> &DropParams {
        &self.params
    }
}

impl Stream for DropState {
    /// The next bucket's value (`None` or non-finite = gap) -> its point.
    fn push(&mut self, value: Option<f64>) -> Point {
        let value = finite(value);
        let p = self.params;
        self.sample.clear();
        for k in 1..=p.window {
            let x = self.history.back(k);
            if x.is_finite() {
                self.sample.push(x);
            }
        }
        let reference = if self.sample.len() * 2 >= p.window {
            sort(&mut self.sample);
            Some(median(&self.sample))
        } else {
            None
        };
        let positive = reference.filter(|&m| m > 0.0);
        let ratio = match (value, positive) {
            (Some(v), Some(m)) => v / m,
            _ => f64::NAN,
        };
        // Largest and smallest of the last `confirm` ratios; NaN when any is missing.
        // (`f64::max` ignores NaN, so a missing ratio is checked explicitly.)
        let (mut hi, mut lo) = (ratio, ratio);
        for k in 1..p.confirm {
            let r = self.ratios.back(k);
            if r.is_nan() || hi.is_nan() {
                hi = f64::NAN;
                lo = f64::NAN;
            } else {
                hi = hi.max(r);
                lo = lo.min(r);
            }
        }
        let floor = 1.0 - p.drop_fraction;
        let mut score = 0.0;
        if !hi.is_nan() && hi < floor {
            score = floor - hi;
        }
        if let Some(rise) = p.rise_fraction {
            let ceil = 1.0 + rise;
            if !lo.is_nan() && lo > ceil {
                score = lo - ceil;
            }
        }
        if !score.is_finite() {
            score = if score.is_nan() { 0.0 } else { f64::INFINITY };
        }
        self.history.push(value.unwrap_or(f64::NAN));
        self.ratios.push(ratio);
        Point {
            value,
            lower: positive.map(|m| m * floor),
            upper: positive.and_then(|m| p.rise_fraction.map(|r| m * (1.0 + r))),
            expected: reference,
            is_anomaly: score > 0.0,
            score,
            deviation: deviation(value, reference),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::Series;

    fn run(v: &[f64], p: DropParams) -> Vec<Point> {
        let s = Series::from_f64(0, 60, v.to_vec()).unwrap();
        p.run(&s).unwrap().points().collect()
    }

    #[test]
    fn validation_messages() {
        let d = DropParams::default();
        let err = |p: DropParams| p.validate().unwrap_err().to_string();
        assert_eq!(
            err(DropParams { window: 1, ..d }),
            "window must be between 2 and 65536 (got 1)"
        );
        assert_eq!(
            err(DropParams {
                drop_fraction: 0.0,
                ..d
            }),
            "drop_fraction must be a finite number in (0, 1] (got 0)"
        );
        assert_eq!(
            err(DropParams {
                rise_fraction: Some(-1.0),
                ..d
            }),
            "rise_fraction must be a finite number > 0 (got -1)"
        );
        assert_eq!(
            err(DropParams { confirm: 7, ..d }),
            "confirm must be between 1 and 6 (got 7)"
        );
    }

    #[test]
    fn first_bucket_of_a_fall_and_confirm() {
        let v = [10.0, 12.0, 11.0, 10.0, 0.0, 0.0, 0.0];
        let p = DropParams {
            window: 4,
            ..DropParams::default()
        };
        let pts = run(&v, p);
        assert!(!pts[3].is_anomaly);
        assert!(pts[4].is_anomaly);
        // median(10, 12, 11, 10) = 10.5, lower 5.25, score 0.5.
        assert_eq!(pts[4].expected, Some(10.5));
        assert_eq!(pts[4].lower, Some(5.25));
        assert_eq!(pts[4].upper, None);
        assert_eq!(pts[4].score, 0.5);
        let pts = run(&v, DropParams { confirm: 2, ..p });
        assert!(!pts[4].is_anomaly);
        assert!(pts[5].is_anomaly);
        // Spikes only with rise_fraction.
        let v = [10.0, 10.0, 10.0, 10.0, 30.0];
        assert!(!run(&v, p)[4].is_anomaly);
        let pts = run(
            &v,
            DropParams {
                rise_fraction: Some(1.0),
                ..p
            },
        );
        assert!(pts[4].is_anomaly);
        assert_eq!(pts[4].score, 1.0);
    }
}
