//! Check runs: one record per run (what `/readyz`, `/metrics` and the
//! scheduler's catch-up read), the newest evaluation of every series (what the
//! overview shows without rerunning detectors), the "source unavailable"
//! alert a failing run opens and the "data stale" alert of a table that
//! stopped receiving events ([`Checks`]).

use std::collections::HashMap;

use crate::evaluation::Evaluation;

use super::{AlertError, OutboxItem};

/// One check run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckRecord {
    pub bucket: i64,
    /// Wall-clock start (unix seconds).
    pub started_at: i64,
    pub duration_ms: i64,
    pub ok: bool,
    /// Evaluated after its scheduled time (catch-up).
    pub late: bool,
    pub evaluated: i64,
    pub anomalies: i64,
    pub error: Option<String>,
}

/// What the last check computed for one series at its bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct LatestEvaluation {
    /// Start of the evaluated bucket (unix seconds).
    pub bucket: i64,
    pub value: Option<f64>,
    pub expected: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub is_anomaly: bool,
    pub detector: String,
}

/// What the checks record.
pub trait Checks {
    /// Records one check run (what `/readyz`, `/metrics` and the scheduler read).
    fn record_check(&mut self, check: &CheckRecord) -> Result<(), AlertError>;

    /// Notes that a check of `bucket` started at `at`. Until a run of that
    /// bucket is recorded ok ([`Checks::record_check`]) it is unfinished, and
    /// the next check runs it again ([`Checks::unfinished_checks`]): a check
    /// killed or failed midway is not skipped by the ones after it.
    fn check_started(&mut self, bucket: i64, at: i64) -> Result<(), AlertError>;

    /// Buckets whose check started and has not been recorded ok since,
    /// oldest first.
    fn unfinished_checks(&self) -> Result<Vec<i64>, AlertError>;

    /// The newest bucket a check evaluated successfully.
    fn last_checked_bucket(&self) -> Result<Option<i64>, AlertError>;

    /// The most recent check run (ok or not).
    fn last_check(&self) -> Result<Option<CheckRecord>, AlertError>;

    /// Check runs so far: (ok, failed).
    fn check_counts(&self) -> Result<(u64, u64), AlertError>;

    /// Opens the "source unavailable" alert unless it is already open; returns
    /// its notification (none when already open or muted by a silence of all).
    fn source_unavailable(
        &mut self,
        reason: &str,
        now: i64,
    ) -> Result<Option<OutboxItem>, AlertError>;

    /// Resolves the "source unavailable" alert if open; returns its notification.
    fn source_available(&mut self, now: i64) -> Result<Option<OutboxItem>, AlertError>;

    /// Opens the "data stale" alert of event table `table` unless it is
    /// already open; returns its notification (none when already open or
    /// muted by a silence).
    fn data_stale(
        &mut self,
        table: &str,
        reason: &str,
        now: i64,
    ) -> Result<Option<OutboxItem>, AlertError>;

    /// Resolves the "data stale" alert of `table` if open ("fresh again");
    /// returns its notification.
    fn data_fresh(&mut self, table: &str, now: i64) -> Result<Option<OutboxItem>, AlertError>;

    /// Keeps each evaluation as its series' newest, in one transaction. An
    /// evaluation of a bucket older than the stored one is ignored, so a
    /// re-check of the past (`vigil check --at`) does not hide the present.
    fn record_latest(&mut self, evaluations: &[Evaluation]) -> Result<(), AlertError>;

    /// The newest evaluation of each whole metric (no slice), by metric name.
    fn latest_whole(&self) -> Result<HashMap<String, LatestEvaluation>, AlertError>;
}
