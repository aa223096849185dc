//! The source's side of rollups (see [`super::rollup`]): building them for
//! `vigil clickhouse rollup`, finding out once per source whether they are
//! ready, and choosing rollup or raw SQL per metric query.

use std::time::{Duration, Instant};

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
    /// Physical name of the event table.
    pub table: String,
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
    pub async fn build_rollups(
        &self,
        progress: &mut dyn FnMut(&BackfilledDay),
    ) -> Result<(), SourceError> {
        let db = &self.database;
        self.refuse_distributed_tables().await?;
        self.execute(
            "create rollup marker",
            &rollup::create_marker(db),
            QUERY_TIMEOUT,
        )
        .await?;
        for table in [EventTable::FeedActions, EventTable::MessageActions] {
            let source_table = physical_table(table, &self.tables).to_string();
            let context = format!("rollup of {source_table}");
            // The view first: events inserted while the backfill runs reach the
            // rollup through it, and a rebuilt day includes those already there.
            for statement in [
                rollup::create_rollup(db, table, &source_table),
                rollup::create_view(db, table, &source_table),
            ] {
                self.execute(&context, &statement, QUERY_TIMEOUT).await?;
            }
            let days_query = SqlQuery {
                sql: rollup::backfill_days(db, &source_table),
                params: Vec::new(),
            };
            let days: Vec<(u32, u32, u32, u64)> = self.fetch(&days_query, &context).await?;
            for (index, &(day, first, last, events)) in days.iter().enumerate() {
                let started = Instant::now();
                self.execute(
                    &context,
                    &rollup::drop_day(db, &source_table, day),
                    QUERY_TIMEOUT,
                )
                .await?;
                let insert = rollup::backfill_day(db, table, &source_table, day, first, last);
                self.execute(&context, &insert, BACKFILL_TIMEOUT).await?;
                progress(&BackfilledDay {
                    table: source_table.clone(),
                    day,
                    events,
                    index: index + 1,
                    of: days.len(),
                    elapsed: started.elapsed(),
                });
            }
            let mark = self
                .client
                .query(&format!(
                    "INSERT INTO {} SELECT ?, ?, now(), toUInt64(now())",
                    super::ddl::qualified(db, MARKER_TABLE)
                ))
                .bind(source_table.as_str())
                .bind(rollup::rollup_name(&source_table).as_str())
                .execute();
            self.guard(&context, Kind::Write, QUERY_TIMEOUT, mark)
                .await?;
        }
        Ok(())
    }

    /// Rollups of a sharded cluster's `Distributed` tables are refused, before
    /// anything is created: a materialized view on a Distributed table sees
    /// only the inserts sent through this one server, and the backfill would
    /// gather every shard's events into this server's rollup. Per-shard
    /// rollups need DDL on each shard, which vigil (one URL) cannot reach.
    async fn refuse_distributed_tables(&self) -> Result<(), SourceError> {
        let query = SqlQuery {
            sql: "SELECT name FROM system.tables WHERE database = ? AND engine = 'Distributed' \
                  AND (name = ? OR name = ?) ORDER BY name"
                .into(),
            params: vec![
                self.database.clone(),
                self.tables.feed_actions.clone(),
                self.tables.message_actions.clone(),
            ],
        };
        let distributed: Vec<String> = self.fetch(&query, "look for Distributed tables").await?;
        if distributed.is_empty() {
            return Ok(());
        }
        Err(SourceError::Config(format!(
            "`vigil clickhouse rollup` does not build rollups over Distributed tables ({} in \
             database {}): a rollup must be a local table and view on every shard, which vigil \
             cannot reach through one URL, so metrics keep reading the raw events through the \
             Distributed table (exact; docs/clickhouse.md, \"A sharded cluster\")",
            distributed.join(", "),
            self.database
        )))
    }

    /// The query for one metric read: from the rollup when it is ready and
    /// can answer, else from raw events (saying once per metric and
    /// dimension why a ready rollup was not used).
    pub(super) async fn metric_query(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        slice: Option<&SliceKey>,
        group_by_dimension: Option<&str>,
    ) -> Result<SqlQuery, SourceError> {
        if self.ready_rollups().await?.get(metric.table) {
            if let Some(query) =
                rollup::build(metric, &self.tables, range, slice, group_by_dimension)?
            {
                return Ok(query);
            }
            let dimension = group_by_dimension.or(slice.map(|slice| slice.dimension.as_str()));
            self.log_raw_fallback(metric, dimension);
        }
        Ok(sql::build(
            Dialect::ClickHouse,
            metric,
            &self.tables,
            range,
            slice,
            group_by_dimension,
        )?)
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
        let tables = SqlQuery {
            sql: "SELECT name FROM system.tables WHERE database = ?".into(),
            params: vec![self.database.clone()],
        };
        let names: Vec<String> = self.fetch(&tables, context).await?;
        let marked: Vec<String> = if names.iter().any(|name| name == MARKER_TABLE) {
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
        let ready = |source_table: &str| {
            let exists = |wanted: String| names.contains(&wanted);
            marked.iter().any(|name| name == source_table)
                && exists(rollup::rollup_name(source_table))
                && exists(rollup::view_name(source_table))
        };
        let found = ReadyRollups {
            feed_actions: ready(&self.tables.feed_actions),
            message_actions: ready(&self.tables.message_actions),
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

    async fn execute(
        &self,
        context: &str,
        statement: &str,
        timeout: Duration,
    ) -> Result<(), SourceError> {
        let request = self.client.query(statement).execute();
        self.guard(context, Kind::Write, timeout, request).await
    }
}
