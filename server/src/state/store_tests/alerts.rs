//! The alert lifecycle and the outbox on any store: restarts, crash safety,
//! outbox order and backoff, silences, labels and delivery status.

use detect::Point;

use super::Backend;
use crate::alerts::{AlertConfig, Notify, SilenceScope};
use crate::evaluation::Evaluation;
use crate::metrics::model::{SliceKey, BUCKET_SECONDS};
use crate::state::{
    backoff_secs, AlertEvent, AlertStatus, CheckRecord, HistoryFilter, Label, SentMessage,
    StateStore,
};

pub(super) const T0: i64 = 1_763_900_100 - 1_763_900_100 % BUCKET_SECONDS;

pub(crate) fn bucket(i: i64) -> i64 {
    T0 + i * BUCKET_SECONDS
}

pub(crate) fn eval_of(metric: &str, slice: Option<&str>, i: i64, value: Option<f64>) -> Evaluation {
    let (lower, upper) = (90.0, 110.0);
    let is_anomaly = value.is_some_and(|v| v < lower || v > upper);
    Evaluation {
        metric: metric.into(),
        slice: slice.map(|v| SliceKey {
            dimension: "os".into(),
            value: v.into(),
        }),
        bucket: bucket(i),
        detector: "iqr".into(),
        point: Point {
            value,
            lower: Some(lower),
            upper: Some(upper),
            expected: Some(100.0),
            is_anomaly,
            score: if is_anomaly { 1.0 } else { 0.0 },
            deviation: value.map(|v| (v - 100.0) / 100.0),
        },
        context: Default::default(),
    }
}

fn eval(i: i64, value: Option<f64>) -> Evaluation {
    eval_of("feed_views", None, i, value)
}

/// Wall clock right after bucket `i` closed.
pub(crate) fn now_after(i: i64) -> i64 {
    bucket(i) + BUCKET_SECONDS + 30
}

fn sent(n: i64) -> SentMessage {
    SentMessage {
        chat_id: -100,
        message_id: n,
    }
}

pub fn restart_neither_repeats_nor_skips(backend: &dyn Backend) {
    let mut store = backend.open();
    let cfg = AlertConfig::default();
    let items = store
        .apply(&[eval(0, Some(200.0))], now_after(0), &cfg)
        .unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].payload.notify, Notify::Opened);
    assert_eq!(items[0].payload.bucket, bucket(0));
    let alert_id = items[0].alert_id;
    store.mark_sent(items[0].id, now_after(0), sent(7)).unwrap();
    drop(store);

    // Restart: the same bucket again is a no-op.
    let mut store = backend.open();
    let again = store
        .apply(&[eval(0, Some(200.0))], now_after(0) + 60, &cfg)
        .unwrap();
    assert!(again.is_empty());
    // Nor does a re-evaluation of it that now reads normal (late data) resolve it.
    assert!(store
        .apply(&[eval(0, Some(100.0))], now_after(0) + 90, &cfg)
        .unwrap()
        .is_empty());
    assert!(store.due(now_after(1)).unwrap().is_empty());

    // The next buckets continue the same alert: silence until the hour, then a repeat.
    for i in 1..4 {
        assert!(store
            .apply(&[eval(i, Some(200.0))], now_after(i), &cfg)
            .unwrap()
            .is_empty());
    }
    let drop_and_reopen = |store: Box<dyn StateStore>| {
        drop(store);
        backend.open()
    };
    let mut store = drop_and_reopen(store);
    let repeat = store
        .apply(&[eval(4, Some(200.0))], now_after(4), &cfg)
        .unwrap();
    assert_eq!(repeat.len(), 1);
    assert_eq!(repeat[0].alert_id, alert_id);
    assert_eq!(
        repeat[0].payload.notify,
        Notify::Repeat { firing_secs: 3600 }
    );
    assert_eq!(store.message_of(alert_id).unwrap(), Some(sent(7)));

    // Flap damping: one calm bucket does not resolve; the count of calm
    // buckets survives a restart, so the second one does.
    assert!(store
        .apply(&[eval(5, Some(100.0))], now_after(5), &cfg)
        .unwrap()
        .is_empty());
    let mut store = drop_and_reopen(store);
    let resolved = store
        .apply(&[eval(6, Some(100.0))], now_after(6), &cfg)
        .unwrap();
    assert_eq!(
        resolved[0].payload.notify,
        Notify::Resolved {
            lasted_secs: 6 * BUCKET_SECONDS
        }
    );
    let record = store.alert(alert_id).unwrap().unwrap();
    assert_eq!(record.status, AlertStatus::Resolved);
    assert_eq!(record.resolved_at, Some(bucket(6)));
    assert_eq!(record.value, Some(200.0));
    let kinds: Vec<_> = store
        .events(Some(alert_id))
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["opened", "repeat", "resolved"]);
}

/// A flapping alert: anomalous again within the hour after it resolved, it
/// is the same alert again (firing, its message edited back), across a
/// restart; no second alert, no new message.
pub fn an_anomaly_soon_after_resolution_reopens_the_alert_across_a_restart(backend: &dyn Backend) {
    let mut store = backend.open();
    let cfg = AlertConfig::default();
    let opened = store
        .apply(&[eval(0, Some(200.0))], now_after(0), &cfg)
        .unwrap();
    let alert_id = opened[0].alert_id;
    store
        .mark_sent(opened[0].id, now_after(0), sent(7))
        .unwrap();
    for i in 1..=2 {
        store
            .apply(&[eval(i, Some(100.0))], now_after(i), &cfg)
            .unwrap();
    }
    assert_eq!(
        store.alert(alert_id).unwrap().unwrap().status,
        AlertStatus::Resolved
    );
    let mut store = {
        drop(store);
        backend.open()
    };
    let again = store
        .apply(&[eval(3, Some(200.0))], now_after(3), &cfg)
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].alert_id, alert_id, "the same alert");
    assert_eq!(
        again[0].payload.notify,
        Notify::Reopened {
            quiet_secs: BUCKET_SECONDS
        }
    );
    let record = store.alert(alert_id).unwrap().unwrap();
    assert_eq!(
        (record.status, record.resolved_at),
        (AlertStatus::Firing, None)
    );
    assert_eq!(
        store.message_of(alert_id).unwrap(),
        Some(sent(7)),
        "its message"
    );
    let kinds: Vec<_> = store
        .events(Some(alert_id))
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["opened", "resolved", "reopened"]);
}

pub fn crash_before_mark_sent_loses_nothing_and_sends_once(backend: &dyn Backend) {
    let mut store = backend.open();
    let items = store
        .apply(
            &[eval(0, Some(10.0))],
            now_after(0),
            &AlertConfig::default(),
        )
        .unwrap();
    assert_eq!(items.len(), 1);
    drop(store); // crash: the sender never confirmed

    let mut store = backend.open();
    let due = store.due(now_after(0)).unwrap();
    assert_eq!(due, items, "still pending after the restart");
    store.mark_sent(due[0].id, now_after(0), sent(1)).unwrap();
    // A second confirmation (a retried sender) changes nothing.
    store.mark_sent(due[0].id, now_after(0), sent(2)).unwrap();
    assert!(store.due(now_after(0) + 3600).unwrap().is_empty());
    drop(store);
    let store = backend.open();
    assert!(store.due(now_after(0) + 3600).unwrap().is_empty());
    assert_eq!(store.message_of(items[0].alert_id).unwrap(), Some(sent(1)));
}

pub fn failures_back_off_on_schedule_and_honour_retry_after(backend: &dyn Backend) {
    let expected = [10, 30, 60, 120, 300, 900, 900, 900];
    for (n, secs) in expected.iter().enumerate() {
        assert_eq!(backoff_secs(n as u32 + 1), *secs, "attempt {}", n + 1);
    }
    let mut store = backend.open();
    let item = store
        .apply(
            &[eval(0, Some(10.0))],
            now_after(0),
            &AlertConfig::default(),
        )
        .unwrap()
        .remove(0);
    let mut now = item.created_at;
    for secs in expected {
        let head = store.due(now).unwrap().remove(0);
        let retry_at = head.retry_at(now, None);
        assert_eq!(retry_at, now + secs);
        store
            .mark_failed(head.id, "telegram: 502", retry_at)
            .unwrap();
        assert!(store.due(retry_at - 1).unwrap().is_empty(), "too early");
        now = retry_at;
    }
    let head = store.due(now).unwrap().remove(0);
    assert_eq!(head.attempts, 8);
    assert_eq!(head.last_error.as_deref(), Some("telegram: 502"));
    // Flood control: Telegram's retry_after wins.
    let retry_at = head.retry_at(now, Some(42));
    assert_eq!(retry_at, now + 42);
    store
        .mark_failed(
            head.id,
            "error sending request for url (https://api.telegram.org/bot123456:AAHsecretsecretsecret/sendPhoto)",
            retry_at,
        )
        .unwrap();
    assert!(store.due(now + 41).unwrap().is_empty());
    let head = store.due(now + 42).unwrap().remove(0);
    let error = head.last_error.unwrap();
    assert!(!error.contains("AAHsecret"), "{error}");
    assert!(error.contains("bot<redacted>/sendPhoto"), "{error}");
}

pub fn telegram_down_for_an_hour_then_queued_alerts_arrive_in_order(backend: &dyn Backend) {
    let mut store = backend.open();
    let cfg = AlertConfig::default();
    let mut created = Vec::new();
    let mut sent_ids = Vec::new();
    // Four metrics go anomalous one bucket after another while Telegram is down;
    // the sender tries every 10 s.
    let metrics = ["a", "b", "c", "d"];
    let mut now = now_after(0);
    let up_at = now + 3600;
    let mut next_bucket = 0;
    while now < up_at + 600 {
        if next_bucket < 4 && now >= now_after(next_bucket) {
            let e = eval_of(metrics[next_bucket as usize], None, next_bucket, Some(0.0));
            created.extend(
                store
                    .apply(&[e], now, &cfg)
                    .unwrap()
                    .into_iter()
                    .map(|i| i.id),
            );
            next_bucket += 1;
        }
        for item in store.due(now).unwrap() {
            if now < up_at {
                let retry_at = item.retry_at(now, None);
                store
                    .mark_failed(item.id, "connection refused", retry_at)
                    .unwrap();
                break; // the sender stops at the first failure
            }
            store.mark_sent(item.id, now, sent(item.id)).unwrap();
            sent_ids.push(item.id);
        }
        now += 10;
    }
    assert_eq!(created.len(), 4);
    assert_eq!(sent_ids, created, "delivered once each, in creation order");
}

pub fn silence_mutes_and_labels_are_recorded(backend: &dyn Backend) {
    let mut store = backend.open();
    let cfg = AlertConfig::default();
    let android = SliceKey {
        dimension: "os".into(),
        value: "Android".into(),
    };
    let silence = store
        .silence(
            SilenceScope::Slice {
                metric: "ctr".into(),
                slice: Some(android.clone()),
            },
            now_after(2),
            "ann",
            now_after(0) - 60,
        )
        .unwrap();
    assert_eq!(
        store.active_silences(now_after(0)).unwrap(),
        vec![silence.clone()]
    );
    let items = store
        .apply(
            &[
                eval_of("ctr", Some("Android"), 0, Some(0.0)),
                eval_of("ctr", Some("iOS"), 0, Some(0.0)),
            ],
            now_after(0),
            &cfg,
        )
        .unwrap();
    assert_eq!(items.len(), 1, "only iOS is sent");
    assert_eq!(items[0].payload.slice.as_ref().unwrap().value, "iOS");
    let muted = store
        .history(
            &HistoryFilter {
                metric: Some("ctr".into()),
                ..Default::default()
            },
            10,
        )
        .unwrap();
    assert_eq!(muted.len(), 2, "the muted alert is still recorded");
    let android_alert = muted
        .iter()
        .find(|a| a.slice == Some(android.clone()))
        .unwrap();
    assert!(android_alert.muted);
    let events = store.events(Some(android_alert.id)).unwrap();
    assert_eq!(events.len(), 1);
    assert!(events[0].muted);

    store.end_silence(silence.id, now_after(0) + 1).unwrap();
    assert!(store.active_silences(now_after(0) + 1).unwrap().is_empty());
    // A replay of a past span still sees the ended silence where it was in force.
    let ended = store
        .silences_overlapping(now_after(0) - 120, now_after(0))
        .unwrap();
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].id, silence.id);
    assert_eq!(ended[0].ended_at, Some(now_after(0) + 1));
    assert!(store
        .silences_overlapping(now_after(0) + 1, now_after(3))
        .unwrap()
        .is_empty());
    assert!(store
        .silences_overlapping(now_after(0) - 600, now_after(0) - 60)
        .unwrap()
        .is_empty());

    let id = items[0].alert_id;
    store
        .label(id, Label::FalseAlarm, "bob", now_after(1))
        .unwrap();
    store
        .record_button(id, "ack", "carol", now_after(1))
        .unwrap();
    let record = store.alert(id).unwrap().unwrap();
    assert_eq!(record.label, Some(Label::FalseAlarm));
    assert_eq!(record.label_by.as_deref(), Some("bob"));
    let events = store.events(Some(id)).unwrap();
    assert_eq!(
        events[1],
        AlertEvent {
            alert_id: id,
            at: now_after(1),
            bucket: None,
            kind: "label".into(),
            details: "false_alarm".into(),
            actor: Some("bob".into()),
            muted: false,
        }
    );
    assert_eq!(events[2].kind, "button");
    assert!(store.label(9999, Label::Expected, "bob", 0).is_err());

    // The mute button silences exactly that alert's series.
    let mute = store
        .silence_alert(id, now_after(1) + 3600, "dave", now_after(1))
        .unwrap();
    assert_eq!(
        mute.scope,
        SilenceScope::Slice {
            metric: "ctr".into(),
            slice: items[0].payload.slice.clone(),
        }
    );
    assert_eq!(store.events(Some(id)).unwrap().len(), 4);
    assert!(store.silence_alert(9999, 0, "dave", 0).is_err());

    let firing = store
        .history(
            &HistoryFilter {
                status: Some(AlertStatus::Firing),
                from: Some(bucket(0)),
                to: Some(bucket(1)),
                ..Default::default()
            },
            10,
        )
        .unwrap();
    assert_eq!(firing.len(), 2);
    assert!(store
        .history(
            &HistoryFilter {
                status: Some(AlertStatus::Resolved),
                ..Default::default()
            },
            10
        )
        .unwrap()
        .is_empty());
}

pub fn gap_does_nothing_in_the_store(backend: &dyn Backend) {
    let mut store = backend.open();
    let cfg = AlertConfig::default();
    assert!(store
        .apply(&[eval(0, None)], now_after(0), &cfg)
        .unwrap()
        .is_empty());
    store
        .apply(&[eval(1, Some(0.0))], now_after(1), &cfg)
        .unwrap();
    assert!(store
        .apply(&[eval(2, None)], now_after(2), &cfg)
        .unwrap()
        .is_empty());
    let alerts = store.history(&HistoryFilter::default(), 10).unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].status, AlertStatus::Firing);
}

pub fn history_shows_each_alerts_delivery_status(backend: &dyn Backend) {
    let mut store = backend.open();
    let cfg = AlertConfig::default();
    let items = store
        .apply(
            &[
                eval_of("feed_views", None, 0, Some(200.0)),
                eval_of("feed_likes", None, 0, Some(200.0)),
                eval_of("messages_sent", None, 0, Some(200.0)),
                eval_of("feed_ctr", None, 0, Some(200.0)),
            ],
            now_after(0),
            &cfg,
        )
        .unwrap();
    assert_eq!(items.len(), 4);
    store.mark_sent(items[0].id, now_after(0), sent(1)).unwrap();
    store
        .mark_done_without_message(items[1].id, now_after(0), Some("chat not found"))
        .unwrap();
    store
        .mark_done_without_message(items[2].id, now_after(0), None)
        .unwrap();
    let status = |metric: &str| {
        store
            .history(&HistoryFilter::default(), 10)
            .unwrap()
            .into_iter()
            .find(|a| a.metric == metric)
            .map(|a| a.delivery)
            .unwrap()
    };
    assert_eq!(status("feed_views"), "sent");
    assert_eq!(status("feed_likes"), "failed");
    assert_eq!(status("messages_sent"), "logged");
    assert_eq!(status("feed_ctr"), "pending");
}

pub fn configured_silences_are_added_once(backend: &dyn Backend) {
    let mut store = backend.open();
    let scope = SilenceScope::Metric {
        metric: "feed_views".into(),
    };
    let now = 1_800_000_000;
    let planned = [
        (scope.clone(), 0, now + 3600),
        (SilenceScope::All, 0, now - 10),
    ];
    assert_eq!(
        store.sync_configured_silences(&planned, now).unwrap(),
        1,
        "expired ones are skipped"
    );
    drop(store);
    let mut store = backend.open();
    assert_eq!(
        store.sync_configured_silences(&planned, now + 60).unwrap(),
        0,
        "not twice across restarts"
    );
    let active = store.active_silences(now + 60).unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].scope, scope);
    assert_eq!(active[0].created_by, "config");
}

pub fn an_item_that_failed_then_went_through_counts_as_sent(backend: &dyn Backend) {
    let mut store = backend.open();
    let cfg = AlertConfig::default();
    let items = store
        .apply(
            &[
                eval_of("feed_views", None, 0, Some(200.0)),
                eval_of("feed_likes", None, 0, Some(200.0)),
            ],
            now_after(0),
            &cfg,
        )
        .unwrap();
    store
        .mark_failed(
            items[0].id,
            "telegram sendPhoto: server error 502",
            now_after(0) + 10,
        )
        .unwrap();
    store
        .mark_sent(items[0].id, now_after(0) + 20, sent(1))
        .unwrap();
    assert_eq!(store.outbox_counts().unwrap(), (1, 1, 0));
    store
        .mark_done_without_message(items[1].id, now_after(0) + 30, Some("chat not found"))
        .unwrap();
    assert_eq!(store.outbox_counts().unwrap(), (0, 1, 1));
}

pub fn a_started_check_stays_unfinished_across_a_restart_until_recorded_ok(backend: &dyn Backend) {
    let mut store = backend.open();
    let record = |i: i64, ok: bool| CheckRecord {
        bucket: bucket(i),
        started_at: now_after(i),
        duration_ms: 5,
        ok,
        late: false,
        evaluated: 1,
        anomalies: 0,
        error: (!ok).then(|| "source down".to_string()),
    };
    store
        .check_started(bucket(1), now_after(1))
        .expect("started");
    store
        .check_started(bucket(2), now_after(2))
        .expect("started");
    store
        .check_started(bucket(2), now_after(2) + 60)
        .expect("again");
    // Killed: nothing recorded. A restart still knows both.
    let mut store = backend.open();
    assert_eq!(
        store.unfinished_checks().expect("read"),
        vec![bucket(1), bucket(2)]
    );
    store.record_check(&record(2, false)).expect("failed run");
    assert_eq!(
        store.unfinished_checks().expect("read"),
        vec![bucket(1), bucket(2)],
        "a failed run is not finished"
    );
    store.record_check(&record(1, true)).expect("ok run");
    assert_eq!(store.unfinished_checks().expect("read"), vec![bucket(2)]);
}
