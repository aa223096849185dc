//! Experiments at each check: per running experiment, one sample ratio test
//! over its arms' users and, per metric and treatment arm, the sequential
//! comparison with control (`detect::experiments::judge`) on the running
//! totals since its start (docs/experiments.md).
//!
//! Each verdict becomes an [`Evaluation`] of a pseudo-metric, so experiment
//! alerts follow the metric alerts' lifecycle unchanged (one message,
//! edited when it resolves, buttons, silences, the outbox):
//! `experiment:<name>:<metric>` with the treatment arm as slice
//! `exp_group=<groups>`, and `experiment:<name>:sample-ratio` (no slice).

use std::sync::Mutex;

use detect::experiments::{judge, GroupSummary, MetricKind, SrmTest, Verdict};
use detect::Point;

use crate::config::ExperimentConfig;
use crate::evaluation::{AlertContext, Evaluation, ExperimentEffect, ExperimentFinding};
use crate::metrics::model::{Aggregate, MetricDef, SliceKey, TimeRange, BUCKET_SECONDS};
use crate::sources::experiment_cache::SumsCache;
use crate::sources::{Source, SourceError};

/// The names of experiment alerts' metrics, kept with the declarations the
/// config validates them against.
pub use crate::config::experiments::{PREFIX, SAMPLE_RATIO};
/// The detector an experiment alert names.
const DETECTOR: &str = "msprt";
/// How long after its end an experiment is still evaluated (on its whole
/// run, never alerting), so that its open alerts resolve: a day of checks.
const AFTER_END: i64 = 86_400;

/// The pseudo-metric of an experiment's comparison on `metric`.
pub fn alert_metric(experiment: &str, metric: &str) -> String {
    format!("{PREFIX}{experiment}:{metric}")
}

/// Whether an alert's metric is an experiment's.
pub fn is_experiment_metric(metric: &str) -> bool {
    metric.starts_with(PREFIX)
}

/// "group 1" or "groups 3+4".
pub fn arm_label(groups: &[u8]) -> String {
    let list: Vec<String> = groups.iter().map(u8::to_string).collect();
    match list.len() {
        1 => format!("group {}", list[0]),
        _ => format!("groups {}", list.join("+")),
    }
}

/// The experiments a check compares: the config's, or when it declares
/// none, those the simulator's labels in the source describe (a store
/// without them, or without a labels table, has none).
pub async fn in_effect(source: &Source, configured: &[ExperimentConfig]) -> Vec<ExperimentConfig> {
    if !configured.is_empty() {
        return configured.to_vec();
    }
    let all = TimeRange {
        from: 0,
        to: crate::times::MAX_TIME,
    };
    match source.incidents(all).await {
        Ok(labels) => crate::simulator::experiments::declared(&labels),
        Err(error) => {
            tracing::debug!(%error, "no experiment labels in the source");
            Vec::new()
        }
    }
}

/// Judges every experiment that runs at `bucket` (or ended within a day
/// before it) on its totals up to the bucket's end.
pub async fn evaluate_experiments(
    source: &Source,
    experiments: &[ExperimentConfig],
    metrics: &[MetricDef],
    bucket: i64,
) -> Result<Vec<Evaluation>, SourceError> {
    let sums = &crate::sources::experiment_sums::CACHE;
    evaluate_experiments_in(source, sums, experiments, metrics, bucket).await
}

/// [`evaluate_experiments`] with its running sums kept in `sums`: a replay
/// walks past buckets forward through its own, since the process's are
/// already past them (they would answer each bucket with a grouped query
/// over the whole run).
pub async fn evaluate_experiments_in(
    source: &Source,
    sums: &Mutex<SumsCache>,
    experiments: &[ExperimentConfig],
    metrics: &[MetricDef],
    bucket: i64,
) -> Result<Vec<Evaluation>, SourceError> {
    let end_of_bucket = bucket + BUCKET_SECONDS;
    let mut evaluations = Vec::new();
    for experiment in experiments {
        let to = experiment
            .end
            .map_or(end_of_bucket, |end| end.min(end_of_bucket));
        let judged = experiment.start < to
            && experiment
                .end
                .is_none_or(|end| end_of_bucket <= end.saturating_add(AFTER_END));
        if !judged {
            continue;
        }
        let range = TimeRange {
            from: experiment.start,
            to,
        };
        let read = read_sums_in(source, sums, experiment, metrics, range).await?;
        let mut judged = judge_sums(experiment, &read, bucket);
        // An experiment that ended alerts no more: its open alerts resolve.
        if experiment.end.is_some_and(|end| end < end_of_bucket) {
            for evaluation in &mut judged {
                evaluation.point.is_anomaly = false;
            }
        }
        evaluations.extend(judged);
    }
    Ok(evaluations)
}

/// The group sums of each arm, control first.
fn arms(experiment: &ExperimentConfig, sums: &[(u8, GroupSummary)]) -> Vec<GroupSummary> {
    experiment
        .arms()
        .map(|groups| {
            (sums.iter())
                .filter(|(group, _)| groups.contains(group))
                .fold(GroupSummary::default(), |arm, (_, s)| arm.merged(s))
        })
        .collect()
}

/// The compared metrics (those of the catalogue, in the declared order),
/// each with its group sums over `range`.
pub type MetricSums<'a> = Vec<(&'a MetricDef, Vec<(u8, GroupSummary)>)>;

/// Reads the group sums of each of the experiment's metrics over `range`:
/// per metric, the source's running sums since the start plus what settled
/// since the last call and the unsettled tail, or one grouped query for a
/// range ending before what is kept (`crate::sources::experiment_cache`).
pub async fn read_sums<'a>(
    source: &Source,
    experiment: &ExperimentConfig,
    metrics: &'a [MetricDef],
    range: TimeRange,
) -> Result<MetricSums<'a>, SourceError> {
    let cache = &crate::sources::experiment_sums::CACHE;
    read_sums_in(source, cache, experiment, metrics, range).await
}

/// [`read_sums`] through the running sums kept in `cache`.
async fn read_sums_in<'a>(
    source: &Source,
    cache: &Mutex<SumsCache>,
    experiment: &ExperimentConfig,
    metrics: &'a [MetricDef],
    range: TimeRange,
) -> Result<MetricSums<'a>, SourceError> {
    let groups = experiment.groups();
    let mut sums = Vec::new();
    for name in &experiment.metrics {
        if let Some(metric) = metrics.iter().find(|m| &m.name == name) {
            sums.push((
                metric,
                source.group_sums_in(cache, metric, range, &groups).await?,
            ));
        }
    }
    Ok(sums)
}

/// The check's verdicts on `sums` (totals up to the end of `bucket`): the
/// sample ratio evaluation first, then one per metric and treatment arm.
/// The experiment page judges its checkpoints with it too, so the page and
/// the alerts agree.
pub fn judge_sums(
    experiment: &ExperimentConfig,
    sums: &MetricSums<'_>,
    bucket: i64,
) -> Vec<Evaluation> {
    let Some((_, first)) = sums.first() else {
        return Vec::new();
    };
    // Users are the exposed users of either table: the same for every metric.
    let users: Vec<u64> = arms(experiment, first).iter().map(|a| a.users).collect();
    let total: u64 = users.iter().sum();
    let weights: f64 = experiment.split.iter().sum();
    let labels: Vec<String> = experiment.arms().map(arm_label).collect();
    let srm = SrmTest::run(&users, &experiment.split).ok();
    let srm_p_value = srm.as_ref().map_or(1.0, |srm| srm.sequential_p_value);
    let finding = ExperimentFinding {
        experiment: experiment.name.clone(),
        since: experiment.start,
        effect: None,
        users: (labels.iter().zip(&users).zip(&experiment.split))
            .map(|((label, n), w)| (label.clone(), *n, total as f64 * w / weights))
            .collect(),
        srm_p_value,
    };
    let mismatch = srm_p_value < experiment.rules.srm_alpha;
    let mut evaluations = vec![Evaluation {
        metric: alert_metric(&experiment.name, SAMPLE_RATIO),
        slice: None,
        bucket,
        detector: "sequential sample ratio test".into(),
        point: Point {
            value: Some(srm_p_value),
            upper: Some(experiment.rules.srm_alpha),
            is_anomaly: mismatch,
            ..Point::default()
        },
        context: AlertContext {
            experiment: Some(finding.clone()),
            ..AlertContext::default()
        },
    }];
    for (metric, sums) in sums {
        let kind = match metric.aggregate {
            Aggregate::Ratio { .. } => MetricKind::Ratio,
            Aggregate::Count => MetricKind::PerUser,
            // A distinct-user count is 1 per user: the sample ratio test covers it.
            Aggregate::Distinct { .. } => continue,
        };
        let per_user = |arm: GroupSummary| match kind {
            MetricKind::PerUser => GroupSummary::per_user(arm.users, arm.sum_x, arm.sum_xx),
            _ => arm,
        };
        let arms: Vec<GroupSummary> = arms(experiment, sums).into_iter().map(per_user).collect();
        for (index, treatment) in experiment.treatments.iter().enumerate() {
            let decision = judge(
                &experiment.rules,
                kind,
                &arms[0],
                &arms[index + 1],
                srm.as_ref(),
            );
            let decision = match decision {
                Ok(decision) => decision,
                Err(error) => {
                    tracing::warn!(experiment = %experiment.name, metric = %metric.name, %error, "experiment not judged");
                    continue;
                }
            };
            let effect = decision.effect.map(|effect| ExperimentEffect {
                metric_title: metric.title.clone(),
                control: labels[0].clone(),
                treatment: labels[index + 1].clone(),
                relative: effect.estimate.relative,
                interval: effect.interval,
                confidence: 1.0 - experiment.rules.alpha,
                p_value: effect.p_value,
            });
            let point = decision.effect.map_or_else(Point::default, |effect| {
                let (control, treatment) = (effect.estimate.control, effect.estimate.treatment);
                Point {
                    value: Some(treatment),
                    expected: Some(control),
                    lower: Some(control * (1.0 + effect.interval.0)),
                    upper: Some(control * (1.0 + effect.interval.1)),
                    is_anomaly: decision.verdict == Verdict::Diverged,
                    score: 0.0,
                    deviation: Some(effect.estimate.relative),
                }
            });
            let value: Vec<String> = treatment.iter().map(u8::to_string).collect();
            evaluations.push(Evaluation {
                metric: alert_metric(&experiment.name, &metric.name),
                slice: Some(SliceKey {
                    dimension: "exp_group".into(),
                    value: value.join("+"),
                }),
                bucket,
                detector: DETECTOR.into(),
                point,
                context: AlertContext {
                    experiment: Some(ExperimentFinding {
                        effect,
                        ..finding.clone()
                    }),
                    ..AlertContext::default()
                },
            });
        }
    }
    evaluations
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arms_pool_their_groups_and_are_labelled() {
        let experiment = ExperimentConfig {
            name: "x".into(),
            metrics: vec!["feed_ctr".into()],
            control: vec![0],
            treatments: vec![vec![3, 4]],
            split: vec![1.0, 2.0],
            start: 0,
            end: None,
            rules: Default::default(),
        };
        let one = |users| GroupSummary::per_user(users, 2.0 * users as f64, 5.0 * users as f64);
        let sums = [(0, one(10)), (3, one(7)), (4, one(5)), (9, one(100))];
        let arms = arms(&experiment, &sums);
        assert_eq!(arms[0], one(10));
        assert_eq!(arms[1], one(7).merged(&one(5)));
        assert_eq!(arm_label(&[3, 4]), "groups 3+4");
        assert_eq!(arm_label(&[1]), "group 1");
        assert_eq!(alert_metric("x", "feed_ctr"), "experiment:x:feed_ctr");
        assert!(is_experiment_metric("experiment:x:sample-ratio"));
        assert!(!is_experiment_metric("feed_ctr"));
    }
}
