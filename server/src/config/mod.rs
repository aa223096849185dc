//! The TOML config file.
//!
//! ```toml
//! [source]
//! kind = "sqlite"                  # or "clickhouse"
//! path = "./data/vigil.sqlite"     # sqlite only
//! # url = "http://localhost:8123"  # clickhouse only; https:// too
//! # ca_file = "ca.pem"             # https: the CA to trust instead of the system's
//! # client_cert_file = "vigil.pem" # https: a client certificate (with its key)
//! # client_key_file = "vigil.key"
//! # database = "default"
//! # user = "default"
//! # password = "..."               # or env VIGIL_CLICKHOUSE_PASSWORD (wins over the file)
//! # feed_actions_table = "feed_actions"
//! # message_actions_table = "message_actions"
//!
//! [[metrics]]                      # user-defined metrics, no code needed
//! name = "android_views"
//! title = "Android feed views"
//! table = "feed_actions"           # or "message_actions"
//! aggregate = "count"              # "count" | "distinct" (needs `column`) | "ratio"
//! filters = { os = "Android", action = "view" }
//! slices = ["country", "source"]
//! # column = "user_id"             # distinct
//! # numerator = { action = "like" }    # ratio
//! # denominator = { action = "view" }  # ratio
//!
//! [[dimensions]]                   # optional: a slice by another name, bands, a cap
//! name = "age_band"                # slices = ["age_band"] in a metric
//! column = "age"                   # default: the column of the name
//! bands = [18, 25, 35, 45, 55]     # <18, 18-24, 25-34, 35-44, 45-54, 55+
//! top = 50                         # values watched one by one, the rest as "(other)"
//!
//! [simulator]
//! users = 2000
//! days = 14
//! seed = 42
//!
//! [state]                          # optional: vigil's own state on PostgreSQL (see `state`)
//! url = "postgres://vigil@db.internal:5432/vigil"
//! ```
//!
//! Every error names the file, the key path (`metrics[2].slices[0]`), the
//! reason and, where the file has the key, its line; one load lists every
//! problem of a file. Unknown keys are errors. The password never appears in
//! `Debug` output.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::metrics::catalogue::Catalogue;
use crate::metrics::model::{MetricDef, TableNames};
use crate::metrics::MetricError;

pub mod alerting;
pub mod clickhouse_tls;
pub mod clickhouse_url;
mod detector_entries;
mod dimensions;
pub mod experiments;
pub mod group_watch;
pub mod http_url;
pub mod links;
mod raw;
mod read;
pub mod report;
pub mod serving;
mod source;
pub mod state;

pub use alerting::{AlertingConfig, ScheduleConfig, TelegramSettings, TOKEN_ENV};
pub use clickhouse_tls::{ClickHouseTls, ClientCertFiles};
pub use experiments::ExperimentConfig;
pub use group_watch::GroupWatchConfig;
pub use links::{DashboardLink, LinkAlert, LinkTemplate, TimeFormat};
pub use report::ReportConfig;
pub use serving::{HeartbeatConfig, WebConfig};
pub use state::{StateConfig, STATE_PASSWORD_ENV, STATE_URL_ENV};

/// Environment variable that supplies the ClickHouse password (wins over the file).
pub const PASSWORD_ENV: &str = "VIGIL_CLICKHOUSE_PASSWORD";
/// Where the embedded store lives unless configured otherwise.
pub const DEFAULT_SQLITE_PATH: &str = "./data/vigil.sqlite";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The io error is part of the message, not its `source()`: each config
    /// problem is one standalone line, and an error chain printed with `{:#}`
    /// would otherwise repeat "No such file or directory (os error 2)".
    #[error("cannot read config file {file}: {error}")]
    Read { file: String, error: std::io::Error },
    #[error("{file}: `{key}`: {reason}")]
    Invalid {
        file: String,
        key: String,
        reason: String,
    },
    /// A value from an environment variable (which wins over the file) is bad.
    #[error("environment variable {variable}: {reason}")]
    Environment {
        variable: &'static str,
        reason: String,
    },
    /// Several problems, one per line, each naming file, key and reason.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Problems(Vec<ConfigError>),
}

impl ConfigError {
    /// One error for one problem, a [`ConfigError::Problems`] for several.
    fn from_problems(mut problems: Vec<ConfigError>) -> Self {
        if problems.len() == 1 {
            problems.remove(0)
        } else {
            ConfigError::Problems(problems)
        }
    }

    /// Every single problem in this error, in file order.
    pub fn problems(&self) -> Vec<&ConfigError> {
        match self {
            ConfigError::Problems(all) => all.iter().collect(),
            single => vec![single],
        }
    }
}

/// A value that must never be printed (the database password).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The clear text, for the one place that sends it to the database.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The whole configuration, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub source: SourceConfig,
    /// User-defined metrics (the built-ins are added by [`Config::catalogue`]).
    pub metrics: Vec<MetricDef>,
    pub simulator: SimulatorConfig,
    /// Schedule, lifecycle, Telegram, links and detectors.
    pub alerting: AlertingConfig,
    /// `[heartbeat]`: the URL `vigil serve` calls after each check, if any.
    pub heartbeat: Option<HeartbeatConfig>,
    /// `[web]`: the Host names `vigil serve` answers to.
    pub web: WebConfig,
    /// `[[experiments]]`: A/B experiments compared at every check.
    pub experiments: Vec<ExperimentConfig>,
    /// `[group_watch]`: that no undeclared `exp_group` drifts from the others.
    pub group_watch: GroupWatchConfig,
    /// `[state]`: where vigil's own state lives (embedded SQLite by default).
    pub state: StateConfig,
    /// `[report]`: the morning report.
    pub report: ReportConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            source: SourceConfig::Sqlite(SqliteConfig::default()),
            metrics: Vec::new(),
            simulator: SimulatorConfig::default(),
            alerting: AlertingConfig::default(),
            heartbeat: None,
            web: WebConfig::default(),
            experiments: Vec::new(),
            group_watch: GroupWatchConfig::default(),
            state: StateConfig::default(),
            report: ReportConfig::default(),
        }
    }
}

/// Secrets the environment supplies; each wins over the file.
#[derive(Clone, Default)]
pub struct SecretEnv {
    /// [`PASSWORD_ENV`].
    pub clickhouse_password: Option<String>,
    /// [`TOKEN_ENV`].
    pub telegram_token: Option<String>,
    /// [`STATE_URL_ENV`].
    pub state_url: Option<String>,
    /// [`STATE_PASSWORD_ENV`].
    pub state_password: Option<String>,
}

impl SecretEnv {
    /// What this process's environment sets (empty values count as unset).
    pub fn from_process() -> Self {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        Self {
            clickhouse_password: var(PASSWORD_ENV),
            telegram_token: var(TOKEN_ENV),
            state_url: var(STATE_URL_ENV),
            state_password: var(STATE_PASSWORD_ENV),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum SourceConfig {
    Sqlite(SqliteConfig),
    ClickHouse(ClickHouseConfig),
}

#[derive(Clone, Debug, PartialEq)]
pub struct SqliteConfig {
    pub path: PathBuf,
}

impl Default for SqliteConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from(DEFAULT_SQLITE_PATH),
        }
    }
}

/// Connection settings for ClickHouse; `Debug` shows the password as redacted.
#[derive(Clone, Debug, PartialEq)]
pub struct ClickHouseConfig {
    /// HTTP interface, e.g. `http://localhost:8123` or `https://ch.internal:8443`.
    pub url: String,
    pub database: String,
    pub user: String,
    pub password: Option<Secret>,
    pub tables: TableNames,
    /// CA and client certificate for an `https://` URL (paths, never contents).
    pub tls: ClickHouseTls,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimulatorConfig {
    pub users: u32,
    pub days: u32,
    pub seed: u64,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            users: 2000,
            days: 14,
            seed: 42,
        }
    }
}

impl Config {
    /// Read and validate a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|error| ConfigError::Read {
            file: file.clone(),
            error,
        })?;
        let text = String::from_utf8(bytes).map_err(|error| {
            let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
            let valid = std::str::from_utf8(valid).unwrap_or_default();
            ConfigError::Invalid {
                file: file.clone(),
                key: "(file)".into(),
                reason: format!(
                    "not valid UTF-8{}: save the file as UTF-8 text",
                    read::location(valid, valid.len())
                ),
            }
        })?;
        Self::parse_relative_to(
            &text,
            &file,
            &SecretEnv::from_process(),
            path.parent().unwrap_or(Path::new("")),
        )
    }

    /// The file's config, or the default (embedded SQLite) when no file is
    /// given; secrets from the environment apply either way.
    pub fn load_or_default(path: Option<&Path>) -> Result<Self, ConfigError> {
        match path {
            Some(path) => Self::load(path),
            None => Self::parse("", "(no config file)", &SecretEnv::from_process()),
        }
    }

    /// Parse config text; `file` names it in errors; `env` holds the secrets
    /// the environment sets.
    pub fn parse(text: &str, file: &str, env: &SecretEnv) -> Result<Self, ConfigError> {
        Self::parse_relative_to(text, file, env, Path::new(""))
    }

    /// [`Config::parse`], with a relative `[source] path` taken relative to
    /// `config_dir`, the file's directory: a config in `/etc/vigil` naming
    /// `./store/v.sqlite` must not depend on where cron starts vigil. The
    /// built-in default path (no `path` key) stays relative to the working
    /// directory.
    fn parse_relative_to(
        text: &str,
        file: &str,
        env: &SecretEnv,
        config_dir: &Path,
    ) -> Result<Self, ConfigError> {
        let (reading, document) = read::read(text, file).map_err(ConfigError::from_problems)?;
        let raw = reading.raw;
        // Every problem is collected, so one run of `vigil config check` lists them all.
        let mut problems = reading.problems;
        let invalid = |key: String, reason: String| ConfigError::Invalid {
            file: file.to_string(),
            key,
            reason,
        };
        let mut source_problems = Vec::new();
        let source = source::validate(raw.source, env, config_dir, &mut source_problems);
        problems.extend(
            source_problems
                .into_iter()
                .map(|(key, reason)| invalid(key, reason)),
        );

        let dimensions = dimensions::read(raw.dimensions, |key, reason| {
            problems.push(invalid(key, reason))
        });
        let mut metrics = Vec::new();
        for (index, raw_metric) in raw.metrics.into_iter().enumerate() {
            let Some(raw_metric) = raw_metric else {
                continue; // its problems are already listed
            };
            match raw_metric.into_def(&dimensions) {
                Ok(def) => metrics.push(def),
                Err((key, reason)) => {
                    problems.push(invalid(format!("metrics[{index}].{key}"), reason));
                }
            }
        }
        // Cross-metric checks only make sense once every metric is well formed.
        let catalogue_check = if problems.is_empty() {
            Catalogue::with_user_metrics(metrics.clone()).err()
        } else {
            None
        };
        if let Some(error) = catalogue_check {
            let index = match &error {
                MetricError::Duplicate { name }
                | MetricError::UnknownDependency { metric: name, .. } => {
                    metrics.iter().position(|metric| &metric.name == name)
                }
                _ => None,
            };
            let key = index.map_or("metrics".to_string(), |i| format!("metrics[{i}].name"));
            problems.push(invalid(key, error.to_string()));
        }

        let simulator = raw.simulator.unwrap_or_default();
        let defaults = SimulatorConfig::default();
        let simulator = SimulatorConfig {
            users: simulator.users.unwrap_or(defaults.users),
            days: simulator.days.unwrap_or(defaults.days),
            seed: simulator.seed.unwrap_or(defaults.seed),
        };
        if simulator.users < 2 {
            problems.push(invalid(
                "simulator.users".into(),
                "need at least 2 users (messages go between users)".into(),
            ));
        }
        if !(1..=366).contains(&simulator.days) {
            problems.push(invalid(
                "simulator.days".into(),
                "expected 1..=366 days of history".into(),
            ));
        }
        let mut metric_names: Vec<String> = Catalogue::with_user_metrics(metrics.clone())
            .map(|c| c.metrics().iter().map(|m| m.name.clone()).collect())
            .unwrap_or_else(|_| metrics.iter().map(|m| m.name.clone()).collect());
        // Sections may name a metric whose own entry could not be read.
        metric_names.extend(reading.unreadable_metric_names);
        let mut alerting_problems = Vec::new();
        let alerting = alerting::validate(
            alerting::RawAlerting {
                schedule: raw.schedule,
                alerts: raw.alerts,
                telegram: raw.telegram,
                links: raw.links,
                detectors: raw.detectors,
                silences: raw.silences,
            },
            config_dir,
            &metric_names,
            env.telegram_token.clone(),
            &mut alerting_problems,
        );
        if let Some(token) = env.telegram_token.as_deref().filter(|t| !t.is_empty()) {
            if !alerting::looks_like_token(token) {
                // Never echo the value: it is a secret even when malformed.
                problems.push(ConfigError::Environment {
                    variable: TOKEN_ENV,
                    reason: "not a bot token (expected <bot id>:<secret>, as BotFather gives it)"
                        .into(),
                });
            }
        }
        let heartbeat = serving::heartbeat(raw.heartbeat, &mut alerting_problems);
        let web = serving::web(raw.web, &mut alerting_problems);
        let experiments =
            experiments::validate(raw.experiments, &metric_names, &mut alerting_problems);
        let group_watch =
            group_watch::validate(raw.group_watch, &metric_names, &mut alerting_problems);
        let state = state::validate(raw.state, env, &mut alerting_problems, &mut problems);
        let report = report::validate(raw.report, &mut alerting_problems);
        problems.extend(
            alerting_problems
                .into_iter()
                .map(|(key, reason)| invalid(key, reason)),
        );
        if !problems.is_empty() {
            // In file order, each with its line where the file has the key.
            problems.sort_by_key(|problem| document.position(problem));
            let located = problems.into_iter().map(|p| document.locate(p)).collect();
            return Err(ConfigError::from_problems(located));
        }
        Ok(Self {
            source,
            metrics,
            simulator,
            alerting,
            heartbeat,
            web,
            experiments,
            group_watch,
            state,
            report,
        })
    }

    /// Built-in metrics plus the user's (already validated by [`Config::parse`]).
    pub fn catalogue(&self) -> Result<Catalogue, MetricError> {
        Catalogue::with_user_metrics(self.metrics.clone())
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod input_tests;
