//! The experiment page's replay: what the live checks of an experiment
//! would have sent over the last days of its runtime, computed by the
//! check's own replay ([`crate::check::experiment_replay::replay_experiment`]:
//! the same verdicts, the same lifecycle) with this server's lifecycle and
//! the silences in force then, as the lab's replay is for a metric. Other
//! rules (alpha, minimum effect) make it a what-if.

use app::api::backend::ApiResult;
use app::api::{ExperimentReplay, ReplayRules, ReplayedNotification};

use super::experiments::{find, newest_data, source_failed};
use crate::alerts::AlertConfig;
use crate::check::experiment_replay::{replay_experiment, Replayed};
use crate::check::experiments::{alert_metric, arm_label, SAMPLE_RATIO};
use crate::config::ExperimentConfig;
use crate::metrics::model::{MetricDef, BUCKET_SECONDS};
use crate::sources::Source;
use crate::state::State;

/// What the replay reads and the rules it applies, as the server has them.
pub struct ReplayContext<'a> {
    pub source: &'a Source,
    pub store: &'a State,
    /// `[[experiments]]` (none: the simulator's).
    pub configured: &'a [ExperimentConfig],
    pub metrics: &'a [MetricDef],
    /// The check's lifecycle and its grace after a bucket's end.
    pub lifecycle: AlertConfig,
    pub grace_secs: i64,
    pub utc_offset_minutes: i32,
}

/// Replays experiment `name`'s checks under `rules` (already checked).
pub async fn load(
    context: &ReplayContext<'_>,
    name: &str,
    rules: ReplayRules,
) -> ApiResult<ExperimentReplay> {
    let configured = find(context.source, context.configured, name).await?;
    let experiment = what_if(&configured, rules);
    let newest = newest_data(context.source).await.map_err(source_failed)?;
    let span = span(&experiment, newest, rules.days, &context.lifecycle);
    let mut notifications = Vec::new();
    if let Some((first, last)) = span {
        let silences = silences(
            context.store,
            first,
            last + BUCKET_SECONDS + context.grace_secs,
        )
        .await;
        let lifecycle = (&context.lifecycle, &silences[..], context.grace_secs);
        let replayed = replay_experiment(
            context.source,
            &experiment,
            context.metrics,
            lifecycle,
            (first, last),
        )
        .await
        .map_err(source_failed)?;
        notifications = (replayed.iter())
            .map(|r| notification(r, &experiment, context.metrics, context.utc_offset_minutes))
            .collect();
    }
    Ok(ExperimentReplay {
        span,
        alpha: experiment.rules.alpha,
        min_effect: experiment.rules.min_effect,
        utc_offset_minutes: context.utc_offset_minutes,
        notifications,
    })
}

/// The experiment with the what-if's alpha and minimum effect in place of its own.
pub fn what_if(experiment: &ExperimentConfig, rules: ReplayRules) -> ExperimentConfig {
    ExperimentConfig {
        rules: detect::experiments::Rules {
            alpha: rules.alpha.unwrap_or(experiment.rules.alpha),
            min_effect: rules.min_effect.unwrap_or(experiment.rules.min_effect),
            ..experiment.rules
        },
        ..experiment.clone()
    }
}

/// First and last bucket replayed: the last `days` of the experiment's
/// runtime up to the newest complete bucket (the one before the bucket the
/// newest event falls in), and after an end the few checks that resolve
/// what was still open (the lifecycle's calm buckets). `None` before there
/// is a complete bucket since the start.
pub fn span(
    experiment: &ExperimentConfig,
    newest: Option<i64>,
    days: u32,
    lifecycle: &AlertConfig,
) -> Option<(i64, i64)> {
    let grid = |t: i64| t.div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS;
    let complete = grid(newest?) - BUCKET_SECONDS;
    let origin = grid(experiment.start);
    // The check of the bucket holding the end's last second is its last
    // running one; those after it only resolve.
    let (running, last) = match experiment.end {
        Some(end) => {
            let end_bucket = grid(end - 1);
            let tail = i64::from(lifecycle.resolve_after) + 1;
            (
                complete.min(end_bucket),
                complete.min(end_bucket + tail * BUCKET_SECONDS),
            )
        }
        None => (complete, complete),
    };
    let first = origin.max(running - i64::from(days) * 86_400 + BUCKET_SECONDS);
    (first <= last && origin <= running).then_some((first, last))
}

/// The silences (configured, from buttons or the UI, ended or not) in force
/// at some check between `from` and `to`, so the replay mutes what the
/// check muted. Without them it still shows every notification, only not
/// which were muted, so a failed read is logged, not fatal.
async fn silences(store: &State, from: i64, to: i64) -> Vec<detect::alerting::Silence> {
    store
        .call(move |store| store.silences_overlapping(from, to))
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "silences for the experiment replay");
            Vec::new()
        })
}

/// One replayed step as the page lists it: when, what, about which
/// comparison, and the alert's finding in its words.
pub fn notification(
    replayed: &Replayed,
    experiment: &ExperimentConfig,
    metrics: &[MetricDef],
    utc_offset_minutes: i32,
) -> ReplayedNotification {
    let evaluation = &replayed.evaluation;
    let finding = evaluation.context.experiment.as_ref();
    let sample_ratio = evaluation.metric == alert_metric(&experiment.name, SAMPLE_RATIO);
    let metric = evaluation
        .metric
        .strip_prefix(&alert_metric(&experiment.name, ""))
        .unwrap_or(&evaluation.metric);
    let subject = match metrics.iter().find(|m| m.name == metric) {
        _ if sample_ratio => "Sample ratio".to_string(),
        Some(def) => def.title.clone(),
        None => metric.to_string(),
    };
    let arm = evaluation.slice.as_ref().map(|slice| {
        let groups: Vec<u8> = (slice.value.split('+'))
            .filter_map(|g| g.parse().ok())
            .collect();
        arm_label(&groups)
    });
    let message = match finding {
        Some(finding) => match &finding.effect {
            Some(effect) => effect.sentence(finding.since, utc_offset_minutes),
            None if sample_ratio && evaluation.point.is_anomaly => format!(
                "Users per group do not match the configured split (sequential p = {})",
                app::format::p_value(finding.srm_p_value)
            ),
            None if sample_ratio => format!(
                "Group sizes match the split (sequential p = {})",
                app::format::p_value(finding.srm_p_value)
            ),
            None => "Nothing to compare: too few users (or no events) in a group".to_string(),
        },
        None => evaluation.metric.clone(),
    };
    ReplayedNotification {
        bucket: replayed.step.bucket,
        notify: replayed.step.notify,
        muted: replayed.step.muted,
        subject,
        arm,
        message,
    }
}

#[cfg(test)]
#[path = "experiment_replay_tests.rs"]
mod tests;
