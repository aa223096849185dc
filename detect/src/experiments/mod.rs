//! Experiments: is a treatment group diverging from control, and are the
//! groups as large as the split says? Pure computation over per-user sums;
//! the server queries the sums, this module judges them. Methods and their
//! reasons: `docs/experiments.md`.
//!
//! * [`summary`] — [`GroupSummary`], a group's per-user sums (one grouped SQL query).
//! * [`compare`] — [`compare()`], the relative effect of treatment against
//!   control with its delta-method variance, for count-per-user and ratio metrics.
//! * [`sequential`] — [`Msprt`], always-valid p-values and confidence
//!   sequences, so checking every 15 minutes does not inflate false alarms.
//! * [`srm`] — [`SrmTest`], sample ratio mismatch (chi-square and its sequential version).
//! * [`decision`] — [`judge`]: [`Verdict::Diverged`], [`Verdict::SampleRatioMismatch`]
//!   or [`Verdict::Inconclusive`], with the effect, interval and p-value.
//! * [`stats`] — the distribution functions behind them.

pub mod compare;
pub mod decision;
pub mod sequential;
pub mod srm;
pub mod stats;
pub mod summary;
#[cfg(test)]
mod tests;

pub use compare::{compare, Estimate, MetricKind};
pub use decision::{judge, Decision, Effect, Rules, Verdict};
pub use sequential::Msprt;
pub use srm::SrmTest;
pub use summary::GroupSummary;

/// What can be wrong with an experiment's inputs. The "not enough data yet"
/// cases are told apart by [`ExperimentError::is_insufficient_data`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ExperimentError {
    /// A sum that is NaN or infinite.
    #[error("{group}: {field} must be a finite number (got {value})")]
    NotFinite {
        group: String,
        field: &'static str,
        value: f64,
    },
    /// A sum of squares below zero: the sums cannot come from real users.
    #[error("{group}: {field} is a sum of squares and cannot be negative (got {value})")]
    NegativeSquares {
        group: String,
        field: &'static str,
        value: f64,
    },
    /// A setting outside its range.
    #[error("{name} must be {expected} (got {value})")]
    InvalidSetting {
        name: &'static str,
        value: f64,
        expected: &'static str,
    },
    /// User counts and split weights of different lengths.
    #[error("the split has {weights} weights for {groups} groups")]
    SplitLength { groups: usize, weights: usize },
    /// A mismatch test needs at least two groups.
    #[error("a sample ratio test needs at least 2 groups (got {0})")]
    TooFewGroups(usize),
    /// Fewer than two users in a group: no variance to estimate.
    #[error("{group} has {users} user(s); at least 2 are needed")]
    TooFewUsers { group: String, users: u64 },
    /// A ratio metric whose denominator sums to zero (no views yet).
    #[error("{group}: the denominator sums to {sum_y}; nothing to divide by yet")]
    EmptyDenominator { group: String, sum_y: f64 },
    /// Control's value is zero: a relative effect has no meaning.
    #[error("control's value is 0, so a relative effect is undefined")]
    ZeroBaseline,
    /// Every user has the same value: no spread to test against.
    #[error("every user has the same value; there is no variation to test against")]
    NoVariation,
    /// No users at all in a mismatch test.
    #[error("no users in any group yet")]
    NoUsers,
}

impl ExperimentError {
    /// True for "not enough data yet" (an experiment that just started),
    /// false for inputs that are wrong.
    pub fn is_insufficient_data(&self) -> bool {
        matches!(
            self,
            Self::TooFewUsers { .. }
                | Self::EmptyDenominator { .. }
                | Self::ZeroBaseline
                | Self::NoVariation
                | Self::NoUsers
        )
    }
}
