//! `vigil state migrate`'s copy on a real server: everything the traits read
//! is the same after the copy, the outbox continues after the copied ids,
//! and a state that is not empty is refused.

use super::copy::sqlite_to_postgres;
use super::tests::PostgresDatabase;
use crate::alerts::{AlertConfig, SilenceScope};
use crate::state::prelude::*;
use crate::state::store_tests::alerts::{bucket, eval_of, now_after};
use crate::state::{
    state_path, CheckRecord, CheckedInput, HistoryFilter, LabelKind, NewLabel, SentMessage,
    SqliteState, StateStore,
};

/// An embedded state with some of everything: alerts (one sent, two
/// pending), a silence, a label, a setting, a check, a lease.
fn embedded_state(path: &std::path::Path) {
    let mut store = SqliteState::open(path).expect("open");
    let cfg = AlertConfig::default();
    let items = store
        .apply(
            &[
                eval_of("feed_views", None, 0, Some(500.0)),
                eval_of("feed_views", Some("iOS"), 0, Some(500.0)),
                eval_of("feed_likes", None, 0, Some(500.0)),
            ],
            now_after(0),
            &cfg,
        )
        .unwrap();
    let sent = SentMessage {
        chat_id: -100,
        message_id: 42,
    };
    store.mark_sent(items[0].id, now_after(0), sent).unwrap();
    store
        .mark_failed(items[1].id, "telegram down", now_after(0) + 10)
        .unwrap();
    store
        .silence(
            SilenceScope::Metric {
                metric: "feed_ctr".into(),
            },
            now_after(0) + 3600,
            "ann",
            now_after(0),
        )
        .unwrap();
    store
        .label(
            items[0].alert_id,
            crate::state::Label::Expected,
            "bob",
            now_after(0),
        )
        .unwrap();
    let label = NewLabel {
        metric: "feed_views".into(),
        from: 0,
        to: 10,
        kind: LabelKind::Incident,
        note: "release".into(),
    };
    store.add_label(&label, "web", 5).unwrap();
    let tuned = detect::Ensemble::single(detect::DetectorSpec::Iqr(Default::default()));
    store
        .apply_detector("feed_views", Some(&tuned), &Default::default(), "web", 6)
        .unwrap();
    store
        .record_check(&CheckRecord {
            bucket: 900,
            started_at: 960,
            duration_ms: 12,
            ok: true,
            late: false,
            evaluated: 3,
            anomalies: 3,
            error: None,
        })
        .unwrap();
    store.acquire_lease("leader", "old-host", 600).unwrap();
    // feed_likes' rows arrived late and put it in band: withdrawn, with its note.
    let late = CheckedInput {
        metric: "feed_likes".into(),
        bucket: bucket(0),
        value: Some(100.0),
    };
    let withdrawn = store
        .apply_late(
            &[late],
            &[eval_of("feed_likes", None, 0, Some(100.0))],
            now_after(1),
            &cfg,
        )
        .unwrap();
    assert!(withdrawn[0].payload.notice.is_some(), "{withdrawn:?}");
    // A morning report some sender is sending.
    store
        .enqueue_reports("2026-12-05", &[-100], false, 7)
        .unwrap();
    let report = store.due_reports(7).unwrap()[0].id;
    assert!(store.claim_report(report, "old-host", 600).unwrap());
}

/// What a store holds, as the traits read it.
fn contents(store: &dyn StateStore) -> Vec<String> {
    let all = i64::MAX;
    vec![
        format!(
            "{:?}",
            store.history(&HistoryFilter::default(), 100).unwrap()
        ),
        format!("{:?}", store.events(None).unwrap()),
        format!("{:?}", store.due(all).unwrap()),
        format!("{:?}", store.outbox_counts().unwrap()),
        format!(
            "{:?}",
            store
                .message_group(SentMessage {
                    chat_id: -100,
                    message_id: 42
                })
                .unwrap()
        ),
        format!("{:?}", store.active_silences(now_after(0) + 60).unwrap()),
        format!("{:?}", store.list_labels(None, i64::MIN, all).unwrap()),
        format!("{:?}", store.detector_history(None).unwrap()),
        format!("{:?}", store.last_check().unwrap()),
        format!("{:?}", {
            let mut open: Vec<String> = store
                .open_since()
                .unwrap()
                .iter()
                .map(|o| format!("{o:?}"))
                .collect();
            open.sort();
            open
        }),
        format!(
            "{:?}",
            store.lease_holder("leader").unwrap().map(|h| h.holder)
        ),
        format!("{:?}", store.due_reports(all).unwrap()),
    ]
}

#[test]
fn an_embedded_state_is_copied_whole_and_the_outbox_continues_after_it() {
    let Some(db) = PostgresDatabase::new("state migrate") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(dir.path());
    embedded_state(&path);
    let copied = sqlite_to_postgres(&path, &db.target).expect("copies");
    let rows: std::collections::BTreeMap<_, _> = copied.0.iter().copied().collect();
    assert_eq!(rows["alerts"], 3, "{copied}");
    assert_eq!(rows["outbox"], 4, "three alerts and a withdrawal: {copied}");
    assert_eq!(rows["leases"], 1, "{copied}");

    let embedded = SqliteState::open(&path).unwrap();
    let mut shared = db.state();
    assert_eq!(contents(&shared), contents(&embedded));
    let withdrawn = shared.history(&HistoryFilter::default(), 100).unwrap();
    assert!(
        withdrawn.iter().any(|a| a.metric == "feed_likes"
            && a.withdrawn
                .as_deref()
                .is_some_and(|n| n.contains("arrived late"))),
        "the withdrawn alert's note is copied: {withdrawn:?}"
    );
    // The report's claim is copied: its sender keeps it.
    let report = shared.due_reports(i64::MAX).unwrap()[0].id;
    assert!(!shared.claim_report(report, "new-host", 60).unwrap());
    assert!(shared.claim_report(report, "old-host", 60).unwrap());

    // New rows come after the copied ones: the outbox order holds.
    let newest_copied = embedded.due(i64::MAX).unwrap().last().unwrap().id;
    let next = shared
        .apply(
            &[eval_of("messages_sent", None, 1, Some(500.0))],
            now_after(1),
            &AlertConfig::default(),
        )
        .unwrap();
    assert!(
        next[0].id > newest_copied,
        "{} after {newest_copied}",
        next[0].id
    );
    assert_eq!(next[0].alert_id, 4, "alert ids continue too");
    let order: Vec<i64> = shared.due(i64::MAX).unwrap().iter().map(|i| i.id).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
}

#[test]
fn a_state_that_is_not_empty_is_refused_and_left_as_it_was() {
    let Some(db) = PostgresDatabase::new("state migrate twice") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(dir.path());
    embedded_state(&path);
    sqlite_to_postgres(&path, &db.target).expect("first copy");
    let before = contents(&db.state());
    let message = sqlite_to_postgres(&path, &db.target).unwrap_err();
    assert!(message.contains("not empty"), "{message}");
    assert!(message.contains(db.target.shown()), "{message}");
    assert_eq!(contents(&db.state()), before, "nothing copied twice");

    let missing = sqlite_to_postgres(&dir.path().join("nothing.sqlite"), &db.target).unwrap_err();
    assert!(missing.contains("nothing.sqlite"), "{missing}");
}
