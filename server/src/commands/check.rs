//! `vigil check`: one evaluation of every metric and slice at the newest
//! complete bucket, for cron or an Airflow BashOperator. Prints every result as
//! CSV on stdout and each anomaly as a warning on stderr. Exits non-zero when the
//! source cannot be read.

use std::io::Write;

use anyhow::Context;
use clap::Args;
use detect::{DetectorSpec, IqrParams, Smoothing};

use super::source_args::SourceArgs;
use crate::check::{self, plan, Evaluation};
use crate::sources::Source;
use crate::times::{format_time, parse_time};

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Evaluate as if the time were TIME (default now); same formats as `vigil series --from`.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Seconds after a bucket ends before it is evaluated (late events still arriving).
    #[arg(long, default_value_t = 120, env = "VIGIL_GRACE_SECONDS")]
    pub grace_seconds: i64,
    /// IQR band width in IQRs.
    #[arg(long, default_value_t = IqrParams::default().a)]
    pub a: f64,
    /// IQR window: points before the evaluated one.
    #[arg(long, default_value_t = IqrParams::default().n)]
    pub n: usize,
}

pub fn run(args: &CheckArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.grace_seconds >= 0,
        "--grace-seconds must not be negative"
    );
    let detector = DetectorSpec::Iqr(IqrParams {
        n: args.n,
        a: args.a,
        smooth: Smoothing::AsOf,
    });
    detector.validate().context("detector parameters")?;
    let config = args.source.load()?;
    let catalogue = config.catalogue()?;
    let now = crate::simulator::unix_now();
    let at = match &args.at {
        Some(text) => parse_time(text, now).with_context(|| format!("--at {text:?}"))?,
        None => now,
    };
    let bucket = plan::newest_complete_bucket(at, args.grace_seconds);

    let source = Source::open(&config.source)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let evaluations = runtime
        .block_on(check::evaluate_all(
            &source,
            catalogue.metrics(),
            &detector,
            bucket,
        ))
        .with_context(|| {
            format!(
                "checking {} from {}",
                format_time(bucket),
                source.describe()
            )
        })?;

    let anomalies = evaluations.iter().filter(|e| e.point.is_anomaly).count();
    for evaluation in evaluations.iter().filter(|e| e.point.is_anomaly) {
        tracing::warn!("anomaly: {}", describe(evaluation));
    }
    write_csv(&evaluations)?;
    tracing::info!(
        bucket = %format_time(bucket),
        evaluated = evaluations.len(),
        anomalies,
        "check done"
    );
    Ok(())
}

fn write_csv(evaluations: &[Evaluation]) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(
        out,
        "bucket,metric,slice,value,lower,upper,expected,deviation,is_anomaly"
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
            "{},{},{},{},{},{},{},{},{}",
            format_time(e.bucket),
            e.metric,
            csv_escape(&slice),
            cell(e.point.value),
            cell(e.point.lower),
            cell(e.point.upper),
            cell(e.point.expected),
            cell(e.point.deviation),
            u8::from(e.point.is_anomaly),
        )?;
    }
    out.flush()?;
    Ok(())
}

/// Slice values are data from the events (a city may contain a comma).
fn csv_escape(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
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
