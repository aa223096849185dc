//! ClickHouse source: reads metric series from the product's event tables over
//! HTTP or HTTPS (rustls; see `tls`), or from their 15-minute rollups once
//! `vigil clickhouse rollup` made them (see `rollup`, `rollup_access`), and
//! (for `vigil simulate --clickhouse-url`) creates and fills them.
//!
//! Compatibility floor is ClickHouse 18.16 (Debian's package), so the client is
//! set up for what that server speaks:
//! - rows travel as plain `RowBinary` (`with_validation(false)`: the validating
//!   `RowBinaryWithNamesAndTypes` format is missing in 18.16), which is why every
//!   SELECT here casts its columns to exactly the Rust types it decodes into;
//! - no response compression (the crate's `Accept-Encoding: lz4` is newer than 18.16);
//! - `?` placeholders are bound client side by the `clickhouse` crate, as
//!   escaped literals (server-side `{name:Type}` parameters are newer too).
//!
//! On a sharded cluster the configured tables are `Distributed` tables: reads
//! send the same one query per check (the initiator merges the shards'
//! aggregate states), inserts wait for every shard (`insert_distributed_sync`),
//! and rollups are built per shard, read through a Distributed rollup (see
//! `cluster`, `cluster_rollup`).
//!
//! Metric reads keep the buckets that can no longer change in memory and
//! ask the server only for the rest (`bucket_cache`, `cached_reads`).
//!
//! Credentials go in headers (`X-ClickHouse-User`/`-Key`), never in a URL: one
//! with `user:password@` is refused, and [`ClickHouseSource::describe`] shows
//! only scheme, host, port and database.

mod bucket_cache;
mod cached_reads;
mod cells;
mod cluster;
mod cluster_rollup;
mod daily;
mod ddl;
mod experiments;
mod kept;
mod rollup;
mod rollup_access;
mod rows;
mod slots;
mod tls;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clickhouse::{Client, Row};
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;

use crate::config::ClickHouseConfig;
use crate::events::{EventBatch, Incident};
use crate::metrics::model::{Bucket, EventTable, MetricDef, SliceKey, TableNames, TimeRange};
use crate::metrics::physical_table;
use crate::metrics::sql::{self, Dialect, SqlQuery};
use crate::sources::settle::DEFAULT_SETTLE_SECS;
use crate::sources::SourceError;

pub use ddl::INCIDENTS_TABLE;
pub use rollup_access::BackfilledDay;

/// Rows per INSERT: big enough that ClickHouse makes few parts, small enough
/// that one failed insert costs little to redo.
pub const INSERT_BATCH_ROWS: usize = 100_000;

/// A server that does not accept the TCP connection within this is unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Upper bound on one metric query (a full scan of a busy day takes seconds).
const QUERY_TIMEOUT: Duration = Duration::from_secs(300);
/// Upper bound on one INSERT batch, from first byte sent to the server's answer.
const INSERT_TIMEOUT: Duration = Duration::from_secs(300);
/// ClickHouse closes idle keep-alive connections after 3 s by default; drop
/// ours sooner so a request never lands on a socket the server just closed.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_millis(2_500);

/// How far back the newest-event read looks first (a day).
const NEWEST_EVENT_WINDOW_SECS: i64 = 86_400;

/// ClickHouse error codes meaning "you may not talk to me" rather than "bad query".
/// 192 UNKNOWN_USER, 193 WRONG_PASSWORD, 194 REQUIRED_PASSWORD,
/// 195 IP_ADDRESS_NOT_ALLOWED, 516 AUTHENTICATION_FAILED.
const AUTH_ERROR_CODES: [u32; 5] = [192, 193, 194, 195, 516];

/// A connection to one ClickHouse database. Cheap to share: the HTTP client
/// inside pools its connections.
pub struct ClickHouseSource {
    /// Talks to the configured database; metric queries use unqualified table names.
    client: Client,
    /// Same server without a default database: `CREATE DATABASE` must not
    /// name the database it is about to create.
    server: Client,
    database: String,
    tables: TableNames,
    /// `http://host:port` without credentials, for messages.
    public_url: String,
    /// For messages about a failed TLS handshake.
    tls: tls::TlsSettings,
    /// Which rollups reads may use, found on the first metric read.
    rollups: tokio::sync::OnceCell<rollup_access::ReadyRollups>,
    /// "metric/dimension" already logged as read raw despite a ready rollup.
    raw_fallbacks_logged: Mutex<BTreeSet<String>>,
    /// Settled buckets of metric reads (see `bucket_cache`).
    cache: bucket_cache::BucketCache,
    /// Seconds after its end when a bucket's rows are final
    /// ([`crate::sources::settle_secs`], [`Self::settle_rows_after`]).
    settle_secs: AtomicI64,
    /// The sub-ranges metric reads asked the server for, for tests.
    #[cfg(test)]
    fetched: Mutex<Vec<TimeRange>>,
}

impl std::fmt::Debug for ClickHouseSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password lives only inside `Client`, whose own Debug redacts it.
        f.debug_struct("ClickHouseSource")
            .field("url", &self.public_url)
            .field("database", &self.database)
            .field("tables", &self.tables)
            .finish_non_exhaustive()
    }
}

impl ClickHouseSource {
    /// Set up the client. Does not touch the network: an unreachable server is
    /// reported by the first query, so `vigil serve` can start and retry.
    pub fn new(config: &ClickHouseConfig) -> Result<Self, SourceError> {
        let public_url = crate::config::clickhouse_url::public_url(&config.url)
            .map_err(|reason| SourceError::Config(format!("invalid ClickHouse URL: {reason}")))?;
        crate::metrics::check_identifier("database name", &config.database)?;
        crate::metrics::check_identifier("table name", &config.tables.feed_actions)?;
        crate::metrics::check_identifier("table name", &config.tables.message_actions)?;

        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        let mut tls = tls::TlsSettings::default();
        let server = if public_url.starts_with("https://") {
            // The same files, checked the same way, as `vigil config check`.
            let tls_config =
                crate::config::clickhouse_tls::client_config(&config.tls).map_err(|error| {
                    SourceError::Config(format!("`{}`: {}", error.key, error.reason))
                })?;
            tls.ca_file = config
                .tls
                .ca_file
                .as_ref()
                .map(|file| file.display().to_string());
            tls.client_cert = config.tls.client_cert.is_some();
            pooled(tls::https_connector(connector, tls_config))
        } else {
            pooled(connector)
        };
        let mut server = server
            .with_url(config.url.trim_end_matches('/'))
            .with_validation(false)
            .with_compression(clickhouse::Compression::None)
            .with_user(config.user.clone());
        if let Some(password) = config.password.as_ref().map(|p| p.expose()) {
            // An error body that echoes the request shows it: scrub it everywhere.
            crate::redact::register(password);
            if !password.is_empty() {
                server = server.with_password(password);
            }
        }
        let client = server.clone().with_database(config.database.clone());
        Ok(Self {
            client,
            server,
            database: config.database.clone(),
            tables: config.tables.clone(),
            public_url,
            tls,
            rollups: tokio::sync::OnceCell::new(),
            raw_fallbacks_logged: Mutex::new(BTreeSet::new()),
            cache: bucket_cache::BucketCache::default(),
            settle_secs: AtomicI64::new(DEFAULT_SETTLE_SECS),
            #[cfg(test)]
            fetched: Mutex::new(Vec::new()),
        })
    }

    /// Buckets that ended at least `secs` seconds ago are final: their
    /// rows are cached and not read again (see `bucket_cache`). Set from
    /// the schedule ([`crate::sources::settle_secs`]), so that the
    /// late-rows re-check still sees every bucket that may change.
    pub fn settle_rows_after(&self, secs: i64) {
        self.settle_secs.store(secs.max(0), Ordering::Relaxed);
    }

    fn settle_secs(&self) -> i64 {
        self.settle_secs.load(Ordering::Relaxed)
    }

    #[cfg(test)]
    fn note_fetch(&self, part: TimeRange) {
        self.fetched
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(part);
    }

    /// The sub-ranges metric reads asked the server for since the last call.
    #[cfg(test)]
    fn take_fetched(&self) -> Vec<TimeRange> {
        std::mem::take(
            &mut *self
                .fetched
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// "clickhouse http://host:8123 database vigil" — never the password.
    pub fn describe(&self) -> String {
        format!("clickhouse {} database {}", self.public_url, self.database)
    }

    pub async fn series(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        slice: Option<&SliceKey>,
    ) -> Result<Vec<Bucket>, SourceError> {
        self.cached_series(metric, range, slice).await
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
    /// `range` (see [`sql::Cap`]): one small query ranks them
    /// ([`sql::ranking`]; again only once the range start moved a day, see
    /// `cached_reads`), and the grouped query returns only their rows
    /// and the `(other)` sum. Two queries rather than an `IN (subquery)`:
    /// on a cluster's Distributed table a subquery would rank each shard's
    /// values on their own (or need `GLOBAL IN`), and a list of values is
    /// the same on every shard.
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
        self.cached_grouped(metric, range, dimension, top).await
    }

    pub async fn newest_event_time(&self, table: EventTable) -> Result<Option<i64>, SourceError> {
        // A table that receives events has some from the last day: only its
        // recent parts are read. Otherwise (an idle or historical table) the
        // whole column answers.
        let recent = crate::times::unix_now() - NEWEST_EVENT_WINDOW_SECS;
        match self.newest_event_since(table, Some(recent)).await? {
            Some(newest) => Ok(Some(newest)),
            None => self.newest_event_since(table, None).await,
        }
    }

    /// The newest event time in `table` at or after `since` (all when `None`).
    async fn newest_event_since(
        &self,
        table: EventTable,
        since: Option<i64>,
    ) -> Result<Option<i64>, SourceError> {
        let name = physical_table(table, &self.tables);
        let text = sql::newest_event_time(Dialect::ClickHouse, name, since)?;
        let query = SqlQuery {
            sql: text,
            params: Vec::new(),
        };
        let rows: Vec<u32> = self
            .fetch(&query, &format!("newest event in {name}"))
            .await?;
        // `max` over no rows is the DateTime zero, 1970-01-01: nothing ingested.
        Ok(rows.first().copied().filter(|&t| t > 0).map(i64::from))
    }

    /// `CREATE DATABASE/TABLE IF NOT EXISTS` for the events and incidents.
    pub async fn ensure_tables(&self) -> Result<(), SourceError> {
        let db = &self.database;
        let statements = [
            ddl::create_database(db),
            ddl::create_feed_actions(db, &self.tables.feed_actions),
            ddl::create_message_actions(db, &self.tables.message_actions),
            ddl::create_incidents(db),
        ];
        for statement in statements {
            let request = self.server.query(&statement).execute();
            self.guard("create tables", Kind::Write, QUERY_TIMEOUT, request)
                .await?;
        }
        Ok(())
    }

    /// Append events, one INSERT per table and per [`INSERT_BATCH_ROWS`] rows.
    pub async fn write_events(&self, batch: &EventBatch) -> Result<(), SourceError> {
        let feed_table = ddl::qualified(&self.database, &self.tables.feed_actions);
        for chunk in batch.feed.chunks(INSERT_BATCH_ROWS) {
            let rows = chunk
                .iter()
                .map(rows::FeedRow::new)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| write_error(&self.tables.feed_actions, error))?;
            self.insert::<rows::FeedRow<'_>>(&feed_table, &self.tables.feed_actions, &rows)
                .await?;
        }
        let message_table = ddl::qualified(&self.database, &self.tables.message_actions);
        for chunk in batch.messages.chunks(INSERT_BATCH_ROWS) {
            let rows = chunk
                .iter()
                .map(rows::MessageRow::new)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| write_error(&self.tables.message_actions, error))?;
            self.insert::<rows::MessageRow<'_>>(
                &message_table,
                &self.tables.message_actions,
                &rows,
            )
            .await?;
        }
        Ok(())
    }

    /// Store incidents; a later write of the same id replaces the earlier one.
    pub async fn write_incidents(&self, incidents: &[Incident]) -> Result<(), SourceError> {
        if incidents.is_empty() {
            return Ok(());
        }
        // Nanoseconds since the epoch: later writes get higher versions.
        let version = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let rows = incidents
            .iter()
            .map(|incident| rows::IncidentRow::new(incident, version))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| write_error(INCIDENTS_TABLE, error))?;
        let table = ddl::qualified(&self.database, INCIDENTS_TABLE);
        self.insert::<rows::IncidentRow<'_>>(&table, INCIDENTS_TABLE, &rows)
            .await
    }

    /// Incidents overlapping `range`, sorted by start. A product's own
    /// ClickHouse has no incidents table (the simulator and `vigil
    /// simulate` create it): that is no incidents, not an error every
    /// check would log.
    pub async fn incidents(&self, range: TimeRange) -> Result<Vec<Incident>, SourceError> {
        if !self.incidents_table_exists().await {
            return Ok(Vec::new());
        }
        let text = ddl::select_incidents(&self.database);
        // Clamp to DateTime's range so a wide UI range is not an error.
        let clamp = |t: i64| t.clamp(0, i64::from(u32::MAX));
        let request = self
            .client
            .query(&text)
            .bind(clamp(range.from))
            .bind(clamp(range.to))
            .fetch_all::<rows::IncidentRead>();
        let rows = self
            .guard("read incidents", Kind::Read, QUERY_TIMEOUT, request)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let (id, kind) = (row.id, row.kind.clone());
                let incident = row.into_incident();
                if incident.is_none() {
                    tracing::warn!(id, kind, "skipping incident of unknown kind");
                }
                incident
            })
            .collect())
    }

    /// Whether the database has the incidents table; `true` when
    /// `system.tables` cannot be read, so the read itself says what is wrong.
    async fn incidents_table_exists(&self) -> bool {
        let request = self
            .client
            .query("SELECT toUInt64(count()) FROM system.tables WHERE database = ? AND name = ?")
            .bind(&self.database)
            .bind(INCIDENTS_TABLE)
            .fetch_one::<u64>();
        match tokio::time::timeout(QUERY_TIMEOUT, request).await {
            Ok(Ok(tables)) => tables > 0,
            _ => true,
        }
    }

    /// Run a built query, binding its parameters in order.
    async fn fetch<T>(&self, query: &SqlQuery, context: &str) -> Result<Vec<T>, SourceError>
    where
        T: clickhouse::RowOwned + clickhouse::RowRead,
    {
        let mut request = self.client.query(&query.sql);
        for param in &query.params {
            request = request.bind(param.as_str());
        }
        tracing::debug!(context, sql = %query.sql, "clickhouse query");
        self.guard(context, Kind::Read, QUERY_TIMEOUT, request.fetch_all::<T>())
            .await
    }

    async fn insert<T>(
        &self,
        quoted_table: &str,
        table: &str,
        rows: &[T::Value<'_>],
    ) -> Result<(), SourceError>
    where
        T: Row + clickhouse::RowWrite,
    {
        let context = format!("insert into {table}");
        let work = async {
            let mut insert = self
                .client
                .insert_unescaped::<T>(quoted_table)
                .await?
                .with_timeouts(Some(INSERT_TIMEOUT), Some(INSERT_TIMEOUT))
                // Into a Distributed table (a sharded cluster, docs/clickhouse.md):
                // the INSERT returns once every shard stored its rows, instead of
                // queueing them on this server. Ignored by plain MergeTree tables.
                .with_setting("insert_distributed_sync", "1");
            for row in rows {
                insert.write(row).await?;
            }
            insert.end().await
        };
        // The insert has its own timeouts; the outer bound is a backstop.
        self.guard(&context, Kind::Write, INSERT_TIMEOUT * 2, work)
            .await
    }

    /// Bound a request in time and turn its error into a [`SourceError`].
    async fn guard<T>(
        &self,
        context: &str,
        kind: Kind,
        timeout: Duration,
        request: impl Future<Output = clickhouse::error::Result<T>>,
    ) -> Result<T, SourceError> {
        match tokio::time::timeout(timeout, request).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(self.classify(context, kind, &error)),
            Err(_) => Err(SourceError::Unreachable {
                target: self.describe(),
                reason: format!("no answer within {} s ({context})", timeout.as_secs()),
            }),
        }
    }

    fn classify(&self, context: &str, kind: Kind, error: &clickhouse::error::Error) -> SourceError {
        use clickhouse::error::Error;
        let raw = crate::redact::scrub(&error_chain(error));
        let reason = match error {
            Error::BadResponse(message) => {
                // The body may be anything a server or proxy chose to send:
                // whole, it goes to the log only (scrubbed even there).
                tracing::warn!(context, source = %self.describe(), error = %raw, "ClickHouse answered an error");
                public_reason(message)
            }
            // A failed TLS handshake in words (wrong CA, host name), not the
            // error chain.
            _ => tls::explain(error, &self.tls).unwrap_or(raw),
        };
        let unreachable = match error {
            Error::Network(_) | Error::TimedOut => true,
            Error::BadResponse(message) => {
                server_error_code(message).is_some_and(|code| AUTH_ERROR_CODES.contains(&code))
            }
            _ => false,
        };
        if unreachable {
            return SourceError::Unreachable {
                target: self.describe(),
                reason,
            };
        }
        let context = context.to_string();
        match kind {
            Kind::Read => SourceError::Query { context, reason },
            Kind::Write => SourceError::Write { context, reason },
        }
    }
}

/// A client over `connector` whose idle connections close before the server's do.
fn pooled<C: Connect + Clone + Send + Sync + 'static>(connector: C) -> Client {
    Client::with_http_client(
        HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(connector),
    )
}

#[derive(Clone, Copy)]
enum Kind {
    Read,
    Write,
}

fn write_error(table: &str, error: rows::TimeOutOfRange) -> SourceError {
    SourceError::Write {
        context: format!("insert into {table}"),
        reason: error.to_string(),
    }
}

/// What leaves the process of an error body (`/readyz`, pages, alerts): the
/// first line of a ClickHouse exception, bounded and scrubbed; anything else
/// (a proxy's page, an echo of the request) only by name.
fn public_reason(body: &str) -> String {
    const MAX_CHARS: usize = 300;
    match server_error_code(body) {
        Some(_) => {
            let line = body.lines().next().unwrap_or_default();
            let mut line: String = line.chars().take(MAX_CHARS).collect();
            if line.len() < body.trim_end().len() {
                line.push_str(" …");
            }
            crate::redact::scrub(&format!("bad response: {line}"))
        }
        None => "bad response that is not a ClickHouse error (a proxy in between?); \
                 vigil's log has its text"
            .to_string(),
    }
}

/// The server's error code in "Code: 47, e.displayText() = ..." (18.x) or
/// "Code: 47. DB::Exception: ..." (current releases).
fn server_error_code(message: &str) -> Option<u32> {
    let after = &message[message.find("Code: ")? + "Code: ".len()..];
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// "outer: inner: innermost", skipping repeats (hyper repeats its source in Display).
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(current) = next {
        let text = current.to_string();
        let text = text.trim();
        if !text.is_empty() && !parts.iter().any(|seen| seen.contains(text)) {
            parts.push(text.to_string());
        }
        next = current.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod real_server_tests;

#[cfg(test)]
mod tls_server_tests;

#[cfg(test)]
mod rollup_server_tests;

#[cfg(test)]
mod bucket_cache_server_tests;

#[cfg(test)]
mod bucket_cache_figures;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_parse_in_old_and_new_formats() {
        assert_eq!(
            server_error_code("Code: 193, e.displayText() = DB::Exception: Wrong password"),
            Some(193)
        );
        assert_eq!(
            server_error_code("Code: 516. DB::Exception: default: Authentication failed"),
            Some(516)
        );
        assert_eq!(server_error_code("bad response: 502 Bad Gateway"), None);
    }

    #[test]
    fn error_bodies_leave_the_process_as_a_bounded_clickhouse_line_or_not_at_all() {
        crate::redact::register("echoed-ch-password");
        let echo = "POST /?database=default HTTP/1.1\nX-ClickHouse-Key: echoed-ch-password";
        let reason = public_reason(echo);
        assert!(!reason.contains("X-ClickHouse"), "{reason}");
        assert!(reason.contains("vigil's log"), "{reason}");
        let exception = "Code: 60. DB::Exception: Table default.x does not exist. \
                         echoed-ch-password\nstack trace line";
        let reason = public_reason(exception);
        assert!(
            reason.starts_with("bad response: Code: 60. DB::Exception: Table default.x"),
            "{reason}"
        );
        assert!(!reason.contains("echoed-ch-password"), "{reason}");
        assert!(!reason.contains("stack trace"), "{reason}");
        assert!(public_reason(&"Code: 1. ".repeat(100)).chars().count() < 330);
    }
}
