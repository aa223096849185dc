//! [`Silences`] on PostgreSQL: the `silences` table.

use postgres::GenericClient;

use super::{sql, PostgresState};
use crate::alerts::{Silence, SilenceScope};
use crate::state::records::{self, silence_from, slice_from};
use crate::state::{AlertError, Silences};

impl Silences for PostgresState {
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
        let id: i64 = self.with_client(|client| {
            client
                .query_one(
                    "INSERT INTO silences (scope, metric, slice_dimension, slice_value, until,
                                           created_by, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    &[
                        &kind,
                        &metric,
                        &slice.map(|s| s.dimension.as_str()),
                        &slice.map(|s| s.value.as_str()),
                        &until,
                        &actor,
                        &now,
                    ],
                )
                .and_then(|r| r.try_get(0))
                .map_err(sql("insert silence"))
        })?;
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

    records::silence_methods!(|store| store.with_client(|client| query_silences(client, None)));

    fn end_silence(&mut self, id: i64, now: i64) -> Result<(), AlertError> {
        let changed = self.execute(
            "UPDATE silences SET ended_at = COALESCE(ended_at, $2) WHERE id = $1",
            &[&id, &now],
            "end silence",
        )?;
        if changed == 0 {
            return Err(AlertError::UnknownSilence(id));
        }
        Ok(())
    }

    fn active_silences(&self, now: i64) -> Result<Vec<Silence>, AlertError> {
        self.with_client(|client| query_silences(client, Some(now)))
    }
}

pub(super) fn query_silences(
    client: &mut impl GenericClient,
    active_at: Option<i64>,
) -> Result<Vec<Silence>, AlertError> {
    let rows = client
        .query(
            "SELECT id, scope, metric, slice_dimension, slice_value, until, created_by, created_at,
                    ended_at
             FROM silences
             WHERE $1::BIGINT IS NULL
                OR (created_at <= $1 AND $1 < until AND (ended_at IS NULL OR $1 < ended_at))
             ORDER BY id",
            &[&active_at],
        )
        .map_err(sql("silences"))?;
    let mut silences = Vec::new();
    for r in rows {
        let read = || -> Result<_, postgres::Error> {
            Ok((
                r.try_get::<_, i64>(0)?,
                r.try_get::<_, String>(1)?,
                r.try_get::<_, Option<String>>(2)?,
                slice_from(r.try_get(3)?, r.try_get(4)?),
                r.try_get::<_, i64>(5)?,
                r.try_get::<_, String>(6)?,
                r.try_get::<_, i64>(7)?,
                r.try_get::<_, Option<i64>>(8)?,
            ))
        };
        silences.extend(silence_from(read().map_err(sql("silence row"))?));
    }
    Ok(silences)
}
