//! Late rows: the value each check judged a whole metric's bucket by, kept
//! for `[schedule] late_rows_minutes`, so that a later check sees rows that
//! arrived after it and checks that bucket once more ([`LateRows`]). What a
//! re-check changes is worked out once for every store ([`apply_late`]): an
//! alert opened on data that later arrived is withdrawn (its message edited
//! to say so), and an anomaly the late rows show opens late.

use std::collections::HashMap;

use detect::alerting::Judgment;

use crate::alerts::{self, AlertConfig, AlertId, Notify, OpenAlert, SeriesState, Silence, Step};
use crate::evaluation::Evaluation;
use crate::metrics::model::{SliceKey, BUCKET_SECONDS};

use super::records::{record_step, Transact};
use super::{AlertError, OutboxItem};

/// What a check judged one whole metric's bucket by.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedInput {
    pub metric: String,
    /// Start of the bucket (unix seconds).
    pub bucket: i64,
    /// The value it read (none: a gap).
    pub value: Option<f64>,
}

/// The checked buckets' inputs and their one re-check.
pub trait LateRows {
    /// Remembers the value each whole metric was judged by at its bucket (a
    /// bucket checked again keeps the newer value, and whether it was
    /// re-checked), and forgets the buckets before `forget_before`.
    fn record_inputs(
        &mut self,
        inputs: &[CheckedInput],
        forget_before: i64,
    ) -> Result<(), AlertError>;

    /// The inputs of buckets from `from` up to (not including) `to` that were
    /// not re-checked yet, oldest first, by metric.
    fn inputs_to_recheck(&self, from: i64, to: i64) -> Result<Vec<CheckedInput>, AlertError>;

    /// Records the re-check of the `rechecked` buckets (their new values;
    /// never re-checked again) and applies its `evaluations` in the same
    /// transaction (see [`apply_late`]). Returns the enqueued items.
    fn apply_late(
        &mut self,
        rechecked: &[CheckedInput],
        evaluations: &[Evaluation],
        now: i64,
        config: &AlertConfig,
    ) -> Result<Vec<OutboxItem>, AlertError>;
}

/// [`LateRows::apply_late`] on any store: marks the inputs re-checked, then
/// for each evaluation of a re-checked bucket changes what the late rows
/// change ([`late_step`]), writing the alert, its history and the
/// notification like a check does.
pub(crate) fn apply_late(
    store: &mut impl Transact,
    rechecked: &[CheckedInput],
    evaluations: &[Evaluation],
    now: i64,
    config: &AlertConfig,
) -> Result<Vec<OutboxItem>, AlertError> {
    let enqueued = store.transact(|rows| {
        for input in rechecked {
            rows.mark_rechecked(input)?;
        }
        let silences = rows.active_silences(now)?;
        let mut next_id = rows.next_alert_id()?;
        let mut enqueued = Vec::new();
        let mut normal_runs: HashMap<Series<'_>, NormalRun> = HashMap::new();
        for evaluation in evaluations {
            let mut state = rows.load_state(evaluation)?;
            let judgment = evaluation.judgment();
            let key = (evaluation.metric.as_str(), evaluation.slice.as_ref());
            let run = normal_runs.get(&key).copied();
            let follows = |(last, _): (i64, Option<i64>)| last + BUCKET_SECONDS == judgment.bucket;
            let normal_since = reads_normal(&judgment, config).then(|| {
                run.filter(|run| follows(*run))
                    .and_then(|(_, since)| since)
                    .unwrap_or(judgment.bucket)
            });
            normal_runs.insert(key, (judgment.bucket, normal_since));
            let late = late_step(
                &mut state,
                &judgment,
                normal_since.unwrap_or(judgment.bucket),
                (now, config, &silences),
                || {
                    next_id += 1;
                    next_id - 1
                },
            );
            let Some(late) = late else {
                continue;
            };
            let note = (late.withdrawn).then(|| withdrawn_note(evaluation, late.step.started_at));
            if let Some(item) = record_step(rows, evaluation, &late.step, now, note.as_deref())? {
                enqueued.push(item);
            }
            rows.save_state(evaluation, &state)?;
        }
        Ok(enqueued)
    })?;
    if !enqueued.is_empty() {
        let withdrawn = enqueued
            .iter()
            .filter(|i| i.payload.notice.is_some())
            .count();
        tracing::info!(
            withdrawn,
            opened = enqueued.len() - withdrawn,
            "late rows re-checked: notifications enqueued"
        );
    }
    Ok(enqueued)
}

/// A series: its metric and slice.
type Series<'a> = (&'a str, Option<&'a SliceKey>);

/// Per series, in a re-check: the last bucket seen, and the first of the
/// re-checked buckets in a row up to it that all read normal (none when it
/// did not).
type NormalRun = (i64, Option<i64>);

/// What the message of a withdrawn alert that started at `started_at` says
/// instead of its state.
fn withdrawn_note(evaluation: &Evaluation, started_at: i64) -> String {
    use app::format::{number, time, Digits, When};
    let buckets = if started_at < evaluation.bucket {
        format!(
            "{}–{}",
            time(started_at, When::Hour),
            time(evaluation.bucket, When::Clock)
        )
    } else {
        time(evaluation.bucket, When::Clock)
    };
    format!(
        "the data for {buckets} arrived late; with it the value ({}) is in band",
        number(evaluation.point.value, Digits::Exact)
    )
}

/// One change a re-check makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LateStep {
    pub step: Step,
    /// The alert opened at the bucket is withdrawn (a resolution at the
    /// bucket itself, its message edited to say the data arrived late);
    /// otherwise the step opens an alert late.
    pub withdrawn: bool,
}

/// Whether a judgment reads as normal: a value judged and not anomalous
/// (a gap, or a detector still warming up, reads as neither).
pub(crate) fn reads_normal(judgment: &Judgment<'_>, config: &AlertConfig) -> bool {
    let p = &judgment.point;
    let judged = p.lower.is_some() || p.upper.is_some() || p.expected.is_some();
    !reads_anomalous(judgment, config) && judged && p.value.is_some_and(f64::is_finite)
}

/// Whether a judgment opens an alert on a series without one (the
/// lifecycle's own rule).
fn reads_anomalous(judgment: &Judgment<'_>, config: &AlertConfig) -> bool {
    let fresh = &mut SeriesState::default();
    alerts::step(fresh, judgment, judgment.bucket, config, &[], || 0).is_some()
}

/// Applies the re-check of the judgment's bucket `b` to a series checked
/// up to a later (or the same) bucket; pure, like [`alerts::step`].
/// `normal_since` is the first of the re-checked buckets in a row up to `b`
/// that all read normal (`b` itself when only it does).
/// - Back in band at `b`: an alert none of whose buckets is anomalous any
///   more (it opened at or after `normal_since` and saw only normal buckets
///   after `b`; still open, or resolved at the first chance) is withdrawn;
///   it does not count as a recent resolution to reopen.
/// - Anomalous at `b`, with no alert open and none that covered `b`: an
///   alert opens at `b` (its buckets since then count as calm ones).
///
/// Anything else (a gap, an alert that went on firing after `b`, a bucket
/// the series was never checked at) changes nothing.
pub(crate) fn late_step(
    state: &mut SeriesState,
    judgment: &Judgment<'_>,
    normal_since: i64,
    (now, config, silences): (i64, &AlertConfig, &[Silence]),
    new_id: impl FnOnce() -> AlertId,
) -> Option<LateStep> {
    let bucket = judgment.bucket;
    let last = state.last_bucket.filter(|last| *last >= bucket)?;
    let since = u32::try_from((last - bucket) / BUCKET_SECONDS).unwrap_or(u32::MAX);
    let muted = alerts::is_muted(silences, judgment.metric, judgment.slice, now);
    let anomalous = reads_anomalous(judgment, config);
    let normal = reads_normal(judgment, config);
    let withdraw = |id: AlertId, started_at: i64, announced: bool| LateStep {
        step: Step {
            alert_id: id,
            bucket,
            notify: Notify::Resolved { lasted_secs: 0 },
            muted: muted || !announced,
            started_at,
        },
        withdrawn: true,
    };
    if normal {
        if let Some(open) = state.open.clone() {
            if (normal_since..=bucket).contains(&open.started_at) && open.calm >= since {
                state.open = None;
                return Some(withdraw(open.id, open.started_at, open.announced));
            }
            return None;
        }
        let resolved = state.resolved.clone()?;
        let at_first_chance = resolved.resolved_at - bucket
            <= i64::from(config.resolve_after.max(1)) * BUCKET_SECONDS;
        if (normal_since..=bucket).contains(&resolved.started_at) && at_first_chance {
            state.resolved = None;
            return Some(withdraw(
                resolved.id,
                resolved.started_at,
                resolved.announced,
            ));
        }
        return None;
    }
    let covered = state
        .resolved
        .as_ref()
        .is_some_and(|r| r.resolved_at >= bucket);
    if !anomalous || state.open.is_some() || covered {
        return None;
    }
    let id = new_id();
    state.resolved = None;
    state.open = Some(OpenAlert {
        id,
        started_at: bucket,
        last_notified_at: bucket,
        announced: !muted,
        calm: since,
    });
    Some(LateStep {
        step: Step {
            alert_id: id,
            bucket,
            notify: Notify::Opened,
            muted,
            started_at: bucket,
        },
        withdrawn: false,
    })
}

#[cfg(test)]
mod tests {
    use detect::Point;

    use super::*;
    use crate::alerts::ResolvedAlert;

    const B: i64 = 1_763_900_100 / BUCKET_SECONDS * BUCKET_SECONDS;

    fn judged(value: f64) -> Judgment<'static> {
        Judgment {
            metric: "feed_views",
            slice: None,
            bucket: B,
            point: Point::assess(Some(value), Some((90.0, 110.0)), Some(100.0), Some(20.0)),
            suppressed: false,
        }
    }

    fn open_at(started_at: i64, calm: u32) -> OpenAlert {
        OpenAlert {
            id: 7,
            started_at,
            last_notified_at: started_at,
            announced: true,
            calm,
        }
    }

    fn late(state: &mut SeriesState, value: f64) -> Option<LateStep> {
        let config = AlertConfig::default();
        late_step(state, &judged(value), B, (B + 3600, &config, &[]), || 42)
    }

    #[test]
    fn an_alert_opened_on_data_that_arrived_later_is_withdrawn() {
        // Opened at B, one calm bucket since: the late rows put B in band.
        let mut state = SeriesState {
            last_bucket: Some(B + BUCKET_SECONDS),
            open: Some(open_at(B, 1)),
            resolved: None,
        };
        let step = late(&mut state, 100.0).expect("withdrawn");
        assert!(step.withdrawn);
        assert_eq!(step.step.alert_id, 7);
        assert_eq!(step.step.notify, Notify::Resolved { lasted_secs: 0 });
        assert!(!step.step.muted);
        assert_eq!(state.open, None);
        assert_eq!(state.resolved, None, "not a resolution to reopen");
        assert_eq!(
            state.last_bucket,
            Some(B + BUCKET_SECONDS),
            "time does not go back"
        );
        // Resolved at the first chance (two calm buckets): withdrawn too.
        let mut state = SeriesState {
            last_bucket: Some(B + 3 * BUCKET_SECONDS),
            open: None,
            resolved: Some(ResolvedAlert {
                id: 7,
                started_at: B,
                resolved_at: B + 2 * BUCKET_SECONDS,
                announced: true,
            }),
        };
        assert!(late(&mut state, 100.0).expect("withdrawn").withdrawn);
        assert_eq!(state.resolved, None);
    }

    #[test]
    fn an_alert_that_went_on_firing_is_not_withdrawn() {
        // Anomalous again after B (calm 0 of 2 buckets since).
        let mut state = SeriesState {
            last_bucket: Some(B + 2 * BUCKET_SECONDS),
            open: Some(open_at(B, 0)),
            resolved: None,
        };
        let before = state.clone();
        assert_eq!(late(&mut state, 100.0), None);
        assert_eq!(state, before);
        // Opened before B: B was one of its buckets, not its cause.
        let mut state = SeriesState {
            last_bucket: Some(B),
            open: Some(open_at(B - BUCKET_SECONDS, 1)),
            resolved: None,
        };
        assert_eq!(late(&mut state, 100.0), None);
        // Unless its first bucket was re-checked back in band too.
        let config = AlertConfig::default();
        let run = late_step(
            &mut state,
            &judged(100.0),
            B - BUCKET_SECONDS,
            (B, &config, &[]),
            || 1,
        );
        let run = run.expect("withdrawn with its whole run");
        assert!(run.withdrawn);
        assert_eq!(run.step.started_at, B - BUCKET_SECONDS);
        // Still anomalous with the late rows: nothing to change.
        let mut state = SeriesState {
            last_bucket: Some(B),
            open: Some(open_at(B, 0)),
            resolved: None,
        };
        assert_eq!(late(&mut state, 0.0), None);
    }

    #[test]
    fn an_anomaly_the_late_rows_show_opens_late() {
        let mut state = SeriesState {
            last_bucket: Some(B + BUCKET_SECONDS),
            open: None,
            resolved: None,
        };
        let step = late(&mut state, 0.0).expect("opened");
        assert!(!step.withdrawn);
        assert_eq!(step.step.notify, Notify::Opened);
        assert_eq!((step.step.alert_id, step.step.started_at), (42, B));
        let open = state.open.expect("open");
        assert_eq!(
            (open.started_at, open.calm),
            (B, 1),
            "one calm bucket since"
        );
        // A series never checked at B, or an alert that covered B: nothing.
        let mut unseen = SeriesState {
            last_bucket: Some(B - BUCKET_SECONDS),
            ..SeriesState::default()
        };
        assert_eq!(late(&mut unseen, 0.0), None);
        let mut covered = SeriesState {
            last_bucket: Some(B + BUCKET_SECONDS),
            open: None,
            resolved: Some(ResolvedAlert {
                id: 7,
                started_at: B - BUCKET_SECONDS,
                resolved_at: B + BUCKET_SECONDS,
                announced: true,
            }),
        };
        assert_eq!(late(&mut covered, 0.0), None);
        // A gap reads as neither.
        let mut state = SeriesState {
            last_bucket: Some(B),
            open: Some(open_at(B, 0)),
            resolved: None,
        };
        let gap = Judgment {
            point: Point::assess(None, Some((90.0, 110.0)), Some(100.0), Some(20.0)),
            ..judged(0.0)
        };
        let config = AlertConfig::default();
        assert_eq!(
            late_step(&mut state, &gap, B, (B, &config, &[]), || 1),
            None
        );
    }
}
