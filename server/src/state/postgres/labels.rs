//! [`Labels`] on PostgreSQL: the `labels` table (soft-deleted by `removed_at`).

use super::PostgresState;
use crate::state::records::label_sql as sql;
use crate::state::records::{label_kind, label_record};
use crate::state::{LabelError, LabelRecord, Labels, NewLabel};

impl Labels for PostgresState {
    fn add_label(
        &mut self,
        label: &NewLabel,
        created_by: &str,
        now: i64,
    ) -> Result<LabelRecord, LabelError> {
        let id: i64 = self.with_client(|client| {
            client
                .query_one(
                    r#"INSERT INTO labels (metric, "from", "to", kind, note, created_by, created_at)
                       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"#,
                    &[
                        &label.metric,
                        &label.from,
                        &label.to,
                        &label.kind.as_str(),
                        &label.note,
                        &created_by,
                        &now,
                    ],
                )
                .and_then(|r| r.try_get(0))
                .map_err(sql("add label"))
        })?;
        Ok(label_record(id, label, created_by, now))
    }

    fn remove_label(&mut self, id: i64, now: i64) -> Result<(), LabelError> {
        let changed = self.with_client(|client| {
            client
                .execute(
                    "UPDATE labels SET removed_at = $2 WHERE id = $1 AND removed_at IS NULL",
                    &[&id, &now],
                )
                .map_err(sql("remove label"))
        })?;
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
        self.query_labels(
            r#"removed_at IS NULL AND ($1::TEXT IS NULL OR metric = $1) AND "from" < $3 AND "to" > $2"#,
            &[&metric, &from, &to],
        )
    }

    fn get_label(&self, id: i64) -> Result<Option<LabelRecord>, LabelError> {
        let found = self.query_labels("removed_at IS NULL AND id = $1", &[&id])?;
        Ok(found.into_iter().next())
    }
}

impl PostgresState {
    /// Labels matching `condition`, oldest first.
    fn query_labels(
        &self,
        condition: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<LabelRecord>, LabelError> {
        let rows = self.with_client(|client| {
            client
                .query(
                    &format!(
                        r#"SELECT id, metric, "from", "to", kind, note, created_by, created_at
                           FROM labels WHERE {condition} ORDER BY "from", id"#
                    ),
                    params,
                )
                .map_err(sql("list labels"))
        })?;
        rows.iter()
            .map(|r| {
                let read = || -> Result<_, postgres::Error> {
                    Ok((
                        r.try_get::<_, String>(4)?,
                        LabelRecord {
                            id: r.try_get(0)?,
                            metric: r.try_get(1)?,
                            from: r.try_get(2)?,
                            to: r.try_get(3)?,
                            kind: crate::state::LabelKind::Incident,
                            note: r.try_get(5)?,
                            created_by: r.try_get(6)?,
                            created_at: r.try_get(7)?,
                        },
                    ))
                };
                let (kind, mut label) = read().map_err(sql("read label"))?;
                label.kind = label_kind(label.id, &kind)?;
                Ok(label)
            })
            .collect()
    }
}
