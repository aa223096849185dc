//! `vigil state migrate`: copies an embedded (SQLite) state into an empty
//! PostgreSQL state, row for row: ids are kept (the outbox order, the
//! alerts' history, the Telegram messages they point to), and the identity
//! sequences continue after the copied ids, so the next row comes after them.
//! Everything is copied in one transaction: a failed copy leaves the target
//! empty. Column by column, each value is converted to the PostgreSQL
//! column's type (SQLite keeps booleans as integers).

use std::path::Path;

use postgres::types::ToSql;
use rusqlite::types::Value;

use super::schema::TABLES;
use super::{PostgresState, PostgresTarget};
use crate::state::SqliteState;

/// Rows copied, per table, in [`TABLES`] order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Copied(pub Vec<(&'static str, u64)>);

impl std::fmt::Display for Copied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(table, rows)| format!("{table} {rows}"))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// Copies the SQLite state at `from` into the PostgreSQL state at `to`,
/// which must hold no rows. The error says what went wrong, naming both.
pub fn sqlite_to_postgres(from: &Path, to: &PostgresTarget) -> Result<Copied, String> {
    if !from.exists() {
        return Err(format!("no state file at {}", from.display()));
    }
    // Opening brings both schemas to this vigil's version: the same columns.
    let source = SqliteState::open(from).map_err(|e| e.to_string())?;
    let target = PostgresState::open(to).map_err(|e| e.to_string())?;
    let fail = |what: String| format!("copying {} into {to}: {what}", from.display());
    target.with_client(|client| -> Result<Copied, String> {
        let mut tx = client.transaction().map_err(|e| fail(e.to_string()))?;
        for table in TABLES {
            let rows: i64 = tx
                .query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
                .and_then(|r| r.try_get(0))
                .map_err(|e| fail(e.to_string()))?;
            if rows > 0 {
                return Err(format!(
                    "the PostgreSQL state at {to} is not empty ({table} has {rows} rows): \
                         `vigil state migrate` copies into an empty database only"
                ));
            }
        }
        let mut copied = Copied::default();
        for table in TABLES {
            let rows = copy_table(&source, &mut tx, table)
                .map_err(|e| fail(format!("table {table}: {e}")))?;
            copied.0.push((table, rows));
        }
        tx.commit().map_err(|e| fail(e.to_string()))?;
        Ok(copied)
    })
}

impl From<super::Unreachable> for String {
    fn from(e: super::Unreachable) -> Self {
        format!("{}: {}", e.target, e.reason)
    }
}

/// Copies one table's rows; returns how many.
fn copy_table(
    source: &SqliteState,
    tx: &mut postgres::Transaction<'_>,
    table: &str,
) -> Result<u64, String> {
    let columns: Vec<(String, String)> = tx
        .query(
            "SELECT column_name::TEXT, data_type::TEXT FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            &[&table],
        )
        .map_err(|e| e.to_string())?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let names: Vec<String> = columns
        .iter()
        .map(|(name, _)| format!("\"{name}\""))
        .collect();
    let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    // The ids are copied too (identity columns are BY DEFAULT: they take them).
    let insert = tx
        .prepare(&format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            names.join(", "),
            placeholders.join(", ")
        ))
        .map_err(|e| e.to_string())?;
    let rows = source
        .raw_rows(table, &names)
        .map_err(|e| format!("reading: {e}"))?;
    for row in &rows {
        let params = row
            .iter()
            .zip(&columns)
            .map(|(value, (name, kind))| {
                to_postgres(value, kind).map_err(|e| format!("{name}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
        tx.execute(&insert, &refs).map_err(|e| e.to_string())?;
    }
    if columns.iter().any(|(name, _)| name == "id") {
        // An identity column continues after the copied ids (a plain id column has no sequence).
        tx.execute(
            &format!(
                "SELECT setval(seq, (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)
                 FROM (SELECT pg_get_serial_sequence($1, 'id') AS seq) s WHERE seq IS NOT NULL"
            ),
            &[&table],
        )
        .map_err(|e| format!("continuing the ids: {e}"))?;
    }
    Ok(rows.len() as u64)
}

/// One SQLite value as the PostgreSQL column type `kind` wants it.
fn to_postgres(value: &Value, kind: &str) -> Result<Box<dyn ToSql + Sync>, String> {
    let unexpected = || format!("cannot store {value:?} as {kind}");
    Ok(match (kind, value) {
        ("bigint", Value::Null) => Box::new(None::<i64>),
        ("bigint", Value::Integer(i)) => Box::new(Some(*i)),
        ("boolean", Value::Null) => Box::new(None::<bool>),
        ("boolean", Value::Integer(i)) => Box::new(Some(*i != 0)),
        ("double precision", Value::Null) => Box::new(None::<f64>),
        ("double precision", Value::Real(x)) => Box::new(Some(*x)),
        ("double precision", Value::Integer(i)) => Box::new(Some(*i as f64)),
        ("text", Value::Null) => Box::new(None::<String>),
        ("text", Value::Text(text)) => Box::new(Some(text.clone())),
        _ => return Err(unexpected()),
    })
}
