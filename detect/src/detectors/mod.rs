//! Detectors: each turns a [`Series`] into one
//! [`Point`](crate::Point) per bucket, stored as a [`Detection`].
//!
//! A detector is a parameter struct (validated up front), a causal
//! incremental state whose `push` gives the newest point (what a live check
//! computes), and a batch function that is that state run in a loop (plus any
//! non-causal post-processing). [`DetectorSpec`] names one detector with its
//! parameters; [`DetectorSpec::run`] is the single entry point used by the
//! CLI and the web page.

pub mod iqr;

use crate::detection::Detection;
use crate::error::DetectError;
use crate::series::Series;

pub use iqr::{iqr, iqr_into, IqrParams, IqrState, BLOCKS_THRESHOLD};

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
}

impl DetectorSpec {
    /// The detector's short name (`iqr`), as on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            DetectorSpec::Iqr(_) => "iqr",
        }
    }

    /// Checks the parameters without running anything.
    pub fn validate(&self) -> Result<(), DetectError> {
        match self {
            DetectorSpec::Iqr(p) => p.validate(),
        }
    }

    /// Runs the detector over the whole series: one point per bucket.
    pub fn run(&self, series: &Series) -> Result<Detection, DetectError> {
        match self {
            DetectorSpec::Iqr(p) => iqr(series, p),
        }
    }

    /// [`run`](Self::run) into a reused buffer (cleared first).
    pub fn run_into(&self, series: &Series, out: &mut Detection) -> Result<(), DetectError> {
        match self {
            DetectorSpec::Iqr(p) => iqr_into(series, p, out),
        }
    }
}

impl From<IqrParams> for DetectorSpec {
    fn from(p: IqrParams) -> Self {
        DetectorSpec::Iqr(p)
    }
}

/// Runs `spec` over `series` (same as [`DetectorSpec::run`]).
pub fn run(spec: &DetectorSpec, series: &Series) -> Result<Detection, DetectError> {
    spec.run(series)
}
