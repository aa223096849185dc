//! The shared store tests ([`crate::state::store_tests`]) on SQLite files,
//! and what is SQLite's own.

use std::path::PathBuf;

use crate::state::store_tests::{all_store_tests, Backend};
use crate::state::{state_path, SqliteState, StateStore};

/// A state file in its own temp dir; every handle opens the same file.
struct SqliteFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl SqliteFile {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = state_path(dir.path());
        Self { _dir: dir, path }
    }
}

impl Backend for SqliteFile {
    fn open(&self) -> Box<dyn StateStore> {
        Box::new(SqliteState::open(&self.path).expect("open"))
    }

    fn fresh(&self) -> Box<dyn Backend> {
        Box::new(Self::new())
    }
}

all_store_tests!(Some(SqliteFile::new()), 32);

#[test]
fn a_database_error_is_printed_once_in_a_chain() {
    let error = crate::state::AlertError::Sql {
        context: "reading the outbox",
        error: rusqlite::Error::QueryReturnedNoRows.into(),
    };
    let database = rusqlite::Error::QueryReturnedNoRows.to_string();
    let chain = format!("{:#}", anyhow::Error::from(error).context("sending alerts"));
    assert_eq!(chain.matches(&database).count(), 1, "{chain}");
    assert!(
        chain.starts_with("sending alerts: alert state: reading the outbox: "),
        "{chain}"
    );
}
