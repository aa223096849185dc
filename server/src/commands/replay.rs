//! `vigil replay`: what the live checks of a past span would have sent, from
//! a fresh alert state, without touching the state or sending anything. Runs
//! the check's own decision ([`crate::check::replay`]) per metric over the
//! configured source, with the config's detectors (and the lab's applied
//! settings), floor, lifecycle and silences. Prints one CSV row per
//! notification on stdout and a summary on stderr: try a detector config on
//! last week before a team gets its messages.

use std::io::Write;

use anyhow::Context;
use clap::Args;

use super::source_args::SourceArgs;
use crate::check::plan;
use crate::check::replay::replay_metric;
use crate::metrics::model::BUCKET_SECONDS;
use crate::sources::Source;
use crate::times::{format_time, parse_time};

#[derive(Args, Debug)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// First bucket to check (same formats as `vigil series --from`).
    #[arg(long, value_name = "TIME")]
    pub from: String,
    /// Check up to the bucket complete at TIME (default: now).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Replay only these metrics (repeatable; default: all).
    #[arg(long = "metric", value_name = "NAME")]
    pub metrics: Vec<String>,
}

pub fn run(args: &ReplayArgs) -> anyhow::Result<()> {
    let config = args.source.load()?;
    let catalogue = config.catalogue()?;
    let now = crate::times::unix_now();
    let grace = config.alerting.schedule.grace_seconds;
    let from = parse_time(&args.from, now).with_context(|| format!("--from {:?}", args.from))?;
    let to = match &args.to {
        Some(text) => parse_time(text, now).with_context(|| format!("--to {text:?}"))?,
        None => now,
    };
    let first = from.div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS;
    let last = plan::newest_complete_bucket(to, grace);
    anyhow::ensure!(
        first <= last,
        "--from {} is after the last complete bucket before --to ({})",
        format_time(first),
        format_time(last)
    );
    for name in &args.metrics {
        anyhow::ensure!(
            catalogue.metrics().iter().any(|m| &m.name == name),
            "--metric {name:?}: no such metric (see `vigil config check`)"
        );
    }
    let source = Source::open_existing(&config.source)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let stored = Stored::read(
        &config,
        args.source.data_dir.as_deref(),
        (first, last + BUCKET_SECONDS + grace),
    );
    let detectors = stored.detectors;
    let mut silences: Vec<detect::alerting::Silence> = config
        .alerting
        .silences
        .iter()
        .enumerate()
        .map(|(k, silence)| detect::alerting::Silence {
            id: k as i64 + 1,
            scope: silence.scope.clone(),
            until: silence.until,
            created_by: "config".into(),
            created_at: silence.from.unwrap_or(i64::MIN),
            ended_at: None,
        })
        .collect();
    // The silences the checks applied (buttons, the web UI, `alerts silence`,
    // ended ones too), so a muted alert replays muted.
    silences.extend(stored.silences);

    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "bucket,metric,slice,notify,muted,started_at,value,expected,deviation"
    )?;
    let mut counts = Counts::default();
    for metric in catalogue.metrics() {
        if !args.metrics.is_empty() && !args.metrics.contains(&metric.name) {
            continue;
        }
        let detector = detectors.for_metric(&metric.name);
        let sent = runtime
            .block_on(replay_metric(
                &source,
                metric,
                detector,
                &config.alerting,
                &silences,
                (first, last),
            ))
            .with_context(|| format!("replaying {}", metric.name))?;
        for sent in sent {
            let step = &sent.step;
            counts.add(step.bucket, step.notify.kind(), step.muted);
            let number = |x: Option<f64>| x.map_or(String::new(), |x| format!("{x}"));
            writeln!(
                out,
                "{},{},{},{},{},{},{},{},{}",
                format_time(step.bucket),
                metric.name,
                sent.slice.map_or(String::new(), |s| format!("{s}")),
                step.notify.kind(),
                step.muted,
                format_time(step.started_at),
                number(sent.point.value),
                number(sent.point.expected),
                number(sent.point.deviation),
            )?;
        }
    }
    out.flush()?;
    eprintln!(
        "{} checks from {} to {}: {} alerts opened, {} repeats, {} resolved, {} reopened; \
         {} messages (the alerts one check opens are one message; muted ones not counted)",
        (last - first) / BUCKET_SECONDS + 1,
        format_time(first),
        format_time(last),
        counts.opened,
        counts.repeats,
        counts.resolved,
        counts.reopened,
        counts.messages(),
    );
    Ok(())
}

/// What the replay would have notified.
#[derive(Default)]
struct Counts {
    opened: usize,
    repeats: usize,
    resolved: usize,
    reopened: usize,
    /// Checks that opened at least one unmuted alert: one message each.
    opening_checks: std::collections::BTreeSet<i64>,
    unmuted_repeats: usize,
}

impl Counts {
    fn add(&mut self, bucket: i64, kind: &str, muted: bool) {
        match kind {
            "opened" => {
                self.opened += 1;
                if !muted {
                    self.opening_checks.insert(bucket);
                }
            }
            "repeat" => {
                self.repeats += 1;
                self.unmuted_repeats += usize::from(!muted);
            }
            // Firing again soon after: its message is edited back, no new one.
            "reopened" => self.reopened += 1,
            _ => self.resolved += 1,
        }
    }

    fn messages(&self) -> usize {
        self.opening_checks.len() + self.unmuted_repeats
    }
}

/// What the state holds that the checks applied: detector settings from
/// the lab, and the silences over the replayed span (buttons, the web UI,
/// `alerts silence`, ended ones too), read from one opening of the state. A
/// store without a state file has none; an unreadable one is logged and
/// the config's detectors are replayed without stored silences, as a check
/// would.
struct Stored {
    detectors: crate::detector_choice::DetectorChoice,
    silences: Vec<detect::alerting::Silence>,
}

impl Stored {
    fn read(
        config: &crate::config::Config,
        data_dir: Option<&std::path::Path>,
        (from, to): (i64, i64),
    ) -> Stored {
        let configured = &config.alerting.detectors;
        let nothing = || Stored {
            detectors: configured.clone(),
            silences: Vec::new(),
        };
        let location = crate::pipeline::state_location(config, data_dir);
        if location.holds_nothing_yet() {
            return nothing();
        }
        let store = match crate::state::open(&location) {
            Ok(store) => store,
            Err(error) => {
                let error = error.to_string();
                tracing::warn!(%error, "state unreadable; replaying the config's detectors and silences only");
                return nothing();
            }
        };
        let silences = store.silences_overlapping(from, to).unwrap_or_else(|error| {
            let error = error.to_string();
            tracing::warn!(%error, "silences in the state unreadable; replaying the config's only");
            Vec::new()
        });
        Stored {
            detectors: crate::settings::effective_in(store.as_ref(), configured),
            silences,
        }
    }
}
