//! `vigil serve` on the small embedded default, and its server functions
//! called over HTTP: what the web UI's tests share. Expects the test crate
//! to have `support/serve.rs` as `mod support`.

use std::path::Path;

use crate::support::{request, serve_with, Server};

/// `vigil serve` on the small embedded default with `env`, after `prepare`
/// has had the data directory.
pub fn serve(env: &[(&str, &str)], prepare: impl FnOnce(&Path)) -> Server {
    serve_with(
        "[source]\nkind = \"sqlite\"\npath = \"{DIR}/vigil.sqlite\"\n[simulator]\nusers = 60\ndays = 2\nseed = 3\n",
        env,
        prepare,
    )
}

/// A server function's answer: (status, body).
pub fn post(server: &Server, endpoint: &str, form: &str) -> (u16, String) {
    request(&server.addr, "POST", &format!("/api/{endpoint}"), form).expect("server answers")
}

pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}
