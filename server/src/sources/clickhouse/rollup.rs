//! Rollups: a 15-minute `AggregatingMergeTree` table per event table, filled
//! by a materialized view for new inserts and backfilled from the raw events
//! by `vigil clickhouse rollup`, and the SQL that reads metrics from it.
//!
//! Keyed by the bucket and the dimensions the built-in metrics filter and
//! slice by (`action` for the feed; `os`, `source`, `country`), with
//! `countState()` and `uniqExactState(user_id)`: exact, like the raw query's
//! `uniqExact` (approximate `uniq` would make the values differ), and the
//! distinct-user states merge across slices and parts, so whole-product users
//! are exact too. A metric filtering or sliced by anything else, or counting
//! distinct values of another column, reads raw events ([`unanswerable`]).
//!
//! The DDL is the `ENGINE = AggregatingMergeTree() PARTITION BY ... ORDER BY`
//! spelling that 18.16 and current servers both accept. One partition per day
//! of bucket start: the backfill rebuilds one partition per INSERT (drop, then
//! `INSERT ... SELECT` of that day's raw events), so a rerun replaces rather
//! than adds, and events the view already wrote for that day are counted once.

use super::ddl::{qualified, quote};
use crate::metrics::model::{
    Aggregate, EventTable, Filter, MetricDef, SliceKey, TableNames, TimeRange,
};
use crate::metrics::sql::{align_range, Cap, Dialect, SqlQuery};
use crate::metrics::{physical_table, validate, MetricError};

/// Records which rollups finished their backfill: reads use a rollup only then,
/// so an interrupted `vigil clickhouse rollup` never serves partial history.
pub const MARKER_TABLE: &str = "vigil_rollups";

/// The one distinct-count column kept (as `uniqExactState`).
const USER_COLUMN: &str = "user_id";

/// Dimensions a rollup of `table` is keyed by, besides the bucket.
pub fn key_columns(table: EventTable) -> &'static [&'static str] {
    match table {
        EventTable::FeedActions => &["action", "os", "source", "country"],
        EventTable::MessageActions => &["os", "source", "country"],
    }
}

/// `feed_actions_rollup_15m` for `feed_actions`.
pub fn rollup_name(source_table: &str) -> String {
    format!("{source_table}_rollup_15m")
}

/// The materialized view feeding the rollup of `source_table`.
pub fn view_name(source_table: &str) -> String {
    format!("{}_mv", rollup_name(source_table))
}

/// `CREATE TABLE` for the rollup of `table` (physical name `source_table`).
pub fn create_rollup(database: &str, table: EventTable, source_table: &str) -> String {
    let keys = key_columns(table);
    let columns: String = keys
        .iter()
        .map(|key| format!("{} String, ", quote(key)))
        .collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {} (bucket_start DateTime, {columns}\
         events AggregateFunction(count), users AggregateFunction(uniqExact, UInt32)\
         ) ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMMDD(bucket_start) \
         ORDER BY (bucket_start, {})",
        qualified(database, &rollup_name(source_table)),
        key_list(keys)
    )
}

/// The aggregating SELECT over raw events, shared by the view and the backfill.
fn aggregate_select(database: &str, table: EventTable, source_table: &str, filter: &str) -> String {
    let keys = key_list(key_columns(table));
    format!(
        "SELECT toStartOfFifteenMinutes(`time`) AS bucket_start, {keys}, \
         countState() AS events, uniqExactState({}) AS users \
         FROM {}{filter} GROUP BY bucket_start, {keys}",
        quote(USER_COLUMN),
        qualified(database, source_table)
    )
}

/// The materialized view writing every new insert's aggregates into the rollup.
pub fn create_view(database: &str, table: EventTable, source_table: &str) -> String {
    format!(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS {} TO {} AS {}",
        qualified(database, &view_name(source_table)),
        qualified(database, &rollup_name(source_table)),
        aggregate_select(database, table, source_table, "")
    )
}

pub fn create_marker(database: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (source_table String, rollup_table String, \
         backfilled_at DateTime, version UInt64) \
         ENGINE = ReplacingMergeTree(version) ORDER BY (source_table)",
        qualified(database, MARKER_TABLE)
    )
}

/// Days of raw events, keyed like the rollup's partitions (the day of each
/// event's bucket): `(YYYYMMDD, first event time, last event time, events)`.
pub fn backfill_days(database: &str, source_table: &str) -> String {
    format!(
        "SELECT toUInt32(toYYYYMMDD(toStartOfFifteenMinutes(`time`))) AS day, \
         toUInt32(min(`time`)), toUInt32(max(`time`)), count() \
         FROM {} GROUP BY day ORDER BY day",
        qualified(database, source_table)
    )
}

pub fn drop_day(database: &str, source_table: &str, day: u32) -> String {
    format!(
        "ALTER TABLE {} DROP PARTITION {day}",
        qualified(database, &rollup_name(source_table))
    )
}

/// Rebuild one day: the time bounds let the server skip other days' parts,
/// the bucket-day condition makes the rows exactly the partition's.
pub fn backfill_day(
    database: &str,
    table: EventTable,
    source_table: &str,
    day: u32,
    first: u32,
    last: u32,
) -> String {
    let filter = format!(
        " WHERE `time` >= toDateTime({first}) AND `time` <= toDateTime({last}) \
         AND toYYYYMMDD(toStartOfFifteenMinutes(`time`)) = {day}"
    );
    format!(
        "INSERT INTO {} {}",
        qualified(database, &rollup_name(source_table)),
        aggregate_select(database, table, source_table, &filter)
    )
}

fn key_list(keys: &[&str]) -> String {
    keys.iter()
        .map(|key| quote(key))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why the rollup cannot answer `metric` (optionally sliced by `dimension`),
/// or `None` when it can.
pub fn unanswerable(metric: &MetricDef, dimension: Option<&str>) -> Option<String> {
    let keys = key_columns(metric.table);
    let kept = || keys.join(", ");
    if let Aggregate::Distinct { column } = &metric.aggregate {
        if column != USER_COLUMN {
            return Some(format!(
                "counts distinct `{column}`; the rollup keeps distinct {USER_COLUMN} only"
            ));
        }
    }
    let ratio_filters: Vec<&Filter> = match &metric.aggregate {
        Aggregate::Ratio {
            numerator,
            denominator,
        } => numerator.iter().chain(denominator).collect(),
        _ => Vec::new(),
    };
    for filter in metric.filters.iter().chain(ratio_filters) {
        if !keys.contains(&filter.column.as_str()) {
            return Some(format!(
                "filters on `{}`, which the rollup does not keep ({})",
                filter.column,
                kept()
            ));
        }
    }
    match dimension {
        Some(dimension) if !keys.contains(&dimension) => Some(format!(
            "is sliced by `{dimension}`, which the rollup does not keep ({})",
            kept()
        )),
        _ => None,
    }
}

/// The metric's query against the rollup, with the same result shape as
/// [`crate::metrics::sql::build`]'s ClickHouse query (grouped and capped to
/// `kept` values as [`crate::metrics::sql::build_capped`]'s when given);
/// `None` when [`unanswerable`] (the caller reads raw events and says why).
pub fn build(
    metric: &MetricDef,
    tables: &TableNames,
    range: TimeRange,
    slice: Option<&SliceKey>,
    group_by_dimension: Option<&str>,
    kept: Option<&[String]>,
) -> Result<Option<SqlQuery>, MetricError> {
    validate(metric)?;
    let range = align_range(range)?;
    let dimension = group_by_dimension.or(slice.map(|slice| slice.dimension.as_str()));
    if unanswerable(metric, dimension).is_some() {
        return Ok(None);
    }
    let mut params = Vec::new();
    let mut select = Vec::new();
    let mut cap_condition = None;
    if let Some(dimension) = group_by_dimension {
        let value = quote(dimension);
        let column = match kept {
            Some(kept) => {
                let (column, condition) = Cap::new(&metric.aggregate, kept).slice_column(
                    Dialect::ClickHouse,
                    &value,
                    &[],
                );
                cap_condition = condition;
                column
            }
            None => SqlQuery {
                sql: value,
                params: Vec::new(),
            },
        };
        select.push(format!("{} AS slice_value", column.sql));
        params.extend(column.params);
    }
    select.push("toUInt32(bucket_start) AS bucket".to_string());
    let mut having = None;
    let value = match &metric.aggregate {
        Aggregate::Count => "toFloat64(countMerge(events))".to_string(),
        Aggregate::Distinct { .. } => "toFloat64(uniqExactMerge(users))".to_string(),
        Aggregate::Ratio {
            numerator,
            denominator,
        } => {
            let numerator_sql = count_merge_if(numerator, &mut params);
            let denominator_sql = count_merge_if(denominator, &mut params);
            having = Some(denominator);
            format!("toFloat64({numerator_sql}) / toFloat64({denominator_sql})")
        }
    };
    select.push(format!("{value} AS value"));

    let mut conditions = vec![format!(
        "bucket_start >= toDateTime({}) AND bucket_start < toDateTime({})",
        range.from, range.to
    )];
    for filter in &metric.filters {
        conditions.push(equals(filter, &mut params));
    }
    if let Some(slice) = slice {
        conditions.push(format!("{} = ?", quote(&slice.dimension)));
        params.push(slice.value.clone());
    }
    if let Some(condition) = cap_condition {
        conditions.push(condition.sql);
        params.extend(condition.params);
    }
    let order = if group_by_dimension.is_some() {
        "slice_value, bucket"
    } else {
        "bucket"
    };
    let mut sql = format!(
        "SELECT {} FROM {} WHERE {} GROUP BY {order}",
        select.join(", "),
        quote(&rollup_name(physical_table(metric.table, tables))),
        conditions.join(" AND ")
    );
    if let Some(denominator) = having {
        let denominator_sql = count_merge_if(denominator, &mut params);
        sql.push_str(&format!(" HAVING {denominator_sql} > 0"));
    }
    sql.push_str(&format!(" ORDER BY {order}"));
    Ok(Some(SqlQuery { sql, params }))
}

/// Key columns are all `String`, so a bound value compares as text, as the
/// raw query's `toString(column) = ?` does.
fn equals(filter: &Filter, params: &mut Vec<String>) -> String {
    params.push(filter.value.clone());
    format!("{} = ?", quote(&filter.column))
}

fn count_merge_if(filters: &[Filter], params: &mut Vec<String>) -> String {
    let condition = if filters.is_empty() {
        "1".to_string()
    } else {
        filters
            .iter()
            .map(|filter| equals(filter, params))
            .collect::<Vec<_>>()
            .join(" AND ")
    };
    format!("countMergeIf(events, {condition})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalogue;

    const RANGE: TimeRange = TimeRange {
        from: 1_700_000_150,
        to: 1_700_003_000,
    };

    #[test]
    fn every_builtin_is_answerable_whole_and_by_its_slices() {
        for metric in catalogue::builtin() {
            assert_eq!(unanswerable(&metric, None), None, "{}", metric.name);
            for dimension in &metric.slices {
                assert_eq!(unanswerable(&metric, Some(dimension)), None);
                let query = build(
                    &metric,
                    &TableNames::default(),
                    RANGE,
                    None,
                    Some(dimension),
                    None,
                )
                .expect("valid")
                .expect("answerable");
                assert_eq!(query.sql.matches('?').count(), query.params.len());
            }
        }
    }

    #[test]
    fn ctr_reads_merged_counts_with_bound_filters() {
        let ctr = catalogue::builtin_metric("feed_ctr").expect("built-in");
        let slice = SliceKey {
            dimension: "os".into(),
            value: "iOS' OR 1=1".into(),
        };
        let query = build(
            &ctr,
            &TableNames::default(),
            RANGE,
            Some(&slice),
            None,
            None,
        )
        .expect("valid")
        .expect("answerable");
        assert_eq!(
            query.sql,
            "SELECT toUInt32(bucket_start) AS bucket, toFloat64(countMergeIf(events, `action` = ?)) \
             / toFloat64(countMergeIf(events, `action` = ?)) AS value FROM `feed_actions_rollup_15m` \
             WHERE bucket_start >= toDateTime(1700000100) AND bucket_start < toDateTime(1700003700) \
             AND `os` = ? GROUP BY bucket HAVING countMergeIf(events, `action` = ?) > 0 ORDER BY bucket"
        );
        assert_eq!(query.params, ["like", "view", "iOS' OR 1=1", "view"]);
    }

    #[test]
    fn filters_slices_and_columns_outside_the_key_read_raw() {
        let mut views = catalogue::builtin_metric("feed_views").expect("built-in");
        assert!(unanswerable(&views, Some("city"))
            .expect("city is not kept")
            .contains("sliced by `city`"));
        let messages = catalogue::builtin_metric("messages_sent").expect("built-in");
        assert!(unanswerable(&messages, Some("action")).is_some());
        views.filters.push(Filter {
            column: "exp_group".into(),
            value: "2".into(),
        });
        assert!(unanswerable(&views, None)
            .expect("exp_group is not kept")
            .contains("filters on `exp_group`"));
        assert_eq!(
            build(&views, &TableNames::default(), RANGE, None, None, None),
            Ok(None)
        );
        let posts = MetricDef {
            aggregate: Aggregate::Distinct {
                column: "post_id".into(),
            },
            filters: Vec::new(),
            ..views
        };
        assert!(unanswerable(&posts, None).is_some());
    }

    #[test]
    fn ddl_keys_the_rollup_by_bucket_and_dimensions() {
        let table = create_rollup("vigil", EventTable::FeedActions, "feed_actions");
        assert!(
            table.contains("`vigil`.`feed_actions_rollup_15m`"),
            "{table}"
        );
        assert!(table.ends_with(
            "ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMMDD(bucket_start) \
             ORDER BY (bucket_start, `action`, `os`, `source`, `country`)"
        ));
        let view = create_view("vigil", EventTable::MessageActions, "message_actions");
        assert!(view.starts_with(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS `vigil`.`message_actions_rollup_15m_mv` \
             TO `vigil`.`message_actions_rollup_15m` AS SELECT"
        ));
        assert!(!view.contains("`action`"));
    }
}
