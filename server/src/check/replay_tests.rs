//! The replay shows what the live check sends: one history, sliced by os,
//! with an outage of the whole feed, a drop of a small os and a surge of
//! a big one, is checked bucket by bucket by [`Checker::run`] into a real alert
//! state (what `vigil check --at` does), and replayed by
//! [`super::replay::replay_metric`]. Both must record the same alerts
//! (opened, repeated, resolved) of the same series at the same buckets.

use std::collections::BTreeSet;
use std::sync::Arc;

use detect::{DetectorSpec, Ensemble, IqrParams};

use super::replay::replay_metric;
use super::run::Checker;
use super::test_events::{by_os, views_of_os};
use crate::config::AlertingConfig;
use crate::detector_choice::DetectorChoice;
use crate::events::EventBatch;
use crate::metrics::model::BUCKET_SECONDS;
use crate::sources::{Source, SqliteStore};
use crate::state::State;

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
/// Monday 2026-02-02 00:00 UTC: day 0 of the history.
const DAY_0: i64 = 1_769_990_400;
/// The checks walk day 15, from 06:00 to midnight.
const WALK: (i64, i64) = (
    DAY_0 + 15 * DAY + 6 * HOUR,
    DAY_0 + 16 * DAY - BUCKET_SECONDS,
);

/// The operating systems, with their views per bucket at the daily peak.
const OSES: [(&str, f64); 3] = [("Android", 300.0), ("iOS", 200.0), ("Other", 60.0)];

/// Day 15's incidents: (start, end) after midnight, and each os's factor.
const INCIDENTS: [(i64, i64, [f64; 3]); 3] = [
    // The whole feed goes down for an hour: every os falls, the metric
    // fires, and its slices falling with it are part of its alert.
    (10 * HOUR, 11 * HOUR, [0.1, 0.1, 0.1]),
    // The small os alone drops: the metric hardly moves, the slice alerts.
    (15 * HOUR, 16 * HOUR + 30 * 60, [1.0, 1.0, 0.2]),
    // Android surges while the others are normal.
    (20 * HOUR, 21 * HOUR, [2.5, 1.0, 1.0]),
];

/// Views of os number `os` in the bucket at `t`: a daily wave (low at
/// night, high in the evening), ±4 % of deterministic noise, and the
/// incidents of day 15.
fn views(t: i64, os: usize) -> u32 {
    let day_phase = (t - DAY_0).rem_euclid(DAY) as f64 / DAY as f64;
    let wave = 0.55 - 0.4 * (2.0 * std::f64::consts::PI * (day_phase - 0.25)).cos();
    let hash = (t as u64 ^ os as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    let noise = 1.0 + 0.04 * ((hash % 2001) as f64 / 1000.0 - 1.0);
    let since_day_15 = t - (DAY_0 + 15 * DAY);
    let factor = INCIDENTS
        .iter()
        .find(|(start, end, _)| (*start..*end).contains(&since_day_15))
        .map_or(1.0, |(_, _, factors)| factors[os]);
    (OSES[os].1 * wave * noise * factor).round() as u32
}

async fn store(path: &std::path::Path) -> Arc<Source> {
    let source = Source::Sqlite(SqliteStore::open(path).expect("store opens"));
    for day in 0..16 {
        let mut feed = Vec::new();
        for k in 0..DAY / BUCKET_SECONDS {
            let t = DAY_0 + day * DAY + k * BUCKET_SECONDS;
            for (index, (os, _)) in OSES.iter().enumerate() {
                let n = views(t, index);
                feed.extend(views_of_os(t, n, os));
            }
        }
        let batch = EventBatch {
            feed,
            messages: Vec::new(),
        };
        source.write_events(batch).await.expect("events written");
    }
    Arc::new(source)
}

/// One recorded notification: bucket, series, kind, first bucket of its alert.
type Record = (i64, String, String, i64);

fn series_name(slice: Option<&crate::metrics::model::SliceKey>) -> String {
    slice.map_or("whole".into(), |s| format!("{}={}", s.dimension, s.value))
}

/// What `vigil check` records walking [`WALK`] from a fresh state.
async fn checked(source: &Arc<Source>, alerting: &AlertingConfig) -> BTreeSet<Record> {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = State::open(&crate::state::StateLocation::Sqlite(
        dir.path().join("state.sqlite"),
    ))
    .expect("state opens");
    let checker = Checker {
        source: Arc::clone(source),
        metrics: vec![by_os("feed_views")],
        alerting: alerting.clone(),
        store: store.clone(),
        experiments: Vec::new(),
        group_watch: Default::default(),
    };
    let mut bucket = WALK.0;
    while bucket <= WALK.1 {
        checker.run(bucket, false, false).await.expect("check runs");
        bucket += BUCKET_SECONDS;
    }
    store
        .call(|store| {
            let mut records = BTreeSet::new();
            for event in store.events(None)? {
                let Some(bucket) = event.bucket else { continue };
                let alert = store.alert(event.alert_id)?.expect("the event's alert");
                records.insert((
                    bucket,
                    series_name(alert.slice.as_ref()),
                    event.kind,
                    alert.started_at,
                ));
            }
            Ok::<_, crate::state::AlertError>(records)
        })
        .await
        .expect("state reads")
}

/// What the replay says the same checks record.
async fn replayed(source: &Arc<Source>, alerting: &AlertingConfig) -> BTreeSet<Record> {
    let detector = alerting.detectors.for_metric("feed_views");
    replay_metric(source, &by_os("feed_views"), detector, alerting, &[], WALK)
        .await
        .expect("replay runs")
        .into_iter()
        .map(|sent| {
            (
                sent.step.bucket,
                series_name(sent.slice.as_ref()),
                sent.step.notify.kind().to_string(),
                sent.step.started_at,
            )
        })
        .collect()
}

#[tokio::test]
async fn the_replay_records_what_the_live_check_records() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = store(&dir.path().join("vigil.sqlite")).await;
    let choices = [
        ("default (learned)", DetectorChoice::default()),
        (
            "iqr (the seed's band)",
            DetectorChoice {
                default: Ensemble::single(DetectorSpec::Iqr(IqrParams::default())),
                ..DetectorChoice::default()
            },
        ),
    ];
    for (name, detectors) in choices {
        let alerting = AlertingConfig {
            detectors,
            ..AlertingConfig::default()
        };
        let live = checked(&source, &alerting).await;
        let replay = replayed(&source, &alerting).await;
        assert_eq!(
            live.symmetric_difference(&replay).collect::<Vec<_>>(),
            Vec::<&Record>::new(),
            "{name}: live {live:#?}"
        );
        // Not a vacuous agreement: the outage opened and resolved an alert
        // of the whole metric, whose slices falling with it opened none,
        // and the small os's drop opened one of its own.
        let opened = |series: &str, hours: std::ops::Range<i64>| {
            live.iter().any(|(bucket, s, kind, _)| {
                s == series
                    && kind == "opened"
                    && hours.contains(&((bucket - (DAY_0 + 15 * DAY)) / HOUR))
            })
        };
        assert!(opened("whole", 10..11), "{name}: {live:#?}");
        assert!(!opened("os=Android", 10..12), "{name}: {live:#?}");
        assert!(!opened("os=iOS", 10..12), "{name}: {live:#?}");
        assert!(opened("os=Other", 15..17), "{name}: {live:#?}");
        assert!(
            live.iter()
                .any(|(_, s, kind, _)| s == "whole" && kind == "resolved"),
            "{name}: {live:#?}"
        );
    }
}
