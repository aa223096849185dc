//! [`Silences`] on SQLite: the `silences` table.

use rusqlite::{params, Connection};

use super::{sql, SqliteState};
use crate::alerts::{Silence, SilenceScope};
use crate::state::records::{self, silence_from, slice_from};
use crate::state::{AlertError, Silences};

impl Silences for SqliteState {
    fn silence(
        &mut self,
        scope: SilenceScope,
        until: i64,
        actor: &str,
        now: i64,
    ) -> Result<Silence, AlertError> {
        let (kind, metric, slice) = match &scope {
            SilenceScope::All => ("all", None, None),
            SilenceScope::Metric { metric } => ("metric", Some(metric.as_str()), None),
            SilenceScope::Slice { metric, slice } => {
                ("slice", Some(metric.as_str()), slice.as_ref())
            }
        };
        self.conn
            .execute(
                "INSERT INTO silences (scope, metric, slice_dimension, slice_value, until, created_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    kind,
                    metric,
                    slice.map(|s| s.dimension.as_str()),
                    slice.map(|s| s.value.as_str()),
                    until,
                    actor,
                    now
                ],
            )
            .map_err(sql("insert silence"))?;
        let id = self.conn.last_insert_rowid();
        tracing::info!(silence_id = id, ?scope, until, actor, "silence created");
        Ok(Silence {
            id,
            scope,
            until,
            created_by: actor.to_string(),
            created_at: now,
            ended_at: None,
        })
    }

    records::silence_methods!(|store| query_silences(&store.conn, None));

    fn end_silence(&mut self, id: i64, now: i64) -> Result<(), AlertError> {
        let changed = self
            .conn
            .execute(
                "UPDATE silences SET ended_at = COALESCE(ended_at, ?2) WHERE id = ?1",
                params![id, now],
            )
            .map_err(sql("end silence"))?;
        if changed == 0 {
            return Err(AlertError::UnknownSilence(id));
        }
        Ok(())
    }

    fn active_silences(&self, now: i64) -> Result<Vec<Silence>, AlertError> {
        query_silences(&self.conn, Some(now))
    }
}

pub(super) fn query_silences(
    conn: &Connection,
    active_at: Option<i64>,
) -> Result<Vec<Silence>, AlertError> {
    let mut stmt = conn
        .prepare(
            "SELECT id, scope, metric, slice_dimension, slice_value, until, created_by, created_at, ended_at
             FROM silences
             WHERE ?1 IS NULL OR (created_at <= ?1 AND ?1 < until AND (ended_at IS NULL OR ?1 < ended_at))
             ORDER BY id",
        )
        .map_err(sql("silences"))?;
    let rows = stmt
        .query_map(params![active_at], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, Option<i64>>(8)?,
            ))
        })
        .map_err(sql("silences"))?;
    let mut silences = Vec::new();
    for row in rows {
        let (id, kind, metric, dimension, value, until, created_by, created_at, ended_at) =
            row.map_err(sql("silence row"))?;
        let slice = slice_from(dimension, value);
        silences.extend(silence_from((
            id, kind, metric, slice, until, created_by, created_at, ended_at,
        )));
    }
    Ok(silences)
}
