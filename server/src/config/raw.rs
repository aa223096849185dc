//! The config file as written: serde's shapes of each section, and the
//! reading that names the key path, line and column of every problem.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::{alerting, ConfigError};
use crate::metrics;
use crate::metrics::model::{Aggregate, EventTable, Filter, MetricDef};

/// Deserialize with the key path of the first error, plus line and column.
pub(super) fn deserialize(text: &str, file: &str) -> Result<RawConfig, ConfigError> {
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
pub(super) fn more_shape_problems(text: &str, file: &str, first: &ConfigError) -> Vec<ConfigError> {
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
pub(super) type ShapeProblem = (String, String);

/// Whether `value` deserializes as `T`.
pub(super) fn shape<T: serde::de::DeserializeOwned>(
    value: &toml::Value,
) -> Result<(), ShapeProblem> {
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
pub(super) struct RawConfig {
    pub(super) source: Option<RawSource>,
    #[serde(default)]
    pub(super) metrics: Vec<RawMetric>,
    pub(super) simulator: Option<RawSimulator>,
    pub(super) schedule: Option<alerting::RawSchedule>,
    pub(super) alerts: Option<alerting::RawAlerts>,
    pub(super) telegram: Option<alerting::RawTelegram>,
    #[serde(default)]
    pub(super) links: Vec<alerting::RawLink>,
    pub(super) detectors: Option<alerting::RawDetectors>,
    #[serde(default)]
    pub(super) silences: Vec<alerting::RawSilence>,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub(super) enum RawSource {
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
pub(super) struct RawSimulator {
    pub(super) users: Option<u32>,
    pub(super) days: Option<u32>,
    pub(super) seed: Option<u64>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawAggregate {
    Count,
    Distinct,
    Ratio,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetric {
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
    pub(super) fn into_def(self) -> Result<MetricDef, (String, String)> {
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
