//! One module per route.

pub mod alerts;
pub mod metric;
pub mod not_found;
pub mod overview;
pub mod report;
