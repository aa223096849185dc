//! Slice dimensions: a whitelisted column, or one cut into bands (`age` into
//! `18-24`, `25-34`, ...), each with a cap on the values watched one by one.
//!
//! A metric's slice is resolved here, once, for every query that groups by
//! it or filters on one of its values ([`resolve`]); the SQL builder turns
//! the result into a `CASE` (SQLite) or `multiIf` (ClickHouse, 18.16 on)
//! whose labels are bound values and whose bounds are integers.

use super::model::{DimensionDef, MetricDef};
use super::{check_identifier, column, slice_column, Column, ColumnKind, MetricError};

/// Values of one dimension watched one by one when its definition sets no
/// `top`: the largest by volume; the rest are one [`OTHER`] series. 50 keeps
/// a check's series in the thousands for a dozen metrics sliced by city (a
/// few seconds on the embedded store, docs/benchmarks.md) and covers most
/// of the volume of a long-tailed dimension; the values past it are small
/// ones whose counts mostly sit under the alerting floor (`min_volume`)
/// anyway, and they still alert together as `other`.
pub const DEFAULT_TOP: usize = 50;

/// The value the slices past the cap are grouped under.
pub const OTHER: &str = "(other)";

/// Bands a dimension may have at most: an age or a tenure needs a handful.
pub const MAX_BANDS: usize = 32;

/// How a dimension reads a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimension<'a> {
    /// The column's own value (as text).
    Column(&'static Column),
    /// The band of the column's value (`bounds` ascending, see [`labels`]).
    Bands {
        column: &'static Column,
        bounds: &'a [u32],
    },
}

/// Resolves `name`, a slice of `metric`: its configured definition (in
/// `metric.dimensions`), else the sliceable column of that name.
pub fn resolve<'a>(metric: &'a MetricDef, name: &str) -> Result<Dimension<'a>, MetricError> {
    check_identifier("slice dimension", name)?;
    let Some(def) = metric.dimensions.iter().find(|d| d.name == name) else {
        return slice_column(&metric.name, metric.table, name).map(Dimension::Column);
    };
    let column = column(&metric.name, metric.table, &def.column)?;
    let bad = |reason: String| MetricError::BadDimension {
        metric: metric.name.clone(),
        dimension: name.to_string(),
        reason,
    };
    if def.bands.is_empty() {
        if !column.sliceable {
            return Err(bad(format!("`{}` cannot be a slice", column.name)));
        }
        return Ok(Dimension::Column(column));
    }
    if column.kind != ColumnKind::UInt || !column.sliceable {
        return Err(bad(format!(
            "bands need a whole-number attribute column (age, gender, exp_group), not `{}`",
            column.name
        )));
    }
    check_bands(&def.bands).map_err(|reason| bad(reason.to_string()))?;
    Ok(Dimension::Bands {
        column,
        bounds: &def.bands,
    })
}

/// How many values of `name` a check watches one by one for `metric`.
pub fn top(metric: &MetricDef, name: &str) -> usize {
    (metric.dimensions.iter())
        .find(|d| d.name == name)
        .and_then(|d| d.top)
        .unwrap_or(DEFAULT_TOP)
}

/// Why `bounds` cannot be bands, if they cannot.
pub fn check_bands(bounds: &[u32]) -> Result<(), &'static str> {
    if bounds.is_empty() {
        return Err("give at least one bound, e.g. bands = [18, 25, 35, 45, 55]");
    }
    if bounds.len() > MAX_BANDS {
        return Err("at most 32 bounds");
    }
    if bounds.windows(2).any(|pair| pair[0] >= pair[1]) {
        return Err("bounds must be strictly ascending, e.g. [18, 25, 35]");
    }
    Ok(())
}

/// The band labels of `bounds`, lowest first: `[18, 25, 35]` gives `<18`,
/// `18-24`, `25-34` and `35+` (a band of one value is that value).
pub fn labels(bounds: &[u32]) -> Vec<String> {
    let mut labels = Vec::with_capacity(bounds.len() + 1);
    if let Some(first) = bounds.first() {
        labels.push(format!("<{first}"));
    }
    for pair in bounds.windows(2) {
        let (low, high) = (pair[0], pair[1] - 1);
        labels.push(if low == high {
            low.to_string()
        } else {
            format!("{low}-{high}")
        });
    }
    if let Some(last) = bounds.last() {
        labels.push(format!("{last}+"));
    }
    labels
}

/// A definition's problems, each as (key, reason), for `vigil config check`.
pub fn problems(def: &DimensionDef) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if let Err(error) = check_identifier("dimension name", &def.name) {
        problems.push(("name", error.to_string()));
    }
    if let Err(error) = check_identifier("column", &def.column) {
        problems.push(("column", error.to_string()));
    }
    if !def.bands.is_empty() {
        if let Err(reason) = check_bands(&def.bands) {
            problems.push(("bands", reason.to_string()));
        }
    }
    if def.top == Some(0) {
        problems.push(("top", "watch at least 1 value (top = 1)".to_string()));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalogue;

    #[test]
    fn labels_cover_every_value_once() {
        assert_eq!(
            labels(&[18, 25, 35, 45, 55]),
            ["<18", "18-24", "25-34", "35-44", "45-54", "55+"]
        );
        assert_eq!(labels(&[1, 2]), ["<1", "1", "2+"]);
        assert!(check_bands(&[]).is_err());
        assert!(check_bands(&[18, 18]).is_err());
        assert!(check_bands(&[25, 18]).is_err());
        assert!(check_bands(&(0..40).collect::<Vec<_>>()).is_err());
    }

    #[test]
    fn bands_need_a_number_column() {
        let mut metric = catalogue::builtin_metric("feed_views").expect("built in");
        let band = |name: &str, column: &str| DimensionDef {
            name: name.into(),
            column: column.into(),
            bands: vec![18, 25],
            top: None,
        };
        metric.dimensions = vec![band("age_band", "age"), band("os_band", "os")];
        assert!(matches!(
            resolve(&metric, "age_band"),
            Ok(Dimension::Bands {
                bounds: [18, 25],
                ..
            })
        ));
        let error = resolve(&metric, "os_band").unwrap_err().to_string();
        assert!(error.contains("whole-number"), "{error}");
        assert!(matches!(resolve(&metric, "os"), Ok(Dimension::Column(_))));
        assert!(resolve(&metric, "nope").is_err());
        assert_eq!(top(&metric, "city"), DEFAULT_TOP);
    }

    /// Feed views by `age_band` ([18, 25, 35]), optionally of one band.
    fn age_band_query(
        dialect: crate::metrics::sql::Dialect,
        slice: Option<&str>,
    ) -> crate::metrics::sql::SqlQuery {
        let mut metric = catalogue::builtin_metric("feed_views").expect("built in");
        metric.slices = vec!["age_band".into()];
        metric.dimensions = vec![DimensionDef {
            name: "age_band".into(),
            column: "age".into(),
            bands: vec![18, 25, 35],
            top: None,
        }];
        let slice = slice.map(|value| crate::metrics::model::SliceKey {
            dimension: "age_band".into(),
            value: value.into(),
        });
        let range = crate::metrics::model::TimeRange { from: 0, to: 900 };
        let group = slice.is_none().then_some("age_band");
        let tables = crate::metrics::model::TableNames::default();
        crate::metrics::sql::build(dialect, &metric, &tables, range, slice.as_ref(), group)
            .expect("builds")
    }

    #[test]
    fn bands_are_a_case_in_sqlite_with_bound_labels() {
        use crate::metrics::sql::Dialect;
        let connection = rusqlite::Connection::open_in_memory().expect("opens");
        connection
            .execute_batch(
                "CREATE TABLE feed_actions (time INTEGER, age INTEGER, action TEXT);
                 INSERT INTO feed_actions VALUES (10, 14, 'view'), (20, 17, 'view'),
                   (30, 18, 'view'), (40, 24, 'like'), (50, 25, 'view'), (60, 34, 'view'),
                   (70, 35, 'view'), (80, 80, 'view'), (90, 24, 'view');",
            )
            .expect("fills");
        let run = |query: crate::metrics::sql::SqlQuery| -> Vec<(String, f64)> {
            let mut statement = connection.prepare(&query.sql).expect("prepares");
            let params = rusqlite::params_from_iter(query.params.iter());
            let rows = statement.query_map(params, |row| {
                let grouped = row.as_ref().column_count() == 3;
                let label = if grouped { row.get(0)? } else { String::new() };
                Ok((label, row.get(if grouped { 2 } else { 1 })?))
            });
            rows.expect("runs").map(|row| row.expect("row")).collect()
        };
        let grouped = run(age_band_query(Dialect::Sqlite, None));
        let expected = [("18-24", 2.0), ("25-34", 2.0), ("35+", 2.0), ("<18", 2.0)];
        let expected: Vec<(String, f64)> =
            expected.iter().map(|(l, v)| (l.to_string(), *v)).collect();
        assert_eq!(grouped, expected);
        let one = run(age_band_query(Dialect::Sqlite, Some("25-34")));
        assert_eq!(one, [(String::new(), 2.0)]);
    }

    #[test]
    fn bands_are_a_multi_if_in_clickhouse_with_bound_labels() {
        use crate::metrics::sql::Dialect;
        let query = age_band_query(Dialect::ClickHouse, None);
        assert!(
            query.sql.starts_with(
                "SELECT multiIf(`age` < 18, ?, `age` < 25, ?, `age` < 35, ?, ?) AS slice_value, "
            ),
            "{}",
            query.sql
        );
        assert_eq!(query.params, ["<18", "18-24", "25-34", "35+", "view"]);
        let one = age_band_query(Dialect::ClickHouse, Some("25-34"));
        assert!(one
            .sql
            .contains("AND multiIf(`age` < 18, ?, `age` < 25, ?, `age` < 35, ?, ?) = ?"));
        assert_eq!(
            one.params,
            ["view", "<18", "18-24", "25-34", "35+", "25-34"]
        );
        assert_eq!(one.sql.matches('?').count(), one.params.len());
    }
}
