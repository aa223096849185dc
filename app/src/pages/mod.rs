//! One module per route.

pub mod alerts;
pub mod experiment;
pub mod metric;
pub mod not_found;
pub mod overview;
pub mod report;
