//! [`LateRows`] on PostgreSQL: the `checked_inputs` table.

use postgres::GenericClient;

use super::{sql, PostgresState};
use crate::alerts::AlertConfig;
use crate::evaluation::Evaluation;
use crate::state::late_rows::apply_late;
use crate::state::{AlertError, CheckedInput, LateRows, OutboxItem};

impl LateRows for PostgresState {
    fn record_inputs(
        &mut self,
        inputs: &[CheckedInput],
        forget_before: i64,
    ) -> Result<(), AlertError> {
        self.with_client(|client| {
            let mut tx = client.transaction().map_err(sql("begin"))?;
            let insert = tx
                .prepare(
                    "INSERT INTO checked_inputs (metric, bucket, value) VALUES ($1, $2, $3)
                     ON CONFLICT (metric, bucket) DO UPDATE SET value = EXCLUDED.value",
                )
                .map_err(sql("record checked inputs"))?;
            for input in inputs {
                tx.execute(&insert, &[&input.metric, &input.bucket, &input.value])
                    .map_err(sql("record checked inputs"))?;
            }
            tx.execute(
                "DELETE FROM checked_inputs WHERE bucket < $1",
                &[&forget_before],
            )
            .map_err(sql("forget checked inputs"))?;
            tx.commit().map_err(sql("commit"))
        })
    }

    fn inputs_to_recheck(&self, from: i64, to: i64) -> Result<Vec<CheckedInput>, AlertError> {
        self.with_client(|client| {
            let rows = client
                .query(
                    "SELECT metric, bucket, value FROM checked_inputs
                     WHERE bucket >= $1 AND bucket < $2 AND NOT rechecked
                     ORDER BY bucket, metric",
                    &[&from, &to],
                )
                .map_err(sql("inputs to re-check"))?;
            rows.iter()
                .map(|r| {
                    Ok(CheckedInput {
                        metric: r.try_get(0)?,
                        bucket: r.try_get(1)?,
                        value: r.try_get(2)?,
                    })
                })
                .collect::<Result<Vec<_>, postgres::Error>>()
                .map_err(sql("inputs to re-check"))
        })
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
pub(super) fn mark_rechecked(
    client: &mut impl GenericClient,
    input: &CheckedInput,
) -> Result<(), AlertError> {
    client
        .execute(
            "INSERT INTO checked_inputs (metric, bucket, value, rechecked) VALUES ($1, $2, $3, TRUE)
             ON CONFLICT (metric, bucket) DO UPDATE SET value = EXCLUDED.value, rechecked = TRUE",
            &[&input.metric, &input.bucket, &input.value],
        )
        .map_err(sql("mark re-checked"))?;
    Ok(())
}
