//! The embedded store: one SQLite file with the same tables and column names as
//! ClickHouse (time as INTEGER unix seconds), written by the simulator and read
//! by metric queries.
//!
//! rusqlite is blocking, so every operation runs on tokio's blocking pool. WAL
//! mode lets readers run while the simulator writes: one writer connection
//! behind a mutex, plus a bounded pool of reader connections ([`reader_pool`]).
//! Metric queries go through [`bucket_cache`] (in memory) and [`rollup`] (in
//! the file), so a bucket computed once is not recomputed from raw events
//! until an event for it (or before it) arrives, in this process or the next.

mod bucket_cache;
mod daily;
mod experiments;
mod ingest;
mod reader_pool;
mod rollup;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection};

use crate::events::{EventBatch, Incident, IncidentKind};
use crate::metrics::model::{Bucket, EventTable, MetricDef, SliceKey, TableNames, TimeRange};
use crate::metrics::sql::{self, Dialect};
use crate::sources::SourceError;

use bucket_cache::{BucketCache, CacheKey, CachedRow};
use reader_pool::ReaderPool;

pub use ingest::Ingested;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS feed_actions (
    user_id   INTEGER NOT NULL,
    post_id   INTEGER NOT NULL,
    action    TEXT    NOT NULL,
    time      INTEGER NOT NULL,
    gender    INTEGER NOT NULL,
    age       INTEGER NOT NULL,
    country   TEXT    NOT NULL,
    city      TEXT    NOT NULL,
    os        TEXT    NOT NULL,
    source    TEXT    NOT NULL,
    exp_group INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS feed_actions_time ON feed_actions (time);
CREATE TABLE IF NOT EXISTS message_actions (
    user_id     INTEGER NOT NULL,
    receiver_id INTEGER NOT NULL,
    time        INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    exp_group   INTEGER NOT NULL,
    gender      INTEGER NOT NULL,
    age         INTEGER NOT NULL,
    country     TEXT    NOT NULL,
    city        TEXT    NOT NULL,
    os          TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS message_actions_time ON message_actions (time);
CREATE TABLE IF NOT EXISTS incidents (
    id              INTEGER PRIMARY KEY,
    "start"         INTEGER NOT NULL,
    "end"           INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    metric          TEXT    NOT NULL,
    slice_dimension TEXT,
    slice_value     TEXT,
    description     TEXT    NOT NULL
);
"#;

/// The embedded SQLite store. Cheap to clone (shared connections).
#[derive(Clone)]
pub struct SqliteStore {
    path: PathBuf,
    tables: TableNames,
    writer: Arc<Mutex<Connection>>,
    readers: Arc<ReaderPool>,
    cache: Arc<BucketCache>,
}

/// Insert `batch`'s rows inside `transaction` (prepared, cached statements).
fn insert_events(
    transaction: &rusqlite::Transaction<'_>,
    batch: &EventBatch,
) -> Result<(), SourceError> {
    let context = "inserting events into sqlite";
    let mut feed = transaction
        .prepare_cached(
            "INSERT INTO feed_actions (user_id, post_id, action, time, gender, age, country, city, os, source, exp_group) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .map_err(|error| write_error(context, error))?;
    for row in &batch.feed {
        feed.execute(params![
            row.user_id,
            row.post_id,
            row.action.as_str(),
            row.time,
            row.gender,
            row.age,
            row.country,
            row.city,
            row.os,
            row.source,
            row.exp_group
        ])
        .map_err(|error| write_error(context, error))?;
    }
    let mut messages = transaction
        .prepare_cached(
            "INSERT INTO message_actions (user_id, receiver_id, time, source, exp_group, gender, age, country, city, os) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(|error| write_error(context, error))?;
    for row in &batch.messages {
        messages
            .execute(params![
                row.user_id,
                row.receiver_id,
                row.time,
                row.source,
                row.exp_group,
                row.gender,
                row.age,
                row.country,
                row.city,
                row.os
            ])
            .map_err(|error| write_error(context, error))?;
    }
    Ok(())
}

fn unreachable(path: &Path, error: impl std::fmt::Display) -> SourceError {
    SourceError::Unreachable {
        target: format!("sqlite {}", path.display()),
        reason: error.to_string(),
    }
}

fn query_error(context: impl Into<String>, error: impl std::fmt::Display) -> SourceError {
    SourceError::Query {
        context: context.into(),
        reason: error.to_string(),
    }
}

fn write_error(context: impl Into<String>, error: impl std::fmt::Display) -> SourceError {
    SourceError::Write {
        context: context.into(),
        reason: error.to_string(),
    }
}

impl SqliteStore {
    /// Open (creating the file, its directory and the schema if absent).
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|error| unreachable(path, error))?;
        }
        let writer = Connection::open(path).map_err(|error| unreachable(path, error))?;
        // WAL: readers never block the writer; NORMAL: durable enough for a
        // simulator, and much faster than FULL. busy_timeout: wait instead of
        // failing when another connection holds the lock briefly.
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;",
            )
            .map_err(|error| unreachable(path, error))?;
        writer
            .execute_batch(SCHEMA)
            .and_then(|()| writer.execute_batch(rollup::SCHEMA))
            .map_err(|error| unreachable(path, format!("creating schema: {error}")))?;
        Ok(Self {
            path: path.to_path_buf(),
            tables: TableNames::default(),
            writer: Arc::new(Mutex::new(writer)),
            readers: Arc::new(ReaderPool::new(path)),
            cache: Arc::new(BucketCache::default()),
        })
    }

    /// Open a store that must already exist (the read-only commands): a
    /// missing file is an error, and neither it nor its directory is created.
    pub fn open_existing(path: &Path) -> Result<Self, SourceError> {
        match path.try_exists() {
            Ok(true) => Self::open(path),
            Ok(false) => Err(SourceError::MissingStore {
                path: path.display().to_string(),
                dir: path
                    .parent()
                    .filter(|dir| !dir.as_os_str().is_empty())
                    .unwrap_or(Path::new("."))
                    .display()
                    .to_string(),
            }),
            Err(error) => Err(unreachable(path, error)),
        }
    }

    pub fn describe(&self) -> String {
        format!("sqlite {}", self.path.display())
    }

    /// Run `job` with a reader connection on the blocking pool.
    async fn read<T, F>(&self, job: F) -> Result<T, SourceError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, SourceError> + Send + 'static,
    {
        // Waiting for a free reader happens here, before a blocking thread is taken.
        let permit = self.readers.permit().await;
        let readers = Arc::clone(&self.readers);
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let lent = readers
                .take(permit)
                .map_err(|error| unreachable(&path, error))?;
            let result = job(&lent.connection);
            readers.put_back(lent);
            result
        })
        .await
        .map_err(|error| query_error("sqlite reader task", error))?
    }

    /// Run `job` with the writer connection on the blocking pool.
    async fn write<T, F>(&self, job: F) -> Result<T, SourceError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, SourceError> + Send + 'static,
    {
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || {
            let mut connection = writer
                .lock()
                .map_err(|_| write_error("sqlite writer", "a previous write panicked"))?;
            job(&mut connection)
        })
        .await
        .map_err(|error| write_error("sqlite writer task", error))?
    }

    /// Brings the file's rollup of `table` up to date with its events (see
    /// [`rollup::sync`]). `None` when the rollup cannot be used (a read-only
    /// file, a lock held too long): reads then go to raw events, which are
    /// always right, only slower.
    fn sync_rollup(&self, table: &str) -> Option<rollup::Synced> {
        let mut writer = self.writer.lock().ok()?;
        rollup::sync(&mut writer, table)
            .map_err(
                |error| tracing::debug!(%error, table, "rollup not synced; reading raw events"),
            )
            .ok()
    }

    /// Keeps rows computed from raw events in the file's rollup; failing to
    /// is not an error (the next read computes them again).
    fn persist_rollup(
        &self,
        key: &CacheKey,
        synced: rollup::Synced,
        fetched: &[(TimeRange, Vec<CachedRow>)],
    ) {
        let Ok(mut writer) = self.writer.lock() else {
            return;
        };
        if let Err(error) = rollup::store(&mut writer, key, synced, fetched) {
            tracing::debug!(%error, table = key.table, "rollup not written");
        }
    }

    pub async fn series(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        slice: Option<&SliceKey>,
    ) -> Result<Vec<Bucket>, SourceError> {
        let query = CachedQuery::new(&self.tables, metric, slice, None)?;
        // A slice's buckets may already be in memory from the check's query
        // grouped by that slice's dimension (an alert's chart reads them).
        let grouped = slice
            .map(|slice| {
                CachedQuery::new(&self.tables, metric, None, Some(&slice.dimension))
                    .map(|grouped| (grouped.key, slice.value.clone()))
            })
            .transpose()?;
        let context = format!("metric {}", metric.name);
        let store = self.clone();
        self.read(move |connection| {
            let range = query.aligned(range)?;
            store
                .cache
                .sync(connection, &query.key.table)
                .map_err(|error| query_error(&context, error))?;
            let from_grouped =
                grouped.and_then(|(key, value)| store.cache.slice_of_grouped(&key, range, &value));
            let rows = match from_grouped {
                Some(rows) => rows,
                None => query.rows(&store, connection, range, &context)?,
            };
            Ok(rows
                .into_iter()
                .map(|row| Bucket {
                    start: row.bucket,
                    value: row.value,
                })
                .collect())
        })
        .await
    }

    pub async fn series_by_slice(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        dimension: &str,
    ) -> Result<BTreeMap<String, Vec<Bucket>>, SourceError> {
        let query = CachedQuery::new(&self.tables, metric, None, Some(dimension))?;
        let context = format!("metric {} by {dimension}", metric.name);
        let store = self.clone();
        self.read(move |connection| {
            let range = query.aligned(range)?;
            store
                .cache
                .sync(connection, &query.key.table)
                .map_err(|error| query_error(&context, error))?;
            let mut by_value: BTreeMap<String, Vec<Bucket>> = BTreeMap::new();
            for row in query.rows(&store, connection, range, &context)? {
                by_value.entry(row.slice).or_default().push(Bucket {
                    start: row.bucket,
                    value: row.value,
                });
            }
            Ok(by_value)
        })
        .await
    }

    pub async fn newest_event_time(&self, table: EventTable) -> Result<Option<i64>, SourceError> {
        let name = crate::metrics::physical_table(table, &self.tables).to_string();
        let sql = sql::newest_event_time(Dialect::Sqlite, &name)?;
        self.read(move |connection| {
            connection
                .query_row(&sql, [], |row| row.get::<_, Option<i64>>(0))
                .map_err(|error| query_error(format!("newest event in {name}"), error))
        })
        .await
    }

    /// Number of rows in a table.
    #[cfg(test)]
    pub async fn count_rows(&self, table: EventTable) -> Result<u64, SourceError> {
        let name = crate::metrics::physical_table(table, &self.tables).to_string();
        self.read(move |connection| {
            connection
                .query_row(&format!("SELECT COUNT(*) FROM \"{name}\""), [], |row| {
                    row.get::<_, i64>(0)
                })
                .map(|count| count.max(0) as u64)
                .map_err(|error| query_error(format!("counting {name}"), error))
        })
        .await
    }

    /// Append a batch in one transaction with prepared statements.
    pub async fn write_events(&self, batch: EventBatch) -> Result<(), SourceError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.write(move |connection| {
            let context = "inserting events into sqlite";
            let transaction = connection
                .transaction()
                .map_err(|error| write_error(context, error))?;
            insert_events(&transaction, &batch)?;
            transaction
                .commit()
                .map_err(|error| write_error(context, error))
        })
        .await
    }

    /// Store incidents; an existing id is replaced.
    pub async fn write_incidents(&self, incidents: Vec<Incident>) -> Result<(), SourceError> {
        self.write(move |connection| {
            let context = "writing incidents to sqlite";
            let transaction = connection
                .transaction()
                .map_err(|error| write_error(context, error))?;
            {
                let mut insert = transaction
                    .prepare_cached(
                        "INSERT OR REPLACE INTO incidents (id, \"start\", \"end\", kind, metric, slice_dimension, slice_value, description) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )
                    .map_err(|error| write_error(context, error))?;
                for incident in &incidents {
                    insert
                        .execute(params![
                            incident.id,
                            incident.start,
                            incident.end,
                            incident.kind.as_str(),
                            incident.metric,
                            incident.slice_dimension,
                            incident.slice_value,
                            incident.description
                        ])
                        .map_err(|error| write_error(context, error))?;
                }
            }
            transaction.commit().map_err(|error| write_error(context, error))
        })
        .await
    }

    /// Incidents overlapping `range`, sorted by start.
    pub async fn incidents(&self, range: TimeRange) -> Result<Vec<Incident>, SourceError> {
        self.read(move |connection| {
            let context = "reading incidents";
            let mut statement = connection
                .prepare_cached(
                    "SELECT id, \"start\", \"end\", kind, metric, slice_dimension, slice_value, description \
                     FROM incidents WHERE \"start\" < ?1 AND \"end\" > ?2 ORDER BY \"start\", id",
                )
                .map_err(|error| query_error(context, error))?;
            let rows = statement
                .query_map(params![range.to, range.from], |row| {
                    let kind: String = row.get(3)?;
                    Ok((
                        kind,
                        Incident {
                            id: row.get(0)?,
                            start: row.get(1)?,
                            end: row.get(2)?,
                            kind: IncidentKind::Outage,
                            metric: row.get(4)?,
                            slice_dimension: row.get(5)?,
                            slice_value: row.get(6)?,
                            description: row.get(7)?,
                        },
                    ))
                })
                .map_err(|error| query_error(context, error))?;
            let mut incidents = Vec::new();
            for row in rows {
                let (kind, mut incident) = row.map_err(|error| query_error(context, error))?;
                incident.kind = IncidentKind::parse(&kind).ok_or_else(|| {
                    query_error(context, format!("incident {} has unknown kind `{kind}`", incident.id))
                })?;
                incidents.push(incident);
            }
            Ok(incidents)
        })
        .await
    }
}

/// A metric query in the shape the bucket cache keys it by: everything but
/// the time range, which [`CachedQuery::rows`] fills in per missing sub-range.
struct CachedQuery {
    key: CacheKey,
    tables: TableNames,
    metric: MetricDef,
    slice: Option<SliceKey>,
    dimension: Option<String>,
}

impl CachedQuery {
    fn new(
        tables: &TableNames,
        metric: &MetricDef,
        slice: Option<&SliceKey>,
        dimension: Option<&str>,
    ) -> Result<Self, SourceError> {
        // The SQL for a fixed range stands for the query itself: only the
        // range's numbers differ between two reads of it.
        let fixed = TimeRange {
            from: 0,
            to: crate::metrics::model::BUCKET_SECONDS,
        };
        let shape = sql::build(Dialect::Sqlite, metric, tables, fixed, slice, dimension)?;
        Ok(Self {
            key: CacheKey {
                table: crate::metrics::physical_table(metric.table, tables).to_string(),
                shape: format!("{}\u{0}{}", shape.sql, shape.params.join("\u{0}")),
            },
            tables: tables.clone(),
            metric: metric.clone(),
            slice: slice.cloned(),
            dimension: dimension.map(str::to_string),
        })
    }

    fn aligned(&self, range: TimeRange) -> Result<TimeRange, SourceError> {
        sql::align_range(range).map_err(SourceError::InvalidDefinition)
    }

    /// The rows in `range`: from the memory cache where it has them, then
    /// from the file's rollup, then from raw events (kept in both).
    fn rows(
        &self,
        store: &SqliteStore,
        connection: &Connection,
        range: TimeRange,
        context: &str,
    ) -> Result<Vec<CachedRow>, SourceError> {
        // Synced on the first sub-range the memory cache lacks, not on every
        // read: a read it serves whole touches neither the file nor its lock.
        let mut synced = None;
        store.cache.rows(&self.key, range, |sub_range| {
            match *synced.get_or_insert_with(|| store.sync_rollup(&self.key.table)) {
                Some(synced) => {
                    self.fetch_through_rollup(store, connection, synced, sub_range, context)
                }
                None => self.fetch(connection, sub_range, context),
            }
        })
    }

    /// The rows of one sub-range the memory cache lacks: the rollup's, and
    /// raw events' for what it does not cover, which are then persisted.
    fn fetch_through_rollup(
        &self,
        store: &SqliteStore,
        connection: &Connection,
        synced: rollup::Synced,
        range: TimeRange,
        context: &str,
    ) -> Result<Vec<CachedRow>, SourceError> {
        let (mut rows, missing) = match rollup::read(connection, &self.key, range) {
            Ok(found) => found,
            Err(error) => {
                tracing::debug!(%error, "{context}: rollup unreadable, reading raw events");
                (Vec::new(), vec![range])
            }
        };
        if missing.is_empty() {
            return Ok(rows);
        }
        let mut fetched = Vec::with_capacity(missing.len());
        for part in missing {
            fetched.push((part, self.fetch(connection, part, context)?));
        }
        store.persist_rollup(&self.key, synced, &fetched);
        rows.extend(fetched.into_iter().flat_map(|(_, part)| part));
        rows.sort_by(|a, b| a.bucket.cmp(&b.bucket).then_with(|| a.slice.cmp(&b.slice)));
        Ok(rows)
    }

    /// Runs the query for one sub-range against the events.
    fn fetch(
        &self,
        connection: &Connection,
        range: TimeRange,
        context: &str,
    ) -> Result<Vec<CachedRow>, SourceError> {
        let query = sql::build(
            Dialect::Sqlite,
            &self.metric,
            &self.tables,
            range,
            self.slice.as_ref(),
            self.dimension.as_deref(),
        )?;
        let mut statement = connection
            .prepare_cached(&query.sql)
            .map_err(|error| query_error(context, error))?;
        let grouped = self.dimension.is_some();
        let rows = statement
            .query_map(rusqlite::params_from_iter(&query.params), |row| {
                // Grouped: slice_value, bucket, value; otherwise bucket, value.
                let first = usize::from(grouped);
                Ok(CachedRow {
                    slice: if grouped { row.get(0)? } else { String::new() },
                    bucket: row.get(first)?,
                    value: row.get(first + 1)?,
                })
            })
            .map_err(|error| query_error(context, error))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|error| query_error(context, error))
    }
}

#[cfg(test)]
mod tests;
