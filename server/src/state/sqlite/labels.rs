//! [`Labels`] on SQLite: the `labels` table (soft-deleted by `removed_at`).

use rusqlite::{params, OptionalExtension};

use super::SqliteState;
use crate::state::records::label_sql as sql;
use crate::state::records::{label_kind, label_record};
use crate::state::{LabelError, Labels, NewLabel};
use crate::state::{LabelKind, LabelRecord};

impl Labels for SqliteState {
    /// Stores a validated label.
    fn add_label(
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
        Ok(label_record(id, label, created_by, now))
    }

    fn remove_label(&mut self, id: i64, now: i64) -> Result<(), LabelError> {
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

    fn list_labels(
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
            label.kind = label_kind(label.id, &kind)?;
            labels.push(label);
        }
        Ok(labels)
    }

    fn get_label(&self, id: i64) -> Result<Option<LabelRecord>, LabelError> {
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
            .list_labels(Some(&metric), i64::MIN, i64::MAX)?
            .into_iter()
            .find(|label| label.id == id))
    }
}
