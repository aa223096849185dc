//! Inhibition wired into the check: [`Checker::run`] over an embedded store
//! where feed views fall because Android and web fall, while iOS rises
//! against them. The whole metric's alert is the one alert of the falling
//! slices, and its caption lists them with their share of the change; iOS,
//! moving against its metric, alerts on its own. (The rule itself is
//! [`detect::alerting::inhibition`]'s, tested there.)

use std::sync::Arc;

use detect::{DetectorSpec, DropParams, Ensemble};

use super::context::DRILLDOWN_SLICES;
use super::run::Checker;
use super::test_events::{by_os, views_of_os};
use crate::config::AlertingConfig;
use crate::delivery::render::{self, Links};
use crate::detector_choice::DetectorChoice;
use crate::evaluation::Evaluation;
use crate::events::EventBatch;
use crate::metrics::model::{SliceKey, BUCKET_SECONDS};
use crate::sources::{Source, SqliteStore};
use crate::state::{NotificationPayload, State, StateLocation};
use crate::telegram::message::{plan_delivery, visible_len, Delivery, CAPTION_BUDGET};

/// Monday 2026-01-05 00:00 UTC: the first bucket of the history.
const DAY_0: i64 = 1_767_571_200;
/// The bucket the slices move at: four hours of steady history before it.
const INCIDENT: i64 = DAY_0 + 16 * BUCKET_SECONDS;

/// Views per bucket by os: (os, normal, at the incident). The whole falls
/// from 1000 to 700 (-300): Android's -300 is all of it, web's -100 a third
/// of it, and iOS's +100 goes against it.
const VIEWS: [(&str, u32, u32); 3] = [("Android", 600, 300), ("web", 100, 0), ("iOS", 300, 400)];

/// The history of `views` (os, normal, at the incident) up to the incident
/// and one normal bucket after it (so the table has passed the incident's
/// bucket).
async fn store(path: &std::path::Path, views: &[(&str, u32, u32)]) -> Arc<Source> {
    let source = Source::Sqlite(SqliteStore::open(path).expect("store opens"));
    let mut feed = Vec::new();
    let mut start = DAY_0;
    while start <= INCIDENT + BUCKET_SECONDS {
        for &(os, normal, incident) in views {
            let n = if start == INCIDENT { incident } else { normal };
            feed.extend(views_of_os(start, n, os));
        }
        start += BUCKET_SECONDS;
    }
    let batch = EventBatch {
        feed,
        messages: Vec::new(),
    };
    source.write_events(batch).await.expect("events written");
    Arc::new(source)
}

/// A fall (or rise) of 20 % from the median of the last six buckets, at its
/// first bucket: whole, Android, web and iOS all fire at the incident.
fn alerting(inhibit_slices: bool) -> AlertingConfig {
    let drop = DropParams {
        drop_fraction: 0.2,
        rise_fraction: Some(0.2),
        ..DropParams::default()
    };
    let mut alerting = AlertingConfig {
        detectors: DetectorChoice {
            default: Ensemble::single(DetectorSpec::Drop(drop)),
            ..DetectorChoice::default()
        },
        ..AlertingConfig::default()
    };
    alerting.floor.inhibit_slices = inhibit_slices;
    alerting
}

/// Checks the incident's bucket on a fresh state; returns the check's
/// evaluations by series ("" for the whole, else the os) and the
/// notifications it queued.
async fn check(
    source: &Arc<Source>,
    inhibit_slices: bool,
) -> (Vec<(String, Evaluation)>, Vec<NotificationPayload>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        State::open(&StateLocation::Sqlite(dir.path().join("state.sqlite"))).expect("state opens");
    let checker = Checker {
        source: Arc::clone(source),
        metrics: vec![by_os("feed_views")],
        alerting: alerting(inhibit_slices),
        store: store.clone(),
        experiments: Vec::new(),
        group_watch: crate::config::GroupWatchConfig {
            enabled: false,
            ..Default::default()
        },
    };
    let outcome = checker
        .run(INCIDENT, false, false)
        .await
        .expect("check runs");
    let evaluations = (outcome.evaluations.into_iter())
        .map(|e| {
            (
                e.slice.as_ref().map_or(String::new(), |s| s.value.clone()),
                e,
            )
        })
        .collect();
    let queued = store
        .call(|store| store.due(i64::MAX))
        .await
        .expect("outbox reads");
    (evaluations, queued.into_iter().map(|i| i.payload).collect())
}

/// What Telegram would get for a queued alert, as delivery renders it.
fn delivery(payload: &NotificationPayload) -> Delivery {
    let links = Links {
        base_url: "http://vigil.test".into(),
    };
    let message = render::alert_message(
        payload,
        Some(&by_os("feed_views")),
        &alerting(true),
        &links,
        render::state_of(payload),
    );
    plan_delivery(&message)
}

fn series(payloads: &[NotificationPayload]) -> Vec<String> {
    let mut names: Vec<String> = payloads
        .iter()
        .map(|p| p.slice.as_ref().map_or("whole".into(), |s| s.value.clone()))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn slices_moving_with_a_firing_metric_are_listed_in_its_alert_and_one_moving_against_alerts()
{
    let dir = tempfile::tempdir().expect("temp dir");
    let source = store(&dir.path().join("vigil.sqlite"), &VIEWS).await;

    let (evaluations, queued) = check(&source, true).await;
    for (os, evaluation) in &evaluations {
        assert!(evaluation.point.is_anomaly, "{os:?} fires: {evaluation:?}");
    }
    let suppressed = |os: &str| {
        let (_, evaluation) = (evaluations.iter())
            .find(|(name, _)| name == os)
            .unwrap_or_else(|| panic!("{os:?} evaluated"));
        evaluation.context.suppressed.clone()
    };
    for os in ["Android", "web"] {
        let why = suppressed(os).unwrap_or_else(|| panic!("{os} is held back"));
        assert!(why.contains("feed_views"), "{os}: {why}");
    }
    assert_eq!(suppressed(""), None, "the whole alerts");
    assert_eq!(suppressed("iOS"), None, "iOS moves against it and alerts");
    assert_eq!(
        series(&queued),
        ["iOS", "whole"],
        "two alerts: the metric's and the slice moving against it"
    );

    // The metric's message lists the falling slices with their share of its
    // fall (Android -300 of -300, web -100), and not iOS, which rose.
    let whole = (queued.iter())
        .find(|p| p.slice.is_none())
        .expect("the metric's alert");
    let listed: Vec<(SliceKey, Option<f64>)> = (whole.context.drilldown.iter())
        .map(|c| (c.slice.clone(), c.share))
        .collect();
    let os = |value: &str| SliceKey {
        dimension: "os".into(),
        value: value.into(),
    };
    assert_eq!(
        listed,
        [(os("Android"), Some(1.0)), (os("web"), Some(100.0 / 300.0))]
    );
    assert_eq!(whole.context.held_back_unlisted, 0, "both are named");
    let Delivery::Photo { caption } = delivery(whole) else {
        panic!("the message fits a caption")
    };
    assert!(caption.contains("Top slices:"), "{caption}");
    for line in ["os = Android: 600 → 300", "os = web: 100 → 0"] {
        assert!(caption.contains(line), "{line:?} missing in {caption}");
    }
    assert!(
        caption.contains("100 % of the change") && caption.contains("33 % of the change"),
        "{caption}"
    );
    assert!(!caption.contains("iOS"), "{caption}");
    assert!(!caption.contains("more held back"), "{caption}");

    // Without inhibition every slice is an alert of its own: the check, not
    // the pure rule alone, is what held them back above.
    let (_, queued) = check(&source, false).await;
    assert_eq!(series(&queued), ["Android", "iOS", "web", "whole"]);
}

/// Every os falls with the metric: the caption names the few that moved it
/// most and counts the rest, which appear in no other alert, in one line
/// that keeps the message a photo caption.
#[tokio::test]
async fn a_caption_counts_the_slices_held_back_beyond_those_it_names() {
    const OS: [&str; 8] = [
        "Android",
        "iOS",
        "web",
        "KaiOS",
        "Tizen",
        "HarmonyOS",
        "Linux",
        "Windows",
    ];
    let views: Vec<(&str, u32, u32)> = OS.iter().map(|&os| (os, 100, 40)).collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let source = store(&dir.path().join("vigil.sqlite"), &views).await;

    let (evaluations, queued) = check(&source, true).await;
    let held_back = (evaluations.iter())
        .filter(|(os, e)| !os.is_empty() && e.context.suppressed.is_some())
        .count();
    assert_eq!(held_back, OS.len(), "every os moves with the metric");
    assert_eq!(series(&queued), ["whole"], "one alert for all of them");
    let whole = &queued[0];
    assert_eq!(whole.context.drilldown.len(), DRILLDOWN_SLICES);
    let unlisted = OS.len() - DRILLDOWN_SLICES;
    assert_eq!(whole.context.held_back_unlisted, unlisted);

    let Delivery::Photo { caption } = delivery(whole) else {
        panic!("the count keeps the message within a caption")
    };
    assert!(visible_len(&caption) <= CAPTION_BUDGET, "{caption}");
    let more = format!("… and {unlisted} more held back with it");
    assert!(caption.contains(&more), "{more:?} missing in {caption}");
    let named = (OS.iter())
        .filter(|os| caption.contains(&format!("os = {os}:")))
        .count();
    assert_eq!(named, DRILLDOWN_SLICES, "{caption}");
}
