//! Detectors: each turns a [`Series`] into one
//! [`Point`](crate::Point) per bucket, stored as a [`Detection`].
//!
//! A detector is one file here implementing the [`Detector`] contract
//! ([`contract`]): a parameter struct (validated up front), a causal state
//! whose `push` gives the newest point (what a live check computes), and the
//! batch run (provided: that state in a loop; the IQR rule and the forecast
//! bring their own). It is registered by one line in [`registry!`] below,
//! which derives [`DetectorSpec`] (one detector with its parameters; its
//! [`run`](DetectorSpec::run) is the single entry point of the CLI and the
//! web page), [`DETECTOR_NAMES`] and [`DETECTORS`]. [`Ensemble`] combines
//! several of them ([`combine`]). See `README.md` here.

pub mod changepoint;
pub mod combine;
pub(crate) mod common;
pub mod contract;
pub mod drop;
pub mod forecast;
pub mod iqr;
pub mod learned;
#[cfg(test)]
mod limit;
#[macro_use]
mod registry;
pub mod seasonal;
pub mod seasonal_iqr;

use crate::detection::Detection;
use crate::error::DetectError;
use crate::point::Point;
use crate::series::{Clock, Series};

pub use changepoint::{ChangepointParams, ChangepointState};
pub use combine::{CombineRule, Ensemble, EnsembleDetection, EnsemblePoint};
pub use contract::{Detector, Given, Knob, Param, Reach, Stream, Tunable, Value};
pub use drop::{DropParams, DropState};
pub use forecast::{ForecastParams, ForecastState};
pub use iqr::{iqr, iqr_into, IqrParams, IqrState, BLOCKS_THRESHOLD};
pub use learned::{LearnedParams, LearnedState};
pub use registry::{Entry, ParamDoc, ParamKind};
pub use seasonal::{SeasonalParams, SeasonalState};
pub use seasonal_iqr::{SeasonalIqrParams, SeasonalIqrState};

registry! {
    /// Rolling interquartile range of the last `n` observations.
    Iqr(IqrParams),
    /// The IQR rule over the same slot of earlier periods.
    SeasonalIqr(SeasonalIqrParams),
    /// Same-slot median scaled to the recent level, band of robust sds.
    Seasonal(SeasonalParams),
    /// Sharp fall (optionally spike) relative to the recent median.
    Drop(DropParams),
    /// CUSUM of the seasonal residuals: sustained level shifts.
    Changepoint(ChangepointParams),
    /// augurs MSTL + ETS forecast, its prediction interval as the band.
    Forecast(ForecastParams),
    /// Gradient-boosted trees over ratio, seasonal and scale features.
    Learned(LearnedParams),
    #[cfg(test)]
    /// A fixed band: the contract's test detector (`limit.rs`).
    Limit(limit::LimitParams),
}

impl DetectorSpec {
    /// Runs the detector over the whole series: one point per bucket.
    pub fn run(&self, series: &Series) -> Result<Detection, DetectError> {
        let mut out = Detection::new();
        self.run_into(series, &mut out)?;
        Ok(out)
    }

    /// The registry entry of this detector.
    pub fn entry(&self) -> &'static Entry {
        Entry::find(self.name()).expect("every variant is registered")
    }
}

/// Runs `spec` over `series` (same as [`DetectorSpec::run`]).
pub fn run(spec: &DetectorSpec, series: &Series) -> Result<Detection, DetectError> {
    spec.run(series)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for (i, name) in DETECTOR_NAMES.iter().enumerate() {
            assert_eq!(DetectorSpec::default_for(name).unwrap().name(), *name);
            assert!(!DETECTOR_NAMES[..i].contains(name), "{name} twice");
        }
        assert!(DetectorSpec::default_for("nope").is_err());
    }

    /// serde tags a `DetectorSpec` with the snake_case of its variant.
    #[test]
    fn serde_tag_is_the_name() {
        for (variant, name) in VARIANTS.iter().zip(DETECTOR_NAMES) {
            let mut snake = String::new();
            for (i, c) in variant.chars().enumerate() {
                if c.is_uppercase() && i > 0 {
                    snake.push('_');
                }
                snake.push(c.to_ascii_lowercase());
            }
            assert_eq!(snake, name);
        }
    }

    #[test]
    fn knobs_and_params_name_real_fields() {
        for entry in &DETECTORS {
            let keys: Vec<&str> = (entry.params)().iter().map(|p| p.key).collect();
            for knob in (entry.knobs)() {
                assert!(keys.contains(&knob.key), "{}.{}", entry.name, knob.key);
            }
            assert_eq!((entry.knobs)().len(), 2, "{}", entry.name);
        }
    }
}
