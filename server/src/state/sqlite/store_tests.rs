//! Store tests on real SQLite files: restarts, crash safety, outbox order and
//! backoff, and a property test that duplicates and restarts never change the
//! history.
//!
//! Long because it is one suite over one store: the cases share their
//! fixtures (an evaluation builder, a reopened file) and read as one story.
//!
//! Over 600 lines: the lifecycle, outbox and property tests share fixtures.

use std::path::{Path, PathBuf};

use detect::Point;
use proptest::prelude::*;

use crate::alerts::{AlertConfig, Notify, SilenceScope};
use crate::evaluation::Evaluation;
use crate::metrics::model::{SliceKey, BUCKET_SECONDS};
use crate::state::prelude::*;
use crate::state::{
    backoff_secs, state_path, AlertEvent, AlertStatus, CheckRecord, HistoryFilter, Label,
    SentMessage, SqliteState,
};

const T0: i64 = 1_763_900_100 - 1_763_900_100 % BUCKET_SECONDS;

fn bucket(i: i64) -> i64 {
    T0 + i * BUCKET_SECONDS
}

fn eval_of(metric: &str, slice: Option<&str>, i: i64, value: Option<f64>) -> Evaluation {
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
fn now_after(i: i64) -> i64 {
    bucket(i) + BUCKET_SECONDS + 30
}

fn temp_store() -> (tempfile::TempDir, PathBuf, SqliteState) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = state_path(dir.path());
    let store = SqliteState::open(&path).expect("open");
    (dir, path, store)
}

fn reopen(path: &Path) -> SqliteState {
    SqliteState::open(path).expect("reopen")
}

fn sent(n: i64) -> SentMessage {
    SentMessage {
        chat_id: -100,
        message_id: n,
    }
}

#[test]
fn restart_neither_repeats_nor_skips() {
    let (_dir, path, mut store) = temp_store();
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
    let mut store = reopen(&path);
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
    let drop_and_reopen = |store: SqliteState| {
        drop(store);
        reopen(&path)
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
#[test]
fn an_anomaly_soon_after_resolution_reopens_the_alert_across_a_restart() {
    let (_dir, path, mut store) = temp_store();
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
        reopen(&path)
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

#[test]
fn crash_before_mark_sent_loses_nothing_and_sends_once() {
    let (_dir, path, mut store) = temp_store();
    let items = store
        .apply(
            &[eval(0, Some(10.0))],
            now_after(0),
            &AlertConfig::default(),
        )
        .unwrap();
    assert_eq!(items.len(), 1);
    drop(store); // crash: the sender never confirmed

    let mut store = reopen(&path);
    let due = store.due(now_after(0)).unwrap();
    assert_eq!(due, items, "still pending after the restart");
    store.mark_sent(due[0].id, now_after(0), sent(1)).unwrap();
    // A second confirmation (a retried sender) changes nothing.
    store.mark_sent(due[0].id, now_after(0), sent(2)).unwrap();
    assert!(store.due(now_after(0) + 3600).unwrap().is_empty());
    drop(store);
    let store = reopen(&path);
    assert!(store.due(now_after(0) + 3600).unwrap().is_empty());
    assert_eq!(store.message_of(items[0].alert_id).unwrap(), Some(sent(1)));
}

#[test]
fn failures_back_off_on_schedule_and_honour_retry_after() {
    let expected = [10, 30, 60, 120, 300, 900, 900, 900];
    for (n, secs) in expected.iter().enumerate() {
        assert_eq!(backoff_secs(n as u32 + 1), *secs, "attempt {}", n + 1);
    }
    let (_dir, _path, mut store) = temp_store();
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

#[test]
fn telegram_down_for_an_hour_then_queued_alerts_arrive_in_order() {
    let (_dir, _path, mut store) = temp_store();
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

#[test]
fn silence_mutes_and_labels_are_recorded() {
    let (_dir, _path, mut store) = temp_store();
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

#[test]
fn gap_does_nothing_in_the_store() {
    let (_dir, _path, mut store) = temp_store();
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

/// Per-series history with wall-clock times and ids left out: what the
/// interleaving must not change.
fn canonical(store: &SqliteState) -> Vec<String> {
    let alerts = store
        .history(&HistoryFilter::default(), usize::MAX)
        .unwrap();
    let mut out: Vec<_> = store
        .events(None)
        .unwrap()
        .into_iter()
        .map(|e| {
            let a = alerts.iter().find(|a| a.id == e.alert_id).unwrap();
            format!(
                "{} {:?} started {} bucket {:?} {} {} muted={}",
                a.metric, a.slice, a.started_at, e.bucket, e.kind, e.details, e.muted
            )
        })
        .collect();
    out.sort();
    out
}

const SERIES: [(&str, Option<&str>); 3] = [("views", None), ("views", Some("iOS")), ("ctr", None)];

/// Values per series per bucket: gap, normal or anomalous.
fn values() -> impl Strategy<Value = Vec<Vec<Option<f64>>>> {
    let value = prop_oneof![Just(None), Just(Some(100.0)), Just(Some(500.0))];
    proptest::collection::vec(proptest::collection::vec(value, 12), SERIES.len())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn duplicates_and_restarts_give_the_clean_history(
        values in values(),
        // Per step: which series advances next, whether to re-send an old
        // evaluation, whether to restart, whether to cut the batch.
        choices in proptest::collection::vec((0usize..3, any::<bool>(), 0u8..8, any::<bool>()), 60),
    ) {
        let cfg = AlertConfig {
            repeat_after_secs: 1800,
            ..AlertConfig::default()
        };
        let evals: Vec<Vec<Evaluation>> = SERIES
            .iter()
            .zip(&values)
            .map(|((metric, slice), vs)| {
                vs.iter().enumerate().map(|(i, v)| eval_of(metric, *slice, i as i64, *v)).collect()
            })
            .collect();

        // Clean pass: every bucket once, in order.
        let (_clean_dir, _clean_path, mut clean) = temp_store();
        for i in 0..12 {
            let batch: Vec<_> = evals.iter().map(|s| s[i].clone()).collect();
            clean.apply(&batch, now_after(i as i64), &cfg).unwrap();
        }

        // Messy pass: series interleaved, old evaluations re-sent, restarts.
        let (_dir, path, mut messy) = temp_store();
        let mut next = [0usize; 3];
        let mut batch: Vec<Evaluation> = Vec::new();
        let flush = |store: &mut SqliteState, batch: &mut Vec<Evaluation>| {
            if let Some(newest) = batch.iter().map(|e| e.bucket).max() {
                store.apply(batch, newest + BUCKET_SECONDS, &cfg).unwrap();
            }
            batch.clear();
        };
        let mut choices = choices.into_iter().cycle();
        while next.iter().any(|&n| n < 12) {
            let (series, duplicate, restart, cut) = choices.next().unwrap();
            let series = (series..series + 3).map(|s| s % 3).find(|&s| next[s] < 12).unwrap();
            batch.push(evals[series][next[series]].clone());
            next[series] += 1;
            if duplicate {
                let old = next[series] / 2;
                batch.push(evals[series][old].clone());
            }
            if cut {
                flush(&mut messy, &mut batch);
            }
            if restart == 0 {
                flush(&mut messy, &mut batch);
                drop(messy);
                messy = reopen(&path);
            }
        }
        flush(&mut messy, &mut batch);
        // Everything once more after a final restart: nothing changes.
        drop(messy);
        let mut messy = reopen(&path);
        for series in &evals {
            messy.apply(series, now_after(12), &cfg).unwrap();
        }

        prop_assert_eq!(canonical(&messy), canonical(&clean));
        // The same notifications are queued (the messy outbox order differs).
        let queued = |s: &SqliteState| {
            let mut q: Vec<_> = s
                .due(i64::MAX)
                .unwrap()
                .into_iter()
                .map(|i| format!("{:?}", (i.payload.metric, i.payload.slice, i.payload.bucket, i.payload.notify)))
                .collect();
            q.sort();
            q
        };
        prop_assert_eq!(queued(&messy), queued(&clean));
    }
}

#[test]
fn history_shows_each_alerts_delivery_status() {
    let (_dir, _path, mut store) = temp_store();
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

#[test]
fn configured_silences_are_added_once() {
    let (_dir, path, mut store) = temp_store();
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
    let mut store = reopen(&path);
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

#[test]
fn an_item_that_failed_then_went_through_counts_as_sent() {
    let (_dir, _path, mut store) = temp_store();
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

#[test]
fn a_database_error_is_printed_once_in_a_chain() {
    let error = crate::state::AlertError::Sql {
        context: "reading the outbox",
        error: rusqlite::Error::QueryReturnedNoRows.into(),
    };
    let database = rusqlite::Error::QueryReturnedNoRows.to_string();
    let chain = format!("{:#}", anyhow::Error::from(error).context("sending alerts"));
    assert_eq!(chain.matches(&database).count(), 1, "{chain}");
    assert!(
        chain.starts_with("sending alerts: alert state: reading the outbox: "),
        "{chain}"
    );
}

#[test]
fn a_started_check_stays_unfinished_across_a_restart_until_recorded_ok() {
    let (_dir, path, mut store) = temp_store();
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
    let mut store = reopen(&path);
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
