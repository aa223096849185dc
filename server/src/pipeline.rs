//! Wires the alerting pipeline from the config: the alert store, the checker
//! (source -> evaluations -> alert state) and the deliverer (outbox ->
//! Telegram or log). `vigil serve` and `vigil check` build the same one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use crate::check::run::Checker;
use crate::config::{Config, SourceConfig};
use crate::delivery::{render::Links, Deliverer};
use crate::metrics::model::MetricDef;
use crate::report::send::MorningReports;
use crate::sources::Source;
use crate::state::{state_path, State, StateLocation};
use crate::telegram::client::{BotToken, ClientConfig, TelegramClient};

/// The pieces of the pipeline, shared by the scheduler, the sender, the
/// button poller and the web backend.
pub struct Pipeline {
    pub store: State,
    pub checker: Arc<Checker>,
    pub deliverer: Arc<Deliverer>,
    pub telegram: Option<TelegramClient>,
    /// The morning reports: created by the scheduler, sent by the deliverer.
    pub reports: Arc<MorningReports>,
}

/// Where vigil keeps its own state: the SQLite store's directory, or
/// `--data-dir`, or `./data`.
pub fn state_dir(config: &Config, data_dir: Option<&Path>) -> PathBuf {
    if let Some(dir) = data_dir {
        return dir.to_path_buf();
    }
    match &config.source {
        SourceConfig::Sqlite(sqlite) => sqlite
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        SourceConfig::ClickHouse(_) => PathBuf::from("./data"),
    }
}

/// Where the state lives: `[state]`'s PostgreSQL database when configured,
/// else the SQLite file in the data directory (see [`state_dir`]).
pub fn state_location(config: &Config, data_dir: Option<&Path>) -> StateLocation {
    location_in(config, &state_dir(config, data_dir))
}

/// [`state_location`] with the data directory already chosen.
pub fn location_in(config: &Config, state_dir: &Path) -> StateLocation {
    match &config.state.postgres {
        Some(target) => StateLocation::Postgres(target.clone()),
        None => StateLocation::Sqlite(state_path(state_dir)),
    }
}

impl Pipeline {
    /// Opens the alert state (in `state_dir`, or `[state]`'s database) and
    /// builds the pipeline.
    /// `default_base_url` is used for links when `alerts.public_url` is unset.
    pub fn build(
        config: &Config,
        source: Arc<Source>,
        metrics: Vec<MetricDef>,
        state_dir: &Path,
        default_base_url: &str,
        instance: &str,
    ) -> anyhow::Result<Self> {
        // The late-rows re-check and the ClickHouse bucket cache must agree
        // on which buckets can still change.
        source.settle_rows_after(crate::sources::settle_secs(&config.alerting.schedule));
        let location = location_in(config, state_dir);
        let store = crate::state::open(&location)
            .with_context(|| format!("opening the alert state in {location}"))?;
        let mut store = store;
        let now = crate::times::unix_now();
        let planned: Vec<_> = config
            .alerting
            .silences
            .iter()
            // Without `from` a silence holds at once; 0 keeps it the same
            // silence across restarts (the start is part of its identity).
            .map(|s| (s.scope.clone(), s.from.unwrap_or(0).min(s.until), s.until))
            .collect();
        let added = store
            .sync_configured_silences(&planned, now)
            .context("applying the config's silences")?;
        if added > 0 {
            tracing::info!(added, "planned silences from the config applied");
        }
        let store = State::new(store);
        let alerting = config.alerting.clone();
        let telegram = if alerting.telegram.enabled() {
            let token = alerting
                .telegram
                .token
                .as_ref()
                .map(|t| BotToken::new(t.expose()))
                .context("telegram token")?;
            let client = TelegramClient::new(
                ClientConfig::new(token).with_base_url(alerting.telegram.api_url.clone()),
            )
            .context("setting up the Telegram client")?;
            tracing::info!(api = %alerting.telegram.api_url, "alerts go to Telegram");
            Some(client)
        } else {
            tracing::info!(
                "no Telegram bot token and chat configured: alerts are logged and shown in the UI \
                 (set VIGIL_TELEGRAM_TOKEN and [telegram] chat to send them)"
            );
            None
        };
        let links = Links {
            base_url: alerting
                .public_url
                .clone()
                .unwrap_or_else(|| default_base_url.trim_end_matches('/').to_string()),
        };
        let checker = Arc::new(Checker {
            source: Arc::clone(&source),
            metrics: metrics.clone(),
            alerting: alerting.clone(),
            store: store.clone(),
            experiments: config.experiments.clone(),
            group_watch: config.group_watch.clone(),
        });
        let reports = Arc::new(
            MorningReports::new(
                config.report.clone(),
                store.clone(),
                Arc::clone(&source),
                metrics.clone(),
                alerting.clone(),
                telegram.clone(),
            )
            .with_experiments(&config.experiments),
        );
        let deliverer = Arc::new(
            Deliverer::new(
                store.clone(),
                source,
                metrics,
                alerting,
                links,
                telegram.clone(),
            )
            .with_claimant(instance)
            .with_reports(Arc::clone(&reports)),
        );
        Ok(Self {
            store,
            checker,
            deliverer,
            telegram,
            reports,
        })
    }
}
