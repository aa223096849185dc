//! What `vigil detect` refuses to read, and why: spans that would expand a
//! few rows into a grid of millions of buckets, numbers that overflow or lie
//! beyond [`MAX_MAGNITUDE`]; and the `NaN`/`inf` cells it reads as gaps,
//! counted so they are reported rather than silent.

use detect::MAX_MAGNITUDE;

use super::TimeFormat;

/// Refuse to expand a file into more buckets than this, however many rows
/// it has, unless the user names a figure (`vigil detect --max-buckets`).
/// Memory grows with the buckets, gaps included: `vigil detect` peaked at
/// 2.8 GB for 50 million buckets with `iqr` (about 56 bytes a bucket), so 50
/// million (the cap before) let a 12 MB file of 500,000 rows take
/// gigabytes. 5 million is 9 years of minutes or 140 of quarter-hours, and
/// 310 MB with `iqr`.
pub const MAX_BUCKETS: i64 = 5_000_000;

/// [`MAX_BUCKETS`] for the learned detector, which keeps its features for
/// every bucket: it peaked at 640 MB for one million buckets and 3.1 GB for
/// five million.
pub const MAX_BUCKETS_LEARNED: i64 = 1_000_000;

/// Buckets any file may expand to, however few its rows: about 60 MB of
/// series and detector output.
pub const MIN_BUCKET_LIMIT: i64 = 1_000_000;

/// Buckets per row a larger file may expand to: a series mostly made of gaps
/// (99 of 100 buckets without a row) is still read, a span far beyond that
/// is a typo or a step that is too fine, and is refused up front.
pub const BUCKETS_PER_ROW: i64 = 100;

/// How many buckets a file may expand to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanLimit {
    /// A figure that grows with the rows present, not with the span between
    /// them: `BUCKETS_PER_ROW` per row, at least `MIN_BUCKET_LIMIT`, at most
    /// `at_most` (the lower of the two if they cross).
    FromRows { at_most: i64 },
    /// The user's own figure, whatever the rows (`vigil detect --max-buckets`).
    Given(i64),
}

impl SpanLimit {
    /// The limit for every detector but `learned`.
    pub const DEFAULT: Self = Self::FromRows {
        at_most: MAX_BUCKETS,
    };

    /// The most buckets a file of `rows` rows may expand to.
    pub fn buckets(self, rows: usize) -> i64 {
        match self {
            Self::Given(buckets) => buckets,
            Self::FromRows { at_most } => i64::try_from(rows)
                .unwrap_or(i64::MAX)
                .saturating_mul(BUCKETS_PER_ROW)
                .max(MIN_BUCKET_LIMIT)
                .min(at_most),
        }
    }
}

/// A file whose rows span more buckets than its [`SpanLimit`]: refused
/// before the grid is allocated. `buckets` is the figure a caller can offer
/// to raise the limit to (`vigil detect --max-buckets`).
#[derive(Debug, thiserror::Error)]
#[error(
    "{name}: {rows} rows from {first} (line {first_line}) to {last} (line {last_line}) span \
     {buckets} buckets of {step} s, more than the limit of {limit}{rule}; the step is the \
     smallest gap between rows ({step} s, lines {} and {}): fix a mistyped timestamp, trim the \
     range, or resample the rows to a coarser step",
    .closest.0,
    .closest.1
)]
pub struct SpanTooLong {
    pub name: String,
    pub rows: usize,
    pub first: String,
    pub first_line: u64,
    pub last: String,
    pub last_line: u64,
    pub buckets: i64,
    pub step: i64,
    pub limit: i64,
    /// How the limit came about: ` for 3 rows (100 per row, ...)`, or
    /// ` given` when the user named it.
    rule: String,
    /// The lines of two rows one step apart.
    closest: (u64, u64),
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
/// buckets of `step` seconds than `span_limit` allows for their number,
/// naming the figures and the rows that set the span and the step: a
/// [`SpanTooLong`] inside the `anyhow::Error` the reader returns.
pub(super) fn check_span(
    rows: &[(u64, i64, Option<f64>, bool)],
    step: i64,
    format: TimeFormat,
    name: &str,
    span_limit: SpanLimit,
) -> anyhow::Result<()> {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(());
    };
    let buckets = (last.1 - first.1) / step + 1;
    let limit = span_limit.buckets(rows.len());
    if buckets <= limit {
        return Ok(());
    }
    let closest = rows
        .windows(2)
        .find(|w| w[1].1 - w[0].1 == step)
        .map_or((first.0, last.0), |w| (w[0].0, w[1].0));
    let rule = match span_limit {
        SpanLimit::Given(_) => " given".to_string(),
        SpanLimit::FromRows { at_most } => format!(
            " for {} rows ({BUCKETS_PER_ROW} per row, at least {MIN_BUCKET_LIMIT}, at most \
             {at_most})",
            rows.len()
        ),
    };
    Err(anyhow::Error::new(SpanTooLong {
        name: name.to_string(),
        rows: rows.len(),
        first: format.format(first.1),
        first_line: first.0,
        last: format.format(last.1),
        last_line: last.0,
        buckets,
        step,
        limit,
        rule,
        closest,
    }))
}
