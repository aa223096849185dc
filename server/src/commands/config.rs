//! `vigil config check`: validate a config file and list every problem, each
//! with the file, the key path and the reason. `serve` refuses an invalid file
//! with the same messages.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::config::{Config, SourceConfig};

#[derive(Args, Debug)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Validate a config file: prints a summary when valid, every problem when not.
    Check {
        /// The file to check.
        #[arg(long, env = "VIGIL_CONFIG")]
        config: PathBuf,
    },
}

pub fn run(args: &ConfigArgs) -> anyhow::Result<()> {
    match &args.command {
        ConfigCommand::Check { config } => check(config),
    }
}

fn check(path: &std::path::Path) -> anyhow::Result<()> {
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(error) => {
            let count = error.problems().len();
            for problem in error.problems() {
                eprintln!("{problem}");
            }
            anyhow::bail!(
                "{} has {count} problem{}",
                path.display(),
                if count == 1 { "" } else { "s" }
            );
        }
    };
    let catalogue = config.catalogue()?;
    let source = match &config.source {
        SourceConfig::Sqlite(sqlite) => format!("sqlite {}", sqlite.path.display()),
        // The database and user are not secret; the password is never printed,
        // and the URL only without userinfo (the config refuses it there anyway).
        SourceConfig::ClickHouse(ch) => format!(
            "clickhouse {} database {} user {} (password {})",
            crate::config::clickhouse_url::public_url(&ch.url)
                .unwrap_or_else(|_| "(invalid URL)".into()),
            ch.database,
            ch.user,
            if ch.password.is_some() {
                "set"
            } else {
                "not set"
            }
        ),
    };
    let telegram = &config.alerting.telegram;
    let alerts_to = if telegram.enabled() {
        format!(
            "Telegram ({} chat{}, token set)",
            telegram.chats.len() + usize::from(telegram.default_chat.is_some()),
            if telegram.chats.len() + usize::from(telegram.default_chat.is_some()) == 1 {
                ""
            } else {
                "s"
            }
        )
    } else {
        "the log (no Telegram token or chat)".to_string()
    };
    // Host, port, database and user; never the password.
    let state = match &config.state.postgres {
        Some(target) => target.shown().to_string(),
        None => "embedded (sqlite in the data directory)".to_string(),
    };
    let report = if config.report.enabled {
        let minutes = config.report.time_minutes;
        format!("morning report at {:02}:{:02}", minutes / 60, minutes % 60)
    } else {
        "no morning report".to_string()
    };
    println!(
        "{}: ok: source {source}; {} metrics ({} from the file); default detector {}; alerts to {alerts_to}; state {state}; {report}",
        path.display(),
        catalogue.metrics().len(),
        config.metrics.len(),
        config.alerting.detectors.default.name(),
    );
    Ok(())
}
