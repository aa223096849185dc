//! The alert state machine of one series (a metric, or one slice of it):
//! ok -> firing -> resolved (-> ok), driven by one [`Judgment`] per bucket.
//!
//! Pure: no I/O and no clock. [`step`] takes the series' state, the judgment,
//! `now` (for silences only) and the active silences, mutates the state and
//! says what, if anything, to notify. Timing (repeat interval, durations) is in
//! *bucket* time, so replaying the same buckets always gives the same result,
//! however late they are evaluated.

use super::silence::{is_muted, Silence};
use crate::{Point, SliceKey};

/// Alert identifier (what button callbacks carry).
pub type AlertId = u64;

/// Lifecycle settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AlertConfig {
    /// A still-firing alert is repeated once this many seconds (of bucket time)
    /// have passed since its last notification. Default: 1 hour.
    pub repeat_after_secs: i64,
    /// An alert resolves only after this many judged buckets in a row read
    /// normal (at least 1). Default 2: one calm bucket inside a noisy
    /// incident would otherwise resolve it, and the next noisy bucket open a
    /// new alert and send a new message.
    #[cfg_attr(feature = "serde", serde(default = "default_resolve_after"))]
    pub resolve_after: u32,
    /// An anomaly within this many seconds (of bucket time) after an alert
    /// resolved continues that alert and its message instead of opening a
    /// new one (0: never). Default: 1 hour. A flapping incident stays one
    /// incident, one message.
    #[cfg_attr(feature = "serde", serde(default = "default_reopen_within"))]
    pub reopen_within_secs: i64,
}

/// Seconds after a resolution within which an anomaly reopens the alert.
pub const DEFAULT_REOPEN_WITHIN_SECS: i64 = 3600;

#[cfg(feature = "serde")]
fn default_reopen_within() -> i64 {
    DEFAULT_REOPEN_WITHIN_SECS
}

/// Buckets back in band before an alert resolves, by default.
pub const DEFAULT_RESOLVE_AFTER: u32 = 2;

#[cfg(feature = "serde")]
fn default_resolve_after() -> u32 {
    DEFAULT_RESOLVE_AFTER
}

impl Default for AlertConfig {
    fn default() -> Self {
        Self {
            repeat_after_secs: 3600,
            resolve_after: DEFAULT_RESOLVE_AFTER,
            reopen_within_secs: DEFAULT_REOPEN_WITHIN_SECS,
        }
    }
}

/// The open alert of a series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenAlert {
    pub id: AlertId,
    /// First anomalous bucket.
    pub started_at: i64,
    /// Bucket of the last notification (sent or muted).
    pub last_notified_at: i64,
    /// Whether any notification of this alert was not muted (a message exists
    /// to reply to or edit).
    pub announced: bool,
    /// Judged buckets in a row that read normal since the last anomalous
    /// one: the alert resolves when this reaches
    /// [`AlertConfig::resolve_after`].
    pub calm: u32,
}

/// The series' last resolved alert, which an anomaly soon after reopens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedAlert {
    pub id: AlertId,
    pub started_at: i64,
    /// The bucket whose check resolved it.
    pub resolved_at: i64,
    pub announced: bool,
}

/// What is remembered per series between evaluations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeriesState {
    /// Newest evaluated bucket; anything at or before it is a no-op.
    pub last_bucket: Option<i64>,
    pub open: Option<OpenAlert>,
    /// Set when an alert resolves, cleared when the next anomaly opens or
    /// reopens one.
    pub resolved: Option<ResolvedAlert>,
}

/// A notification the lifecycle asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "snake_case"))]
pub enum Notify {
    /// A new alert: send a new message.
    Opened,
    /// Still firing after the repeat interval: send as a reply to the original.
    Repeat { firing_secs: i64 },
    /// Back inside the band: edit the original message.
    Resolved { lasted_secs: i64 },
    /// Anomalous again soon after it resolved: the same alert fires again;
    /// edit the original message back to firing.
    Reopened { quiet_secs: i64 },
}

impl Notify {
    pub fn kind(&self) -> &'static str {
        match self {
            Notify::Opened => "opened",
            Notify::Repeat { .. } => "repeat",
            Notify::Resolved { .. } => "resolved",
            Notify::Reopened { .. } => "reopened",
        }
    }
}

/// One transition of a series, with what to notify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub alert_id: AlertId,
    pub bucket: i64,
    pub notify: Notify,
    /// Recorded but not to be sent (a silence covers it, or a resolution of an
    /// alert that was never announced: there is no message to edit).
    pub muted: bool,
    /// First anomalous bucket of the alert.
    pub started_at: i64,
}

/// What [`step`] reads of one series at one bucket: the detector's point,
/// and whether the alerting floor holds its anomaly back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Judgment<'a> {
    pub metric: &'a str,
    pub slice: Option<&'a SliceKey>,
    /// Start of the bucket (unix seconds).
    pub bucket: i64,
    pub point: Point,
    /// The anomaly is too small to matter ([`super::AlertFloor`]): it reads
    /// as normal.
    pub suppressed: bool,
}

/// How one judgment reads.
enum Reading {
    Anomalous,
    Normal,
    /// No value, or no judgment yet (no band and no expectation: a
    /// detector still warming up): neither opens nor resolves.
    Unknown,
}

fn read(judgment: &Judgment<'_>) -> Reading {
    let p = &judgment.point;
    // A judgment is a band, one bound of one (`drop` without a rise limit),
    // or an expectation without a band (`learned`: its judgment is a
    // probability, not an interval).
    let judged = p.lower.is_some() || p.upper.is_some() || p.expected.is_some();
    match p.value {
        Some(v) if v.is_finite() && judged => {
            // A suppressed anomaly (too small to matter) reads as normal.
            if p.is_anomaly && !judgment.suppressed {
                Reading::Anomalous
            } else {
                Reading::Normal
            }
        }
        _ => Reading::Unknown,
    }
}

/// Advances `state` by one judgment. `new_id` is called only when an alert
/// opens. Returns the step to record, or `None` (nothing to notify, a gap, or
/// a bucket at or before the last evaluated one — then `state` is unchanged).
pub fn step(
    state: &mut SeriesState,
    judgment: &Judgment<'_>,
    now: i64,
    config: &AlertConfig,
    silences: &[Silence],
    new_id: impl FnOnce() -> AlertId,
) -> Option<Step> {
    let bucket = judgment.bucket;
    if state.last_bucket.is_some_and(|last| bucket <= last) {
        return None;
    }
    state.last_bucket = Some(bucket);
    let muted = is_muted(silences, judgment.metric, judgment.slice, now);
    match (read(judgment), state.open.as_mut()) {
        (Reading::Anomalous, None) => {
            let recent = state.resolved.take().filter(|r| {
                config.reopen_within_secs > 0 && bucket - r.resolved_at <= config.reopen_within_secs
            });
            if let Some(recent) = recent {
                state.open = Some(OpenAlert {
                    id: recent.id,
                    started_at: recent.started_at,
                    last_notified_at: bucket,
                    announced: recent.announced || !muted,
                    calm: 0,
                });
                return Some(Step {
                    alert_id: recent.id,
                    bucket,
                    notify: Notify::Reopened {
                        quiet_secs: bucket - recent.resolved_at,
                    },
                    // Nothing to edit back when it was never announced.
                    muted: muted || !recent.announced,
                    started_at: recent.started_at,
                });
            }
            let id = new_id();
            state.open = Some(OpenAlert {
                id,
                started_at: bucket,
                last_notified_at: bucket,
                announced: !muted,
                calm: 0,
            });
            Some(Step {
                alert_id: id,
                bucket,
                notify: Notify::Opened,
                muted,
                started_at: bucket,
            })
        }
        (Reading::Anomalous, Some(open)) => {
            open.calm = 0;
            if bucket - open.last_notified_at < config.repeat_after_secs.max(1) {
                return None;
            }
            open.last_notified_at = bucket;
            open.announced |= !muted;
            Some(Step {
                alert_id: open.id,
                bucket,
                notify: Notify::Repeat {
                    firing_secs: bucket - open.started_at,
                },
                muted,
                started_at: open.started_at,
            })
        }
        (Reading::Normal, Some(open)) => {
            open.calm = open.calm.saturating_add(1);
            if open.calm < config.resolve_after.max(1) {
                return None;
            }
            let step = Step {
                alert_id: open.id,
                bucket,
                notify: Notify::Resolved {
                    lasted_secs: bucket - open.started_at,
                },
                muted: muted || !open.announced,
                started_at: open.started_at,
            };
            state.resolved = Some(ResolvedAlert {
                id: open.id,
                started_at: open.started_at,
                resolved_at: bucket,
                announced: open.announced,
            });
            state.open = None;
            Some(step)
        }
        (Reading::Normal, None) | (Reading::Unknown, _) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::SilenceScope;

    /// The server's bucket: 15 minutes.
    const BUCKET_SECONDS: i64 = 15 * 60;
    const T0: i64 = 1_700_000_100 - 1_700_000_100 % BUCKET_SECONDS;
    /// Resolving at the first normal bucket and never reopening: the rules
    /// below without flap damping (tested on its own at the end).
    const ONE_BUCKET: AlertConfig = AlertConfig {
        repeat_after_secs: 3600,
        resolve_after: 1,
        reopen_within_secs: 0,
    };

    /// A point judged against the band 90..110 around 100: anomalous
    /// outside it.
    fn eval(bucket_index: i64, value: Option<f64>) -> Judgment<'static> {
        Judgment {
            metric: "feed_views",
            slice: None,
            bucket: T0 + bucket_index * BUCKET_SECONDS,
            point: Point::assess(value, Some((90.0, 110.0)), Some(100.0), Some(20.0)),
            suppressed: false,
        }
    }

    struct Run {
        state: SeriesState,
        next: AlertId,
        silences: Vec<Silence>,
    }

    impl Run {
        fn new() -> Self {
            Self {
                state: SeriesState::default(),
                next: 1,
                silences: Vec::new(),
            }
        }
        fn at(&mut self, bucket_index: i64, value: Option<f64>) -> Option<Step> {
            let e = eval(bucket_index, value);
            let now = e.bucket + BUCKET_SECONDS;
            let next = &mut self.next;
            step(
                &mut self.state,
                &e,
                now,
                &ONE_BUCKET,
                &self.silences,
                || {
                    *next += 1;
                    *next - 1
                },
            )
        }
    }

    #[test]
    fn anomaly_opens_an_alert() {
        let mut run = Run::new();
        assert_eq!(run.at(0, Some(100.0)), None);
        let s = run.at(1, Some(200.0)).expect("opened");
        assert_eq!(s.notify, Notify::Opened);
        assert_eq!(
            (s.alert_id, s.started_at, s.muted),
            (1, T0 + BUCKET_SECONDS, false)
        );
        assert!(run.state.open.is_some());
    }

    #[test]
    fn no_repeat_within_interval_then_repeat_after() {
        let mut run = Run::new();
        run.at(0, Some(200.0)).expect("opened");
        for i in 1..4 {
            assert_eq!(run.at(i, Some(200.0)), None, "bucket {i}");
        }
        let s = run.at(4, Some(200.0)).expect("repeat after an hour");
        assert_eq!(s.notify, Notify::Repeat { firing_secs: 3600 });
        assert_eq!(s.alert_id, 1);
        for i in 5..8 {
            assert_eq!(run.at(i, Some(200.0)), None);
        }
        assert_eq!(
            run.at(8, Some(200.0)).map(|s| s.notify),
            Some(Notify::Repeat { firing_secs: 7200 })
        );
    }

    #[test]
    fn resolve_reports_duration_once() {
        let mut run = Run::new();
        run.at(0, Some(50.0)).expect("opened");
        run.at(1, Some(50.0));
        let s = run.at(2, Some(100.0)).expect("resolved");
        assert_eq!(s.notify, Notify::Resolved { lasted_secs: 1800 });
        assert_eq!(run.state.open, None);
        assert_eq!(run.at(3, Some(100.0)), None);
        // A new anomaly is a new alert.
        let s = run.at(4, Some(50.0)).expect("reopened");
        assert_eq!((s.notify, s.alert_id), (Notify::Opened, 2));
    }

    /// The learned detector judges without a band: its anomalous point opens
    /// an alert and its normal point resolves it (before, "no band" read as
    /// a gap and `learned` never alerted in a live check).
    #[test]
    fn a_judgment_without_a_band_opens_and_resolves() {
        let bandless = |index, value: f64, anomalous: bool| {
            let mut e = eval(index, Some(value));
            e.point.lower = None;
            e.point.upper = None;
            e.point.is_anomaly = anomalous;
            e.point.score = if anomalous { 0.97 } else { 0.0 };
            e
        };
        let mut state = SeriesState::default();
        let config = ONE_BUCKET;
        let opened = step(&mut state, &bandless(1, 0.0, true), 0, &config, &[], || 7);
        assert!(opened.is_some() && state.open.is_some(), "{opened:?}");
        for k in 2..6 {
            let _ = step(
                &mut state,
                &bandless(k, 100.0, false),
                0,
                &config,
                &[],
                || 8,
            );
        }
        assert!(state.open.is_none(), "resolved once normal again");
    }

    #[test]
    fn gap_neither_opens_nor_resolves() {
        let mut run = Run::new();
        assert_eq!(run.at(0, None), None);
        assert_eq!(run.state.open, None);
        run.at(1, Some(200.0)).expect("opened");
        assert_eq!(run.at(2, None), None);
        assert!(run.state.open.is_some());
        // No judgment yet (no band, no expectation) reads like a gap too.
        let mut no_band = eval(3, Some(100.0));
        no_band.point.lower = None;
        no_band.point.upper = None;
        no_band.point.expected = None;
        let s = step(&mut run.state, &no_band, 0, &ONE_BUCKET, &[], || 99);
        assert_eq!(s, None);
        assert!(run.state.open.is_some());
        assert_eq!(run.state.last_bucket, Some(no_band.bucket));
    }

    #[test]
    fn old_or_same_bucket_is_a_no_op() {
        let mut run = Run::new();
        run.at(5, Some(200.0)).expect("opened");
        let before = run.state.clone();
        assert_eq!(run.at(5, Some(200.0)), None);
        assert_eq!(
            run.at(3, Some(100.0)),
            None,
            "an old bucket does not resolve"
        );
        assert_eq!(run.at(0, Some(200.0)), None);
        assert_eq!(run.state, before);
    }

    #[test]
    fn silence_marks_notifications_muted_but_records_them() {
        let mut run = Run::new();
        run.silences.push(Silence {
            id: 1,
            scope: SilenceScope::Metric {
                metric: "feed_views".into(),
            },
            until: T0 + 3 * BUCKET_SECONDS,
            created_by: "ann".into(),
            created_at: T0,
            ended_at: None,
        });
        let s = run.at(0, Some(200.0)).expect("opened, muted");
        assert!(s.muted);
        assert!(run.state.open.as_ref().is_some_and(|o| !o.announced));
        // Silence over by bucket 4 (now = bucket 5 start): the repeat is sent.
        let s = run.at(4, Some(200.0)).expect("repeat");
        assert!(!s.muted);
        let s = run.at(5, Some(100.0)).expect("resolved");
        assert!(!s.muted);
    }

    #[test]
    fn resolution_of_a_never_announced_alert_is_muted() {
        let mut run = Run::new();
        run.silences.push(Silence {
            id: 1,
            scope: SilenceScope::All,
            until: T0 + 2 * BUCKET_SECONDS,
            created_by: "ann".into(),
            created_at: T0,
            ended_at: None,
        });
        assert!(run.at(0, Some(200.0)).expect("opened").muted);
        let s = run.at(2, Some(100.0)).expect("resolved");
        assert!(s.muted, "no message to edit");
    }

    /// An anomaly the floor holds back reads as normal: it opens nothing,
    /// and it resolves an alert already open.
    #[test]
    fn a_suppressed_anomaly_reads_as_normal() {
        let suppressed = |index| Judgment {
            suppressed: true,
            ..eval(index, Some(200.0))
        };
        let mut state = SeriesState::default();
        let config = ONE_BUCKET;
        assert_eq!(
            step(&mut state, &suppressed(0), 0, &config, &[], || 1),
            None
        );
        assert!(state.open.is_none());
        step(&mut state, &eval(1, Some(200.0)), 0, &config, &[], || 2).expect("opened");
        let s = step(&mut state, &suppressed(2), 0, &config, &[], || 3).expect("resolved");
        assert_eq!(s.notify, Notify::Resolved { lasted_secs: 900 });
        assert!(state.open.is_none());
    }

    /// Flap damping: one calm bucket inside an incident does not resolve
    /// it (the next noisy bucket would open a second alert and message);
    /// `resolve_after` calm buckets in a row do, and an anomaly in between
    /// starts the count again.
    #[test]
    fn an_alert_resolves_only_after_enough_calm_buckets_in_a_row() {
        let config = AlertConfig::default();
        assert_eq!(config.resolve_after, 2);
        let mut state = SeriesState::default();
        let mut at =
            |index, value| step(&mut state, &eval(index, Some(value)), 0, &config, &[], || 1);
        assert_eq!(at(0, 200.0).map(|s| s.notify), Some(Notify::Opened));
        assert_eq!(at(1, 100.0), None, "one calm bucket");
        assert_eq!(at(2, 200.0), None, "still the same alert, no new message");
        assert_eq!(at(3, 100.0), None, "the count starts again");
        let s = at(4, 100.0).expect("resolved on the second calm bucket in a row");
        assert_eq!(
            s.notify,
            Notify::Resolved {
                lasted_secs: 4 * BUCKET_SECONDS
            }
        );
        assert_eq!((s.alert_id, s.started_at), (1, T0));
        // A gap neither resolves nor breaks the count.
        let mut state = SeriesState::default();
        let mut at = |index, value| step(&mut state, &eval(index, value), 0, &config, &[], || 2);
        at(0, Some(200.0)).expect("opened");
        assert_eq!(at(1, Some(100.0)), None);
        assert_eq!(at(2, None), None);
        assert!(at(3, Some(100.0)).is_some_and(|s| s.notify.kind() == "resolved"));
    }

    /// An anomaly soon after a resolution continues the same alert (its id,
    /// its start, its message) instead of opening a new one; later, a new
    /// alert opens.
    #[test]
    fn an_anomaly_soon_after_a_resolution_reopens_the_same_alert() {
        let config = AlertConfig {
            resolve_after: 1,
            ..AlertConfig::default()
        };
        assert_eq!(config.reopen_within_secs, 3600);
        let mut state = SeriesState::default();
        let mut next = 0;
        let mut at = |index, value, state: &mut SeriesState| {
            step(state, &eval(index, Some(value)), 0, &config, &[], || {
                next += 1;
                next
            })
        };
        assert_eq!(at(0, 200.0, &mut state).map(|s| s.alert_id), Some(1));
        assert_eq!(
            at(1, 100.0, &mut state).map(|s| s.notify.kind()),
            Some("resolved")
        );
        let again = at(3, 200.0, &mut state).expect("reopened");
        assert_eq!(
            again.notify,
            Notify::Reopened {
                quiet_secs: 2 * BUCKET_SECONDS
            }
        );
        assert_eq!(
            (again.alert_id, again.started_at, again.muted),
            (1, T0, false)
        );
        let resolved = at(4, 100.0, &mut state).expect("resolved again");
        assert_eq!(
            resolved.notify,
            Notify::Resolved {
                lasted_secs: 4 * BUCKET_SECONDS
            }
        );
        // More than an hour later: a new alert.
        let new = at(9, 200.0, &mut state).expect("opened");
        assert_eq!((new.notify, new.alert_id), (Notify::Opened, 2));
    }
}
