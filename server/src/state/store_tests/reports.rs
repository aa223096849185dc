//! The morning report's deliveries, the same on every backend.

use super::Backend;

/// One report per (date, chat): created once, retried with backoff, finished once.
pub fn a_report_is_created_once_per_date_and_chat(backend: &dyn Backend) {
    let mut store = backend.open();
    assert_eq!(store.last_report_date().unwrap(), None);
    assert_eq!(
        store
            .enqueue_reports("2026-12-05", &[7, 8], false, 100)
            .unwrap(),
        2
    );
    // A restart at the due time, or a second instance, creates nothing new.
    let mut other = backend.open();
    assert_eq!(
        other
            .enqueue_reports("2026-12-05", &[7, 8], true, 160)
            .unwrap(),
        0
    );
    let due = store.due_reports(100).unwrap();
    assert_eq!(due.len(), 2);
    assert_eq!((due[0].chat_id, due[0].late), (7, false));
    store.finish_report(due[0].id, 110, Some(41), None).unwrap();
    store.retry_report(due[1].id, "down", 500).unwrap();
    assert!(store.due_reports(499).unwrap().is_empty(), "backing off");
    let again = other.due_reports(500).unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 1));
    other
        .finish_report(again[0].id, 510, None, Some("chat not found"))
        .unwrap();
    assert!(store.due_reports(i64::MAX).unwrap().is_empty());
    // Finishing a finished report again changes nothing.
    store.finish_report(due[0].id, 999, Some(99), None).unwrap();
    assert!(store.due_reports(i64::MAX).unwrap().is_empty());
    // The next day is a new report.
    assert_eq!(
        store
            .enqueue_reports("2026-12-06", &[7], false, 200)
            .unwrap(),
        1
    );
    assert_eq!(
        other.last_report_date().unwrap().as_deref(),
        Some("2026-12-06")
    );
}

/// A report is claimed by one sender at a time, like an outbox item: two
/// instances sharing the state never both send it.
pub fn a_report_is_claimed_by_one_sender(backend: &dyn Backend) {
    let mut a = backend.open();
    let mut b = backend.open();
    a.enqueue_reports("2026-12-05", &[7, 8], false, 100)
        .unwrap();
    let due = b.due_reports(100).unwrap();
    let (first, second) = (due[0].id, due[1].id);
    assert!(a.claim_report(first, "a", 60).unwrap(), "a claims it");
    assert!(
        !b.claim_report(first, "b", 60).unwrap(),
        "b must not send it too"
    );
    assert!(
        a.claim_report(first, "a", 60).unwrap(),
        "a renews its own claim"
    );
    assert!(
        b.claim_report(second, "b", 60).unwrap(),
        "the other chat's is free"
    );
    // A failed attempt gives the claim up.
    a.retry_report(first, "down", 100).unwrap();
    assert!(b.claim_report(first, "b", 60).unwrap(), "now b sends it");
    assert!(!a.claim_report(first, "a", 60).unwrap(), "b holds it");
    // A dead sender's claim expires.
    b.claim_report(second, "b", 0).unwrap();
    assert!(
        a.claim_report(second, "a", 60).unwrap(),
        "an expired claim is taken over"
    );
    // A delivered report is claimed by nobody, not even its sender.
    a.finish_report(second, 110, Some(41), None).unwrap();
    assert!(!b.claim_report(second, "b", 60).unwrap());
    assert!(!a.claim_report(second, "a", 60).unwrap());
    assert!(matches!(
        a.claim_report(second + 1000, "a", 60),
        Err(crate::state::AlertError::UnknownReport(missing)) if missing == second + 1000
    ));
}
