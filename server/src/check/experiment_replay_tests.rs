//! The experiment replay records what the live check records: the
//! simulator's harmful experiment (feed-ranking-v2, CTR -15% in group 2),
//! declared to end five days after its start, is checked bucket by bucket
//! around its end by [`Checker::run`] into a real alert state (what `vigil
//! check --at` does) and replayed by [`replay_experiment`]: the same alerts
//! open, repeat and resolve at the same buckets.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::*;
use crate::check::run::Checker;
use crate::config::{AlertingConfig, GroupWatchConfig, SimulatorConfig};
use crate::metrics::catalogue::builtin_metric;
use crate::simulator::Simulator;
use crate::sources::SqliteStore;
use crate::state::State;

const START: i64 = 1_769_990_400; // Monday 2026-02-02 00:00 UTC
const DAYS: u32 = 14;
const HOUR: i64 = 3600;

/// (bucket, alert metric, slice, kind, first bucket of its alert).
type Record = (i64, String, String, String, i64);

/// The simulated store up to a day after the harmful experiment's
/// declared end, and the experiment.
async fn simulated(path: &std::path::Path) -> (Arc<Source>, ExperimentConfig) {
    let end = START + i64::from(DAYS) * 86_400;
    let config = SimulatorConfig {
        users: 2000,
        days: DAYS,
        seed: 42,
    };
    let mut simulator = Simulator::new(&config, end, Some((START, end)));
    let labels = simulator.experiment_labels();
    let mut harmful = crate::simulator::experiments::declared(&labels)
        .into_iter()
        .find(|e| e.name == "feed-ranking-v2")
        .expect("the harmful experiment");
    harmful.end = Some(harmful.start + 5 * 86_400);
    let source = Source::Sqlite(SqliteStore::open(path).expect("store opens"));
    let until = harmful.end.expect("an end") + 86_400;
    let mut from = START;
    while from < until {
        let to = (from + 86_400).min(until);
        source
            .write_events(simulator.generate(from, to))
            .await
            .expect("events written");
        from = to;
    }
    (Arc::new(source), harmful)
}

/// The walk: the last hours before the end and the first after it.
fn walk(experiment: &ExperimentConfig) -> (i64, i64) {
    let end = experiment.end.expect("an end");
    (end - 4 * HOUR, end + 2 * HOUR)
}

async fn checked(source: &Arc<Source>, experiment: &ExperimentConfig) -> BTreeSet<Record> {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = State::open(&crate::state::StateLocation::Sqlite(
        dir.path().join("state.sqlite"),
    ))
    .expect("state opens");
    let checker = Checker {
        source: Arc::clone(source),
        // No metric: only the experiment is checked (its sums read the events).
        metrics: Vec::new(),
        alerting: AlertingConfig::default(),
        store: store.clone(),
        experiments: vec![experiment.clone()],
        group_watch: GroupWatchConfig {
            enabled: false,
            ..GroupWatchConfig::default()
        },
    };
    let (first, last) = walk(experiment);
    let metrics = vec![builtin_metric("feed_ctr").expect("built-in")];
    let checker = Checker { metrics, ..checker };
    let mut bucket = first;
    while bucket <= last {
        checker.run(bucket, false, false).await.expect("check runs");
        bucket += BUCKET_SECONDS;
    }
    store
        .call(|store| {
            let mut records = BTreeSet::new();
            for event in store.events(None)? {
                let Some(bucket) = event.bucket else { continue };
                let alert = store.alert(event.alert_id)?.expect("the event's alert");
                if !alert.metric.starts_with("experiment:") {
                    continue;
                }
                let slice = alert.slice.map_or(String::new(), |s| s.value);
                records.insert((bucket, alert.metric, slice, event.kind, alert.started_at));
            }
            Ok::<_, crate::state::AlertError>(records)
        })
        .await
        .expect("state reads")
}

#[tokio::test]
async fn the_replay_records_what_the_live_check_records() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (source, harmful) = simulated(&dir.path().join("vigil.sqlite")).await;
    let live = checked(&source, &harmful).await;
    let alerting = AlertingConfig::default();
    let metrics = vec![builtin_metric("feed_ctr").expect("built-in")];
    let lifecycle = (
        &alerting.lifecycle,
        &[][..],
        alerting.schedule.grace_seconds,
    );
    let replayed = replay_experiment(&source, &harmful, &metrics, lifecycle, walk(&harmful))
        .await
        .expect("replay runs");
    let replay: BTreeSet<Record> = (replayed.iter())
        .map(|r| {
            (
                r.step.bucket,
                r.evaluation.metric.clone(),
                r.evaluation
                    .slice
                    .as_ref()
                    .map_or(String::new(), |s| s.value.clone()),
                r.step.notify.kind().to_string(),
                r.step.started_at,
            )
        })
        .collect();
    assert_eq!(
        live.symmetric_difference(&replay).collect::<Vec<_>>(),
        Vec::<&Record>::new(),
        "live {live:#?}"
    );
    // Not a vacuous agreement: the harmful comparison opened (at the walk's
    // first check: it diverged days before), and resolved after the end.
    let ctr = "experiment:feed-ranking-v2:feed_ctr";
    let (first, _) = walk(&harmful);
    let kinds = |kind: &str| -> Vec<i64> {
        (live.iter())
            .filter(|(_, metric, slice, k, _)| metric == ctr && slice == "2" && k == kind)
            .map(|(bucket, ..)| *bucket)
            .collect()
    };
    assert_eq!(kinds("opened"), [first], "{live:#?}");
    let resolved = kinds("resolved");
    assert!(
        resolved.len() == 1 && resolved[0] > harmful.end.expect("an end"),
        "{live:#?}"
    );
    // The what-if: with a minimum effect above the true 15%, nothing opens.
    let strict = ExperimentConfig {
        rules: detect::experiments::Rules {
            min_effect: 0.5,
            ..harmful.rules
        },
        ..harmful.clone()
    };
    let what_if = replay_experiment(&source, &strict, &metrics, lifecycle, walk(&harmful))
        .await
        .expect("replay runs");
    assert!(
        what_if.iter().all(|r| r.evaluation.metric != ctr),
        "{what_if:#?}"
    );
}
