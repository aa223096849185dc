//! A metric's own history as one labelled case for `detect::eval`: its
//! values on the bucket grid (as the check sees them) and its labels (see
//! [`crate::labels`]). `vigil tune` searches parameters on it; `vigil eval
//! --metric` scores detectors on it.

use std::sync::Arc;

use anyhow::{bail, Context};
use detect::eval::LabelledSeries;
use detect::Series;

use super::source_args::SourceArgs;
use crate::check::{grid_values, Watermarks};
use crate::labels;
use crate::metrics::model::{MetricDef, TimeRange, BUCKET_SECONDS};
use crate::pipeline;
use crate::sources::Source;
use crate::times::{format_time, parse_time};

/// The case and where it came from.
pub struct HistoryCase {
    pub metric: MetricDef,
    /// Whole buckets, `[from, to)`.
    pub range: TimeRange,
    pub case: LabelledSeries,
}

/// Loads `metric` from `from` to `to` (as `vigil tune --from/--to` parse them).
pub fn load(
    source_args: &SourceArgs,
    metric: &str,
    from: &str,
    to: &str,
) -> anyhow::Result<HistoryCase> {
    let config = source_args.load()?;
    let catalogue = config.catalogue()?;
    let metric = catalogue.get(metric)?.clone();
    let now = crate::times::unix_now();
    let from_time = parse_time(from, now).with_context(|| format!("--from {from:?}"))?;
    let to_time = parse_time(to, now).with_context(|| format!("--to {to:?}"))?;
    if from_time >= to_time {
        bail!("--from must be before --to");
    }
    let range = TimeRange {
        from: from_time.div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS,
        to: to_time.div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS,
    };
    if range.from >= range.to {
        bail!("--from and --to fall in the same 15-minute bucket");
    }
    let source = Arc::new(Source::open_existing(&config.source)?);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let values: Vec<Option<f64>> = runtime.block_on(async {
        let buckets = source.series(&metric, range, None).await?;
        let watermark = Watermarks::read(&source).await?.for_metric(&metric);
        anyhow::Ok(grid_values(&metric, range, watermark, &buckets))
    })?;
    if values.iter().all(Option::is_none) {
        bail!(
            "{} has no data from {} to {} in {}",
            metric.name,
            format_time(range.from),
            format_time(range.to),
            source.describe()
        );
    }
    let location = pipeline::state_location(&config, source_args.data_dir.as_deref());
    let stored = labels::Stored::from_state(&location, &metric.name, range)?;
    let spans = runtime.block_on(labels::load(&source, stored, &metric.name, range))?;
    let (incidents, neutral) = labels::to_eval_spans(&spans, range.from, values.len());
    if incidents.is_empty() {
        tracing::warn!(
            "no labelled incident of {} in this range: F1 is undefined, only false alerts per week count",
            metric.name
        );
    }
    let case = LabelledSeries {
        name: metric.name.clone(),
        class: "history".into(),
        scale: String::new(),
        family: String::new(),
        series: Series::new(range.from, BUCKET_SECONDS, values)?,
        incidents,
        neutral,
        eval_start: 0,
    };
    Ok(HistoryCase {
        metric,
        range,
        case,
    })
}
