//! The dead-man's switch: after each scheduled check `vigil serve` calls the
//! configured `[heartbeat] url` (healthchecks.io's convention: a GET says "ran
//! fine", a POST to `<url>/fail` with the reason in its body says "ran and
//! failed"), so a monitor outside notices when the pings stop. A ping is sent
//! in the background, bounded in time and retried a few times; its failure is
//! only logged: a heartbeat must never hold up or fail a check.
//!
//! [`Pulse`] also remembers when this process last checked successfully, for
//! `/metrics`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::config::HeartbeatConfig;

/// One attempt's bound, connecting included.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts per ping; the wait before attempt n+1 is n times [`RETRY_AFTER`].
const ATTEMPTS: u32 = 3;
const RETRY_AFTER: Duration = Duration::from_secs(2);
/// healthchecks.io keeps 100 kB of a ping's body; a reason needs far less.
const MAX_REASON_BYTES: usize = 10_000;
/// "Never" in [`Pulse`]'s atomic.
const NEVER: i64 = i64::MIN;

/// What one ping says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signal {
    /// The check ran: `GET <url>`.
    Success,
    /// The check failed: `POST <url>/fail`, the reason as the body.
    Failure(String),
}

/// The configured heartbeat URL and a client for it.
pub struct Heartbeat {
    http: reqwest::Client,
    config: HeartbeatConfig,
}

impl Heartbeat {
    pub fn new(config: HeartbeatConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .connect_timeout(ATTEMPT_TIMEOUT)
            .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| anyhow::anyhow!("heartbeat client: {}", error.without_url()))?;
        Ok(Self { http, config })
    }

    /// `<url>/fail`, before any query string (`https://hc-ping.com/<uuid>/fail`).
    fn fail_url(&self) -> String {
        let url = self.config.url();
        match url.split_once('?') {
            Some((path, query)) => format!("{}/fail?{query}", path.trim_end_matches('/')),
            None => format!("{url}/fail"),
        }
    }

    /// Sends `signal`, retrying up to [`ATTEMPTS`] times; returns whether it
    /// arrived. Failures are logged with the URL's scheme and host only.
    pub async fn send(&self, signal: &Signal) -> bool {
        for attempt in 1..=ATTEMPTS {
            match self.attempt(signal).await {
                Ok(()) => {
                    tracing::debug!(heartbeat = %self.config.shown(), ?signal, "heartbeat sent");
                    return true;
                }
                Err(error) => tracing::warn!(
                    heartbeat = %self.config.shown(),
                    attempt,
                    of = ATTEMPTS,
                    %error,
                    "heartbeat not delivered"
                ),
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(RETRY_AFTER * attempt).await;
            }
        }
        false
    }

    async fn attempt(&self, signal: &Signal) -> Result<(), String> {
        let request = match signal {
            Signal::Success => self.http.get(self.config.url()),
            Signal::Failure(reason) => self
                .http
                .post(self.fail_url())
                .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(bounded(crate::redact::scrub(reason))),
        };
        // The error's text names the URL, which holds the secret: drop it.
        let response = request
            .send()
            .await
            .map_err(|error| error.without_url().to_string())?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("answered HTTP {status}"))
        }
    }
}

/// `reason` cut to [`MAX_REASON_BYTES`] at a character boundary.
fn bounded(mut reason: String) -> String {
    if reason.len() > MAX_REASON_BYTES {
        let mut end = MAX_REASON_BYTES;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
    reason
}

/// What the scheduler tells after each check: kept for `/metrics`, passed on
/// to the heartbeat when one is configured.
pub struct Pulse {
    last_success: AtomicI64,
    heartbeat: Option<Arc<Heartbeat>>,
}

impl Pulse {
    pub fn new(heartbeat: Option<Heartbeat>) -> Self {
        Self {
            last_success: AtomicI64::new(NEVER),
            heartbeat: heartbeat.map(Arc::new),
        }
    }

    /// From the config: a heartbeat when `[heartbeat] url` is set.
    pub fn from_config(config: Option<&HeartbeatConfig>) -> anyhow::Result<Self> {
        let heartbeat = config.cloned().map(Heartbeat::new).transpose()?;
        if let Some(config) = config {
            tracing::info!(heartbeat = %config.shown(), "heartbeat after each check");
        }
        Ok(Self::new(heartbeat))
    }

    /// A check finished at `now` (unix seconds): remember it, ping.
    pub fn check_succeeded(&self, now: i64) {
        self.last_success.fetch_max(now, Ordering::Relaxed);
        self.ping(Signal::Success);
    }

    /// A check failed for `reason`: ping `/fail` with it.
    pub fn check_failed(&self, reason: &str) {
        self.ping(Signal::Failure(reason.to_string()));
    }

    /// When a check last succeeded in this process (unix seconds).
    pub fn last_success(&self) -> Option<i64> {
        Some(self.last_success.load(Ordering::Relaxed)).filter(|&at| at != NEVER)
    }

    /// Sends `signal` in the background, when a heartbeat is configured.
    fn ping(&self, signal: Signal) {
        if let Some(heartbeat) = &self.heartbeat {
            let heartbeat = Arc::clone(heartbeat);
            tokio::spawn(async move { heartbeat.send(&signal).await });
        }
    }
}

#[cfg(test)]
mod tests;
