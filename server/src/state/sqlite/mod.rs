//! The state on SQLite: one file (`<data dir>/vigil-state.sqlite`), one
//! connection, every concern's trait implemented by [`SqliteState`]: each
//! concern in its own file, the schema in [`schema`].
//!
//! Connection policy: WAL + synchronous FULL, so a committed change (a state
//! change and the outbox row it causes) survives a power loss and readers
//! never block the writer; the write volume is tiny. A busy timeout lets a
//! one-off command write while `vigil serve` holds the file.

mod alerts;
mod checks;
mod labels;
mod late_rows;
mod leases;
mod outbox;
mod reports;
mod rows;
pub mod schema;
mod settings;
mod silences;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::state::AlertError;

/// An outbox row Telegram refused for good (done, no message, a reason):
/// see [`crate::state::Outbox::mark_done_without_message`]. A row that
/// failed, then went through, keeps its last error but has a message: it is sent.
macro_rules! abandoned {
    () => {
        "(sent_at IS NOT NULL AND telegram_message_id IS NULL AND last_error IS NOT NULL)"
    };
}
pub(crate) use abandoned;

/// SQLite's clock as unix seconds: what lease and claim expiry are judged by.
const DB_NOW: &str = "CAST(strftime('%s', 'now') AS INTEGER)";

/// The state file, open.
pub struct SqliteState {
    path: PathBuf,
    conn: Connection,
}

impl std::fmt::Debug for SqliteState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteState")
            .field("path", &self.path)
            .finish()
    }
}

impl SqliteState {
    /// Opens the state file at `path`, creating its directory and the file if
    /// absent, and brings its schema to this vigil's version (refusing a file
    /// from a newer vigil).
    pub fn open(path: &Path) -> Result<Self, AlertError> {
        let fail = |reason: String| AlertError::Open {
            path: path.display().to_string(),
            reason,
        };
        let mut conn = connect(path).map_err(fail)?;
        schema::migrate(&mut conn).map_err(fail)?;
        tracing::debug!(path = %path.display(), "state opened");
        Ok(Self {
            path: path.to_path_buf(),
            conn,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn counts<const N: usize>(
        &self,
        query: &str,
        context: &'static str,
    ) -> Result<[u64; N], AlertError> {
        self.conn
            .query_row(query, [], |r| {
                let mut out = [0u64; N];
                for (i, slot) in out.iter_mut().enumerate() {
                    *slot = r.get::<_, i64>(i)?.max(0) as u64;
                }
                Ok(out)
            })
            .map_err(sql(context))
    }
}

impl SqliteState {
    /// Every row of `table`, the given (quoted) columns as stored: what
    /// `vigil state migrate` copies.
    pub(crate) fn raw_rows(
        &self,
        table: &str,
        columns: &[String],
    ) -> rusqlite::Result<Vec<Vec<rusqlite::types::Value>>> {
        let mut statement = self
            .conn
            .prepare(&format!("SELECT {} FROM {table}", columns.join(", ")))?;
        let rows =
            statement.query_map([], |row| (0..columns.len()).map(|i| row.get(i)).collect())?;
        rows.collect()
    }
}

crate::state::stored_row::stored_row!(rusqlite::Row<'_>, rusqlite::Error, get);

impl From<rusqlite::Error> for crate::state::DatabaseError {
    fn from(error: rusqlite::Error) -> Self {
        Self::new(error)
    }
}

/// The connection policy (see the module doc). The error is the reason alone.
fn connect(path: &Path) -> Result<Connection, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let conn = Connection::open(path).map_err(|e| e.to_string())?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;",
    )
    .map_err(|e| e.to_string())?;
    Ok(conn)
}

/// [`crate::state::records::sql`] for this database's errors.
fn sql(context: &'static str) -> impl FnOnce(rusqlite::Error) -> AlertError {
    crate::state::records::sql(context)
}
