//! The experiments' running sums, kept between checks: per (user, group),
//! the `(x, y)` of one metric since the experiment's start up to a settled
//! boundary, so that a check reads only the newly settled span and the
//! unsettled tail instead of every event since the start (issue 18). Pure:
//! the reads are `super::experiment_sums`'.
//!
//! The rule: a key is (store, metric shape, groups, range start). An entry
//! holds the sums over `[start, settled_to)`, `settled_to` a bucket boundary
//! whose buckets are final ([`super::settle::settled_before`]). A call for
//! `[start, to)` at a moment whose settled boundary is `cut = min(to,
//! settled)`:
//! - reads `[settled_to, cut)` per user and adds it into the entry (the
//!   entry then ends at `cut`);
//! - reads the tail `[cut, to)` per user and overlays it on the entry's
//!   sums for this answer only (it may still change: never stored);
//! - reads the whole range the usual way (one grouped query, nothing kept)
//!   when `to` is before the entry's `settled_to` (a past checkpoint, the
//!   report for an earlier day) or nothing of the range is settled yet.
//!
//! Per-user values are counts of rows, so the `f64` sums here are exact
//! integers (below 2^53) whatever the order of addition: the result equals
//! the full query's exactly.
//!
//! Memory: at most [`MAX_ENTRIES`] entries and [`MAX_USERS`] (user, group)
//! pairs in all (about 40 bytes each), least recently used evicted first.

use std::collections::{BTreeMap, HashMap};

use detect::experiments::GroupSummary;

use crate::metrics::model::{MetricDef, TimeRange};

/// Entries kept (experiments × metrics, the group watch's window).
pub const MAX_ENTRIES: usize = 32;
/// (user, group) pairs kept over all entries: about 80 MB at most.
pub const MAX_USERS: usize = 2_000_000;

/// One exposed (user, group)'s numerator and denominator rows in a window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UserSums {
    pub user: u64,
    pub group: u8,
    pub x: f64,
    pub y: f64,
}

/// What the running sums are of: the same store, metric shape, groups and
/// start sum the same rows.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SumsKey {
    store: String,
    shape: String,
    groups: Vec<u8>,
    from: i64,
}

impl SumsKey {
    /// `store` names the store and its tables; the metric's name and title
    /// do not matter, only what it counts.
    pub fn new(store: &str, metric: &MetricDef, groups: &[u8], from: i64) -> Self {
        Self {
            store: store.to_string(),
            shape: format!(
                "{:?} {:?} {:?}",
                metric.table, metric.aggregate, metric.filters
            ),
            groups: groups.to_vec(),
            from,
        }
    }
}

/// The reads a call needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// One grouped query over the whole range; nothing is kept.
    Full,
    /// Per-user reads: `settle` to add to the entry (absent when it is up
    /// to date), `tail` to overlay (absent when the range is all settled);
    /// the entry then ends at `cut`.
    Incremental {
        settle: Option<TimeRange>,
        tail: Option<TimeRange>,
        cut: i64,
    },
}

/// The running sums of one key.
struct Entry {
    key: SumsKey,
    settled_to: i64,
    users: HashMap<(u64, u8), (f64, f64)>,
    used: u64,
}

/// The running sums of every key, bounded (see the module docs).
pub struct SumsCache {
    entries: Vec<Entry>,
    tick: u64,
    max_entries: usize,
    max_users: usize,
}

impl Default for SumsCache {
    fn default() -> Self {
        Self::new(MAX_ENTRIES, MAX_USERS)
    }
}

impl SumsCache {
    pub const fn new(max_entries: usize, max_users: usize) -> Self {
        Self {
            entries: Vec::new(),
            tick: 0,
            max_entries,
            max_users,
        }
    }

    /// The reads for `range` of `key` (whose `from` is `range.from`) when
    /// the settled past ends at `settled` ([`super::settle::settled_before`]).
    pub fn plan(&self, key: &SumsKey, range: TimeRange, settled: i64) -> Plan {
        let cut = range.to.min(settled);
        let (settled_to, cut) = match self.entry(key) {
            Some(entry) if range.to < entry.settled_to => return Plan::Full,
            // Kept up to a later boundary than `settled` (the delay grew):
            // still final.
            Some(entry) => (entry.settled_to, cut.max(entry.settled_to)),
            None if cut <= range.from => return Plan::Full,
            None => (range.from, cut),
        };
        Plan::Incremental {
            settle: (settled_to < cut).then_some(TimeRange {
                from: settled_to,
                to: cut,
            }),
            tail: (cut < range.to).then_some(TimeRange {
                from: cut,
                to: range.to,
            }),
            cut,
        }
    }

    /// Adds the rows of `settle` (the window [`Self::plan`] asked for, when
    /// it asked) into `key`'s entry, then returns the group sums up to
    /// `cut` with `tail`'s rows overlaid (not kept), as the full query
    /// returns them. `None` when the entry no longer ends at `cut` (another
    /// call moved it, or it was evicted meanwhile): the caller reads the
    /// range whole.
    pub fn apply(
        &mut self,
        key: &SumsKey,
        settle: Option<(TimeRange, &[UserSums])>,
        cut: i64,
        tail: &[UserSums],
    ) -> Option<Vec<(u8, GroupSummary)>> {
        self.tick += 1;
        let tick = self.tick;
        if let Some((window, rows)) = settle {
            let index = match self.index(key) {
                Some(index) => index,
                None if window.from == key.from => {
                    self.entries.push(Entry {
                        key: key.clone(),
                        settled_to: key.from,
                        users: HashMap::new(),
                        used: tick,
                    });
                    self.entries.len() - 1
                }
                None => return None,
            };
            let entry = &mut self.entries[index];
            if entry.settled_to != window.from {
                return None;
            }
            if entry.users.is_empty() {
                entry.users.reserve(rows.len());
            }
            for row in rows {
                let sums = entry.users.entry((row.user, row.group)).or_default();
                sums.0 += row.x;
                sums.1 += row.y;
            }
            entry.settled_to = window.to;
        }
        let entry = self.entries.iter_mut().find(|e| &e.key == key)?;
        if entry.settled_to != cut {
            return None;
        }
        entry.used = tick;
        let summary = overlaid(&entry.users, tail);
        self.shrink(key);
        Some(summary)
    }

    /// The (user, group) pairs kept, over all entries.
    pub fn users(&self) -> usize {
        self.entries.iter().map(|e| e.users.len()).sum()
    }

    /// Where `key`'s entry ends, if there is one.
    pub fn settled_to(&self, key: &SumsKey) -> Option<i64> {
        self.entry(key).map(|e| e.settled_to)
    }

    fn entry(&self, key: &SumsKey) -> Option<&Entry> {
        self.entries.iter().find(|e| &e.key == key)
    }

    fn index(&self, key: &SumsKey) -> Option<usize> {
        self.entries.iter().position(|e| &e.key == key)
    }

    /// Evicts the least recently used entries past the caps; `fresh`'s
    /// last of all (alone above `max_users`, it is not kept either).
    fn shrink(&mut self, fresh: &SumsKey) {
        while self.entries.len() > self.max_entries || self.users() > self.max_users {
            let oldest = (self.entries.iter().enumerate())
                .min_by_key(|(_, e)| (&e.key == fresh, e.used))
                .map(|(index, _)| index);
            match oldest {
                Some(index) => {
                    self.entries.swap_remove(index);
                }
                None => break,
            }
        }
    }
}

/// The group sums of `settled` with `tail` added per (user, group); users
/// of either side count once. Groups in ascending order, none empty.
fn overlaid(
    settled: &HashMap<(u64, u8), (f64, f64)>,
    tail: &[UserSums],
) -> Vec<(u8, GroupSummary)> {
    let mut recent: HashMap<(u64, u8), (f64, f64)> = HashMap::with_capacity(tail.len());
    for row in tail {
        let sums = recent.entry((row.user, row.group)).or_default();
        sums.0 += row.x;
        sums.1 += row.y;
    }
    let mut groups: BTreeMap<u8, GroupSummary> = BTreeMap::new();
    for (&(user, group), &(x, y)) in settled {
        let (tail_x, tail_y) = recent.remove(&(user, group)).unwrap_or_default();
        groups
            .entry(group)
            .or_default()
            .add_user(x + tail_x, y + tail_y);
    }
    for ((_, group), (x, y)) in recent {
        groups.entry(group).or_default().add_user(x, y);
    }
    groups.into_iter().collect()
}

#[cfg(test)]
#[path = "experiment_cache_tests.rs"]
mod tests;
