//! The config file as written: serde's shapes of each section (`read`
//! deserializes them and reports every value that does not fit).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::alerting;
use crate::metrics;
use crate::metrics::model::{Aggregate, DimensionDef, EventTable, Filter, MetricDef};

/// The sections of a file, as far as they could be read (see `read`). An
/// array entry too broken to read is `None`, so the others keep their index.
#[derive(Default)]
pub(super) struct RawConfig {
    pub(super) source: Option<RawSource>,
    pub(super) metrics: Vec<Option<RawMetric>>,
    pub(super) dimensions: Vec<Option<RawDimension>>,
    pub(super) simulator: Option<RawSimulator>,
    pub(super) schedule: Option<alerting::RawSchedule>,
    pub(super) alerts: Option<alerting::RawAlerts>,
    pub(super) telegram: Option<alerting::RawTelegram>,
    pub(super) links: Vec<Option<super::links::RawLink>>,
    pub(super) detectors: Option<alerting::RawDetectors>,
    pub(super) silences: Vec<Option<alerting::RawSilence>>,
    pub(super) heartbeat: Option<super::serving::RawHeartbeat>,
    pub(super) web: Option<super::serving::RawWeb>,
    pub(super) experiments: Vec<Option<super::experiments::RawExperiment>>,
    pub(super) group_watch: Option<super::group_watch::RawGroupWatch>,
    pub(super) state: Option<super::state::RawState>,
    pub(super) report: Option<super::report::RawReport>,
}

/// `[source]`: one flat table, so that every key's problem names the key and
/// its line (an internally tagged enum loses both); which keys go with which
/// `kind` is checked in `source`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    pub(super) kind: SourceKind,
    pub(super) path: Option<PathBuf>,
    pub(super) url: Option<String>,
    pub(super) database: Option<String>,
    pub(super) user: Option<String>,
    pub(super) password: Option<String>,
    pub(super) feed_actions_table: Option<String>,
    pub(super) message_actions_table: Option<String>,
    pub(super) ca_file: Option<PathBuf>,
    pub(super) client_cert_file: Option<PathBuf>,
    pub(super) client_key_file: Option<PathBuf>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum SourceKind {
    Sqlite,
    Clickhouse,
}

/// `[[dimensions]]`: a slice dimension by name, a column cut into bands or
/// with its own cap (see [`crate::metrics::dimensions`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDimension {
    pub(super) name: String,
    /// Default: the column of the dimension's name.
    pub(super) column: Option<String>,
    #[serde(default)]
    pub(super) bands: Vec<u32>,
    pub(super) top: Option<usize>,
}

impl RawDimension {
    pub(super) fn into_def(self) -> DimensionDef {
        DimensionDef {
            column: self.column.unwrap_or_else(|| self.name.clone()),
            name: self.name,
            bands: self.bands,
            top: self.top,
        }
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
    /// `dimensions`: the configured ones, of which it keeps those it slices by.
    pub(super) fn into_def(
        self,
        dimensions: &[DimensionDef],
    ) -> Result<MetricDef, (String, String)> {
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
        let mut def = MetricDef {
            title: self.title.unwrap_or_else(|| name.clone()),
            name,
            table,
            aggregate,
            filters: row_filters,
            slices: Vec::new(),
            depends_on: self.depends_on,
            dimensions: (dimensions.iter())
                .filter(|d| self.slices.contains(&d.name))
                .cloned()
                .collect(),
        };
        def.slices = self.slices;
        for (index, dimension) in def.slices.iter().enumerate() {
            metrics::dimensions::resolve(&def, dimension)
                .map_err(|error| (format!("slices[{index}]"), error.to_string()))?;
        }
        Ok(def)
    }
}
