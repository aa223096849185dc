//! Probes for load balancers and orchestrators: `/healthz` says the process
//! answers, `/readyz` says it can do its job (the source answers a query).

use std::sync::Arc;

use axum::{extract::State, http::StatusCode, response::IntoResponse, routing::get, Json, Router};
use serde::Serialize;

use crate::metrics::model::EventTable;
use crate::sources::Source;

#[derive(Serialize)]
struct Readiness {
    ready: bool,
    /// "sqlite ./data/vigil.sqlite" or "clickhouse http://host:8123 ...": never credentials.
    source: String,
    /// Unix seconds of the newest event, when the source has any.
    newest_event: Option<i64>,
    /// Why not ready, when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub fn routes(source: Arc<Source>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(source)
}

async fn readyz(State(source): State<Arc<Source>>) -> impl IntoResponse {
    let feed = source.newest_event_time(EventTable::FeedActions).await;
    let messages = source.newest_event_time(EventTable::MessageActions).await;
    let (status, readiness) = match (feed, messages) {
        (Ok(feed), Ok(messages)) => (
            StatusCode::OK,
            Readiness {
                ready: true,
                source: source.describe(),
                newest_event: feed.max(messages),
                error: None,
            },
        ),
        (Err(error), _) | (_, Err(error)) => {
            tracing::warn!(%error, "readiness probe: source unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Readiness {
                    ready: false,
                    source: source.describe(),
                    newest_event: None,
                    error: Some(error.to_string()),
                },
            )
        }
    };
    (status, Json(readiness))
}
