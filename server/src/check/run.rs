//! One check with its consequences: evaluate a bucket, feed the evaluations to
//! the alert lifecycle (state and outbox in one transaction), record the run.
//! An unreadable source opens one "data unavailable" alert (and resolves it
//! when the source answers again) instead of failing silently; a table that
//! stopped receiving events opens one "data stale" alert (resolved when it
//! catches up), and its metrics wait instead of alerting as a drop.

use std::sync::Arc;
use std::time::Instant;

use super::freshness::{missed_buckets, BucketTables, TableState};
use super::{evaluate_all, plan, Evaluation};
use crate::alerts::significance;
use crate::config::AlertingConfig;
use crate::metrics::model::MetricDef;
use crate::metrics::model::BUCKET_SECONDS;
use crate::sources::{Source, SourceError};
use crate::state::State;
use crate::state::{AlertError, AlertStatus, CheckRecord, HistoryFilter, STALE_METRIC};

/// Why a check did not complete.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Store(#[from] AlertError),
}

/// What one check did.
#[derive(Clone, Debug)]
pub struct CheckOutcome {
    pub bucket: i64,
    pub evaluations: Vec<Evaluation>,
    /// Notifications queued by this check.
    pub enqueued: usize,
    pub duration_ms: i64,
}

/// Everything a check needs.
pub struct Checker {
    pub source: Arc<Source>,
    pub metrics: Vec<MetricDef>,
    pub alerting: AlertingConfig,
    pub store: State,
    /// `[[experiments]]`; none: the simulator's, on a simulated store.
    pub experiments: Vec<crate::config::ExperimentConfig>,
    /// `[group_watch]`: the groups no experiment runs on, watched against each other.
    pub group_watch: crate::config::GroupWatchConfig,
}

/// A check of [`Checker::run_due`] that failed, and its bucket.
#[derive(Debug, thiserror::Error)]
#[error("checking {}: {error}", crate::times::format_time(*bucket))]
pub struct DueCheckError {
    pub bucket: i64,
    #[source]
    pub error: CheckError,
}

impl Checker {
    /// Reads what the alert charts of the next check will show into the
    /// embedded store's bucket cache (nothing happens on ClickHouse), so that
    /// delivering an alert reads its chart from memory. `vigil serve` runs it
    /// after each tick, off the path from tick to alert: the first time it
    /// computes two days of every metric and slice, afterwards about one bucket.
    pub async fn warm_charts(&self, now: i64) {
        let started = Instant::now();
        let bucket = plan::newest_complete_bucket(now, self.alerting.schedule.grace_seconds);
        let detectors = crate::settings::in_effect(&self.store, &self.alerting.detectors).await;
        for metric in &self.metrics {
            let lookback = detectors.for_metric(&metric.name).lookback();
            let range = plan::chart_range(bucket, lookback);
            if let Err(error) = self.source.warm(metric, range, &metric.slices).await {
                tracing::debug!(metric = %metric.name, %error, "warming chart data failed");
                return;
            }
        }
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "chart data warmed"
        );
    }

    /// Checks every bucket due at `now`, oldest first: the newest complete
    /// one and, after downtime, the missed ones since the last check (late),
    /// at most `schedule.catch_up_buckets`. Stops at the first failure.
    /// Returns the outcomes (empty when the newest bucket was already checked).
    pub async fn run_due(&self, now: i64) -> Result<Vec<CheckOutcome>, DueCheckError> {
        let schedule = self.alerting.schedule;
        let newest = plan::newest_complete_bucket(now, schedule.grace_seconds);
        let last = self
            .store
            .call(|store| store.last_checked_bucket())
            .await
            .map_err(|error| DueCheckError {
                bucket: newest,
                error: error.into(),
            })?;
        let due = plan::buckets_to_check(last, newest, schedule.catch_up_buckets);
        if due.len() > 1 {
            tracing::warn!(
                missed = due.len() - 1,
                "catching up on buckets missed while down"
            );
        }
        self.run_with_unfinished(due, newest).await
    }

    /// Checks `bucket` (`vigil check --at`), after the checks among the
    /// `schedule.catch_up_buckets` before it that started and did not finish.
    pub async fn run_at(&self, bucket: i64) -> Result<Vec<CheckOutcome>, DueCheckError> {
        self.run_with_unfinished(vec![(bucket, false)], bucket)
            .await
    }

    /// Runs `due` and the unfinished checks up to `newest` (see
    /// [`plan::with_unfinished`]), oldest first; stops at the first failure.
    async fn run_with_unfinished(
        &self,
        due: Vec<(i64, bool)>,
        newest: i64,
    ) -> Result<Vec<CheckOutcome>, DueCheckError> {
        let unfinished = (self.store)
            .call(|store| store.unfinished_checks())
            .await
            .map_err(|error| DueCheckError {
                bucket: newest,
                error: error.into(),
            })?;
        let catch_up = self.alerting.schedule.catch_up_buckets;
        let before: Vec<i64> = due.iter().map(|(bucket, _)| *bucket).collect();
        let due = plan::with_unfinished(due, &unfinished, newest, catch_up);
        let again: Vec<String> = (due.iter())
            .filter(|(bucket, _)| !before.contains(bucket))
            .map(|(bucket, _)| crate::times::format_time(*bucket))
            .collect();
        if !again.is_empty() {
            tracing::warn!(
                buckets = %again.join(", "),
                "running again checks that did not finish (killed or failed)"
            );
        }
        let mut outcomes = Vec::with_capacity(due.len());
        for (bucket, late) in due {
            let outcome = self
                .run(bucket, late, false)
                .await
                .map_err(|error| DueCheckError { bucket, error })?;
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    /// Evaluates `metrics` at `bucket` and judges the results: marked
    /// `late` or not, below the significance floor, inhibited by their
    /// metric's alert.
    pub(super) async fn evaluate(
        &self,
        metrics: &[MetricDef],
        detectors: &crate::detector_choice::DetectorChoice,
        bucket: i64,
        open_since: &crate::evaluation::OpenSince,
        tables: &BucketTables,
        late: bool,
    ) -> Result<Vec<Evaluation>, SourceError> {
        let mut evaluations =
            evaluate_all(&self.source, metrics, detectors, bucket, open_since, tables).await?;
        for evaluation in &mut evaluations {
            evaluation.context.late = late;
        }
        significance::apply(&self.alerting.floor, &mut evaluations, &self.metrics);
        significance::inhibit(&self.alerting.floor, &mut evaluations, open_since);
        Ok(evaluations)
    }

    /// Evaluates `bucket` (marked `late` when caught up after downtime) and
    /// applies the result to the alert state. `dry_run` evaluates only.
    /// Buckets a lagging table's metrics were skipped at are evaluated
    /// (late) first, once the table has passed them.
    pub async fn run(
        &self,
        bucket: i64,
        late: bool,
        dry_run: bool,
    ) -> Result<CheckOutcome, CheckError> {
        let started = Instant::now();
        let queries_before = crate::sources::stats::snapshot().queries;
        let started_at = crate::times::unix_now();
        if !dry_run {
            // Cleared when the run is recorded ok: a kill before that leaves
            // the bucket for the next check to run again.
            (self.store)
                .call(move |store| store.check_started(bucket, started_at))
                .await?;
        }
        let (open_since, latest, stale) = self
            .store
            .call(|store| {
                let stale = HistoryFilter {
                    metric: Some(STALE_METRIC.into()),
                    status: Some(AlertStatus::Firing),
                    ..HistoryFilter::default()
                };
                let stale: Vec<String> = (store.history(&stale, 64)?.into_iter())
                    .filter_map(|alert| alert.slice.map(|table| table.value))
                    .collect();
                Ok::<_, AlertError>((store.open_since()?, store.latest_whole()?, stale))
            })
            .await?;
        let last_evaluated = |metric: &MetricDef| latest.get(&metric.name).map(|l| l.bucket);
        // Settings applied from the web lab take effect here, at the next check.
        let detectors = crate::settings::in_effect(&self.store, &self.alerting.detectors).await;
        let schedule = &self.alerting.schedule;
        let result = async {
            let tables = BucketTables::read(&self.source, &self.metrics, bucket, schedule).await?;
            let mut evaluations = Vec::new();
            // Buckets a lagging table's metrics were skipped at, and that the
            // table has passed since: evaluated first, late; within the lag
            // allowed before "data stale", and not while that alert is open
            // (those buckets were its subject).
            let due = bucket + BUCKET_SECONDS + schedule.grace_seconds;
            let catch_up = i64::try_from(schedule.catch_up_buckets).unwrap_or(i64::MAX);
            let oldest = (due - schedule.stale_after_secs)
                .max(bucket.saturating_sub(catch_up.saturating_mul(BUCKET_SECONDS)));
            for report in &tables.tables {
                if stale.iter().any(|table| table == report.table.as_str()) {
                    continue;
                }
                let metrics: Vec<MetricDef> = (self.metrics.iter())
                    .filter(|m| m.table == report.table)
                    .cloned()
                    .collect();
                let last = metrics.iter().filter_map(last_evaluated).max();
                let limit = schedule.catch_up_buckets;
                for missed in missed_buckets(last, report.newest, bucket, oldest, limit) {
                    tracing::info!(
                        table = report.table.as_str(),
                        bucket = %crate::times::format_time(missed),
                        "catching up on a bucket the table had not reached when it was checked"
                    );
                    let assessed = BucketTables::assess(
                        tables.watermarks,
                        &metrics,
                        missed,
                        schedule.grace_seconds,
                        schedule.stale_after_secs,
                    );
                    let batch = self
                        .evaluate(&metrics, &detectors, missed, &open_since, &assessed, true)
                        .await?;
                    evaluations.extend(batch);
                }
            }
            let current = self
                .evaluate(
                    &self.metrics,
                    &detectors,
                    bucket,
                    &open_since,
                    &tables,
                    late,
                )
                .await?;
            evaluations.extend(current);
            let experiments = super::experiments::in_effect(&self.source, &self.experiments).await;
            let judged = super::experiments::evaluate_experiments(
                &self.source,
                &experiments,
                &self.metrics,
                bucket,
            )
            .await?;
            evaluations.extend(judged);
            let watched = super::group_watch::evaluate_group_watch(
                &self.source,
                &self.group_watch,
                &experiments,
                &self.metrics,
                bucket,
            )
            .await?;
            evaluations.extend(watched);
            Ok::<_, SourceError>((tables, evaluations))
        }
        .await;
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (tables, evaluations) = match result {
            Ok(checked) => checked,
            Err(error) => {
                if !dry_run {
                    let reason = error.to_string();
                    let record = CheckRecord {
                        bucket,
                        started_at,
                        duration_ms,
                        ok: false,
                        late,
                        evaluated: 0,
                        anomalies: 0,
                        error: Some(reason.clone()),
                    };
                    self.store
                        .call(move |store| {
                            store.source_unavailable(&reason, started_at)?;
                            store.record_check(&record)
                        })
                        .await?;
                }
                return Err(error.into());
            }
        };
        let anomalies = evaluations.iter().filter(|e| e.point.is_anomaly).count();
        let mut enqueued = 0;
        if !dry_run {
            let lifecycle = self.alerting.lifecycle;
            let to_apply = evaluations.clone();
            let staleness = staleness(&tables, bucket, schedule);
            let inputs = super::late::inputs_of(&evaluations);
            let forget = super::late::oldest_recheckable(bucket, schedule.late_rows_secs);
            let record = CheckRecord {
                bucket,
                started_at,
                duration_ms,
                ok: true,
                late,
                evaluated: to_apply.len() as i64,
                anomalies: anomalies as i64,
                error: None,
            };
            enqueued = self
                .store
                .call(move |store| {
                    let now = crate::times::unix_now();
                    let mut back = store.source_available(now)?.into_iter().count();
                    for (table, stale) in &staleness {
                        let notice = match stale {
                            Some(reason) => store.data_stale(table, reason, now)?,
                            None => store.data_fresh(table, now)?,
                        };
                        back += notice.into_iter().count();
                    }
                    let items = store.apply(&to_apply, now, &lifecycle)?;
                    // Experiment verdicts are alerts, not series: no newest value.
                    let (_, series): (Vec<_>, Vec<_>) = (to_apply.into_iter())
                        .partition(|e| super::experiments::is_experiment_metric(&e.metric));
                    store.record_latest(&series)?;
                    store.record_inputs(&inputs, forget)?;
                    store.record_check(&record)?;
                    Ok::<_, AlertError>(back + items.len())
                })
                .await?;
            enqueued += self.recheck_late_rows(bucket, &detectors, &tables).await;
        }
        tracing::info!(
            bucket = %crate::times::format_time(bucket),
            late,
            evaluated = evaluations.len(),
            anomalies,
            enqueued,
            duration_ms,
            // Sent by this process meanwhile (a `vigil serve` also counts its
            // web pages'): the figure that must not grow with the slices.
            queries = crate::sources::stats::snapshot().queries - queries_before,
            // Tables that have not passed the bucket (or are stale): their
            // metrics were not evaluated.
            waiting_for = %tables.skipped().join(","),
            "check done"
        );
        Ok(CheckOutcome {
            bucket,
            evaluations,
            enqueued,
            duration_ms,
        })
    }
}

/// Each assessed table by name, with the "data stale" notice it is in (or
/// `None` when it is fresh enough: any open stale alert of it resolves).
/// An empty table never opens one (see [`super::freshness::table_state`]).
fn staleness(
    tables: &BucketTables,
    bucket: i64,
    schedule: &crate::config::ScheduleConfig,
) -> Vec<(String, Option<String>)> {
    use crate::times::format_time;
    let due = bucket + BUCKET_SECONDS + schedule.grace_seconds;
    tables
        .tables
        .iter()
        .map(|report| {
            let name = report.table.as_str();
            let reason = match (report.state, report.newest) {
                (TableState::Stale, Some(newest)) => Some(format!(
                    "the newest event in {name} is from {} UTC, {} before the check of {} \
                     (stale after {})",
                    format_time(newest),
                    app::format::duration(due - newest),
                    format_time(bucket),
                    app::format::duration(schedule.stale_after_secs),
                )),
                _ => None,
            };
            (name.to_string(), reason)
        })
        .collect()
}
