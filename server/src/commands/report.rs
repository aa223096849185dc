//! `vigil report`: the morning report once, for cron or an Airflow
//! BashOperator. Builds the report of `--date` (default: yesterday in the
//! config's `alerts.utc_offset`) and sends it through the same queue as
//! `vigil serve` (once per day and chat, however often it runs).
//!
//! `--dry-run` only builds it: prints its text on stdout and writes its
//! chart to `--chart`; no state is written, nothing is sent.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use chrono::NaiveDate;
use clap::Args;

use super::source_args::SourceArgs;
use crate::pipeline::{self, Pipeline};
use crate::report::text::{self, Markup};
use crate::report::LocalDay;
use crate::sources::Source;
use crate::state::State;

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// The day to report on, `YYYY-MM-DD` (default: yesterday, local time).
    #[arg(long, value_name = "DATE")]
    pub date: Option<String>,
    /// Build and print only: the text on stdout, the chart to --chart.
    #[arg(long)]
    pub dry_run: bool,
    /// Where --dry-run writes the chart (default: report-<date>.png).
    #[arg(long, value_name = "FILE")]
    pub chart: Option<PathBuf>,
}

pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    let config = args.source.load()?;
    let catalogue = config.catalogue()?;
    let offset = config.alerting.utc_offset_minutes;
    let now = crate::times::unix_now();
    let day = match &args.date {
        Some(text) => LocalDay::new(parse_date(text)?, offset),
        None => LocalDay::containing(now, offset).plus(-1),
    };
    let source = Arc::new(Source::open_existing(&config.source)?);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let state_dir = pipeline::state_dir(&config, args.source.data_dir.as_deref());

    if args.dry_run {
        // The alerts come from the state when vigil has one; a dry run
        // creates none (and reports no alerts without it).
        let location = pipeline::location_in(&config, &state_dir);
        let store = if location.holds_nothing_yet() {
            None
        } else {
            Some(State::open(&location)?)
        };
        let report = runtime
            .block_on(crate::report::build(
                &source,
                store.as_ref(),
                catalogue.metrics(),
                &config.experiments,
                day.date,
                offset,
            ))
            .with_context(|| format!("building the report of {}", day.iso()))?;
        let chart = args
            .chart
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("report-{}.png", day.iso())));
        let png =
            crate::report::chart::render_png(&report).context("drawing the report's chart")?;
        std::fs::write(&chart, png)
            .with_context(|| format!("writing the chart to {}", chart.display()))?;
        println!("{}", text::render(&report, Markup::Plain));
        tracing::info!(chart = %chart.display(), "chart written");
        return Ok(());
    }

    // Names the claims on what this run sends, alerts and reports alike.
    let claimant = crate::instance::command_claimant("report");
    let pipeline = Pipeline::build(
        &config,
        Arc::clone(&source),
        catalogue.metrics().to_vec(),
        &state_dir,
        "http://127.0.0.1:3000",
        &claimant,
    )?;
    runtime.block_on(async {
        let created = pipeline.reports.enqueue(day, false, now).await?;
        if created == 0 {
            tracing::info!(date = %day.iso(), "this report was queued before; sending only what is still pending");
        }
        let sent = pipeline.reports.deliver_due(now, true, &claimant).await?;
        tracing::info!(delivered = sent.delivered, abandoned = sent.abandoned, "report delivery done");
        if let Some((error, _, _)) = sent.blocked {
            anyhow::bail!("the report waits in the queue for the next run: {error}");
        }
        Ok(())
    })
}

/// `YYYY-MM-DD`.
fn parse_date(text: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .with_context(|| format!("--date {text:?}: expected a day as YYYY-MM-DD, e.g. 2026-12-05"))
}
