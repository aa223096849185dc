//! The kept values of a capped read (see `cached_reads`) and how a changed
//! list is applied to what the bucket cache holds for the old one, instead
//! of reading the whole range again.

use std::collections::HashSet;

use super::bucket_cache::TRIM_SLACK;
use super::slots::{Frame, Slots};
use crate::metrics::model::TimeRange;

/// The kept values of a capped read and the range start they were ranked at.
#[derive(Clone, Debug, PartialEq)]
pub struct Kept {
    pub values: Vec<String>,
    pub ranked_from: i64,
}

impl Kept {
    /// Ranked recently enough for a read starting at `from`: less than a
    /// day (96 buckets) from it either way. Earlier within the day is what
    /// an open alert asks for (its range reaches back past the alert's span
    /// to impute it): re-ranking then would scan the whole range again for
    /// every capped metric the incident touched, in the check that follows
    /// the alert. A range a day or more away (a `--at` in the past) is
    /// ranked on its own.
    pub fn still_ranks(&self, from: i64) -> bool {
        (from - self.ranked_from).abs() < TRIM_SLACK
    }
}

/// The rows of the added values of a new kept list, read over `span` (the
/// entry's covered span), which turn the old list's entry into the new one's.
pub struct KeptDelta {
    pub span: TimeRange,
    pub added: Frame,
    /// Whether the entry holds an `(other)` sum (counts), to be adjusted by
    /// the removed and added values' buckets.
    pub other: Option<String>,
}

/// Turns a capped entry's `series` for the old kept list into the new
/// list's (`new`): the rows of the removed values go (and are added to
/// `(other)` for a count), those of the added ones come from `delta` (and
/// leave `(other)`), so other = other + removed - added per bucket.
pub fn apply_delta(series: &mut Frame, new: &[String], delta: KeptDelta) {
    let span = delta.span;
    let new: HashSet<&str> = new.iter().map(String::as_str).collect();
    let removed: Vec<String> = series
        .keys()
        .filter(|value| Some(*value) != delta.other.as_ref() && !new.contains(value.as_str()))
        .cloned()
        .collect();
    let mut other = delta
        .other
        .as_ref()
        .map(|name| series.remove(name).unwrap_or_default());
    for value in removed {
        if let (Some(slots), Some(other)) = (series.remove(&value), other.as_mut()) {
            other.add(&slots, span, 1.0);
        }
    }
    for (value, slots) in delta.added {
        if let Some(other) = other.as_mut() {
            other.add(&slots, span, -1.0);
        }
        let mut kept = Slots::default();
        kept.copy_from(&slots, span);
        if !kept.is_empty() {
            series.insert(value, kept);
        }
    }
    if let (Some(name), Some(mut other)) = (delta.other, other) {
        // A count of zero is no row: the capped query has none there.
        other.clear_zeros();
        if !other.is_empty() {
            series.insert(name, other);
        }
    }
}
