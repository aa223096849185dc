//! `/metric/<name>?slice=os%3DWindows` for a slice with no data answers 404.
//! The page says so in its body (the history's refusal names the values
//! there are, under links to every metric), but that refusal arrives after
//! the streamed page's head has gone out with 200; checking the slice here,
//! before, gives the response the status a crawler or a script reads.

use std::collections::HashMap;
use std::sync::Arc;

use app::api::{
    backend::{ApiError, Backend},
    parse_slice, Refusal,
};
use axum::{
    extract::{Query, Request, State},
    http::{Method, StatusCode, Uri},
    middleware::Next,
    response::Response,
};

/// Middleware: a metric page for a slice its metric has no data for is 404.
pub async fn unknown_slices_are_not_found(
    State(backend): State<Arc<dyn Backend>>,
    request: Request,
    next: Next,
) -> Response {
    let missing = match metric_page_slice(request.method(), request.uri()) {
        Some((name, dimension, value)) => matches!(
            backend.check_slice(&name, &dimension, &value).await,
            Err(ApiError::Refused(Refusal::NotFound, _))
        ),
        None => false,
    };
    let mut response = next.run(request).await;
    if missing && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NOT_FOUND;
    }
    response
}

/// The metric and its slice (dimension, value) a page request names, if any.
fn metric_page_slice(method: &Method, uri: &Uri) -> Option<(String, String, String)> {
    if method != Method::GET {
        return None;
    }
    let name = uri.path().strip_prefix("/metric/")?;
    if name.is_empty() || name.contains('/') {
        return None;
    }
    let Query(query) = Query::<HashMap<String, String>>::try_from_uri(uri).ok()?;
    let (dimension, value) = parse_slice(query.get("slice")?).ok()?;
    Some((name.to_string(), dimension, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_metric_page_with_a_slice_is_checked() {
        let get = |uri: &str| metric_page_slice(&Method::GET, &uri.parse().unwrap());
        assert_eq!(
            get("/metric/feed_views?at=5&slice=os%3DWindows"),
            Some(("feed_views".into(), "os".into(), "Windows".into()))
        );
        assert_eq!(get("/metric/feed_views"), None);
        assert_eq!(get("/metric/feed_views?slice=garbage"), None);
        assert_eq!(get("/alerts?slice=os%3DWindows"), None);
        assert_eq!(get("/metric/a/b?slice=os%3DWindows"), None);
        let post = metric_page_slice(&Method::POST, &"/metric/x?slice=os%3DA".parse().unwrap());
        assert_eq!(post, None);
    }
}
