//! `vigil simulate`: fill the embedded SQLite store (default) or ClickHouse with
//! simulated history, and print how many events were written and how fast.

use std::path::PathBuf;

use std::io::Write;

use anyhow::Context;
use clap::Args;

use crate::config::{ClickHouseConfig, Config, Secret, SourceConfig, SqliteConfig, PASSWORD_ENV};
use crate::metrics::model::TableNames;
use crate::sources::Source;

#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Days of history up to now (default: config or 14).
    #[arg(long)]
    pub days: Option<u32>,
    /// Number of simulated users (default: config or 2000).
    #[arg(long)]
    pub users: Option<u32>,
    /// Seed: the same seed gives the same users, events and incidents.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Spread the users over N synthetic cities (`City 00001`, ...) instead
    /// of the 15 real ones: thousands of city slices (default: the real ones).
    #[arg(long, value_name = "N")]
    pub cities: Option<u32>,
    /// Directory of the embedded store (`DIR/vigil.sqlite`); default from config or ./data.
    #[arg(long, conflicts_with = "clickhouse_url")]
    pub data_dir: Option<PathBuf>,
    /// Delete the embedded store first instead of only catching up to now.
    #[arg(long, conflicts_with = "clickhouse_url")]
    pub reset: bool,
    /// Generate history up to TIME instead of now (same formats as `vigil series --from`).
    /// With the same seed and TIME, the events and incidents are the same on every run.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Write to ClickHouse at this HTTP URL instead (tables are created if absent).
    #[arg(long, value_name = "URL")]
    pub clickhouse_url: Option<String>,
    /// ClickHouse database.
    #[arg(long, default_value = "default", requires = "clickhouse_url")]
    pub database: String,
    /// ClickHouse user.
    #[arg(long, default_value = "default", requires = "clickhouse_url")]
    pub user: String,
    /// Name of the environment variable holding the ClickHouse password
    /// [default: VIGIL_CLICKHOUSE_PASSWORD, optional]; a variable named here must be set.
    #[arg(long, value_name = "VAR", requires = "clickhouse_url")]
    pub password_env: Option<String>,
    /// Config file supplying `[simulator]` defaults and the source.
    #[arg(long, env = "VIGIL_CONFIG")]
    pub config: Option<PathBuf>,
}

/// The password from `--password-env VAR` (an error when VAR is unset: a
/// typo must not silently connect without a password), else from
/// VIGIL_CLICKHOUSE_PASSWORD when set.
fn clickhouse_password(named: Option<&str>) -> anyhow::Result<Option<String>> {
    match named {
        Some(var) => match std::env::var(var) {
            Ok(password) => Ok(Some(password)),
            Err(std::env::VarError::NotPresent) => {
                anyhow::bail!("--password-env {var}: the environment variable {var} is not set")
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                anyhow::bail!("--password-env {var}: the environment variable {var} is not UTF-8")
            }
        },
        None => Ok(std::env::var(PASSWORD_ENV).ok()),
    }
}

pub fn run(args: &SimulateArgs) -> anyhow::Result<()> {
    let config = Config::load_or_default(args.config.as_deref())?;
    let mut simulator = config.simulator.clone();
    simulator.users = args.users.unwrap_or(simulator.users);
    simulator.days = args.days.unwrap_or(simulator.days);
    simulator.seed = args.seed.unwrap_or(simulator.seed);
    anyhow::ensure!(simulator.users >= 2, "--users: need at least 2 users");
    anyhow::ensure!(
        (1..=366).contains(&simulator.days),
        "--days: expected 1..=366"
    );
    // Parsed before anything is deleted or created: a bad --now changes nothing.
    let now = match &args.now {
        Some(text) => crate::times::parse_time(text, crate::times::unix_now())
            .with_context(|| format!("--now {text:?}"))?,
        None => crate::times::unix_now(),
    };

    let source_config = if let Some(url) = &args.clickhouse_url {
        SourceConfig::ClickHouse(ClickHouseConfig {
            url: url.clone(),
            database: args.database.clone(),
            user: args.user.clone(),
            password: clickhouse_password(args.password_env.as_deref())?.map(Secret::new),
            tables: TableNames::default(),
            // https:// is verified against the system's root certificates.
            tls: Default::default(),
        })
    } else if let Some(dir) = &args.data_dir {
        SourceConfig::Sqlite(SqliteConfig {
            path: dir.join("vigil.sqlite"),
        })
    } else {
        config.source.clone()
    };
    if let (true, SourceConfig::Sqlite(sqlite)) = (args.reset, &source_config) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = sqlite.path.clone().into_os_string();
            path.push(suffix);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => {
                    return Err(error).with_context(|| format!("--reset: removing {path:?}"))
                }
            }
        }
    }

    let source = Source::open(&source_config)?;
    // Write errors (a closed pipe) end the command with an error, never a panic.
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime
        .block_on(crate::simulator::fill_history_in_cities(
            &source,
            &simulator,
            now,
            args.cities.unwrap_or(0),
        ))
        .with_context(|| format!("simulating into {}", source.describe()))?;
    if report.events() == 0 {
        writeln!(
            out,
            "{} is already up to date (newest event within the last second); nothing written",
            source.describe()
        )?;
        return Ok(());
    }
    writeln!(
            out,
        "wrote {} events ({} feed, {} messages) and {} incidents, {} experiments to {} covering {} .. {} in {:.2}s: {:.0} events/s",
        report.events(),
        report.feed_events,
        report.message_events,
        report.incidents,
        report.experiments,
        source.describe(),
        crate::times::format_time(report.from),
        crate::times::format_time(report.to),
        report.elapsed.as_secs_f64(),
        report.events_per_second()
    )?;
    let range = crate::metrics::model::TimeRange {
        from: report.from,
        to: report.to,
    };
    let incidents = runtime
        .block_on(source.incidents(range))
        .context("reading the labelled incidents back")?;
    for incident in incidents {
        let slice = match (&incident.slice_dimension, &incident.slice_value) {
            (Some(dimension), Some(value)) => format!(" [{dimension}={value}]"),
            _ => String::new(),
        };
        writeln!(
            out,
            "incident {}: {} {}{slice} {} .. {}: {}",
            incident.id,
            incident.kind.as_str(),
            incident.metric,
            crate::times::format_time(incident.start),
            crate::times::format_time(incident.end),
            incident.description
        )?;
    }
    Ok(())
}
