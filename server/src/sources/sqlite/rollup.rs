//! Metric buckets the embedded store keeps in its own file: the rollup, so
//! that a fresh process (`vigil check` from cron, a restarted `vigil serve`,
//! the chart of an alert) does not recompute two weeks of buckets from raw
//! events. The in-memory [`super::bucket_cache`] sits in front of it within a
//! process; this layer is what survives the process.
//!
//! Why here and not in ClickHouse's way (a materialized view): metrics are
//! queries the config defines (filters, distinct users, ratios, slices), so
//! the rollup is keyed by the query's shape, exactly like the memory cache,
//! and holds the values the query returned per bucket, not partial states.
//!
//! Exactness follows the memory cache's rule, persisted: the event tables are
//! append-only and a new row gets a rowid above every existing one. The
//! rollup records, per event table, the largest rowid it has accounted for
//! (its watermark). [`sync`] looks at the rows above it and drops every
//! persisted bucket from the oldest new event's bucket on, in one write
//! transaction with the watermark's move. Rows computed from raw events are
//! stored ([`store`]) only if the watermark did not move since the sync they
//! followed; otherwise another process saw newer events and the rows may be
//! stale, so they are returned but not kept.
//!
//! A rollup that cannot be written (a read-only file) is not an error: the
//! read falls back to raw events, as without it.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::bucket_cache::{CacheKey, CachedRow};
use crate::metrics::model::{TimeRange, BUCKET_SECONDS};
use crate::metrics::sql::{self, Dialect, SqlQuery};

/// Created with the event tables. `covered_from .. covered_to` is the span of
/// buckets whose rows are all present (a bucket in it without a row had no
/// data); one contiguous span per query shape, like the memory cache.
pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS vigil_rollup_watermarks (
    event_table TEXT    PRIMARY KEY,
    watermark   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS vigil_rollup_shapes (
    id           INTEGER PRIMARY KEY,
    event_table  TEXT    NOT NULL,
    shape        TEXT    NOT NULL UNIQUE,
    covered_from INTEGER NOT NULL,
    covered_to   INTEGER NOT NULL,
    written      INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS vigil_rollup_buckets (
    shape  INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    slice  TEXT    NOT NULL,
    value  REAL    NOT NULL,
    PRIMARY KEY (shape, bucket, slice)
) WITHOUT ROWID;
"#;

/// Query shapes kept at most: the least recently written goes first. The
/// built-in catalogue with its slices needs a few dozen; shapes of metrics
/// since removed from the config age out.
const MAX_SHAPES: i64 = 512;

/// What [`sync`] found: the watermark a later [`store`] must still see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Synced {
    watermark: i64,
}

/// Accounts for rows added to `table` since the rollup last looked, on the
/// writer connection: persisted buckets from the oldest new event's bucket on
/// are dropped, and the watermark moves to the table's largest rowid.
pub fn sync(writer: &mut Connection, table: &str) -> rusqlite::Result<Synced> {
    let quoted = format!("\"{}\"", table.replace('"', "\"\""));
    // Nothing new since the last look (the common case): no write
    // transaction, so the simulator's writes are not held up. Rows added
    // after this answer have larger rowids and are seen by the next sync.
    let unchanged: Option<i64> = writer
        .query_row(
            &format!(
                "SELECT watermark FROM vigil_rollup_watermarks WHERE event_table = ?1 \
                 AND watermark = (SELECT COALESCE(MAX(rowid), 0) FROM {quoted})"
            ),
            [table],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(watermark) = unchanged {
        return Ok(Synced { watermark });
    }
    let transaction = writer.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let seen: Option<i64> = transaction
        .query_row(
            "SELECT watermark FROM vigil_rollup_watermarks WHERE event_table = ?1",
            [table],
            |row| row.get(0),
        )
        .optional()?;
    let max_rowid: i64 = transaction
        .query_row(&format!("SELECT MAX(rowid) FROM {quoted}"), [], |row| {
            row.get::<_, Option<i64>>(0)
        })?
        .unwrap_or(0);
    match seen {
        // First look, or a table that shrank (recreated, truncated): nothing
        // persisted for it can be trusted.
        None => drop_table_shapes(&transaction, table)?,
        Some(seen) if max_rowid < seen => drop_table_shapes(&transaction, table)?,
        Some(seen) if max_rowid > seen => {
            // See `bucket_cache::new_rows_sql` for why NOT INDEXED.
            let oldest_new: Option<i64> = transaction.query_row(
                &format!("SELECT MIN(time) FROM {quoted} NOT INDEXED WHERE rowid > ?1"),
                [seen],
                |row| row.get(0),
            )?;
            if let Some(time) = oldest_new {
                drop_from(
                    &transaction,
                    table,
                    time.div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS,
                )?;
            }
        }
        Some(_) => {}
    }
    transaction.execute(
        "INSERT INTO vigil_rollup_watermarks (event_table, watermark) VALUES (?1, ?2) \
         ON CONFLICT (event_table) DO UPDATE SET watermark = excluded.watermark",
        params![table, max_rowid],
    )?;
    transaction.commit()?;
    Ok(Synced {
        watermark: max_rowid,
    })
}

fn drop_table_shapes(connection: &Connection, table: &str) -> rusqlite::Result<()> {
    connection.execute(
        "DELETE FROM vigil_rollup_buckets WHERE shape IN \
         (SELECT id FROM vigil_rollup_shapes WHERE event_table = ?1)",
        [table],
    )?;
    connection.execute(
        "DELETE FROM vigil_rollup_shapes WHERE event_table = ?1",
        [table],
    )?;
    Ok(())
}

/// Drops the persisted buckets of `table`'s shapes at or after `from`.
fn drop_from(connection: &Connection, table: &str, from: i64) -> rusqlite::Result<()> {
    connection.execute(
        "DELETE FROM vigil_rollup_buckets WHERE bucket >= ?2 AND shape IN \
         (SELECT id FROM vigil_rollup_shapes WHERE event_table = ?1)",
        params![table, from],
    )?;
    connection.execute(
        "UPDATE vigil_rollup_shapes SET covered_to = MIN(covered_to, ?2) WHERE event_table = ?1",
        params![table, from],
    )?;
    connection.execute(
        "DELETE FROM vigil_rollup_shapes WHERE event_table = ?1 AND covered_to <= covered_from",
        [table],
    )?;
    Ok(())
}

/// The persisted shape of `key`: its id and the part of `range` it covers
/// (empty when none), with the parts of `range` it does not cover.
fn coverage(
    connection: &Connection,
    key: &CacheKey,
    range: TimeRange,
) -> rusqlite::Result<Option<(i64, TimeRange, Vec<TimeRange>)>> {
    let shape: Option<(i64, i64, i64)> = connection
        .prepare_cached(
            "SELECT id, covered_from, covered_to FROM vigil_rollup_shapes WHERE shape = ?1",
        )?
        .query_row([&key.shape], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    let Some((id, covered_from, covered_to)) = shape else {
        return Ok(None);
    };
    let inside = TimeRange {
        from: range.from.max(covered_from),
        to: range.to.min(covered_to),
    };
    if inside.from >= inside.to {
        return Ok(None);
    }
    let mut missing = Vec::new();
    if range.from < inside.from {
        missing.push(TimeRange {
            from: range.from,
            to: inside.from,
        });
    }
    if inside.to < range.to {
        missing.push(TimeRange {
            from: inside.to,
            to: range.to,
        });
    }
    Ok(Some((id, inside, missing)))
}

/// The parts of `range` (bucket-aligned) the rollup of `key` does not cover.
pub fn missing(
    connection: &Connection,
    key: &CacheKey,
    range: TimeRange,
) -> rusqlite::Result<Vec<TimeRange>> {
    Ok(coverage(connection, key, range)?.map_or_else(|| vec![range], |(_, _, missing)| missing))
}

/// The persisted rows of `key` inside `range` (bucket-aligned), and the parts
/// of `range` the rollup does not cover.
pub fn read(
    connection: &Connection,
    key: &CacheKey,
    range: TimeRange,
) -> rusqlite::Result<(Vec<CachedRow>, Vec<TimeRange>)> {
    let Some((id, inside, missing)) = coverage(connection, key, range)? else {
        return Ok((Vec::new(), vec![range]));
    };
    let mut statement = connection.prepare_cached(
        "SELECT slice, bucket, value FROM vigil_rollup_buckets \
         WHERE shape = ?1 AND bucket >= ?2 AND bucket < ?3 ORDER BY bucket, slice",
    )?;
    let rows = statement
        .query_map(params![id, inside.from, inside.to], |row| {
            Ok(CachedRow {
                slice: row.get(0)?,
                bucket: row.get(1)?,
                value: row.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, missing))
}

/// The persisted rows of the grouped query `key` over `range`, as a query
/// of the rollup: `None` unless it covers all of `range`. The integers
/// spliced into the text are the shape's id and the range, not input.
fn grouped_rows_sql(
    connection: &Connection,
    key: &CacheKey,
    range: TimeRange,
) -> rusqlite::Result<Option<String>> {
    Ok(match coverage(connection, key, range)? {
        Some((id, _, missing)) if missing.is_empty() => Some(format!(
            "SELECT slice AS slice_value, bucket, value FROM vigil_rollup_buckets \
             WHERE shape = {id} AND bucket >= {} AND bucket < {}",
            range.from, range.to
        )),
        _ => None,
    })
}

/// The `top` values of the grouped query `key` over `range` by volume
/// ([`sql::ranking`], the same ranking the raw events get), from the
/// rollup: `None` unless it covers all of `range`.
pub fn top_values(
    connection: &Connection,
    key: &CacheKey,
    range: TimeRange,
    top: usize,
) -> rusqlite::Result<Option<Vec<String>>> {
    let Some(sql) = grouped_rows_sql(connection, key, range)? else {
        return Ok(None);
    };
    let query = sql::ranking(
        SqlQuery {
            sql,
            params: Vec::new(),
        },
        top,
    );
    let mut statement = connection.prepare(&query.sql)?;
    let values = statement
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(Some(values))
}

/// The rows of the grouped query `key` over `range` capped by `cap` (see
/// [`sql::Cap`]), summed from the rollup: `None` unless it covers all of
/// `range`. A kept value's row is its own (one per bucket, summed alone).
pub fn capped_rows(
    connection: &Connection,
    key: &CacheKey,
    range: TimeRange,
    cap: sql::Cap<'_>,
) -> rusqlite::Result<Option<Vec<CachedRow>>> {
    let Some(rows) = grouped_rows_sql(connection, key, range)? else {
        return Ok(None);
    };
    let (column, condition) = cap.slice_column(Dialect::Sqlite, "slice_value", &[]);
    let mut params = column.params;
    let filter = condition.map_or_else(String::new, |condition| {
        params.extend(condition.params);
        format!(" WHERE {}", condition.sql)
    });
    let sql = format!(
        "SELECT {} AS capped, bucket, SUM(value) FROM ({rows}){filter} \
         GROUP BY capped, bucket ORDER BY bucket, capped",
        column.sql
    );
    let mut statement = connection.prepare(&sql)?;
    let found = statement
        .query_map(rusqlite::params_from_iter(&params), |row| {
            Ok(CachedRow {
                slice: row.get(0)?,
                bucket: row.get(1)?,
                value: row.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(found))
}

/// Persists rows computed from raw events for sub-ranges of `key`, unless the
/// table's watermark moved since `synced` (they may be stale). Returns whether
/// they were kept.
pub fn store(
    writer: &mut Connection,
    key: &CacheKey,
    synced: Synced,
    fetched: &[(TimeRange, Vec<CachedRow>)],
) -> rusqlite::Result<bool> {
    if fetched.is_empty() {
        return Ok(false);
    }
    let transaction = writer.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let watermark: Option<i64> = transaction
        .query_row(
            "SELECT watermark FROM vigil_rollup_watermarks WHERE event_table = ?1",
            [&key.table],
            |row| row.get(0),
        )
        .optional()?;
    if watermark != Some(synced.watermark) {
        return Ok(false);
    }
    let written: i64 = transaction.query_row(
        "SELECT COALESCE(MAX(written), 0) + 1 FROM vigil_rollup_shapes",
        [],
        |row| row.get(0),
    )?;
    let existing: Option<(i64, i64, i64)> = transaction
        .query_row(
            "SELECT id, covered_from, covered_to FROM vigil_rollup_shapes WHERE shape = ?1",
            [&key.shape],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    let (id, mut covered) = match existing {
        Some((id, from, to)) => (id, TimeRange { from, to }),
        None => {
            let first = fetched[0].0;
            transaction.execute(
                "INSERT INTO vigil_rollup_shapes (event_table, shape, covered_from, covered_to, written) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![key.table, key.shape, first.from, first.to, written],
            )?;
            (transaction.last_insert_rowid(), first)
        }
    };
    {
        let mut insert = transaction.prepare_cached(
            "INSERT OR REPLACE INTO vigil_rollup_buckets (shape, bucket, slice, value) \
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut clear = transaction.prepare_cached(
            "DELETE FROM vigil_rollup_buckets WHERE shape = ?1 AND bucket >= ?2 AND bucket < ?3",
        )?;
        for (range, rows) in fetched {
            let adjoins = covered.to >= range.from && covered.from <= range.to;
            if !adjoins {
                // One contiguous span per shape, the longer one kept (see
                // `bucket_cache::BucketCache::store`).
                if range.to - range.from < covered.to - covered.from {
                    continue;
                }
                clear.execute(params![id, i64::MIN, i64::MAX])?;
                covered = *range;
            }
            covered = TimeRange {
                from: covered.from.min(range.from),
                to: covered.to.max(range.to),
            };
            clear.execute(params![id, range.from, range.to])?;
            for row in rows {
                insert.execute(params![id, row.bucket, row.slice, row.value])?;
            }
        }
    }
    transaction.execute(
        "UPDATE vigil_rollup_shapes SET covered_from = ?2, covered_to = ?3, written = ?4 WHERE id = ?1",
        params![id, covered.from, covered.to, written],
    )?;
    evict_beyond_limit(&transaction)?;
    transaction.commit()?;
    Ok(true)
}

fn evict_beyond_limit(connection: &Connection) -> rusqlite::Result<()> {
    let shapes: i64 =
        connection.query_row("SELECT COUNT(*) FROM vigil_rollup_shapes", [], |row| {
            row.get(0)
        })?;
    if shapes <= MAX_SHAPES {
        return Ok(());
    }
    connection.execute(
        "DELETE FROM vigil_rollup_buckets WHERE shape IN \
         (SELECT id FROM vigil_rollup_shapes ORDER BY written LIMIT ?1)",
        [shapes - MAX_SHAPES],
    )?;
    connection.execute(
        "DELETE FROM vigil_rollup_shapes WHERE id IN \
         (SELECT id FROM vigil_rollup_shapes ORDER BY written LIMIT ?1)",
        [shapes - MAX_SHAPES],
    )?;
    Ok(())
}

#[cfg(test)]
#[path = "rollup_tests.rs"]
mod tests;
