//! The learned detector: an anomaly probability per bucket from
//! gradient-boosted trees over the bucket's [`features`](crate::features),
//! trained on labelled and synthetic incidents (`vigil train`; the model,
//! its file and its training are in [`crate::models`]).
//!
//! Why a classifier: on fast, noisy product metrics no single statistical
//! rule has good precision, recall and reaction time at once (a band wide
//! enough for a tiny slice's noise is blind to a whole metric's 20 % fall);
//! the trees learn from the ratios, the seasonal residuals and the scale
//! together when a move is an incident. See `docs/learned.md`.
//!
//! A bucket is anomalous when its probability reaches `threshold` (chosen
//! for the model on held-out data for a target false-alert rate) and it is
//! at least `min_change` away from the expectation. The point's expectation
//! is the seasonal baseline (same slot of earlier days, scaled to the
//! recent level), or the recent median without a daily cycle; it has no
//! band (the model's judgment is not an interval), and its score is the
//! probability when the point is anomalous.

use super::contract::{number, period, Detector, Knob, Param, Stream, Tunable};
use std::cell::RefCell;
use std::rc::Rc;

use crate::detection::Detection;
use crate::error::DetectError;
use crate::features::{Context, FeatureState, Row};
use crate::point::{deviation, Point};
use crate::series::{Clock, Series};

use crate::models::ModelRef;

/// Parameters of the learned detector.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct LearnedParams {
    /// Alert when the anomaly probability reaches this (0 < threshold <= 1).
    pub threshold: f64,
    /// Alert only when the value is at least this fraction away from the
    /// expectation (finite, >= 0; 0 = the model alone decides).
    pub min_change: f64,
    /// Points per day (>= 2): the seasonal features' cycle.
    pub period: usize,
    /// The model: `builtin` or the id of a model file named in the config.
    pub model: ModelRef,
}

impl Default for LearnedParams {
    /// The built-in model at the threshold chosen for it when it was
    /// trained, on a day of 15-minute buckets.
    fn default() -> Self {
        let model = ModelRef::builtin();
        LearnedParams {
            threshold: model.threshold,
            min_change: 0.0,
            period: 96,
            model,
        }
    }
}

impl Detector for LearnedParams {
    const NAME: &'static str = "learned";
    const DESCRIPTION: &'static str = "Learned (trees trained on incidents)";
    const SUMMARY: &'static str =
        "Anomaly probability from a trained tree model over ratio, seasonal and scale features";
    const PARAMS: &'static [Param<Self>] = &[
        number(
            "threshold",
            "alert when the anomaly probability reaches this (0 < threshold <= 1; the default \
             is the one chosen for the model on held-out data)",
            |p: &LearnedParams| p.threshold,
            |p, v| p.threshold = v,
        )
        .default_reads("the model's"),
        number(
            "min_change",
            "alert only when the value is at least this fraction away from the expectation \
             (>= 0)",
            |p: &LearnedParams| p.min_change,
            |p, v| p.min_change = v,
        ),
        period(|p| p.period, |p, v| p.period = v),
    ];
    const KNOBS: &'static [Tunable<Self>] = &[
        Knob::number("threshold", "alert probability", 0.01, 0.99, 0.01)
            .searching_to(1.0)
            .on(|p| p.threshold, |p, v| p.threshold = v),
        Knob::number(
            "min_change",
            "min change (fraction of expected)",
            0.0,
            0.5,
            0.01,
        )
        .on(|p| p.min_change, |p, v| p.min_change = v),
    ];
    type State = LearnedState;

    fn validate(&self) -> Result<(), DetectError> {
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err(DetectError::InvalidNumber {
                name: "threshold",
                value: self.threshold,
                requirement: "in (0, 1]",
            });
        }
        if !(self.min_change.is_finite() && self.min_change >= 0.0) {
            return Err(DetectError::InvalidNumber {
                name: "min_change",
                value: self.min_change,
                requirement: ">= 0",
            });
        }
        crate::detectors::common::check_count("period", self.period, 2, 1 << 20)
    }

    fn lookback(&self) -> usize {
        FeatureState::lookback(Some(self.period))
    }

    /// The features of every value (each needs the ones before it), the
    /// trees only for the newest: a live check asks for one point, and a
    /// prediction per history value made a check of the built-in metrics
    /// take seconds.
    fn newest_point(
        &self,
        values: impl IntoIterator<Item = Option<f64>>,
        clock: Clock,
    ) -> Result<Point, DetectError> {
        self.validate()?;
        let mut features = FeatureState::new(clock, Some(self.period));
        let mut newest = None;
        for value in values {
            let value = value.filter(|v| v.is_finite());
            newest = Some((value, features.push(value)));
        }
        Ok(match newest {
            Some((value, (row, context))) => {
                self.point(value, &context, self.model.probability(&row))
            }
            None => Point::default(),
        })
    }

    fn state(&self, clock: Clock) -> Result<LearnedState, DetectError> {
        self.validate()?;
        Ok(LearnedState {
            params: *self,
            features: FeatureState::new(clock, Some(self.period)),
        })
    }

    /// The features of every bucket, then the trees once over all rows
    /// (the same sums in the same order as one row at a time). The
    /// probabilities of the last series are kept: moving the lab's
    /// threshold or minimum change only re-reads them.
    fn run_into(&self, series: &Series, out: &mut Detection) -> Result<(), DetectError> {
        self.validate()?;
        let judged = Judged::of(self, series);
        out.clear();
        out.reserve(judged.probabilities.len());
        for ((value, expected), p) in series
            .values()
            .zip(&judged.expected)
            .zip(&judged.probabilities)
        {
            out.push(self.point_from(value, *expected, *p));
        }
        Ok(())
    }
}

/// A series' probabilities and expectations under one model and period:
/// what a threshold does not change.
#[derive(Debug, Clone)]
struct Judged {
    key: JudgedKey,
    probabilities: Vec<f64>,
    expected: Vec<Option<f64>>,
}

/// What the probabilities depend on: the model, the period and the
/// series (its clock and the bits of its values).
#[derive(Debug, Clone, PartialEq)]
struct JudgedKey {
    model: String,
    period: usize,
    start: i64,
    step: i64,
    values: Vec<u64>,
}

impl Judged {
    /// The judgment of `series`, from the last one when nothing it depends
    /// on changed.
    fn of(params: &LearnedParams, series: &Series) -> Rc<Judged> {
        thread_local! {
            static LAST: RefCell<Option<Rc<Judged>>> = const { RefCell::new(None) };
        }
        let key = JudgedKey {
            model: params.model.id.clone(),
            period: params.period,
            start: series.start,
            step: series.step,
            values: series.raw_values().iter().map(|v| v.to_bits()).collect(),
        };
        if let Some(last) = LAST.with(|l| l.borrow().clone()).filter(|j| j.key == key) {
            return last;
        }
        let mut features = FeatureState::new(series.clock(), Some(params.period));
        let (rows, contexts): (Vec<Row>, Vec<Context>) =
            series.values().map(|v| features.push(v)).unzip();
        let judged = Rc::new(Judged {
            key,
            probabilities: params.model.probabilities(&rows),
            expected: contexts.iter().map(expectation).collect(),
        });
        LAST.with(|l| *l.borrow_mut() = Some(judged.clone()));
        judged
    }
}

impl LearnedParams {
    /// The point of a bucket whose probability is `p`.
    pub(crate) fn point(&self, value: Option<f64>, context: &Context, p: f64) -> Point {
        self.point_from(value, expectation(context), p)
    }

    /// The point of a bucket whose expectation is `expected` and
    /// probability `p`.
    fn point_from(&self, value: Option<f64>, expected: Option<f64>, p: f64) -> Point {
        let deviation = deviation(value, expected);
        let big_enough = deviation.is_none_or(|d| d.abs() >= self.min_change);
        let is_anomaly = value.is_some() && p >= self.threshold && big_enough;
        Point {
            value,
            lower: None,
            upper: None,
            expected,
            is_anomaly,
            score: if is_anomaly { p } else { 0.0 },
            deviation,
        }
    }
}

/// What the point says was expected: the seasonal baseline when there is
/// one, else the recent median.
fn expectation(context: &Context) -> Option<f64> {
    context
        .seasonal
        .and_then(|p| p.expected)
        .or(context.window_median)
}

/// The learned detector's causal state.
#[derive(Debug, Clone)]
pub struct LearnedState {
    params: LearnedParams,
    features: FeatureState,
}

impl Stream for LearnedState {
    fn push(&mut self, value: Option<f64>) -> Point {
        let value = value.filter(|v| v.is_finite());
        let (row, context) = self.features.push(value);
        let p = self.params.model.probability(&row);
        self.params.point(value, &context, p)
    }
}

#[cfg(test)]
#[path = "learned_tests.rs"]
mod tests;
