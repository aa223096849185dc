//! `vigil series`: one metric's complete 15-minute buckets as
//! `timestamp,value` CSV on stdout, the input format of `vigil detect`.

use std::io::Write;

use anyhow::{bail, Context};
use clap::Args;

use super::source_args::SourceArgs;
use crate::check::plan::newest_complete_bucket;
use crate::metrics::model::{SliceKey, TimeRange, BUCKET_SECONDS};
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
    /// Split by a dimension instead: prints `slice,timestamp,value` for every value seen.
    #[arg(long, value_name = "DIMENSION", conflicts_with = "slice")]
    pub by: Option<String>,
    /// Start (inclusive): `YYYY-MM-DD HH:MM:SS` (UTC), `YYYY-MM-DD`, RFC 3339, unix seconds, `now-6h`.
    #[arg(long, default_value = "now-24h")]
    pub from: String,
    /// End (exclusive), same formats as --from.
    #[arg(long, default_value = "now")]
    pub to: String,
    #[command(flatten)]
    pub source: SourceArgs,
}

pub fn run(args: &SeriesArgs) -> anyhow::Result<()> {
    let config = args.source.load()?;
    let catalogue = config.catalogue()?;
    let metric = catalogue.get(&args.metric)?.clone();
    let now = crate::times::unix_now();
    let range = TimeRange {
        from: parse_time(&args.from, now).with_context(|| format!("--from {:?}", args.from))?,
        to: parse_time(&args.to, now).with_context(|| format!("--to {:?}", args.to))?,
    };
    if range.from >= range.to {
        bail!("--from must be before --to");
    }
    let range = closed_buckets_only(range, now, config.alerting.schedule.grace_seconds);
    // E.g. `--from now-10m`: only the open bucket asked for, so only the header.
    let nothing_closed = range.from >= range.to;
    let slice = args
        .slice
        .as_deref()
        .map(|text| parse_slice(text, &metric))
        .transpose()
        .context("--slice")?;
    if let Some(dimension) = &args.by {
        crate::metrics::dimensions::resolve(&metric, dimension).context("--by")?;
    }
    let source = Source::open_existing(&config.source)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let reading = || format!("reading {} from {}", metric.name, source.describe());

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if let Some(dimension) = &args.by {
        let by_value = if nothing_closed {
            Default::default()
        } else {
            runtime
                .block_on(source.series_by_slice(&metric, range, dimension))
                .with_context(reading)?
        };
        writeln!(out, "slice,timestamp,value")?;
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
        let buckets = if nothing_closed {
            Vec::new()
        } else {
            runtime
                .block_on(source.series(&metric, range, slice.as_ref()))
                .with_context(reading)?
        };
        writeln!(out, "timestamp,value")?;
        for bucket in buckets {
            writeln!(out, "{},{}", format_time(bucket.start), bucket.value)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `range` without the bucket still filling (and any later): the same
/// bucket a check would evaluate last, so a partial bucket never reads as a
/// drop.
fn closed_buckets_only(range: TimeRange, now: i64, grace: i64) -> TimeRange {
    let closed_end = newest_complete_bucket(now, grace) + BUCKET_SECONDS;
    TimeRange {
        from: range.from,
        to: range.to.min(closed_end),
    }
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
    let slice = SliceKey::parse(text).map_err(anyhow::Error::msg)?;
    crate::metrics::dimensions::resolve(metric, &slice.dimension)?;
    Ok(slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slice_is_trimmed_and_checked_against_the_metric() {
        let views = crate::metrics::catalogue::builtin_metric("feed_views").expect("built-in");
        let slice = parse_slice("os= Android ", &views).expect("valid");
        assert_eq!(
            (slice.dimension.as_str(), slice.value.as_str()),
            ("os", "Android")
        );
        let empty = parse_slice("os=", &views).unwrap_err().to_string();
        assert!(empty.contains("expected dimension=value"), "{empty}");
        let messages =
            crate::metrics::catalogue::builtin_metric("messages_sent").expect("built-in");
        let not_a_slice = parse_slice("action=view", &messages)
            .unwrap_err()
            .to_string();
        assert!(not_a_slice.contains("cannot be a slice"), "{not_a_slice}");
    }

    #[test]
    fn the_open_bucket_is_left_out() {
        // 01:03 with a 120 s grace: 00:45-01:00 is the newest complete bucket.
        let day = 1_767_225_600; // 2026-01-01 00:00:00 UTC
        let now = day + 3600 + 180;
        let range = TimeRange {
            from: day - 86_400,
            to: now,
        };
        let closed = closed_buckets_only(range, now, 120);
        assert_eq!(closed.from, range.from);
        assert_eq!(closed.to, day + 3600);
        // Within the grace period the bucket that just ended is still open.
        let closed = closed_buckets_only(range, day + 3600 + 60, 120);
        assert_eq!(closed.to, day + 2700);
        // An end in the past is kept.
        let past = TimeRange {
            from: day - 86_400,
            to: day,
        };
        assert_eq!(closed_buckets_only(past, now, 120), past);
    }
}
