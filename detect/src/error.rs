//! The one error type of the crate. Every message names the offending input so
//! the CLI and the web page can show it as is.

use crate::smoothing::Smoothing;

/// Largest accepted window length. Far above any useful window (a week of
/// 15-minute buckets is 672) and small enough that the window structures'
/// memory stays bounded whatever a user types.
pub const MAX_WINDOW: usize = 1 << 24;

/// Everything that can be wrong with a detector's inputs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    /// The step of a series must be a positive number of seconds.
    #[error("step must be a positive number of seconds (got {0})")]
    NonPositiveStep(i64),
    /// `start + (len - 1) * step` does not fit in an `i64`.
    #[error("timestamps overflow: {len} points of {step} s from {start} go past the largest representable time")]
    TimestampOverflow {
        /// First timestamp.
        start: i64,
        /// Step in seconds.
        step: i64,
        /// Number of points.
        len: usize,
    },
    /// Window length below 2 (a quantile of one value has no spread).
    #[error("n must be at least 2 (got {0})")]
    WindowTooSmall(usize),
    /// Window length above [`MAX_WINDOW`].
    #[error("n must be at most {max} (got {0})", max = MAX_WINDOW)]
    WindowTooLarge(usize),
    /// Band multiplier that is NaN, infinite or negative.
    #[error("a must be a finite number >= 0 (got {0})")]
    InvalidMultiplier(f64),
    /// Smoothing that needs future points, asked of an incremental state.
    #[error("{0} smoothing looks at future points and is only available in batch mode (use asof or none)")]
    SmoothingNeedsFuture(Smoothing),
    /// A smoothing name that is not one of `asof`, `centered`, `none`.
    #[error("unknown smoothing {0:?} (expected asof, centered or none)")]
    UnknownSmoothing(String),
    /// A detector name that is not known.
    #[error("unknown detector {0:?} (expected iqr, seasonal_iqr, seasonal, drop, changepoint, forecast or learned)")]
    UnknownDetector(String),
    /// A count parameter (period, seasons, window...) out of its range.
    #[error("{name} must be between {min} and {max} (got {value})")]
    CountOutOfRange {
        /// Parameter name, as in the params struct.
        name: &'static str,
        /// The value given.
        value: usize,
        /// Smallest accepted value.
        min: usize,
        /// Largest accepted value.
        max: usize,
    },
    /// A real parameter (threshold, width, fraction...) that is NaN, infinite or out of range.
    #[error("{name} must be a finite number {requirement} (got {value})")]
    InvalidNumber {
        /// Parameter name, as in the params struct.
        name: &'static str,
        /// The value given.
        value: f64,
        /// What is accepted, e.g. `>= 0` or `in [0, 1)`.
        requirement: &'static str,
    },
    /// `seasons * period` above [`MAX_WINDOW`]: the history kept per point would be unbounded.
    #[error("seasons * period must be at most {max} points (got {seasons} * {period})", max = MAX_WINDOW)]
    HistoryTooLong {
        /// Seasons asked for.
        seasons: usize,
        /// Period in points.
        period: usize,
    },
    /// A bucket index past the end of the series.
    #[error("bucket {index} is past the end of the series ({len} buckets)")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// The series' length.
        len: usize,
    },
    /// Series replayed together that are not on one grid.
    #[error(
        "series of {found} points replayed with a metric of {expected}: all must be on one grid"
    )]
    LengthMismatch {
        /// Points of the metric.
        expected: usize,
        /// Points of the series that differs.
        found: usize,
    },
}
