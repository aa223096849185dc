use super::*;
use crate::metrics::model::BUCKET_SECONDS as B;

fn connection() -> Connection {
    let connection = Connection::open_in_memory().expect("sqlite");
    connection
        .execute_batch("CREATE TABLE events (time INTEGER NOT NULL);")
        .expect("events");
    connection.execute_batch(SCHEMA).expect("rollup schema");
    connection
}

fn insert(connection: &Connection, times: &[i64]) {
    for time in times {
        connection
            .execute("INSERT INTO events (time) VALUES (?1)", [time])
            .expect("insert");
    }
}

fn key(shape: &str) -> CacheKey {
    CacheKey {
        table: "events".into(),
        shape: shape.into(),
    }
}

fn span(from: i64, to: i64) -> TimeRange {
    TimeRange {
        from: from * B,
        to: to * B,
    }
}

/// Events per bucket straight from the table: what a metric query returns.
fn count(connection: &Connection, range: TimeRange) -> Vec<CachedRow> {
    let mut statement = connection
        .prepare(
            "SELECT (time / 900) * 900 AS bucket, COUNT(*) FROM events \
             WHERE time >= ?1 AND time < ?2 GROUP BY bucket ORDER BY bucket",
        )
        .expect("prepare");
    statement
        .query_map([range.from, range.to], |row| {
            Ok(CachedRow {
                slice: String::new(),
                bucket: row.get(0)?,
                value: row.get::<_, i64>(1)? as f64,
            })
        })
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
}

/// What a fresh process does: sync, read what the rollup has, compute the
/// rest from events and persist it. Returns the rows and the computed parts.
fn read_through(
    connection: &mut Connection,
    shape: &str,
    range: TimeRange,
) -> (Vec<(i64, f64)>, Vec<TimeRange>) {
    let synced = sync(connection, "events").expect("sync");
    let (mut rows, missing) = read(connection, &key(shape), range).expect("read");
    let fetched: Vec<_> = missing
        .iter()
        .map(|part| (*part, count(connection, *part)))
        .collect();
    store(connection, &key(shape), synced, &fetched).expect("store");
    rows.extend(fetched.into_iter().flat_map(|(_, part)| part));
    rows.sort_by_key(|row| row.bucket);
    (
        rows.into_iter()
            .map(|row| (row.bucket, row.value))
            .collect(),
        missing,
    )
}

fn direct(connection: &Connection, range: TimeRange) -> Vec<(i64, f64)> {
    count(connection, range)
        .into_iter()
        .map(|row| (row.bucket, row.value))
        .collect()
}

#[test]
fn a_second_read_is_served_from_the_file_without_touching_events() {
    let mut connection = connection();
    insert(&connection, &[5, B + 1, B + 2, 3 * B + 4]);
    let (first, computed) = read_through(&mut connection, "count", span(0, 4));
    assert_eq!(computed, vec![span(0, 4)]);
    assert_eq!(first, direct(&connection, span(0, 4)));
    let (again, computed) = read_through(&mut connection, "count", span(1, 4));
    assert!(computed.is_empty(), "{computed:?}");
    assert_eq!(again, direct(&connection, span(1, 4)));
}

#[test]
fn a_sliding_window_computes_only_its_new_end() {
    let mut connection = connection();
    insert(&connection, &(0..20).map(|k| k * B + 3).collect::<Vec<_>>());
    read_through(&mut connection, "count", span(0, 10));
    let (rows, computed) = read_through(&mut connection, "count", span(2, 12));
    assert_eq!(computed, vec![span(10, 12)]);
    assert_eq!(rows, direct(&connection, span(2, 12)));
}

#[test]
fn new_and_late_events_drop_the_persisted_buckets_from_theirs_on() {
    let mut connection = connection();
    insert(&connection, &[5, B + 5, 2 * B + 5, 3 * B + 5]);
    read_through(&mut connection, "count", span(0, 5));
    read_through(&mut connection, "other", span(0, 5));
    // Written by another process: a late event in bucket 1.
    insert(&connection, &[B + 7]);
    let (rows, computed) = read_through(&mut connection, "count", span(0, 5));
    assert_eq!(computed, vec![span(1, 5)], "bucket 0 is still valid");
    assert_eq!(rows, direct(&connection, span(0, 5)));
    assert_eq!(rows[1], (B, 2.0));
    // Every shape of the table was cut at the late event, not only the one read.
    let (_, computed) = read_through(&mut connection, "other", span(0, 5));
    assert_eq!(computed, vec![span(1, 5)]);
}

#[test]
fn rows_computed_before_another_sync_saw_new_events_are_not_kept() {
    let mut connection = connection();
    insert(&connection, &[5]);
    let synced = sync(&mut connection, "events").expect("sync");
    let stale = vec![(span(0, 2), count(&connection, span(0, 2)))];
    // Another process adds an event and syncs before this one stores.
    insert(&connection, &[6]);
    sync(&mut connection, "events").expect("sync");
    assert!(!store(&mut connection, &key("count"), synced, &stale).expect("store"));
    let (rows, computed) = read_through(&mut connection, "count", span(0, 2));
    assert_eq!(computed, vec![span(0, 2)], "the stale rows were not kept");
    assert_eq!(rows, vec![(0, 2.0)]);
}

#[test]
fn a_truncated_table_drops_everything_persisted_for_it() {
    let mut connection = connection();
    insert(&connection, &[5, 6, 7]);
    read_through(&mut connection, "count", span(0, 2));
    connection
        .execute("DELETE FROM events", [])
        .expect("delete");
    insert(&connection, &[8]);
    let (rows, computed) = read_through(&mut connection, "count", span(0, 2));
    assert_eq!(computed, vec![span(0, 2)]);
    assert_eq!(rows, vec![(0, 1.0)]);
}

#[test]
fn a_shorter_disjoint_read_does_not_replace_the_persisted_window() {
    let mut connection = connection();
    insert(&connection, &(0..40).map(|k| k * B).collect::<Vec<_>>());
    read_through(&mut connection, "count", span(0, 10));
    // A one-bucket look a "day" later is computed but leaves the window.
    let (rows, computed) = read_through(&mut connection, "count", span(30, 31));
    assert_eq!(computed, vec![span(30, 31)]);
    assert_eq!(rows, direct(&connection, span(30, 31)));
    let (_, computed) = read_through(&mut connection, "count", span(2, 9));
    assert!(computed.is_empty(), "{computed:?}");
}

#[test]
fn empty_buckets_inside_the_covered_span_read_as_no_data_not_as_missing() {
    let mut connection = connection();
    insert(&connection, &[5, 3 * B]);
    read_through(&mut connection, "count", span(0, 4));
    let (rows, computed) = read_through(&mut connection, "count", span(1, 3));
    assert!(computed.is_empty());
    assert!(rows.is_empty(), "{rows:?}");
}
