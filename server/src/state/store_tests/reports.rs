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
