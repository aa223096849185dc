//! Several detectors combined into one verdict per bucket: an [`Ensemble`].
//!
//! Every member runs on the same series with its own parameters. A member
//! *fires* at a bucket when its own point is anomalous there. The
//! [`CombineRule`] turns the members' verdicts into the ensemble's:
//!
//! * [`Any`](CombineRule::Any): at least one member fires (union of alerts:
//!   e.g. `seasonal` for gradual changes or `drop` for sudden falls);
//! * [`All`](CombineRule::All): every member fires (intersection: fewer
//!   false alerts, and a member without a band yet — still warming up —
//!   never fires, so nothing is flagged until all have history);
//! * [`Majority`](CombineRule::Majority): strictly more than half of the
//!   members fire (2 of 3, 3 of 4 or 5; with 2 members it is `All`).
//!   Members without a band count as not firing.
//!
//! The combined [`Point`] takes its band, `expected` and `score` from the
//! first member (in `members` order) that fired at that bucket, or from the
//! first member when none fired; its `is_anomaly` is the rule's verdict (so
//! with `All` or `Majority` a point can lie outside the band it shows and
//! still not be anomalous, when too few members agree). `fired` names the
//! members that fired ([`DetectorSpec::name`]; two members of the same
//! detector with different parameters share a name).
//!
//! The lookback of an ensemble is its members' largest, and its newest
//! point gives every member all of the values: each member's newest point is
//! then its own, as exact as that member's lookback is.

use crate::detection::Detection;
use crate::error::DetectError;
use crate::point::Point;
use crate::series::{Clock, Series};

use super::{DetectorSpec, LearnedParams, Reach};

/// Most members of one ensemble (their verdicts are a bit mask).
pub const MAX_MEMBERS: usize = 64;

/// How the members' verdicts combine (see the [module doc](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum CombineRule {
    /// At least one member fires.
    #[default]
    Any,
    /// Every member fires.
    All,
    /// Strictly more than half of the members fire.
    Majority,
}

impl CombineRule {
    pub const ALL: [CombineRule; 3] = [CombineRule::Any, CombineRule::All, CombineRule::Majority];

    /// `any`, `all` or `majority`, as in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            CombineRule::Any => "any",
            CombineRule::All => "all",
            CombineRule::Majority => "majority",
        }
    }

    /// The rule named `text` (see [`as_str`](Self::as_str)).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|rule| rule.as_str() == text)
    }

    /// Whether `fired` of `members` members satisfy the rule.
    pub fn holds(self, fired: usize, members: usize) -> bool {
        match self {
            CombineRule::Any => fired >= 1,
            CombineRule::All => members > 0 && fired == members,
            CombineRule::Majority => 2 * fired > members,
        }
    }
}

/// Several detectors and the rule that combines them. One detector is an
/// ensemble of one member, so callers handle a single type.
///
/// With the `serde` feature it reads and writes in the shape of a config
/// entry: one member is written as that detector alone
/// (`{"detector": "iqr", "a": 4, ...}`), several as
/// `{"combine": "any", "members": [...]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ensemble {
    /// The detectors, in priority order: the first that fires gives the band.
    pub members: Vec<DetectorSpec>,
    /// How their verdicts combine.
    pub rule: CombineRule,
}

/// One bucket of an ensemble: the combined point and the members that fired.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EnsemblePoint {
    /// Band, expected and score of the first member that fired (else of the
    /// first member); `is_anomaly` is the rule's verdict.
    pub point: Point,
    /// Names of the members that flagged this bucket, in `members` order.
    pub fired: Vec<&'static str>,
}

/// An ensemble's output over a whole series.
#[derive(Debug, Clone, Default)]
pub struct EnsembleDetection {
    /// The combined points (see [`EnsemblePoint::point`]).
    pub detection: Detection,
    /// The members' names, in order.
    pub members: Vec<&'static str>,
    /// Per bucket, bit `i` set when member `i` fired.
    pub masks: Vec<u64>,
}

impl EnsembleDetection {
    /// Number of buckets.
    pub fn len(&self) -> usize {
        self.detection.len()
    }

    /// True when there are no buckets.
    pub fn is_empty(&self) -> bool {
        self.detection.is_empty()
    }

    /// Names of the members that fired at bucket `i`. Panics when `i >= len()`.
    pub fn fired(&self, i: usize) -> Vec<&'static str> {
        names(&self.members, self.masks[i])
    }

    /// The combined point of bucket `i` with the members that fired. Panics
    /// when `i >= len()`.
    pub fn point(&self, i: usize) -> EnsemblePoint {
        EnsemblePoint {
            point: self.detection.point(i),
            fired: self.fired(i),
        }
    }

    /// Buckets the rule flags.
    pub fn anomaly_count(&self) -> usize {
        self.detection.anomaly_count()
    }
}

fn names(members: &[&'static str], mask: u64) -> Vec<&'static str> {
    members
        .iter()
        .enumerate()
        .filter(|(i, _)| mask >> i & 1 == 1)
        .map(|(_, n)| *n)
        .collect()
}

impl Ensemble {
    /// An ensemble of `members` under `rule`.
    pub fn new(members: Vec<DetectorSpec>, rule: CombineRule) -> Self {
        Ensemble { members, rule }
    }

    /// One detector on its own.
    pub fn single(spec: DetectorSpec) -> Self {
        Ensemble {
            members: vec![spec],
            rule: CombineRule::Any,
        }
    }

    /// The judgment of a series whose alert is already open: a
    /// confirmation (the learned detector's `confirm`) gates opening an
    /// alert, not keeping it open. While an alert is open its span is
    /// replaced by the expectation (see [`crate::impute_masked`]), so the
    /// buckets before the newest never reach the threshold again, and a
    /// confirmation would resolve an outage in its third bucket.
    pub fn continuing(&self) -> Ensemble {
        let members = self
            .members
            .iter()
            .map(|spec| match spec {
                DetectorSpec::Learned(params) => DetectorSpec::Learned(LearnedParams {
                    confirm: 1,
                    ..*params
                }),
                other => other.clone(),
            })
            .collect();
        Ensemble::new(members, self.rule)
    }

    /// The members, in order.
    pub fn members(&self) -> &[DetectorSpec] {
        &self.members
    }

    /// The one member, when there is exactly one.
    pub fn as_single(&self) -> Option<&DetectorSpec> {
        match self.members.as_slice() {
            [only] => Some(only),
            _ => None,
        }
    }

    /// `iqr` for one member; `any(seasonal+drop)` for several.
    pub fn name(&self) -> String {
        match self.as_single() {
            Some(spec) => spec.name().to_string(),
            None => format!(
                "{}({})",
                self.rule.as_str(),
                self.members
                    .iter()
                    .map(DetectorSpec::name)
                    .collect::<Vec<_>>()
                    .join("+")
            ),
        }
    }

    /// The combined points over the whole series into a reused buffer: a
    /// single member runs straight into it, without the combining pass.
    pub fn run_into(&self, series: &Series, out: &mut Detection) -> Result<(), DetectError> {
        match self.as_single() {
            Some(spec) => spec.run_into(series, out),
            None => {
                *out = self.run(series)?.detection;
                Ok(())
            }
        }
    }

    /// Checks that there are 1 to [`MAX_MEMBERS`] members and that each one's
    /// parameters are valid.
    pub fn validate(&self) -> Result<(), DetectError> {
        super::common::check_count("members", self.members.len(), 1, MAX_MEMBERS)?;
        self.members.iter().try_for_each(DetectorSpec::validate)
    }

    /// The same ensemble with every seasonal member's season set to `points`
    /// ([`DetectorSpec::set_period`]); the other members are unchanged.
    pub fn with_period(&self, points: usize) -> Ensemble {
        let mut out = self.clone();
        for member in &mut out.members {
            member.set_period(points);
        }
        out
    }

    /// Points before the evaluated one that a live check must read: the
    /// members' largest [`DetectorSpec::lookback`].
    pub fn lookback(&self) -> usize {
        self.members
            .iter()
            .map(DetectorSpec::lookback)
            .max()
            .unwrap_or(0)
    }

    /// How far back a live check reads: enough for every member
    /// ([`DetectorSpec::reach`]).
    pub fn reach(&self) -> Reach {
        self.members.iter().map(DetectorSpec::reach).fold(
            Reach {
                lookback: 0,
                gaps: 0,
            },
            Reach::max,
        )
    }

    /// Runs every member over the whole series and combines them per bucket.
    pub fn run(&self, series: &Series) -> Result<EnsembleDetection, DetectError> {
        self.validate()?;
        let runs = self
            .members
            .iter()
            .map(|m| m.run(series))
            .collect::<Result<Vec<_>, _>>()?;
        let n = series.len();
        let mut out = EnsembleDetection {
            detection: Detection::with_capacity(n),
            members: self.members.iter().map(DetectorSpec::name).collect(),
            masks: Vec::with_capacity(n),
        };
        let mut points = Vec::with_capacity(runs.len());
        for i in 0..n {
            points.clear();
            points.extend(runs.iter().map(|d| d.point(i)));
            let (point, mask) = self.combine(&points);
            out.detection.push(point);
            out.masks.push(mask);
        }
        Ok(out)
    }

    /// The ensemble's point for the last of `values` (oldest first, `None` for
    /// a gap, the first at `clock`): every member's
    /// [`DetectorSpec::newest_point`] over all of them, combined. An empty
    /// input gives an empty point.
    pub fn newest_point(
        &self,
        values: impl IntoIterator<Item = Option<f64>>,
        clock: Clock,
    ) -> Result<EnsemblePoint, DetectError> {
        self.validate()?;
        let values: Vec<Option<f64>> = values.into_iter().collect();
        let points = self
            .members
            .iter()
            .map(|m| m.newest_point(values.iter().copied(), clock))
            .collect::<Result<Vec<_>, _>>()?;
        let (point, mask) = self.combine(&points);
        let members: Vec<&'static str> = self.members.iter().map(DetectorSpec::name).collect();
        Ok(EnsemblePoint {
            point,
            fired: names(&members, mask),
        })
    }

    /// The combined point of the members' `points` (one per member, in order)
    /// and the mask of those that fired.
    fn combine(&self, points: &[Point]) -> (Point, u64) {
        let mut mask = 0u64;
        let mut first_fired = None;
        for (i, p) in points.iter().enumerate() {
            if p.is_anomaly {
                mask |= 1 << i;
                first_fired.get_or_insert(i);
            }
        }
        let fired = mask.count_ones() as usize;
        let mut point = points
            .get(first_fired.unwrap_or(0))
            .copied()
            .unwrap_or_default();
        point.is_anomaly = self.rule.holds(fired, points.len());
        (point, mask)
    }
}

#[cfg(feature = "serde")]
mod config_shape {
    //! (De)serialization of [`Ensemble`] in the shape of a config entry.
    use super::{CombineRule, DetectorSpec, Ensemble};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Several {
        #[serde(default)]
        combine: CombineRule,
        members: Vec<DetectorSpec>,
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Shape {
        Several(Several),
        One(DetectorSpec),
    }

    impl Serialize for Ensemble {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            match self.as_single() {
                Some(spec) => spec.serialize(serializer),
                None => Several {
                    combine: self.rule,
                    members: self.members.clone(),
                }
                .serialize(serializer),
            }
        }
    }

    impl<'de> Deserialize<'de> for Ensemble {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            Ok(match Shape::deserialize(deserializer)? {
                Shape::Several(several) => Ensemble::new(several.members, several.combine),
                Shape::One(spec) => Ensemble::single(spec),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DropParams, IqrParams, SeasonalParams, Smoothing};

    fn members() -> Vec<DetectorSpec> {
        vec![
            DetectorSpec::Iqr(IqrParams {
                n: 8,
                a: 3.0,
                smooth: Smoothing::None,
            }),
            DetectorSpec::Drop(DropParams::default()),
            DetectorSpec::Seasonal(SeasonalParams {
                period: 10,
                seasons: 3,
                level_window: 5,
                ..SeasonalParams::default()
            }),
        ]
    }

    #[test]
    fn with_period_sets_only_the_seasonal_members() {
        let several = Ensemble::new(members(), CombineRule::Any);
        let daily = several.with_period(288);
        assert_eq!(daily.members[0], several.members[0]);
        assert_eq!(daily.members[1], several.members[1]);
        assert_eq!(daily.members[2].period(), Some(288));
        assert_eq!(daily.rule, several.rule);
        // The forecast's window follows its period, as on the command line.
        let mut forecast = DetectorSpec::default_for("forecast").unwrap();
        assert!(forecast.set_period(288));
        assert_eq!(forecast.period(), Some(288));
        assert!(forecast.validate().is_ok());
        let mut iqr = DetectorSpec::default_for("iqr").unwrap();
        assert!(!iqr.set_period(288));
        assert_eq!(iqr, DetectorSpec::default_for("iqr").unwrap());
    }

    #[test]
    fn names_and_single_members() {
        let several = Ensemble::new(members(), CombineRule::Majority);
        assert_eq!(several.name(), "majority(iqr+drop+seasonal)");
        assert!(several.as_single().is_none());
        let one = Ensemble::single(members().remove(1));
        assert_eq!(one.name(), "drop");
        for rule in CombineRule::ALL {
            assert_eq!(CombineRule::parse(rule.as_str()), Some(rule));
        }
        assert_eq!(CombineRule::parse("some"), None);
    }

    #[test]
    fn run_into_matches_run_for_one_and_several() {
        let series = Series::new(0, 900, values()).unwrap();
        let mut out = Detection::new();
        for ensemble in [
            Ensemble::single(members().remove(0)),
            Ensemble::new(members(), CombineRule::Any),
        ] {
            ensemble.run_into(&series, &mut out).unwrap();
            let batch = ensemble.run(&series).unwrap().detection;
            assert_eq!(out.len(), batch.len());
            for i in 0..out.len() {
                assert_eq!(out.point(i).is_anomaly, batch.point(i).is_anomaly, "{i}");
            }
        }
    }

    /// A period-10 cycle; a spike at 50 (iqr and seasonal see it, drop does
    /// not look up), a fall to zero at 70 (all three).
    fn values() -> Vec<Option<f64>> {
        (0..80)
            .map(|i| {
                Some(match i {
                    50 => 400.0,
                    70 => 0.0,
                    _ => 100.0 + (i % 10) as f64 + (i % 3) as f64,
                })
            })
            .collect()
    }

    #[test]
    fn rules_combine_the_members_verdicts() {
        let series = Series::new(0, 900, values()).unwrap();
        let run = |rule| Ensemble::new(members(), rule).run(&series).unwrap();
        let any = run(CombineRule::Any);
        assert_eq!(any.fired(50), ["iqr", "seasonal"]);
        assert_eq!(any.fired(70), ["iqr", "drop", "seasonal"]);
        assert!(any.point(50).point.is_anomaly);
        // The band comes from the first member that fired.
        let iqr = members()[0].run(&series).unwrap();
        assert_eq!(any.point(50).point, iqr.point(50));
        let all = run(CombineRule::All);
        assert!(!all.point(50).point.is_anomaly);
        assert!(all.point(70).point.is_anomaly);
        let majority = run(CombineRule::Majority);
        assert!(majority.point(50).point.is_anomaly);
        assert!(majority.point(70).point.is_anomaly);
        for d in [&any, &all, &majority] {
            for i in 0..d.len() {
                let p = d.point(i);
                if p.fired.is_empty() {
                    assert!(!p.point.is_anomaly, "{i}");
                }
            }
        }
        assert!(all.anomaly_count() <= majority.anomaly_count());
        assert!(majority.anomaly_count() <= any.anomaly_count());
    }

    #[test]
    fn newest_point_matches_the_batch() {
        let v = values();
        let ensemble = Ensemble::new(members(), CombineRule::Majority);
        let full = ensemble
            .run(&Series::new(0, 900, v.clone()).unwrap())
            .unwrap();
        for end in [50, 70, 79] {
            let tail = &v[end - ensemble.lookback()..=end];
            let clock = Clock::new(0, 900).skip(end - ensemble.lookback());
            let newest = ensemble.newest_point(tail.iter().copied(), clock).unwrap();
            assert_eq!(newest, full.point(end), "end={end}");
        }
        assert_eq!(
            ensemble.newest_point([], Clock::new(0, 900)).unwrap(),
            EnsemblePoint::default()
        );
    }

    #[test]
    fn validation() {
        let empty = Ensemble::new(vec![], CombineRule::Any);
        assert_eq!(
            empty.validate().unwrap_err().to_string(),
            "members must be between 1 and 64 (got 0)"
        );
        let bad = Ensemble::new(
            vec![DetectorSpec::Iqr(IqrParams {
                n: 1,
                ..IqrParams::default()
            })],
            CombineRule::All,
        );
        assert!(bad.run(&Series::new(0, 60, vec![]).unwrap()).is_err());
        assert!(CombineRule::Majority.holds(2, 3));
        assert!(!CombineRule::Majority.holds(1, 2));
        assert!(!CombineRule::All.holds(0, 0));
    }
}
