//! Command-line surface of `vigil` (clap) and logging setup.

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::{
    alerts::AlertsArgs, check::CheckArgs, config::ConfigArgs, detect::DetectArgs, eval::EvalArgs,
    series::SeriesArgs, serve::ServeArgs, simulate::SimulateArgs, tune::TuneArgs,
};

#[derive(Parser, Debug)]
#[command(name = "vigil", version, about = "Anomaly alerts for product metrics")]
pub struct Cli {
    #[command(flatten)]
    pub log: LogArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the web UI on the embedded default (simulator + SQLite) or the configured source.
    Serve(ServeArgs),
    /// Check every metric and slice once (newest bucket, or --at), send the alerts, and exit.
    Check(CheckArgs),
    /// Alert history and silences (`vigil alerts list|silence|silences|unsilence`).
    Alerts(AlertsArgs),
    /// Work with the config file (`vigil config check`).
    Config(ConfigArgs),
    /// Run a detector over a CSV series and write the bands and anomalies as CSV.
    Detect(DetectArgs),
    /// Score detectors on labelled incidents (synthetic benchmark or a labelled CSV).
    Eval(EvalArgs),
    /// Print one metric's complete 15-minute buckets as `timestamp,value` CSV from the configured source.
    Series(SeriesArgs),
    /// Fill the embedded store (or ClickHouse) with simulated product events.
    Simulate(SimulateArgs),
    /// Search each detector's parameters on a metric's history against its labels.
    Tune(TuneArgs),
}

#[derive(Args, Debug)]
pub struct LogArgs {
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human, env = "VIGIL_LOG_FORMAT")]
    pub log_format: LogFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

/// Logs go to stderr so that commands writing CSV to stdout stay pipeable.
/// The level comes from `RUST_LOG` (default `info`).
pub fn init_logging(args: &LogArgs) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
