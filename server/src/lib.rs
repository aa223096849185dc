//! vigil's server side, as a library the `vigil` binary (src/main.rs) drives.
//!
//! Data flows one way through these modules:
//! `sources` (SQLite, ClickHouse; filled by `simulator`) -> `metrics` (catalogue,
//! SQL) -> `check` (detection at the newest bucket, via the `detect` crate) ->
//! `commands` and `web` (what users run and see). `config` says which source and
//! metrics; `cli` is the command line.

pub mod alerts;
pub mod chart_png;
pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod csv_series;
pub mod events;
pub mod metrics;
pub mod simulator;
pub mod sources;
pub mod telegram;
pub mod times;
pub mod web;
