//! `vigil ingest`: load real events (CSV or TSV files with a header row, e.g.
//! exported from ClickHouse) into the embedded store. Every file is checked
//! whole before anything is stored; a file with a bad row loads nothing, and
//! one bad file stops the command before any file is loaded. Each file goes in
//! one transaction, recorded by the SHA-256 of its bytes: the same content
//! loaded again is skipped, so a rerun never doubles events.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use sha2::{Digest, Sha256};

use super::source_args::SourceArgs;
use crate::config::SourceConfig;
use crate::ingest::{self, Format};
use crate::metrics::model::EventTable;
use crate::sources::sqlite::Ingested;
use crate::sources::SqliteStore;

#[derive(Args, Debug)]
pub struct IngestArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// The event table the files hold.
    #[arg(long, value_enum)]
    pub table: TableArg,
    /// Field format [default: tsv for .tsv and .tab files, csv otherwise].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Files with a header row naming the table's columns (in any order).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
#[value(rename_all = "snake_case")]
pub enum TableArg {
    FeedActions,
    MessageActions,
}

impl From<TableArg> for EventTable {
    fn from(table: TableArg) -> Self {
        match table {
            TableArg::FeedActions => EventTable::FeedActions,
            TableArg::MessageActions => EventTable::MessageActions,
        }
    }
}

/// A checked file, ready to store.
struct Parsed {
    name: String,
    sha256: String,
    batch: crate::events::EventBatch,
}

pub fn run(args: &IngestArgs) -> anyhow::Result<()> {
    let config = args.source.load()?;
    let SourceConfig::Sqlite(sqlite) = &config.source else {
        bail!(
            "vigil ingest loads the embedded store; the configured source is ClickHouse \
             (insert there with clickhouse-client, e.g. `INSERT INTO feed_actions FORMAT CSVWithNames`)"
        );
    };
    let table = EventTable::from(args.table);
    let mut parsed = Vec::new();
    let mut rejected = Vec::new();
    for path in &args.files {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).with_context(|| format!("reading {name}"))?;
        let format = args.format.unwrap_or_else(|| Format::from_file_name(&name));
        match ingest::parse(&bytes, table, format) {
            Ok(batch) => parsed.push(Parsed {
                sha256: format!("{:x}", Sha256::digest(&bytes)),
                name,
                batch,
            }),
            Err(problems) => {
                let mut text = format!(
                    "{name}: {} bad row(s) or header, as {format:?} of {}:",
                    problems.total,
                    table.as_str()
                );
                for problem in &problems.problems {
                    text.push_str(&format!("\n  {name}: {problem}"));
                }
                if problems.total > problems.problems.len() {
                    let more = problems.total - problems.problems.len();
                    text.push_str(&format!("\n  ... and {more} more"));
                }
                rejected.push(text);
            }
        }
    }
    if !rejected.is_empty() {
        bail!(
            "nothing loaded: {}\nFix the rows and run the command again.",
            rejected.join("\n")
        );
    }

    let store = SqliteStore::open(&sqlite.path)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    for file in parsed {
        let name = file.name.clone();
        let outcome = runtime
            .block_on(store.ingest_file(
                file.sha256,
                file.name,
                table.as_str(),
                file.batch,
                crate::times::unix_now(),
            ))
            .with_context(|| format!("loading {name} into {}", store.describe()))?;
        match outcome {
            Ingested::Loaded { events } => writeln!(
                out,
                "{name}: {events} {} events loaded into {}",
                table.as_str(),
                store.describe()
            )?,
            Ingested::AlreadyLoaded {
                file,
                events,
                ingested_at,
            } => writeln!(
                out,
                "{name}: skipped, the same content ({events} events, as {file}) was loaded on {}",
                crate::times::format_time(ingested_at)
            )?,
        }
    }
    Ok(())
}
