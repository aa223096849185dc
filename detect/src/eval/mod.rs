//! Honest evaluation of detectors against labelled incidents. Pure, no I/O
//! (the web lab reuses it in wasm).
//!
//! * [`labels`] — [`IncidentSpan`] (a half-open index range) and
//!   [`LabelledSeries`] (a series with its incidents).
//! * [`score`] — event-level scoring of one [`Detection`](crate::Detection)
//!   against the labels ([`Score`]).
//! * [`synthetic`] — a deterministic labelled benchmark ([`generate`]).
//! * [`report`] — [`evaluate`]: per detector × class figures ([`Report`]).
//! * [`tuning`] — what the web lab varies and searches: parameter knobs,
//!   grids, alert events and rates, the alert-budget bisection.

pub mod labels;
pub mod report;
pub mod score;
pub mod synthetic;
pub mod tuning;

pub use labels::{incidents_from_flags, IncidentSpan, LabelledSeries};
pub use report::{
    evaluate, evaluate_detector, evaluate_ensemble, ClassReport, DetectorReport, Report,
};
pub use score::{alert_events, score, Score, DEFAULT_TOLERANCE};
pub use synthetic::{generate, generate_case, AnomalyClass, Scale};
