//! An hour-long outage of a metric with a strong daily cycle, checked bucket
//! by bucket as `vigil serve` checks it: [`Checker::run`] over an embedded
//! store, the alert lifecycle in a real alert state, the open alert's span
//! masked from the next check on. Whatever the hour, the alert must open
//! during the outage and resolve as soon as the metric is back on its cycle.
//! With the span left out as gaps, a rolling baseline stayed at the level the
//! series had when the alert opened (see [`super::evaluate`]): here the
//! default IQR rule's alert around the 21:00 outage stayed open until 09:00
//! the next day, its band frozen at 314..485 while the night fell to 55.

use std::sync::Arc;

use detect::{CombineRule, DetectorSpec, DropParams, Ensemble, Point, SeasonalParams};

use super::run::Checker;
use super::test_events::views_of_os;
use crate::config::AlertingConfig;
use crate::detector_choice::DetectorChoice;
use crate::events::{EventBatch, FeedAction};
use crate::metrics::catalogue;
use crate::metrics::model::{MetricDef, BUCKET_SECONDS};
use crate::sources::{Source, SqliteStore};
use crate::state::State;

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
/// Monday 2026-01-05 00:00 UTC: day 0 of the history.
const DAY_0: i64 = 1_767_571_200;
/// Days of history before the first outage.
const HISTORY_DAYS: i64 = 14;
/// Hours (UTC) the outages start at, two days apart from day 14 on: in the
/// steep morning rise, on the flat day and in the steep evening decline.
const OUTAGE_HOURS: [i64; 3] = [3, 9, 21];
const OUTAGE_SECONDS: i64 = HOUR;
/// During the outage the metric keeps this fraction of its normal value.
const OUTAGE_LEFT: f64 = 0.1;
/// Active users in the evening peak's bucket.
const PEAK: f64 = 400.0;
/// The alert must be resolved by this many buckets after the outage ends.
const RESOLVE_WITHIN: i64 = 2;
/// How long after the outage's end a walk goes on waiting for resolution.
const WALK_AFTER: i64 = 12 * HOUR;

/// Relative activity by hour (UTC): the simulator's feed (its evening peak is
/// 21:00 in Moscow, 18:00 UTC), falling from 0.55 at 21:00 to 0.13 at 01:00
/// and rising back steeply from 03:00.
const HOURLY: [f64; 24] = [
    0.17, 0.13, 0.15, 0.25, 0.42, 0.55, 0.62, 0.66, 0.68, 0.72, 0.72, 0.70, //
    0.70, 0.72, 0.76, 0.82, 0.90, 0.97, 1.00, 0.92, 0.75, 0.55, 0.38, 0.25,
];

/// The outages: (start, end), two days apart, in the order of [`OUTAGE_HOURS`].
fn outages() -> Vec<(i64, i64)> {
    OUTAGE_HOURS
        .iter()
        .enumerate()
        .map(|(k, hour)| {
            let start = DAY_0 + (HISTORY_DAYS + 2 * k as i64) * DAY + hour * HOUR;
            (start, start + OUTAGE_SECONDS)
        })
        .collect()
}

/// The normal value of the bucket starting at `t`: the daily profile
/// (interpolated between hours), growing 0.4 % a day, with ±3 % of noise.
fn normal(t: i64) -> f64 {
    let hour = (t - DAY_0).rem_euclid(DAY) as f64 / HOUR as f64;
    let low = hour.floor() as usize % 24;
    let fraction = hour - hour.floor();
    let profile = HOURLY[low] * (1.0 - fraction) + HOURLY[(low + 1) % 24] * fraction;
    let growth = 1.004f64.powf((t - DAY_0) as f64 / DAY as f64);
    PEAK * profile * growth * (1.0 + 0.03 * noise(t))
}

/// Deterministic noise in [-1, 1] for the bucket starting at `t` (splitmix64).
fn noise(t: i64) -> f64 {
    let mut z = (t as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

/// Active users of the bucket starting at `t`.
fn users(t: i64) -> u32 {
    let outage = outages()
        .iter()
        .any(|(start, end)| (*start..*end).contains(&t));
    let value = normal(t) * if outage { OUTAGE_LEFT } else { 1.0 };
    value.round() as u32
}

/// One view per active user, spread over the bucket.
fn bucket_events(t: i64) -> Vec<FeedAction> {
    views_of_os(t, users(t), "Android").collect()
}

/// An embedded store with the whole history: up to a day after the last outage.
async fn store(path: &std::path::Path) -> Arc<Source> {
    let source = Source::Sqlite(SqliteStore::open(path).expect("store opens"));
    let last = outages().last().map_or(DAY_0, |(_, end)| *end);
    let days = (last - DAY_0) / DAY + 2;
    for day in 0..days {
        let feed = (0..DAY / BUCKET_SECONDS)
            .flat_map(|k| bucket_events(DAY_0 + day * DAY + k * BUCKET_SECONDS))
            .collect();
        let batch = EventBatch {
            feed,
            messages: Vec::new(),
        };
        source.write_events(batch).await.expect("events written");
    }
    Arc::new(source)
}

/// Feed active users, whole only (the events have one value per dimension).
fn metric() -> MetricDef {
    let mut metric = catalogue::builtin_metric("feed_active_users").expect("built-in");
    metric.slices.clear();
    metric
}

/// What a walk through one outage saw.
#[derive(Debug, Default)]
struct Walk {
    /// Each alert of the walk: the bucket whose check opened it and the one
    /// whose check resolved it, if any.
    alerts: Vec<(i64, Option<i64>)>,
    /// Checked buckets after whose check an alert was open.
    open_after: Vec<i64>,
    /// The last check's point: value, band and expected value.
    last: Option<(i64, Point)>,
}

impl Walk {
    fn is_open_after(&self, bucket: i64) -> bool {
        self.open_after.contains(&bucket)
    }

    fn describe(&self) -> String {
        let at = crate::times::format_time;
        let alerts: Vec<String> = self
            .alerts
            .iter()
            .map(|(opened, resolved)| {
                let resolved = resolved.map_or("still open".into(), at);
                format!("{} -> {resolved}", at(*opened))
            })
            .collect();
        let last = self.last.as_ref().map_or(String::new(), |(bucket, p)| {
            let round = |x: Option<f64>| x.map_or("-".into(), |x| format!("{x:.0}"));
            format!(
                "; last check {}: value {}, expected {}, band {}..{}",
                at(*bucket),
                round(p.value),
                round(p.expected),
                round(p.lower),
                round(p.upper)
            )
        });
        format!("alerts [{}]{last}", alerts.join(", "))
    }
}

/// Checks every bucket from two hours before the outage, each with the state
/// the previous checks left (the open alert's span masked), until no alert
/// is open [`RESOLVE_WITHIN`] buckets after the outage or [`WALK_AFTER`] has
/// passed since its end.
async fn walk(source: &Arc<Source>, detectors: &DetectorChoice, (start, end): (i64, i64)) -> Walk {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = State::open(&crate::state::StateLocation::Sqlite(
        dir.path().join("state.sqlite"),
    ))
    .expect("state opens");
    let checker = Checker {
        source: Arc::clone(source),
        metrics: vec![metric()],
        alerting: AlertingConfig {
            detectors: detectors.clone(),
            ..AlertingConfig::default()
        },
        store: store.clone(),
        experiments: Vec::new(),
        group_watch: Default::default(),
    };
    let key = (metric().name, None);
    let mut walk = Walk::default();
    let mut bucket = start - 2 * HOUR;
    while bucket <= end + WALK_AFTER {
        let outcome = checker.run(bucket, false, false).await.expect("check runs");
        walk.last = outcome.evaluations.first().map(|e| (bucket, e.point));
        let open = store
            .call(|store| store.open_since())
            .await
            .expect("state reads")
            .contains_key(&key);
        let was_open = walk
            .alerts
            .last()
            .is_some_and(|(_, resolved)| resolved.is_none());
        match (was_open, open) {
            (false, true) => walk.alerts.push((bucket, None)),
            (true, false) => {
                if let Some(last) = walk.alerts.last_mut() {
                    last.1 = Some(bucket);
                }
            }
            _ => {}
        }
        if open {
            walk.open_after.push(bucket);
        } else if bucket >= end + RESOLVE_WITHIN * BUCKET_SECONDS {
            break;
        }
        bucket += BUCKET_SECONDS;
    }
    walk
}

/// Walks through the outages starting at `hours` with `detectors`; returns
/// what went wrong: an outage bucket (after the detector's confirmation)
/// after whose check no alert was open, or
/// an alert still open [`RESOLVE_WITHIN`] buckets after the outage's end.
async fn problems(
    source: &Arc<Source>,
    name: &str,
    detectors: DetectorChoice,
    hours: &[i64],
) -> Vec<String> {
    let mut problems = Vec::new();
    for (hour, outage) in OUTAGE_HOURS.iter().zip(outages()) {
        if !hours.contains(hour) {
            continue;
        }
        let (start, end) = outage;
        let walk = walk(source, &detectors, outage).await;
        let summary = format!(
            "{name}, outage {}..{}: {}",
            crate::times::format_time(start),
            crate::times::format_time(end),
            walk.describe()
        );
        println!("{summary}");
        // A confirmation (the learned detector's `confirm`) opens the alert
        // that many buckets into the outage, by design.
        let confirming = detectors
            .default
            .members()
            .iter()
            .map(|spec| match spec {
                DetectorSpec::Learned(params) => params.confirm as i64 - 1,
                _ => 0,
            })
            .max()
            .unwrap_or(0);
        let alerted_throughout = (start + confirming * BUCKET_SECONDS..end)
            .step_by(BUCKET_SECONDS as usize)
            .all(|bucket| walk.is_open_after(bucket));
        let resolved_in_time = !walk.is_open_after(end + RESOLVE_WITHIN * BUCKET_SECONDS);
        if !alerted_throughout || !resolved_in_time {
            problems.push(summary);
        }
    }
    problems
}

fn single(spec: DetectorSpec) -> DetectorChoice {
    DetectorChoice {
        default: Ensemble::single(spec),
        ..DetectorChoice::default()
    }
}

#[tokio::test]
async fn an_outage_resolves_within_two_buckets_of_its_end_whatever_the_hour() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = store(&dir.path().join("vigil.sqlite")).await;
    let seasonal = || DetectorSpec::Seasonal(SeasonalParams::default());
    let choices = [
        // vigil's default: the IQR rule, n = 5, a = 4. Not at 03:00: on the
        // steep morning rise the IQR of its last five points is so wide that
        // the outage's first bucket (10 where about 108 is normal) lies inside
        // its band (5..131 from a fresh state), so no alert opens and the
        // outage becomes its own baseline. That is the rule's blindness, not
        // the mask's. (Walked from 01:00, the rise itself raises a false alarm
        // at 02:15, which resolves at 03:00 with band 9..126; with gaps its
        // band froze below the rise and it stayed open all day.)
        (
            "iqr (the seed's band)",
            single(DetectorSpec::Iqr(detect::IqrParams::default())),
            &[9, 21][..],
        ),
        (
            "default (learned)",
            DetectorChoice::default(),
            &OUTAGE_HOURS[..],
        ),
        ("seasonal", single(seasonal()), &OUTAGE_HOURS[..]),
        // What the example config judges feed views with.
        (
            "any(seasonal+drop)",
            DetectorChoice {
                default: Ensemble::new(
                    vec![seasonal(), DetectorSpec::Drop(DropParams::default())],
                    CombineRule::Any,
                ),
                ..DetectorChoice::default()
            },
            &OUTAGE_HOURS[..],
        ),
    ];
    let mut all = Vec::new();
    for (name, detectors, hours) in choices {
        all.extend(problems(&source, name, detectors, hours).await);
    }
    assert!(all.is_empty(), "{all:#?}");
}
