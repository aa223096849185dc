//! Hook for the running experiments' effects in the morning report.
//!
//! Experiments are configured and evaluated elsewhere (`[[experiments]]`,
//! `check/`). Once they exist, this function returns one line per running
//! experiment for `day` (e.g. "exp_group 2 vs 1: CTR +2.1 % (p 0.01)"), and
//! the report lists them under "Experiments"; with no lines, that section
//! is left out. Nothing else in the report needs to change.

use super::LocalDay;
use crate::sources::Source;

/// The running experiments' effects on `day`, one line each (plain text;
/// the report escapes it). None yet: experiments are not wired in.
pub async fn effect_lines(_source: &Source, _day: LocalDay) -> Vec<String> {
    Vec::new()
}
