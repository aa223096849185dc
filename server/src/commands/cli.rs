//! Command-line surface of `vigil` (clap) and logging setup.

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::{
    alerts::AlertsArgs, check::CheckArgs, clickhouse::ClickhouseArgs, config::ConfigArgs,
    detect::DetectArgs, eval::EvalArgs, ingest::IngestArgs, replay::ReplayArgs, report::ReportArgs,
    series::SeriesArgs, serve::ServeArgs, simulate::SimulateArgs, state::StateArgs,
    train::TrainArgs, tune::TuneArgs,
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
    /// What the checks of a past span would have sent (from a fresh alert state; sends nothing).
    Replay(ReplayArgs),
    /// The morning report once (--date, default yesterday): sent once per day and chat, or printed with --dry-run.
    Report(ReportArgs),
    /// Alert history and silences (`vigil alerts list|silence|silences|unsilence`).
    Alerts(AlertsArgs),
    /// Work with the config file (`vigil config check`).
    Config(ConfigArgs),
    /// Work with vigil's own state (`vigil state migrate --to postgres://...`).
    State(StateArgs),
    /// ClickHouse upkeep (`vigil clickhouse rollup`: pre-aggregated 15-minute rollups).
    Clickhouse(ClickhouseArgs),
    /// Run a detector over a CSV series and write the bands and anomalies as CSV.
    Detect(DetectArgs),
    /// Score detectors on labelled incidents (synthetic benchmark or a labelled CSV).
    Eval(EvalArgs),
    /// Print one metric's complete 15-minute buckets as `timestamp,value` CSV from the configured source.
    Series(SeriesArgs),
    /// Fill the embedded store (or ClickHouse) with simulated product events.
    Simulate(SimulateArgs),
    /// Load real events (CSV/TSV files with a header row) into the embedded store.
    Ingest(IngestArgs),
    /// Train the learned detector's model on synthetic incidents and a store's labels.
    Train(TrainArgs),
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
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let colour = use_colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        // Scrubbed of every known secret, whichever crate logs it.
        .with_writer(|| crate::redact::ScrubbedStderr);
    match args.log_format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Colour codes only for a person at a terminal: a log redirected to a file or
/// a pipe stays plain text, and a non-empty `NO_COLOR` (no-color.org) turns
/// colour off everywhere.
fn use_colour(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|value| value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(!use_colour(false, None), "redirected");
        assert!(!use_colour(true, Some("1".as_ref())));
        assert!(
            use_colour(true, Some("".as_ref())),
            "empty NO_COLOR is unset"
        );
    }

    #[test]
    fn shared_alerts_flags_go_on_either_side_of_the_subcommand() {
        for args in [
            ["vigil", "alerts", "list", "--data-dir", "d"],
            ["vigil", "alerts", "--data-dir", "d", "list"],
        ] {
            let cli = Cli::try_parse_from(args).expect("parses");
            let Command::Alerts(alerts) = cli.command else {
                panic!("alerts");
            };
            assert_eq!(alerts.source.data_dir.as_deref(), Some("d".as_ref()));
        }
        let cli = Cli::try_parse_from(["vigil", "alerts", "silences", "--config", "v.toml"])
            .expect("parses");
        let Command::Alerts(alerts) = cli.command else {
            panic!("alerts");
        };
        assert_eq!(alerts.source.config.as_deref(), Some("v.toml".as_ref()));
    }
}
