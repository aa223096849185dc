//! Detectors: each turns a [`Series`] into one
//! [`Point`](crate::Point) per bucket, stored as a [`Detection`].
//!
//! A detector is a parameter struct (validated up front), a causal
//! incremental state whose `push` gives the newest point (what a live check
//! computes), and a batch function that is that state run in a loop (plus any
//! non-causal post-processing). [`DetectorSpec`] names one detector with its
//! parameters; [`DetectorSpec::run`] is the single entry point used by the
//! CLI and the web page. [`Ensemble`] combines several of them
//! ([`combine`]).

pub mod changepoint;
pub mod combine;
mod common;
pub mod drop;
pub mod forecast;
pub mod iqr;
pub mod seasonal;
pub mod seasonal_iqr;

use crate::detection::Detection;
use crate::error::DetectError;
use crate::series::Series;

pub use changepoint::{changepoint, changepoint_into, ChangepointParams, ChangepointState};
pub use combine::{CombineRule, Ensemble, EnsembleDetection, EnsemblePoint};
pub use drop::{drop_rule, drop_rule_into, DropParams, DropState};
pub use forecast::{forecast, forecast_into, ForecastParams, ForecastState};
pub use iqr::{iqr, iqr_into, IqrParams, IqrState, BLOCKS_THRESHOLD};
pub use seasonal::{seasonal, seasonal_into, SeasonalParams, SeasonalState};
pub use seasonal_iqr::{seasonal_iqr, seasonal_iqr_into, SeasonalIqrParams, SeasonalIqrState};

/// A detector and its parameters. New detectors add a variant.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "detector", rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum DetectorSpec {
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
}

/// Every detector name, as [`DetectorSpec::name`] gives them.
pub const DETECTOR_NAMES: [&str; 6] = [
    "iqr",
    "seasonal_iqr",
    "seasonal",
    "drop",
    "changepoint",
    "forecast",
];

impl DetectorSpec {
    /// The detector's short name (`iqr`, `seasonal_iqr`, `seasonal`, `drop`,
    /// `changepoint`, `forecast`), as on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            DetectorSpec::Iqr(_) => "iqr",
            DetectorSpec::SeasonalIqr(_) => "seasonal_iqr",
            DetectorSpec::Seasonal(_) => "seasonal",
            DetectorSpec::Drop(_) => "drop",
            DetectorSpec::Changepoint(_) => "changepoint",
            DetectorSpec::Forecast(_) => "forecast",
        }
    }

    /// The detector named `name` (see [`name`](Self::name)) with its default parameters.
    pub fn default_for(name: &str) -> Result<DetectorSpec, DetectError> {
        Ok(match name {
            "iqr" => DetectorSpec::Iqr(IqrParams::default()),
            "seasonal_iqr" => DetectorSpec::SeasonalIqr(SeasonalIqrParams::default()),
            "seasonal" => DetectorSpec::Seasonal(SeasonalParams::default()),
            "drop" => DetectorSpec::Drop(DropParams::default()),
            "changepoint" => DetectorSpec::Changepoint(ChangepointParams::default()),
            "forecast" => DetectorSpec::Forecast(ForecastParams::default()),
            _ => return Err(DetectError::UnknownDetector(name.to_string())),
        })
    }

    /// Checks the parameters without running anything.
    pub fn validate(&self) -> Result<(), DetectError> {
        match self {
            DetectorSpec::Iqr(p) => p.validate(),
            DetectorSpec::SeasonalIqr(p) => p.validate(),
            DetectorSpec::Seasonal(p) => p.validate(),
            DetectorSpec::Drop(p) => p.validate(),
            DetectorSpec::Changepoint(p) => p.validate(),
            DetectorSpec::Forecast(p) => p.validate(),
        }
    }

    /// Runs the detector over the whole series: one point per bucket.
    pub fn run(&self, series: &Series) -> Result<Detection, DetectError> {
        let mut out = Detection::new();
        self.run_into(series, &mut out)?;
        Ok(out)
    }

    /// [`run`](Self::run) into a reused buffer (cleared first).
    pub fn run_into(&self, series: &Series, out: &mut Detection) -> Result<(), DetectError> {
        match self {
            DetectorSpec::Iqr(p) => iqr_into(series, p, out),
            DetectorSpec::SeasonalIqr(p) => seasonal_iqr_into(series, p, out),
            DetectorSpec::Seasonal(p) => seasonal_into(series, p, out),
            DetectorSpec::Drop(p) => drop_rule_into(series, p, out),
            DetectorSpec::Changepoint(p) => changepoint_into(series, p, out),
            DetectorSpec::Forecast(p) => forecast_into(series, p, out),
        }
    }
}

impl From<IqrParams> for DetectorSpec {
    fn from(p: IqrParams) -> Self {
        DetectorSpec::Iqr(p)
    }
}

impl From<SeasonalIqrParams> for DetectorSpec {
    fn from(p: SeasonalIqrParams) -> Self {
        DetectorSpec::SeasonalIqr(p)
    }
}

impl From<SeasonalParams> for DetectorSpec {
    fn from(p: SeasonalParams) -> Self {
        DetectorSpec::Seasonal(p)
    }
}

impl From<DropParams> for DetectorSpec {
    fn from(p: DropParams) -> Self {
        DetectorSpec::Drop(p)
    }
}

impl From<ChangepointParams> for DetectorSpec {
    fn from(p: ChangepointParams) -> Self {
        DetectorSpec::Changepoint(p)
    }
}

impl From<ForecastParams> for DetectorSpec {
    fn from(p: ForecastParams) -> Self {
        DetectorSpec::Forecast(p)
    }
}

/// Runs `spec` over `series` (same as [`DetectorSpec::run`]).
pub fn run(spec: &DetectorSpec, series: &Series) -> Result<Detection, DetectError> {
    spec.run(series)
}
