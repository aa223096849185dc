//! `vigil clickhouse rollup`: create (or rebuild) the 15-minute rollups of the
//! configured ClickHouse source's event tables, printing a line per day
//! backfilled. Reads then use them (see `sources::clickhouse::rollup`).

use std::io::Write;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

use super::source_args::SourceArgs;
use crate::config::SourceConfig;
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
    Rollup,
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
    match args.command {
        ClickhouseCommand::Rollup => rollup(&source),
    }
}

fn rollup(source: &ClickHouseSource) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut write_error = None;
    let mut progress = |done: &BackfilledDay| {
        let line = writeln!(
            out,
            "{}: day {}-{:02}-{:02} ({} events) rolled up in {:.2}s [{}/{}]",
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
        .block_on(source.build_rollups(&mut progress))
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
