//! Honest evaluation of detectors against labelled incidents. Pure, no I/O
//! (the web lab reuses it in wasm).
//!
//! * [`labels`] — [`IncidentSpan`] (a half-open index range) and
//!   [`LabelledSeries`] (a series with its incidents).
//! * [`score`] — event-level scoring of one [`Detection`](crate::Detection)
//!   against the labels ([`Score`]).
//! * [`synthetic`] — a deterministic labelled benchmark ([`generate`]) of
//!   15-minute product metrics.
//! * [`families`] — the same for other kinds of series ([`Family`]: service
//!   metrics at 1 and 5 minutes, irregular, no cycle, trend, level shifts,
//!   noisy plateau; [`generate_families`]).
//! * [`report`] — [`evaluate`]: per detector × class figures ([`Report`]),
//!   with per scale and per family breakdowns.
//! * [`experiments`] — scoring experiment alerts: delays to a labelled
//!   effect ([`Delays`]) and shares of runs with their interval ([`Share`]).
//! * [`tuning`] — what the web lab varies and searches: parameter knobs,
//!   grids, alert events and rates, the alert-budget bisection.
//! * [`young`] — the product cases cut to ½–6 days of history before their
//!   incident: a young store ([`generate_young`]).

pub mod experiments;
pub mod families;
pub mod labels;
pub mod report;
pub mod score;
pub(crate) mod sim;
pub mod synthetic;
pub mod tuning;
pub mod young;

pub use experiments::{Delays, Share};
pub use families::{generate_families, generate_family_case, Family, Level};
pub use labels::{incidents_from_flags, IncidentSpan, LabelledSeries};
pub use report::{
    daily_period, evaluate, evaluate_detector, evaluate_ensemble, evaluate_ensemble_daily,
    ClassReport, DetectorReport, Report,
};
pub use score::{alert_events, score, Score, DEFAULT_TOLERANCE};
pub use synthetic::{generate, generate_case, AnomalyClass, Scale};
pub use young::{generate_young, generate_young_case};
