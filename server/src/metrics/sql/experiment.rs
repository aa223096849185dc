//! One metric's per-user sums by `exp_group`, for the experiment tests
//! (`detect::experiments::GroupSummary`, docs/experiments.md).
//!
//! Result shape of [`group_sums`] (both dialects, in this order): `exp_group` (UInt8 /
//! INTEGER), `users` (UInt64 / INTEGER), `sum_x`, `sum_y`, `sum_xx`,
//! `sum_yy`, `sum_xy` (Float64 / REAL), ordered by `exp_group`.
//!
//! Per user (and group), `x` counts the metric's numerator rows (a count
//! metric's rows) and `y` its denominator rows (0 for a count metric: its
//! denominator is the user, see `GroupSummary::per_user`). The users are every
//! user *exposed* in the range, with an event in either table, so a user who
//! saw the feed and sent no message counts with `x = 0` for messages sent.
//! A user logged with two groups counts in both (the sample ratio test is
//! what notices such a leak). Only `UNION ALL`, subqueries, `count`, `sum`
//! and `toFloat64` in ClickHouse: nothing newer than 18.16 offers.

use super::{as_text, quote, Dialect, SqlQuery};
use crate::metrics::model::{Aggregate, EventTable, Filter, MetricDef, TableNames, TimeRange};
use crate::metrics::{column, physical_table, validate, MetricError};

/// The group sums of `metric` over `[range.from, range.to)` (not aligned to
/// buckets: an experiment starts when it starts) for the users of `groups`.
pub fn group_sums(
    dialect: Dialect,
    metric: &MetricDef,
    tables: &TableNames,
    range: TimeRange,
    groups: &[u8],
) -> Result<SqlQuery, MetricError> {
    let (per_user, params) = per_user(dialect, metric, tables, range, groups)?;
    let (count, cast_group) = match dialect {
        Dialect::Sqlite => ("COUNT(*)", "grp".to_string()),
        Dialect::ClickHouse => ("count()", "toUInt8(grp)".to_string()),
    };
    let sql = format!(
        "SELECT {cast_group} AS exp_group, {count} AS users, sum(x) AS sum_x, sum(y) AS sum_y, \
         sum(x * x) AS sum_xx, sum(y * y) AS sum_yy, sum(x * y) AS sum_xy \
         FROM ({per_user}) \
         GROUP BY grp ORDER BY grp"
    );
    Ok(SqlQuery { sql, params })
}

/// The per-user sums [`group_sums`] adds up, one row per (user, group)
/// exposed in `[range.from, range.to)`: `user_id` (UInt64 / INTEGER),
/// `exp_group` (UInt8 / INTEGER), `x`, `y` (Float64 / REAL), in no order.
/// Same users and values as `group_sums` reads, so the sums of several
/// adjacent windows, added per (user, group), are the sums of their union
/// (`crate::sources::experiment_cache`).
pub fn user_sums(
    dialect: Dialect,
    metric: &MetricDef,
    tables: &TableNames,
    range: TimeRange,
    groups: &[u8],
) -> Result<SqlQuery, MetricError> {
    let (per_user, params) = per_user(dialect, metric, tables, range, groups)?;
    let (user, group) = match dialect {
        Dialect::Sqlite => ("uid", "grp"),
        Dialect::ClickHouse => ("toUInt64(uid)", "toUInt8(grp)"),
    };
    let sql = format!("SELECT {user} AS user_id, {group} AS exp_group, x, y FROM ({per_user})");
    Ok(SqlQuery { sql, params })
}

/// `SELECT uid, grp, x, y ... GROUP BY uid, grp`: each exposed (user,
/// group)'s numerator and denominator rows, and its placeholders' values.
fn per_user(
    dialect: Dialect,
    metric: &MetricDef,
    tables: &TableNames,
    range: TimeRange,
    groups: &[u8],
) -> Result<(String, Vec<String>), MetricError> {
    validate(metric)?;
    if range.from >= range.to {
        return Err(MetricError::EmptyRange {
            from: range.from,
            to: range.to,
        });
    }
    let mut params = Vec::new();
    let (numerator, denominator): (Vec<&Filter>, Vec<&Filter>) = match &metric.aggregate {
        Aggregate::Ratio {
            numerator,
            denominator,
        } => (
            metric.filters.iter().chain(numerator).collect(),
            metric.filters.iter().chain(denominator).collect(),
        ),
        // A distinct count's per-user value is 1: what the sample ratio
        // test covers; its rows are counted like a count's.
        Aggregate::Count | Aggregate::Distinct { .. } => (metric.filters.iter().collect(), vec![]),
    };
    let x = indicator(dialect, metric, &numerator, &mut params)?;
    let y = match &metric.aggregate {
        Aggregate::Ratio { .. } => indicator(dialect, metric, &denominator, &mut params)?,
        _ => zero(dialect),
    };
    let time = quote(dialect, "time");
    let (from, to) = match dialect {
        Dialect::Sqlite => (range.from.to_string(), range.to.to_string()),
        Dialect::ClickHouse => (
            format!("toDateTime({})", range.from),
            format!("toDateTime({})", range.to),
        ),
    };
    let group_list = groups
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let (user, group) = (quote(dialect, "user_id"), quote(dialect, "exp_group"));
    let rows = |table: EventTable, x: &str, y: &str| -> Result<String, MetricError> {
        let name = physical_table(table, tables);
        crate::metrics::check_identifier("table name", name)?;
        Ok(format!(
            "SELECT {user} AS uid, {group} AS grp, {x} AS ux, {y} AS uy FROM {} \
             WHERE {time} >= {from} AND {time} < {to} AND {group} IN ({group_list})",
            quote(dialect, name)
        ))
    };
    let other = match metric.table {
        EventTable::FeedActions => EventTable::MessageActions,
        EventTable::MessageActions => EventTable::FeedActions,
    };
    let measured = rows(metric.table, &x, &y)?;
    let exposed = rows(other, &zero(dialect), &zero(dialect))?;
    let sql = format!(
        "SELECT uid, grp, sum(ux) AS x, sum(uy) AS y \
         FROM ({measured} UNION ALL {exposed}) GROUP BY uid, grp"
    );
    Ok((sql, params))
}

/// 1.0 for a row matching every filter, else 0.0 (1.0 for no filters).
fn indicator(
    dialect: Dialect,
    metric: &MetricDef,
    filters: &[&Filter],
    params: &mut Vec<String>,
) -> Result<String, MetricError> {
    let mut conditions = Vec::new();
    for filter in filters {
        let column = column(&metric.name, metric.table, &filter.column)?;
        conditions.push(format!("{} = ?", as_text(dialect, column)));
        params.push(filter.value.clone());
    }
    let condition = if conditions.is_empty() {
        "1 = 1".to_string()
    } else {
        conditions.join(" AND ")
    };
    Ok(match dialect {
        Dialect::Sqlite => format!("(CASE WHEN {condition} THEN 1.0 ELSE 0.0 END)"),
        Dialect::ClickHouse => format!("toFloat64({condition})"),
    })
}

fn zero(dialect: Dialect) -> String {
    match dialect {
        Dialect::Sqlite => "0.0".into(),
        Dialect::ClickHouse => "toFloat64(0)".into(),
    }
}
