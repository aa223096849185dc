//! Late rows on any store: what each check read is kept for its window, a
//! bucket is re-checked once, and what the re-check changes (an alert
//! withdrawn, or opened late) is written like a check's own steps.

use super::alerts::{bucket, eval_of, now_after};
use super::Backend;
use crate::alerts::{AlertConfig, Notify};
use crate::state::{AlertStatus, CheckedInput, SentMessage};

fn input(metric: &str, i: i64, value: Option<f64>) -> CheckedInput {
    CheckedInput {
        metric: metric.into(),
        bucket: bucket(i),
        value,
    }
}

pub fn checked_inputs_are_kept_for_their_window_and_rechecked_once(backend: &dyn Backend) {
    let mut store = backend.open();
    let inputs = [
        input("feed_views", 0, Some(100.0)),
        input("likes", 0, None),
        input("feed_views", 1, Some(0.0)),
    ];
    store.record_inputs(&inputs, bucket(0)).unwrap();
    drop(store);
    let mut store = backend.open();
    let kept = store.inputs_to_recheck(bucket(0), bucket(2)).unwrap();
    assert_eq!(
        kept,
        [inputs[0].clone(), inputs[1].clone(), inputs[2].clone()]
    );
    assert_eq!(
        store.inputs_to_recheck(bucket(1), bucket(2)).unwrap(),
        [inputs[2].clone()],
        "from the window's start"
    );
    assert!(store
        .inputs_to_recheck(bucket(0), bucket(0))
        .unwrap()
        .is_empty());

    // Re-checked with its new value: never again, even when checked anew.
    let late = input("feed_views", 1, Some(95.0));
    let items = store
        .apply_late(&[late], &[], now_after(2), &AlertConfig::default())
        .unwrap();
    assert!(items.is_empty());
    store
        .record_inputs(&[input("feed_views", 1, Some(96.0))], bucket(0))
        .unwrap();
    assert_eq!(
        store.inputs_to_recheck(bucket(0), bucket(2)).unwrap(),
        [inputs[0].clone(), inputs[1].clone()]
    );

    // A later check forgets what left the window.
    store
        .record_inputs(&[input("feed_views", 5, Some(100.0))], bucket(1))
        .unwrap();
    assert_eq!(
        store.inputs_to_recheck(i64::MIN, i64::MAX).unwrap(),
        [input("feed_views", 5, Some(100.0))]
    );
}

pub fn an_alert_on_data_that_arrived_late_is_withdrawn(backend: &dyn Backend) {
    let mut store = backend.open();
    let cfg = AlertConfig::default();
    let eval = |i, v| eval_of("feed_views", None, i, Some(v));
    let opened = store.apply(&[eval(0, 0.0)], now_after(0), &cfg).unwrap();
    assert_eq!(opened.len(), 1);
    let alert_id = opened[0].alert_id;
    let message = SentMessage {
        chat_id: -100,
        message_id: 7,
    };
    store
        .mark_sent(opened[0].id, now_after(0), message)
        .unwrap();
    assert!(store
        .apply(&[eval(1, 100.0)], now_after(1), &cfg)
        .unwrap()
        .is_empty());
    drop(store);

    // The rows of bucket 0 arrived: with them it reads 100, in band.
    let mut store = backend.open();
    let items = store
        .apply_late(
            &[input("feed_views", 0, Some(100.0))],
            &[eval(0, 100.0)],
            now_after(2),
            &cfg,
        )
        .unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    let edit = &items[0].payload;
    assert_eq!(items[0].alert_id, alert_id);
    assert_eq!(edit.notify, Notify::Resolved { lasted_secs: 0 });
    let note = edit.notice.as_deref().expect("says why");
    assert!(
        note.contains("arrived late") && note.contains("in band"),
        "{note}"
    );
    let record = store.alert(alert_id).unwrap().expect("kept");
    assert_eq!(record.status, AlertStatus::Resolved);
    assert_eq!(record.resolved_at, Some(bucket(0)));
    // Kept with the alert, so a caption rebuilt for its message later (when
    // another alert of the group changes) still says why.
    assert_eq!(record.withdrawn.as_deref(), Some(note));
    let group = backend.open().message_group(message).unwrap();
    assert_eq!(group.len(), 1);
    assert_eq!(group[0].1.withdrawn.as_deref(), Some(note));
    assert!(store.open_since().unwrap().is_empty());
    let events = store.events(Some(alert_id)).unwrap();
    assert!(
        events.last().is_some_and(|e| e.details == note),
        "{events:?}"
    );

    // The next buckets go on as usual; an anomaly soon after is a new alert,
    // not the withdrawn one reopened.
    assert!(store
        .apply(&[eval(2, 100.0)], now_after(2), &cfg)
        .unwrap()
        .is_empty());
    let next = store.apply(&[eval(3, 0.0)], now_after(3), &cfg).unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].payload.notify, Notify::Opened);
    assert_ne!(next[0].alert_id, alert_id);
    // Applying the same re-check again (a re-run) changes nothing more.
    let again = store
        .apply_late(&[], &[eval(0, 100.0)], now_after(3), &cfg)
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
}

pub fn an_anomaly_the_late_rows_show_opens_late(backend: &dyn Backend) {
    let mut store = backend.open();
    let cfg = AlertConfig::default();
    let eval = |i, v| eval_of("feed_views", None, i, Some(v));
    assert!(store
        .apply(&[eval(0, 100.0)], now_after(0), &cfg)
        .unwrap()
        .is_empty());
    assert!(store
        .apply(&[eval(1, 100.0)], now_after(1), &cfg)
        .unwrap()
        .is_empty());
    let mut late = eval(0, 300.0);
    late.context.late = true;
    let items = store
        .apply_late(
            &[input("feed_views", 0, Some(300.0))],
            &[late],
            now_after(1),
            &cfg,
        )
        .unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    let opened = &items[0].payload;
    assert_eq!(opened.notify, Notify::Opened);
    assert_eq!((opened.bucket, opened.started_at), (bucket(0), bucket(0)));
    assert!(opened.context.late && opened.notice.is_none());
    let record = store.alert(items[0].alert_id).unwrap().expect("opened");
    assert_eq!(record.status, AlertStatus::Firing);
    // One calm bucket since it counted: the next one in band resolves it.
    let resolved = store.apply(&[eval(2, 100.0)], now_after(2), &cfg).unwrap();
    assert_eq!(resolved.len(), 1);
    assert!(matches!(
        resolved[0].payload.notify,
        Notify::Resolved { .. }
    ));
}
