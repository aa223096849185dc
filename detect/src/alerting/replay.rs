//! Replay: what the live check would have sent over a metric's history,
//! bucket by bucket, with every rule the check applies: the detector's
//! newest-point judgment with open alerts' spans kept out of the baseline
//! ([`super::judge`]), the floor, inhibition of slices that move with their
//! firing metric, silences and the lifecycle (open, repeat, resolve after
//! calm buckets). The server's check makes the same calls on the same
//! rules; a test walks one history through both and compares the alerts.
//!
//! Cost: a bucket with no alert open over a series takes its point from one
//! batch run of the detector (the detectors are causal, so the batch point
//! at `t` is the newest point of the history up to `t`); only buckets under
//! an open alert, whose imputed history differs from the batch one, rerun
//! the detector on their own window.

use super::floor::{AlertFloor, Measure};
use super::inhibition::{inhibition, Parent};
use super::judge::{history_start, newest_judgment, Masked};
use super::lifecycle::{step, AlertConfig, AlertId, Judgment, SeriesState, Step};
use super::silence::Silence;
use crate::detectors::combine::{Ensemble, EnsembleDetection};
use crate::{Clock, DetectError, Point, Series, SliceKey};

/// The rules a metric's check applies.
#[derive(Clone, Copy, Debug)]
pub struct Rules<'a> {
    pub metric: &'a str,
    pub measure: Measure,
    pub detector: &'a Ensemble,
    pub floor: AlertFloor,
    pub lifecycle: AlertConfig,
    pub silences: &'a [Silence],
    /// Seconds after a bucket ends that its check runs (the schedule's
    /// grace): the `now` silences are judged at.
    pub grace_secs: i64,
    /// Points in the cycle an open alert's span is imputed from (a day).
    pub period: usize,
}

/// A metric's history: the whole metric and its slices on one grid.
#[derive(Clone, Copy, Debug)]
pub struct History<'a> {
    pub clock: Clock,
    pub whole: &'a [Option<f64>],
    pub slices: &'a [(SliceKey, Vec<Option<f64>>)],
}

/// One notification the replay would have queued (or recorded muted).
#[derive(Clone, Debug, PartialEq)]
pub struct Sent {
    /// `None` for the whole metric.
    pub slice: Option<SliceKey>,
    pub step: Step,
    /// The judged point at the step's bucket.
    pub point: Point,
}

/// One series being replayed.
struct Track<'a> {
    slice: Option<&'a SliceKey>,
    values: &'a [Option<f64>],
    batch: EnsembleDetection,
    state: SeriesState,
}

/// Replays `history` from position `from` (the first check, with no alert
/// open before it) to its end, and returns what each check would have
/// notified, in check order: the whole metric first, then its slices.
/// Series shorter than the whole one are an error, not a panic.
pub fn replay(
    rules: &Rules<'_>,
    history: &History<'_>,
    from: usize,
) -> Result<Vec<Sent>, DetectError> {
    let len = history.whole.len();
    let clock = history.clock;
    let mut tracks = Vec::with_capacity(1 + history.slices.len());
    for (slice, values) in std::iter::once((None, history.whole)).chain(
        history
            .slices
            .iter()
            .map(|(key, values)| (Some(key), values.as_slice())),
    ) {
        if values.len() != len {
            return Err(DetectError::LengthMismatch {
                expected: len,
                found: values.len(),
            });
        }
        let series = Series::new(clock.start, clock.step, values.to_vec())?;
        tracks.push(Track {
            slice,
            values,
            batch: rules.detector.run(&series)?,
            state: SeriesState::default(),
        });
    }
    let mut next_id: AlertId = 1;
    let mut sent = Vec::new();
    for t in from..len {
        let bucket = clock.time(t);
        let now = bucket
            .saturating_add(clock.step)
            .saturating_add(rules.grace_secs);
        let whole_since = tracks[0].state.open.as_ref().map(|o| o.started_at);
        let mut parent = Parent::default();
        for (k, track) in tracks.iter_mut().enumerate() {
            let own_since = track.state.open.as_ref().map(|o| o.started_at);
            let masked_from = if k == 0 {
                own_since
            } else {
                own_since.into_iter().chain(whole_since).min()
            };
            let point = judge(rules, clock, track, t, masked_from)?;
            let is_slice = track.slice.is_some();
            let mut suppressed = rules.floor.suppression(rules.measure, is_slice, &point);
            if is_slice && rules.floor.inhibit_slices && suppressed.is_none() {
                suppressed = inhibition(&parent, rules.metric, &point);
            } else if !is_slice {
                parent = Parent::new(&point, suppressed.is_some(), own_since.is_some());
            }
            let judgment = Judgment {
                metric: rules.metric,
                slice: track.slice,
                bucket,
                point,
                suppressed: suppressed.is_some(),
            };
            let stepped = step(
                &mut track.state,
                &judgment,
                now,
                &rules.lifecycle,
                rules.silences,
                || {
                    next_id += 1;
                    next_id - 1
                },
            );
            if let Some(step) = stepped {
                sent.push(Sent {
                    slice: track.slice.cloned(),
                    step,
                    point,
                });
            }
        }
    }
    Ok(sent)
}

/// The point a live check of position `t` computes for `track`: the batch
/// point when no alert is open over it, else the newest judgment of its own
/// window with the open span imputed.
fn judge(
    rules: &Rules<'_>,
    clock: Clock,
    track: &Track<'_>,
    t: usize,
    masked_from: Option<i64>,
) -> Result<Point, DetectError> {
    let own_alert_open = track.state.open.is_some();
    let Some(since) = masked_from else {
        return Ok(track.batch.detection.point(t));
    };
    let bucket = clock.time(t);
    let start = history_start(
        bucket,
        clock.step,
        rules.detector.reach(),
        Some(since),
        rules.period,
    );
    let position = |time: i64| {
        usize::try_from(time.saturating_sub(clock.start).max(0) / clock.step.max(1))
            .unwrap_or(usize::MAX)
            .min(t)
    };
    let first = position(start);
    let mut window = track.values[first..=t].to_vec();
    let masked = Masked {
        slots: position(since).saturating_sub(first)..t - first,
        own_alert_open,
    };
    let judged = newest_judgment(
        rules.detector,
        &mut window,
        clock.skip(first),
        &masked,
        rules.period,
    )?;
    Ok(judged.point)
}
