//! Reusable pieces of the pages.

pub mod chart;
pub mod format;
pub mod perf;
pub mod read_only;
pub mod slider;
pub mod sparkline;
