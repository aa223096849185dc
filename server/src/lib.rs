//! vigil's server side, as a library the `vigil` binary (src/main.rs) drives.
//!
//! Data flows one way through these modules, and no module depends on one
//! above it (docs/architecture.md draws the arrows):
//! `sources` (SQLite, ClickHouse; filled by `simulator`) -> `metrics` (catalogue,
//! SQL) -> `check` (detection at the newest bucket, via the `detect` crate,
//! giving an `evaluation` per series) -> `alerts` (lifecycle, silences,
//! significance) -> `state` (the one owner of `vigil-state.sqlite`: alert log,
//! outbox, silences, checks, labels, settings) -> `delivery` (Telegram with
//! `chart_png`, or the log) and `web` (what users see). `scheduler` runs checks
//! and delivery on the clock; `pipeline` wires them from `config`; `commands`
//! is the command line; `heartbeat` pings an outside monitor after each
//! check; `redact` scrubs known secrets from text that leaves the process.
//! `labels` (incidents, false alarms, expected changes,
//! from the source, Telegram buttons and the web UI) is what `vigil tune`,
//! `vigil eval --metric` and the web lab score detectors against. `times` is
//! the one clock. `report` is the morning report: built from `sources` and
//! `state`, created by `scheduler`, delivered with the outbox by `delivery`.

pub mod alerts;
pub mod chart_png;
pub mod check;
pub mod commands;
pub mod config;
pub mod csv_series;
pub mod delivery;
pub mod detector_choice;
pub mod evaluation;
pub mod events;
pub mod heartbeat;
pub mod ingest;
pub mod instance;
pub mod labels;
pub mod metrics;
pub mod period;
pub mod pipeline;
pub mod redact;
pub mod report;
pub mod scheduler;
pub mod settings;
pub mod simulator;
pub mod sources;
pub mod state;
pub mod telegram;
pub mod times;
pub mod web;

/// A CA and certificates made with `openssl` at run time, for the TLS tests
/// of `config` and `sources` (one copy: a file may be only one module).
#[cfg(test)]
#[path = "../tests/support/test_pki.rs"]
mod test_pki;
