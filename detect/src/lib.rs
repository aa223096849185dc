//! `detect`: vigil's anomaly detectors. Pure computation over fixed-step
//! series, no I/O; builds for native targets and `wasm32-unknown-unknown`.
//!
//! Layout (each detector is a module beside `iqr`: `seasonal_iqr`,
//! `seasonal`, `drop`, `changepoint`, `forecast` — the last one grafana's
//! augurs MSTL + ETS):
//!
//! * [`series`] — [`Series`], a fixed-step series with gaps.
//! * [`slice`] — [`SliceKey`], which part of a metric a series is (`os=Android`).
//! * [`engine`] — how the IQR rule gets its order statistics fast: engine
//!   selection, the block pipeline, the second thread, and [`window`]
//!   (rolling order statistics: sorted array, treap, blocks).
//! * [`smoothing`] — [`Smoothing`] of bands over positions.
//! * [`detectors`] — one module per detector, and [`DetectorSpec`], the one
//!   entry point ([`DetectorSpec::run`]) the CLI and the web page call.
//! * [`point`] — [`Point`], the per-bucket output (what a live check gets).
//! * [`detection`] — [`Detection`], a whole series' output as columns (what
//!   a batch run returns); [`Detection::point`] is the per-bucket view.
//! * [`error`] — [`DetectError`].
//! * [`period`] — [`detect_period`], the seasonal period of a series
//!   (augurs' periodogram refined by autocorrelation).
//! * [`features`] — the per-bucket features the learned detector reads.
//! * [`models`] — the learned detector's model: its file, the built-in one,
//!   explanations, and training (feature `train`).
//! * [`mask`] — [`impute_masked`], what a baseline sees in place of an open
//!   alert's span (the same slot a period earlier, at today's level).
//! * [`alerting`] — the alert decision the server's check and the lab's
//!   replay share: the floor of what is big enough to alert on, silences and
//!   the lifecycle step (open, repeat, resolve).
//! * [`experiments`] — A/B groups against each other: effects with
//!   always-valid p-values and intervals, sample ratio mismatch, the verdict.
//! * [`eval`] — labelled incidents, event-level scoring, the synthetic
//!   benchmark and [`eval::evaluate`] (what `vigil eval` prints).
//!
//! ```
//! use detect::{DetectorSpec, IqrParams, Series};
//! let values = (0..40).map(|i| Some(100.0 + (i % 4) as f64)).chain([Some(500.0)]).collect();
//! let series = Series::new(1_700_000_000, 900, values).unwrap();
//! let detection = DetectorSpec::Iqr(IqrParams::default()).run(&series).unwrap();
//! assert!(detection.point(detection.len() - 1).is_anomaly);
//! assert_eq!(detection.anomaly_count(), 1);
//! ```

pub mod alerting;
pub mod detection;
pub mod detectors;
pub mod engine;
pub mod error;
pub mod eval;
pub mod experiments;
pub mod features;
mod live;
pub mod mask;
pub mod models;
pub mod period;
pub mod point;
pub mod series;
pub mod slice;
pub mod smoothing;

pub use detection::Detection;
pub use detectors::{
    iqr, iqr_into, run, ChangepointParams, ChangepointState, CombineRule, Detector, DetectorSpec,
    DropParams, DropState, Ensemble, EnsembleDetection, EnsemblePoint, Entry, ForecastParams,
    ForecastState, IqrParams, IqrState, LearnedParams, LearnedState, Reach, SeasonalIqrParams,
    SeasonalIqrState, SeasonalParams, SeasonalState, Stream, BLOCKS_THRESHOLD, DETECTORS,
    DETECTOR_NAMES,
};
pub use engine::prefetch::set_batch_threads;
pub use engine::window;
pub use error::{DetectError, MAX_WINDOW};
pub use mask::impute_masked;
pub use period::detect_period;
pub use point::Point;
pub use series::{Clock, Series, MAX_MAGNITUDE};
pub use slice::SliceKey;
pub use smoothing::Smoothing;
