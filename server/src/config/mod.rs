//! The TOML config file.
//!
//! ```toml
//! [source]
//! kind = "sqlite"                  # or "clickhouse"
//! path = "./data/vigil.sqlite"     # sqlite only
//! # url = "http://localhost:8123"  # clickhouse only
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
//! [simulator]
//! users = 2000
//! days = 14
//! seed = 42
//! ```
//!
//! Every error names the file, the key path (`metrics[2].slices[0]`) and the
//! reason. Unknown keys are errors. The password never appears in `Debug` output.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::metrics::catalogue::Catalogue;
use crate::metrics::model::{Aggregate, EventTable, Filter, MetricDef, TableNames};
use crate::metrics::{self, MetricError};

pub mod alerting;
pub mod clickhouse_url;

pub use alerting::{AlertingConfig, DashboardLink, ScheduleConfig, TelegramSettings, TOKEN_ENV};

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
}

impl Default for Config {
    fn default() -> Self {
        Self {
            source: SourceConfig::Sqlite(SqliteConfig::default()),
            metrics: Vec::new(),
            simulator: SimulatorConfig::default(),
            alerting: AlertingConfig::default(),
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
}

impl SecretEnv {
    /// What this process's environment sets (empty values count as unset).
    pub fn from_process() -> Self {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        Self {
            clickhouse_password: var(PASSWORD_ENV),
            telegram_token: var(TOKEN_ENV),
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
    /// HTTP interface, e.g. `http://localhost:8123`.
    pub url: String,
    pub database: String,
    pub user: String,
    pub password: Option<Secret>,
    pub tables: TableNames,
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
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            file: file.clone(),
            error,
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
        let raw = match deserialize(text, file) {
            Ok(raw) => raw,
            Err(first) => {
                let mut problems = vec![first];
                problems.extend(more_shape_problems(text, file, &problems[0]));
                return Err(ConfigError::from_problems(problems));
            }
        };
        // Every problem is collected, so one run of `vigil config check` lists them all.
        let mut problems = Vec::new();
        let invalid = |key: String, reason: String| ConfigError::Invalid {
            file: file.to_string(),
            key,
            reason,
        };
        let source = match raw.source.unwrap_or_default() {
            RawSource::Sqlite { path } => SourceConfig::Sqlite(SqliteConfig {
                path: path.map_or_else(
                    || PathBuf::from(DEFAULT_SQLITE_PATH),
                    |path| config_dir.join(path),
                ),
            }),
            RawSource::Clickhouse {
                url,
                database,
                user,
                password,
                feed_actions_table,
                message_actions_table,
            } => {
                let tables = TableNames {
                    feed_actions: feed_actions_table.unwrap_or_else(|| "feed_actions".into()),
                    message_actions: message_actions_table
                        .unwrap_or_else(|| "message_actions".into()),
                };
                for (key, name) in [
                    ("source.feed_actions_table", &tables.feed_actions),
                    ("source.message_actions_table", &tables.message_actions),
                ] {
                    if let Err(error) = metrics::check_identifier("table name", name) {
                        problems.push(invalid(key.into(), error.to_string()));
                    }
                }
                let database = database.unwrap_or_else(|| "default".into());
                if let Err(error) = metrics::check_identifier("database name", &database) {
                    problems.push(invalid("source.database".into(), error.to_string()));
                }
                // This build has no TLS client: say so now rather than at the first check.
                if !url.starts_with("http://") {
                    problems.push(invalid(
                        "source.url".into(),
                        "expected an http:// URL of the ClickHouse HTTP interface \
                         (https is not built in; use a local TLS-terminating proxy)"
                            .into(),
                    ));
                } else if let Err(reason) = clickhouse_url::public_url(&url) {
                    // The same rule `vigil check` applies when it opens the source.
                    problems.push(invalid("source.url".into(), reason.into()));
                }
                SourceConfig::ClickHouse(ClickHouseConfig {
                    url,
                    database,
                    user: user.unwrap_or_else(|| "default".into()),
                    password: env
                        .clickhouse_password
                        .clone()
                        .or(password)
                        .map(Secret::new),
                    tables,
                })
            }
        };

        let mut metrics = Vec::new();
        for (index, raw_metric) in raw.metrics.into_iter().enumerate() {
            match raw_metric.into_def() {
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
        let metric_names: Vec<String> = Catalogue::with_user_metrics(metrics.clone())
            .map(|c| c.metrics().iter().map(|m| m.name.clone()).collect())
            .unwrap_or_else(|_| metrics.iter().map(|m| m.name.clone()).collect());
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
        problems.extend(
            alerting_problems
                .into_iter()
                .map(|(key, reason)| invalid(key, reason)),
        );
        if !problems.is_empty() {
            return Err(ConfigError::from_problems(problems));
        }
        Ok(Self {
            source,
            metrics,
            simulator,
            alerting,
        })
    }

    /// Built-in metrics plus the user's (already validated by [`Config::parse`]).
    pub fn catalogue(&self) -> Result<Catalogue, MetricError> {
        Catalogue::with_user_metrics(self.metrics.clone())
    }
}

/// Deserialize with the key path of the first error, plus line and column.
fn deserialize(text: &str, file: &str) -> Result<RawConfig, ConfigError> {
    let invalid = |key: String, error: &toml::de::Error| {
        let location = error
            .span()
            .map(|span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!(" (line {line}, column {column})")
            })
            .unwrap_or_default();
        ConfigError::Invalid {
            file: file.to_string(),
            key,
            reason: format!("{}{location}", error.message().trim()),
        }
    };
    let deserializer =
        toml::Deserializer::parse(text).map_err(|error| invalid("(syntax)".into(), &error))?;
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let key = error.path().to_string();
        invalid(key, error.inner())
    })
}

/// After the first deserialization error, the other sections and metrics are
/// deserialized one by one so that their problems are reported too (by key path;
/// only the first error knows its line). Problems under the first error's
/// section are left out: they would repeat it.
fn more_shape_problems(text: &str, file: &str, first: &ConfigError) -> Vec<ConfigError> {
    let ConfigError::Invalid { key: first_key, .. } = first else {
        return Vec::new();
    };
    let Ok(table) = text.parse::<toml::Table>() else {
        return Vec::new(); // a syntax error: nothing further can be read
    };
    let mut sections: Vec<(String, Result<(), ShapeProblem>)> = Vec::new();
    for (name, value) in &table {
        let path = name.to_string();
        let check = match name.as_str() {
            "source" => shape::<RawSource>(value),
            "simulator" => shape::<RawSimulator>(value),
            "schedule" => shape::<alerting::RawSchedule>(value),
            "alerts" => shape::<alerting::RawAlerts>(value),
            "telegram" => shape::<alerting::RawTelegram>(value),
            "detectors" => shape::<alerting::RawDetectors>(value),
            "silences" => match value.as_array() {
                Some(items) => {
                    for (index, item) in items.iter().enumerate() {
                        sections.push((
                            format!("silences[{index}]"),
                            shape::<alerting::RawSilence>(item),
                        ));
                    }
                    Ok(())
                }
                None => Err((
                    String::new(),
                    "expected an array of tables, [[silences]]".to_string(),
                )),
            },
            "links" => match value.as_array() {
                Some(items) => {
                    for (index, item) in items.iter().enumerate() {
                        sections
                            .push((format!("links[{index}]"), shape::<alerting::RawLink>(item)));
                    }
                    Ok(())
                }
                None => Err((
                    String::new(),
                    "expected an array of tables, [[links]]".to_string(),
                )),
            },
            "metrics" => match value.as_array() {
                Some(items) => {
                    for (index, item) in items.iter().enumerate() {
                        sections.push((format!("metrics[{index}]"), shape::<RawMetric>(item)));
                    }
                    Ok(())
                }
                None => Err((
                    String::new(),
                    "expected an array of tables, [[metrics]]".to_string(),
                )),
            },
            _ => Err((String::new(), "unknown section".to_string())),
        };
        sections.push((path, check));
    }
    sections
        .into_iter()
        .filter_map(|(section, check)| check.err().map(|error| (section, error)))
        .filter(|(section, _)| {
            !first_key.starts_with(section.as_str()) && !section.starts_with(first_key.as_str())
        })
        .map(|(section, (inner, reason))| {
            let key = if inner.is_empty() {
                section
            } else {
                format!("{section}.{inner}")
            };
            (key, reason)
        })
        .map(|(key, reason)| ConfigError::Invalid {
            file: file.to_string(),
            key,
            reason,
        })
        .collect()
}

/// Where inside a section a value failed to deserialize ("" for the section
/// itself), and why.
type ShapeProblem = (String, String);

/// Whether `value` deserializes as `T`.
fn shape<T: serde::de::DeserializeOwned>(value: &toml::Value) -> Result<(), ShapeProblem> {
    serde_path_to_error::deserialize::<_, T>(value.clone())
        .map(|_| ())
        .map_err(|error| {
            let path = error.path().to_string();
            let inner = if path == "." { String::new() } else { path };
            (inner, error.into_inner().message().trim().to_string())
        })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    source: Option<RawSource>,
    #[serde(default)]
    metrics: Vec<RawMetric>,
    simulator: Option<RawSimulator>,
    schedule: Option<alerting::RawSchedule>,
    alerts: Option<alerting::RawAlerts>,
    telegram: Option<alerting::RawTelegram>,
    #[serde(default)]
    links: Vec<alerting::RawLink>,
    detectors: Option<alerting::RawDetectors>,
    #[serde(default)]
    silences: Vec<alerting::RawSilence>,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
enum RawSource {
    Sqlite {
        path: Option<PathBuf>,
    },
    Clickhouse {
        url: String,
        database: Option<String>,
        user: Option<String>,
        password: Option<String>,
        feed_actions_table: Option<String>,
        message_actions_table: Option<String>,
    },
}

impl Default for RawSource {
    fn default() -> Self {
        RawSource::Sqlite { path: None }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSimulator {
    users: Option<u32>,
    days: Option<u32>,
    seed: Option<u64>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RawAggregate {
    Count,
    Distinct,
    Ratio,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetric {
    name: String,
    title: Option<String>,
    table: EventTable,
    aggregate: RawAggregate,
    column: Option<String>,
    numerator: Option<BTreeMap<String, String>>,
    denominator: Option<BTreeMap<String, String>>,
    #[serde(default)]
    filters: BTreeMap<String, String>,
    #[serde(default)]
    slices: Vec<String>,
    #[serde(default)]
    depends_on: Vec<String>,
}

impl RawMetric {
    /// Turn into a definition, checking every field against the table's schema.
    /// The error is (key path within this metric, reason).
    fn into_def(self) -> Result<MetricDef, (String, String)> {
        let table = self.table;
        let name = self.name;
        metrics::check_identifier("metric name", &name)
            .map_err(|error| ("name".to_string(), error.to_string()))?;
        let filters = |key: &str, map: BTreeMap<String, String>| {
            map.into_iter()
                .map(|(column, value)| {
                    metrics::check_identifier("column", &column)
                        .and_then(|()| metrics::column(&name, table, &column).map(|_| ()))
                        .map_err(|error| {
                            (
                                format!("{key}.{}", column.escape_debug()),
                                error.to_string(),
                            )
                        })?;
                    Ok(Filter { column, value })
                })
                .collect::<Result<Vec<_>, (String, String)>>()
        };
        let misplaced = |key: &str, kind: &str| {
            Err((
                key.to_string(),
                format!("only allowed with aggregate = \"{kind}\""),
            ))
        };
        let aggregate = match self.aggregate {
            RawAggregate::Count | RawAggregate::Ratio if self.column.is_some() => {
                return misplaced("column", "distinct")
            }
            RawAggregate::Count | RawAggregate::Distinct
                if self.numerator.is_some() || self.denominator.is_some() =>
            {
                let key = if self.numerator.is_some() {
                    "numerator"
                } else {
                    "denominator"
                };
                return misplaced(key, "ratio");
            }
            RawAggregate::Count => Aggregate::Count,
            RawAggregate::Distinct => {
                let column = self.column.ok_or_else(|| {
                    (
                        "column".to_string(),
                        "aggregate = \"distinct\" needs `column`, e.g. column = \"user_id\""
                            .to_string(),
                    )
                })?;
                metrics::check_identifier("column", &column)
                    .and_then(|()| metrics::column(&name, table, &column).map(|_| ()))
                    .map_err(|error| ("column".to_string(), error.to_string()))?;
                Aggregate::Distinct { column }
            }
            RawAggregate::Ratio => {
                let (Some(numerator), Some(denominator)) = (self.numerator, self.denominator)
                else {
                    return Err((
                        "denominator".to_string(),
                        "aggregate = \"ratio\" needs both `numerator` and `denominator` filters"
                            .to_string(),
                    ));
                };
                Aggregate::Ratio {
                    numerator: filters("numerator", numerator)?,
                    denominator: filters("denominator", denominator)?,
                }
            }
        };
        let row_filters = filters("filters", self.filters)?;
        for (index, dimension) in self.slices.iter().enumerate() {
            metrics::slice_column(&name, table, dimension)
                .map_err(|error| (format!("slices[{index}]"), error.to_string()))?;
        }
        Ok(MetricDef {
            title: self.title.unwrap_or_else(|| name.clone()),
            name,
            table,
            aggregate,
            filters: row_filters,
            slices: self.slices,
            depends_on: self.depends_on,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        Config::parse(text, "vigil.toml", &SecretEnv::default())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn credentials_in_the_url_are_refused_without_echoing_them() {
        let message = error(
            "[source]\nkind = \"clickhouse\"\nurl = \"http://u:p4ss@ch.example.com:8443\"\ndatabase = \"db\"\n",
        );
        assert!(message.contains("vigil.toml"), "{message}");
        assert!(message.contains("`source.url`"), "{message}");
        assert!(message.contains("not in the URL"), "{message}");
        assert!(!message.contains("p4ss"), "{message}");
        assert!(!message.contains("u:"), "{message}");
    }

    #[test]
    fn https_url_is_refused_with_the_reason() {
        let message = error("[source]\nkind = \"clickhouse\"\nurl = \"https://ch.example:8443\"\n");
        assert!(message.contains("source.url"), "{message}");
        assert!(message.contains("https is not built in"), "{message}");
    }

    #[test]
    fn every_problem_is_reported_not_just_the_first() {
        let text = r#"
[simulator]
users = 1

[[metrics]]
name = "a"
table = "feed_actions"
aggregate = "distinct"
column = "nope"

[[metrics]]
name = "b"
table = "feed_actions"
aggregate = "count"
slices = ["platform"]
"#;
        let error = Config::parse(text, "vigil.toml", &SecretEnv::default()).unwrap_err();
        let keys: Vec<String> = error
            .problems()
            .iter()
            .map(|p| match p {
                ConfigError::Invalid { key, .. } => key.clone(),
                other => other.to_string(),
            })
            .collect();
        assert_eq!(keys.len(), 3, "{error}");
        assert!(keys.iter().any(|k| k == "metrics[0].column"), "{keys:?}");
        assert!(
            keys.iter().any(|k| k.starts_with("metrics[1].slices")),
            "{keys:?}"
        );
        assert!(keys.iter().any(|k| k == "simulator.users"), "{keys:?}");
        // One line per problem, each naming the file.
        let message = error.to_string();
        assert_eq!(message.lines().count(), 3, "{message}");
        assert!(
            message
                .lines()
                .all(|line| line.starts_with("vigil.toml: `")),
            "{message}"
        );
    }

    #[test]
    fn shape_errors_in_several_sections_are_all_reported() {
        let text = "[simulator]\nspeed = 3\n\n[[metrics]]\nname = \"a\"\ntable = \"nowhere\"\naggregate = \"count\"\n";
        let error = Config::parse(text, "vigil.toml", &SecretEnv::default()).unwrap_err();
        let message = error.to_string();
        assert_eq!(error.problems().len(), 2, "{message}");
        // The first problem serde meets keeps its line; the others name their key.
        assert!(message.contains("`metrics[0].table`"), "{message}");
        assert!(
            message.contains("nowhere") && message.contains("line 6"),
            "{message}"
        );
        assert!(message.contains("`simulator.speed`"), "{message}");
    }

    #[test]
    fn shipped_example_file_loads() {
        let text = include_str!("../../../vigil.example.toml");
        let config = Config::parse(text, "vigil.example.toml", &SecretEnv::default())
            .expect("example is valid");
        assert_eq!(config.source, Config::default().source);
        let catalogue = config.catalogue().expect("example metrics are valid");
        assert!(catalogue.get("android_views").is_ok());
        assert!(catalogue.get("ads_ctr").is_ok());
        assert!(catalogue.get("feed_views").is_ok(), "built-ins stay");
    }

    #[test]
    fn empty_file_is_the_embedded_default() {
        let config = Config::parse("", "vigil.toml", &SecretEnv::default()).expect("valid");
        assert_eq!(config, Config::default());
    }

    #[test]
    fn full_file_parses() {
        let config = Config::parse(
            r#"
[source]
kind = "clickhouse"
url = "http://localhost:8123"
database = "simulator"
password = "from-file"
feed_actions_table = "feed_actions_v2"

[[metrics]]
name = "android_views"
table = "feed_actions"
aggregate = "count"
filters = { os = "Android", action = "view" }
slices = ["country"]

[[metrics]]
name = "ios_ctr"
title = "iOS CTR"
table = "feed_actions"
aggregate = "ratio"
numerator = { action = "like" }
denominator = { action = "view" }
filters = { os = "iOS" }

[simulator]
users = 500
"#,
            "vigil.toml",
            &SecretEnv {
                clickhouse_password: Some("from-env".into()),
                telegram_token: None,
            },
        )
        .expect("valid");
        let SourceConfig::ClickHouse(clickhouse) = &config.source else {
            panic!("clickhouse expected");
        };
        assert_eq!(
            clickhouse.password.as_ref().map(Secret::expose),
            Some("from-env")
        );
        assert_eq!(clickhouse.tables.feed_actions, "feed_actions_v2");
        assert_eq!(config.metrics.len(), 2);
        assert_eq!(config.simulator.users, 500);
        assert_eq!(config.simulator.days, 14);
        assert_eq!(config.catalogue().expect("valid").metrics().len(), 8);
    }

    #[test]
    fn password_is_redacted_in_debug() {
        let config = Config::parse(
            "[source]\nkind = \"clickhouse\"\nurl = \"http://h:8123\"\npassword = \"hunter2\"\n",
            "vigil.toml",
            &SecretEnv::default(),
        )
        .expect("valid");
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("redacted"));
    }

    #[test]
    fn unknown_keys_are_errors_with_path_and_line() {
        let message = error("[source]\nkind = \"sqlite\"\npaht = \"x\"\n");
        assert!(message.starts_with("vigil.toml: `source"), "{message}");
        assert!(message.contains("unknown field `paht`"), "{message}");
        let message = error("[simulator]\nusers = 10\nspeed = 3\n");
        assert!(message.starts_with("vigil.toml: `simulator"), "{message}");
        assert!(
            message.contains("speed") && message.contains("line 3"),
            "{message}"
        );
    }

    #[test]
    fn bad_slice_names_point_at_the_slice() {
        let metric = |slices: &str| {
            format!(
                "[[metrics]]\nname = \"a\"\ntable = \"feed_actions\"\naggregate = \"count\"\n\
                 [[metrics]]\nname = \"b\"\ntable = \"feed_actions\"\naggregate = \"count\"\n\
                 [[metrics]]\nname = \"c\"\ntable = \"message_actions\"\naggregate = \"count\"\nslices = {slices}\n"
            )
        };
        let message = error(&metric(r#"["os", "os\"; DROP"]"#));
        assert!(
            message.starts_with("vigil.toml: `metrics[2].slices[1]`: "),
            "{message}"
        );
        assert!(message.contains("quote"), "{message}");
        let message = error(&metric(r#"["os\u0007"]"#));
        assert!(
            message.contains("`metrics[2].slices[0]`") && message.contains("control"),
            "{message}"
        );
        let message = error(&metric(r#"["action"]"#));
        assert!(
            message.contains("`metrics[2].slices[0]`")
                && message.contains("cannot be a slice of message_actions"),
            "{message}"
        );
    }

    #[test]
    fn unknown_column_and_wrong_types_name_the_key() {
        let message = error("[[metrics]]\nname = \"x\"\ntable = \"message_actions\"\naggregate = \"count\"\nfilters = { action = \"view\" }\n");
        assert!(
            message.contains("`metrics[0].filters.action`")
                && message.contains("no column `action`"),
            "{message}"
        );
        let message = error(
            "[[metrics]]\nname = \"x\"\ntable = \"feed_actions\"\naggregate = \"distinct\"\n",
        );
        assert!(message.contains("`metrics[0].column`"), "{message}");
        let message =
            error("[[metrics]]\nname = \"x\"\ntable = \"feeds\"\naggregate = \"count\"\n");
        assert!(
            message.contains("`metrics[0].table`") && message.contains("feeds"),
            "{message}"
        );
        let message = error("[simulator]\nusers = \"many\"\n");
        assert!(message.contains("`simulator.users`"), "{message}");
        let message = error(
            "[[metrics]]\nname = \"feed_views\"\ntable = \"feed_actions\"\naggregate = \"count\"\n",
        );
        assert!(
            message.contains("`metrics[0].name`") && message.contains("twice"),
            "{message}"
        );
    }

    #[test]
    fn alerting_sections_are_validated_key_by_key() {
        let text = "[telegram]\ntoken = \"x\"\n\n[alerts]\nutc_offset = \"Mars\"\nrepeat_after_minutes = 1\n\n\
                    [[links]]\nmetric = \"nope\"\ntitle = \"BI\"\nurl = \"ftp://x\"\n\n\
                    [detectors]\ndefault = { detector = \"iqr\", n = 1 }\nmetrics = { feed_vews = { detector = \"drop\" } }\n";
        let error = Config::parse(text, "vigil.toml", &SecretEnv::default()).unwrap_err();
        let message = error.to_string();
        for key in [
            "`telegram.token`",
            "`telegram.chat`",
            "`alerts.utc_offset`",
            "`alerts.repeat_after_minutes`",
            "`links[0].metric`",
            "`links[0].url`",
            "`detectors.default`",
            "`detectors.metrics.feed_vews`",
        ] {
            assert!(message.contains(key), "{key} in {message}");
        }
        assert!(
            !message.contains("\"x\""),
            "a token is never echoed: {message}"
        );
    }

    #[test]
    fn unknown_detector_keys_are_named() {
        let text = "[detectors]\n\
            default = { detector = \"iqr\", a = 4, n = 5, zz = 3 }\n\
            metrics = { feed_ctr = { detector = \"drop\", z = 3 }, feed_views = { members = [{ detector = \"seasonal\", perod = 96 }] } }\n";
        let message = Config::parse(text, "vigil.toml", &SecretEnv::default())
            .unwrap_err()
            .to_string();
        for expected in [
            "vigil.toml: `detectors.default`: unknown field `zz`",
            "vigil.toml: `detectors.metrics.feed_ctr`: unknown field `z`",
            "vigil.toml: `detectors.metrics.feed_views`: unknown field `perod`",
        ] {
            assert!(message.contains(expected), "{expected} in {message}");
        }
    }

    #[test]
    fn detector_periods_take_durations_like_the_cli() {
        use detect::DetectorSpec;
        let period = |entry: &str| {
            let text = format!("[detectors]\ndefault = {entry}\n");
            let config = Config::parse(&text, "vigil.toml", &SecretEnv::default())
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(match &config.alerting.detectors.default.members[0] {
                DetectorSpec::Seasonal(p) => p.period,
                DetectorSpec::SeasonalIqr(p) => p.period,
                other => panic!("unexpected {other:?}"),
            })
        };
        assert_eq!(
            period("{ detector = \"seasonal\", period = \"1d\" }"),
            Ok(96)
        );
        assert_eq!(
            period("{ detector = \"seasonal_iqr\", period = \"1w\" }"),
            Ok(672)
        );
        assert_eq!(period("{ detector = \"seasonal\", period = 48 }"), Ok(48));
        assert_eq!(
            period("{ members = [{ detector = \"seasonal\", period = \"2d\" }] }"),
            Ok(192)
        );
        let bad = period("{ detector = \"seasonal\", period = \"10m\" }").unwrap_err();
        assert!(
            bad.contains("`detectors.default`") && bad.contains("whole number"),
            "{bad}"
        );
        let auto = period("{ detector = \"seasonal\", period = \"auto\" }").unwrap_err();
        assert!(
            auto.contains("`detectors.default`") && auto.contains("\"1d\""),
            "{auto}"
        );
    }

    #[test]
    fn a_bad_token_from_the_environment_blames_the_variable() {
        let env = SecretEnv {
            clickhouse_password: None,
            telegram_token: Some("999:ENVTOKEN".into()),
        };
        let text = "[telegram]\ntoken = \"123456789:AAHk-abcdefghijklmnopqrstuv\"\nchat = -100\n";
        let message = Config::parse(text, "tg.toml", &env)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("environment variable VIGIL_TELEGRAM_TOKEN: not a bot token"),
            "{message}"
        );
        assert!(!message.contains("tg.toml"), "the file is fine: {message}");
        assert!(!message.contains("ENVTOKEN"), "never echoed: {message}");

        // A bad token in the file is still the file's problem.
        let file_only = "[telegram]\ntoken = \"hunter2\"\nchat = -100\n";
        let message = Config::parse(file_only, "tg.toml", &SecretEnv::default())
            .unwrap_err()
            .to_string();
        assert!(message.contains("tg.toml: `telegram.token`"), "{message}");
    }

    #[test]
    fn a_missing_file_names_the_os_error_once() {
        let error = Config::load(Path::new("/nonexistent/vigil.toml")).unwrap_err();
        let chain = format!("{:#}", anyhow::Error::new(error));
        assert!(chain.contains("/nonexistent/vigil.toml"), "{chain}");
        assert_eq!(chain.matches("(os error 2)").count(), 1, "{chain}");
    }

    #[test]
    fn several_detectors_combine_by_a_rule() {
        let text = "[detectors]\n\
            default = { combine = \"majority\", members = [{ detector = \"seasonal\" }, { detector = \"drop\" }, { detector = \"iqr\", a = 3 }] }\n\
            metrics = { feed_ctr = { members = [{ detector = \"seasonal\" }] } }\n";
        let config = Config::parse(text, "vigil.toml", &SecretEnv::default()).expect("valid");
        let detectors = &config.alerting.detectors;
        assert_eq!(
            detectors.for_metric("feed_views").name(),
            "majority(seasonal+drop+iqr)"
        );
        assert_eq!(detectors.for_metric("feed_views").members.len(), 3);
        assert_eq!(detectors.for_metric("feed_ctr").name(), "seasonal");

        let bad = "[detectors]\n\
            default = { combine = \"some\", members = [{ detector = \"drop\" }] }\n\
            metrics = { feed_views = { combine = \"any\", members = [{ detector = \"iqr\", n = 1 }] }, feed_likes = { combine = \"all\", members = [] }, feed_ctr = { members = [{ adetector = \"seasonal\" }] } }\n";
        let message = Config::parse(bad, "vigil.toml", &SecretEnv::default())
            .unwrap_err()
            .to_string();
        for expected in [
            "`detectors.default`",
            "\"some\"",
            "`detectors.metrics.feed_views`",
            "`detectors.metrics.feed_likes`",
            "`detectors.metrics.feed_ctr`",
        ] {
            assert!(message.contains(expected), "{expected} in {message}");
        }
        assert!(
            message.lines().all(|line| line.starts_with("vigil.toml")),
            "one line per problem: {message}"
        );
    }

    #[test]
    fn the_token_from_the_environment_wins_and_enables_telegram() {
        let env = SecretEnv {
            clickhouse_password: None,
            telegram_token: Some("123456789:AAF-secret_token_value_xyz123".into()),
        };
        let text = "[telegram]\nchat = -100\n\n[detectors]\nmetrics = { feed_ctr = { detector = \"seasonal\" } }\n";
        let config = Config::parse(text, "vigil.toml", &env).expect("valid");
        let telegram = &config.alerting.telegram;
        assert!(telegram.enabled());
        assert_eq!(telegram.chat_for("feed_views"), Some(-100));
        assert_eq!(
            config.alerting.detectors.for_metric("feed_ctr").name(),
            "seasonal"
        );
        assert_eq!(
            config.alerting.detectors.for_metric("feed_views").name(),
            "iqr"
        );
        assert!(
            !format!("{config:?}").contains("secret_token"),
            "redacted in Debug"
        );
    }

    #[test]
    fn planned_silences_are_read_and_checked() {
        let text = "[[silences]]\nmetric = \"messages_sent\"\nslice = \"os=Android\"\nuntil = \"2027-01-01 12:00:00\"\nreason = \"New Year\"\n\n\
                    [[silences]]\nmetric = \"*\"\nfrom = \"2027-01-02\"\nuntil = \"2027-01-03\"\n";
        let config = Config::parse(text, "vigil.toml", &SecretEnv::default()).expect("valid");
        let silences = &config.alerting.silences;
        assert_eq!(silences.len(), 2);
        assert_eq!(silences[0].until, 1_798_804_800);
        assert_eq!(silences[0].from, None);
        assert_eq!(silences[1].scope, crate::alerts::SilenceScope::All);
        let bad = "[[silences]]\nmetric = \"nope\"\nslice = \"os\"\nuntil = \"soon\"\n";
        let message = Config::parse(bad, "vigil.toml", &SecretEnv::default())
            .unwrap_err()
            .to_string();
        for key in [
            "`silences[0].metric`",
            "`silences[0].slice`",
            "`silences[0].until`",
        ] {
            assert!(message.contains(key), "{key} in {message}");
        }
    }

    #[test]
    fn missing_file_is_named() {
        let message = Config::load(Path::new("/nonexistent/vigil.toml"))
            .unwrap_err()
            .to_string();
        assert!(message.contains("/nonexistent/vigil.toml"), "{message}");
    }

    #[test]
    fn a_relative_store_path_is_relative_to_the_config_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("vigil.toml");
        std::fs::write(
            &file,
            "[source]\nkind = \"sqlite\"\npath = \"./store/v.sqlite\"\n",
        )
        .expect("written");
        let config = Config::load(&file).expect("valid");
        assert_eq!(
            config.source,
            SourceConfig::Sqlite(SqliteConfig {
                path: dir.path().join("./store/v.sqlite")
            })
        );
        // Absolute paths and the built-in default are left as they are.
        std::fs::write(
            &file,
            "[source]\nkind = \"sqlite\"\npath = \"/srv/v.sqlite\"\n",
        )
        .expect("written");
        let config = Config::load(&file).expect("valid");
        assert_eq!(
            config.source,
            SourceConfig::Sqlite(SqliteConfig {
                path: PathBuf::from("/srv/v.sqlite")
            })
        );
        std::fs::write(&file, "").expect("written");
        assert_eq!(
            Config::load(&file).expect("valid").source,
            SourceConfig::Sqlite(SqliteConfig::default())
        );
    }
}
