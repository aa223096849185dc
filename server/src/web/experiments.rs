//! `/experiments` and `/experiment/<name>`: the experiments the checks
//! compare, and one judged at checkpoints since its start with the check's
//! own computation ([`crate::check::experiments::judge_sums`]), so the page's
//! newest figures are the alert's.

use app::api::backend::{ApiError, ApiResult};
use app::api::{
    ArmComparison, ArmUsers, EffectPoint, ExperimentDetail, ExperimentList, ExperimentMetric,
    ExperimentSummary, GroupSeries,
};
use std::collections::HashMap;
use std::sync::Mutex;

use detect::experiments::GroupSummary;

use crate::check::experiments::{
    alert_metric, arm_label, in_effect, judge_sums, read_sums, MetricSums, SAMPLE_RATIO,
};
use crate::config::ExperimentConfig;
use crate::evaluation::Evaluation;
use crate::metrics::model::{Aggregate, EventTable, MetricDef, TimeRange, BUCKET_SECONDS};
use crate::sources::{Source, SourceError};

/// Most checkpoints a page judges: each is one grouped query per metric.
pub const MAX_CHECKPOINTS: usize = 32;

/// The experiments in effect, running ones first, then by start (newest first).
pub async fn list(
    source: &Source,
    configured: &[ExperimentConfig],
    utc_offset_minutes: i32,
) -> ApiResult<ExperimentList> {
    let newest = newest_data(source).await.map_err(source_failed)?;
    let mut experiments: Vec<ExperimentSummary> = in_effect(source, configured)
        .await
        .iter()
        .map(|experiment| summary(experiment, newest))
        .collect();
    experiments.sort_by_key(|e| (!e.running, -e.start));
    Ok(ExperimentList {
        experiments,
        utc_offset_minutes,
    })
}

/// One experiment judged at up to [`MAX_CHECKPOINTS`] evenly spaced
/// checkpoints from its start to its end or the newest data.
pub async fn detail(
    source: &Source,
    cache: &SumsCache,
    configured: &[ExperimentConfig],
    metrics: &[MetricDef],
    utc_offset_minutes: i32,
    name: &str,
) -> ApiResult<ExperimentDetail> {
    let experiment = &find(source, configured, name).await?;
    let newest = newest_data(source).await.map_err(source_failed)?;
    let checkpoints = checkpoints(experiment, newest);
    let mut judged = Vec::with_capacity(checkpoints.len());
    for (index, &to) in checkpoints.iter().enumerate() {
        let range = TimeRange {
            from: experiment.start,
            to,
        };
        // The newest checkpoint's bucket may still receive events.
        let closed = index + 1 < checkpoints.len();
        let sums = (cache.read(source, experiment, metrics, range, closed).await)
            .map_err(source_failed)?;
        let evaluations = judge_sums(experiment, &sums, to - BUCKET_SECONDS);
        judged.push((sums, evaluations));
    }
    Ok(assemble(
        experiment,
        metrics,
        utc_offset_minutes,
        newest,
        checkpoints,
        &judged,
    ))
}

/// The experiment in effect called `name`; 404 naming those there are.
pub async fn find(
    source: &Source,
    configured: &[ExperimentConfig],
    name: &str,
) -> ApiResult<ExperimentConfig> {
    let mut experiments = in_effect(source, configured).await;
    match experiments.iter().position(|e| e.name == name) {
        Some(index) => Ok(experiments.swap_remove(index)),
        None => {
            let known: Vec<&str> = experiments.iter().map(|e| e.name.as_str()).collect();
            Err(ApiError::not_found(format!(
                "no experiment {name:?}: the checks compare {}",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )))
        }
    }
}

/// The page from each checkpoint's sums and verdicts.
fn assemble(
    experiment: &ExperimentConfig,
    metrics: &[MetricDef],
    utc_offset_minutes: i32,
    newest: Option<i64>,
    checkpoints: Vec<i64>,
    judged: &[(MetricSums<'_>, Vec<Evaluation>)],
) -> ExperimentDetail {
    let last = judged.last().map(|(_, evaluations)| evaluations.as_slice());
    let sample_ratio = last.and_then(|evaluations| {
        let metric = alert_metric(&experiment.name, SAMPLE_RATIO);
        evaluations.iter().find(|e| e.metric == metric)
    });
    let finding = sample_ratio.and_then(|e| e.context.experiment.as_ref());
    let srm_p_value = finding.map_or(1.0, |f| f.srm_p_value);
    let mismatch = srm_p_value < experiment.rules.srm_alpha;
    let users = finding.map_or_else(Vec::new, |f| {
        (f.users.iter())
            .map(|(arm, users, expected)| ArmUsers {
                arm: arm.clone(),
                users: *users,
                expected: *expected,
            })
            .collect()
    });
    let compared = (experiment.metrics.iter())
        .filter_map(|name| metrics.iter().find(|m| &m.name == name))
        .enumerate()
        .map(|(index, metric)| ExperimentMetric {
            name: metric.name.clone(),
            title: metric.title.clone(),
            ratio: matches!(metric.aggregate, Aggregate::Ratio { .. }),
            groups: group_series(experiment, metric, index, judged),
            comparisons: comparisons(experiment, metric, judged, mismatch, utc_offset_minutes),
        })
        .collect();
    ExperimentDetail {
        summary: summary(experiment, newest),
        utc_offset_minutes,
        checkpoints,
        users,
        srm_p_value,
        srm_alpha: experiment.rules.srm_alpha,
        alpha: experiment.rules.alpha,
        min_effect: experiment.rules.min_effect,
        metrics: compared,
    }
}

/// Each group's running value of `metric` (the `index`th compared) at every checkpoint.
fn group_series(
    experiment: &ExperimentConfig,
    metric: &MetricDef,
    index: usize,
    judged: &[(MetricSums<'_>, Vec<Evaluation>)],
) -> Vec<GroupSeries> {
    experiment
        .groups()
        .into_iter()
        .map(|group| GroupSeries {
            group: arm_label(&[group]),
            control: experiment.control.contains(&group),
            values: judged
                .iter()
                .map(|(sums, _)| {
                    let (_, groups) = sums.get(index)?;
                    let (_, summary) = groups.iter().find(|(g, _)| *g == group)?;
                    running_value(&metric.aggregate, summary)
                })
                .collect(),
        })
        .collect()
}

/// What the metric reads for one group since the start: likes per view,
/// events per exposed user, or the users themselves.
fn running_value(aggregate: &Aggregate, summary: &GroupSummary) -> Option<f64> {
    match aggregate {
        Aggregate::Ratio { .. } => (summary.sum_y > 0.0).then(|| summary.sum_x / summary.sum_y),
        Aggregate::Count => (summary.users > 0).then(|| summary.sum_x / summary.users as f64),
        Aggregate::Distinct { .. } => Some(summary.users as f64),
    }
}

/// Each treatment arm against control on `metric`: the newest verdict in the
/// alert's words, and the effect at every checkpoint.
fn comparisons(
    experiment: &ExperimentConfig,
    metric: &MetricDef,
    judged: &[(MetricSums<'_>, Vec<Evaluation>)],
    mismatch: bool,
    utc_offset_minutes: i32,
) -> Vec<ArmComparison> {
    let alert = alert_metric(&experiment.name, &metric.name);
    let control = arm_label(&experiment.control);
    experiment
        .treatments
        .iter()
        .filter_map(|treatment| {
            let slice: Vec<String> = treatment.iter().map(u8::to_string).collect();
            let slice = slice.join("+");
            let of = |evaluations: &[Evaluation]| -> Option<Evaluation> {
                evaluations
                    .iter()
                    .find(|e| {
                        e.metric == alert && e.slice.as_ref().is_some_and(|s| s.value == slice)
                    })
                    .cloned()
            };
            let at: Vec<Option<Evaluation>> = judged.iter().map(|(_, e)| of(e)).collect();
            // A distinct-user metric has no comparison at all.
            if at.iter().all(Option::is_none) {
                return None;
            }
            let newest = at.last().cloned().flatten();
            let effect = newest
                .as_ref()
                .and_then(|e| e.context.experiment.as_ref())
                .and_then(|f| f.effect.clone());
            let verdict = match &newest {
                _ if mismatch => "sample ratio mismatch",
                Some(e) if e.point.is_anomaly => "diverged",
                _ => "inconclusive",
            };
            let sentence = effect.as_ref().map_or_else(
                || "Nothing to compare yet: too few users (or no events) in a group.".to_string(),
                |effect| effect.sentence(experiment.start, utc_offset_minutes),
            );
            Some(ArmComparison {
                treatment: arm_label(treatment),
                control: control.clone(),
                verdict: verdict.to_string(),
                sentence,
                p_value: effect.as_ref().map(|e| e.p_value),
                effects: at
                    .iter()
                    .map(|e| {
                        let effect = e.as_ref()?.context.experiment.as_ref()?.effect.as_ref()?;
                        Some(EffectPoint {
                            relative: effect.relative,
                            low: effect.interval.0,
                            high: effect.interval.1,
                        })
                    })
                    .collect(),
            })
        })
        .collect()
}

fn summary(experiment: &ExperimentConfig, newest: Option<i64>) -> ExperimentSummary {
    let arms: Vec<String> = experiment.arms().map(arm_label).collect();
    ExperimentSummary {
        name: experiment.name.clone(),
        metrics: experiment.metrics.clone(),
        arms: arms.join(" vs "),
        start: experiment.start,
        end: experiment.end,
        running: newest.is_some_and(|t| experiment.running_at(t)),
    }
}

/// Ends of the totals judged: every `step` on the bucket grid from the
/// start, the step a power of two of buckets so that at most
/// [`MAX_CHECKPOINTS`] fit (the same points on every visit until it doubles,
/// which lets [`SumsCache`] keep them), then the experiment's end or the
/// start of the newest (incomplete) bucket.
pub fn checkpoints(experiment: &ExperimentConfig, newest: Option<i64>) -> Vec<i64> {
    let Some(newest) = newest else {
        return Vec::new();
    };
    let mut last = newest.div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS;
    if let Some(end) = experiment.end {
        last = last.min(end);
    }
    if last <= experiment.start {
        return Vec::new();
    }
    let origin = experiment.start.div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS;
    let buckets = (last - origin).div_euclid(BUCKET_SECONDS) + 1;
    let mut step = 1;
    while buckets > step * (MAX_CHECKPOINTS as i64 - 1) {
        step *= 2;
    }
    let mut points: Vec<i64> = (1..)
        .map(|k| origin + k * step * BUCKET_SECONDS)
        .take_while(|&t| t < last)
        .collect();
    points.push(last);
    points
}

/// Sums of past checkpoints, which do not change once their buckets have
/// closed: a second visit to a page reads only its newest checkpoint.
#[derive(Default)]
pub struct SumsCache {
    entries: Mutex<HashMap<SumsKey, CachedSums>>,
}

/// Each metric's name with its group sums.
type CachedSums = Vec<(String, Vec<(u8, GroupSummary)>)>;

/// The experiment's name, groups and metrics, and the range summed.
type SumsKey = (String, Vec<u8>, Vec<String>, i64, i64);

/// Entries kept at most (then the cache starts over).
const MAX_CACHED: usize = 4096;

impl SumsCache {
    /// The sums of `range`, from the cache when `cacheable` and there.
    async fn read<'a>(
        &self,
        source: &Source,
        experiment: &ExperimentConfig,
        metrics: &'a [MetricDef],
        range: TimeRange,
        cacheable: bool,
    ) -> Result<MetricSums<'a>, SourceError> {
        let key = (
            experiment.name.clone(),
            experiment.groups(),
            experiment.metrics.clone(),
            range.from,
            range.to,
        );
        let cached = cacheable.then(|| self.lock().get(&key).cloned()).flatten();
        if let Some(cached) = cached {
            return Ok(cached
                .into_iter()
                .filter_map(|(name, sums)| Some((metrics.iter().find(|m| m.name == name)?, sums)))
                .collect());
        }
        let sums = read_sums(source, experiment, metrics, range).await?;
        if cacheable {
            let owned = (sums.iter())
                .map(|(metric, sums)| (metric.name.clone(), sums.clone()))
                .collect();
            let mut entries = self.lock();
            if entries.len() >= MAX_CACHED {
                entries.clear();
            }
            entries.insert(key, owned);
        }
        Ok(sums)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SumsKey, CachedSums>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The newest event in either table.
pub async fn newest_data(source: &Source) -> Result<Option<i64>, SourceError> {
    let feed = source.newest_event_time(EventTable::FeedActions).await?;
    let messages = source.newest_event_time(EventTable::MessageActions).await?;
    Ok(feed.max(messages))
}

pub fn source_failed(error: SourceError) -> ApiError {
    tracing::warn!(%error, "experiment page failed");
    ApiError::failed(format!(
        "could not read the experiment's groups: {}",
        crate::redact::scrub(&error.to_string())
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A declared experiment on CTR, group 2 against group 1, running from
    /// `start` to `end` (the replay's tests use it too).
    pub(crate) fn experiment(start: i64, end: Option<i64>) -> ExperimentConfig {
        ExperimentConfig {
            name: "x".into(),
            metrics: vec!["feed_ctr".into()],
            control: vec![1],
            treatments: vec![vec![2]],
            split: vec![1.0, 1.0],
            start,
            end,
            rules: Default::default(),
        }
    }

    #[test]
    fn checkpoints_are_on_the_grid_and_end_at_the_newest_data_or_the_end() {
        let day = 86_400;
        let points = checkpoints(&experiment(0, None), Some(10 * day + 100));
        assert!(points.len() <= MAX_CHECKPOINTS && points.len() > MAX_CHECKPOINTS / 2);
        assert_eq!(*points.last().unwrap(), 10 * day);
        assert!(points.iter().all(|t| t % BUCKET_SECONDS == 0 && *t > 0));
        assert!(points.windows(2).all(|w| w[0] < w[1]));
        // An hour later the earlier points are the same ones.
        let later = checkpoints(&experiment(0, None), Some(10 * day + 3700));
        assert_eq!(later[..points.len() - 1], points[..points.len() - 1]);
        let ended = checkpoints(&experiment(0, Some(day)), Some(10 * day));
        assert_eq!(*ended.last().unwrap(), day);
        // Three buckets in: one checkpoint per bucket.
        let young = checkpoints(&experiment(0, None), Some(3 * BUCKET_SECONDS + 5));
        assert_eq!(young, vec![900, 1800, 2700]);
        assert!(checkpoints(&experiment(day, None), Some(day - 1)).is_empty());
        assert!(checkpoints(&experiment(0, None), None).is_empty());
    }

    #[test]
    fn running_values_read_like_the_metric() {
        let summary = GroupSummary {
            users: 4,
            sum_x: 2.0,
            sum_y: 8.0,
            ..GroupSummary::default()
        };
        let ratio = Aggregate::Ratio {
            numerator: Default::default(),
            denominator: Default::default(),
        };
        assert_eq!(running_value(&ratio, &summary), Some(0.25));
        assert_eq!(running_value(&Aggregate::Count, &summary), Some(0.5));
        let empty = GroupSummary::default();
        assert_eq!(running_value(&ratio, &empty), None);
        assert_eq!(running_value(&Aggregate::Count, &empty), None);
    }
}
