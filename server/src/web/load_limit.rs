//! At most [`MAX_RUNNING`] page renders and server-function calls at once;
//! up to [`MAX_QUEUED`] more wait their turn, and beyond that a request is
//! answered at once with 503 and `Retry-After` instead of piling up in memory.
//! A request keeps its place until its response body has been sent: a page's
//! data is read while its HTML streams out.
//!
//! Without it, 500 concurrent page requests rendered 500 pages at once (each
//! holding its histories and its HTML) and peaked at 1.48 GB
//! (docs/benchmarks.md, "Bounded under load").

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Requests rendered at once. Page work is CPU on 2-4 cores plus store reads
/// bounded by the reader pool (8), so more in flight only adds memory: with
/// 500 concurrent requests, 16 peaked at 260 MB against 293 MB with 32, and
/// answered faster (p99 1.6 s against 1.9 s; docs/benchmarks.md).
pub const MAX_RUNNING: usize = 16;
/// Requests waiting beyond those; a waiting request costs only its headers,
/// so this is generous: a burst of 500 is queued, not refused.
pub const MAX_QUEUED: usize = 2048;
/// What a refused client is told to wait, in seconds.
const RETRY_AFTER_SECS: &str = "1";

/// The shared limit.
pub struct LoadLimit {
    running: Arc<Semaphore>,
    queued: AtomicUsize,
    max_queued: usize,
}

impl Default for LoadLimit {
    fn default() -> Self {
        Self::new(MAX_RUNNING, MAX_QUEUED)
    }
}

impl LoadLimit {
    pub fn new(max_running: usize, max_queued: usize) -> Self {
        Self {
            running: Arc::new(Semaphore::new(max_running.max(1))),
            queued: AtomicUsize::new(0),
            max_queued,
        }
    }

    /// A place to run, waiting for one if needed; `None` when the queue is full.
    async fn place(&self) -> Option<OwnedSemaphorePermit> {
        if let Ok(permit) = Arc::clone(&self.running).try_acquire_owned() {
            return Some(permit);
        }
        let _waiting = Waiting::join(&self.queued, self.max_queued)?;
        Arc::clone(&self.running).acquire_owned().await.ok()
    }
}

/// One place in the queue, given up when dropped (also when the client goes
/// away while waiting).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn join(queued: &'a AtomicUsize, max: usize) -> Option<Self> {
        queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Self(queued))
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The middleware (`axum::middleware::from_fn_with_state`).
pub async fn limit_load(
    State(limit): State<Arc<LoadLimit>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(permit) = limit.place().await else {
        tracing::warn!("too many requests waiting; answering 503");
        let mut response = (
            StatusCode::SERVICE_UNAVAILABLE,
            "vigil is busy: try again in a second\n",
        )
            .into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECS),
        );
        return response;
    };
    let (parts, body) = next.run(request).await.into_parts();
    Response::from_parts(
        parts,
        Body::new(HeldBody {
            body,
            _permit: permit,
        }),
    )
}

/// A response body that keeps its request's place until it is sent (or dropped).
struct HeldBody {
    body: Body,
    _permit: OwnedSemaphorePermit,
}

impl HttpBody for HeldBody {
    type Data = <Body as HttpBody>::Data;
    type Error = <Body as HttpBody>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tower::ServiceExt;

    /// A router whose handler waits on `gate`, behind a limit of one running
    /// and one queued.
    fn gated(gate: Arc<tokio::sync::Notify>) -> axum::Router {
        axum::Router::new()
            .route(
                "/",
                get(move || {
                    let gate = Arc::clone(&gate);
                    async move {
                        gate.notified().await;
                        "done"
                    }
                }),
            )
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(LoadLimit::new(1, 1)),
                limit_load,
            ))
    }

    fn get_root() -> Request {
        Request::builder()
            .uri("/")
            .body(Body::empty())
            .expect("request")
    }

    #[tokio::test]
    async fn beyond_the_queue_requests_are_refused_with_retry_after() {
        let gate = Arc::new(tokio::sync::Notify::new());
        let app = gated(Arc::clone(&gate));
        let running = tokio::spawn(app.clone().oneshot(get_root()));
        let queued = tokio::spawn(app.clone().oneshot(get_root()));
        // Let both reach the limit: one runs (waiting on the gate), one queues.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let refused = app.clone().oneshot(get_root()).await.expect("response");
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            refused.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from_static("1"))
        );
        gate.notify_one();
        assert_eq!(
            running.await.expect("task").expect("ok").status(),
            StatusCode::OK
        );
        gate.notify_one();
        assert_eq!(
            queued.await.expect("task").expect("ok").status(),
            StatusCode::OK
        );
        // The queue is free again.
        gate.notify_one();
        let later = app.oneshot(get_root()).await.expect("response");
        assert_eq!(later.status(), StatusCode::OK);
    }
}
