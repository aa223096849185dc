//! Test-only: the smallest detector, a fixed band `[floor, limit]`. It
//! proves the contract: this file plus one line in `registry!` give it a
//! name, config/CLI parameters, the lab's knobs and `vigil tune`'s grid.

use crate::error::DetectError;
use crate::point::Point;
use crate::series::Clock;

use super::contract::{number, Detector, Knob, Param, Stream, Tunable};

/// Parameters of the fixed band.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct LimitParams {
    /// Flag values above this.
    pub limit: f64,
    /// Flag values below this (<= limit).
    pub floor: f64,
}

impl Default for LimitParams {
    fn default() -> Self {
        LimitParams {
            limit: 100.0,
            floor: 0.0,
        }
    }
}

impl Detector for LimitParams {
    const NAME: &'static str = "limit";
    const DESCRIPTION: &'static str = "Fixed band (test only)";
    const SUMMARY: &'static str = "Values outside [--floor, --limit]";
    const PARAMS: &'static [Param<Self>] = &[
        number("limit", "upper bound", |p| p.limit, |p, v| p.limit = v),
        number(
            "floor",
            "lower bound (<= limit)",
            |p| p.floor,
            |p, v| p.floor = v,
        ),
    ];
    const KNOBS: &'static [Tunable<Self>] = &[
        Knob::number("limit", "limit", 0.0, 1000.0, 1.0).on(|p| p.limit, |p, v| p.limit = v),
        Knob::number("floor", "floor", -1000.0, 0.0, 1.0).on(|p| p.floor, |p, v| p.floor = v),
    ];
    type State = LimitParams;

    fn validate(&self) -> Result<(), DetectError> {
        if !(self.floor.is_finite() && self.limit.is_finite() && self.floor <= self.limit) {
            return Err(DetectError::InvalidNumber {
                name: "limit",
                value: self.limit,
                requirement: ">= floor",
            });
        }
        Ok(())
    }

    fn lookback(&self) -> usize {
        0
    }

    fn state(&self, _clock: Clock) -> Result<LimitParams, DetectError> {
        self.validate().map(|()| *self)
    }
}

impl Stream for LimitParams {
    fn push(&mut self, value: Option<f64>) -> Point {
        let value = value.filter(|v| v.is_finite());
        Point::assess(value, Some((self.floor, self.limit)), None, Some(1.0))
    }
}

#[cfg(test)]
mod tests {
    use crate::detectors::Given;
    use crate::eval::tuning;
    use crate::{DetectorSpec, Entry, Series, DETECTOR_NAMES};

    #[test]
    fn registration_derives_the_rest() {
        assert!(DETECTOR_NAMES.contains(&"limit"));
        let entry = Entry::find("limit").expect("registered");
        let keys: Vec<&str> = (entry.params)().iter().map(|p| p.key).collect();
        assert_eq!(keys, ["limit", "floor"]);
        // What `vigil detect --detector limit --limit 5` builds.
        let spec = (entry.build)(&mut |key| (key == "limit").then_some(Given::Number(5.0)));
        assert_eq!(spec.knob("limit"), Some(5.0));
        let series = Series::from_f64(0, 60, vec![1.0, 9.0]).unwrap();
        assert_eq!(spec.run(&series).unwrap().anomaly_count(), 1);
        assert!(
            spec.newest_point([Some(9.0)], series.clock())
                .unwrap()
                .is_anomaly
        );
        // The lab's knobs and `vigil tune`'s grid.
        let base = DetectorSpec::default_for("limit").unwrap();
        assert_eq!(tuning::knobs(&base).len(), 2);
        assert_eq!(tuning::grid_specs(&base, 6).len(), 36);
    }
}
