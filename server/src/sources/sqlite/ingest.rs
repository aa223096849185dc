//! `vigil ingest`'s side of the store: a file's events and the record that
//! they were loaded go in one transaction, keyed by the SHA-256 of the file's
//! bytes, so loading the same content again (under any name) adds nothing,
//! and an interrupted load leaves neither rows nor record.

use rusqlite::{params, OptionalExtension};

use super::{insert_events, write_error, SqliteStore};
use crate::events::EventBatch;
use crate::sources::SourceError;

const LOG_TABLE: &str = "CREATE TABLE IF NOT EXISTS ingested_files (
    sha256      TEXT    PRIMARY KEY,
    file        TEXT    NOT NULL,
    event_table TEXT    NOT NULL,
    events      INTEGER NOT NULL,
    ingested_at INTEGER NOT NULL
)";

/// What loading one file did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ingested {
    /// Its events were stored.
    Loaded { events: usize },
    /// A file with the same bytes was loaded before: nothing stored now.
    AlreadyLoaded {
        file: String,
        events: i64,
        ingested_at: i64,
    },
}

impl SqliteStore {
    /// Store `batch` (all the events of the file `file`, whose bytes hash to
    /// `sha256`) unless that content was loaded before.
    pub async fn ingest_file(
        &self,
        sha256: String,
        file: String,
        event_table: &'static str,
        batch: EventBatch,
        now: i64,
    ) -> Result<Ingested, SourceError> {
        self.write(move |connection| {
            let context = format!("ingesting {file}");
            let failed = |error: rusqlite::Error| write_error(context.clone(), error);
            let transaction = connection.transaction().map_err(failed)?;
            transaction.execute(LOG_TABLE, []).map_err(failed)?;
            let earlier = transaction
                .query_row(
                    "SELECT file, events, ingested_at FROM ingested_files WHERE sha256 = ?1",
                    [&sha256],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()
                .map_err(failed)?;
            if let Some((file, events, ingested_at)) = earlier {
                return Ok(Ingested::AlreadyLoaded {
                    file,
                    events,
                    ingested_at,
                });
            }
            insert_events(&transaction, &batch)?;
            let events = batch.len();
            transaction
                .execute(
                    "INSERT INTO ingested_files (sha256, file, event_table, events, ingested_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![sha256, file, event_table, events as i64, now],
                )
                .map_err(failed)?;
            transaction.commit().map_err(failed)?;
            Ok(Ingested::Loaded { events })
        })
        .await
    }
}
