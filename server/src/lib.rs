//! vigil's server side, as a library the `vigil` binary (src/main.rs) drives.
//!
//! Data flows one way through these modules:
//! `sources` (SQLite, ClickHouse; filled by `simulator`) -> `metrics` (catalogue,
//! SQL) -> `check` (detection at the newest bucket, via the `detect` crate) ->
//! `alerts` (lifecycle, durable state, outbox) -> `delivery` (Telegram with
//! `chart_png`, or the log) and `web` (what users see). `scheduler` runs checks
//! and delivery on the clock; `pipeline` wires them from `config`; `commands`
//! and `cli` are the command line. `labels` (incidents, false alarms, expected
//! changes, from the source, Telegram buttons and the web UI) is what
//! `vigil tune`, `vigil eval --metric` and the web lab score detectors against.

pub mod alerts;
pub mod chart_png;
pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod csv_series;
pub mod delivery;
pub mod events;
pub mod labels;
pub mod metrics;
pub mod period;
pub mod pipeline;
pub mod scheduler;
pub mod settings;
pub mod simulator;
pub mod sources;
pub mod state;
pub mod telegram;
pub mod times;
pub mod web;
