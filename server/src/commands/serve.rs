//! `vigil serve`: the web app, the check scheduler, the alert sender and the
//! Telegram button poller over the configured source. On the embedded default
//! it first makes sure the simulator's history is in the store, then keeps
//! appending live events while serving.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use clap::Args;
use tokio::sync::watch;

use super::source_args::SourceArgs;
use crate::config::{Config, SourceConfig};
use crate::heartbeat::Pulse;
use crate::pipeline::{self, Pipeline};
use crate::scheduler::{self, leadership, while_leading, Leadership};
use crate::simulator;
use crate::sources::Source;
use crate::web;

/// How often the live simulator appends events.
const LIVE_TICK: Duration = Duration::from_secs(5);

/// `--addr`: an IP:PORT, or a HOST:PORT resolved to its first address, so
/// `localhost:3000` works as users expect.
fn parse_listen_addr(text: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if !text.contains(':') {
        return Err(format!(
            "{text:?}: expected HOST:PORT or IP:PORT, e.g. 127.0.0.1:3000"
        ));
    }
    text.to_socket_addrs()
        .map_err(|error| format!("{text:?}: {error}"))?
        .next()
        .ok_or_else(|| format!("{text:?}: the host name has no address"))
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on: IP:PORT or HOST:PORT (e.g. localhost:3000).
    #[arg(long, default_value = "127.0.0.1:3000", env = "VIGIL_ADDR", value_parser = parse_listen_addr)]
    pub addr: SocketAddr,
    /// The built site (wasm bundle, css, assets) written by `cargo leptos build`.
    #[arg(long, default_value = "target/site", env = "LEPTOS_SITE_ROOT")]
    pub site_root: PathBuf,
    #[command(flatten)]
    pub source: SourceArgs,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.source.load()?;
    // Refused before anything starts, like a bad config.
    let operator_token = operator_token(std::env::var(OPERATOR_TOKEN_ENV).ok())?;
    warn_if_site_missing(&args.site_root);
    // Threads of tokio's blocking pool (default 512). Store reads wait for one of
    // the few reader connections before they take a thread, so what remains is
    // the alert state, chart rendering and file reads: a burst of 500 page
    // requests peaked at 277 threads before (475 in issue 19) and at 33 with
    // the bounds; 64 leaves room for every reader plus the state and the
    // scheduler without a queue (docs/benchmarks.md, "Bounded under load").
    const MAX_BLOCKING_THREADS: usize = 64;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args, config, operator_token))
}

/// Environment variable whose value unlocks the web UI's writes.
pub const OPERATOR_TOKEN_ENV: &str = "VIGIL_OPERATOR_TOKEN";
/// Shorter operator tokens are refused: the token is the only thing between a
/// browser and the write buttons, and failed guesses are only slowed down.
pub const MIN_OPERATOR_TOKEN_CHARS: usize = 16;

/// The operator token from `value` (the environment's): `None` (unset or
/// empty) leaves the UI read-only; one under [`MIN_OPERATOR_TOKEN_CHARS`] is
/// an error that never shows the value.
fn operator_token(value: Option<String>) -> anyhow::Result<Option<String>> {
    let Some(token) = value.filter(|token| !token.is_empty()) else {
        tracing::info!("{OPERATOR_TOKEN_ENV} is not set: the web UI is read-only");
        return Ok(None);
    };
    let length = token.chars().count();
    if length < MIN_OPERATOR_TOKEN_CHARS {
        anyhow::bail!(
            "environment variable {OPERATOR_TOKEN_ENV}: too short ({length} characters): use at \
             least {MIN_OPERATOR_TOKEN_CHARS} random characters, e.g. the output of \
             `openssl rand -hex 16`"
        );
    }
    crate::redact::register(&token);
    Ok(Some(token))
}

async fn serve(
    args: ServeArgs,
    config: Config,
    operator_token: Option<String>,
) -> anyhow::Result<()> {
    // Listen first: a busy port is reported before anything is opened or
    // written (the simulator would otherwise fill the store in vain).
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    // The address really listened on (`--addr 127.0.0.1:0` picks a port).
    let addr = listener
        .local_addr()
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let catalogue = config.catalogue()?;
    let source = Arc::new(Source::open(&config.source)?);
    tracing::info!(source = %source.describe(), metrics = catalogue.metrics().len(), "source opened");

    let (stop_tx, stop_rx) = watch::channel(false);
    let state_dir = pipeline::state_dir(&config, args.source.data_dir.as_deref());
    let leadership = Arc::new(Leadership::new(
        crate::instance::default_holder(addr.port()),
        Duration::from_secs(config.alerting.schedule.leader_lease_secs),
    ));
    // Opening the state blocks (PostgreSQL's client runs its own runtime,
    // which must not start on an async worker).
    let pipeline = tokio::task::block_in_place(|| {
        Pipeline::build(
            &config,
            Arc::clone(&source),
            catalogue.metrics().to_vec(),
            &state_dir,
            &format!("http://{addr}"),
            leadership.holder(),
        )
    })?;
    // Knowing at once whether this instance leads decides who writes the
    // simulator's history: the leader, before its first check reads it.
    leadership::renew(&leadership, &pipeline.store).await;
    let mut background = vec![tokio::spawn(leadership::keep_lease(
        Arc::clone(&leadership),
        pipeline.store.clone(),
        stopped(stop_rx.clone()),
    ))];
    // The simulator only feeds the embedded store; a ClickHouse source has real data.
    if matches!(config.source, SourceConfig::Sqlite(_)) {
        if leadership.is_leader() {
            let report =
                simulator::fill_history(&source, &config.simulator, crate::times::unix_now())
                    .await
                    .context("writing the simulator's history")?;
            tracing::info!(
                events = report.events(),
                events_per_second = report.events_per_second().round(),
                "embedded history ready"
            );
        }
        let source = Arc::clone(&source);
        let sim = config.simulator.clone();
        // Only the leader appends: live generation resumes after the newest
        // stored event, so an instance that takes over fills the gap.
        background.push(tokio::spawn(while_leading(
            Arc::clone(&leadership),
            stopped(stop_rx.clone()),
            move || {
                let (source, sim) = (Arc::clone(&source), sim.clone());
                async move {
                    // An instance that was not leader at start has not
                    // written the history (in case the store is still empty).
                    let now = crate::times::unix_now();
                    if let Err(error) = simulator::fill_history(&source, &sim, now).await {
                        tracing::error!(%error, "writing the simulator's history");
                    }
                    let forever = std::future::pending();
                    if let Err(error) = simulator::run_live(&source, &sim, LIVE_TICK, forever).await
                    {
                        tracing::error!(%error, "live simulator stopped");
                    }
                }
            },
        )));
    }

    let sender_wake = Arc::new(tokio::sync::Notify::new());
    let pulse = Arc::new(Pulse::from_config(config.heartbeat.as_ref())?);
    // The leader checks, sends and polls the buttons; the others serve pages.
    background.push(tokio::spawn(while_leading(
        Arc::clone(&leadership),
        stopped(stop_rx.clone()),
        {
            let (checker, reports, wake, pulse) = (
                Arc::clone(&pipeline.checker),
                Arc::clone(&pipeline.reports),
                Arc::clone(&sender_wake),
                Arc::clone(&pulse),
            );
            move || {
                let (checker, reports, wake, pulse) = (
                    Arc::clone(&checker),
                    Arc::clone(&reports),
                    Arc::clone(&wake),
                    Arc::clone(&pulse),
                );
                scheduler::run_checks(checker, reports, wake, pulse, std::future::pending())
            }
        },
    )));
    background.push(tokio::spawn(while_leading(
        Arc::clone(&leadership),
        stopped(stop_rx.clone()),
        {
            let (deliverer, wake) = (Arc::clone(&pipeline.deliverer), Arc::clone(&sender_wake));
            move || {
                scheduler::run_sender(
                    Arc::clone(&deliverer),
                    Arc::clone(&wake),
                    std::future::pending(),
                )
            }
        },
    )));
    if let (Some(client), true) = (&pipeline.telegram, config.alerting.telegram.poll_updates) {
        let (client, store) = (client.clone(), pipeline.store.clone());
        let utc_offset = config.alerting.utc_offset_minutes;
        background.push(tokio::spawn(while_leading(
            Arc::clone(&leadership),
            stopped(stop_rx.clone()),
            move || {
                crate::telegram::updates::run(
                    client.clone(),
                    store.clone(),
                    utc_offset,
                    std::future::pending(),
                )
            },
        )));
    }

    let options = web::leptos_options(&args.site_root, addr);
    let backend = Arc::new(
        web::SourceBackend::new(
            Arc::clone(&source),
            catalogue.metrics().to_vec(),
            pipeline.store.clone(),
            operator_token,
        )
        .with_detectors(config.alerting.detectors.clone())
        .with_alert_rules(&config.alerting)
        .with_experiments(&config.experiments),
    );
    let health = web::HealthState {
        source: Arc::clone(&source),
        store: pipeline.store.clone(),
        pulse,
        leadership,
    };
    let hosts = web::AllowedHosts::new(
        &config.web.allowed_hosts,
        config.alerting.public_url.as_deref(),
    );
    let app = web::router(options, backend, health, hosts)
        .into_make_service_with_connect_info::<SocketAddr>();
    tracing::info!("vigil is serving http://{addr}");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving HTTP")?;

    let _ = stop_tx.send(true);
    for task in background {
        let _ = task.await;
    }
    tracing::info!("vigil stopped");
    Ok(())
}

/// Resolves once `true` is sent (or the sender is gone).
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Ctrl-C or SIGTERM (what `kill`, systemd and the e2e harness send).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

/// Pages still render without the bundle, but nothing hydrates: say so at start.
/// The bundle is `vigil.js`, or `vigil.<content hash>.js` (cargo-leptos `hash-files`).
fn warn_if_site_missing(site_root: &std::path::Path) {
    let pkg = site_root.join("pkg");
    let has_bundle = std::fs::read_dir(&pkg)
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.starts_with("vigil.") && name.ends_with(".js")
        });
    if !has_bundle {
        tracing::warn!(
            site_root = %site_root.display(),
            "no wasm bundle (vigil.js or vigil.<hash>.js) in {}: pages will render but not be interactive; run `cargo leptos build` (or `make run`)",
            pkg.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_take_host_names() {
        assert_eq!(
            parse_listen_addr("127.0.0.1:3000"),
            Ok(SocketAddr::from(([127, 0, 0, 1], 3000)))
        );
        let local = parse_listen_addr("localhost:3000").expect("localhost resolves");
        assert!(local.ip().is_loopback() && local.port() == 3000, "{local}");
        assert!(parse_listen_addr("localhost").is_err());
        assert!(parse_listen_addr("localhost:http99").is_err());
    }

    #[test]
    fn short_operator_tokens_are_refused_without_showing_them() {
        assert_eq!(operator_token(None).unwrap(), None);
        assert_eq!(operator_token(Some(String::new())).unwrap(), None);
        let error = operator_token(Some("short-guessable".into()))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("VIGIL_OPERATOR_TOKEN: too short (15 characters)"),
            "{error}"
        );
        assert!(error.contains("at least 16"), "{error}");
        assert!(!error.contains("short-guessable"), "{error}");
        let long = "a-long-enough-tok".to_string();
        assert_eq!(operator_token(Some(long.clone())).unwrap(), Some(long));
    }
}
