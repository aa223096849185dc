//! The scheduler inside `vigil serve`: every quarter-hour plus the grace
//! delay it checks the newest complete bucket, catching up (late) on buckets
//! missed while vigil was down, then wakes the sender. Which buckets were
//! checked lives in the alert store, so a restart neither repeats nor skips.
//! Each tick also creates the morning report once it is due (see
//! [`crate::report::schedule`]); the sender delivers it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::check::plan::next_tick;
use crate::check::run::Checker;
use crate::delivery::Deliverer;
use crate::heartbeat::Pulse;
use crate::report::send::MorningReports;

pub mod leadership;
pub use leadership::{while_leading, Leadership};

/// After a failed check (source unreachable), try again this soon rather than
/// at the next quarter-hour.
const RETRY_FAILED_CHECK: Duration = Duration::from_secs(60);
/// The sender looks at the outbox at least this often.
const SENDER_IDLE: Duration = Duration::from_secs(30);

/// Runs checks on schedule until `stopped` resolves; tells `pulse` (the
/// heartbeat, `/metrics`) how each went.
pub async fn run_checks(
    checker: Arc<Checker>,
    reports: Arc<MorningReports>,
    sender_wake: Arc<Notify>,
    pulse: Arc<Pulse>,
    stopped: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stopped);
    let schedule = checker.alerting.schedule;
    loop {
        let now = crate::times::unix_now();
        let failed = match checker.run_due(now).await {
            Ok(_) => {
                pulse.check_succeeded(crate::times::unix_now());
                false
            }
            Err(error) => {
                let reason = crate::redact::scrub(&error.to_string());
                tracing::error!(error = %reason, "check failed; will retry");
                pulse.check_failed(&reason);
                true
            }
        };
        if let Err(error) = reports.enqueue_due(crate::times::unix_now()).await {
            tracing::error!(%error, "morning report not queued; will retry at the next tick");
        }
        sender_wake.notify_one();
        if !failed {
            checker.warm_charts(crate::times::unix_now()).await;
        }
        let next = next_tick(crate::times::unix_now(), schedule.grace_seconds);
        let mut wait =
            Duration::from_secs(u64::try_from(next - crate::times::unix_now()).unwrap_or(1));
        if failed {
            wait = wait.min(RETRY_FAILED_CHECK);
        }
        tokio::select! {
            () = &mut stopped => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Checks every bucket due at `now`; returns whether a check failed.
pub async fn tick(checker: &Checker, now: i64) -> bool {
    match checker.run_due(now).await {
        Ok(_) => false,
        Err(error) => {
            let error = crate::redact::scrub(&error.to_string());
            tracing::error!(%error, "check failed; will retry");
            true
        }
    }
}

/// Delivers the outbox whenever woken, when a backoff ends, and every
/// [`SENDER_IDLE`], until `stopped` resolves.
pub async fn run_sender(
    deliverer: Arc<Deliverer>,
    wake: Arc<Notify>,
    stopped: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stopped);
    loop {
        let now = crate::times::unix_now();
        let wait = match deliverer.deliver_due(now, false).await {
            Ok(report) => match report.blocked {
                Some(blocked) => {
                    tracing::warn!(error = %blocked.error, retry_at = blocked.retry_at, "delivery paused; queued alerts wait in order");
                    Duration::from_secs(u64::try_from(blocked.retry_at - now).unwrap_or(1).max(1))
                        .min(SENDER_IDLE)
                }
                None => SENDER_IDLE,
            },
            Err(error) => {
                tracing::error!(%error, "outbox unreadable");
                SENDER_IDLE
            }
        };
        tokio::select! {
            () = &mut stopped => return,
            () = wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}
