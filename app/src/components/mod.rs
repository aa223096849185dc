//! Reusable pieces of the pages.

pub mod chart;
pub mod slider;
pub mod sparkline;
