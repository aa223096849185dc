//! [`Checks`] on SQLite: the `checks` and `latest_evaluations` tables, and
//! the notice alerts (rows of `alerts` with the pseudo-metric [`SOURCE_METRIC`],
//! or [`STALE_METRIC`] and the table as slice).

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension};

use super::{sql, SqliteState};
use crate::evaluation::Evaluation;
use crate::state::records::{redact_token, slice_parts};
use crate::state::stored_row::{check_record, latest_evaluation};
use crate::state::{AlertError, CheckRecord, Checks, LatestEvaluation};

impl Checks for SqliteState {
    fn record_check(&mut self, check: &CheckRecord) -> Result<(), AlertError> {
        self.conn
            .execute(
                "INSERT INTO checks (bucket, started_at, duration_ms, ok, late, evaluated, anomalies, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    check.bucket,
                    check.started_at,
                    check.duration_ms,
                    check.ok,
                    check.late,
                    check.evaluated,
                    check.anomalies,
                    check.error.as_deref().map(redact_token),
                ],
            )
            .map_err(sql("record check"))?;
        if check.ok {
            self.conn
                .execute(
                    "DELETE FROM checks_started WHERE bucket = ?1",
                    params![check.bucket],
                )
                .map_err(sql("record check finished"))?;
        }
        Ok(())
    }

    fn check_started(&mut self, bucket: i64, at: i64) -> Result<(), AlertError> {
        self.conn
            .execute(
                "INSERT INTO checks_started (bucket, started_at) VALUES (?1, ?2)
                 ON CONFLICT (bucket) DO NOTHING",
                params![bucket, at],
            )
            .map_err(sql("record check started"))?;
        Ok(())
    }

    fn unfinished_checks(&self) -> Result<Vec<i64>, AlertError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT bucket FROM checks_started ORDER BY bucket")
            .map_err(sql("unfinished checks"))?;
        let buckets = statement
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect::<Result<Vec<i64>, _>>())
            .map_err(sql("unfinished checks"))?;
        Ok(buckets)
    }

    fn last_checked_bucket(&self) -> Result<Option<i64>, AlertError> {
        self.conn
            .query_row("SELECT MAX(bucket) FROM checks WHERE ok = 1", [], |r| {
                r.get(0)
            })
            .map_err(sql("last checked bucket"))
    }

    fn last_check(&self) -> Result<Option<CheckRecord>, AlertError> {
        self.conn
            .query_row(
                "SELECT bucket, started_at, duration_ms, ok, late, evaluated, anomalies, error
                 FROM checks ORDER BY id DESC LIMIT 1",
                [],
                |r| check_record(r),
            )
            .optional()
            .map_err(sql("last check"))
    }

    fn check_counts(&self) -> Result<(u64, u64), AlertError> {
        let [ok, failed] = self.counts(
            "SELECT COALESCE(SUM(ok = 1), 0), COALESCE(SUM(ok = 0), 0) FROM checks",
            "check counts",
        )?;
        Ok((ok, failed))
    }

    crate::state::records::notice_methods!();

    fn record_latest(&mut self, evaluations: &[Evaluation]) -> Result<(), AlertError> {
        let tx = self.conn.transaction().map_err(sql("begin latest"))?;
        {
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO latest_evaluations
                       (metric, sliced, slice_dimension, slice_value, bucket, value, expected,
                        lower, upper, is_anomaly, detector)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT (metric, sliced, slice_dimension, slice_value) DO UPDATE SET
                       bucket = excluded.bucket, value = excluded.value,
                       expected = excluded.expected, lower = excluded.lower,
                       upper = excluded.upper, is_anomaly = excluded.is_anomaly,
                       detector = excluded.detector
                     WHERE excluded.bucket >= latest_evaluations.bucket",
                )
                .map_err(sql("latest upsert"))?;
            for evaluation in evaluations {
                let (sliced, dimension, value) = slice_parts(evaluation.slice.as_ref());
                let point = &evaluation.point;
                upsert
                    .execute(params![
                        evaluation.metric,
                        sliced,
                        dimension,
                        value,
                        evaluation.bucket,
                        point.value,
                        point.expected,
                        point.lower,
                        point.upper,
                        point.is_anomaly,
                        evaluation.detector,
                    ])
                    .map_err(sql("latest upsert"))?;
            }
        }
        tx.commit().map_err(sql("commit latest"))
    }

    fn latest_whole(&self) -> Result<HashMap<String, LatestEvaluation>, AlertError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT metric, bucket, value, expected, lower, upper, is_anomaly, detector
                 FROM latest_evaluations WHERE sliced = 0",
            )
            .map_err(sql("latest"))?;
        let rows = stmt
            .query_map([], |r| latest_evaluation(r))
            .map_err(sql("latest"))?;
        rows.collect::<Result<_, _>>().map_err(sql("latest row"))
    }
}
