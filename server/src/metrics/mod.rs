//! Metrics: the shared vocabulary ([`model`]), the built-in catalogue
//! ([`catalogue`]), the known schema of the event tables (here) and the SQL
//! builder ([`sql`]) that turns one definition into a query for either dialect.

pub mod catalogue;
pub mod dimensions;
pub mod model;
pub mod sql;

use model::{Aggregate, EventTable, MetricDef, TableNames};

/// Why a metric definition, slice or range cannot be turned into a query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricError {
    #[error("metric `{metric}`: table {table} has no column `{column}` (known columns: {known})")]
    UnknownColumn {
        metric: String,
        table: &'static str,
        column: String,
        known: String,
    },
    #[error(
        "metric `{metric}`: `{dimension}` cannot be a slice of {table} (slice dimensions: {known})"
    )]
    NotASlice {
        metric: String,
        table: &'static str,
        dimension: String,
        known: String,
    },
    #[error("metric `{metric}`: slice dimension `{dimension}`: {reason}")]
    BadDimension {
        metric: String,
        dimension: String,
        reason: String,
    },
    #[error("{what} `{value}` is not a valid identifier: {reason}")]
    BadIdentifier {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("empty time range: from {from} is not before to {to}")]
    EmptyRange { from: i64, to: i64 },
    #[error("unknown metric `{name}` (known metrics: {known})")]
    UnknownMetric { name: String, known: String },
    #[error("metric `{name}` is defined twice")]
    Duplicate { name: String },
    #[error("metric `{metric}` depends on unknown metric `{dependency}`")]
    UnknownDependency { metric: String, dependency: String },
}

/// Physical type of a column, as far as the SQL builder cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// `DateTime` in ClickHouse, INTEGER unix seconds in SQLite.
    Time,
    /// Unsigned integer (ids, age, exp_group, gender).
    UInt,
    /// Text (os, country, action, ...).
    Text,
}

/// One column of an event table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: ColumnKind,
    /// Low-cardinality attribute a metric can be split by (os, country, ...);
    /// ids and time are not.
    pub sliceable: bool,
}

const fn col(name: &'static str, kind: ColumnKind, sliceable: bool) -> Column {
    Column {
        name,
        kind,
        sliceable,
    }
}

use ColumnKind::{Text, Time, UInt};

const FEED_COLUMNS: &[Column] = &[
    col("user_id", UInt, false),
    col("post_id", UInt, false),
    col("action", Text, true),
    col("time", Time, false),
    col("gender", UInt, true),
    col("age", UInt, true),
    col("country", Text, true),
    col("city", Text, true),
    col("os", Text, true),
    col("source", Text, true),
    col("exp_group", UInt, true),
];

const MESSAGE_COLUMNS: &[Column] = &[
    col("user_id", UInt, false),
    col("receiver_id", UInt, false),
    col("time", Time, false),
    col("source", Text, true),
    col("exp_group", UInt, true),
    col("gender", UInt, true),
    col("age", UInt, true),
    col("country", Text, true),
    col("city", Text, true),
    col("os", Text, true),
];

/// The whitelist of columns per table: nothing else ever reaches SQL.
pub fn columns(table: EventTable) -> &'static [Column] {
    match table {
        EventTable::FeedActions => FEED_COLUMNS,
        EventTable::MessageActions => MESSAGE_COLUMNS,
    }
}

/// Logical name of a table (`feed_actions`), used in messages.
pub fn table_label(table: EventTable) -> &'static str {
    match table {
        EventTable::FeedActions => "feed_actions",
        EventTable::MessageActions => "message_actions",
    }
}

/// Physical name of a table in a store.
pub fn physical_table(table: EventTable, names: &TableNames) -> &str {
    match table {
        EventTable::FeedActions => &names.feed_actions,
        EventTable::MessageActions => &names.message_actions,
    }
}

/// Look a column up in the whitelist.
pub fn column(metric: &str, table: EventTable, name: &str) -> Result<&'static Column, MetricError> {
    columns(table)
        .iter()
        .find(|column| column.name == name)
        .ok_or_else(|| MetricError::UnknownColumn {
            metric: metric.to_string(),
            table: table_label(table),
            column: printable(name),
            known: columns(table)
                .iter()
                .map(|column| column.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Look a slice dimension up in the whitelist.
pub fn slice_column(
    metric: &str,
    table: EventTable,
    dimension: &str,
) -> Result<&'static Column, MetricError> {
    check_identifier("slice dimension", dimension)?;
    columns(table)
        .iter()
        .find(|column| column.name == dimension && column.sliceable)
        .ok_or_else(|| MetricError::NotASlice {
            metric: metric.to_string(),
            table: table_label(table),
            dimension: dimension.to_string(),
            known: slice_dimensions(table).join(", "),
        })
}

/// Dimensions a metric on `table` can be split by.
pub fn slice_dimensions(table: EventTable) -> Vec<&'static str> {
    columns(table)
        .iter()
        .filter(|column| column.sliceable)
        .map(|column| column.name)
        .collect()
}

/// Accept `[A-Za-z_][A-Za-z0-9_]*` up to 64 characters: plain SQL identifiers that
/// need no escaping in either dialect (they are still quoted when emitted).
pub fn check_identifier(what: &'static str, value: &str) -> Result<(), MetricError> {
    let bad = |reason| {
        Err(MetricError::BadIdentifier {
            what,
            value: printable(value),
            reason,
        })
    };
    if value.is_empty() {
        return bad("it is empty");
    }
    if value.chars().any(|c| c == '"' || c == '\'' || c == '`') {
        return bad("it contains a quote");
    }
    if value.chars().any(char::is_control) {
        return bad("it contains a control character");
    }
    if value.len() > 64 {
        return bad("it is longer than 64 characters");
    }
    let mut chars = value.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return bad("use only letters, digits and `_`, not starting with a digit");
    }
    Ok(())
}

/// Escape control characters so an error message cannot break a terminal or a log line.
fn printable(value: &str) -> String {
    value.escape_debug().to_string()
}

/// Check a definition against the schema: name, columns, filters, slices.
pub fn validate(def: &MetricDef) -> Result<(), MetricError> {
    check_identifier("metric name", &def.name)?;
    let table = def.table;
    for filter in &def.filters {
        column(&def.name, table, &filter.column)?;
    }
    match &def.aggregate {
        Aggregate::Count => {}
        Aggregate::Distinct { column: name } => {
            column(&def.name, table, name)?;
        }
        Aggregate::Ratio {
            numerator,
            denominator,
        } => {
            for filter in numerator.iter().chain(denominator) {
                column(&def.name, table, &filter.column)?;
            }
        }
    }
    for dimension in &def.slices {
        dimensions::resolve(def, dimension)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_with_quotes_or_controls_are_rejected() {
        for bad in [
            "os\"", "o's", "os`", "os\n", "", "1os", "os name", "os;drop",
        ] {
            assert!(check_identifier("slice dimension", bad).is_err(), "{bad:?}");
        }
        assert!(check_identifier("slice dimension", "exp_group").is_ok());
    }

    #[test]
    fn error_escapes_control_characters() {
        let error = check_identifier("slice dimension", "os\n").unwrap_err();
        assert!(error.to_string().contains("os\\n"), "{error}");
    }
}
