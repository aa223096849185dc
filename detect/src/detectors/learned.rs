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
//! A bucket reaches the threshold when its probability reaches `threshold`
//! (chosen for the model on held-out data for a target false-alert rate)
//! and it is at least `min_change` away from the expectation. It is
//! anomalous when it reaches it and so did at least `confirm - 1` of the
//! `confirm` buckets before it: on noisy series most single buckets over the
//! threshold are noise that the next bucket does not repeat, while an
//! incident lasts (and a slow one hovering around the threshold still gets
//! through, since the buckets need not be consecutive). A bucket whose
//! probability also reaches `sure` needs no confirmation: a whole metric at
//! zero is as clear in its first bucket as in its second, and waiting for
//! the second cost every outage 15 minutes (and an outage of one bucket its
//! alert). The point's expectation
//! is the seasonal baseline (same slot of earlier days, scaled to the
//! recent level), or the recent median without a daily cycle; it has no
//! band (the model's judgment is not an interval), and its score is the
//! probability when the point is anomalous.

use super::contract::{count, number, period, Detector, Knob, Param, Stream, Tunable};
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
    /// Buckets over the threshold needed among the newest and the
    /// `confirm` before it (1 = the newest alone decides; at most
    /// [`MAX_CONFIRM`]).
    pub confirm: usize,
    /// A bucket whose probability reaches this (and the threshold) is
    /// anomalous alone, without confirmation (0 < sure <= 1; 1 = never).
    pub sure: f64,
    /// Points per day (>= 2): the seasonal features' cycle.
    pub period: usize,
    /// The model: `builtin` or the id of a model file named in the config.
    pub model: ModelRef,
}

impl Default for LearnedParams {
    /// The built-in model at the threshold and confirmation chosen for it
    /// when it was trained, on a day of 15-minute buckets.
    fn default() -> Self {
        let model = ModelRef::builtin();
        LearnedParams {
            threshold: model.threshold,
            min_change: 0.0,
            confirm: model.provenance.confirm,
            sure: model.provenance.sure,
            period: 96,
            model,
        }
    }
}

/// The largest `confirm`: beyond an hour of 15-minute buckets a
/// confirmation delays more than it filters.
pub const MAX_CONFIRM: usize = 4;

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
        count(
            "confirm",
            "buckets over the threshold needed among the newest and the `confirm` before it \
             (1..=4; 1 = the newest alone)",
            |p| p.confirm,
            |p, v| p.confirm = v,
        ),
        number(
            "sure",
            "a bucket whose probability also reaches this alerts alone, without confirmation \
             (0 < sure <= 1; 1 = never; the default is the one chosen for the model)",
            |p: &LearnedParams| p.sure,
            |p, v| p.sure = v,
        )
        .default_reads("the model's"),
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
        crate::detectors::common::check_count("confirm", self.confirm, 1, MAX_CONFIRM)?;
        if !(self.sure > 0.0 && self.sure <= 1.0) {
            return Err(DetectError::InvalidNumber {
                name: "sure",
                value: self.sure,
                requirement: "in (0, 1]",
            });
        }
        crate::detectors::common::check_count("period", self.period, 2, 1 << 20)
    }

    /// The features' lookback for the oldest bucket the confirmation reads.
    fn lookback(&self) -> usize {
        FeatureState::lookback(Some(self.period)) + self.confirm - 1
    }

    /// Only the features' IQR band skips gaps; the rest is positional (a
    /// week of same-slot values, fixed windows), so reading twice the
    /// lookback (1,422 buckets instead of 723) only cost memory.
    fn gap_reach(&self) -> usize {
        FeatureState::gap_reach()
    }

    /// The trees only for the newest and the buckets its confirmation
    /// reads, and their rows only from the lookback: a live check asks for
    /// one point of a series of twice the lookback, and judging every
    /// value made a check of 10,000 city slices take seconds. The values
    /// before those rows' reach are only taken into the history
    /// ([`FeatureState::skip`]): about 60 full rows instead of 1,421, with
    /// the same point (tested against the batch).
    fn newest_point(
        &self,
        values: impl IntoIterator<Item = Option<f64>>,
        clock: Clock,
    ) -> Result<Point, DetectError> {
        self.validate()?;
        let values: Vec<Option<f64>> = values.into_iter().collect();
        // The rows of the newest `confirm + 1` buckets read only the
        // `lookback` values before them (exact, [`FeatureState::lookback`]).
        let from = values.len().saturating_sub(self.lookback() + 1);
        let mut features = FeatureState::new(clock.skip(from), Some(self.period));
        let full = (self.confirm + 1) + features.skip_reach();
        let skipped = (values.len() - from).saturating_sub(full);
        let mut recent = std::collections::VecDeque::with_capacity(self.confirm + 1);
        for (i, value) in values[from..].iter().enumerate() {
            let value = value.filter(|v| v.is_finite());
            if i < skipped {
                features.skip(value);
                continue;
            }
            if recent.len() == self.confirm + 1 {
                recent.pop_front();
            }
            recent.push_back((value, features.push(value)));
        }
        let Some((value, (_, context))) = recent.back() else {
            return Ok(Point::default());
        };
        let rows: Vec<Row> = recent.iter().map(|(_, (row, _))| *row).collect();
        let probabilities = self.model.probabilities(&rows);
        let mut confirmation = Confirmation::new(self.confirm);
        let mut confirmed = false;
        for ((value, (_, context)), p) in recent.iter().zip(&probabilities) {
            confirmed = confirmation.push(self.verdict(*value, expectation(context), *p));
        }
        let newest = *probabilities.last().unwrap_or(&0.0);
        Ok(self.point_from(*value, expectation(context), newest, confirmed))
    }

    fn state(&self, clock: Clock) -> Result<LearnedState, DetectError> {
        self.validate()?;
        Ok(LearnedState {
            params: *self,
            features: FeatureState::new(clock, Some(self.period)),
            confirmation: Confirmation::new(self.confirm),
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
        let mut confirmation = Confirmation::new(self.confirm);
        for ((value, expected), p) in series
            .values()
            .zip(&judged.expected)
            .zip(&judged.probabilities)
        {
            let confirmed = confirmation.push(self.verdict(value, *expected, *p));
            out.push(self.point_from(value, *expected, *p, confirmed));
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
    /// How far a bucket reaches: the threshold when its value's
    /// probability is at least `threshold` and it is at least `min_change`
    /// from its expectation; `sure` when its probability is that high too.
    fn verdict(&self, value: Option<f64>, expected: Option<f64>, p: f64) -> Verdict {
        let big_enough = deviation(value, expected).is_none_or(|d| d.abs() >= self.min_change);
        Verdict::of(p, self.threshold, self.sure, value.is_some() && big_enough)
    }

    /// The point of a bucket whose expectation is `expected` and
    /// probability `p`, anomalous (confirmed) or not.
    fn point_from(
        &self,
        value: Option<f64>,
        expected: Option<f64>,
        p: f64,
        is_anomaly: bool,
    ) -> Point {
        let deviation = deviation(value, expected);
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

/// How far one bucket's probability reaches (named apart from
/// [`crate::Reach`], the buckets a live check reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Under the threshold (or too close to its expectation).
    Below,
    /// The threshold: anomalous when confirmed.
    Threshold,
    /// `sure` too: anomalous alone.
    Sure,
}

impl Verdict {
    /// The verdict on probability `p` under `threshold` and `sure` (1 =
    /// never alone), for a bucket that may alert at all (`eligible`).
    pub(crate) fn of(p: f64, threshold: f64, sure: f64, eligible: bool) -> Verdict {
        if !eligible || p < threshold {
            Verdict::Below
        } else if sure < 1.0 && p >= sure {
            Verdict::Sure
        } else {
            Verdict::Threshold
        }
    }
}

/// The confirmation rule over a run of buckets, one at a time: whether the
/// newest is anomalous because it reaches `sure`, or it and at least
/// `confirm - 1` of the `confirm` buckets before it reach the threshold.
/// The batch run, the stream, the newest point and training's choice of
/// the threshold and `sure` all flag through it.
#[derive(Debug, Clone)]
pub(crate) struct Confirmation {
    confirm: usize,
    /// Whether each of the last `confirm` buckets reached the threshold,
    /// oldest first.
    before: std::collections::VecDeque<bool>,
}

impl Confirmation {
    pub(crate) fn new(confirm: usize) -> Self {
        Confirmation {
            confirm,
            before: std::collections::VecDeque::with_capacity(confirm),
        }
    }

    /// Takes the next bucket; returns whether it is anomalous.
    pub(crate) fn push(&mut self, verdict: Verdict) -> bool {
        let reaches = verdict != Verdict::Below;
        let confirmed = verdict == Verdict::Sure
            || (reaches && self.before.iter().filter(|&&r| r).count() + 1 >= self.confirm);
        if self.before.len() == self.confirm {
            self.before.pop_front();
        }
        if self.confirm > 0 {
            self.before.push_back(reaches);
        }
        confirmed
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
    confirmation: Confirmation,
}

impl Stream for LearnedState {
    fn push(&mut self, value: Option<f64>) -> Point {
        let params = &self.params;
        let value = value.filter(|v| v.is_finite());
        let (row, context) = self.features.push(value);
        let p = params.model.probability(&row);
        let expected = expectation(&context);
        let confirmed = self.confirmation.push(params.verdict(value, expected, p));
        params.point_from(value, expected, p, confirmed)
    }
}

#[cfg(test)]
#[path = "learned_tests.rs"]
mod tests;
