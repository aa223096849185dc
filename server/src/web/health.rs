//! Probes and metrics for load balancers, orchestrators and Prometheus:
//! `/healthz` says the process answers; `/readyz` says it can do its job (the
//! source answers a query, the alert state is readable, and the last check is
//! recent); `/metrics` exposes checks, alerts, deliveries and source timings
//! in the Prometheus text format, with the age of the last successful check
//! and whether this instance runs the checks. None of them shows a credential
//! (error texts are scrubbed of every known secret) or the store's directory.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
    routing::get,
    Json, Router,
};
use serde::Serialize;

use crate::check::watermark;
use crate::heartbeat::Pulse;
use crate::metrics::model::BUCKET_SECONDS;
use crate::sources::Source;
use crate::state::{AlertError, CheckRecord};

/// A check older than this (two missed ticks) makes the server not ready.
const STALE_CHECK_SECS: i64 = 2 * BUCKET_SECONDS + 300;

#[derive(Clone)]
pub struct HealthState {
    pub source: Arc<Source>,
    pub store: crate::state::State,
    /// When this process's scheduler last checked successfully.
    pub pulse: Arc<Pulse>,
    /// Whether this instance runs the checks (`vigil_leader`).
    pub leadership: Arc<crate::scheduler::Leadership>,
}

#[derive(Serialize)]
struct Readiness {
    ready: bool,
    /// "sqlite vigil.sqlite" (the file name, not where it lives) or
    /// "clickhouse http://host:8123 ...": never credentials.
    source: String,
    /// Unix seconds of the newest event, when the source has any.
    newest_event: Option<i64>,
    /// Unix seconds the last check started, if any ran.
    last_check: Option<i64>,
    last_check_ok: Option<bool>,
    /// The instance holding the leader lease (it runs the checks), if any.
    leader: Option<String>,
    /// This instance's name in the lease, and whether it leads.
    instance: String,
    leading: bool,
    /// Why not ready, when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub fn routes(state: HealthState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn readyz(State(state): State<HealthState>) -> impl IntoResponse {
    let now = crate::times::unix_now();
    let newest = watermark(&state.source).await;
    let last = state.store.call(|store| store.last_check()).await;
    let leader = state
        .store
        .call(|store| store.lease_holder(crate::scheduler::leadership::SCHEDULER_LEASE))
        .await;
    let mut readiness = Readiness {
        ready: true,
        source: shown_source(&state.source),
        newest_event: None,
        last_check: None,
        last_check_ok: None,
        leader: leader.ok().flatten().map(|lease| lease.holder),
        instance: state.leadership.holder().to_string(),
        leading: state.leadership.is_leader(),
        error: None,
    };
    match newest {
        Ok(newest) => readiness.newest_event = newest,
        Err(error) => {
            tracing::warn!(%error, "readiness probe: source unavailable");
            readiness.ready = false;
            readiness.error = Some(crate::redact::scrub(&error.to_string()));
        }
    }
    match last {
        Ok(Some(check)) => {
            readiness.last_check = Some(check.started_at);
            readiness.last_check_ok = Some(check.ok);
            if readiness.ready && now - check.started_at > STALE_CHECK_SECS {
                readiness.ready = false;
                readiness.error = Some(format!(
                    "the last check started {} s ago (checks run every {} s)",
                    now - check.started_at,
                    BUCKET_SECONDS
                ));
            }
        }
        Ok(None) => {} // starting: the first check has not run yet
        Err(error) => {
            readiness.ready = false;
            readiness.error = Some(crate::redact::scrub(&error.to_string()));
        }
    }
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness))
}

/// The source as `/readyz` shows it: an embedded store by its file name only
/// (its absolute path tells a stranger the server's layout).
fn shown_source(source: &Source) -> String {
    let described = source.describe();
    match described.strip_prefix("sqlite ") {
        Some(path) => {
            let name = Path::new(path)
                .file_name()
                .map_or_else(|| path.into(), |name| name.to_string_lossy());
            format!("sqlite {name}")
        }
        None => described,
    }
}

/// What `/metrics` reads from the alert state in one go.
struct StoreFigures {
    checks: (u64, u64),
    last: Option<CheckRecord>,
    last_checked_bucket: Option<i64>,
    alerts: (u64, u64),
    outbox: (u64, u64, u64),
}

async fn metrics(State(state): State<HealthState>) -> impl IntoResponse {
    let started = Instant::now();
    let newest = watermark(&state.source).await;
    let probe_secs = started.elapsed().as_secs_f64();
    let figures = state
        .store
        .call(|store| -> Result<StoreFigures, AlertError> {
            Ok(StoreFigures {
                checks: store.check_counts()?,
                last: store.last_check()?,
                last_checked_bucket: store.last_checked_bucket()?,
                alerts: store.alert_counts()?,
                outbox: store.outbox_counts()?,
            })
        })
        .await;
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    metric(
        "vigil_leader",
        "gauge",
        "Whether this instance runs the scheduled checks.",
        &[("", f64::from(u8::from(state.leadership.is_leader())))],
    );
    if let Some(at) = state.pulse.last_success() {
        metric(
            "vigil_last_successful_check_age_seconds",
            "gauge",
            "Seconds since this instance last completed a scheduled check (absent before the first).",
            &[("", (crate::times::unix_now() - at).max(0) as f64)],
        );
    }
    metric(
        "vigil_source_up",
        "gauge",
        "Whether the source answered the probe query.",
        &[("", f64::from(u8::from(newest.is_ok())))],
    );
    metric(
        "vigil_source_probe_duration_seconds",
        "gauge",
        "Time of the probe query (newest event per table) made for this scrape.",
        &[("", probe_secs)],
    );
    let queries = crate::sources::stats::snapshot();
    metric(
        "vigil_source_queries_total",
        "counter",
        "Queries sent to the source (checks, pages, probes), by result.",
        &[
            ("{result=\"ok\"}", (queries.queries - queries.failed) as f64),
            ("{result=\"failed\"}", queries.failed as f64),
        ],
    );
    metric(
        "vigil_source_query_duration_seconds_total",
        "counter",
        "Time spent in source queries.",
        &[("", queries.micros_total as f64 / 1e6)],
    );
    metric(
        "vigil_source_query_duration_seconds_max",
        "gauge",
        "The longest source query so far.",
        &[("", queries.micros_max as f64 / 1e6)],
    );
    if let Ok(Some(newest)) = &newest {
        metric(
            "vigil_source_newest_event_timestamp_seconds",
            "gauge",
            "Time of the newest event in the source.",
            &[("", *newest as f64)],
        );
    }
    match figures {
        Ok(f) => {
            metric(
                "vigil_checks_total",
                "counter",
                "Checks run, by result.",
                &[
                    ("{result=\"ok\"}", f.checks.0 as f64),
                    ("{result=\"failed\"}", f.checks.1 as f64),
                ],
            );
            if let Some(last) = &f.last {
                metric(
                    "vigil_last_check_duration_seconds",
                    "gauge",
                    "Duration of the last check (source queries and detection).",
                    &[("", last.duration_ms as f64 / 1000.0)],
                );
                metric(
                    "vigil_last_check_timestamp_seconds",
                    "gauge",
                    "When the last check started.",
                    &[("", last.started_at as f64)],
                );
                metric(
                    "vigil_last_check_success",
                    "gauge",
                    "Whether the last check could read the source.",
                    &[("", f64::from(u8::from(last.ok)))],
                );
            }
            if let Some(bucket) = f.last_checked_bucket {
                metric(
                    "vigil_last_checked_bucket_timestamp_seconds",
                    "gauge",
                    "Start of the newest bucket checked (by any instance sharing this state).",
                    &[("", bucket as f64)],
                );
            }
            metric(
                "vigil_alerts",
                "gauge",
                "Alerts by state.",
                &[
                    ("{state=\"firing\"}", f.alerts.0 as f64),
                    ("{state=\"resolved\"}", f.alerts.1 as f64),
                ],
            );
            metric(
                "vigil_notifications",
                "gauge",
                "Notifications in the outbox by delivery status.",
                &[
                    ("{status=\"pending\"}", f.outbox.0 as f64),
                    ("{status=\"sent\"}", f.outbox.1 as f64),
                    ("{status=\"failed\"}", f.outbox.2 as f64),
                ],
            );
        }
        Err(error) => {
            tracing::warn!(%error, "metrics: alert state unreadable");
            metric(
                "vigil_state_up",
                "gauge",
                "Whether the alert state is readable.",
                &[("", 0.0)],
            );
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}
