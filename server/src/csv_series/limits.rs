//! What `vigil detect` refuses to read, and why: spans that would expand a
//! few rows into a grid of millions of buckets, numbers that overflow or lie
//! beyond [`MAX_MAGNITUDE`]; and the `NaN`/`inf` cells it reads as gaps,
//! counted so they are reported rather than silent.

use anyhow::bail;
use detect::MAX_MAGNITUDE;

use super::TimeFormat;

/// Refuse to expand a file into more buckets than this, however many rows
/// it has (a typo in one timestamp would otherwise allocate gigabytes of gaps).
pub const MAX_BUCKETS: i64 = 50_000_000;

/// Buckets any file may expand to, however few its rows: about 60 MB of
/// series and detector output.
pub const MIN_BUCKET_LIMIT: i64 = 1_000_000;

/// Buckets per row a larger file may expand to: a series mostly made of gaps
/// (99 of 100 buckets without a row) is still read, a span far beyond that
/// is a typo or a step that is too fine, and is refused up front.
pub const BUCKETS_PER_ROW: i64 = 100;

/// The most buckets a file of `rows` rows may expand to: memory for the grid
/// grows with the rows present, not with the span between them
/// (`BUCKETS_PER_ROW` per row, at least `MIN_BUCKET_LIMIT`, at most
/// `MAX_BUCKETS`).
pub fn bucket_limit(rows: usize) -> i64 {
    i64::try_from(rows)
        .unwrap_or(i64::MAX)
        .saturating_mul(BUCKETS_PER_ROW)
        .clamp(MIN_BUCKET_LIMIT, MAX_BUCKETS)
}

/// Values a file writes as `NaN` or `inf` (any case, any sign): how many,
/// and the line of the first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiteralGaps {
    pub count: u64,
    pub first_line: Option<u64>,
}

impl LiteralGaps {
    pub(super) fn note(&mut self, line: u64) {
        self.count += 1;
        self.first_line.get_or_insert(line);
    }
}

/// `NaN`, `inf`, `-Infinity`...: a cell that says "not a number" on purpose.
pub(super) fn is_non_finite_literal(cell: &str) -> bool {
    let unsigned = cell.strip_prefix(['+', '-']).unwrap_or(cell);
    ["nan", "inf", "infinity"]
        .iter()
        .any(|word| unsigned.eq_ignore_ascii_case(word))
}

/// A value cell (column 2) that is not empty and not a `NaN`/`inf` literal
/// (those are gaps, see [`is_non_finite_literal`]): a finite number within
/// ±[`MAX_MAGNITUDE`]. A number that overflows `f64` is refused, not read
/// as a gap (its writer meant a number), and so is one so large that the
/// detectors' band arithmetic would overflow to `-inf..inf` (see
/// `MAX_MAGNITUDE`): such values are corrupt data, and refusing them with
/// their line is what lets the user find and fix them.
pub(super) fn parse_value(cell: &str) -> Result<f64, String> {
    let x = cell
        .parse::<f64>()
        .map_err(|_| format!("cannot parse value {cell:?} as a number"))?;
    let shown = shown_cell(cell);
    if !x.is_finite() {
        return Err(format!(
            "value {shown} in column 2 overflows a 64-bit float (magnitude above 1.8e308)"
        ));
    }
    if x.abs() > MAX_MAGNITUDE {
        return Err(format!(
            "value {shown} in column 2 is beyond ±{MAX_MAGNITUDE:e}, the largest magnitude \
             the detectors compute bands for (their arithmetic would overflow)"
        ));
    }
    Ok(x)
}

/// A cell quoted for a message, cut short when long (a 10,000-digit number
/// is named by its start and its length).
fn shown_cell(cell: &str) -> String {
    const SHOWN: usize = 24;
    match cell.char_indices().nth(SHOWN) {
        Some((end, _)) => format!(
            "{:?} ({} characters)",
            format!("{}...", &cell[..end]),
            cell.chars().count()
        ),
        None => format!("{cell:?}"),
    }
}

/// Refuses, before the grid is allocated, rows whose span holds more
/// buckets of `step` seconds than [`bucket_limit`] allows for their number,
/// naming the figures and the rows that set the span and the step.
pub(super) fn check_span(
    rows: &[(u64, i64, Option<f64>, bool)],
    step: i64,
    format: TimeFormat,
    name: &str,
) -> anyhow::Result<()> {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(());
    };
    let buckets = (last.1 - first.1) / step + 1;
    let limit = bucket_limit(rows.len());
    if buckets <= limit {
        return Ok(());
    }
    let closest = rows
        .windows(2)
        .find(|w| w[1].1 - w[0].1 == step)
        .map_or((first.0, last.0), |w| (w[0].0, w[1].0));
    bail!(
        "{name}: {} rows from {} (line {}) to {} (line {}) span {buckets} buckets of {step} s, \
         more than the limit of {limit} for {} rows ({BUCKETS_PER_ROW} per row, at least \
         {MIN_BUCKET_LIMIT}, at most {MAX_BUCKETS}); the step is the smallest gap between rows \
         ({step} s, lines {} and {}): fix a mistyped timestamp, trim the range, or resample \
         the rows to a coarser step",
        rows.len(),
        format.format(first.1),
        first.0,
        format.format(last.1),
        last.0,
        rows.len(),
        closest.0,
        closest.1,
    )
}
