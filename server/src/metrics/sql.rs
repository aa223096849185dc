//! One metric definition -> one SQL query, for SQLite or ClickHouse.
//!
//! Result shape (both dialects, in this column order):
//! - without `group_by_dimension`: `bucket` (unix seconds: UInt32 in ClickHouse,
//!   INTEGER in SQLite), `value` (Float64 / REAL), ordered by `bucket`;
//! - with `group_by_dimension`: `slice_value` (String / TEXT), `bucket`, `value`,
//!   ordered by `slice_value, bucket`.
//!
//! Safety: table, column and dimension names only come from the schema whitelist
//! in [`crate::metrics`] and are quoted; every user-supplied value (filter values,
//! slice values) is a `?` placeholder whose value is in [`SqlQuery::params`], in
//! order. The only numbers spliced into the text are the bucket-aligned time
//! bounds, which are `i64`s computed here. The SQL uses nothing newer than
//! ClickHouse 18.16 offers (`toStartOfFifteenMinutes`, `uniqExact`, `countIf`,
//! `toUInt32`, `toFloat64`, `toString`, `toDateTime`).
//!
//! Buckets without rows are absent. A `Ratio` bucket whose denominator is zero is
//! absent too (`HAVING`), so a value is never NaN or infinite. Filling zeros is
//! the caller's job (see `sources::fill_interior_gaps`).

pub mod experiment;

use super::dimensions::{self, Dimension};
use super::model::{Aggregate, Filter, MetricDef, SliceKey, TableNames, TimeRange, BUCKET_SECONDS};
use super::{column, physical_table, validate, Column, ColumnKind, MetricError};

/// The two SQL dialects vigil speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    ClickHouse,
}

/// SQL text with `?` placeholders and the values to bind to them, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlQuery {
    pub sql: String,
    pub params: Vec<String>,
}

/// Align a range outward to whole buckets: `[floor(from), ceil(to))`.
pub fn align_range(range: TimeRange) -> Result<TimeRange, MetricError> {
    if range.from >= range.to {
        return Err(MetricError::EmptyRange {
            from: range.from,
            to: range.to,
        });
    }
    // Saturating: a range ending near i64::MAX rounds down to the last whole
    // bucket instead of overflowing (callers bound their times; this is a guard).
    let from = range
        .from
        .div_euclid(BUCKET_SECONDS)
        .saturating_mul(BUCKET_SECONDS);
    let to = range
        .to
        .saturating_add(BUCKET_SECONDS - 1)
        .div_euclid(BUCKET_SECONDS)
        * BUCKET_SECONDS;
    Ok(TimeRange { from, to })
}

/// Build the query computing `metric` per bucket over `range`, optionally
/// restricted to `slice` and/or grouped by `group_by_dimension`.
pub fn build(
    dialect: Dialect,
    metric: &MetricDef,
    tables: &TableNames,
    range: TimeRange,
    slice: Option<&SliceKey>,
    group_by_dimension: Option<&str>,
) -> Result<SqlQuery, MetricError> {
    validate(metric)?;
    let group = group_by_dimension.map(|dimension| Group {
        dimension,
        kept: None,
    });
    let bucket = bucket_expression(dialect);
    build_with_bucket(
        dialect,
        metric,
        tables,
        align_range(range)?,
        slice,
        group,
        &bucket,
    )
}

/// [`build`] grouped by `dimension` and capped to its `kept` values (see
/// [`Cap`]): the other values are summed into one [`dimensions::OTHER`]
/// series per bucket for a count, and left out otherwise.
pub fn build_capped(
    dialect: Dialect,
    metric: &MetricDef,
    tables: &TableNames,
    range: TimeRange,
    dimension: &str,
    kept: &[String],
) -> Result<SqlQuery, MetricError> {
    validate(metric)?;
    let group = Group {
        dimension,
        kept: Some(kept),
    };
    let bucket = bucket_expression(dialect);
    build_with_bucket(
        dialect,
        metric,
        tables,
        align_range(range)?,
        None,
        Some(group),
        &bucket,
    )
}

/// A row's 15-minute bucket start, in unix seconds.
fn bucket_expression(dialect: Dialect) -> String {
    let time = quote(dialect, "time");
    match dialect {
        Dialect::Sqlite => format!("({time} / {BUCKET_SECONDS}) * {BUCKET_SECONDS}"),
        Dialect::ClickHouse => format!("toUInt32(toStartOfFifteenMinutes({time}))"),
    }
}

/// The values of a grouped query's dimension watched one by one, and what
/// becomes of the others.
///
/// Why in SQL: a dimension like city has thousands of values, and a check
/// watches its largest few (`top`, [`dimensions::DEFAULT_TOP`]); reading
/// every value's buckets only to drop most of them costs the reader its
/// memory (the embedded store keeps what it reads in its bucket cache).
/// `(other)` is the bucket-wise sum of the values left out, which is exact
/// for counts only: a distinct count of the rest is not the sum of their
/// distinct counts (a user in two small towns would count twice), and a
/// ratio of the rest is not a sum of ratios. For those, the values past the
/// cap are left out rather than shown wrong.
#[derive(Clone, Copy, Debug)]
pub struct Cap<'a> {
    pub kept: &'a [String],
    /// Whether the others are summed into [`dimensions::OTHER`].
    pub other: bool,
}

impl<'a> Cap<'a> {
    pub fn new(aggregate: &Aggregate, kept: &'a [String]) -> Self {
        Self {
            kept,
            other: matches!(aggregate, Aggregate::Count),
        }
    }

    /// The slice column of a grouped query whose dimension's value is
    /// `value` (bound with `value_params`), and the condition its WHERE
    /// needs, each with its parameters in text order.
    pub fn slice_column(
        &self,
        dialect: Dialect,
        value: &str,
        value_params: &[String],
    ) -> (SqlQuery, Option<SqlQuery>) {
        let list = vec!["?"; self.kept.len()].join(", ");
        let mut inside = value_params.to_vec();
        inside.extend(self.kept.iter().cloned());
        let condition = SqlQuery {
            sql: format!("{value} IN ({list})"),
            params: inside,
        };
        if !self.other {
            let column = SqlQuery {
                sql: value.to_string(),
                params: value_params.to_vec(),
            };
            return (column, Some(condition));
        }
        let sql = match dialect {
            Dialect::Sqlite => format!("CASE WHEN {} THEN {value} ELSE ? END", condition.sql),
            Dialect::ClickHouse => format!("if({}, {value}, ?)", condition.sql),
        };
        let mut params = condition.params;
        params.extend(value_params.iter().cloned());
        params.push(dimensions::OTHER.to_string());
        (SqlQuery { sql, params }, None)
    }
}

/// The `top` values of a query grouped by a dimension (`slice_value`,
/// `bucket`, `value`) by volume, the sum of their buckets' values over its
/// range, largest first, equal volumes by value: what a check watches one
/// by one. Valid in SQLite and in ClickHouse from 18.16 (a subquery in
/// FROM, no window function).
pub fn ranking(grouped: SqlQuery, top: usize) -> SqlQuery {
    SqlQuery {
        sql: format!(
            "SELECT slice_value FROM ({}) GROUP BY slice_value \
             ORDER BY sum(value) DESC, slice_value LIMIT {top}",
            grouped.sql
        ),
        params: grouped.params,
    }
}

/// A grouping of a query: by `dimension`, capped to `kept` when given.
#[derive(Clone, Copy)]
struct Group<'a> {
    dimension: &'a str,
    kept: Option<&'a [String]>,
}

/// Length of a day, in seconds: the bucket of [`build_daily`].
pub const DAY_SECONDS: i64 = 24 * 3600;

/// Build the query computing `metric` per day over `range`, whose `from` is
/// a (local) midnight: buckets are the days' starts, `from + k * 86400`.
/// Each day is one aggregate over the whole day, so a distinct count is the
/// day's distinct users, not a sum of 15-minute counts. Same result shape
/// as [`build`] without grouping.
pub fn build_daily(
    dialect: Dialect,
    metric: &MetricDef,
    tables: &TableNames,
    range: TimeRange,
) -> Result<SqlQuery, MetricError> {
    validate(metric)?;
    if range.from >= range.to || range.from < 0 {
        return Err(MetricError::EmptyRange {
            from: range.from,
            to: range.to,
        });
    }
    let (from, time) = (range.from, quote(dialect, "time"));
    // `time >= from` holds for every row (WHERE), so the division never sees
    // a negative number; ClickHouse's result is cast back to the UInt32 that
    // `build`'s buckets are.
    let bucket = match dialect {
        Dialect::Sqlite => format!("{from} + (({time} - {from}) / {DAY_SECONDS}) * {DAY_SECONDS}"),
        Dialect::ClickHouse => format!(
            "toUInt32({from} + intDiv(toInt64(toUInt32({time})) - {from}, {DAY_SECONDS}) * {DAY_SECONDS})"
        ),
    };
    build_with_bucket(dialect, metric, tables, range, None, None, &bucket)
}

/// The query of [`build`] with `bucket` as the grouping expression over
/// `range`, taken as it is.
fn build_with_bucket(
    dialect: Dialect,
    metric: &MetricDef,
    tables: &TableNames,
    range: TimeRange,
    slice: Option<&SliceKey>,
    group: Option<Group<'_>>,
    bucket: &str,
) -> Result<SqlQuery, MetricError> {
    let table_name = physical_table(metric.table, tables);
    super::check_identifier("table name", table_name)?;

    let mut params = Vec::new();
    let mut select = Vec::new();

    // SELECT [slice_value,] bucket, value  -- placeholders pushed in text order.
    let mut cap_condition = None;
    if let Some(group) = group {
        let mut value_params = Vec::new();
        let value = dimension_value(dialect, metric, group.dimension, &mut value_params)?;
        let (column, condition) = match group.kept {
            Some(kept) => {
                Cap::new(&metric.aggregate, kept).slice_column(dialect, &value, &value_params)
            }
            None => (
                SqlQuery {
                    sql: value,
                    params: value_params,
                },
                None,
            ),
        };
        select.push(format!("{} AS slice_value", column.sql));
        params.extend(column.params);
        cap_condition = condition;
    }
    let time = quote(dialect, "time");
    select.push(format!("{bucket} AS bucket"));
    let mut having = None;
    let value = match &metric.aggregate {
        Aggregate::Count => match dialect {
            Dialect::Sqlite => "CAST(COUNT(*) AS REAL)".to_string(),
            Dialect::ClickHouse => "toFloat64(count())".to_string(),
        },
        Aggregate::Distinct { column: name } => {
            let column = quote(dialect, column(&metric.name, metric.table, name)?.name);
            match dialect {
                Dialect::Sqlite => format!("CAST(COUNT(DISTINCT {column}) AS REAL)"),
                Dialect::ClickHouse => format!("toFloat64(uniqExact({column}))"),
            }
        }
        Aggregate::Ratio {
            numerator,
            denominator,
        } => {
            let numerator_sql = count_if(dialect, metric, numerator, &mut params)?;
            let denominator_sql = count_if(dialect, metric, denominator, &mut params)?;
            // HAVING repeats the denominator; its placeholders are appended after WHERE's.
            having = Some(denominator);
            match dialect {
                Dialect::Sqlite => {
                    format!("CAST({numerator_sql} AS REAL) / {denominator_sql}")
                }
                Dialect::ClickHouse => {
                    format!("toFloat64({numerator_sql}) / toFloat64({denominator_sql})")
                }
            }
        }
    };
    select.push(format!("{value} AS value"));

    // WHERE: time range (numbers we computed), metric filters, slice.
    let mut conditions = vec![match dialect {
        Dialect::Sqlite => format!("{time} >= {} AND {time} < {}", range.from, range.to),
        Dialect::ClickHouse => format!(
            "{time} >= toDateTime({}) AND {time} < toDateTime({})",
            range.from, range.to
        ),
    }];
    for filter in &metric.filters {
        conditions.push(equals(dialect, metric, filter, &mut params)?);
    }
    if let Some(slice) = slice {
        let value = dimension_value(dialect, metric, &slice.dimension, &mut params)?;
        conditions.push(format!("{value} = ?"));
        params.push(slice.value.clone());
    }
    if let Some(condition) = cap_condition {
        conditions.push(condition.sql);
        params.extend(condition.params);
    }

    let mut sql = format!(
        "SELECT {} FROM {} WHERE {}",
        select.join(", "),
        quote(dialect, table_name),
        conditions.join(" AND ")
    );
    let order = if group.is_some() {
        "slice_value, bucket"
    } else {
        "bucket"
    };
    sql.push_str(&format!(" GROUP BY {order}"));
    if let Some(denominator) = having {
        let denominator_sql = count_if(dialect, metric, denominator, &mut params)?;
        sql.push_str(&format!(" HAVING {denominator_sql} > 0"));
    }
    sql.push_str(&format!(" ORDER BY {order}"));
    Ok(SqlQuery { sql, params })
}

/// The query for the newest event time of a table (`NULL`/0 when empty),
/// among the events at or after `since` when given (unix seconds).
/// ClickHouse returns `toUInt32(max(time))`, which is 0 for no rows. The
/// bound lets ClickHouse read only the recent parts of a table ordered or
/// partitioned by time instead of its whole time column (a year of events
/// is billions of rows, every check).
pub fn newest_event_time(
    dialect: Dialect,
    table_name: &str,
    since: Option<i64>,
) -> Result<String, MetricError> {
    super::check_identifier("table name", table_name)?;
    let table = quote(dialect, table_name);
    let time = quote(dialect, "time");
    let since = since.map_or(String::new(), |since| match dialect {
        Dialect::Sqlite => format!(" WHERE {time} >= {since}"),
        Dialect::ClickHouse => format!(" WHERE {time} >= toDateTime({})", since.max(0)),
    });
    Ok(match dialect {
        Dialect::Sqlite => format!("SELECT MAX({time}) FROM {table}{since}"),
        Dialect::ClickHouse => format!("SELECT toUInt32(max({time})) FROM {table}{since}"),
    })
}

fn quote(dialect: Dialect, identifier: &str) -> String {
    // Identifiers passed here are whitelisted plain names; quoting keeps keywords safe.
    match dialect {
        Dialect::Sqlite => format!("\"{identifier}\""),
        Dialect::ClickHouse => format!("`{identifier}`"),
    }
}

/// The column as text, so slice values and filter values compare as strings for
/// every column kind (`exp_group = '1'` works on both dialects and all versions).
fn as_text(dialect: Dialect, column: &Column) -> String {
    let quoted = quote(dialect, column.name);
    match (column.kind, dialect) {
        (ColumnKind::Text, _) => quoted,
        (_, Dialect::Sqlite) => format!("CAST({quoted} AS TEXT)"),
        (_, Dialect::ClickHouse) => format!("toString({quoted})"),
    }
}

/// A row's value of the slice `dimension` of `metric`, as text: the
/// column's own, or its band (`CASE` in SQLite, `multiIf` in ClickHouse,
/// both there since 18.16). Band labels are bound in text order; the bounds
/// are integers.
fn dimension_value(
    dialect: Dialect,
    metric: &MetricDef,
    dimension: &str,
    params: &mut Vec<String>,
) -> Result<String, MetricError> {
    let (column, bounds) = match dimensions::resolve(metric, dimension)? {
        Dimension::Column(column) => return Ok(as_text(dialect, column)),
        Dimension::Bands { column, bounds } => (quote(dialect, column.name), bounds),
    };
    let labels = dimensions::labels(bounds);
    let (last, below) = labels.split_last().expect("one more label than bounds");
    let mut arms = Vec::with_capacity(bounds.len());
    for (bound, label) in bounds.iter().zip(below) {
        params.push(label.clone());
        arms.push(match dialect {
            Dialect::Sqlite => format!("WHEN {column} < {bound} THEN ?"),
            Dialect::ClickHouse => format!("{column} < {bound}, ?"),
        });
    }
    params.push(last.clone());
    Ok(match dialect {
        Dialect::Sqlite => format!("CASE {} ELSE ? END", arms.join(" ")),
        Dialect::ClickHouse => format!("multiIf({}, ?)", arms.join(", ")),
    })
}

fn equals(
    dialect: Dialect,
    metric: &MetricDef,
    filter: &Filter,
    params: &mut Vec<String>,
) -> Result<String, MetricError> {
    let column = column(&metric.name, metric.table, &filter.column)?;
    params.push(filter.value.clone());
    Ok(format!("{} = ?", as_text(dialect, column)))
}

/// Number of rows matching all `filters` (all rows when empty).
fn count_if(
    dialect: Dialect,
    metric: &MetricDef,
    filters: &[Filter],
    params: &mut Vec<String>,
) -> Result<String, MetricError> {
    let condition = if filters.is_empty() {
        "1".to_string()
    } else {
        filters
            .iter()
            .map(|filter| equals(dialect, metric, filter, params))
            .collect::<Result<Vec<_>, _>>()?
            .join(" AND ")
    };
    Ok(match dialect {
        Dialect::Sqlite => format!("SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"),
        Dialect::ClickHouse => format!("countIf({condition})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalogue;
    use crate::metrics::model::EventTable;

    const RANGE: TimeRange = TimeRange {
        from: 1_700_000_150,
        to: 1_700_003_000,
    };

    fn built(
        dialect: Dialect,
        name: &str,
        slice: Option<&SliceKey>,
        group: Option<&str>,
    ) -> SqlQuery {
        let metric = catalogue::builtin_metric(name).expect("built-in metric");
        build(
            dialect,
            &metric,
            &TableNames::default(),
            RANGE,
            slice,
            group,
        )
        .expect("builds")
    }

    #[test]
    fn every_builtin_builds_in_both_dialects() {
        for metric in catalogue::builtin() {
            for dialect in [Dialect::Sqlite, Dialect::ClickHouse] {
                let query = build(dialect, &metric, &TableNames::default(), RANGE, None, None)
                    .expect("builds");
                assert_eq!(
                    query.sql.matches('?').count(),
                    query.params.len(),
                    "{}: {}",
                    metric.name,
                    query.sql
                );
                let sliced = build(
                    dialect,
                    &metric,
                    &TableNames::default(),
                    RANGE,
                    None,
                    Some("os"),
                )
                .expect("builds grouped");
                assert!(sliced.sql.starts_with("SELECT "));
            }
        }
    }

    #[test]
    fn exact_sql_for_views_and_ctr() {
        let views = built(Dialect::ClickHouse, "feed_views", None, None);
        assert_eq!(
            views.sql,
            "SELECT toUInt32(toStartOfFifteenMinutes(`time`)) AS bucket, toFloat64(count()) AS value \
             FROM `feed_actions` WHERE `time` >= toDateTime(1700000100) AND `time` < toDateTime(1700003700) \
             AND `action` = ? GROUP BY bucket ORDER BY bucket"
        );
        assert_eq!(views.params, vec!["view"]);

        let ctr = built(Dialect::Sqlite, "feed_ctr", None, None);
        assert_eq!(
            ctr.sql,
            "SELECT (\"time\" / 900) * 900 AS bucket, \
             CAST(SUM(CASE WHEN \"action\" = ? THEN 1 ELSE 0 END) AS REAL) / SUM(CASE WHEN \"action\" = ? THEN 1 ELSE 0 END) AS value \
             FROM \"feed_actions\" WHERE \"time\" >= 1700000100 AND \"time\" < 1700003700 \
             GROUP BY bucket HAVING SUM(CASE WHEN \"action\" = ? THEN 1 ELSE 0 END) > 0 ORDER BY bucket"
        );
        assert_eq!(ctr.params, vec!["like", "view", "view"]);

        let ctr_ch = built(Dialect::ClickHouse, "feed_ctr", None, None);
        assert!(ctr_ch
            .sql
            .contains("toFloat64(countIf(`action` = ?)) / toFloat64(countIf(`action` = ?))"));
        let users = built(Dialect::ClickHouse, "feed_active_users", None, None);
        assert!(users.sql.contains("toFloat64(uniqExact(`user_id`))"));
        let users = built(Dialect::Sqlite, "messenger_active_users", None, None);
        assert!(users.sql.contains("COUNT(DISTINCT \"user_id\")"));
        assert!(users.sql.contains("FROM \"message_actions\""));
    }

    #[test]
    fn slice_values_are_bound_not_spliced() {
        let evil = SliceKey {
            dimension: "os".into(),
            value: "Android' OR 1=1 --".into(),
        };
        for dialect in [Dialect::Sqlite, Dialect::ClickHouse] {
            let query = built(dialect, "feed_views", Some(&evil), None);
            assert!(!query.sql.contains("OR 1=1"), "{}", query.sql);
            assert_eq!(
                query.params.last().map(String::as_str),
                Some(evil.value.as_str())
            );
        }
    }

    #[test]
    fn filter_values_are_bound_and_numeric_columns_compare_as_text() {
        let mut metric = catalogue::builtin_metric("feed_views").expect("built-in");
        metric.filters.push(Filter {
            column: "exp_group".into(),
            value: "1); DROP TABLE feed_actions; --".into(),
        });
        let query = build(
            Dialect::ClickHouse,
            &metric,
            &TableNames::default(),
            RANGE,
            None,
            None,
        )
        .expect("builds");
        assert!(!query.sql.contains("DROP"));
        assert!(query.sql.contains("toString(`exp_group`) = ?"));
        let query = build(
            Dialect::Sqlite,
            &metric,
            &TableNames::default(),
            RANGE,
            None,
            None,
        )
        .expect("builds");
        assert!(query.sql.contains("CAST(\"exp_group\" AS TEXT) = ?"));
    }

    #[test]
    fn unknown_columns_and_bad_dimensions_are_rejected() {
        let mut metric = catalogue::builtin_metric("feed_views").expect("built-in");
        metric.filters.push(Filter {
            column: "receiver_id".into(),
            value: "1".into(),
        });
        let error = build(
            Dialect::Sqlite,
            &metric,
            &TableNames::default(),
            RANGE,
            None,
            None,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("no column `receiver_id`"),
            "{error}"
        );

        let metric = catalogue::builtin_metric("feed_views").expect("built-in");
        for dimension in ["os\" --", "user_id", "nope"] {
            let slice = SliceKey {
                dimension: dimension.into(),
                value: "x".into(),
            };
            assert!(build(
                Dialect::Sqlite,
                &metric,
                &TableNames::default(),
                RANGE,
                Some(&slice),
                None
            )
            .is_err());
            assert!(build(
                Dialect::ClickHouse,
                &metric,
                &TableNames::default(),
                RANGE,
                None,
                Some(dimension)
            )
            .is_err());
        }
        let tables = TableNames {
            feed_actions: "feed`; DROP".into(),
            message_actions: "message_actions".into(),
        };
        assert!(build(Dialect::ClickHouse, &metric, &tables, RANGE, None, None).is_err());
    }

    #[test]
    fn grouped_query_shape() {
        let query = built(
            Dialect::ClickHouse,
            "messages_sent",
            None,
            Some("exp_group"),
        );
        assert!(query
            .sql
            .starts_with("SELECT toString(`exp_group`) AS slice_value, toUInt32("));
        assert!(query
            .sql
            .ends_with("GROUP BY slice_value, bucket ORDER BY slice_value, bucket"));
    }

    /// Views by city, of cities `a` (3 views), `b` (2), `c` and `d` (1
    /// each, in other buckets), ranked and capped on SQLite as written.
    #[test]
    fn ranked_and_capped_in_sql_the_rest_of_a_count_is_one_sum() {
        let connection = rusqlite::Connection::open_in_memory().expect("opens");
        connection
            .execute_batch(
                "CREATE TABLE feed_actions (time INTEGER, city TEXT, action TEXT, user_id INTEGER);
                 INSERT INTO feed_actions VALUES (0, 'a', 'view', 1), (1, 'a', 'view', 1),
                   (900, 'a', 'view', 2), (0, 'b', 'view', 3), (900, 'b', 'view', 3),
                   (0, 'c', 'view', 4), (900, 'd', 'view', 5), (901, 'd', 'like', 5);",
            )
            .expect("fills");
        let views = catalogue::builtin_metric("feed_views").expect("built in");
        let tables = TableNames::default();
        let range = TimeRange { from: 0, to: 1800 };
        let grouped = build(Dialect::Sqlite, &views, &tables, range, None, Some("city"));
        let run = |query: SqlQuery| -> Vec<(String, i64, f64)> {
            let mut statement = connection.prepare(&query.sql).expect("prepares");
            let rows = statement.query_map(rusqlite::params_from_iter(&query.params), |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            });
            rows.expect("runs").map(|row| row.expect("row")).collect()
        };
        let ranking = ranking(grouped.expect("builds"), 3);
        let mut statement = connection.prepare(&ranking.sql).expect("prepares");
        let top: Vec<String> = (statement
            .query_map(rusqlite::params_from_iter(&ranking.params), |row| {
                row.get(0)
            }))
        .expect("ranks")
        .map(|row| row.expect("row"))
        .collect();
        assert_eq!(top, ["a", "b", "c"], "c before d: equal volumes by value");
        let kept = ["a".to_string(), "b".to_string()];
        let capped = build_capped(Dialect::Sqlite, &views, &tables, range, "city", &kept);
        let row = |slice: &str, bucket, value| (slice.to_string(), bucket, value);
        assert_eq!(
            run(capped.expect("builds")),
            [
                row("(other)", 0, 1.0),
                row("(other)", 900, 1.0),
                row("a", 0, 2.0),
                row("a", 900, 1.0),
                row("b", 0, 1.0),
                row("b", 900, 1.0)
            ]
        );
        let users = catalogue::builtin_metric("feed_active_users").expect("built in");
        let capped = build_capped(Dialect::Sqlite, &users, &tables, range, "city", &kept);
        assert_eq!(
            run(capped.expect("builds")),
            [
                row("a", 0, 1.0),
                row("a", 900, 1.0),
                row("b", 0, 1.0),
                row("b", 900, 1.0)
            ],
            "no sum of distinct counts"
        );
        let query = build_capped(Dialect::ClickHouse, &views, &tables, range, "city", &kept)
            .expect("builds");
        assert!(
            query
                .sql
                .starts_with("SELECT if(`city` IN (?, ?), `city`, ?) AS slice_value"),
            "{}",
            query.sql
        );
        assert_eq!(query.params, ["a", "b", "(other)", "view"]);
    }

    #[test]
    fn daily_queries_group_whole_days_from_a_local_midnight() {
        let users = catalogue::builtin_metric("feed_active_users").expect("built-in");
        let from = 1_700_000_000 - 3 * 3600;
        let range = TimeRange {
            from,
            to: from + 2 * DAY_SECONDS,
        };
        let tables = TableNames::default();
        let query = build_daily(Dialect::ClickHouse, &users, &tables, range).expect("builds");
        assert_eq!(
            query.sql,
            format!(
                "SELECT toUInt32({from} + intDiv(toInt64(toUInt32(`time`)) - {from}, 86400) * 86400) AS bucket, \
                 toFloat64(uniqExact(`user_id`)) AS value FROM `feed_actions` \
                 WHERE `time` >= toDateTime({from}) AND `time` < toDateTime({}) \
                 GROUP BY bucket ORDER BY bucket",
                range.to
            )
        );
        let query = build_daily(Dialect::Sqlite, &users, &tables, range).expect("builds");
        assert!(query.sql.starts_with(&format!(
            "SELECT {from} + ((\"time\" - {from}) / 86400) * 86400 AS bucket, CAST(COUNT(DISTINCT"
        )));
        let empty = TimeRange { from, to: from };
        assert!(build_daily(Dialect::Sqlite, &users, &tables, empty).is_err());
    }

    #[test]
    fn ranges_align_outward_and_reject_empty() {
        let aligned = align_range(TimeRange {
            from: 901,
            to: 1801,
        })
        .expect("aligned");
        assert_eq!(
            aligned,
            TimeRange {
                from: 900,
                to: 2700
            }
        );
        assert!(align_range(TimeRange { from: 5, to: 5 }).is_err());
        let _ = EventTable::FeedActions;
    }
}
