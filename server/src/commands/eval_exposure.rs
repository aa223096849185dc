//! The experiment group sums a store's `group_sums` returns, kept up to date
//! in memory as simulated events arrive, so `vigil eval --experiments` can
//! look at every bucket of thousands of simulated days without a query per
//! look. Same meaning as the SQL (`metrics/sql/experiment.rs`): every
//! (user, logged group) with an event in either table since the start,
//! with zeros, and per metric the user's numerator `x` and denominator `y`.
//! A test holds it to the hand count the stores are tested against.

use std::collections::HashMap;

use detect::experiments::GroupSummary;

use crate::check::experiments::MetricSums;
use crate::events::{EventBatch, FeedAction, MessageAction};
use crate::metrics::model::{Aggregate, EventTable, Filter, MetricDef};

/// Per (group, user): `(x, y)` for each compared metric, in order.
pub struct Exposure<'a> {
    metrics: Vec<&'a MetricDef>,
    groups: Vec<u8>,
    from: i64,
    users: HashMap<(u8, u32), Vec<(f64, f64)>>,
}

/// One event row, for the metrics' filters.
enum Row<'e> {
    Feed(&'e FeedAction),
    Message(&'e MessageAction),
}

impl Row<'_> {
    fn table(&self) -> EventTable {
        match self {
            Row::Feed(_) => EventTable::FeedActions,
            Row::Message(_) => EventTable::MessageActions,
        }
    }

    /// The column's value as the SQL compares it; `None` for a column the
    /// table does not have (the filter then never matches).
    fn column(&self, name: &str) -> Option<String> {
        let common = |source: &str,
                      exp_group: u8,
                      gender: u8,
                      age: u8,
                      country: &str,
                      city: &str,
                      os: &str,
                      user_id: u32| {
            Some(match name {
                "source" => source.to_string(),
                "exp_group" => exp_group.to_string(),
                "gender" => gender.to_string(),
                "age" => age.to_string(),
                "country" => country.to_string(),
                "city" => city.to_string(),
                "os" => os.to_string(),
                "user_id" => user_id.to_string(),
                _ => return None,
            })
        };
        match self {
            Row::Feed(e) => match name {
                "action" => Some(e.action.as_str().to_string()),
                "post_id" => Some(e.post_id.to_string()),
                _ => common(
                    &e.source,
                    e.exp_group,
                    e.gender,
                    e.age,
                    &e.country,
                    &e.city,
                    &e.os,
                    e.user_id,
                ),
            },
            Row::Message(m) => match name {
                "receiver_id" => Some(m.receiver_id.to_string()),
                _ => common(
                    &m.source,
                    m.exp_group,
                    m.gender,
                    m.age,
                    &m.country,
                    &m.city,
                    &m.os,
                    m.user_id,
                ),
            },
        }
    }

    fn matches(&self, filters: &[Filter]) -> bool {
        filters
            .iter()
            .all(|f| self.column(&f.column).is_some_and(|v| v == f.value))
    }

    /// What this row adds to a user's `(x, y)` for `metric`.
    fn counts(&self, metric: &MetricDef) -> (f64, f64) {
        if metric.table != self.table() || !self.matches(&metric.filters) {
            return (0.0, 0.0);
        }
        let one = |hit: bool| f64::from(u8::from(hit));
        match &metric.aggregate {
            Aggregate::Count => (1.0, 0.0),
            Aggregate::Ratio {
                numerator,
                denominator,
            } => (one(self.matches(numerator)), one(self.matches(denominator))),
            // Covered by the sample ratio test alone (the check skips it).
            Aggregate::Distinct { .. } => (0.0, 0.0),
        }
    }
}

impl<'a> Exposure<'a> {
    /// Nothing seen yet; counts events at or after `from` of users logged in `groups`.
    pub fn new(metrics: Vec<&'a MetricDef>, groups: Vec<u8>, from: i64) -> Self {
        Self {
            metrics,
            groups,
            from,
            users: HashMap::new(),
        }
    }

    /// Counts the batch's events from the start on.
    pub fn add(&mut self, batch: &EventBatch) {
        let feed = batch
            .feed
            .iter()
            .map(|e| (e.time, e.exp_group, e.user_id, Row::Feed(e)));
        let messages =
            (batch.messages.iter()).map(|m| (m.time, m.exp_group, m.user_id, Row::Message(m)));
        for (time, group, user, row) in feed.chain(messages) {
            if time < self.from || !self.groups.contains(&group) {
                continue;
            }
            let totals = (self.users.entry((group, user)))
                .or_insert_with(|| vec![(0.0, 0.0); self.metrics.len()]);
            for (total, metric) in totals.iter_mut().zip(&self.metrics) {
                let (x, y) = row.counts(metric);
                total.0 += x;
                total.1 += y;
            }
        }
    }

    /// The sums per metric and group (groups without users left out, in
    /// group order), as `check::experiments::read_sums` returns them.
    pub fn sums(&self) -> MetricSums<'a> {
        (self.metrics.iter().enumerate())
            .map(|(index, &metric)| {
                let mut groups: Vec<(u8, GroupSummary)> = Vec::new();
                for ((group, _), totals) in &self.users {
                    let (x, y) = totals[index];
                    match groups.iter_mut().find(|(g, _)| g == group) {
                        Some((_, summary)) => summary.add_user(x, y),
                        None => groups.push((*group, GroupSummary::from_users([(x, y)]))),
                    }
                }
                groups.sort_by_key(|(group, _)| *group);
                (metric, groups)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalogue;
    use crate::sources::experiment_sums_tests::{expected, simulated, CASES, METRICS};

    #[test]
    fn the_sums_are_the_hand_counted_ones_the_stores_are_tested_against() {
        let batch = simulated();
        let metrics: Vec<MetricDef> = (METRICS.iter())
            .map(|name| catalogue::builtin_metric(name).expect("built-in"))
            .collect();
        for (range, groups) in CASES {
            let mut exposure = Exposure::new(metrics.iter().collect(), groups.to_vec(), range.from);
            // Fed in pieces, as the evaluation feeds buckets.
            let inside = |t: i64| t < range.to;
            for piece in batch.feed.chunks(997) {
                let feed = piece.iter().filter(|e| inside(e.time)).cloned().collect();
                exposure.add(&EventBatch {
                    feed,
                    messages: Vec::new(),
                });
            }
            for piece in batch.messages.chunks(331) {
                let messages = piece.iter().filter(|m| inside(m.time)).cloned().collect();
                exposure.add(&EventBatch {
                    feed: Vec::new(),
                    messages,
                });
            }
            for (metric, sums) in exposure.sums() {
                // Whole counts: every sum is exact, whatever the order.
                let hand = expected(&batch, &metric.name, range, groups);
                assert_eq!(sums, hand, "{} {range:?} {groups:?}", metric.name);
            }
        }
    }
}
