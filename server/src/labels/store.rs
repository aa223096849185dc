//! Labels marked in the web UI, kept in vigil's state file
//! (`vigil-state.sqlite`, beside the alert state) in a table of their own.
//!
//! A label is never edited in place: the UI removes it and marks a new one,
//! so the table holds what people actually said. Removal is a soft delete
//! (`removed_at`), so a mistaken click can be traced.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use super::{LabelKind, LabelRecord};

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("labels in {path}: {reason}")]
    Open { path: String, reason: String },
    /// The database's error is part of the message, not a `source`, so
    /// that a printed chain (`{:#}`) says it once.
    #[error("labels: {context}: {error}")]
    Sql {
        context: &'static str,
        error: rusqlite::Error,
    },
    #[error("no label with id {0}")]
    Unknown(i64),
    #[error("bad stored label: {0}")]
    Corrupt(String),
}

fn sql(context: &'static str) -> impl FnOnce(rusqlite::Error) -> LabelError {
    move |error| LabelError::Sql { context, error }
}

const SCHEMA: &str = r#"
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
"#;

/// A label to store, as the UI sends it (validated there: `app::api::validate_label`).
#[derive(Clone, Debug, PartialEq)]
pub struct NewLabel {
    pub metric: String,
    pub from: i64,
    pub to: i64,
    pub kind: LabelKind,
    pub note: String,
}

/// The labels table, on its own connection to the state file.
pub struct LabelStore {
    conn: Connection,
}

impl LabelStore {
    /// Opens the state file at `path` (creating it and the table if absent).
    pub fn open(path: &Path) -> Result<Self, LabelError> {
        let conn = crate::state_file::open(path, SCHEMA).map_err(|reason| LabelError::Open {
            path: path.display().to_string(),
            reason,
        })?;
        Ok(Self { conn })
    }

    /// Stores a validated label.
    pub fn add(
        &mut self,
        label: &NewLabel,
        created_by: &str,
        now: i64,
    ) -> Result<LabelRecord, LabelError> {
        self.conn
            .execute(
                r#"INSERT INTO labels (metric, "from", "to", kind, note, created_by, created_at)
                   VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"#,
                params![
                    label.metric,
                    label.from,
                    label.to,
                    label.kind.as_str(),
                    label.note,
                    created_by,
                    now
                ],
            )
            .map_err(sql("add label"))?;
        let id = self.conn.last_insert_rowid();
        tracing::info!(id, metric = %label.metric, kind = label.kind.as_str(), created_by, "label added");
        Ok(LabelRecord {
            id,
            metric: label.metric.clone(),
            from: label.from,
            to: label.to,
            kind: label.kind,
            note: label.note.clone(),
            created_by: created_by.to_string(),
            created_at: now,
        })
    }

    /// Removes a label (kept as removed, for the record).
    pub fn remove(&mut self, id: i64, now: i64) -> Result<(), LabelError> {
        let changed = self
            .conn
            .execute(
                "UPDATE labels SET removed_at = ?2 WHERE id = ?1 AND removed_at IS NULL",
                params![id, now],
            )
            .map_err(sql("remove label"))?;
        if changed == 0 {
            return Err(LabelError::Unknown(id));
        }
        tracing::info!(id, "label removed");
        Ok(())
    }

    /// Labels of `metric` (every metric when `None`) overlapping `[from, to)`,
    /// oldest first.
    pub fn list(
        &self,
        metric: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<LabelRecord>, LabelError> {
        let mut statement = self
            .conn
            .prepare_cached(
                r#"SELECT id, metric, "from", "to", kind, note, created_by, created_at FROM labels
                   WHERE removed_at IS NULL AND (?1 IS NULL OR metric = ?1)
                     AND "from" < ?3 AND "to" > ?2
                   ORDER BY "from", id"#,
            )
            .map_err(sql("list labels"))?;
        let rows = statement
            .query_map(params![metric, from, to], |row| {
                Ok((
                    row.get::<_, String>(4)?,
                    LabelRecord {
                        id: row.get(0)?,
                        metric: row.get(1)?,
                        from: row.get(2)?,
                        to: row.get(3)?,
                        kind: LabelKind::Incident,
                        note: row.get(5)?,
                        created_by: row.get(6)?,
                        created_at: row.get(7)?,
                    },
                ))
            })
            .map_err(sql("list labels"))?;
        let mut labels = Vec::new();
        for row in rows {
            let (kind, mut label) = row.map_err(sql("read label"))?;
            label.kind = LabelKind::parse(&kind).ok_or_else(|| {
                LabelError::Corrupt(format!(
                    "stored label {} has unknown kind `{kind}`",
                    label.id
                ))
            })?;
            labels.push(label);
        }
        Ok(labels)
    }

    /// One label by id, if it exists and was not removed.
    pub fn get(&self, id: i64) -> Result<Option<LabelRecord>, LabelError> {
        let metric: Option<String> = self
            .conn
            .query_row(
                "SELECT metric FROM labels WHERE id = ?1 AND removed_at IS NULL",
                [id],
                |row| row.get(0),
            )
            .optional()
            .map_err(sql("get label"))?;
        let Some(metric) = metric else {
            return Ok(None);
        };
        Ok(self
            .list(Some(&metric), i64::MIN, i64::MAX)?
            .into_iter()
            .find(|label| label.id == id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(metric: &str, from: i64, to: i64, kind: LabelKind) -> NewLabel {
        NewLabel {
            metric: metric.into(),
            from,
            to,
            kind,
            note: "release 4.2".into(),
        }
    }

    #[test]
    fn labels_survive_reopening_and_removal_hides_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("vigil-state.sqlite");
        let first = {
            let mut store = LabelStore::open(&path).expect("opens");
            let first = store
                .add(
                    &label("feed_views", 100, 200, LabelKind::Incident),
                    "web",
                    7,
                )
                .expect("adds");
            store
                .add(
                    &label("feed_views", 300, 400, LabelKind::FalseAlarm),
                    "web",
                    8,
                )
                .expect("adds");
            store
                .add(
                    &label("feed_likes", 100, 200, LabelKind::Expected),
                    "web",
                    9,
                )
                .expect("adds");
            first
        };
        let mut store = LabelStore::open(&path).expect("reopens");
        let views = store.list(Some("feed_views"), 0, 1000).expect("lists");
        assert_eq!(views.len(), 2);
        assert_eq!(views[0], first);
        assert_eq!(views[1].kind, LabelKind::FalseAlarm);
        assert_eq!(store.list(None, 0, 1000).expect("lists").len(), 3);
        assert_eq!(
            store.list(Some("feed_views"), 200, 300).expect("lists"),
            vec![],
            "half-open spans: [100,200) and [300,400) miss [200,300)"
        );
        store.remove(first.id, 10).expect("removes");
        assert_eq!(
            store
                .list(Some("feed_views"), 0, 1000)
                .expect("lists")
                .len(),
            1
        );
        assert!(store.get(first.id).expect("reads").is_none());
        assert!(matches!(
            store.remove(first.id, 11),
            Err(LabelError::Unknown(_))
        ));
    }
}
