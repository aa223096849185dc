//! Reusable pieces of the pages.

pub mod chart;
pub mod operator;
pub mod perf;
pub mod slider;
pub mod sparkline;
pub mod url_query;
