//! [`LateRows`] on SQLite: the `checked_inputs` table.

use rusqlite::{params, Connection};

use super::{sql, SqliteState};
use crate::alerts::AlertConfig;
use crate::evaluation::Evaluation;
use crate::state::late_rows::apply_late;
use crate::state::{AlertError, CheckedInput, LateRows, OutboxItem};

impl LateRows for SqliteState {
    fn record_inputs(
        &mut self,
        inputs: &[CheckedInput],
        forget_before: i64,
    ) -> Result<(), AlertError> {
        let tx = self.conn.transaction().map_err(sql("begin"))?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO checked_inputs (metric, bucket, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT (metric, bucket) DO UPDATE SET value = excluded.value",
                )
                .map_err(sql("record checked inputs"))?;
            for input in inputs {
                insert
                    .execute(params![input.metric, input.bucket, input.value])
                    .map_err(sql("record checked inputs"))?;
            }
        }
        tx.execute(
            "DELETE FROM checked_inputs WHERE bucket < ?1",
            params![forget_before],
        )
        .map_err(sql("forget checked inputs"))?;
        tx.commit().map_err(sql("commit"))
    }

    fn inputs_to_recheck(&self, from: i64, to: i64) -> Result<Vec<CheckedInput>, AlertError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT metric, bucket, value FROM checked_inputs
                 WHERE bucket >= ?1 AND bucket < ?2 AND rechecked = 0
                 ORDER BY bucket, metric",
            )
            .map_err(sql("inputs to re-check"))?;
        let inputs = statement
            .query_map(params![from, to], |r| {
                Ok(CheckedInput {
                    metric: r.get(0)?,
                    bucket: r.get(1)?,
                    value: r.get(2)?,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(sql("inputs to re-check"))?;
        Ok(inputs)
    }

    fn apply_late(
        &mut self,
        rechecked: &[CheckedInput],
        evaluations: &[Evaluation],
        now: i64,
        config: &AlertConfig,
    ) -> Result<Vec<OutboxItem>, AlertError> {
        apply_late(self, rechecked, evaluations, now, config)
    }
}

/// Marks `input`'s bucket re-checked, with its new value (inside the
/// re-check's transaction).
pub(super) fn mark_rechecked(conn: &Connection, input: &CheckedInput) -> Result<(), AlertError> {
    conn.execute(
        "INSERT INTO checked_inputs (metric, bucket, value, rechecked) VALUES (?1, ?2, ?3, 1)
         ON CONFLICT (metric, bucket) DO UPDATE SET value = excluded.value, rechecked = 1",
        params![input.metric, input.bucket, input.value],
    )
    .map_err(sql("mark re-checked"))?;
    Ok(())
}
