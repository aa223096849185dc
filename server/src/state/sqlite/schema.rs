//! The state file's schema, as an ordered list of migration steps, and the
//! version stamp (`PRAGMA user_version`) that says how many have run.
//!
//! Version 1 is the layout vigil used before the file carried a version: every
//! statement is `CREATE ... IF NOT EXISTS`, so a file made then (version 0,
//! some or all of these tables present, rows kept) is adopted by running it.
//! A later change appends a step; a step runs once, in its own transaction
//! with its stamp, so a crash leaves the file at the version before or after.
//! A file stamped newer than [`MIGRATIONS`] knows is refused: this vigil would
//! not know what the newer one wrote.

use rusqlite::{Connection, TransactionBehavior};

/// Step `i` takes the file from version `i` to `i + 1`. Append only: a step
/// that has shipped is never edited.
pub const MIGRATIONS: &[&str] = &[
    // 1: alerts, outbox, silences, checks, latest evaluations, labels, detector settings.
    r#"
CREATE TABLE IF NOT EXISTS alert_state (
    metric           TEXT    NOT NULL,
    sliced           INTEGER NOT NULL,
    slice_dimension  TEXT    NOT NULL,
    slice_value      TEXT    NOT NULL,
    last_bucket      INTEGER NOT NULL,
    open_alert_id    INTEGER,
    started_at       INTEGER,
    last_notified_at INTEGER,
    announced        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (metric, sliced, slice_dimension, slice_value)
);
CREATE TABLE IF NOT EXISTS alerts (
    id              INTEGER PRIMARY KEY,
    metric          TEXT    NOT NULL,
    slice_dimension TEXT,
    slice_value     TEXT,
    started_at      INTEGER NOT NULL,
    resolved_at     INTEGER,
    value           REAL,
    lower           REAL,
    upper           REAL,
    expected        REAL,
    deviation       REAL,
    detector        TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    muted           INTEGER NOT NULL,
    label           TEXT,
    label_by        TEXT,
    label_at        INTEGER
);
CREATE INDEX IF NOT EXISTS alerts_started ON alerts (started_at);
CREATE TABLE IF NOT EXISTS alert_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id INTEGER NOT NULL,
    at       INTEGER NOT NULL,
    bucket   INTEGER,
    kind     TEXT    NOT NULL,
    details  TEXT    NOT NULL,
    actor    TEXT,
    muted    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS alert_events_alert ON alert_events (alert_id);
CREATE TABLE IF NOT EXISTS silences (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    scope           TEXT    NOT NULL,
    metric          TEXT,
    slice_dimension TEXT,
    slice_value     TEXT,
    until           INTEGER NOT NULL,
    created_by      TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    ended_at        INTEGER
);
CREATE TABLE IF NOT EXISTS outbox (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id            INTEGER NOT NULL,
    kind                TEXT    NOT NULL,
    payload             TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     INTEGER NOT NULL,
    last_error          TEXT,
    sent_at             INTEGER,
    telegram_message_id INTEGER,
    chat_id             INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (sent_at, id);
CREATE TABLE IF NOT EXISTS checks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket      INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    ok          INTEGER NOT NULL,
    late        INTEGER NOT NULL,
    evaluated   INTEGER NOT NULL,
    anomalies   INTEGER NOT NULL,
    error       TEXT
);
CREATE INDEX IF NOT EXISTS checks_bucket ON checks (ok, bucket);
CREATE TABLE IF NOT EXISTS latest_evaluations (
    metric          TEXT    NOT NULL,
    sliced          INTEGER NOT NULL,
    slice_dimension TEXT    NOT NULL,
    slice_value     TEXT    NOT NULL,
    bucket          INTEGER NOT NULL,
    value           REAL,
    expected        REAL,
    lower           REAL,
    upper           REAL,
    is_anomaly      INTEGER NOT NULL,
    detector        TEXT    NOT NULL,
    PRIMARY KEY (metric, sliced, slice_dimension, slice_value)
);
CREATE TABLE IF NOT EXISTS labels (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    metric     TEXT    NOT NULL,
    "from"     INTEGER NOT NULL,
    "to"       INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    note       TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    removed_at INTEGER
);
CREATE INDEX IF NOT EXISTS labels_metric ON labels (metric, "from");
CREATE TABLE IF NOT EXISTS detector_settings (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    metric     TEXT    NOT NULL,
    detector   TEXT,
    previous   TEXT    NOT NULL,
    applied_by TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS detector_settings_metric ON detector_settings (metric, id);
"#,
    // 2: flap damping counts an open alert's calm buckets in a row.
    "ALTER TABLE alert_state ADD COLUMN calm INTEGER NOT NULL DEFAULT 0;",
    // 3: the last resolved alert, which an anomaly soon after reopens.
    r#"
ALTER TABLE alert_state ADD COLUMN resolved_alert_id INTEGER;
ALTER TABLE alert_state ADD COLUMN resolved_started_at INTEGER;
ALTER TABLE alert_state ADD COLUMN resolved_bucket INTEGER;
ALTER TABLE alert_state ADD COLUMN resolved_announced INTEGER NOT NULL DEFAULT 0;
"#,
    // 4: instances sharing the state: named leases (the leader) and outbox claims.
    r#"
CREATE TABLE IF NOT EXISTS leases (
    name       TEXT    PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claim_expires_at INTEGER;
"#,
    // 5: the morning report, one row per (local date, chat): created once when due.
    r#"
CREATE TABLE IF NOT EXISTS reports (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    date                TEXT    NOT NULL,
    chat_id             INTEGER NOT NULL,
    late                INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     INTEGER NOT NULL,
    last_error          TEXT,
    sent_at             INTEGER,
    telegram_message_id INTEGER,
    UNIQUE (date, chat_id)
    UNIQUE (date, chat_id)
);
"#,
    // 6: checks started and not (yet) recorded ok: a killed or failed check is
    // run again by the next one.
    r#"
CREATE TABLE IF NOT EXISTS checks_started (
    bucket     INTEGER PRIMARY KEY,
    started_at INTEGER NOT NULL
);
"#,
    // 7: what each check read of a whole metric at its bucket, for the one
    // re-check of a bucket whose rows arrived late.
    r#"
CREATE TABLE IF NOT EXISTS checked_inputs (
    metric    TEXT    NOT NULL,
    bucket    INTEGER NOT NULL,
    value     REAL,
    rechecked INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (metric, bucket)
);
"#,
    // 8: morning reports claimed like outbox items, so instances sharing the
    // state never both send one.
    r#"
ALTER TABLE reports ADD COLUMN claimed_by TEXT;
ALTER TABLE reports ADD COLUMN claim_expires_at INTEGER;
"#,
    // 9: what a withdrawn alert's message says instead of its state (its data
    // arrived late), so a caption rebuilt later for its group keeps it.
    "ALTER TABLE alerts ADD COLUMN withdrawn_note TEXT;",
];

/// The version this vigil writes and reads.
pub fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the file on `conn` up to [`current_version`]. The error is the
/// reason alone; the caller names the file.
pub fn migrate(conn: &mut Connection) -> Result<(), String> {
    migrate_with(conn, MIGRATIONS)
}

/// [`migrate`] with the steps given (tests try a step this vigil lacks).
fn migrate_with(conn: &mut Connection, steps: &[&str]) -> Result<(), String> {
    let supported = steps.len() as i64;
    loop {
        // IMMEDIATE: two processes opening an old file at once take turns,
        // and the second sees the version the first stamped.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| format!("reading the schema version: {e}"))?;
        let version = version_of(&tx)?;
        if version > supported {
            return Err(format!(
                "schema version {version} is newer than this vigil supports (version \
                 {supported}); run a newer vigil, or point --data-dir elsewhere"
            ));
        }
        if version == supported {
            return Ok(());
        }
        let step = steps[version as usize];
        tx.execute_batch(step)
            .map_err(|e| format!("migrating the schema to version {}: {e}", version + 1))?;
        tx.pragma_update(None, "user_version", version + 1)
            .map_err(|e| format!("stamping schema version {}: {e}", version + 1))?;
        tx.commit()
            .map_err(|e| format!("migrating the schema to version {}: {e}", version + 1))?;
        tracing::debug!(version = version + 1, "state schema migrated");
    }
}

fn version_of(conn: &Connection) -> Result<i64, String> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|e| format!("reading the schema version: {e}"))
}

#[cfg(test)]
mod tests {
    use rusqlite::params;

    use super::*;
    use crate::state::sqlite::SqliteState;
    use crate::state::{state_path, AlertLog, Labels};

    /// A file as vigil made it before versions: the alert tables only (labels
    /// and settings came with their own connections), no stamp, one alert.
    fn unversioned_file(path: &std::path::Path) {
        let conn = Connection::open(path).expect("creates");
        let alert_tables = &MIGRATIONS[0][..MIGRATIONS[0]
            .find("CREATE TABLE IF NOT EXISTS labels")
            .unwrap()];
        conn.execute_batch(alert_tables).expect("old schema");
        conn.execute(
            "INSERT INTO alerts (id, metric, started_at, detector, state, muted)
             VALUES (?1, 'feed_views', 900, 'iqr', 'firing', 0)",
            params![7],
        )
        .expect("old row");
        assert_eq!(version_of(&conn).unwrap(), 0);
    }

    #[test]
    fn an_unversioned_file_is_adopted_with_its_rows() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = state_path(dir.path());
        unversioned_file(&path);
        let store = SqliteState::open(&path).expect("adopts");
        let alert = store
            .alert(7)
            .expect("reads")
            .expect("the old alert is kept");
        assert_eq!(alert.metric, "feed_views");
        assert_eq!(store.list_labels(None, i64::MIN, i64::MAX).unwrap(), vec![]);
        drop(store);
        let conn = Connection::open(&path).unwrap();
        assert_eq!(version_of(&conn).unwrap(), current_version());
    }

    #[test]
    fn a_newer_vigil_runs_only_the_steps_the_file_lacks() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = state_path(dir.path());
        unversioned_file(&path);
        let mut conn = Connection::open(&path).unwrap();
        migrate_with(&mut conn, &MIGRATIONS[..1]).expect("to version 1");
        let next = [
            MIGRATIONS[0],
            "ALTER TABLE alerts ADD COLUMN note TEXT; UPDATE alerts SET note = 'kept';",
        ];
        migrate_with(&mut conn, &next).expect("to version 2");
        migrate_with(&mut conn, &next).expect("a second open changes nothing");
        assert_eq!(version_of(&conn).unwrap(), 2);
        let row: (i64, String) = conn
            .query_row("SELECT id, note FROM alerts", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(
            row,
            (7, "kept".to_string()),
            "the row went through the step"
        );
    }

    #[test]
    fn a_file_from_a_newer_vigil_is_refused_by_name_and_versions() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = state_path(dir.path());
        drop(SqliteState::open(&path).expect("creates"));
        let future = current_version() + 5;
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", future)
            .unwrap();
        let message = SqliteState::open(&path).unwrap_err().to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains(&format!("version {future}")), "{message}");
        assert!(
            message.contains(&format!("version {}", current_version())),
            "{message}"
        );
        let conn = Connection::open(&path).unwrap();
        assert_eq!(version_of(&conn).unwrap(), future, "left as it was");
    }
}
