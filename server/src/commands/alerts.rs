//! `vigil alerts`: the alert history and silences from the command line.
//!
//! ```text
//! vigil alerts list [--metric feed_views] [--state firing] [--limit 50]
//! vigil alerts silence --metric feed_views [--slice os=Android] --for 2h [--by ann]
//! vigil alerts silence --all --for 30m
//! vigil alerts silences
//! vigil alerts unsilence 3
//! ```
//!
//! A muted alert is still recorded (and shown here and in the UI); it is not sent.

use std::io::Write;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

use super::source_args::SourceArgs;
use super::state_access::existing_state;
use crate::alerts::silence_scope::silence_scope;
use crate::alerts::SilenceScope;
use crate::csv_series::csv_cell;
use crate::metrics::model::SliceKey;
use crate::pipeline;
use crate::state::AlertStatus;
use crate::state::{HistoryFilter, StateLocation};
use crate::times::format_time;

#[derive(Args, Debug)]
pub struct AlertsArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(subcommand)]
    pub command: AlertsCommand,
}

#[derive(Subcommand, Debug)]
pub enum AlertsCommand {
    /// Print the alert history as CSV, newest first.
    List {
        #[arg(long)]
        metric: Option<String>,
        /// `firing` or `resolved`.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Mute a metric, a slice of it, or everything, for a while.
    Silence {
        /// The metric to mute (whole and all its slices, unless --slice).
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        metric: Option<String>,
        /// Only this slice, as DIMENSION=VALUE (e.g. os=Android).
        #[arg(long, requires = "metric")]
        slice: Option<String>,
        /// Mute every metric.
        #[arg(long)]
        all: bool,
        /// How long: e.g. 30m, 2h, 1d.
        #[arg(long = "for", value_name = "DURATION")]
        duration: String,
        /// Who mutes (recorded with the silence).
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// List the silences in force.
    Silences,
    /// End a silence early.
    Unsilence { id: i64 },
}

pub fn run(args: &AlertsArgs) -> anyhow::Result<()> {
    let config = args.source.load()?;
    let dir = pipeline::state_dir(&config, args.source.data_dir.as_deref());
    // Nothing is created in a directory that does not exist (a typo); an
    // existing one without state yet has simply recorded nothing.
    let location = pipeline::location_in(&config, &dir);
    let existing = match &location {
        StateLocation::Sqlite(_) => existing_state(&dir)?.map(StateLocation::Sqlite),
        StateLocation::Postgres(_) => Some(location.clone()),
    };
    let mut store = existing.as_ref().map(crate::state::open).transpose()?;
    let now = crate::times::unix_now();
    let mut out = std::io::stdout().lock();
    match &args.command {
        AlertsCommand::List {
            metric,
            state,
            limit,
        } => {
            let status = state
                .as_deref()
                .map(AlertStatus::parse)
                .transpose()
                .map_err(|reason| anyhow::anyhow!("--{reason}"))?;
            if let Some(metric) = metric {
                config.catalogue()?.get(metric)?;
            }
            let filter = HistoryFilter {
                metric: metric.clone(),
                status,
                ..HistoryFilter::default()
            };
            writeln!(
                out,
                "id,started,metric,slice,value,lower,upper,deviation,state,resolved,muted,delivery,label,label_by"
            )?;
            let cell = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
            let alerts = match &store {
                Some(store) => store.history(&filter, *limit)?,
                None => Vec::new(),
            };
            for alert in alerts {
                let slice = alert
                    .slice
                    .as_ref()
                    .map(|s| format!("{}={}", s.dimension, s.value))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                    alert.id,
                    format_time(alert.started_at),
                    alert.metric,
                    csv_cell(&slice),
                    cell(alert.value),
                    cell(alert.lower),
                    cell(alert.upper),
                    cell(alert.deviation),
                    alert.status.as_str(),
                    alert.resolved_at.map(format_time).unwrap_or_default(),
                    u8::from(alert.muted),
                    alert.delivery,
                    alert.label.map(|l| l.as_str()).unwrap_or_default(),
                    csv_cell(alert.label_by.as_deref().unwrap_or_default()),
                )?;
            }
        }
        AlertsCommand::Silence {
            metric,
            slice,
            all,
            duration,
            by,
        } => {
            let secs = parse_duration(duration).with_context(|| format!("--for {duration:?}"))?;
            let catalogue = config.catalogue()?;
            // `--all` conflicts with --metric (clap), so no metric means all.
            let def = match metric {
                Some(metric) if !all => Some(catalogue.get(metric)?),
                _ => None,
            };
            let slice = slice
                .as_deref()
                .map(SliceKey::parse)
                .transpose()
                .map_err(|reason| anyhow::anyhow!("--slice: {reason}"))?;
            // The web form's check: a slice the metric is not split by never matches.
            let scope =
                silence_scope(def, slice).map_err(|reason| anyhow::anyhow!("--slice: {reason}"))?;
            // Silencing before the first check is fine: the directory exists.
            let mut store = match store.take() {
                Some(store) => store,
                None => crate::state::open(&location)?,
            };
            let silence = store.silence(scope, now + secs, by, now)?;
            writeln!(
                out,
                "silence {} until {} UTC",
                silence.id,
                format_time(silence.until)
            )?;
        }
        AlertsCommand::Silences => {
            writeln!(out, "id,scope,metric,slice,until,created_by")?;
            let silences = match &store {
                Some(store) => store.active_silences(now)?,
                None => Vec::new(),
            };
            for silence in silences {
                let (scope, metric, slice) = match &silence.scope {
                    SilenceScope::All => ("all", String::new(), String::new()),
                    SilenceScope::Metric { metric } => ("metric", metric.clone(), String::new()),
                    SilenceScope::Slice { metric, slice } => (
                        "slice",
                        metric.clone(),
                        slice
                            .as_ref()
                            .map(|s| format!("{}={}", s.dimension, s.value))
                            .unwrap_or_default(),
                    ),
                };
                writeln!(
                    out,
                    "{},{scope},{metric},{},{},{}",
                    silence.id,
                    csv_cell(&slice),
                    format_time(silence.until),
                    csv_cell(&silence.created_by)
                )?;
            }
        }
        AlertsCommand::Unsilence { id } => {
            let Some(store) = &mut store else {
                bail!(
                    "no silence {id}: nothing is recorded in {} yet",
                    dir.display()
                );
            };
            store.end_silence(*id, now)?;
            writeln!(out, "silence {id} ended")?;
        }
    }
    Ok(())
}

/// `30m`, `2h`, `1d` -> seconds (at most a year).
pub fn parse_duration(text: &str) -> anyhow::Result<i64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .context("expected a number and a unit, e.g. 30m, 2h, 1d")?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number
        .parse()
        .context("expected a number and a unit, e.g. 30m, 2h, 1d")?;
    let unit_secs = match unit {
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => bail!("unknown unit {unit:?}: use m, h or d"),
    };
    let secs = number
        .checked_mul(unit_secs)
        .filter(|s| (1..=366 * 86_400).contains(s))
        .context("expected a duration between 1 minute and a year")?;
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m").unwrap(), 1800);
        assert_eq!(parse_duration("2h").unwrap(), 7200);
        assert_eq!(parse_duration("1d").unwrap(), 86_400);
        assert!(parse_duration("0m").is_err());
        assert!(parse_duration("5y").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("99999999999999999d").is_err());
    }
}
