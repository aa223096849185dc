//! vigil's own SQLite file, `<data dir>/vigil-state.sqlite`: the alert state
//! (`alerts::store`), labels (`labels::store`) and detector settings
//! (`settings`) each keep their tables in it, on connections of their own.

use std::path::Path;

use rusqlite::Connection;

/// Opens the state file at `path`, creating its directory, the file and
/// `schema` (idempotent `CREATE ... IF NOT EXISTS` statements) if absent.
/// WAL + FULL: a committed change survives a power loss, readers never block
/// the writer, and the write volume is tiny. The error is the reason alone;
/// callers name the file.
pub fn open(path: &Path, schema: &str) -> Result<Connection, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let conn = Connection::open(path).map_err(|e| e.to_string())?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;",
    )
    .map_err(|e| e.to_string())?;
    conn.execute_batch(schema)
        .map_err(|e| format!("creating schema: {e}"))?;
    Ok(conn)
}
