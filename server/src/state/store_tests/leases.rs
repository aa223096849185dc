//! Leases and outbox claims between two instances (two handles) on one state.

use super::Backend;
use crate::state::AlertError;

const LEADER: &str = "leader";

/// One holder at a time; renewing, releasing and expiry hand the lease over.
pub fn one_leader_at_a_time(backend: &dyn Backend) {
    let (mut a, mut b) = (backend.open(), backend.open());
    assert_eq!(b.lease_holder(LEADER).unwrap(), None, "nobody holds it yet");
    assert!(
        a.acquire_lease(LEADER, "a", 60).unwrap(),
        "free: a takes it"
    );
    assert!(!b.acquire_lease(LEADER, "b", 60).unwrap(), "a holds it");
    let held = b.lease_holder(LEADER).unwrap().expect("a holds it");
    assert_eq!(held.holder, "a");
    assert!(a.acquire_lease(LEADER, "a", 120).unwrap(), "a renews");
    let renewed = b.lease_holder(LEADER).unwrap().expect("still a");
    assert_eq!(renewed.holder, "a");
    assert!(
        renewed.expires_at > held.expires_at,
        "renewal moves the expiry: {renewed:?} after {held:?}"
    );

    b.release_lease(LEADER, "b").unwrap();
    assert_eq!(
        a.lease_holder(LEADER).unwrap().map(|h| h.holder).as_deref(),
        Some("a"),
        "releasing a lease one does not hold changes nothing"
    );
    a.release_lease(LEADER, "a").unwrap();
    assert_eq!(b.lease_holder(LEADER).unwrap(), None, "released");
    assert!(b.acquire_lease(LEADER, "b", 60).unwrap(), "b takes it over");
    assert!(
        a.acquire_lease("another", "a", 60).unwrap(),
        "leases are independent by name"
    );

    // A holder that stops renewing: its lease runs out (ttl 0 = already due).
    assert!(b.acquire_lease(LEADER, "b", 0).unwrap());
    assert_eq!(a.lease_holder(LEADER).unwrap(), None, "expired");
    assert!(
        a.acquire_lease(LEADER, "a", 60).unwrap(),
        "a takes the expired lease"
    );
    assert!(!b.acquire_lease(LEADER, "b", 60).unwrap(), "b lost it");
}

/// Two senders never both get an item; a failure or a dead sender frees it.
pub fn an_outbox_item_is_claimed_by_one_sender(backend: &dyn Backend) {
    let (mut a, mut b) = (backend.open(), backend.open());
    let now = 1_763_900_000;
    let item = a
        .source_unavailable("connection refused", now)
        .unwrap()
        .expect("a notification is queued");
    let id = item.id;
    assert!(a.claim(id, "a", 60).unwrap(), "a claims it");
    assert!(!b.claim(id, "b", 60).unwrap(), "b must not send it too");
    assert!(a.claim(id, "a", 60).unwrap(), "a renews its own claim");

    a.mark_failed(id, "telegram down", now + 10).unwrap();
    assert!(
        b.claim(id, "b", 60).unwrap(),
        "a failure gives the claim up"
    );
    assert!(!a.claim(id, "a", 60).unwrap(), "now b holds it");

    // b dies holding it: its claim runs out (ttl 0 = already due).
    assert!(b.claim(id, "b", 0).unwrap());
    assert!(
        a.claim(id, "a", 60).unwrap(),
        "an expired claim is taken over"
    );

    a.mark_sent(
        id,
        now + 20,
        crate::state::SentMessage {
            chat_id: -1,
            message_id: 5,
        },
    )
    .unwrap();
    assert!(!b.claim(id, "b", 60).unwrap(), "a sent item is not claimed");
    assert!(!a.claim(id, "a", 60).unwrap(), "not even by its sender");
    assert!(matches!(
        a.claim(id + 1000, "a", 60),
        Err(AlertError::UnknownOutboxItem(missing)) if missing == id + 1000
    ));
}

/// The unsent items of a batch whose send failed are released at once, not
/// after their claim expires; only by their holder.
pub fn unsent_claims_of_a_failed_batch_are_released(backend: &dyn Backend) {
    let (mut a, mut b) = (backend.open(), backend.open());
    let now = 1_763_900_000;
    let first = a.source_unavailable("down", now).unwrap().expect("queued");
    let second = a
        .data_stale("feed_actions", "no events", now)
        .unwrap()
        .expect("queued");
    for id in [first.id, second.id] {
        assert!(a.claim(id, "a", 120).unwrap());
    }
    // The batch's send fails on its first item.
    a.mark_failed(first.id, "telegram down", now + 10).unwrap();
    assert!(!b.claim(second.id, "b", 120).unwrap(), "still a's");
    b.release_claim(second.id, "b").unwrap();
    assert!(
        !b.claim(second.id, "b", 120).unwrap(),
        "b cannot release a's claim"
    );
    a.release_claim(second.id, "a").unwrap();
    assert!(
        b.claim(second.id, "b", 120).unwrap(),
        "released: b takes it at once"
    );
    assert!(b.claim(first.id, "b", 120).unwrap());

    // Releasing a sent item changes nothing; an unknown one is an error.
    let sent = crate::state::SentMessage {
        chat_id: -1,
        message_id: 9,
    };
    b.mark_sent(second.id, now + 20, sent).unwrap();
    a.release_claim(second.id, "b").unwrap();
    assert!(!a.claim(second.id, "a", 120).unwrap(), "sent stays sent");
    assert!(matches!(
        a.release_claim(second.id + 1000, "a"),
        Err(AlertError::UnknownOutboxItem(_))
    ));
}
