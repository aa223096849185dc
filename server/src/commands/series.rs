//! `vigil series`: one metric's 15-minute buckets as `bucket,value` CSV on stdout.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;

use crate::config::Config;
use crate::metrics::model::{SliceKey, TimeRange};
use crate::sources::Source;
use crate::times::{format_time, parse_time};

#[derive(Args, Debug)]
pub struct SeriesArgs {
    /// Metric name (see the error of an unknown name for the list).
    #[arg(long)]
    pub metric: String,
    /// Restrict to one slice, e.g. `os=Android`.
    #[arg(long, value_name = "KEY=VALUE")]
    pub slice: Option<String>,
    /// Split by a dimension instead: prints `slice,bucket,value` for every value seen.
    #[arg(long, value_name = "DIMENSION", conflicts_with = "slice")]
    pub by: Option<String>,
    /// Start (inclusive): `YYYY-MM-DD HH:MM:SS` (UTC), `YYYY-MM-DD`, RFC 3339, unix seconds, `now-6h`.
    #[arg(long, default_value = "now-24h")]
    pub from: String,
    /// End (exclusive), same formats as --from.
    #[arg(long, default_value = "now")]
    pub to: String,
    /// Config file (default: the embedded SQLite store in ./data).
    #[arg(long, env = "VIGIL_CONFIG")]
    pub config: Option<PathBuf>,
}

pub fn run(args: &SeriesArgs) -> anyhow::Result<()> {
    let config = Config::load_or_default(args.config.as_deref())?;
    let catalogue = config.catalogue()?;
    let metric = catalogue.get(&args.metric)?.clone();
    let now = crate::simulator::unix_now();
    let range = TimeRange {
        from: parse_time(&args.from, now).with_context(|| format!("--from {:?}", args.from))?,
        to: parse_time(&args.to, now).with_context(|| format!("--to {:?}", args.to))?,
    };
    if range.from >= range.to {
        bail!("--from must be before --to");
    }
    let slice = args
        .slice
        .as_deref()
        .map(|text| parse_slice(text, &metric))
        .transpose()
        .context("--slice")?;
    if let Some(dimension) = &args.by {
        crate::metrics::slice_column(&metric.name, metric.table, dimension).context("--by")?;
    }
    let source = Source::open(&config.source)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let reading = || format!("reading {} from {}", metric.name, source.describe());

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if let Some(dimension) = &args.by {
        let by_value = runtime
            .block_on(source.series_by_slice(&metric, range, dimension))
            .with_context(reading)?;
        writeln!(out, "slice,bucket,value")?;
        for (value, buckets) in by_value {
            for bucket in buckets {
                let value = csv_field(&value);
                writeln!(
                    out,
                    "{value},{},{}",
                    format_time(bucket.start),
                    bucket.value
                )?;
            }
        }
    } else {
        let buckets = runtime
            .block_on(source.series(&metric, range, slice.as_ref()))
            .with_context(reading)?;
        writeln!(out, "bucket,value")?;
        for bucket in buckets {
            writeln!(out, "{},{}", format_time(bucket.start), bucket.value)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Quote a CSV field when it needs it (slice values come from the data).
fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// `os=Android` -> a slice key whose dimension the metric's table can be split by.
fn parse_slice(text: &str, metric: &crate::metrics::model::MetricDef) -> anyhow::Result<SliceKey> {
    let Some((dimension, value)) = text.split_once('=') else {
        bail!("expected KEY=VALUE, e.g. os=Android, got {text:?}");
    };
    let dimension = dimension.trim();
    crate::metrics::slice_column(&metric.name, metric.table, dimension)?;
    Ok(SliceKey {
        dimension: dimension.to_string(),
        value: value.to_string(),
    })
}
