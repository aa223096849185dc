//! `vigil clickhouse rollup` over a sharded cluster's `Distributed` tables
//! (see [`super::cluster`]): the shards are named by their HTTP URLs (the
//! command's `--shard-url`), each URL is asked which shard it is, and every
//! shard of the cluster must be named exactly once before anything is made.
//! Then each shard gets the rollup and view of its local event table and a
//! backfill from its own events, and the servers vigil reads through get the
//! Distributed rollup over them and the ready mark.

use std::collections::BTreeMap;

use super::cluster::{self, DistributedTarget};
use super::rollup::{self, MARKER_TABLE};
use super::{BackfilledDay, ClickHouseSource, QUERY_TIMEOUT};
use crate::config::ClickHouseConfig;
use crate::metrics::model::EventTable;
use crate::metrics::sql::SqlQuery;
use crate::sources::SourceError;

/// Said by every error raised before the first statement that creates.
const NOTHING_CREATED: &str = "nothing was created on any server";

/// An event table that is a Distributed table, and what it reads.
struct ClusterTable {
    table: EventTable,
    /// Its name in the configured database (what reads name).
    name: String,
    target: DistributedTarget,
}

/// A shard named by a `--shard-url`, identified by the server itself.
struct Shard {
    num: u32,
    source: ClickHouseSource,
    /// It has the Distributed event tables, so vigil may read through it.
    reads_through: bool,
}

impl Shard {
    fn label(&self) -> String {
        format!("shard {} ({})", self.num, self.source.public_url)
    }
}

impl ClickHouseSource {
    /// [`Self::build_rollups`], with the shards of a cluster named: `shards`
    /// are the configuration with each shard's URL (same user, password and
    /// TLS files). Plain event tables: the rollups of this one server, and
    /// `shards` must be empty. Distributed event tables: per-shard rollups,
    /// and `shards` must name every shard of their cluster once.
    pub async fn build_rollups_with_shards(
        &self,
        shards: &[ClickHouseConfig],
        progress: &mut dyn FnMut(&BackfilledDay),
    ) -> Result<(), SourceError> {
        let tables = self.distributed_event_tables().await?;
        let Some(first) = tables.first() else {
            if !shards.is_empty() {
                return Err(SourceError::Config(format!(
                    "--shard-url names the shards of a cluster, but {} and {} in {} are not \
                     Distributed tables; leave --shard-url out to build the rollups on this \
                     server; {NOTHING_CREATED}",
                    self.tables.feed_actions,
                    self.tables.message_actions,
                    self.describe()
                )));
            }
            return self.build_local_rollups(progress).await;
        };
        let cluster_name = first.target.cluster.clone();
        let expected = self.cluster_shards(&cluster_name).await?;
        if shards.is_empty() {
            let listed: Vec<String> = expected
                .iter()
                .map(|(num, _, address)| format!("shard {num} at {address}"))
                .collect();
            return Err(SourceError::Config(format!(
                "`vigil clickhouse rollup` over Distributed tables ({}, {} in database {}) \
                 needs every shard named: a rollup must be a local table and view on every \
                 shard of cluster {cluster_name} ({}), which vigil reaches through each \
                 shard's HTTP URL; pass --shard-url URL once per shard (docs/clickhouse.md, \
                 \"Rollups on a sharded cluster\"); {NOTHING_CREATED}, so metrics keep \
                 reading the raw events through the Distributed tables",
                self.tables.feed_actions,
                self.tables.message_actions,
                self.database,
                listed.join(", ")
            )));
        }
        if let Some((num, replicas, _)) = expected.iter().find(|(_, replicas, _)| *replicas > 1) {
            return Err(SourceError::Config(format!(
                "shard {num} of cluster {cluster_name} has {replicas} replicas: vigil builds \
                 per-shard rollups on single-replica shards only (a replicated shard would \
                 need a replicated rollup table on each replica); {NOTHING_CREATED}"
            )));
        }
        let shards = self.identify_shards(shards, &tables, &expected).await?;
        self.build_on_shards(&shards, &tables, progress).await
    }

    /// The event tables that are Distributed tables: both or neither, over
    /// one cluster.
    async fn distributed_event_tables(&self) -> Result<Vec<ClusterTable>, SourceError> {
        let query = SqlQuery {
            sql: cluster::SELECT_DISTRIBUTED.into(),
            params: vec![
                self.database.clone(),
                self.tables.feed_actions.clone(),
                self.tables.message_actions.clone(),
            ],
        };
        let found: Vec<(String, String)> =
            self.fetch(&query, "look for Distributed tables").await?;
        let mut tables = Vec::new();
        for (table, name) in [
            (EventTable::FeedActions, &self.tables.feed_actions),
            (EventTable::MessageActions, &self.tables.message_actions),
        ] {
            if let Some((_, engine)) = found.iter().find(|(found, _)| found == name) {
                let target = cluster::parse_distributed(engine).map_err(|reason| {
                    SourceError::Config(format!("{name} in database {}: {reason}", self.database))
                })?;
                tables.push(ClusterTable {
                    table,
                    name: name.clone(),
                    target,
                });
            }
        }
        let one_cluster = tables
            .windows(2)
            .all(|pair| pair[0].target.cluster == pair[1].target.cluster);
        if tables.len() == 1 || !one_cluster {
            let described: Vec<String> = tables
                .iter()
                .map(|t| format!("{} over cluster {}", t.name, t.target.cluster))
                .collect();
            return Err(SourceError::Config(format!(
                "{} and {} in database {} must both be Distributed tables over one cluster, \
                 or both plain tables (found {}); {NOTHING_CREATED}",
                self.tables.feed_actions,
                self.tables.message_actions,
                self.database,
                described.join(", ")
            )));
        }
        Ok(tables)
    }

    /// `(shard_num, replicas, host:port)` of each shard of `cluster_name`.
    async fn cluster_shards(
        &self,
        cluster_name: &str,
    ) -> Result<Vec<(u32, u32, String)>, SourceError> {
        let query = SqlQuery {
            sql: cluster::SELECT_SHARDS.into(),
            params: vec![cluster_name.to_string()],
        };
        let shards: Vec<(u32, u32, String)> = self.fetch(&query, "list the shards").await?;
        if shards.is_empty() {
            return Err(SourceError::Config(format!(
                "the Distributed tables read cluster {cluster_name}, which {} does not know \
                 (system.clusters; remote_servers in its config); {NOTHING_CREATED}",
                self.describe()
            )));
        }
        Ok(shards)
    }

    /// Ask each URL which shard it is; every shard of `expected` once.
    async fn identify_shards(
        &self,
        configs: &[ClickHouseConfig],
        tables: &[ClusterTable],
        expected: &[(u32, u32, String)],
    ) -> Result<BTreeMap<u32, Shard>, SourceError> {
        let cluster_name = &tables[0].target.cluster;
        let mut shards: BTreeMap<u32, Shard> = BTreeMap::new();
        for config in configs {
            let config = ClickHouseConfig {
                database: tables[0].target.database.clone(),
                ..config.clone()
            };
            let source = ClickHouseSource::new(&config)?;
            let label = format!("--shard-url {}", source.public_url);
            let on_shard = |error| at_shard(&label, error, NOTHING_CREATED);
            let query = SqlQuery {
                sql: cluster::SELECT_LOCAL_SHARD.into(),
                params: vec![cluster_name.clone()],
            };
            let local: Vec<u32> = source
                .fetch(&query, "which shard")
                .await
                .map_err(on_shard)?;
            let Some(&num) = local.first() else {
                return Err(SourceError::Config(format!(
                    "{label} is not a shard of cluster {cluster_name}: its system.clusters \
                     names no replica of that cluster as itself; {NOTHING_CREATED}"
                )));
            };
            if let Some(other) = shards.get(&num) {
                return Err(SourceError::Config(format!(
                    "{label} and --shard-url {} are both shard {num} of cluster \
                     {cluster_name}; {NOTHING_CREATED}",
                    other.source.public_url
                )));
            }
            let local_tables = source
                .tables_of(&config.database, "look for the local tables")
                .await
                .map_err(on_shard)?;
            let has = |name: &str| local_tables.iter().any(|(table, _)| table == name);
            if let Some(missing) = tables.iter().find(|t| !has(&t.target.table)) {
                return Err(SourceError::Config(format!(
                    "shard {num} ({label}) has no table {}.{} (what {} reads); {NOTHING_CREATED}",
                    missing.target.database, missing.target.table, missing.name
                )));
            }
            let reading = source
                .tables_of(&self.database, "look for the Distributed tables")
                .await
                .map_err(on_shard)?;
            let reads_through = tables
                .iter()
                .all(|t| reading.iter().any(|(table, _)| table == &t.name));
            shards.insert(
                num,
                Shard {
                    num,
                    source,
                    reads_through,
                },
            );
        }
        let missing: Vec<String> = expected
            .iter()
            .filter(|(num, _, _)| !shards.contains_key(num))
            .map(|(num, _, address)| format!("shard {num} ({address})"))
            .collect();
        if !missing.is_empty() {
            return Err(SourceError::Config(format!(
                "no --shard-url for {} of cluster {cluster_name}: every shard needs its own \
                 rollup, or reads through the Distributed rollup would miss its events; \
                 {NOTHING_CREATED}",
                missing.join(", ")
            )));
        }
        Ok(shards)
    }

    /// Every shard's local rollups (backfilled from its own events), then on
    /// each server vigil reads through (this one, and every shard holding the
    /// Distributed event tables) the Distributed rollups and the ready mark.
    async fn build_on_shards(
        &self,
        shards: &BTreeMap<u32, Shard>,
        tables: &[ClusterTable],
        progress: &mut dyn FnMut(&BackfilledDay),
    ) -> Result<(), SourceError> {
        let mut built: Vec<String> = Vec::new();
        for shard in shards.values() {
            for table in tables {
                let target = &table.target;
                shard
                    .source
                    .rollup_table(
                        &target.database,
                        table.table,
                        &target.table,
                        Some(shard.num),
                        progress,
                    )
                    .await
                    .map_err(|error| {
                        at_shard(
                            &shard.label(),
                            error,
                            &interrupted(&built, "its local rollups"),
                        )
                    })?;
            }
            built.push(format!("shard {}", shard.num));
        }
        let readers: Vec<(String, &ClickHouseSource)> = shards
            .values()
            .filter(|shard| shard.reads_through)
            .map(|shard| (shard.label(), &shard.source))
            .chain([(format!("the configured server ({})", self.public_url), self)])
            .collect();
        let db = &self.database;
        for (label, reader) in &readers {
            let mut statements = vec![rollup::create_marker(db)];
            for table in tables {
                statements.push(cluster::create_distributed_rollup(
                    db,
                    &table.name,
                    &table.target,
                ));
            }
            for statement in statements {
                reader
                    .execute("create the Distributed rollup", &statement, QUERY_TIMEOUT)
                    .await
                    .map_err(|error| {
                        at_shard(
                            label,
                            error,
                            &interrupted(&built, "the Distributed rollups"),
                        )
                    })?;
            }
        }
        for (label, reader) in &readers {
            for table in tables {
                reader
                    .mark_ready(db, &table.name, &rollup::rollup_name(&table.name))
                    .await
                    .map_err(|error| {
                        at_shard(
                            label,
                            error,
                            &interrupted(&built, &format!("its {MARKER_TABLE} row")),
                        )
                    })?;
            }
        }
        Ok(())
    }
}

/// What an interrupted build leaves, for the error.
fn interrupted(built: &[String], making: &str) -> String {
    let done = if built.is_empty() {
        "no shard".to_string()
    } else {
        built.join(", ")
    };
    format!(
        "stopped while making {making}; the local rollups of {done} are built; reads use \
         the rollup only once a run has finished on every server (until then the raw events, \
         or an earlier finished run's rollup with any day this run was rebuilding missing): \
         rerun the command when the server is back, it keeps what exists and rebuilds every day"
    )
}

/// `error` of the server `label`, saying what state the cluster is left in.
fn at_shard(label: &str, error: SourceError, state: &str) -> SourceError {
    match error {
        SourceError::Unreachable { target, reason } => SourceError::Unreachable {
            target: format!("{label}: {target}"),
            reason: format!("{reason}; {state}"),
        },
        other => SourceError::Write {
            context: label.to_string(),
            reason: format!("{other}; {state}"),
        },
    }
}
