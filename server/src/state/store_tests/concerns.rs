//! Check runs, notices, labels and detector settings on any store.

use detect::{DetectorSpec, DropParams, Ensemble, IqrParams, Point, SeasonalParams};

use super::Backend;
use crate::alerts::Notify;
use crate::detector_choice::DetectorChoice;
use crate::evaluation::Evaluation;
use crate::metrics::model::SliceKey;
use crate::state::{LabelError, LabelKind, NewLabel, STALE_METRIC};

fn evaluation(metric: &str, slice: Option<&str>, bucket: i64, value: Option<f64>) -> Evaluation {
    Evaluation {
        metric: metric.into(),
        slice: slice.map(|v| SliceKey {
            dimension: "os".into(),
            value: v.into(),
        }),
        bucket,
        detector: "iqr".into(),
        point: Point {
            value,
            lower: Some(90.0),
            upper: Some(110.0),
            expected: Some(100.0),
            is_anomaly: value.is_some_and(|v| !(90.0..=110.0).contains(&v)),
            score: 0.0,
            deviation: None,
        },
        context: Default::default(),
    }
}

pub fn an_empty_store_has_no_latest_evaluation(backend: &dyn Backend) {
    let store = backend.open();
    assert!(store.latest_whole().unwrap().is_empty());
}

pub fn keeps_the_newest_whole_metric_evaluation_across_a_restart(backend: &dyn Backend) {
    let mut store = backend.open();
    store
        .record_latest(&[
            evaluation("feed_views", None, 900, Some(100.0)),
            evaluation("feed_views", Some("iOS"), 900, Some(40.0)),
            evaluation("likes", None, 900, None),
        ])
        .unwrap();
    store
        .record_latest(&[evaluation("feed_views", None, 1800, Some(150.0))])
        .unwrap();
    drop(store);
    let store = backend.open();
    let latest = store.latest_whole().unwrap();
    assert_eq!(latest.len(), 2, "slices are not whole metrics: {latest:?}");
    let views = &latest["feed_views"];
    assert_eq!(views.bucket, 1800);
    assert_eq!(views.value, Some(150.0));
    assert_eq!(
        (views.expected, views.lower, views.upper),
        (Some(100.0), Some(90.0), Some(110.0))
    );
    assert!(views.is_anomaly);
    assert_eq!(views.detector, "iqr");
    assert_eq!(latest["likes"].value, None, "a gap is kept as no value");
}

pub fn a_recheck_of_an_older_bucket_does_not_replace_the_newest(backend: &dyn Backend) {
    let mut store = backend.open();
    store
        .record_latest(&[evaluation("feed_views", None, 1800, Some(150.0))])
        .unwrap();
    store
        .record_latest(&[evaluation("feed_views", None, 900, Some(100.0))])
        .unwrap();
    assert_eq!(store.latest_whole().unwrap()["feed_views"].bucket, 1800);
    // The same bucket re-evaluated (late data) does replace it.
    store
        .record_latest(&[evaluation("feed_views", None, 1800, Some(105.0))])
        .unwrap();
    assert_eq!(
        store.latest_whole().unwrap()["feed_views"].value,
        Some(105.0)
    );
}

pub fn one_stale_alert_per_table_apart_from_the_source_alert(backend: &dyn Backend) {
    let mut store = backend.open();
    let opened = store.data_stale("message_actions", "old", 100).unwrap();
    let opened = opened.expect("a notice");
    assert_eq!(opened.payload.metric, STALE_METRIC);
    assert_eq!(
        opened.payload.slice.as_ref().map(|s| s.value.as_str()),
        Some("message_actions")
    );
    assert_eq!(opened.payload.notice.as_deref(), Some("old"));
    assert!(
        store
            .data_stale("message_actions", "old", 200)
            .unwrap()
            .is_none(),
        "already open: said once"
    );
    assert!(store
        .data_stale("feed_actions", "old", 200)
        .unwrap()
        .is_some());
    assert!(
        store.source_available(300).unwrap().is_none(),
        "a stale table is not the source's alert"
    );
    assert!(store.source_unavailable("down", 300).unwrap().is_some());
    let fresh = store.data_fresh("message_actions", 400).unwrap();
    let fresh = fresh.expect("fresh again");
    assert_eq!(fresh.alert_id, opened.alert_id);
    assert!(matches!(
        fresh.payload.notify,
        Notify::Resolved { lasted_secs: 300 }
    ));
    assert!(store.data_fresh("message_actions", 500).unwrap().is_none());
    assert!(store.source_available(500).unwrap().is_some());
    let firing = crate::state::HistoryFilter {
        status: Some(crate::state::AlertStatus::Firing),
        ..Default::default()
    };
    let open: Vec<String> = store
        .history(&firing, 10)
        .unwrap()
        .into_iter()
        .map(|a| format!("{} {:?}", a.metric, a.slice.map(|s| s.value)))
        .collect();
    assert_eq!(open, [format!("{STALE_METRIC} Some(\"feed_actions\")")]);
}

fn label(metric: &str, from: i64, to: i64, kind: LabelKind) -> NewLabel {
    NewLabel {
        metric: metric.into(),
        from,
        to,
        kind,
        note: "release 4.2".into(),
    }
}

pub fn labels_survive_reopening_and_removal_hides_them(backend: &dyn Backend) {
    let first = {
        let mut store = backend.open();
        let first = store
            .add_label(
                &label("feed_views", 100, 200, LabelKind::Incident),
                "web",
                7,
            )
            .expect("adds");
        store
            .add_label(
                &label("feed_views", 300, 400, LabelKind::FalseAlarm),
                "web",
                8,
            )
            .expect("adds");
        store
            .add_label(
                &label("feed_likes", 100, 200, LabelKind::Expected),
                "web",
                9,
            )
            .expect("adds");
        first
    };
    let mut store = backend.open();
    let views = store
        .list_labels(Some("feed_views"), 0, 1000)
        .expect("lists");
    assert_eq!(views.len(), 2);
    assert_eq!(views[0], first);
    assert_eq!(views[1].kind, LabelKind::FalseAlarm);
    assert_eq!(store.list_labels(None, 0, 1000).expect("lists").len(), 3);
    assert_eq!(
        store
            .list_labels(Some("feed_views"), 200, 300)
            .expect("lists"),
        vec![],
        "half-open spans: [100,200) and [300,400) miss [200,300)"
    );
    store.remove_label(first.id, 10).expect("removes");
    assert_eq!(
        store
            .list_labels(Some("feed_views"), 0, 1000)
            .expect("lists")
            .len(),
        1
    );
    assert!(store.get_label(first.id).expect("reads").is_none());
    assert!(matches!(
        store.remove_label(first.id, 11),
        Err(LabelError::Unknown(_))
    ));
}

fn configured() -> DetectorChoice {
    let mut choice = DetectorChoice::default();
    choice.per_metric.insert(
        "feed_ctr".into(),
        Ensemble::single(DetectorSpec::Seasonal(SeasonalParams::default())),
    );
    choice
}

pub fn applied_settings_override_the_config_until_reverted_and_keep_a_history(
    backend: &dyn Backend,
) {
    let config = configured();
    let tuned = Ensemble::single(DetectorSpec::Iqr(IqrParams {
        a: 2.5,
        ..IqrParams::default()
    }));
    let combined = Ensemble::new(
        vec![
            DetectorSpec::Seasonal(SeasonalParams::default()),
            DetectorSpec::Drop(DropParams::default()),
        ],
        detect::CombineRule::Any,
    );
    {
        let mut store = backend.open();
        let first = store
            .apply_detector("feed_views", Some(&tuned), &config, "web", 100)
            .expect("applies");
        assert_eq!(
            first.previous, config.default,
            "the config's default was in effect"
        );
        store
            .apply_detector("feed_ctr", Some(&combined), &config, "web", 200)
            .expect("applies");
    }
    let mut store = backend.open();
    let effective = store.effective_detectors(&config).expect("reads");
    assert_eq!(effective.for_metric("feed_views"), &tuned);
    assert_eq!(effective.for_metric("feed_ctr"), &combined);
    assert_eq!(effective.for_metric("feed_likes"), &config.default);

    let revert = store
        .apply_detector("feed_views", None, &config, "web", 300)
        .expect("reverts");
    assert_eq!(revert.previous, tuned);
    store
        .apply_detector("feed_ctr", None, &config, "web", 400)
        .expect("reverts");
    let effective = store.effective_detectors(&config).expect("reads");
    assert_eq!(effective, config, "back to the config file's choice");

    let history = store.detector_history(Some("feed_views")).expect("history");
    let summary: Vec<_> = history
        .iter()
        .map(|c| {
            (
                c.applied_at,
                c.detector.as_ref().map(Ensemble::name),
                c.previous.name(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (300, None, "iqr".to_string()),
            (100, Some("iqr".to_string()), "learned".to_string())
        ]
    );
    assert_eq!(store.detector_history(None).expect("all").len(), 4);

    store
        .apply_detector("feed_views", Some(&tuned), &config, "web", 500)
        .expect("applies");
    let fixed = DetectorChoice {
        fixed: true,
        ..config.clone()
    };
    assert_eq!(
        store.effective_detectors(&fixed).expect("reads"),
        fixed,
        "a command-line override wins"
    );
}
