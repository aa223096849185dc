//! Which `vigil serve` runs the checks. Several instances may share one
//! state store (PostgreSQL); exactly one of them, the leader, checks, sends
//! the outbox and polls Telegram's buttons, and the others serve the web UI.
//! The leader holds a lease in the store ([`crate::state::Leases`]), judged by
//! the store's clock, and renews it every third of its lifetime; when it dies
//! the lease runs out and another instance takes it at its next try, so
//! alerting pauses for at most a lease lifetime and a renewal interval.
//!
//! This process counts itself leader only until its last renewal plus the
//! lease's lifetime minus a margin, measured on its own monotonic clock: a
//! process that was frozen (a long pause, a suspended VM) and wakes after its
//! lease expired stops acting as leader before it writes anything, even
//! before it learns who leads now.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::state::State;

/// The lease's name in the store.
pub const SCHEDULER_LEASE: &str = "scheduler";

/// This process's view of the lease.
pub struct Leadership {
    holder: String,
    ttl: Duration,
    /// Until when this process may act as leader (its monotonic clock).
    leading_until: Mutex<Option<Instant>>,
    leading: watch::Sender<bool>,
}

impl Leadership {
    /// `holder` names this instance in the store and in logs; a restarted
    /// instance with the same name takes its own unexpired lease back at once.
    pub fn new(holder: impl Into<String>, ttl: Duration) -> Self {
        Self {
            holder: holder.into(),
            ttl: ttl.max(Duration::from_secs(1)),
            leading_until: Mutex::new(None),
            leading: watch::channel(false).0,
        }
    }

    /// The name this instance holds the lease under.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Whether this process may act as leader now.
    pub fn is_leader(&self) -> bool {
        self.until().is_some_and(|until| Instant::now() < until)
    }

    /// Resolves once this process leads (at once if it does).
    pub async fn until_leading(&self) {
        let mut changes = self.leading.subscribe();
        while !self.is_leader() {
            if changes.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Resolves once this process no longer leads (at once if it does not).
    pub async fn until_not_leading(&self) {
        let mut changes = self.leading.subscribe();
        while let Some(until) = self.until().filter(|until| Instant::now() < *until) {
            tokio::select! {
                _ = changes.changed() => {}
                () = tokio::time::sleep_until(until.into()) => {}
            }
        }
    }

    /// How often the lease is renewed (and a follower tries to take it).
    pub fn renew_every(&self) -> Duration {
        self.ttl / 3
    }

    fn until(&self) -> Option<Instant> {
        *self
            .leading_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records one attempt to take or renew the lease, begun at `asked_at`:
    /// the store's lease runs at least `ttl` from that moment, and a sixth of
    /// it is kept as margin for the two clocks' rates and the renewal's delay.
    fn record(&self, asked_at: Instant, held: bool) {
        let until = held.then(|| asked_at + self.ttl - self.ttl / 6);
        *self
            .leading_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = until;
        self.leading.send_if_modified(|leading| {
            let changed = *leading != held;
            *leading = held;
            changed
        });
    }
}

/// Runs `task` while this process leads, until `stopped` resolves: starts it
/// when the lead is taken and drops it when the lead is lost (a check or a
/// send in flight stops at its next await; each state change commits whole
/// or not at all). A task that ends by itself is started again only after
/// the lead was lost and taken back.
pub async fn while_leading<Task, Fut>(
    leadership: std::sync::Arc<Leadership>,
    stopped: impl std::future::Future<Output = ()>,
    mut task: Task,
) where
    Task: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            () = &mut stopped => return,
            () = leadership.until_leading() => {}
        }
        // Biased: a process that wakes from a pause past its deadline drops
        // the task before polling it again.
        tokio::select! {
            biased;
            () = leadership.until_not_leading() => {}
            () = &mut stopped => return,
            () = task() => {
                tokio::select! {
                    () = &mut stopped => return,
                    () = leadership.until_not_leading() => {}
                }
            }
        }
    }
}

/// One attempt to take or renew the lease; logs when this process starts or
/// stops leading. A store that cannot be reached keeps what is left of a lease
/// already held: a moment's outage is no reason to stop, and the deadline
/// still ends this process's leadership if the store stays away.
pub async fn renew(leadership: &Leadership, store: &State) {
    let asked_at = Instant::now();
    let holder = leadership.holder.clone();
    let ttl_secs = leadership.ttl.as_secs().max(1);
    let held = store
        .call(move |store| store.acquire_lease(SCHEDULER_LEASE, &holder, ttl_secs))
        .await;
    let was_leader = leadership.is_leader();
    match held {
        Ok(held) => {
            leadership.record(asked_at, held);
            if held && !was_leader {
                tracing::info!(holder = %leadership.holder, "this instance leads: it runs the checks and sends alerts");
            } else if !held && was_leader {
                tracing::warn!(holder = %leadership.holder, "another instance took the lead: this one only serves the web UI");
            }
        }
        Err(error) => tracing::warn!(%error, "cannot take or renew the leader lease; retrying"),
    }
}

/// Takes and keeps the lease until `stopped` resolves, then gives it up so
/// another instance takes over at once rather than after it runs out.
pub async fn keep_lease(
    leadership: std::sync::Arc<Leadership>,
    store: State,
    stopped: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stopped);
    loop {
        renew(&leadership, &store).await;
        tokio::select! {
            () = &mut stopped => break,
            () = tokio::time::sleep(leadership.renew_every()) => {}
        }
    }
    if leadership.is_leader() {
        leadership.record(Instant::now(), false);
        let holder = leadership.holder.clone();
        match store
            .call(move |store| store.release_lease(SCHEDULER_LEASE, &holder))
            .await
        {
            Ok(()) => tracing::info!("leader lease released"),
            Err(error) => {
                tracing::warn!(%error, "cannot release the leader lease; it runs out by itself")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leadership_lasts_the_lease_minus_its_margin_from_the_ask() {
        let leadership = Leadership::new("a:1", Duration::from_secs(30));
        assert!(
            !leadership.is_leader(),
            "nobody leads before the lease is held"
        );
        leadership.record(Instant::now(), true);
        assert!(leadership.is_leader());
        // Asked 26 s ago: 30 s minus the 5 s margin has run out.
        let long_ago = Instant::now() - Duration::from_secs(26);
        leadership.record(long_ago, true);
        assert!(!leadership.is_leader(), "an old renewal no longer counts");
        leadership.record(Instant::now(), true);
        leadership.record(Instant::now(), false);
        assert!(!leadership.is_leader(), "a refused renewal ends leadership");
    }

    #[tokio::test]
    async fn waiting_for_the_lead_ends_when_it_is_taken() {
        let leadership = std::sync::Arc::new(Leadership::new("a:1", Duration::from_secs(30)));
        let waiter = {
            let leadership = std::sync::Arc::clone(&leadership);
            tokio::spawn(async move { leadership.until_leading().await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        leadership.record(Instant::now(), true);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the waiter wakes")
            .expect("no panic");
    }
}
