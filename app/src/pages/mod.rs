//! One module per route.

pub mod alerts;
pub mod metric;
pub mod overview;
