//! The source's side of rollups (see [`super::rollup`]): building them for
//! `vigil clickhouse rollup`, finding out once per source whether they are
//! ready, and choosing rollup or raw SQL per metric query.

use std::time::{Duration, Instant};

use super::cluster;
use super::rollup::{self, MARKER_TABLE};
use super::{ClickHouseSource, Kind, QUERY_TIMEOUT};
use crate::metrics::model::{EventTable, MetricDef, SliceKey, TimeRange};
use crate::metrics::physical_table;
use crate::metrics::sql::{self, Dialect, SqlQuery};
use crate::sources::SourceError;

/// Upper bound on one day's `INSERT ... SELECT` (a busy day is millions of rows).
const BACKFILL_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Which event tables have a finished rollup, found once per source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadyRollups {
    pub feed_actions: bool,
    pub message_actions: bool,
}

impl ReadyRollups {
    fn get(self, table: EventTable) -> bool {
        match table {
            EventTable::FeedActions => self.feed_actions,
            EventTable::MessageActions => self.message_actions,
        }
    }
}

/// One backfilled day, for the progress line.
#[derive(Clone, Debug)]
pub struct BackfilledDay {
    /// Physical name of the event table (a shard's local table on a cluster).
    pub table: String,
    /// On a cluster, the shard (`shard_num` in `system.clusters`) rebuilt.
    pub shard: Option<u32>,
    /// `YYYYMMDD` (server time zone), the rollup partition rebuilt.
    pub day: u32,
    pub events: u64,
    /// 1-based position among `of` days of this table.
    pub index: usize,
    pub of: usize,
    pub elapsed: Duration,
}

impl ClickHouseSource {
    /// Create the rollup table and view of both event tables (if absent),
    /// rebuild every day of the rollups from the raw events, one INSERT per
    /// day, calling `progress` after each, then mark them ready for reads.
    /// Safe to rerun: each day's partition is replaced, never added to.
    /// Refused over a cluster's Distributed tables, which need the shards
    /// named ([`Self::build_rollups_with_shards`]).
    pub async fn build_rollups(
        &self,
        progress: &mut dyn FnMut(&BackfilledDay),
    ) -> Result<(), SourceError> {
        self.build_rollups_with_shards(&[], progress).await
    }

    /// [`Self::build_rollups`] on this one server (its event tables are plain).
    pub(super) async fn build_local_rollups(
        &self,
        progress: &mut dyn FnMut(&BackfilledDay),
    ) -> Result<(), SourceError> {
        let db = &self.database;
        self.execute(
            "create rollup marker",
            &rollup::create_marker(db),
            QUERY_TIMEOUT,
        )
        .await?;
        for table in [EventTable::FeedActions, EventTable::MessageActions] {
            let source_table = physical_table(table, &self.tables).to_string();
            self.rollup_table(db, table, &source_table, None, progress)
                .await?;
            self.mark_ready(db, &source_table, &rollup::rollup_name(&source_table))
                .await?;
        }
        Ok(())
    }

    /// Create the rollup table and view of `database.source_table` (if
    /// absent) and rebuild the rollup from its raw events, one INSERT per day.
    pub(super) async fn rollup_table(
        &self,
        db: &str,
        table: EventTable,
        source_table: &str,
        shard: Option<u32>,
        progress: &mut dyn FnMut(&BackfilledDay),
    ) -> Result<(), SourceError> {
        let context = format!("rollup of {source_table}");
        // The view first: events inserted while the backfill runs reach the
        // rollup through it, and a rebuilt day includes those already there.
        for statement in [
            rollup::create_rollup(db, table, source_table),
            rollup::create_view(db, table, source_table),
        ] {
            self.execute(&context, &statement, QUERY_TIMEOUT).await?;
        }
        let days_query = SqlQuery {
            sql: rollup::backfill_days(db, source_table),
            params: Vec::new(),
        };
        let days: Vec<(u32, u32, u32, u64)> = self.fetch(&days_query, &context).await?;
        for (index, &(day, first, last, events)) in days.iter().enumerate() {
            let started = Instant::now();
            self.execute(
                &context,
                &rollup::drop_day(db, source_table, day),
                QUERY_TIMEOUT,
            )
            .await?;
            let insert = rollup::backfill_day(db, table, source_table, day, first, last);
            self.execute(&context, &insert, BACKFILL_TIMEOUT).await?;
            progress(&BackfilledDay {
                table: source_table.to_string(),
                shard,
                day,
                events,
                index: index + 1,
                of: days.len(),
                elapsed: started.elapsed(),
            });
        }
        Ok(())
    }

    /// Record in `vigil_rollups` (of `db`) that reads of `source_table` may
    /// use `rollup_table`.
    pub(super) async fn mark_ready(
        &self,
        db: &str,
        source_table: &str,
        rollup_table: &str,
    ) -> Result<(), SourceError> {
        let mark = self
            .client
            .query(&format!(
                "INSERT INTO {} SELECT ?, ?, now(), toUInt64(now())",
                super::ddl::qualified(db, MARKER_TABLE)
            ))
            .bind(source_table)
            .bind(rollup_table)
            .execute();
        let context = format!("mark the rollup of {source_table} ready");
        self.guard(&context, Kind::Write, QUERY_TIMEOUT, mark).await
    }

    /// The query for one metric read: from the rollup when it is ready and
    /// can answer, else from raw events (saying once per metric and
    /// dimension why a ready rollup was not used). Grouped reads may be
    /// capped to `kept` values of the dimension ([`sql::build_capped`]).
    pub(super) async fn metric_query(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        slice: Option<&SliceKey>,
        group_by_dimension: Option<&str>,
        kept: Option<&[String]>,
    ) -> Result<SqlQuery, SourceError> {
        if self.ready_rollups().await?.get(metric.table) {
            if let Some(query) =
                rollup::build(metric, &self.tables, range, slice, group_by_dimension, kept)?
            {
                return Ok(query);
            }
            let dimension = group_by_dimension.or(slice.map(|slice| slice.dimension.as_str()));
            self.log_raw_fallback(metric, dimension);
        }
        Ok(match (group_by_dimension, kept) {
            (Some(dimension), Some(kept)) => sql::build_capped(
                Dialect::ClickHouse,
                metric,
                &self.tables,
                range,
                dimension,
                kept,
            )?,
            _ => sql::build(
                Dialect::ClickHouse,
                metric,
                &self.tables,
                range,
                slice,
                group_by_dimension,
            )?,
        })
    }

    /// Found on the first read and kept for the source's life (a rollup made
    /// while `vigil serve` runs is used after a restart). An unreachable
    /// server is an error tried again on the next read; any other failure
    /// (no right to read `system.tables`) means raw events, with a warning.
    pub(super) async fn ready_rollups(&self) -> Result<ReadyRollups, SourceError> {
        let found = self
            .rollups
            .get_or_try_init(|| async {
                match self.detect_rollups().await {
                    Err(error @ SourceError::Unreachable { .. }) => Err(error),
                    Err(error) => {
                        tracing::warn!(source = %self.describe(), %error,
                            "cannot tell whether rollups exist; reading raw events");
                        Ok(ReadyRollups::default())
                    }
                    Ok(ready) => Ok(ready),
                }
            })
            .await?;
        Ok(*found)
    }

    async fn detect_rollups(&self) -> Result<ReadyRollups, SourceError> {
        let context = "look for rollups";
        let tables = self.tables_of(&self.database, context).await?;
        let marked: Vec<String> = if tables.iter().any(|(name, _)| name == MARKER_TABLE) {
            let marker = SqlQuery {
                sql: format!(
                    "SELECT source_table FROM {} FINAL",
                    super::ddl::quote(MARKER_TABLE)
                ),
                params: Vec::new(),
            };
            self.fetch(&marker, context).await?
        } else {
            Vec::new()
        };
        // Marked backfilled, and both the table and the view that keeps it
        // current are still there.
        let mut ready = [false; 2];
        for (index, source_table) in [&self.tables.feed_actions, &self.tables.message_actions]
            .into_iter()
            .enumerate()
        {
            ready[index] = marked.iter().any(|name| name == source_table)
                && self.rollup_kept(&tables, source_table, context).await?;
        }
        let found = ReadyRollups {
            feed_actions: ready[0],
            message_actions: ready[1],
        };
        let says = |table: &str, ready: bool| {
            if ready {
                format!("{table} from rollup {}", rollup::rollup_name(table))
            } else {
                format!("{table} from raw events")
            }
        };
        tracing::info!(
            source = %self.describe(),
            "metrics read {}, {}{}",
            says(&self.tables.feed_actions, found.feed_actions),
            says(&self.tables.message_actions, found.message_actions),
            if found == (ReadyRollups { feed_actions: true, message_actions: true }) {
                ""
            } else {
                " (`vigil clickhouse rollup` creates the missing rollups)"
            }
        );
        Ok(found)
    }

    /// `(name, engine_full)` of every table of `database` on this server.
    pub(super) async fn tables_of(
        &self,
        database: &str,
        context: &str,
    ) -> Result<Vec<(String, String)>, SourceError> {
        let query = SqlQuery {
            sql: cluster::SELECT_TABLES.into(),
            params: vec![database.to_string()],
        };
        self.fetch(&query, context).await
    }

    /// Whether the rollup of `source_table` and the view filling it exist.
    /// A cluster's rollup is a Distributed table over each shard's local
    /// rollup: its view is checked on this server when it is a shard (holds
    /// the local rollup); the other shards' views are not seen from here.
    async fn rollup_kept(
        &self,
        tables: &[(String, String)],
        source_table: &str,
        context: &str,
    ) -> Result<bool, SourceError> {
        let engine_of = |name: &str| {
            tables
                .iter()
                .find(|(table, _)| table == name)
                .map(|(_, engine)| engine.clone())
        };
        let Some(engine) = engine_of(&rollup::rollup_name(source_table)) else {
            return Ok(false);
        };
        if !engine.starts_with("Distributed(") {
            return Ok(engine_of(&rollup::view_name(source_table)).is_some());
        }
        let Ok(target) = cluster::parse_distributed(&engine) else {
            return Ok(false);
        };
        let local = if target.database == self.database {
            tables.to_vec()
        } else {
            self.tables_of(&target.database, context).await?
        };
        let has = |name: &str| local.iter().any(|(table, _)| table == name);
        Ok(!has(&target.table) || has(&format!("{}_mv", target.table)))
    }

    fn log_raw_fallback(&self, metric: &MetricDef, dimension: Option<&str>) {
        let key = format!("{}/{}", metric.name, dimension.unwrap_or(""));
        let first = self
            .raw_fallbacks_logged
            .lock()
            .map(|mut logged| logged.insert(key))
            .unwrap_or(true);
        if first {
            let reason = rollup::unanswerable(metric, dimension).unwrap_or_default();
            tracing::info!(
                metric = %metric.name,
                by = dimension.unwrap_or("-"),
                "metric read from raw events, not the rollup: it {reason}"
            );
        }
    }

    pub(super) async fn execute(
        &self,
        context: &str,
        statement: &str,
        timeout: Duration,
    ) -> Result<(), SourceError> {
        let request = self.client.query(statement).execute();
        self.guard(context, Kind::Write, timeout, request).await
    }
}
