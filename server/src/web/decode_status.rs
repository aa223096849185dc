//! A server function whose request does not decode (a missing or malformed
//! argument: `days=abc`) answers 400 Bad Request. Leptos answers every
//! server-function error with 500 unless the function itself sets a
//! status, and a request that does not decode never reaches the function;
//! a 500 would tell a client (and any 5xx alerting in front of vigil) that
//! the server broke, when the request did.

use axum::{
    body::{to_bytes, Body, HttpBody},
    extract::Request,
    http::StatusCode,
    middleware::Next,
    response::Response,
};
use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;

/// How server_fn encodes the errors of a request it could not decode
/// (`ServerFnError::Args` and `Deserialization`, serialized as
/// `Variant|message`).
const UNDECODABLE_REQUEST: [&[u8]; 2] = [b"Args|", b"Deserialization|"];

/// Largest error body read to classify it; server-function errors are a
/// line of text.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// Middleware: turns a server function's 500 for an undecodable request
/// into 400, with the same body; every other response passes untouched.
pub async fn undecodable_requests_are_bad_requests(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    // Only a server function's error of known, small size is read: any
    // other body passes on as it came, unread.
    let small = response
        .body()
        .size_hint()
        .upper()
        .is_some_and(|len| len <= MAX_ERROR_BYTES as u64);
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(SERVER_FN_ERROR_HEADER)
        || !small
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BYTES).await else {
        // The body failed while being read (its size was known): there is
        // nothing left to pass on.
        return Response::from_parts(parts, Body::empty());
    };
    if UNDECODABLE_REQUEST
        .iter()
        .any(|prefix| bytes.starts_with(prefix))
    {
        parts.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, Body::from(bytes))
}
