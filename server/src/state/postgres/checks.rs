//! [`Checks`] on PostgreSQL: the `checks` and `latest_evaluations` tables;
//! the notice alerts are [`records::open_notice`] / [`records::resolve_notice`].

use std::collections::HashMap;

use super::{sql, PostgresState};
use crate::evaluation::Evaluation;
use crate::state::records::{redact_token, slice_parts};
use crate::state::stored_row::{check_record, latest_evaluation};
use crate::state::{AlertError, CheckRecord, Checks, LatestEvaluation};

impl Checks for PostgresState {
    fn record_check(&mut self, check: &CheckRecord) -> Result<(), AlertError> {
        self.execute(
            "INSERT INTO checks (bucket, started_at, duration_ms, ok, late, evaluated, anomalies,
                                 error)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &check.bucket,
                &check.started_at,
                &check.duration_ms,
                &check.ok,
                &check.late,
                &check.evaluated,
                &check.anomalies,
                &check.error.as_deref().map(redact_token),
            ],
            "record check",
        )?;
        if check.ok {
            self.execute(
                "DELETE FROM checks_started WHERE bucket = $1",
                &[&check.bucket],
                "record check finished",
            )?;
        }
        Ok(())
    }

    fn check_started(&mut self, bucket: i64, at: i64) -> Result<(), AlertError> {
        self.execute(
            "INSERT INTO checks_started (bucket, started_at) VALUES ($1, $2)
             ON CONFLICT (bucket) DO NOTHING",
            &[&bucket, &at],
            "record check started",
        )?;
        Ok(())
    }

    fn unfinished_checks(&self) -> Result<Vec<i64>, AlertError> {
        self.with_client(|client| {
            client
                .query("SELECT bucket FROM checks_started ORDER BY bucket", &[])
                .and_then(|rows| rows.iter().map(|r| r.try_get(0)).collect())
                .map_err(sql("unfinished checks"))
        })
    }

    fn last_checked_bucket(&self) -> Result<Option<i64>, AlertError> {
        self.with_client(|client| {
            client
                .query_one("SELECT MAX(bucket) FROM checks WHERE ok", &[])
                .and_then(|r| r.try_get(0))
                .map_err(sql("last checked bucket"))
        })
    }

    fn last_check(&self) -> Result<Option<CheckRecord>, AlertError> {
        self.with_client(|client| {
            let row = client
                .query_opt(
                    "SELECT bucket, started_at, duration_ms, ok, late, evaluated, anomalies, error
                     FROM checks ORDER BY id DESC LIMIT 1",
                    &[],
                )
                .map_err(sql("last check"))?;
            row.as_ref()
                .map(check_record)
                .transpose()
                .map_err(sql("last check"))
        })
    }

    fn check_counts(&self) -> Result<(u64, u64), AlertError> {
        let [ok, failed] = self.counts(
            "SELECT COUNT(*) FILTER (WHERE ok), COUNT(*) FILTER (WHERE NOT ok) FROM checks",
            "check counts",
        )?;
        Ok((ok, failed))
    }

    crate::state::records::notice_methods!();

    fn record_latest(&mut self, evaluations: &[Evaluation]) -> Result<(), AlertError> {
        self.with_client(|client| {
            let mut tx = client.transaction().map_err(sql("begin latest"))?;
            let upsert = tx
                .prepare(
                    "INSERT INTO latest_evaluations
                       (metric, sliced, slice_dimension, slice_value, bucket, value, expected,
                        lower, upper, is_anomaly, detector)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                     ON CONFLICT (metric, sliced, slice_dimension, slice_value) DO UPDATE SET
                       (bucket, value, expected, lower, upper, is_anomaly, detector)
                       = (EXCLUDED.bucket, EXCLUDED.value, EXCLUDED.expected, EXCLUDED.lower,
                          EXCLUDED.upper, EXCLUDED.is_anomaly, EXCLUDED.detector)
                     WHERE EXCLUDED.bucket >= latest_evaluations.bucket",
                )
                .map_err(sql("latest upsert"))?;
            for evaluation in evaluations {
                let (sliced, dimension, value) = slice_parts(evaluation.slice.as_ref());
                let point = &evaluation.point;
                tx.execute(
                    &upsert,
                    &[
                        &evaluation.metric,
                        &sliced,
                        &dimension,
                        &value,
                        &evaluation.bucket,
                        &point.value,
                        &point.expected,
                        &point.lower,
                        &point.upper,
                        &point.is_anomaly,
                        &evaluation.detector,
                    ],
                )
                .map_err(sql("latest upsert"))?;
            }
            tx.commit().map_err(sql("commit latest"))
        })
    }

    fn latest_whole(&self) -> Result<HashMap<String, LatestEvaluation>, AlertError> {
        self.with_client(|client| {
            let rows = client
                .query(
                    "SELECT metric, bucket, value, expected, lower, upper, is_anomaly, detector
                     FROM latest_evaluations WHERE NOT sliced",
                    &[],
                )
                .map_err(sql("latest"))?;
            rows.iter()
                .map(latest_evaluation)
                .collect::<Result<_, postgres::Error>>()
                .map_err(sql("latest row"))
        })
    }
}
