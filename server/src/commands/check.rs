//! `vigil check`: one check of every metric and slice, for cron or an Airflow
//! BashOperator. Evaluates the newest complete bucket (catching up on buckets
//! missed since the last check) or the bucket at `--at`, updates the alert
//! state, delivers the resulting alerts (Telegram, or the log) and exits.
//! Prints every result as CSV on stdout and each anomaly as a warning on
//! stderr. Exits non-zero when the source cannot be read (after queueing and
//! sending one "data unavailable" alert).
//!
//! `--dry-run` only evaluates and prints: no state, no alerts.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use detect::{DetectorSpec, IqrParams, Smoothing};

use super::source_args::SourceArgs;
use crate::check::{self, plan};
use crate::config::Config;
use crate::csv_series;
use crate::delivery::DeliveryReport;
use crate::evaluation::Evaluation;
use crate::pipeline::{self, Pipeline};
use crate::sources::Source;
use crate::times::{format_time, parse_time};

/// A one-shot run waits at most this long for Telegram's flood control.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(30);
/// `--until` checks at most a week of buckets in one run.
const MAX_UNTIL_BUCKETS: i64 = 7 * 96;

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Evaluate the bucket complete at TIME (default: now, catching up on
    /// missed buckets); same formats as `vigil series --from`.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// With --at: check every bucket from --at's up to the one complete at
    /// TIME, one after another in this process, each delivered before the
    /// next, as a running `vigil serve` would at those ticks (a backfill of
    /// alert history; what a steady 15-minute check costs once warm).
    #[arg(long, value_name = "TIME", requires = "at", conflicts_with = "dry_run")]
    pub until: Option<String>,
    /// Evaluate and print only: no alert state, no notifications.
    #[arg(long)]
    pub dry_run: bool,
    /// Seconds after a bucket ends before it is evaluated (default: the
    /// config's schedule.grace_seconds, 120).
    /// Limited to 0..=3600 like the config's.
    #[arg(
        long,
        env = "VIGIL_GRACE_SECONDS",
        value_parser = clap::value_parser!(i64).range(0..=3600)
    )]
    pub grace_seconds: Option<i64>,
    /// Use the IQR rule with this band width for every metric (instead of the
    /// config's detectors).
    #[arg(long)]
    pub a: Option<f64>,
    /// Use the IQR rule with this window for every metric.
    #[arg(long)]
    pub n: Option<usize>,
}

/// The detectors a real check would use: the config's, under the settings
/// applied from the lab (read from the state file, when there is one; a
/// command that only reads creates none).
fn detectors_in_effect(
    runtime: &tokio::runtime::Runtime,
    config: &Config,
    data_dir: Option<&std::path::Path>,
) -> crate::detector_choice::DetectorChoice {
    let state = pipeline::state_location(config, data_dir);
    if !state.holds_nothing_yet() {
        runtime.block_on(crate::settings::effective_at(
            state,
            &config.alerting.detectors,
        ))
    } else {
        config.alerting.detectors.clone()
    }
}

pub fn run(args: &CheckArgs) -> anyhow::Result<()> {
    let mut config = args.source.load()?;
    apply_overrides(args, &mut config)?;
    let catalogue = config.catalogue()?;
    let now = crate::times::unix_now();
    let at = match &args.at {
        Some(text) => Some(parse_time(text, now).with_context(|| format!("--at {text:?}"))?),
        None => None,
    };
    let until = match &args.until {
        Some(text) => Some(parse_time(text, now).with_context(|| format!("--until {text:?}"))?),
        None => None,
    };
    let grace = config.alerting.schedule.grace_seconds;
    let source = Arc::new(Source::open_existing(&config.source)?);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;

    if args.dry_run {
        let bucket = plan::newest_complete_bucket(at.unwrap_or(now), grace);
        let detectors = detectors_in_effect(&runtime, &config, args.source.data_dir.as_deref());
        let metrics = catalogue.metrics();
        let evaluations = runtime
            .block_on(async {
                let schedule = &config.alerting.schedule;
                let tables = check::BucketTables::read(&source, metrics, bucket, schedule).await?;
                let skipped = tables.skipped();
                if !skipped.is_empty() {
                    tracing::warn!(
                        tables = %skipped.join(","),
                        "not evaluated: these tables have not passed the bucket yet"
                    );
                }
                let open = crate::evaluation::OpenSince::new();
                check::evaluate_all(&source, metrics, &detectors, bucket, &open, &tables).await
            })
            .with_context(|| checking(bucket, &source))?;
        report_evaluations(&evaluations)?;
        return Ok(());
    }

    let state_dir = pipeline::state_dir(&config, args.source.data_dir.as_deref());
    let pipeline = Pipeline::build(
        &config,
        Arc::clone(&source),
        catalogue.metrics().to_vec(),
        &state_dir,
        "http://127.0.0.1:3000",
        &crate::instance::command_claimant("check"),
    )?;
    let at_buckets = match at {
        Some(at) => at_buckets(
            plan::newest_complete_bucket(at, grace),
            until.map(|until| plan::newest_complete_bucket(until, grace)),
        )?,
        None => Vec::new(),
    };
    runtime.block_on(async {
        if let Some(&bucket) = at_buckets.first() {
            // Noted first: killed from here on (reading button presses, say),
            // the bucket is left for the next check to run again.
            (pipeline.store)
                .call(move |store| store.check_started(bucket, now))
                .await?;
        }
        if let Some(client) = &pipeline.telegram {
            if config.alerting.telegram.poll_updates {
                // Presses since the last run (a mute must hold before this check).
                if let Err(error) = crate::telegram::updates::drain_pending(
                    client,
                    &pipeline.store,
                    config.alerting.utc_offset_minutes,
                )
                .await
                {
                    tracing::warn!(%error, "button presses not read; they stay queued in Telegram");
                }
            }
        }
        if at_buckets.len() > 1 {
            return check_each(&pipeline, &at_buckets, now).await;
        }
        let result = match at_buckets.first() {
            Some(&bucket) => check_at(&pipeline, bucket).await,
            None => catch_up(&pipeline, now).await,
        };
        // The morning report due at the check's time, if not created yet.
        if let Err(error) = pipeline.reports.enqueue_due(at.unwrap_or(now)).await {
            tracing::error!(%error, "morning report not queued");
        }
        // Deliver in any case: a failed check has queued "data unavailable".
        let delivery = deliver(&pipeline, now).await;
        let evaluations = result?;
        report_evaluations(&evaluations)?;
        log_delivery(delivery?);
        Ok(())
    })
}

/// The buckets `--at` and `--until` name, oldest first (one without
/// `--until`). Refused when `--until` is before `--at`, or spans more than a
/// week: a typo's thousands of checks.
fn at_buckets(first: i64, last: Option<i64>) -> anyhow::Result<Vec<i64>> {
    let last = last.unwrap_or(first);
    anyhow::ensure!(
        last >= first,
        "--until ({}) is before --at ({})",
        format_time(last),
        format_time(first)
    );
    let count = (last - first) / crate::metrics::model::BUCKET_SECONDS + 1;
    anyhow::ensure!(
        count <= MAX_UNTIL_BUCKETS,
        "--at to --until spans {count} buckets; at most {MAX_UNTIL_BUCKETS} (a week) in one run"
    );
    Ok((0..count)
        .map(|k| first + k * crate::metrics::model::BUCKET_SECONDS)
        .collect())
}

/// Checks each of `buckets` in turn, delivering after each as the running
/// server's sender would; stops at the first failure (after delivering what
/// it queued). Prints the newest check's results.
async fn check_each(pipeline: &Pipeline, buckets: &[i64], now: i64) -> anyhow::Result<()> {
    let mut newest = Vec::new();
    for (k, &bucket) in buckets.iter().enumerate() {
        if k > 0 {
            (pipeline.store)
                .call(move |store| store.check_started(bucket, now))
                .await?;
        }
        let result = check_at(pipeline, bucket).await;
        let checked_at = bucket + crate::metrics::model::BUCKET_SECONDS;
        if let Err(error) = pipeline.reports.enqueue_due(checked_at).await {
            tracing::error!(%error, "morning report not queued");
        }
        let delivery = deliver(pipeline, now).await;
        newest = result?;
        log_delivery(delivery?);
    }
    report_evaluations(&newest)
}

/// The check of `bucket` (after any earlier one that was killed or failed):
/// the evaluations of `bucket`'s.
async fn check_at(pipeline: &Pipeline, bucket: i64) -> anyhow::Result<Vec<Evaluation>> {
    (pipeline.checker.run_at(bucket).await)
        .map(|outcomes| outcomes.into_iter().last())
        .map(|newest| newest.map(|o| o.evaluations).unwrap_or_default())
        .map_err(|error| due_failed(error, &pipeline.checker.source))
}

fn log_delivery(delivery: DeliveryReport) {
    tracing::info!(
        delivered = delivery.delivered,
        abandoned = delivery.abandoned,
        "delivery done"
    );
    if let Some(blocked) = delivery.blocked {
        tracing::warn!(error = %blocked.error, "some alerts wait in the outbox for the next run");
    }
}

/// `--grace-seconds`, `--a` and `--n` over the config.
fn apply_overrides(args: &CheckArgs, config: &mut Config) -> anyhow::Result<()> {
    if let Some(grace) = args.grace_seconds {
        // Bounded by clap like the config's schedule.grace_seconds; kept for callers
        // that build the args by hand.
        anyhow::ensure!(
            (0..=3600).contains(&grace),
            "--grace-seconds must be 0..=3600 (got {grace})"
        );
        config.alerting.schedule.grace_seconds = grace;
    }
    if args.a.is_some() || args.n.is_some() {
        let defaults = IqrParams::default();
        let detector = DetectorSpec::Iqr(IqrParams {
            n: args.n.unwrap_or(defaults.n),
            a: args.a.unwrap_or(defaults.a),
            smooth: Smoothing::AsOf,
        });
        detector.validate().context("detector parameters")?;
        config.alerting.detectors.default = detect::Ensemble::single(detector);
        config.alerting.detectors.per_metric.clear();
        config.alerting.detectors.fixed = true;
    }
    Ok(())
}

/// Every bucket due since the last check; the evaluations of the newest.
async fn catch_up(pipeline: &Pipeline, now: i64) -> anyhow::Result<Vec<Evaluation>> {
    let outcomes = (pipeline.checker.run_due(now).await)
        .map_err(|error| due_failed(error, &pipeline.checker.source))?;
    match outcomes.into_iter().last() {
        Some(newest) => Ok(newest.evaluations),
        None => {
            let newest =
                plan::newest_complete_bucket(now, pipeline.checker.alerting.schedule.grace_seconds);
            tracing::info!(bucket = %format_time(newest), "already checked; nothing to do");
            Ok(Vec::new())
        }
    }
}

/// Sends what is queued, in order; waits out a short flood-control delay.
async fn deliver(pipeline: &Pipeline, now: i64) -> anyhow::Result<DeliveryReport> {
    let mut total = DeliveryReport::default();
    for _ in 0..3 {
        let report = pipeline.deliverer.deliver_due(now, true).await?;
        total.delivered += report.delivered;
        total.abandoned += report.abandoned;
        total.blocked = report.blocked;
        match &total.blocked {
            Some(blocked) => match blocked.retry_after_secs {
                Some(secs) if Duration::from_secs(secs.max(0) as u64) <= MAX_RATE_LIMIT_WAIT => {
                    tokio::time::sleep(Duration::from_secs(secs.max(0) as u64)).await;
                }
                _ => break,
            },
            None => break,
        }
    }
    Ok(total)
}

fn due_failed(failed: check::run::DueCheckError, source: &Source) -> anyhow::Error {
    anyhow::Error::new(failed.error).context(checking(failed.bucket, source))
}

fn checking(bucket: i64, source: &Source) -> String {
    format!(
        "checking {} from {}",
        format_time(bucket),
        source.describe()
    )
}

/// The CSV on stdout and a warning per anomaly.
fn report_evaluations(evaluations: &[Evaluation]) -> anyhow::Result<()> {
    for evaluation in evaluations.iter().filter(|e| e.point.is_anomaly) {
        tracing::warn!("anomaly: {}", describe(evaluation));
    }
    write_csv(evaluations)
}

fn write_csv(evaluations: &[Evaluation]) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(
        out,
        "bucket,metric,slice,value,lower,upper,expected,deviation,is_anomaly,detector"
    )?;
    let cell = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for e in evaluations {
        let slice = e
            .slice
            .as_ref()
            .map(|s| format!("{}={}", s.dimension, s.value))
            .unwrap_or_default();
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{}",
            format_time(e.bucket),
            e.metric,
            csv_series::csv_cell(&slice),
            cell(e.point.value),
            cell(e.point.lower),
            cell(e.point.upper),
            cell(e.point.expected),
            cell(e.point.deviation),
            u8::from(e.point.is_anomaly),
            csv_series::csv_cell(&e.detector),
        )?;
    }
    out.flush()?;
    Ok(())
}

/// `feed_views os=Android at 2026-11-23 14:00:00: 512 (expected 980, band 870..1090, -48%) by iqr`
fn describe(e: &Evaluation) -> String {
    let slice = e
        .slice
        .as_ref()
        .map(|s| format!(" {}={}", s.dimension, s.value))
        .unwrap_or_default();
    let number = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    let deviation = e
        .point
        .deviation
        .map_or(String::new(), |d| format!(", {:+.0}%", d * 100.0));
    format!(
        "{}{} at {}: {} (expected {}, band {}..{}{}) by {}",
        e.metric,
        slice,
        format_time(e.bucket),
        number(e.point.value),
        number(e.point.expected),
        number(e.point.lower),
        number(e.point.upper),
        deviation,
        e.detector
    )
}
