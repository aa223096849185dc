//! The undeclared-group watch: users are split into `exp_group`s by a salted
//! hash, so every group is a random sample of one population, and a group
//! that no running experiment explains should not drift away from the
//! others. Each check compares each watched group with the other watched
//! groups pooled, on the watch's metrics, and checks that the groups' user
//! shares stay equal (docs/experiments.md, "Watching groups without a
//! declaration").
//!
//! It reuses the declared experiments' whole path: the same per-user sums
//! (`experiments::read_sums`), the same verdicts (`experiments::judge_sums`,
//! so the same linearised CTR, always-valid p-values and sequential sample
//! ratio test), and its verdicts are experiment alerts of the reserved name
//! [`NAME`]: `experiment:group-watch:<metric>` with the group as slice
//! `exp_group=<g>`, and `experiment:group-watch:sample-ratio`, so they follow
//! the same lifecycle, buttons and `[[silences]]`.
//!
//! The window: whole UTC days, the bucket's own and `days - 1` before it.
//! Its start moves once a day, so within a day the sums are running totals
//! from a fixed start, which is what the always-valid p-value assumes; a
//! window moving every bucket would make each check a new test.

use crate::config::{ExperimentConfig, GroupWatchConfig};
use crate::evaluation::Evaluation;
use crate::metrics::model::{MetricDef, TimeRange, BUCKET_SECONDS};
use crate::sources::{Source, SourceError};

use super::experiments::{judge_sums, read_sums, MetricSums};

pub use crate::config::group_watch::NAME;

const DAY: i64 = 86_400;

/// The window the watch judges at `bucket`: from midnight UTC `days - 1`
/// days before the bucket's day to the bucket's end.
pub fn window(days: i64, bucket: i64) -> TimeRange {
    let day = bucket.div_euclid(DAY) * DAY;
    TimeRange {
        from: day - (days - 1) * DAY,
        to: bucket + BUCKET_SECONDS,
    }
}

/// The groups the watch may compare over `window`: the configured ones (or
/// every group), less those of every experiment whose run overlaps the
/// window: their data in it carries the experiment's effect, which the
/// experiment's own alert reports (one cause, one alert).
pub fn candidate_groups(
    watch: &GroupWatchConfig,
    experiments: &[ExperimentConfig],
    window: TimeRange,
) -> Vec<u8> {
    let taken: Vec<u8> = (experiments.iter())
        .filter(|e| e.start < window.to && e.end.is_none_or(|end| end > window.from))
        .flat_map(ExperimentConfig::groups)
        .collect();
    let all: Vec<u8> = if watch.groups.is_empty() {
        (0..=u8::MAX).collect()
    } else {
        watch.groups.clone()
    };
    all.into_iter().filter(|g| !taken.contains(g)).collect()
}

/// The watch's verdicts at `bucket`: none when it is off or fewer than two
/// groups remain to compare.
pub async fn evaluate_group_watch(
    source: &Source,
    watch: &GroupWatchConfig,
    experiments: &[ExperimentConfig],
    metrics: &[MetricDef],
    bucket: i64,
) -> Result<Vec<Evaluation>, SourceError> {
    if !watch.enabled || watch.metrics.is_empty() {
        return Ok(Vec::new());
    }
    let window = window(watch.days, bucket);
    let groups = candidate_groups(watch, experiments, window);
    if groups.len() < 2 {
        return Ok(Vec::new());
    }
    let all = as_experiment(watch, vec![groups], Vec::new(), window.from);
    let sums = read_sums(source, &all, metrics, window).await?;
    Ok(judge_groups(watch, &sums, window.from, bucket))
}

/// The watch's verdicts on `sums` (per-user sums over the window starting
/// at `since`, up to the end of `bucket`): the sample ratio test over every
/// group with users (equal split) first, then per metric each group against
/// the others pooled.
pub fn judge_groups(
    watch: &GroupWatchConfig,
    sums: &MetricSums<'_>,
    since: i64,
    bucket: i64,
) -> Vec<Evaluation> {
    let Some((_, first)) = sums.first() else {
        return Vec::new();
    };
    // Users are the exposed users of either table: the same for every metric.
    let groups: Vec<u8> = (first.iter())
        .filter(|(_, sum)| sum.users > 0)
        .map(|(group, _)| *group)
        .collect();
    if groups.len() < 2 {
        return Vec::new();
    }
    // One arm per group, equal weights: its sample ratio evaluation is the
    // watch's (its comparisons, each group against the first, are not).
    let each = (groups.iter().skip(1)).map(|g| vec![*g]).collect();
    let all = as_experiment(watch, vec![vec![groups[0]]], each, since);
    let mut evaluations: Vec<Evaluation> =
        judge_sums(&all, sums, bucket).into_iter().take(1).collect();
    for group in &groups {
        let rest: Vec<u8> = groups.iter().copied().filter(|g| g != group).collect();
        let one = as_experiment(watch, vec![rest], vec![vec![*group]], since);
        // Its own sample ratio test (this group against the rest, weighted
        // by their number) only gates its comparisons: the one above alerts.
        evaluations.extend(judge_sums(&one, sums, bucket).into_iter().skip(1));
    }
    evaluations
}

/// The watch as an experiment: `control` pooled (one arm), each of
/// `treatments` an arm, weighted by its number of groups (equal groups).
fn as_experiment(
    watch: &GroupWatchConfig,
    control: Vec<Vec<u8>>,
    treatments: Vec<Vec<u8>>,
    since: i64,
) -> ExperimentConfig {
    let control: Vec<u8> = control.into_iter().flatten().collect();
    let split = std::iter::once(control.len())
        .chain(treatments.iter().map(Vec::len))
        .map(|n| n as f64)
        .collect();
    ExperimentConfig {
        name: NAME.into(),
        metrics: watch.metrics.clone(),
        control,
        treatments,
        split,
        start: since,
        end: None,
        rules: watch.rules,
    }
}

#[cfg(test)]
#[path = "group_watch_tests.rs"]
mod tests;
