//! The HTTP surface: Leptos pages (server-rendered, hydrated), their server
//! functions, and static files (the wasm bundle, css: precompressed and
//! cached by content hash, see `site_files`), behind `guard` (security
//! headers, the Host allow-list, slow token guessing).

mod backend;
mod decode_status;
mod experiment_replay;
mod experiments;
mod guard;
mod health;
mod history_cache;
mod load_limit;
mod overview;
mod report;
mod rows;
mod site_files;
mod slice_status;
mod slice_values;

pub use backend::SourceBackend;
pub use guard::AllowedHosts;
pub use health::HealthState;

use std::{net::SocketAddr, path::Path, sync::Arc};

use app::{api::backend::BackendHandle, shell, App};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Name of the bundle cargo-leptos writes (`[[workspace.metadata.leptos]] name`).
const OUTPUT_NAME: &str = "vigil";

/// Options for rendering: where the built site lives and the address served.
/// The bundle's names carry content hashes when cargo-leptos left its
/// `hash.txt` beside this binary (`hash-files` in Cargo.toml); a binary
/// without one (`cargo build`) names the plain `vigil.{js,wasm,css}`.
pub fn leptos_options(site_root: &Path, addr: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(site_root.to_string_lossy().as_ref())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .hash_files(site_files::hash_file_beside_binary().is_some())
        .hash_file(site_files::HASH_FILE_NAME.into())
        .build()
}

/// The whole app as one axum router: pages, server functions, probes,
/// Prometheus metrics, static files; served to the Host names `hosts` allows.
/// Serve it with connect info (`into_make_service_with_connect_info`), so
/// wrong operator tokens are counted per client address.
pub fn router(
    options: LeptosOptions,
    backend: Arc<dyn app::api::backend::Backend>,
    health: HealthState,
    hosts: AllowedHosts,
) -> Router {
    let pkg_dir = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    // Blocking, once, before the first request: seconds after a fresh build,
    // milliseconds when the compressed files are already there.
    site_files::precompress_logged(&pkg_dir);
    let pkg = site_files::pkg_router(&pkg_dir, site_files::bundle_names(&pkg_dir, OUTPUT_NAME));
    let routes = generate_route_list(App);
    let handle = BackendHandle(Arc::clone(&backend));
    let context = move || {
        provide_context(handle.clone());
        guard::provide_page_policy();
    };
    Router::new()
        .leptos_routes_with_context(&options, routes, context.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        // Unrouted paths render the app's 404 page, which lists the metrics:
        // it needs the backend too.
        .fallback(leptos_axum::file_and_error_handler_with_context(
            context, shell,
        ))
        // Pages and server functions only (added before the static files and
        // probes, which stay answerable under any load).
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(load_limit::LoadLimit::default()),
            load_limit::limit_load,
        ))
        .nest_service(&format!("/{}", options.site_pkg_dir), pkg)
        .with_state(options)
        .merge(health::routes(health))
        .layer(axum::middleware::from_fn_with_state(
            backend,
            slice_status::unknown_slices_are_not_found,
        ))
        .layer(axum::middleware::from_fn(
            decode_status::undecodable_requests_are_bad_requests,
        ))
        // Every request body (server-function forms and JSON) is small; a
        // bigger one is refused with 413 before it is read into memory.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_BODY_BYTES,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(guard::TokenAttempts::default()),
            guard::token_attempts,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(hosts),
            guard::allowed_host,
        ))
        // Outermost: the refusals above carry the headers too.
        .layer(axum::middleware::from_fn(guard::security_headers))
}
