//! Metric values of buckets the embedded store has already computed, reused by
//! later queries of the same metric.
//!
//! Why: to evaluate one new bucket, a check reads two weeks of history for
//! every metric and every slice dimension, and an alert's chart reads them
//! again. SQLite recomputes each of those buckets from raw events every time
//! (about 1.5 s per check at 10 million events); ClickHouse is fast enough not
//! to need this. With the cache, a check in a running `vigil serve` computes
//! only the buckets that changed since the previous one.
//!
//! Exactness, not expiry: the event tables are append-only, and SQLite gives a
//! new row a rowid larger than every existing one (`max(rowid) + 1`), in commit
//! order, since it has one writer at a time. Before each query, [`BucketCache::sync`]
//! reads the oldest event time among rows added since its last look (rowid above
//! the table's watermark) and drops every cached bucket from that one on. Late
//! events, events written by another process (`vigil simulate` on the same file)
//! and the bucket still filling are therefore always recomputed. A table that
//! shrank (recreated, truncated) drops its entries. Deleting or updating single
//! old rows is not seen; vigil never does either to event tables.
//!
//! Concurrency: the lock is never held during SQL. A fetch reads the table's
//! generation before it queries and stores its rows only if no invalidation
//! happened meanwhile; otherwise it returns them uncached.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use rusqlite::Connection;

use crate::metrics::model::TimeRange;

/// Entries kept at most; the least recently used goes first. One entry is one
/// metric query shape (a metric, whole or filtered to a slice, or grouped by a
/// dimension): the built-in catalogue with its slices needs a few dozen.
const MAX_ENTRIES: usize = 512;

/// One row of a metric query: the slice value (empty when not grouped), the
/// bucket start and the value.
#[derive(Clone, Debug, PartialEq)]
pub struct CachedRow {
    pub slice: String,
    pub bucket: i64,
    pub value: f64,
}

/// What identifies a query up to its time range: the event table it reads and
/// its SQL built for a fixed range, with its parameters. Two queries with the
/// same key differ only in the range, so their buckets are interchangeable.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub table: String,
    pub shape: String,
}

#[derive(Default)]
pub struct BucketCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    tables: HashMap<String, TableWatch>,
    entries: HashMap<CacheKey, Entry>,
    /// Use counter for least-recently-used eviction.
    clock: u64,
}

#[derive(Default)]
struct TableWatch {
    /// Largest rowid already accounted for.
    watermark: i64,
    /// Bumped by every invalidation, so a fetch can tell its rows may be stale.
    generation: u64,
}

struct Entry {
    /// The buckets `[from, to)` whose rows are all in `rows` (absent = no rows).
    covered: TimeRange,
    rows: BTreeMap<i64, Vec<(String, f64)>>,
    used: u64,
}

/// What a lookup found: the cached rows inside the range and what is missing.
struct Plan {
    generation: u64,
    cached: Vec<CachedRow>,
    missing: Vec<TimeRange>,
}

/// The table's largest rowid and the oldest event time among rows above `?1`.
/// `NOT INDEXED`: otherwise SQLite answers `MIN(time)` by walking the time
/// index from its start, testing each row's rowid, which reads the whole
/// index when no row is new (seconds at 10 million events); without the index
/// it seeks to the rowid and reads only the new rows.
fn new_rows_sql(quoted_table: &str) -> String {
    format!(
        "SELECT (SELECT MAX(rowid) FROM {quoted_table}), \
                (SELECT MIN(time) FROM {quoted_table} NOT INDEXED WHERE rowid > ?1)"
    )
}

impl BucketCache {
    /// Accounts for rows added to `table` since the last call: cached buckets
    /// at or after the oldest new event's bucket are dropped.
    pub fn sync(&self, connection: &Connection, table: &str) -> rusqlite::Result<()> {
        let watermark = self.lock().tables.get(table).map(|watch| watch.watermark);
        let quoted = format!("\"{}\"", table.replace('"', "\"\""));
        let (max_rowid, oldest_new): (Option<i64>, Option<i64>) = match watermark {
            // First look: nothing of this table is cached yet, so only the
            // watermark matters (an index lookup, not a scan).
            None => (
                connection.query_row(&format!("SELECT MAX(rowid) FROM {quoted}"), [], |row| {
                    row.get(0)
                })?,
                None,
            ),
            Some(watermark) => {
                connection.query_row(&new_rows_sql(&quoted), [watermark], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })?
            }
        };
        let max_rowid = max_rowid.unwrap_or(0);
        let mut inner = self.lock();
        let watch = inner.tables.entry(table.to_string()).or_default();
        let shrank = watermark.is_some_and(|seen| max_rowid < seen);
        // Another thread may have synced meanwhile: keep the larger watermark;
        // invalidating from our oldest new event is then merely conservative.
        watch.watermark = if shrank {
            max_rowid
        } else {
            watch.watermark.max(max_rowid)
        };
        if shrank {
            watch.generation += 1;
            inner.entries.retain(|key, _| key.table != table);
        } else if let Some(time) = oldest_new {
            watch.generation += 1;
            let from = time.div_euclid(crate::metrics::model::BUCKET_SECONDS)
                * crate::metrics::model::BUCKET_SECONDS;
            inner.entries.retain(|key, entry| {
                if key.table != table {
                    return true;
                }
                entry.rows.split_off(&from);
                entry.covered.to = entry.covered.to.min(from);
                entry.covered.from < entry.covered.to
            });
        }
        Ok(())
    }

    /// The rows of `key` in `range` (bucket-aligned), sorted by bucket then by
    /// slice: cached buckets from memory, the rest through `fetch`, which runs
    /// the query for a sub-range. Call [`sync`](Self::sync) first.
    pub fn rows<E>(
        &self,
        key: &CacheKey,
        range: TimeRange,
        mut fetch: impl FnMut(TimeRange) -> Result<Vec<CachedRow>, E>,
    ) -> Result<Vec<CachedRow>, E> {
        let plan = self.plan(key, range);
        let mut fetched = Vec::new();
        for missing in &plan.missing {
            fetched.push((*missing, fetch(*missing)?));
        }
        let mut rows = plan.cached;
        for (_, part) in &fetched {
            rows.extend(part.iter().cloned());
        }
        rows.sort_by(|a, b| a.bucket.cmp(&b.bucket).then_with(|| a.slice.cmp(&b.slice)));
        self.store(key, plan.generation, fetched);
        Ok(rows)
    }

    /// The rows of one slice value from a cached query grouped by its
    /// dimension, when that entry covers all of `range`; `None` otherwise.
    pub fn slice_of_grouped(
        &self,
        grouped: &CacheKey,
        range: TimeRange,
        value: &str,
    ) -> Option<Vec<CachedRow>> {
        let mut inner = self.lock();
        inner.clock += 1;
        let clock = inner.clock;
        let entry = inner.entries.get_mut(grouped)?;
        if entry.covered.from > range.from || entry.covered.to < range.to {
            return None;
        }
        entry.used = clock;
        Some(
            entry
                .rows
                .range(range.from..range.to)
                .flat_map(|(bucket, values)| {
                    values
                        .iter()
                        .filter(|(slice, _)| slice == value)
                        .map(|(slice, value)| CachedRow {
                            slice: slice.clone(),
                            bucket: *bucket,
                            value: *value,
                        })
                })
                .collect(),
        )
    }

    fn plan(&self, key: &CacheKey, range: TimeRange) -> Plan {
        let mut inner = self.lock();
        inner.clock += 1;
        let clock = inner.clock;
        let generation = inner
            .tables
            .get(&key.table)
            .map_or(0, |watch| watch.generation);
        let Some(entry) = inner.entries.get_mut(key) else {
            return Plan {
                generation,
                cached: Vec::new(),
                missing: vec![range],
            };
        };
        entry.used = clock;
        let covered = entry.covered;
        // Disjoint from what is cached: fetch it all (see `store` for whether
        // it then replaces the entry).
        if covered.to < range.from || covered.from > range.to {
            return Plan {
                generation,
                cached: Vec::new(),
                missing: vec![range],
            };
        }
        let mut missing = Vec::new();
        if range.from < covered.from {
            missing.push(TimeRange {
                from: range.from,
                to: covered.from,
            });
        }
        if range.to > covered.to {
            missing.push(TimeRange {
                from: covered.to,
                to: range.to,
            });
        }
        let inside = TimeRange {
            from: range.from.max(covered.from),
            to: range.to.min(covered.to),
        };
        let cached = if inside.from < inside.to {
            entry
                .rows
                .range(inside.from..inside.to)
                .flat_map(|(bucket, values)| {
                    values.iter().map(|(slice, value)| CachedRow {
                        slice: slice.clone(),
                        bucket: *bucket,
                        value: *value,
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        Plan {
            generation,
            cached,
            missing,
        }
    }

    /// Adds fetched sub-ranges to `key`'s entry, unless the table was
    /// invalidated since `generation` was read (the rows may then be stale).
    fn store(&self, key: &CacheKey, generation: u64, fetched: Vec<(TimeRange, Vec<CachedRow>)>) {
        if fetched.is_empty() {
            return;
        }
        let mut inner = self.lock();
        let current = inner
            .tables
            .get(&key.table)
            .map_or(0, |watch| watch.generation);
        if current != generation {
            return;
        }
        inner.clock += 1;
        let clock = inner.clock;
        for (range, rows) in fetched {
            let entry = inner.entries.entry(key.clone()).or_insert_with(|| Entry {
                covered: range,
                rows: BTreeMap::new(),
                used: clock,
            });
            let adjoins = entry.covered.to >= range.from && entry.covered.from <= range.to;
            if !adjoins {
                // One contiguous span per query: the longer one stays, so a
                // check's sliding window is not evicted by a one-bucket read
                // of the same metric a day or a week earlier.
                if range.to - range.from < entry.covered.to - entry.covered.from {
                    continue;
                }
                entry.rows.clear();
                entry.covered = range;
            }
            entry.covered = TimeRange {
                from: entry.covered.from.min(range.from),
                to: entry.covered.to.max(range.to),
            };
            entry.used = clock;
            for bucket in entry
                .rows
                .range(range.from..range.to)
                .map(|(bucket, _)| *bucket)
                .collect::<Vec<_>>()
            {
                entry.rows.remove(&bucket);
            }
            for row in rows {
                entry
                    .rows
                    .entry(row.bucket)
                    .or_default()
                    .push((row.slice, row.value));
            }
        }
        crate::sources::lru::keep_most_recent(&mut inner.entries, MAX_ENTRIES, |entry| entry.used);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The cache holds no invariant a panicking holder could break halfway
        // that the next sync would not repair, so a poisoned lock is still usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::model::BUCKET_SECONDS as B;

    fn connection() -> Connection {
        let connection = Connection::open_in_memory().expect("sqlite");
        connection
            .execute_batch(
                "CREATE TABLE events (time INTEGER NOT NULL); \
                 CREATE INDEX events_time ON events (time);",
            )
            .expect("schema");
        connection
    }

    #[test]
    fn looking_for_new_rows_seeks_by_rowid_instead_of_walking_the_time_index() {
        let connection = connection();
        let plan: Vec<String> = connection
            .prepare(&format!(
                "EXPLAIN QUERY PLAN {}",
                new_rows_sql("\"events\"")
            ))
            .expect("explain")
            .query_map([0], |row| row.get::<_, String>(3))
            .expect("plan")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert!(
            plan.iter()
                .any(|step| step.contains("INTEGER PRIMARY KEY (rowid>?)")),
            "{plan:?}"
        );
        assert!(!plan.iter().any(|step| step.contains("INDEX")), "{plan:?}");
    }

    fn insert(connection: &Connection, times: &[i64]) {
        for time in times {
            connection
                .execute("INSERT INTO events (time) VALUES (?1)", [time])
                .expect("insert");
        }
    }

    /// The query under test: events per bucket, straight from the table.
    fn count(connection: &Connection, range: TimeRange) -> rusqlite::Result<Vec<CachedRow>> {
        let mut statement = connection.prepare(
            "SELECT (time / 900) * 900 AS bucket, COUNT(*) FROM events \
             WHERE time >= ?1 AND time < ?2 GROUP BY bucket ORDER BY bucket",
        )?;
        let rows = statement.query_map([range.from, range.to], |row| {
            Ok(CachedRow {
                slice: String::new(),
                bucket: row.get(0)?,
                value: row.get::<_, i64>(1)? as f64,
            })
        })?;
        rows.collect()
    }

    fn key() -> CacheKey {
        CacheKey {
            table: "events".into(),
            shape: "count".into(),
        }
    }

    /// Reads through the cache, counting the sub-range queries it needed.
    fn read(
        cache: &BucketCache,
        connection: &Connection,
        range: TimeRange,
    ) -> (Vec<(i64, f64)>, Vec<TimeRange>) {
        cache.sync(connection, "events").expect("sync");
        let mut queried = Vec::new();
        let rows = cache
            .rows(&key(), range, |sub| {
                queried.push(sub);
                count(connection, sub)
            })
            .expect("rows");
        let rows = rows.into_iter().map(|r| (r.bucket, r.value)).collect();
        (rows, queried)
    }

    fn direct(connection: &Connection, range: TimeRange) -> Vec<(i64, f64)> {
        count(connection, range)
            .expect("query")
            .into_iter()
            .map(|r| (r.bucket, r.value))
            .collect()
    }

    fn span(from: i64, to: i64) -> TimeRange {
        TimeRange {
            from: from * B,
            to: to * B,
        }
    }

    #[test]
    fn a_second_read_of_the_same_range_runs_no_query() {
        let connection = connection();
        insert(&connection, &[10, B + 5, B + 6, 3 * B]);
        let cache = BucketCache::default();
        let (first, queried) = read(&cache, &connection, span(0, 4));
        assert_eq!(queried, vec![span(0, 4)]);
        assert_eq!(first, direct(&connection, span(0, 4)));
        let (again, queried) = read(&cache, &connection, span(1, 3));
        assert!(queried.is_empty(), "served from memory: {queried:?}");
        assert_eq!(again, direct(&connection, span(1, 3)));
    }

    #[test]
    fn a_sliding_window_fetches_only_the_new_end() {
        let connection = connection();
        insert(&connection, &(0..20).map(|k| k * B + 1).collect::<Vec<_>>());
        let cache = BucketCache::default();
        read(&cache, &connection, span(0, 10));
        let (rows, queried) = read(&cache, &connection, span(1, 11));
        assert_eq!(queried, vec![span(10, 11)]);
        assert_eq!(rows, direct(&connection, span(1, 11)));
        let (rows, queried) = read(&cache, &connection, span(0, 12));
        assert_eq!(queried, vec![span(11, 12)]);
        assert_eq!(rows, direct(&connection, span(0, 12)));
    }

    #[test]
    fn new_and_late_events_invalidate_their_bucket_onwards() {
        let connection = connection();
        insert(&connection, &[5, B + 5, 2 * B + 5, 3 * B + 5]);
        let cache = BucketCache::default();
        read(&cache, &connection, span(0, 5));
        // A late event in bucket 1 and a new one in the bucket still filling.
        insert(&connection, &[B + 7, 4 * B + 1]);
        let (rows, queried) = read(&cache, &connection, span(0, 5));
        assert_eq!(queried, vec![span(1, 5)], "bucket 0 is still valid");
        assert_eq!(rows, direct(&connection, span(0, 5)));
        assert_eq!(rows[1], (B, 2.0));
    }

    #[test]
    fn empty_future_buckets_fill_in_once_events_arrive() {
        let connection = connection();
        insert(&connection, &[5]);
        let cache = BucketCache::default();
        let (rows, _) = read(&cache, &connection, span(0, 3));
        assert_eq!(rows, vec![(0, 1.0)]);
        insert(&connection, &[2 * B + 1]);
        let (rows, queried) = read(&cache, &connection, span(0, 3));
        assert_eq!(queried, vec![span(2, 3)]);
        assert_eq!(rows, vec![(0, 1.0), (2 * B, 1.0)]);
    }

    #[test]
    fn a_recreated_table_drops_everything() {
        let connection = connection();
        insert(&connection, &[5, 6, 7]);
        let cache = BucketCache::default();
        read(&cache, &connection, span(0, 2));
        connection
            .execute("DELETE FROM events", [])
            .expect("delete");
        insert(&connection, &[8]);
        let (rows, queried) = read(&cache, &connection, span(0, 2));
        assert_eq!(queried, vec![span(0, 2)]);
        assert_eq!(rows, vec![(0, 1.0)]);
    }

    #[test]
    fn a_longer_disjoint_range_replaces_the_entry_a_shorter_one_does_not() {
        let connection = connection();
        insert(&connection, &(0..40).map(|k| k * B).collect::<Vec<_>>());
        let cache = BucketCache::default();
        read(&cache, &connection, span(0, 5));
        // A one-bucket look a "day" earlier leaves the window cached.
        let (rows, queried) = read(&cache, &connection, span(30, 31));
        assert_eq!(queried, vec![span(30, 31)]);
        assert_eq!(rows, direct(&connection, span(30, 31)));
        let (_, queried) = read(&cache, &connection, span(1, 4));
        assert!(queried.is_empty(), "{queried:?}");
        // A window as long or longer elsewhere takes over.
        let (rows, queried) = read(&cache, &connection, span(20, 25));
        assert_eq!(queried, vec![span(20, 25)]);
        assert_eq!(rows, direct(&connection, span(20, 25)));
        let (_, queried) = read(&cache, &connection, span(21, 24));
        assert!(queried.is_empty());
    }

    #[test]
    fn rows_fetched_across_an_invalidation_are_not_kept() {
        let connection = connection();
        insert(&connection, &[5]);
        let cache = BucketCache::default();
        cache.sync(&connection, "events").expect("sync");
        let rows = cache
            .rows(&key(), span(0, 2), |sub| {
                let rows = count(&connection, sub);
                // Another reader syncs a newer event while this fetch runs.
                insert(&connection, &[6]);
                cache.sync(&connection, "events").expect("sync");
                rows
            })
            .expect("rows");
        assert_eq!(rows.len(), 1);
        let (rows, queried) = read(&cache, &connection, span(0, 2));
        assert_eq!(queried, vec![span(0, 2)], "the stale fetch was not cached");
        assert_eq!(rows, vec![(0, 2.0)]);
    }

    #[test]
    fn one_slice_is_served_from_the_grouped_entry() {
        let cache = BucketCache::default();
        let grouped = key();
        let rows = |range: TimeRange| -> Result<Vec<CachedRow>, ()> {
            Ok((range.from / B..range.to / B)
                .flat_map(|k| {
                    ["a", "b"].map(|slice| CachedRow {
                        slice: slice.into(),
                        bucket: k * B,
                        value: k as f64,
                    })
                })
                .collect())
        };
        cache.rows(&grouped, span(0, 4), rows).expect("rows");
        let only_b = cache
            .slice_of_grouped(&grouped, span(1, 3), "b")
            .expect("covered");
        assert_eq!(
            only_b
                .iter()
                .map(|r| (r.slice.as_str(), r.bucket))
                .collect::<Vec<_>>(),
            vec![("b", B), ("b", 2 * B)]
        );
        assert!(cache.slice_of_grouped(&grouped, span(2, 6), "b").is_none());
    }
}
