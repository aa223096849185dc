//! `vigil state`: the state itself, apart from what is in it.
//!
//! ```text
//! vigil state migrate --to postgres://vigil@db.internal:5432/vigil
//! ```
//!
//! `migrate` copies the embedded state (`<data dir>/vigil-state.sqlite`) into
//! an empty PostgreSQL state, ids and outbox order kept, so several
//! `vigil serve` instances can share it from then on (`[state] url`). The
//! password: in the URL, or env VIGIL_STATE_PASSWORD; it is never printed.

use anyhow::bail;
use clap::{Args, Subcommand};

use super::source_args::SourceArgs;
use super::state_access::existing_state;
use crate::config::STATE_PASSWORD_ENV;
use crate::pipeline;
use crate::state::postgres::copy::sqlite_to_postgres;
use crate::state::PostgresTarget;

#[derive(Args, Debug)]
pub struct StateArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(subcommand)]
    pub command: StateCommand,
}

#[derive(Subcommand, Debug)]
pub enum StateCommand {
    /// Copy the embedded (SQLite) state into an empty PostgreSQL state.
    Migrate {
        /// The PostgreSQL state: postgres://USER@HOST:PORT/DB (password in the
        /// URL or env VIGIL_STATE_PASSWORD).
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

pub fn run(args: &StateArgs) -> anyhow::Result<()> {
    match &args.command {
        StateCommand::Migrate { to } => migrate(&args.source, to),
    }
}

fn migrate(source: &SourceArgs, to: &str) -> anyhow::Result<()> {
    let password = std::env::var(STATE_PASSWORD_ENV).ok();
    let target = PostgresTarget::parse(to, password.as_deref())
        .map_err(|reason| anyhow::anyhow!("--to: {reason}"))?;
    let config = source.load()?;
    let dir = pipeline::state_dir(&config, source.data_dir.as_deref());
    let Some(from) = existing_state(&dir)? else {
        bail!(
            "no embedded state in {}: nothing to migrate (vigil serve and vigil check create it)",
            dir.display()
        );
    };
    let copied = sqlite_to_postgres(&from, &target).map_err(anyhow::Error::msg)?;
    println!(
        "copied {} into {target}: {copied}; point [state] url (or VIGIL_STATE_URL) at it",
        from.display()
    );
    Ok(())
}
