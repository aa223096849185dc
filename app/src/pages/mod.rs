//! One module per route.

pub mod metric;
pub mod overview;
