//! `vigil clickhouse rollup`: create (or rebuild) the 15-minute rollups of the
//! configured ClickHouse source's event tables, printing a line per day
//! backfilled. Reads then use them (see `sources::clickhouse::rollup`). On a
//! sharded cluster, `--shard-url` names each shard (`sources::clickhouse::cluster`).

use std::io::Write;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

use super::source_args::SourceArgs;
use crate::config::{ClickHouseConfig, SourceConfig};
use crate::sources::clickhouse::BackfilledDay;
use crate::sources::ClickHouseSource;

#[derive(Args, Debug)]
pub struct ClickhouseArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(subcommand)]
    pub command: ClickhouseCommand,
}

#[derive(Subcommand, Debug)]
pub enum ClickhouseCommand {
    /// Create the 15-minute rollup table and materialized view per event table,
    /// and rebuild them from the raw events one day per INSERT (safe to rerun).
    Rollup(RollupArgs),
}

#[derive(Args, Debug)]
pub struct RollupArgs {
    /// On a sharded cluster (Distributed event tables): the HTTP(S) URL of a
    /// shard, once per shard of the cluster (same user, password and TLS
    /// files as [source]); each gets the rollup of its local tables.
    #[arg(long = "shard-url", value_name = "URL")]
    pub shard_urls: Vec<String>,
}

pub fn run(args: &ClickhouseArgs) -> anyhow::Result<()> {
    let config = args.source.load()?;
    let SourceConfig::ClickHouse(clickhouse) = &config.source else {
        bail!(
            "vigil clickhouse: the configured source is the embedded store; \
             point --config at a file with [source] kind = \"clickhouse\""
        );
    };
    let source = ClickHouseSource::new(clickhouse)?;
    match &args.command {
        ClickhouseCommand::Rollup(rollup_args) => {
            let shards: Vec<ClickHouseConfig> = rollup_args
                .shard_urls
                .iter()
                .map(|url| ClickHouseConfig {
                    url: url.clone(),
                    ..clickhouse.clone()
                })
                .collect();
            rollup(&source, &shards)
        }
    }
}

fn rollup(source: &ClickHouseSource, shards: &[ClickHouseConfig]) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut write_error = None;
    let mut progress = |done: &BackfilledDay| {
        let shard = done
            .shard
            .map(|shard| format!("shard {shard}: "))
            .unwrap_or_default();
        let line = writeln!(
            out,
            "{shard}{}: day {}-{:02}-{:02} ({} events) rolled up in {:.2}s [{}/{}]",
            done.table,
            done.day / 10_000,
            done.day / 100 % 100,
            done.day % 100,
            done.events,
            done.elapsed.as_secs_f64(),
            done.index,
            done.of
        );
        if let Err(error) = line {
            write_error.get_or_insert(error);
        }
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime
        .block_on(source.build_rollups_with_shards(shards, &mut progress))
        .with_context(|| format!("building rollups in {}", source.describe()))?;
    if let Some(error) = write_error {
        return Err(error).context("writing progress to stdout");
    }
    writeln!(
        out,
        "rollups ready in {}: vigil commands started from now on read them \
         (a running `vigil serve` once restarted)",
        source.describe()
    )?;
    Ok(())
}
