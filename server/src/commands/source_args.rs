//! Options every command that reads the configured source shares.

use std::path::PathBuf;

use clap::Args;

use crate::config::{Config, SourceConfig};

/// Global, so that commands with subcommands take them on either side
/// (`vigil alerts --data-dir d list` and `vigil alerts list --data-dir d`).
#[derive(Args, Debug, Clone)]
pub struct SourceArgs {
    /// Config file (default: the embedded simulator writing to SQLite).
    #[arg(long, global = true, env = "VIGIL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory of the embedded store; overrides the config's SQLite path with DIR/vigil.sqlite.
    #[arg(long, global = true, env = "VIGIL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

impl SourceArgs {
    /// The validated config, with `--data-dir` applied to an SQLite source.
    /// Creates nothing: the writers (`serve`, `simulate`) create the store
    /// and its directory when they open it, the readers must find it.
    pub fn load(&self) -> anyhow::Result<Config> {
        let mut config = Config::load_or_default(self.config.as_deref())?;
        // Whatever this command prints, logs or serves is scrubbed of them.
        if let Some(token) = &config.alerting.telegram.token {
            crate::redact::register(token.expose());
        }
        if let SourceConfig::ClickHouse(clickhouse) = &config.source {
            if let Some(password) = &clickhouse.password {
                crate::redact::register(password.expose());
            }
        }
        if let (Some(dir), SourceConfig::Sqlite(sqlite)) = (&self.data_dir, &mut config.source) {
            sqlite.path = dir.join("vigil.sqlite");
        }
        // Process-wide too: when the experiments' running sums take rows as final.
        crate::sources::experiment_sums::configure(&config.alerting.schedule);
        Ok(config)
    }
}
