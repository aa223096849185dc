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

use std::collections::{BTreeMap, HashMap};
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
    /// Per grouped query, the capped one a check read last: an alert's
    /// chart of a kept value (or of `(other)`) is in its cache entry.
    capped: Arc<Mutex<HashMap<CacheKey, Capped>>>,
}

/// A capped grouped query's cache key, and the slices its rows hold.
struct Capped {
    key: CacheKey,
    kept: Vec<String>,
    other: bool,
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
            capped: Arc::default(),
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

    /// Keeps rows computed from raw events in the file's rollup, and says
    /// whether it did; failing to is not an error (the next read computes
    /// them again).
    fn persist_rollup(
        &self,
        key: &CacheKey,
        synced: rollup::Synced,
        fetched: &[(TimeRange, Vec<CachedRow>)],
    ) -> bool {
        let Ok(mut writer) = self.writer.lock() else {
            return false;
        };
        rollup::store(&mut writer, key, synced, fetched)
            .map_err(|error| tracing::debug!(%error, table = key.table, "rollup not written"))
            .unwrap_or(false)
    }

    fn remember_capped(&self, grouped: &CacheKey, capped: &CachedQuery) {
        let kept = capped.kept.clone().unwrap_or_default();
        let other = sql::Cap::new(&capped.metric.aggregate, &kept).other;
        let mut remembered = self.capped.lock().unwrap_or_else(|p| p.into_inner());
        let capped = Capped {
            key: capped.key.clone(),
            kept,
            other,
        };
        remembered.insert(grouped.clone(), capped);
    }

    /// One slice's rows from the cache entry of the capped query last read
    /// for `grouped`, if it holds that slice and covers `range`.
    fn slice_of_capped(
        &self,
        grouped: &CacheKey,
        range: TimeRange,
        value: &str,
    ) -> Option<Vec<CachedRow>> {
        let key = {
            let remembered = self.capped.lock().unwrap_or_else(|p| p.into_inner());
            let capped = remembered.get(grouped)?;
            let held = capped.kept.iter().any(|kept| kept == value)
                || (capped.other && value == crate::metrics::dimensions::OTHER);
            held.then(|| capped.key.clone())?
        };
        self.cache.slice_of_grouped(&key, range, value)
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
            let from_grouped = grouped.and_then(|(key, value)| {
                (store.cache.slice_of_grouped(&key, range, &value))
                    .or_else(|| store.slice_of_capped(&key, range, &value))
            });
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
        self.grouped(metric, range, dimension, None).await
    }

    /// [`Self::series_by_slice`] capped to the `top` values by volume over
    /// `range` (see [`sql::Cap`]), ranked and summed in SQL so that only
    /// those series are read and kept in memory.
    pub async fn top_series_by_slice(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        dimension: &str,
        top: usize,
    ) -> Result<BTreeMap<String, Vec<Bucket>>, SourceError> {
        self.grouped(metric, range, dimension, Some(top)).await
    }

    /// [`Self::series_by_slice`], capped to the `top` values when given.
    pub(super) async fn grouped(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        dimension: &str,
        top: Option<usize>,
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
            let rows = match top {
                None => query.rows(&store, connection, range, &context)?,
                Some(top) => query.top_rows(&store, connection, range, top, &context)?,
            };
            let mut by_value: BTreeMap<String, Vec<Bucket>> = BTreeMap::new();
            for row in rows {
                by_value.entry(row.slice).or_default().push(Bucket {
                    start: row.bucket,
                    value: row.value,
                });
            }
            Ok(by_value)
        })
        .await
    }

    /// [`Source::dimension_values`].
    pub(super) async fn dimension_values(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        dimension: &str,
        limit: usize,
    ) -> Result<Vec<String>, SourceError> {
        let query = CachedQuery::new(&self.tables, metric, None, Some(dimension))?;
        let context = format!("the {dimension} values of {}", metric.name);
        let store = self.clone();
        self.read(move |connection| {
            let range = query.aligned(range)?;
            query.top_values(&store, connection, range, limit, &context)
        })
        .await
    }

    pub async fn newest_event_time(&self, table: EventTable) -> Result<Option<i64>, SourceError> {
        let name = crate::metrics::physical_table(table, &self.tables).to_string();
        let sql = sql::newest_event_time(Dialect::Sqlite, &name, None)?;
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
    /// The dimension's values kept one by one ([`sql::build_capped`]).
    kept: Option<Vec<String>>,
}

impl CachedQuery {
    fn new(
        tables: &TableNames,
        metric: &MetricDef,
        slice: Option<&SliceKey>,
        dimension: Option<&str>,
    ) -> Result<Self, SourceError> {
        let mut query = Self {
            key: CacheKey {
                table: crate::metrics::physical_table(metric.table, tables).to_string(),
                shape: String::new(),
            },
            tables: tables.clone(),
            metric: metric.clone(),
            slice: slice.cloned(),
            dimension: dimension.map(str::to_string),
            kept: None,
        };
        query.key.shape = query.shape()?;
        Ok(query)
    }

    /// This grouped query capped to `kept`: its own shape, so that rows
    /// capped to other values (a ranking that changed) are never mixed in.
    fn capped(&self, kept: Vec<String>) -> Result<Self, SourceError> {
        let mut capped = Self {
            key: self.key.clone(),
            tables: self.tables.clone(),
            metric: self.metric.clone(),
            slice: None,
            dimension: self.dimension.clone(),
            kept: Some(kept),
        };
        capped.key.shape = capped.shape()?;
        Ok(capped)
    }

    /// The SQL for a fixed range, which stands for the query itself: only
    /// the range's numbers differ between two reads of it.
    fn shape(&self) -> Result<String, SourceError> {
        let fixed = TimeRange {
            from: 0,
            to: crate::metrics::model::BUCKET_SECONDS,
        };
        let shape = self.build(fixed)?;
        Ok(format!("{}\u{0}{}", shape.sql, shape.params.join("\u{0}")))
    }

    fn build(&self, range: TimeRange) -> Result<sql::SqlQuery, SourceError> {
        let (metric, tables) = (&self.metric, &self.tables);
        Ok(match (&self.dimension, &self.kept) {
            (Some(dimension), Some(kept)) => {
                sql::build_capped(Dialect::Sqlite, metric, tables, range, dimension, kept)?
            }
            (dimension, _) => sql::build(
                Dialect::Sqlite,
                metric,
                tables,
                range,
                self.slice.as_ref(),
                dimension.as_deref(),
            )?,
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

    /// The `top` values of this grouped query over `range` by volume
    /// ([`sql::ranking`]): from the file's rollup (filled first where it
    /// lacks buckets), else from raw events.
    fn top_values(
        &self,
        store: &SqliteStore,
        connection: &Connection,
        range: TimeRange,
        top: usize,
        context: &str,
    ) -> Result<Vec<String>, SourceError> {
        let in_rollup = match store.sync_rollup(&self.key.table) {
            Some(synced) => self.fill_rollup(store, connection, synced, range, context)?,
            None => false,
        };
        let ranked = if in_rollup {
            rollup::top_values(connection, &self.key, range, top)
                .map_err(|error| query_error(context, error))?
        } else {
            None
        };
        if let Some(ranked) = ranked {
            return Ok(ranked);
        }
        let ranking = sql::ranking(self.build(range)?, top);
        let mut statement = connection
            .prepare(&ranking.sql)
            .map_err(|error| query_error(context, error))?;
        let values = statement
            .query_map(rusqlite::params_from_iter(&ranking.params), |row| {
                row.get(0)
            })
            .map_err(|error| query_error(context, error))?;
        values
            .collect::<Result<Vec<String>, _>>()
            .map_err(|error| query_error(context, error))
    }

    /// The rows of this grouped query over `range` capped to its `top`
    /// values by volume. The ranking and the capped rows come from the
    /// file's rollup (filled from raw events first where it lacks buckets,
    /// a day at a time, never held in memory whole), else from raw events;
    /// only the capped rows enter the memory cache, keyed by the kept values.
    fn top_rows(
        &self,
        store: &SqliteStore,
        connection: &Connection,
        range: TimeRange,
        top: usize,
        context: &str,
    ) -> Result<Vec<CachedRow>, SourceError> {
        let kept = self.top_values(store, connection, range, top, context)?;
        if kept.is_empty() {
            return Ok(Vec::new());
        }
        let capped = self.capped(kept)?;
        let kept = capped.kept.as_deref().unwrap_or_default();
        let cap = sql::Cap::new(&self.metric.aggregate, kept);
        store.remember_capped(&self.key, &capped);
        store.cache.rows(&capped.key, range, |part| {
            let from_rollup = rollup::capped_rows(connection, &self.key, part, cap)
                .map_err(|error| query_error(context, error))?;
            match from_rollup {
                Some(rows) => Ok(rows),
                // Dropped meanwhile (another process saw new events): the
                // raw events answer the same.
                None => capped.fetch(connection, part, context),
            }
        })
    }

    /// Fills the file's rollup of this query over `range` from raw events
    /// where it lacks buckets, a day per write so that a cold read never
    /// holds two weeks of a large dimension's rows; says whether it now
    /// covers all of `range`. Parts before what it covers are filled
    /// newest first, so that each write extends the span it has.
    fn fill_rollup(
        &self,
        store: &SqliteStore,
        connection: &Connection,
        synced: rollup::Synced,
        range: TimeRange,
        context: &str,
    ) -> Result<bool, SourceError> {
        let Ok(missing) = rollup::missing(connection, &self.key, range) else {
            return Ok(false);
        };
        for part in missing {
            let mut days = day_chunks(part);
            if part.to < range.to {
                days.reverse();
            }
            for day in days {
                let rows = self.fetch(connection, day, context)?;
                if !store.persist_rollup(&self.key, synced, &[(day, rows)]) {
                    return Ok(false);
                }
            }
        }
        Ok(rollup::missing(connection, &self.key, range).is_ok_and(|missing| missing.is_empty()))
    }

    /// Runs the query for one sub-range against the events.
    fn fetch(
        &self,
        connection: &Connection,
        range: TimeRange,
        context: &str,
    ) -> Result<Vec<CachedRow>, SourceError> {
        let query = self.build(range)?;
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

/// `range` cut at every multiple of a day (UTC), in order.
fn day_chunks(range: TimeRange) -> Vec<TimeRange> {
    let mut chunks = Vec::new();
    let mut from = range.from;
    while from < range.to {
        let to = ((from.div_euclid(sql::DAY_SECONDS) + 1) * sql::DAY_SECONDS).min(range.to);
        chunks.push(TimeRange { from, to });
        from = to;
    }
    chunks
}

#[cfg(test)]
mod tests;
